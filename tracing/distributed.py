"""The trace engine over partitions that live elsewhere: planning, worker tasks, the engine.

`DistributedEngine` is a `TraceEngine` whose two data-touching steps (finding the cases'
visits, matching windows against visits) run on partitions (tracing.partition) through an
executor: in this process (`InProcess`, tests) or on Dask workers
(`tracing.dask_cluster.DaskExecutor`). Everything else (windows, aggregation, ranking,
evidence, F2, clusters, JSON) is the engine's own code on the merged partials, so a result is
identical to the single-process engine's over the same data directory at the same moment.

Consistency: one trace takes one snapshot (manifest entries + hot tail, under the manifest
lock, `IndexSource.snapshot`) and both rounds use it, so a seal in between changes nothing.
Workers read the entries' files themselves from the shared segment root (a path or a
pyarrow filesystem URI); the client ships only the small hot tail, the cases and windows.

Partitions are planned per (day, venue shard) from the manifest, or per day under the NHS
rule (a visit ends at the person's next check-in in any shard). A worker serves a group of
them (by shard, or by day; `DaskExecutor.assign`) as one index part built once from the
files (`GroupCache`), so a batch after the first reads no file and costs one kernel call
per worker and round.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol, overload

import numba
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from storage.manifest import SegmentEntry
from storage.records import local_day
from storage.segment_fs import open_root, read_segment_table
from storage.visits import DEFAULT_DWELL_S
from tracing.engine import I64, PersonIds, PersonLookup, TraceEngine, VenueInfo, Window, _Pieces
from tracing.index import IndexPart
from tracing.partition import (
    KIND_HOT,
    KIND_SEALED,
    CaseSet,
    case_rows,
    merge_case_rows,
    merge_partials,
    needs_next,
    part_from_tables,
    part_table,
    partial_of,
)
from tracing.rules import RuleSet

#: `PartitionSpec.shard` of a partition that spans every shard (NHS day, hot tail)
ALL_SHARDS: Final = -1


@dataclass(frozen=True)
class PartitionSpec:
    """One partition: the segment files a worker reads (manifest order), or the hot tail."""

    key: str
    kind: int
    rank: int
    shard: int
    day: int  #: local day; -1 for the hot tail
    rows: int
    entries: tuple[SegmentEntry, ...] = ()
    #: NHS rule, hot tail: sealed files of the tail's days, whose check-ins end its visits
    peers: tuple[SegmentEntry, ...] = ()


def plan_partitions(
    entries: Sequence[SegmentEntry], *, by_day: bool, hot_rows: int, hot_days: Sequence[int]
) -> list[PartitionSpec]:
    """Shard × day partitions (whole days when `by_day`) plus the hot tail when it has rows."""
    groups: dict[tuple[int, int], list[SegmentEntry]] = defaultdict(list)
    for e in entries:
        groups[(e.day, ALL_SHARDS if by_day else e.shard)].append(e)
    specs = [
        PartitionSpec(
            key=f"d{day}" if shard == ALL_SHARDS else f"d{day}-s{shard:05d}",
            kind=KIND_SEALED,
            rank=rank,
            shard=shard,
            day=day,
            rows=sum(e.rows for e in group),
            entries=tuple(group),
        )
        for rank, ((day, shard), group) in enumerate(sorted(groups.items()))
    ]
    if hot_rows:
        days = set(hot_days)
        peers = tuple(e for e in entries if e.day in days) if by_day else ()
        specs.append(
            PartitionSpec("hot", KIND_HOT, len(specs), ALL_SHARDS, -1, hot_rows, (), peers)
        )
    return specs


@dataclass(frozen=True)
class Job:
    """What one round sends along with each group of partitions (small: no segment data)."""

    step: str  # "case_rows" | "pieces"
    root: str
    rules: RuleSet
    hot: pa.Table | None
    #: content digest of `hot`: a worker rebuilds the hot part only when it changed
    hot_key: str
    vcat: npt.NDArray[np.uint8]
    dwell_s: I64
    persons: PersonIds
    lo: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    hi: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    cases: CaseSet | None = None
    threads: int = 1


Loader = Callable[[str, Sequence[SegmentEntry]], IndexPart]
Fingerprint = tuple[str, tuple[tuple[str, str], ...]]


def read_part(root: str, entries: Sequence[SegmentEntry]) -> IndexPart:
    """The part of one partition's segment files under `root` (a path or pyarrow URI)."""
    fs, base = open_root(root)
    return part_from_tables([read_segment_table(fs, base, e) for e in entries])


class GroupCache:
    """One index part per group of sealed partitions a worker serves, built from files once.

    A group's partitions become one part, so a round costs one kernel call per worker, not
    one per partition. Rows tie on every sort key only within one shard-day, so the merged
    rows keep each partition's order and the partial's merge keys stay exact (its rank is the
    group's first partition's). When the group grows (a seal added partitions; assignment is
    by shard, so a worker keeps its old ones), only the new partitions are read and merged in
    (`IndexPart.merged`); any other change rebuilds from the files. The `keep` latest groups
    stay (a worker may serve shard groups and, for the NHS rule, day groups).
    """

    def __init__(self, keep: int = 2) -> None:
        self.keep = keep
        self._parts: OrderedDict[tuple[str, frozenset[Fingerprint]], IndexPart] = OrderedDict()
        self._lock = threading.Lock()
        #: partitions read from files so far (a warm worker reads none per batch)
        self.reads = 0

    def part(
        self, root: str, specs: Sequence[PartitionSpec], load: Loader | None = None
    ) -> IndexPart:
        load = load or read_part
        want = frozenset(_fingerprint(s) for s in specs)
        with self._lock:
            hit = self._parts.get((root, want))
            if hit is not None:
                self._parts.move_to_end((root, want))
                return hit
            bases = [(k, p) for k, p in self._parts.items() if k[0] == root and k[1] <= want]
            base_key, base = max(bases, key=lambda kp: len(kp[0][1]), default=(None, None))
        have = base_key[1] if base_key is not None else frozenset()
        new = [load(root, s.entries) for s in specs if _fingerprint(s) not in have]
        self.reads += len(new)
        part = _merge_all(([base] if base is not None else []) + new)
        with self._lock:
            if base_key is not None:
                self._parts.pop(base_key, None)  # grown into the new group
            self._parts[(root, want)] = part
            while len(self._parts) > self.keep:
                self._parts.popitem(last=False)
        return part

    def __len__(self) -> int:
        return len(self._parts)

    @property
    def nbytes(self) -> int:
        return sum(p.nbytes for p in self._parts.values())


def _fingerprint(spec: PartitionSpec) -> Fingerprint:
    return spec.key, tuple((e.file, e.sha256) for e in spec.entries)


def _merge_all(parts: list[IndexPart]) -> IndexPart:
    """One part of many (pairwise, as a tree: each row is copied log2(len) times)."""
    if not parts:
        return IndexPart.empty()
    while len(parts) > 1:
        parts = [
            parts[i].merged(parts[i + 1]) if i + 1 < len(parts) else parts[i]
            for i in range(0, len(parts), 2)
        ]
    return parts[0]


#: this process's groups (a Dask worker's share) and the NHS hot tail's sealed peers
CACHE = GroupCache()
PEERS = GroupCache(keep=1)


def run_group(
    specs: Sequence[PartitionSpec],
    job: Job,
    load: Loader | None = None,
    cache: GroupCache | None = None,
    peer_cache: GroupCache | None = None,
) -> pa.Table:
    """One task: a round's step on one group of partitions, one concatenated partial.

    The group's sealed partitions are searched as one part (`cache`, default this process's
    `CACHE`; `peer_cache`: the NHS hot tail's sealed peers, default `PEERS`); the hot tail,
    if the group has it, as its own. `load(root, entries)` replaces reading files (tests)."""
    cache = CACHE if cache is None else cache
    peer_cache = PEERS if peer_cache is None else peer_cache
    most = int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]
    numba.set_num_threads(max(1, min(job.threads, most)))
    nhs = needs_next(job.rules)
    hot = _hot_part(job)
    units: list[tuple[IndexPart, int, int]] = []
    sealed = [s for s in specs if s.kind == KIND_SEALED]
    if sealed:
        part = cache.part(job.root, sealed, load)
        if nhs and len(hot):
            part = part.with_peers([hot])
        units.append((part, KIND_SEALED, min(s.rank for s in sealed)))
    for spec in specs:
        if spec.kind == KIND_HOT:
            peer_spec = PartitionSpec("peers", KIND_SEALED, 0, ALL_SHARDS, -1, 0, spec.peers)
            peers = [peer_cache.part(job.root, [peer_spec], load)] if nhs and spec.peers else []
            units.append((hot.with_peers(peers) if peers else hot, KIND_HOT, spec.rank))
    out = []
    for part, kind, rank in units:
        if job.step == "case_rows":
            out.append(
                case_rows(part, job.persons, job.lo, job.hi, job.rules, kind=kind, rank=rank)
            )
        else:
            assert job.cases is not None
            out.append(
                partial_of(
                    part, job.cases, job.rules, vcat=job.vcat, dwell_s=job.dwell_s, kind=kind,
                    rank=rank, parallel=len(job.cases) > 1,
                )
            )  # fmt: skip
    return pa.concat_tables(out) if out else pa.table({})


_HOT: OrderedDict[str, IndexPart] = OrderedDict()
_HOT_LOCK = threading.Lock()


def _hot_part(job: Job) -> IndexPart:
    """The hot tail's part, rebuilt once per content (a worker keeps the last two)."""
    if job.hot is None:
        return IndexPart.empty()
    with _HOT_LOCK:
        part = _HOT.get(job.hot_key)
    if part is None:
        part = part_from_tables([job.hot])
        with _HOT_LOCK:
            _HOT[job.hot_key] = part
            while len(_HOT) > 2:
                _HOT.popitem(last=False)
    return part


def table_digest(table: pa.Table | None) -> str:
    """A content digest of a small table (the hot tail shipped with every round)."""
    if table is None:
        return ""
    digest = hashlib.blake2b(digest_size=16)
    for column in table.columns:
        for chunk in column.chunks:
            digest.update(chunk.to_numpy(zero_copy_only=False).tobytes())
    return digest.hexdigest()


class Executor(Protocol):
    """Runs `run_group` over partitions somewhere and returns every group's partial."""

    def run(self, specs: Sequence[PartitionSpec], job: Job) -> list[pa.Table]: ...


class InProcess:
    """Every partition in this process, one group each (tests, and a cluster of one);
    `load` replaces reading files (tests hand in parts built in memory)."""

    def __init__(self, load: Loader | None = None) -> None:
        self.load = load
        self.cache = GroupCache(keep=64)
        self.peer_cache = GroupCache(keep=1)

    def run(self, specs: Sequence[PartitionSpec], job: Job) -> list[pa.Table]:
        return [run_group([s], job, self.load, self.cache, self.peer_cache) for s in specs]


class PartitionView(Sequence[IndexPart]):
    """What `DistributedEngine.parts` returns: no local part, the plan of remote ones.

    It is empty as a sequence (the engine's code that walks local parts has nothing to walk);
    the distributed engine's own steps read `specs` and `hot`.
    """

    def __init__(self, specs: list[PartitionSpec], hot: pa.Table | None) -> None:
        self.specs = specs
        self.hot = hot
        self.hot_key = table_digest(hot)

    def __len__(self) -> int:
        return 0

    @overload
    def __getitem__(self, index: int) -> IndexPart: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[IndexPart]: ...
    def __getitem__(self, index: int | slice) -> IndexPart | Sequence[IndexPart]:
        raise IndexError("a partition view holds no local part")

    def __iter__(self) -> Iterator[IndexPart]:
        return iter(())


class DistributedEngine(TraceEngine):
    """`TraceEngine` over partitions run by `executor`; same queries, same results.

    `snapshot` is `IndexSource.snapshot` of the node's data directory; `segment_root` is
    where workers find that directory's segment files (a path or a pyarrow URI); `n_shards`
    its venue shard count (a window at venue v can only match in shard v % n_shards).
    """

    def __init__(
        self,
        snapshot: Callable[[], tuple[tuple[SegmentEntry, ...], IndexPart]],
        executor: Executor,
        *,
        segment_root: str,
        n_shards: int,
        venues: VenueInfo | None = None,
        people: PersonLookup | None = None,
        dwell_s: I64 = DEFAULT_DWELL_S,
        threads: int | None = None,
        worker_threads: int = 1,
    ) -> None:
        super().__init__(lambda: (), venues, people, dwell_s=dwell_s, threads=threads)
        self.snapshot = snapshot
        self.executor = executor
        self.segment_root = segment_root
        self.n_shards = n_shards
        self.worker_threads = worker_threads

    def parts(self, rules: RuleSet | None = None) -> PartitionView:
        """The plan of partitions as of now (one snapshot per trace)."""
        entries, hot = self.snapshot()
        hot_days = np.unique(local_day(hot.t_in)).tolist() if len(hot) else []
        specs = plan_partitions(
            entries,
            by_day=rules is not None and needs_next(rules),
            hot_rows=len(hot),
            hot_days=hot_days,
        )
        return PartitionView(specs, part_table(hot) if len(hot) else None)

    def _job(self, view: PartitionView, step: str, rules: RuleSet, **kw: Any) -> Job:
        return Job(
            step=step, root=self.segment_root, rules=rules, hot=view.hot, hot_key=view.hot_key,
            vcat=self.venues.category, dwell_s=self.dwell_s, threads=self.worker_threads, **kw,
        )  # fmt: skip

    def case_visits(
        self,
        parts: Sequence[IndexPart],
        persons: PersonIds,
        windows: Sequence[Window],
        rules: RuleSet,
    ) -> tuple[I64, dict[str, npt.NDArray[np.generic]]]:
        view = parts if isinstance(parts, PartitionView) else self.parts(rules)
        persons = np.ascontiguousarray(persons, dtype=np.uint64)
        job = self._job(
            view, "case_rows", rules, persons=persons,
            lo=np.array([w.lo for w in windows], dtype=np.int64),
            hi=np.array([w.hi for w in windows], dtype=np.int64),
        )  # fmt: skip
        return merge_case_rows(self.executor.run(view.specs, job), len(persons))

    def _pieces(
        self, *, parts: Sequence[IndexPart], w_off: I64, w_venue: I64, w_start: I64,
        w_end: I64, exclude: PersonIds, rules: RuleSet, as_of: I64, parallel: bool,
    ) -> _Pieces:  # fmt: skip
        view = parts if isinstance(parts, PartitionView) else self.parts(rules)
        cases = CaseSet(exclude, as_of, w_off, w_venue, w_start, w_end)
        shards = {ALL_SHARDS, *np.unique(np.asarray(w_venue) % self.n_shards).tolist()}
        specs = [s for s in view.specs if s.shard in shards]
        job = self._job(view, "pieces", rules, persons=exclude, cases=cases)
        return merge_partials(self.executor.run(specs, job) if specs else [], len(w_off) - 1)
