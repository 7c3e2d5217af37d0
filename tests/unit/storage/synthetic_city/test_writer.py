from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from storage.synthetic_city import CityConfig, CityOutputError, write_city

TINY = CityConfig(scans=4_000, days=2, seed=3, venues=300, adults=3_000)


def digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_byte_identical_for_the_same_config(tmp_path: Path) -> None:
    write_city(TINY, tmp_path / "a")
    write_city(TINY, tmp_path / "b")
    first = digest(tmp_path / "a")
    assert first == digest(tmp_path / "b")
    assert "visits/day=2021-09-07/part-0.parquet" in first
    other = CityConfig(scans=4_000, days=2, seed=4, venues=300, adults=3_000)
    write_city(other, tmp_path / "c")
    assert digest(tmp_path / "c") != first


def test_layout_schema_and_counts(written_city: Path) -> None:
    meta = json.loads((written_city / "city.json").read_text())
    assert meta["status"] == "complete"
    assert meta["counts"]["scans"] == 60_000
    assert sum(meta["scans_per_day"].values()) == 60_000
    table = pq.read_table(written_city / "visits/day=2021-09-06/part-0.parquet")
    assert table.schema.field("person").type == pa.uint32()
    assert table.schema.field("t_in").type == pa.uint32()
    assert table.schema.field("t_out").type == pa.uint32()
    assert table.schema.field("category").type == pa.uint8()
    no_out = table["has_checkout"].to_numpy(zero_copy_only=False) == False  # noqa: E712
    assert table["t_out"].null_count == int(no_out.sum()) > 0
    assert table["t_out_true"].null_count == 0
    for name, info in meta["files"].items():
        data = (written_city / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == info["sha256"]


def test_progress_is_called_per_day(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    summary = write_city(TINY, tmp_path / "p", progress=lambda d, t: calls.append((d, t)))
    assert len(calls) == TINY.days
    assert calls[-1] == (TINY.scans, TINY.scans)
    assert summary.scans == TINY.scans
    assert summary.bytes > 0


def test_refuses_a_foreign_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(CityOutputError, match=r"not empty and not a previous city output"):
        write_city(TINY, tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_refuses_a_city_directory_with_foreign_files(tmp_path: Path) -> None:
    write_city(TINY, tmp_path)
    (tmp_path / "keep.me").write_text("x")
    with pytest.raises(CityOutputError, match=r"found keep\.me"):
        write_city(TINY, tmp_path)


def test_overwrites_a_previous_city_output(tmp_path: Path) -> None:
    bigger = CityConfig(scans=4_000, days=3, seed=3, venues=300, adults=3_000)
    write_city(bigger, tmp_path)
    write_city(TINY, tmp_path)
    days = sorted(p.name for p in (tmp_path / "visits").iterdir())
    assert days == ["day=2021-09-06", "day=2021-09-07"]


def test_refuses_a_file_as_directory(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(CityOutputError, match="not a directory"):
        write_city(TINY, target)
