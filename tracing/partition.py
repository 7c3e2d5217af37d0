"""The scale-out seam (DESIGN §8): one partition's partial trace, and the exact merge.

A *partition* is one venue shard × one local day of sealed visits (the files
`segments/day=D/gGGGG-sSSSSS.arrow` of that shard and day, every generation) or the unsealed
hot tail, as one Arrow table. Under the NHS rule (`checkout=next-checkin-or-midnight`) a
visit ends at the person's next check-in *anywhere* that day, which crosses venue shards,
so there a partition is a whole day and the hot tail is its peer (see `part_from_tables`).

A trace over partitions is two pure steps per partition and two merges:

1. `case_rows(part, ...)`: the F0s' own visits in this partition. `merge_case_rows` puts
   every partition's rows into exactly the order `TraceEngine.case_visits` makes over the
   single sealed part + hot part: by case, sealed before hot, then by (t_in, venue, t_out)
   (the person-sorted view's order), ties by row within the partition. The coordinator
   turns them into match windows with the engine's own `_windows` kernel.
2. `trace_partition` / `partial_of(part, cases, ...)`: every contact piece of the cases'
   windows in this partition (the engine's `_match` kernel), as an Arrow table with the keys
   the merge needs. `merge_partials` sorts all partials into the engine's emission order:
   by case, sealed before hot, window, then (t_in, person, t_out) - the single sealed part's
   row order - and row within the partition. Rows that tie on every key live in one
   partition: same venue means same shard, same t_in means same local day.

The merged pieces then go through the engine's `_aggregate` kernel, so ranking, tiers and
evidence are computed once, by the same code, on the same input: the result is identical to
`TraceEngine`'s, field for field (tests/unit/tracing/test_partition.py checks it on
hypothesis worlds).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from storage.visits import Visits
from tracing import kernels
from tracing.engine import _Pieces
from tracing.index import IndexPart
from tracing.rules import RuleSet

I64 = npt.NDArray[np.int64]

#: partition kinds: the engine searches the sealed part before the hot part
KIND_SEALED: Final = 0
KIND_HOT: Final = 1

_CASE_KEYS: Final = ("case", "kind", "t_in", "venue", "t_out", "part", "row")
_PIECE_KEYS: Final = ("case", "kind", "win", "t_in", "person", "t_out", "part", "row")


def part_from_tables(
    tables: Sequence[pa.Table], peers: Sequence[IndexPart] = (), *, presorted: bool = False
) -> IndexPart:
    """The searchable part of one partition's Arrow tables (segment files in manifest order).

    `peers`: other partitions whose check-ins end visits under the NHS rule (their `t_next`
    sees them), as `TraceEngine.parts` links its sealed and hot parts.
    """
    if not tables:
        visits = Visits.empty()
    else:

        def col(name: str, dtype: type[np.generic]) -> npt.NDArray[Any]:
            arrays = [t.column(name).to_numpy() for t in tables]
            return np.ascontiguousarray(np.concatenate(arrays), dtype=dtype)

        visits = Visits(
            col("venue", np.uint32),
            col("t_in", np.uint32),
            col("t_out", np.uint32),
            col("person", np.uint64),
            col("flags", np.uint8),
        )
    part = IndexPart.from_visits(visits, presorted=presorted)
    return part.with_peers(peers) if any(len(p) for p in peers) else part


def part_table(part: IndexPart) -> pa.Table:
    """An index part's visits as an Arrow table (how the hot tail travels to a worker)."""
    venue = part.venue_of(np.arange(len(part))).astype(np.uint32)
    return pa.table(
        {"venue": venue, "t_in": part.t_in, "t_out": part.t_out, "person": part.person,
         "flags": part.flags}
    )  # fmt: skip


@dataclass(frozen=True)
class CaseSet:
    """A batch of F0s as every partition sees it: pseudonyms (excluded from their own lists),
    the TTL reference time per case, and the match windows the coordinator built from the
    cases' visits (`w_off[c]:w_off[c+1]` are case c's; `TraceEngine._windows`)."""

    persons: npt.NDArray[np.uint64]
    as_of: I64
    w_off: I64
    w_venue: I64
    w_start: I64
    w_end: I64

    def __len__(self) -> int:
        return len(self.persons)


def needs_next(rules: RuleSet) -> bool:
    """Whether the rule set reads `t_next` (a visit ends at the next check-in)."""
    return bool(rules["checkout"] == "next-checkin-or-midnight")


def case_rows(
    part: IndexPart,
    persons: npt.NDArray[np.uint64],
    lo: I64,
    hi: I64,
    rules: RuleSet,
    *,
    kind: int,
    rank: int,
) -> pa.Table:
    """The cases' own visits in one partition that may touch their windows (step 1)."""
    if not len(part):
        case = np.zeros(0, np.int64)
        rows = np.zeros(0, np.int64)
    else:
        case, rows = kernels._case_rows(part.person, part.person_order, part.t_in, persons, lo, hi)
    t_next = part.t_next[rows] if needs_next(rules) and len(part) else part.t_in[rows]
    return pa.table(
        {
            "case": case,
            "kind": np.full(len(rows), kind, np.int8),
            "part": np.full(len(rows), rank, np.uint32),
            "row": rows,
            "venue": part.venue_of(rows),
            "t_in": part.t_in[rows],
            "t_out": part.t_out[rows],
            "flags": part.flags[rows],
            "t_next": t_next,
        },
        schema=_case_schema(),
    )


def merge_case_rows(
    tables: Sequence[pa.Table], n_cases: int
) -> tuple[I64, dict[str, npt.NDArray[Any]]]:
    """Every partition's case rows as `TraceEngine.case_visits` returns them (same order)."""
    cols = _columns(tables, _case_schema())
    order = np.lexsort(tuple(cols[k] for k in reversed(_CASE_KEYS)))
    merged = {
        "case": cols["case"][order],
        "venue": cols["venue"][order],
        "t_in": cols["t_in"][order],
        "t_out": cols["t_out"][order],
        "flags": cols["flags"][order],
        "t_next": cols["t_next"][order],
        "part": cols["kind"][order],
    }
    cv_off = np.zeros(n_cases + 1, dtype=np.int64)
    np.cumsum(np.bincount(merged["case"], minlength=n_cases), out=cv_off[1:])
    return cv_off, merged


def partial_of(
    part: IndexPart,
    cases: CaseSet,
    rules: RuleSet,
    *,
    vcat: npt.NDArray[np.uint8],
    dwell_s: I64,
    kind: int,
    rank: int,
    parallel: bool = False,
) -> pa.Table:
    """Contact pieces of `cases` in one partition (step 2): the engine's `_match` output
    plus the merge keys and each piece's contact-visit flags."""
    if not len(part):
        return _empty(_piece_schema())
    p, weights, _threshold = rules.compiled
    t_next = part.t_next if needs_next(rules) else part.t_in
    match = kernels._match_parallel if parallel else kernels._match
    piece_off, row, win, s, e, day, units, first = match(
        cases.w_off, cases.w_venue, cases.w_start, cases.w_end, cases.persons, part.off,
        part.t_in, part.t_out, part.person, part.flags, t_next, part.maxlen, p, vcat, dwell_s,
        weights, cases.as_of,
    )  # fmt: skip
    case = np.repeat(np.arange(len(cases), dtype=np.int64), np.diff(piece_off))
    return pa.table(
        {
            "case": case,
            "kind": np.full(len(row), kind, np.int8),
            "win": win,
            "t_in": part.t_in[row],
            "person": part.person[row],
            "t_out": part.t_out[row],
            "part": np.full(len(row), rank, np.uint32),
            "row": row,
            "s": s,
            "e": e,
            "day": day,
            "units": units,
            "first": first,
            "flags": part.flags[row],
        },
        schema=_piece_schema(),
    )


def trace_partition(
    table: pa.Table,
    cases: CaseSet,
    rules: RuleSet,
    *,
    vcat: npt.NDArray[np.uint8],
    dwell_s: I64,
    kind: int = KIND_SEALED,
    rank: int = 0,
) -> pa.Table:
    """The seam as one pure call: one shard-day's Arrow partition + the cases -> partial."""
    return partial_of(
        part_from_tables([table]), cases, rules, vcat=vcat, dwell_s=dwell_s, kind=kind, rank=rank
    )


def merge_partials(tables: Sequence[pa.Table], n_cases: int) -> _Pieces:
    """All partitions' pieces in the engine's order (grouped by case), with their flags."""
    cols = _columns(tables, _piece_schema())
    order = _piece_order(cols)
    c = {k: cols[k][order] for k in _PIECE_COLUMNS}
    piece_off = np.zeros(n_cases + 1, np.int64)
    np.cumsum(np.bincount(c["case"], minlength=n_cases), out=piece_off[1:])
    return _Pieces(
        piece_off, c["kind"], c["row"], c["win"], c["s"], c["e"], c["day"], c["units"],
        c["first"], c["person"], c["flags"],
    )  # fmt: skip


_PIECE_COLUMNS: Final = (
    "case", "kind", "row", "win", "s", "e", "day", "units", "first", "person", "flags",
)  # fmt: skip


def _piece_order(cols: dict[str, npt.NDArray[Any]]) -> npt.NDArray[np.intp]:
    """The permutation into the engine's order (`_PIECE_KEYS`).

    Fast path: when every (case, kind, window) run comes from one part - a worker's group
    holds whole shards, so a window's venue is in one part - each part's pieces are already
    in row order, and a stable sort by that one combined key (over sorted runs: timsort
    merges them) is the full order. Otherwise (a window's rows in several day partitions)
    the full lexicographic sort.
    """
    win = cols["win"]
    if not len(win):
        return np.zeros(0, np.intp)
    n_win = int(win.max()) + 1
    key = (cols["case"] * 2 + cols["kind"]) * n_win + win
    order = np.argsort(key, kind="stable")
    k, part = key[order], cols["part"][order]
    if not ((k[1:] == k[:-1]) & (part[1:] != part[:-1])).any():
        return order
    return np.lexsort(tuple(cols[name] for name in reversed(_PIECE_KEYS)))


def _columns(tables: Sequence[pa.Table], schema: pa.Schema) -> dict[str, npt.NDArray[Any]]:
    """Concatenated numpy columns of `tables` (typed by `schema` even when there are none)."""
    tables = [t for t in tables if t.num_rows]
    if not tables:
        tables = [_empty(schema)]
    out: dict[str, npt.NDArray[Any]] = {}
    for field in schema:
        arrays = [t.column(field.name).to_numpy(zero_copy_only=False) for t in tables]
        dtype = field.type.to_pandas_dtype()
        out[field.name] = np.ascontiguousarray(np.concatenate(arrays), dtype=dtype)
    return out


def _empty(schema: pa.Schema) -> pa.Table:
    return schema.empty_table()


def _case_schema() -> pa.Schema:
    return pa.schema(
        [
            ("case", pa.int64()), ("kind", pa.int8()), ("part", pa.uint32()),
            ("row", pa.int64()), ("venue", pa.int64()), ("t_in", pa.uint32()),
            ("t_out", pa.uint32()), ("flags", pa.uint8()), ("t_next", pa.uint32()),
        ]
    )  # fmt: skip


def _piece_schema() -> pa.Schema:
    return pa.schema(
        [
            ("case", pa.int64()), ("kind", pa.int8()), ("win", pa.int64()),
            ("t_in", pa.uint32()), ("person", pa.uint64()), ("t_out", pa.uint32()),
            ("part", pa.uint32()), ("row", pa.int64()), ("s", pa.int64()), ("e", pa.int64()),
            ("day", pa.int64()), ("units", pa.int64()), ("first", pa.bool_()),
            ("flags", pa.uint8()),
        ]
    )  # fmt: skip
