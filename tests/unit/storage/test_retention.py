"""Retention: purged days leave no byte behind in any store; kept days are untouched."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from storage.datadir import DataDir
from storage.directory import PersonDirectory
from storage.records import day_bounds, make_scans
from storage.retention import cutoff_day

from .scan_factory import DAY, random_scans

MARK_PERSON = 0x5EED_C0DE_FACE_B00C
MARK_ID = bytes.fromhex("deadbeefcafef00d0badc0ffee123456")
MARK_REF = "retention-marker-0123456789"
MARK_PHONE = "0912345678"


def _marker_scans(day: int, n: int = 50, *, mark_id: bool = False) -> np.ndarray:
    rng = np.random.default_rng(day)
    ids = rng.integers(0, 256, (n, 16), dtype=np.uint8)
    if mark_id:
        ids[0] = np.frombuffer(MARK_ID, dtype=np.uint8)
    start, _ = day_bounds(day)
    return make_scans(ids, MARK_PERSON, rng.integers(1, 9, n), start + 3600 + np.arange(n) * 60)


def _hits(root: Path, pattern: bytes) -> list[str]:
    return [
        str(p.relative_to(root))
        for p in sorted(root.rglob("*"))
        if p.is_file() and pattern in p.read_bytes()
    ]


def test_purge_removes_every_byte_of_expired_days(tmp_path: Path) -> None:
    old = DAY - 30
    patterns = [
        MARK_ID,
        np.array([MARK_PERSON], "<u8").tobytes(),
        MARK_REF.encode(),
        MARK_PHONE.encode(),
    ]
    with DataDir(tmp_path, n_shards=4, compression=None) as data:
        people = PersonDirectory(data.people_path)
        people.upsert_many(
            np.array([MARK_PERSON], np.uint64), [MARK_REF], np.array([3]), [MARK_PHONE]
        )
        data.hot.submit(_marker_scans(old, mark_id=True)).result()
        data.hot.submit(_marker_scans(old + 1)).result()
        data.sealer.seal_day(old)  # one expired day sealed, one still in the tail
        kept = random_scans(2_000, seed=7)
        data.hot.submit(kept).result()
        data.sealer.seal_day(DAY)
        assert all(_hits(tmp_path, p) for p in patterns), "markers should be on disk first"

        now = day_bounds(DAY)[1] - 1
        cutoff = cutoff_day(now, 21)
        report = data.purge_before(cutoff, directory=people)
        assert report.hot_scans == 100
        assert report.days == (old, old + 1)
        assert report.people_forgotten == 1
        start, end = day_bounds(old)
        assert len(data.reader.visits_of_person(MARK_PERSON, start, end + 86_400)) == 0
        assert len(data.reader.visits_at_venue(1, start, end + 86_400)) == 0
        assert data.totals.day(old).scans == 0
        assert data.totals.day(DAY).scans == 2_000
        assert people.lookup(MARK_PERSON) is None
        people.close()
    for pattern in patterns:
        assert _hits(tmp_path, pattern) == [], f"{pattern!r} still on disk"
    with DataDir(tmp_path, n_shards=4, compression=None) as data:
        assert data.hot.tail_days() == []
        assert sum(e.scans for e in data.manifest.entries) == 2_000
        assert set(data.manifest.sealed) == {DAY}
        assert data.purge_before(cutoff).hot_scans == 0  # idempotent


def test_purge_keeps_people_who_still_have_scans(tmp_path: Path) -> None:
    with DataDir(tmp_path, n_shards=2) as data:
        people = PersonDirectory(data.people_path)
        people.upsert_many(np.array([MARK_PERSON, 7], np.uint64), ["a", "b"], np.array([1, 2]))
        data.hot.submit(_marker_scans(DAY - 30)).result()
        data.hot.submit(_marker_scans(DAY)).result()
        report = data.purge_before(DAY - 1, directory=people)
        assert report.people_forgotten == 0
        assert len(people) == 2
        people.close()


def test_cutoff_day_keeps_retention_days_including_today() -> None:
    now = day_bounds(DAY)[0] + 10
    assert cutoff_day(now, 1) == DAY
    assert cutoff_day(now, 21) == DAY - 20


def test_purge_removes_expired_values_that_shared_a_flush_with_kept_ones(tmp_path: Path) -> None:
    """Full-size log values of an expired and a kept day flushed into the same files: the
    purge must leave no byte of the expired day and every scan of the kept one."""
    old = DAY - 30
    with DataDir(tmp_path, n_shards=1, compression=None) as data:
        data.hot.submit(_marker_scans(old, n=2_000, mark_id=True)).result()
        data.hot.submit(random_scans(2_000, seed=9)).result()  # DAY, same memtable
        data.hot.flush()
        assert _hits(tmp_path, MARK_ID), "the marker should be on disk first"
        data.purge_before(DAY - 20)
        assert data.totals.day(DAY).scans == 2_000
    assert _hits(tmp_path, MARK_ID) == []
    with DataDir(tmp_path, n_shards=1, compression=None) as data:
        assert data.hot.tail_days() == [DAY]
        tail, _, _ = data.hot.tail_scans(DAY)
        assert len(tail) == 2_000
