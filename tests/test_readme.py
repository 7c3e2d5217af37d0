"""The README stays true: every setting is documented, the quick start has two commands."""

from __future__ import annotations

import re
from pathlib import Path

from storage.settings import Settings, env_var_name

README = Path(__file__).resolve().parents[1] / "README.md"


def _settings_table_rows() -> dict[str, str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Settings", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = line
    return rows


def test_every_setting_is_in_the_readme_table() -> None:
    rows = _settings_table_rows()
    missing = [name for name in Settings.model_fields if name not in rows]
    assert missing == [], f"settings missing from the README table: {missing}"
    stale = [name for name in rows if name not in Settings.model_fields]
    assert stale == [], f"README documents settings that do not exist: {stale}"


def test_readme_rows_name_env_var_and_default() -> None:
    rows = _settings_table_rows()
    for name, field in Settings.model_fields.items():
        assert env_var_name(name) in rows[name], f"{name}: env var not in its README row"
        assert str(field.default) in rows[name], f"{name}: default {field.default} not in README"


def test_quick_start_has_exactly_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    quick = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```(?:sh|bash)\n(.*?)```", quick, re.S)
    assert block is not None, "quick start has no shell block"
    commands = [ln for ln in block.group(1).splitlines() if ln.strip() and not ln.startswith("#")]
    assert commands == ["make demo", "make test"]
