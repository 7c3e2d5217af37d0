"""SpillingScanIdIndex: the same verdicts as a plain dict while most keys live in run files."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.dedupe import Verdict, split_rows
from storage.dedupe_spill import (
    SpillingScanIdIndex,
    _bloom,
    _bucket_bits,
    _bucket_index,
    _filter_words,
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
    # its index (129 bucket offsets, 900 row numbers, padding: u32 words), its 5-word rows
    assert run.stat().st_size == 4 * (129 + 900 + 1) + 900 * 40
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
    entries = np.empty(len(rows), dtype=np.uint32)
    row_bits = 13
    _bucket_index(rows, shift, row_bits, offsets, entries)
    buckets = [_hash_py(int(hi), int(lo)) >> shift for hi, lo in rows[:, :2].tolist()]
    expected = sorted(range(len(rows)), key=lambda i: buckets[i])  # sorted() is stable
    assert (entries & ((1 << row_bits) - 1)).tolist() == expected
    tags = [
        _hash_py(int(hi), int(lo)) & ((1 << (32 - row_bits)) - 1) for hi, lo in rows[:, :2].tolist()
    ]
    assert (entries >> row_bits).tolist() == [tags[i] for i in expected]
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
