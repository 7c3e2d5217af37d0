"""The hot store's merged tail on real RocksDB files, against a plain list of what was acked.

Oracle: every accepted scan of a day, in commit order, minus the ones acked before the
snapshot a seal was marked at. The tail must equal it exactly (order included, one shard) or
as a multiset in commit order (several shards: a commit writes its values in shard order),
whatever mix of resident, evicted, merged and straddling chunks the operations left behind,
and again after a reopen. Merging must keep a day at a handful of chunks.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage.hotstore import HotStore
from storage.hottail import FANOUT, Chunk, Tail, merge
from storage.records import ScanArray

from .scan_factory import DAY, random_scans


def _rows(scans: ScanArray) -> list[bytes]:
    raw = scans.tobytes()
    size = scans.dtype.itemsize
    return [raw[i : i + size] for i in range(0, len(raw), size)]


def test_thousands_of_commits_leave_a_day_a_handful_of_chunks(tmp_path: Path) -> None:
    acked = []
    with HotStore(tmp_path / "hot", n_shards=1, tail_memory_bytes=4_000) as hot:
        for seed in range(2_000):
            scans = random_scans(1 + seed % 3, seed=seed)
            hot.submit(scans).result()
            acked.append(scans)
        chunks = hot._tail.chunks(DAY)
        # base FANOUT digits of 2,000 values: at most FANOUT - 1 chunks per level
        assert len(chunks) <= (FANOUT - 1) * 4
        assert [c.lo for c in chunks[1:]] == [c.seq + 1 for c in chunks[:-1]]
        assert hot._tail.resident_bytes <= 4_000
        tail, _, _ = hot.tail_scans(DAY)
        assert _rows(tail) == _rows(np.concatenate(acked))  # resident or read back, in order
        assert hot.stats().tail_scans == len(tail)


def test_a_seal_inside_a_merged_chunk_keeps_only_what_came_after(tmp_path: Path) -> None:
    with HotStore(tmp_path / "hot", n_shards=3) as hot:
        before = [random_scans(1, seed=s) for s in range(5)]  # one value a commit
        for scans in before:
            hot.submit(scans).result()
        _, seq_hi, _ = hot.tail_scans(DAY)  # the sealer's snapshot
        late = [random_scans(1, seed=100 + s) for s in range(FANOUT * 3)]
        for scans in late:
            hot.submit(scans).result()  # merged with the snapshot's values meanwhile
        assert any(c.lo <= seq_hi < c.seq for c in hot._tail.chunks(DAY))
        hot.mark_sealed(DAY, seq_hi)
        tail, _, _ = hot.tail_scans(DAY)
        assert sorted(_rows(tail)) == sorted(_rows(np.concatenate(late)))
        assert hot.stats().tail_scans == len(tail)


def test_a_day_read_back_from_the_log_stays_resident_within_the_budget(tmp_path: Path) -> None:
    with HotStore(tmp_path / "hot", n_shards=2) as hot:
        for seed in range(20):
            hot.submit(random_scans(3, seed=seed)).result()
        before, _, _ = hot.tail_scans(DAY)
    with HotStore(tmp_path / "hot", n_shards=2) as hot:
        assert hot._tail.resident_bytes == 0  # rebuilt at open: one chunk, in the log
        first, _, _ = hot.tail_scans(DAY)
        assert hot._tail.resident_bytes == first.nbytes  # read once, then kept
        again, _, _ = hot.tail_scans(DAY)
        assert _rows(first) == _rows(again) == _rows(before)
    with HotStore(tmp_path / "hot", n_shards=2, tail_memory_bytes=100) as hot:
        small, _, _ = hot.tail_scans(DAY)
        assert hot._tail.resident_bytes == 0  # over the budget: shed again at once
        assert _rows(small) == _rows(before)


def test_merge_keeps_resident_scans_only_when_every_part_has_them() -> None:
    a, b = random_scans(3, seed=1), random_scans(2, seed=2)
    both = merge([Chunk.value(DAY, 0, 4, a), Chunk.value(DAY, 1, 5, b)])
    assert (both.lo, both.seq, both.n, both.level, both.shard) == (4, 5, 5, 1, -1)
    assert both.pieces is not None
    assert len(both.pieces) == 1  # small: copied into one
    joined = both.resident()
    assert joined is not None
    assert _rows(joined) == _rows(np.concatenate([a, b]))
    gone = Chunk(DAY, 0, 6, 6, 2, None)
    assert merge([Chunk.value(DAY, 0, 4, a), gone]).pieces is None


def test_tail_sheds_the_oldest_past_its_budget_and_counts_bytes() -> None:
    tail = Tail(budget_bytes=36 * 5)
    for seq in range(4):
        tail.keep(Chunk.value(DAY, 0, seq, random_scans(2, seed=seq)))
    resident = [c for c in tail.chunks(DAY) if c.pieces is not None]
    assert tail.resident_bytes == sum(c.nbytes for c in resident) <= 36 * 5
    assert tail.chunks(DAY)[0].pieces is None  # the oldest went first
    assert tail.scans() == 8


@st.composite
def _operations(draw: st.DrawFn) -> list[tuple[str, int]]:
    ops = st.one_of(
        st.tuples(st.just("submit"), st.integers(1, 4)),
        st.tuples(st.just("snapshot"), st.just(0)),
        st.tuples(st.just("seal"), st.just(0)),
        st.tuples(st.just("reopen"), st.just(0)),
    )
    return draw(st.lists(ops, min_size=1, max_size=60))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ops=_operations(),
    budget=st.sampled_from([0, 200, 1 << 20]),
    shards=st.sampled_from([1, 3]),
)
def test_tail_equals_the_acked_scans_after_any_mix_of_commits_seals_and_reopens(
    ops: list[tuple[str, int]], budget: int, shards: int
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hot"
        acked: list[ScanArray] = []  # per commit, oldest first
        snapshot: tuple[int, int] | None = None  # (seq_hi, commits acked by then)
        sealed = {DAY: -1}
        hot = HotStore(path, n_shards=shards, tail_memory_bytes=budget)
        try:
            for k, (op, size) in enumerate(ops):
                if op == "submit":
                    scans = random_scans(size, seed=k)
                    hot.submit(scans).result()
                    acked.append(scans)
                elif op == "snapshot":
                    snapshot = (hot.tail_scans(DAY)[1], len(acked))
                elif op == "seal" and snapshot is not None and snapshot[0] >= 0:
                    hot.mark_sealed(DAY, snapshot[0])
                    sealed[DAY] = max(sealed[DAY], snapshot[0])
                    del acked[: snapshot[1]]
                    snapshot = (snapshot[0], 0)
                elif op == "reopen":
                    hot.close()
                    hot = HotStore(path, n_shards=shards, tail_memory_bytes=budget, sealed=sealed)
                tail, _, _ = hot.tail_scans(DAY)
                expected = _rows(np.concatenate(acked)) if acked else []
                if shards == 1:
                    assert _rows(tail) == expected
                else:  # a commit's values are in shard order, commits in commit order
                    assert sorted(_rows(tail)) == sorted(expected)
                    commit = {r: i for i, scans in enumerate(acked) for r in _rows(scans)}
                    order = [commit[r] for r in _rows(tail)]
                    assert order == sorted(order)
                assert hot.stats().tail_scans == len(expected)
        finally:
            hot.close()
