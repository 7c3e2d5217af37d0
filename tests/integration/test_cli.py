"""The `qrtrace` command as an operator runs it: a real subprocess, real files in tmp dirs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

COMMANDS = ["version", "settings", "city", "demo"]


def qrtrace(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("QRTRACE_")}
    full_env.update({"COLUMNS": "200", "NO_COLOR": "1"})
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "api.cli.main", *args],
        cwd=cwd,
        env=full_env | {"PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_top_level_help_lists_every_command(tmp_path: Path) -> None:
    result = qrtrace("--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for command in COMMANDS:
        assert command in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(tmp_path: Path, command: str) -> None:
    result = qrtrace(command, "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout


@pytest.mark.parametrize("command", ["city", "demo"])
def test_data_commands_take_data_dir(tmp_path: Path, command: str) -> None:
    assert "--data-dir" in qrtrace(command, "--help", cwd=tmp_path).stdout


def test_version_names_the_engines(tmp_path: Path) -> None:
    result = qrtrace("version", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("qrtrace ")
    assert "numba" in result.stdout
    assert "rocksdict" in result.stdout


def test_bad_env_setting_is_one_clear_line(tmp_path: Path) -> None:
    result = qrtrace("settings", cwd=tmp_path, env={"QRTRACE_RETENTION_DAYS": "zero"})
    assert result.returncode == 2
    assert "retention_days" in result.stderr
    assert "Traceback" not in result.stderr


def test_settings_reads_the_toml_file(tmp_path: Path) -> None:
    (tmp_path / "site.toml").write_text("[qrtrace]\nretention_days = 14\n")
    result = qrtrace("--config", "site.toml", "settings", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "QRTRACE_RETENTION_DAYS" in result.stdout
    row = next(line for line in result.stdout.splitlines() if "retention_days" in line)
    assert "14" in row


def test_bad_start_time_names_the_option(tmp_path: Path) -> None:
    result = qrtrace("city", "--scans", "1000", "--start", "someday", "--out", "c", cwd=tmp_path)
    assert result.returncode == 2
    assert "--start" in result.stderr


def test_city_generate_then_describe(tmp_path: Path) -> None:
    out = tmp_path / "city"
    made = qrtrace(
        "city",
        "--scans",
        "20000",
        "--days",
        "2",
        "--seed",
        "3",
        "--start",
        "1630886400",
        "--venues",
        "2000",
        "--adults",
        "20000",
        "--out",
        str(out),
        cwd=tmp_path,
    )
    assert made.returncode == 0, made.stderr
    assert "20,000 scans" in made.stdout
    meta = json.loads((out / "city.json").read_text())
    assert meta["config"]["seed"] == 3
    described = qrtrace("city", "--describe", str(out), cwd=tmp_path)
    assert described.returncode == 0, described.stderr
    for ward in ("An Bình", "Trảng Dài", "Long Hưng"):
        assert ward in described.stdout


def test_city_defaults_to_the_data_dir(tmp_path: Path) -> None:
    made = qrtrace(
        "city",
        "--scans",
        "5000",
        "--venues",
        "500",
        "--adults",
        "5000",
        "--data-dir",
        "dd",
        cwd=tmp_path,
    )
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "dd" / "city" / "city.json").is_file()


def test_describe_of_a_non_city_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "junk").mkdir()
    result = qrtrace("city", "--describe", str(tmp_path / "junk"), cwd=tmp_path)
    assert result.returncode == 2
    assert "junk" in result.stderr


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    result = qrtrace(
        "demo",
        "--data-dir",
        str(tmp_path / "d"),
        cwd=tmp_path,
        env={"QRTRACE_DEMO_SCANS": "20000"},
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "F1 list of case F0-000001 (F0 1000" in out
    assert "recall 100%" in out, out
    assert "0 rejected" in out
    assert "all wards" in out
    node = tmp_path / "d" / "demo" / "node"
    assert (tmp_path / "d" / "demo" / "city" / "outbreak.json").is_file()
    assert (node / "manifest.json").is_file()
    verify = qrtrace("audit", "verify", "--data-dir", str(node), cwd=tmp_path)
    assert verify.returncode == 0, verify.stdout + verify.stderr
