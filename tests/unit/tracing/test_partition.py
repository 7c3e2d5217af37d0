"""Partition + merge == the single-process engine, exactly, on hypothesis worlds.

Each world's visits are sealed into "segments" by (generation, local day, venue shard), in
manifest order, or left in the hot tail; the engine searches one merged sealed part plus the
hot part (as `IndexSource` builds them), the distributed engine the partitions (in process,
parts built in memory). Every field of every result must match: ranked contacts, evidence,
flags, case visits, the JSON document, batch columns.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.manifest import SegmentEntry
from storage.records import local_day
from storage.visits import Visits
from tracing.batch import trace_cases
from tracing.distributed import (
    ALL_SHARDS,
    DistributedEngine,
    GroupCache,
    InProcess,
    Job,
    Loader,
    PartitionSpec,
    plan_partitions,
    run_group,
)
from tracing.engine import TraceEngine, VenueInfo, Window
from tracing.index import IndexPart
from tracing.partition import (
    KIND_HOT,
    KIND_SEALED,
    CaseSet,
    merge_partials,
    part_from_tables,
    part_table,
    trace_partition,
)
from tracing.rules import RULE_SETS

from . import naive
from .worlds import T0, to_visits, worlds

RULES = st.sampled_from(list(RULE_SETS.values()))


def _entry(day: int, generation: int, shard: int, rows: int) -> SegmentEntry:
    return SegmentEntry(
        file=f"day={day}/g{generation:04d}-s{shard:05d}.arrow", day=day, shard=shard,
        generation=generation, rows=rows, scans=rows, t_min=0, t_max=0, bytes=0,
        sha256=f"{day}-{generation}-{shard}",
    )  # fmt: skip


def _split(
    rows: list[naive.NVisit], split: list[bool], gens: list[int], n_shards: int
) -> tuple[list[SegmentEntry], dict[str, Visits], Visits]:
    """Sealed segments (manifest order: generation, day, shard) and the hot tail's visits."""
    groups: dict[tuple[int, int, int], list[naive.NVisit]] = defaultdict(list)
    hot = []
    for row, is_hot, gen in zip(rows, split, gens, strict=True):
        if is_hot:
            hot.append(row)
            continue
        day = int(local_day(np.array([row.t_in], np.uint32))[0])
        groups[(gen, day, row.venue % n_shards)].append(row)
    entries, files = [], {}
    for (gen, day, shard), group in sorted(groups.items()):
        entry = _entry(day, gen, shard, len(group))
        entries.append(entry)
        files[entry.file] = to_visits(group).sorted_by_venue()
    return entries, files, to_visits(hot)


def _engines(  # noqa: PLR0917
    rows: list[naive.NVisit],
    cats: list[int],
    split: list[bool],
    gens: list[int],
    n_shards: int,
    n_workers: int,
) -> tuple[TraceEngine, DistributedEngine]:
    entries, files, hot_visits = _split(rows, split, gens, n_shards)
    sealed = IndexPart.from_visits(Visits.concat([files[e.file] for e in entries]))
    hot = IndexPart.from_visits(hot_visits)
    venues = VenueInfo(np.zeros(len(cats), np.uint8), np.array(cats, np.uint8))
    local = TraceEngine(lambda: [sealed, hot], venues)

    def load(_root: str, group: object) -> IndexPart:
        visits = [files[e.file] for e in group]  # type: ignore[attr-defined]
        return part_from_tables([_table(v) for v in visits])

    executor = InProcess(load) if n_workers == 0 else Grouped(load, n_workers)
    dist = DistributedEngine(
        lambda: (tuple(entries), hot), executor, segment_root="mem", n_shards=n_shards,
        venues=venues,
    )  # fmt: skip
    return local, dist


class Grouped:
    """Partitions grouped as `DaskExecutor.assign` groups them for `n` workers, in process."""

    def __init__(self, load: Loader, n: int) -> None:
        self.load, self.n = load, n
        self.cache, self.peer_cache = GroupCache(keep=8), GroupCache(keep=1)

    def run(self, specs: list[PartitionSpec], job: Job) -> list[pa.Table]:
        groups: dict[int, list[PartitionSpec]] = {}
        for spec in specs:
            slot = spec.shard if spec.shard >= 0 else max(spec.day, 0)
            groups.setdefault(slot % self.n, []).append(spec)
        return [
            run_group(g, job, self.load, self.cache, self.peer_cache)
            for _, g in sorted(groups.items())
        ]


def _table(v: Visits) -> pa.Table:
    return pa.table(
        {"venue": v.venue, "t_in": v.t_in, "t_out": v.t_out, "person": v.person, "flags": v.flags}
    )


def _same_table(a: object, b: object) -> None:
    for name in a.__dataclass_fields__:  # type: ignore[attr-defined]
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype, name
        assert np.array_equal(x, y), name


@settings(max_examples=150, deadline=None)
@given(
    world=worlds(),
    rules=RULES,
    gens=st.lists(st.integers(1, 2), min_size=30, max_size=30),
    n_shards=st.integers(1, 3),
    n_workers=st.integers(0, 2),
    case=st.integers(1, 6),
    lo=st.integers(-4 * 3600, 6 * 3600),
    span=st.integers(1, 16 * 3600),
)
def test_partitions_merge_to_the_engine_result(  # noqa: PLR0917
    world: tuple[list[naive.NVisit], list[int], list[bool]],
    rules: object,
    gens: list[int],
    n_shards: int,
    n_workers: int,
    case: int,
    lo: int,
    span: int,
) -> None:
    rows, cats, split = world
    local, dist = _engines(rows, cats, split, gens[: len(rows)], n_shards, n_workers)
    window = Window(T0 + lo, T0 + lo + span)
    a = local.trace_case(case, window, rules)  # type: ignore[arg-type]
    b = dist.trace_case(case, window, rules)  # type: ignore[arg-type]
    _same_table(a.table, b.table)
    assert a.case_visits is not None
    assert b.case_visits is not None
    _same_table(a.case_visits, b.case_visits)
    assert a.to_json() == b.to_json()
    persons = np.arange(1, 7, dtype=np.uint64)
    windows = [Window(T0 + lo - 3600 * k, T0 + lo + span) for k in range(6)]
    ba = local.trace_many(persons, windows, rules)  # type: ignore[arg-type]
    bb = dist.trace_many(persons, windows, rules)  # type: ignore[arg-type]
    for name in ("c_off", "person", "units", "shared", "first", "last", "high"):
        assert np.array_equal(getattr(ba, name), getattr(bb, name)), name
    full = trace_cases(dist, persons, windows, rules)  # type: ignore[arg-type]
    for person, w, got in zip(persons.tolist(), windows, full, strict=True):
        assert got.to_json() == local.trace_case(person, w, rules).to_json()  # type: ignore[arg-type]
    ea = local.trace_exposure(1 + case % 5, window, rules)  # type: ignore[arg-type]
    eb = dist.trace_exposure(1 + case % 5, window, rules)  # type: ignore[arg-type]
    _same_table(ea.table, eb.table)


def test_plan_is_shard_by_day_or_whole_days_and_the_hot_tail_last() -> None:
    entries = [_entry(10, 1, 0, 5), _entry(10, 1, 1, 3), _entry(11, 1, 1, 2), _entry(10, 2, 1, 1)]
    specs = plan_partitions(entries, by_day=False, hot_rows=4, hot_days=[11])
    assert [s.key for s in specs] == ["d10-s00000", "d10-s00001", "d11-s00001", "hot"]
    assert [f.generation for f in specs[1].entries] == [1, 2]  # manifest order kept
    assert specs[-1].kind == KIND_HOT
    assert specs[-1].peers == ()
    assert [s.rank for s in specs] == [0, 1, 2, 3]
    days = plan_partitions(entries, by_day=True, hot_rows=4, hot_days=[11])
    assert [(s.key, s.rows, s.shard) for s in days[:2]] == [
        ("d10", 9, ALL_SHARDS),
        ("d11", 2, ALL_SHARDS),
    ]
    assert days[-1].peers == (entries[2],)  # the NHS hot tail sees its day's sealed check-ins
    assert plan_partitions([], by_day=False, hot_rows=0, hot_days=[]) == []


def test_one_partition_call_is_pure_and_its_partial_merges_alone() -> None:
    rows = [
        naive.NVisit(1, T0, T0 + 3600, 1, 0, 0),
        naive.NVisit(1, T0 + 600, T0 + 1200, 2, 0, 0),
        naive.NVisit(1, T0 + 600, T0 + 1200, 2, 1, 0),  # a full tie but for the flags
        naive.NVisit(2, T0, T0 + 60, 3, 0, 0),
    ]
    table = part_table(IndexPart.from_visits(to_visits(rows)))
    cases = CaseSet(
        np.array([1], np.uint64), np.array([T0 + 7200], np.int64), np.array([0, 1], np.int64),
        np.array([1], np.int64), np.array([T0], np.int64), np.array([T0 + 3600], np.int64),
    )  # fmt: skip
    kw = {"vcat": np.zeros(3, np.uint8), "dwell_s": np.full(256, 600, np.int64)}
    first = trace_partition(table, cases, RULE_SETS["plain"], **kw)  # type: ignore[arg-type]
    again = trace_partition(table, cases, RULE_SETS["plain"], **kw)  # type: ignore[arg-type]
    assert first.equals(again)
    assert first.column("kind").to_pylist() == [KIND_SEALED, KIND_SEALED]
    pieces = merge_partials([first], 1)
    assert pieces.person.tolist() == [2, 2]
    assert pieces.flags is not None
    assert pieces.flags.tolist() == [0, 1]
    assert pieces.piece_off.tolist() == [0, 2]
