"""SpillingScanIdIndex: the same verdicts as a plain dict while most keys live in run files."""

from __future__ import annotations

import mmap
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage import dedupe_spill
from storage.dedupe import Verdict, _row_store, split_rows
from storage.dedupe_spill import (
    _ROW_BITS,
    SpillingScanIdIndex,
    _bloom,
    _bucket_bits,
    _bucket_index,
    _filter_words,
    _Run,
)
from storage.hotstore import HotStore
from storage.records import RECORD_SIZE

from .scan_factory import DAY, random_scans


def _expected(reference: dict[bytes, bytes], batch: np.ndarray) -> list[int]:
    out = []
    raw = batch.tobytes()
    for i in range(len(batch)):
        rec = raw[i * RECORD_SIZE : (i + 1) * RECORD_SIZE]
        key, content = rec[:16], rec[16:]
        if key not in reference:
            reference[key] = content
            out.append(Verdict.ACCEPTED)
        else:
            out.append(Verdict.DUPLICATE if reference[key] == content else Verdict.CONFLICT)
    return out


def test_verdicts_match_a_dict_across_many_runs_and_a_filter_rebuild(tmp_path: Path) -> None:
    index = SpillingScanIdIndex(tmp_path, active_limit=700, capacity=1_000)
    reference: dict[bytes, bytes] = {}
    pool = random_scans(20_000, seed=3)
    rng = np.random.default_rng(1)
    for _ in range(25):
        batch = pool[rng.integers(0, len(pool), 1_500)].copy()
        batch["t"][rng.random(len(batch)) < 0.05] += 1  # same id, different content
        assert index.add(batch).tolist() == _expected(reference, batch)
    assert len(index) == len(reference)
    assert index.runs > 10  # most keys were frozen into run files
    assert index.nbytes < 700 * 80 + len(reference) * 4  # active table + filter only
    index.close()
    assert not any(tmp_path.rglob("*.idx"))


def test_repeats_of_frozen_scans_within_one_batch(tmp_path: Path) -> None:
    index = SpillingScanIdIndex(tmp_path, active_limit=10)
    old = random_scans(30, seed=1)
    assert (index.add(old) == Verdict.ACCEPTED).all()
    assert index.runs == 1
    conflict = old[:2].copy()
    conflict["venue"] += 1
    batch = np.concatenate([old[:3], conflict, random_scans(2, seed=9), old[:1]])
    assert index.add(batch).tolist() == [
        Verdict.DUPLICATE,
        Verdict.DUPLICATE,
        Verdict.DUPLICATE,
        Verdict.CONFLICT,
        Verdict.CONFLICT,
        Verdict.ACCEPTED,
        Verdict.ACCEPTED,
        Verdict.DUPLICATE,
    ]
    index.close()


def test_hot_store_with_a_spilling_index_stays_exactly_once(tmp_path: Path) -> None:
    """Across run files, a reopen (runs rebuilt from the log) and a retired day."""
    runs = tmp_path / "runs"
    old, new = random_scans(3_000, seed=1, day=DAY), random_scans(3_000, seed=2, day=DAY + 1)
    options = {"index_memory_bytes": 72 * 500, "spill_dir": runs}
    with HotStore(tmp_path / "hot", **options) as hot:  # type: ignore[arg-type]
        for part in (old[:1500], old[1500:], new):
            assert (hot.submit(part).result() == Verdict.ACCEPTED).all()
        assert any(runs.rglob("*.idx"))
        assert (hot.submit(old).result() == Verdict.DUPLICATE).all()
    stale = sorted(runs.rglob("*.idx"))
    with HotStore(tmp_path / "hot", **options) as hot:  # type: ignore[arg-type]
        assert not any(p.exists() for p in stale)  # deleted at open, rebuilt from the log
        assert (hot.submit(new).result() == Verdict.DUPLICATE).all()
        hot.drop_days_before(DAY + 1, include_unsealed=True)
        assert (hot.submit(new[:10]).result() == Verdict.DUPLICATE).all()
        assert (hot.submit(old[:10]).result() == Verdict.ACCEPTED).all()  # retired: new again
        assert hot.stats().index_entries == 3_010


def test_a_batch_that_would_overflow_the_active_table_freezes_it_first(tmp_path: Path) -> None:
    index = SpillingScanIdIndex(tmp_path, active_limit=1_000)
    reference: dict[bytes, bytes] = {}
    first = random_scans(900, seed=4)
    assert index.add(first).tolist() == _expected(reference, first)
    assert index.runs == 0
    second = np.concatenate([random_scans(300, seed=5), first[:10]])
    assert index.add(second).tolist() == _expected(reference, second)
    # the 900 were frozen before the 310 went in (the table never held 1,210 rows)
    (run,) = tmp_path.rglob("*.idx")
    # its index (129 u32 bucket offsets, padded to 8 B, 900 u64 entries) up to a page, its rows
    page = mmap.PAGESIZE
    assert run.stat().st_size == -(-(4 * 130 + 8 * 900) // page) * page + 900 * 40
    assert len(index) == len(reference)
    index.close()


def _pool_batches(pool: np.ndarray, picks: list[list[tuple[int, int]]]) -> list[np.ndarray]:
    """Batches of pool scans by (pool row, content variant); variant k shifts `t` by k."""
    out = []
    for batch in picks:
        rows = pool[[p for p, _ in batch]].copy()
        rows["t"] += np.array([v for _, v in batch], dtype=np.uint32)
        out.append(rows)
    return out


_picks = st.lists(
    st.lists(st.tuples(st.integers(0, 299), st.integers(0, 2)), min_size=0, max_size=90),
    min_size=1,
    max_size=14,
)


@settings(max_examples=150, deadline=None)
@given(picks=_picks, limit=st.integers(1, 64), capacity=st.integers(0, 200))
def test_verdicts_match_a_dict_for_any_batches_and_limits(
    picks: list[list[tuple[int, int]]], limit: int, capacity: int
) -> None:
    """Repeats and conflicts across many runs, tiny active tables, filters that must grow."""
    pool = random_scans(300, seed=11)
    reference: dict[bytes, bytes] = {}
    with tempfile.TemporaryDirectory() as tmp:
        index = SpillingScanIdIndex(Path(tmp), active_limit=limit, capacity=capacity)
        for batch in _pool_batches(pool, picks):
            assert index.add(batch).tolist() == _expected(reference, batch)
            assert len(index) == len(reference)
        assert index.nbytes > 0
        index.close()
        assert not any(Path(tmp).rglob("*.idx"))


def test_many_freezes_and_a_grown_filter_still_find_every_old_scan(tmp_path: Path) -> None:
    index = SpillingScanIdIndex(tmp_path, active_limit=5_000, capacity=1)
    reference: dict[bytes, bytes] = {}
    first_filter = index.nbytes
    fresh = [random_scans(3_000, seed=100 + i) for i in range(12)]
    for batch in fresh:
        assert index.add(batch).tolist() == _expected(reference, batch)
    assert index.runs >= 6
    assert index.nbytes > first_filter  # the filter grew (rebuilt from the run files)
    # every old scan again, and a conflicting copy of each: all found in the run files
    every = np.concatenate(fresh)
    changed = every.copy()
    changed["venue"] += 1
    both = np.concatenate([every, changed])
    assert index.add(both).tolist() == _expected(reference, both)
    index.close()


def test_bucket_index_is_a_stable_counting_sort_by_hash_prefix() -> None:
    rows = split_rows(random_scans(5_000, seed=8))
    bits = _bucket_bits(len(rows))
    shift = 64 - bits
    offsets = np.zeros((1 << bits) + 1, dtype=np.uint32)
    entries = np.empty(len(rows), dtype=np.uint64)
    _bucket_index(rows, shift, offsets, entries)
    hashes = [_hash_py(int(hi), int(lo)) for hi, lo in rows[:, :2].tolist()]
    buckets = [h >> shift for h in hashes]
    expected = sorted(range(len(rows)), key=lambda i: buckets[i])  # sorted() is stable
    low = (1 << _ROW_BITS) - 1
    assert [e & low for e in entries.tolist()] == expected
    assert [e >> _ROW_BITS for e in entries.tolist()] == [hashes[i] >> _ROW_BITS for i in expected]
    counts = np.bincount(buckets, minlength=1 << bits)
    assert offsets.tolist() == [0, *np.cumsum(counts).tolist()]
    assert 4 <= len(rows) / (1 << bits) < 8  # ~4-8 rows a bucket


def test_the_filter_has_no_false_negatives() -> None:
    rows = split_rows(random_scans(20_000, seed=12))
    bits = np.zeros(_filter_words(10_000), dtype=np.uint64)  # overfull: still no misses
    _bloom(bits, rows, True, np.zeros(0, dtype=np.bool_))
    maybe = np.zeros(len(rows), dtype=np.bool_)
    _bloom(bits, rows, False, maybe)
    assert maybe.all()
    others = split_rows(random_scans(20_000, seed=13))
    _bloom(bits, others, False, maybe)
    assert maybe.mean() < 0.5  # and it still rejects most others


_M64 = (1 << 64) - 1


def _hash_py(hi: int, lo: int) -> int:
    """`storage.dedupe._hash` in plain Python (the oracle for the bucket order)."""
    x = hi ^ ((lo * 0x9E3779B97F4A7C15) & _M64)
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def test_run_files_hold_the_rows_as_written_directly_or_not(tmp_path: Path) -> None:
    """Page-aligned rows go to the file with direct I/O where the file system has it."""
    n = 110_000  # > 4 MiB: a page-aligned row store
    aligned = _row_store(n)
    aligned[:] = np.random.default_rng(3).integers(0, 2**63, (n, 5), dtype=np.uint64)
    assert aligned.ctypes.data % mmap.PAGESIZE == 0
    unaligned = np.frombuffer(b"\0" * 8 + aligned.tobytes(), np.uint64, offset=8).reshape(n, 5)
    for name, rows in (("direct", aligned), ("cached", unaligned)):
        bits = np.zeros(_filter_words(n), dtype=np.uint64)
        run = _Run(tmp_path / f"{name}.idx", rows, bits)
        data = (tmp_path / f"{name}.idx").read_bytes()
        assert data[run.rows_at :] == aligned.tobytes()
        assert run.rows_at % mmap.PAGESIZE == 0
    assert (tmp_path / "direct.idx").read_bytes() == (tmp_path / "cached.idx").read_bytes()


def test_a_server_sized_table_frozen_to_disk_still_answers_exactly(tmp_path: Path) -> None:
    index = SpillingScanIdIndex(tmp_path, active_limit=110_000, capacity=1)
    groups = [random_scans(40_000, seed=40 + i) for i in range(6)]
    for g in groups:
        assert (index.add(g) == Verdict.ACCEPTED).all()
    assert index.runs == 2
    changed = groups[0][:100].copy()
    changed["person"] += 1
    retry = np.concatenate([groups[0][100:500], changed, groups[3][:50]])
    expected = [Verdict.DUPLICATE] * 400 + [Verdict.CONFLICT] * 100 + [Verdict.DUPLICATE] * 50
    assert index.add(retry).tolist() == expected
    index.close()


def test_a_huge_add_goes_in_parts_with_the_same_verdicts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dedupe_spill, "_MAX_PART", 97)  # 2^22 in the module: scaled down
    index = SpillingScanIdIndex(tmp_path, active_limit=150)
    reference: dict[bytes, bytes] = {}
    pool = random_scans(400, seed=21)
    batch = pool[np.random.default_rng(2).integers(0, 400, 1_000)]
    assert index.add(batch).tolist() == _expected(reference, batch)
    assert index.runs > 2
    index.close()


@pytest.mark.parametrize("few", [0, 1_000_000])
def test_run_probes_by_mapping_or_by_small_reads_agree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, few: int
) -> None:
    """Each run file is read through a mapping, or with small reads for a few candidates."""
    monkeypatch.setattr(dedupe_spill, "_FEW", few)
    index = SpillingScanIdIndex(tmp_path, active_limit=300, capacity=1)
    reference: dict[bytes, bytes] = {}
    pool = random_scans(3_000, seed=31)
    rng = np.random.default_rng(7)
    for size in (400, 1, 2, 700, 3, 250, 5, 1_000, 1, 60):
        batch = pool[rng.integers(0, len(pool), size)].copy()
        batch["t"][rng.random(size) < 0.2] += 1  # same id, different content
        assert index.add(batch).tolist() == _expected(reference, batch)
    assert index.runs >= 5
    index.close()
