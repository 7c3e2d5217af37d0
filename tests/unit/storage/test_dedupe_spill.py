"""SpillingScanIdIndex: the same verdicts as a plain dict while most keys live in run files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from storage.dedupe import Verdict
from storage.dedupe_spill import SpillingScanIdIndex
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
    assert run.stat().st_size == 900 * (8 + 40)  # hash column + 5-word rows
    assert len(index) == len(reference)
    index.close()
