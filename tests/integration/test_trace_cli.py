"""`qrtrace trace / exposure / clusters` as an operator runs them, on a real data directory."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from storage.datadir import DataDir
from storage.directory import PersonDirectory
from storage.pseudonym import Pseudonymiser, load_or_create_key
from storage.records import day_bounds, make_scans
from storage.venues import Venue, VenueRegistry

from .test_cli import qrtrace

DAY = 18_876  # 2021-09-06 local
T = day_bounds(DAY)[0] + 9 * 3600  # 09:00 local


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("trace-cli") / "data"
    with DataDir(root, sync=False) as data:
        registry = VenueRegistry(data.venues_path)
        registry.register(Venue(5, "Quán cà phê A", ward=3, category=4, registered_at=T - 86_400))
        registry.close()
        names = ["0912345678", "0987654321", "0911111111"]
        ids = Pseudonymiser(load_or_create_key(data.pseudonym_key_path)).person_ids(names)
        with PersonDirectory(data.people_path) as people:
            people.upsert_many(ids, names, np.array([3, 7, 3]))
        scans = make_scans(
            np.arange(96, dtype=np.uint8).reshape(6, 16),
            [ids[0], ids[0], ids[1], ids[1], ids[2], ids[2]],
            5,
            [T, T + 3600, T + 600, T + 2400, T + 3600, T + 4000],
            direction=[0, 1, 0, 1, 0, 1],
            category=4,
        )
        data.hot.submit(scans).result()
    return root


def test_trace_json_lists_the_contact_with_evidence(data_dir: Path, tmp_path: Path) -> None:
    result = qrtrace(
        "trace", "--data-dir", str(data_dir), "--person", "+84 912 345 678",
        "--from", "2021-09-06", "--to", "2021-09-07", "--rules", "plain", "--format", "json",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert [c["person"] for c in doc["contacts"]] == ["0987654321"]
    contact = doc["contacts"][0]
    assert contact["score"] == 1800
    assert contact["home_ward"] == 7
    assert contact["evidence"][0]["ward"] == 3
    assert doc["rules"]["name"] == "plain"


def test_trace_by_dates_with_default_rules_and_csv(data_dir: Path, tmp_path: Path) -> None:
    result = qrtrace(
        "trace", "--data-dir", str(data_dir), "--person", "0912345678", "--sample",
        "2021-09-07", "--format", "csv", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("rank,person")
    assert lines[1].split(",")[1:4] == ["0987654321", "7", "F1"]


def test_exposure_window_table(data_dir: Path, tmp_path: Path) -> None:
    result = qrtrace(
        "exposure", "--data-dir", str(data_dir), "--venue", "5", "--from",
        "2021-09-06T09:00", "--to", "2021-09-06T11:00", "--rules", "covid-alert", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "3 contacts" in result.stdout


def test_clusters_json(data_dir: Path, tmp_path: Path) -> None:
    result = qrtrace(
        "clusters", "--data-dir", str(data_dir), "--case", "0912345678,2021-09-07",
        "--case", "0911111111,2021-09-07", "--hot-spot-cases", "2", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["hot_spots"][0]["venue"] == 5
    # cases are named by the reference as ingested (from the person directory)
    listed = {c for comp in doc["components"] for c in comp["cases"]}
    assert listed == {"0912345678", "0911111111"}
    assert all(len(h) == 16 for comp in doc["components"] for h in comp["case_ids"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rules", "nope"], "unknown rule set"),
        (["--param", "interval=open"], "parameter interval"),
        (["--param", "bogus=1"], "unknown parameter"),
        (["--from", "2021-09-06"], "give both --from and --to"),
        ([], "no window"),
    ],
)
def test_bad_input_is_one_clear_line(
    data_dir: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    base = ["trace", "--data-dir", str(data_dir), "--person", "0912345678"]
    if "--from" not in args and args:
        args = [*args, "--sample", "2021-09-07"]
    result = qrtrace(*base, *args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
