"""Trace orchestration: find the case's visits, build windows, call the kernels, shape results.

The engine owns everything around the kernels (validation, dtype conversion, merging the
sealed and hot parts, thread count, turning pseudonyms back into references for the result)
and nothing inside them. Two queries (DESIGN §7):

- `trace_case`: a person and an infectious window (explicit, or from onset/sample dates by
  the rule set) -> ranked contacts with evidence, optionally F2 candidates;
- `trace_exposure`: a venue and a time window (a location of interest, or an F0 without the
  app) -> everyone there, scored by the same rules.

`trace_many` runs many cases through the parallel kernels at once (the day's F0s).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import numba
import numpy as np
import numpy.typing as npt

from storage.domain import LOCAL_TZ
from storage.visits import DEFAULT_DWELL_S
from tracing import kernels
from tracing.errors import TraceWindowError
from tracing.index import IndexPart, link_parts
from tracing.results import CaseVisit, ContactTable, TraceResult
from tracing.rules import RuleSet

I64 = npt.NDArray[np.int64]
PersonIds = npt.NDArray[np.uint64]


@dataclass(frozen=True)
class VenueInfo:
    """Per-venue ward and category indexed by venue id (0 = unknown)."""

    ward: npt.NDArray[np.uint8]
    category: npt.NDArray[np.uint8]

    def ward_of(self, venues: npt.NDArray[np.integer]) -> npt.NDArray[np.uint8]:
        v = np.asarray(venues, dtype=np.int64)
        return np.where(v < len(self.ward), self.ward[np.minimum(v, len(self.ward) - 1)], 0)

    @classmethod
    def empty(cls) -> VenueInfo:
        return cls(np.zeros(1, np.uint8), np.zeros(1, np.uint8))


class PersonLookup:
    """Pseudonym -> (reference, home ward); the default knows nothing (ward 0, no reference)."""

    def home_wards(self, person_ids: PersonIds) -> npt.NDArray[np.uint8]:
        return np.zeros(len(person_ids), dtype=np.uint8)

    def references(self, person_ids: PersonIds) -> list[str | None]:
        return [None] * len(person_ids)


@dataclass(frozen=True)
class Window:
    """An infectious (or exposure) window [lo, hi) in epoch seconds."""

    lo: int
    hi: int

    def __post_init__(self) -> None:
        if self.hi <= self.lo:
            raise TraceWindowError(
                f"window [{self.lo}, {self.hi}) is empty; expected the start before the end"
            )


def local_midnight(day: date) -> int:
    return int(datetime.combine(day, time(0), tzinfo=LOCAL_TZ).timestamp())


def case_window(
    rules: RuleSet,
    *,
    sample: date,
    onset: date | None = None,
    isolation: date | None = None,
) -> Window:
    """Infectious window by the rule set: from `days_before` before onset (or sample date when
    asymptomatic) to local midnight after the isolation date (default: sample date +
    `days_after_sample`)."""
    start_day = (onset or sample) - timedelta(days=int(rules["days_before"]))
    end_day = isolation or sample + timedelta(days=int(rules["days_after_sample"]))
    return Window(local_midnight(start_day), local_midnight(end_day + timedelta(days=1)))


@dataclass(frozen=True)
class _Pieces:
    """Kernel output over all parts, concatenated (one case or many, by `piece_off`)."""

    piece_off: I64
    part: npt.NDArray[np.int8]
    row: I64
    win: I64
    s: I64
    e: I64
    day: I64
    units: I64
    first: npt.NDArray[np.bool_]
    person: PersonIds
    #: each piece's contact-visit flags when merged from partitions (tracing.partition);
    #: None: looked up in the parts by `part` and `row`
    flags: npt.NDArray[np.uint8] | None = None


@dataclass(frozen=True)
class BatchPass:
    """One pass over many F0s (`TraceEngine.batch_pass`), before results are shaped."""

    parts: Sequence[IndexPart]
    persons: PersonIds
    cv_off: I64
    merged: dict[str, npt.NDArray[np.generic]]
    w_venue: I64
    w_src: I64
    pieces: _Pieces
    agg: tuple[Any, ...]


class TraceEngine:
    """Traces over a changing set of index parts (sealed + hot), one rule set per call."""

    def __init__(
        self,
        parts: Callable[[], Sequence[IndexPart]],
        venues: VenueInfo | None = None,
        people: PersonLookup | None = None,
        *,
        dwell_s: I64 = DEFAULT_DWELL_S,
        threads: int | None = None,
    ) -> None:
        self._parts = parts
        self.venues = venues or VenueInfo.empty()
        self.people = people or PersonLookup()
        self.dwell_s = np.ascontiguousarray(dwell_s, dtype=np.int64)
        self.threads = threads
        self._linked: tuple[tuple[IndexPart, ...], list[IndexPart]] | None = None

    def parts(self, rules: RuleSet | None = None) -> Sequence[IndexPart]:
        """The index parts as of now (sealed + hot tail); under a rule set that ends a visit at
        the next check-in, views whose `t_next` spans every part (cached per set of parts)."""
        parts = self._parts()
        if rules is None or rules["checkout"] != "next-checkin-or-midnight":
            return parts
        if sum(1 for p in parts if len(p)) < 2:
            return parts
        linked = self._linked
        if (
            linked is None
            or len(linked[0]) != len(parts)
            or any(a is not b for a, b in zip(linked[0], parts, strict=True))
        ):
            linked = (tuple(parts), link_parts(parts))
            self._linked = linked
        return linked[1]

    # ------------------------------------------------------------ case visits

    def case_visits(
        self,
        parts: Sequence[IndexPart],
        persons: PersonIds,
        windows: Sequence[Window],
        rules: RuleSet,
    ) -> tuple[I64, dict[str, npt.NDArray[np.generic]]]:
        """The cases' visits overlapping their windows: offsets + columns for `_windows`."""
        cols: dict[str, list[npt.NDArray[np.generic]]] = {
            k: [] for k in ("case", "venue", "t_in", "t_out", "flags", "t_next", "part")
        }
        needs_next = rules["checkout"] == "next-checkin-or-midnight"
        lo_t = np.array([w.lo for w in windows], dtype=np.int64)
        hi_t = np.array([w.hi for w in windows], dtype=np.int64)
        for k, part in enumerate(parts):
            if not len(part):
                continue
            case, rows = kernels._case_rows(
                part.person, part.person_order, part.t_in, persons, lo_t, hi_t
            )
            cols["case"].append(case)
            cols["venue"].append(part.venue_of(rows))
            cols["t_in"].append(part.t_in[rows])
            cols["t_out"].append(part.t_out[rows])
            cols["flags"].append(part.flags[rows])
            cols["t_next"].append(part.t_next[rows] if needs_next else part.t_in[rows])
            cols["part"].append(np.full(len(rows), k, dtype=np.int8))
        if len(cols["case"]) == 1:  # one non-empty part: nothing to merge
            merged = {k: v[0] for k, v in cols.items()}
        else:
            merged = {
                k: np.concatenate(v) if v else np.zeros(0, dtype=np.int64) for k, v in cols.items()
            }
        if len(cols["case"]) > 1 and len(persons) > 1:  # each part's rows come grouped by case
            order = np.argsort(merged["case"], kind="stable")
            merged = {k: v[order] for k, v in merged.items()}
        cv_off = np.zeros(len(persons) + 1, dtype=np.int64)
        if len(persons) == 1:
            cv_off[1] = len(merged["case"])
        else:
            np.cumsum(np.bincount(merged["case"], minlength=len(persons)), out=cv_off[1:])
        return cv_off, merged

    # ------------------------------------------------------------ kernels

    def _run(
        self,
        *,
        parts: Sequence[IndexPart],
        w_off: I64,
        w_venue: I64,
        w_start: I64,
        w_end: I64,
        exclude: PersonIds,
        rules: RuleSet,
        as_of: I64,
        parallel: bool,
    ) -> tuple[_Pieces, tuple[Any, ...]]:
        pieces = self._pieces(
            parts=parts, w_off=w_off, w_venue=w_venue, w_start=w_start, w_end=w_end,
            exclude=exclude, rules=rules, as_of=as_of, parallel=parallel,
        )  # fmt: skip
        threshold = np.full(len(w_off) - 1, rules.compiled[2], dtype=np.int64)
        aggregate = kernels._aggregate_parallel if parallel else kernels._aggregate
        agg = aggregate(
            pieces.piece_off, pieces.person, pieces.s, pieces.e, pieces.win, pieces.day,
            pieces.units, pieces.first, threshold, rules["day_split"] != "none",
        )  # fmt: skip
        return pieces, agg

    def _pieces(
        self, *, parts: Sequence[IndexPart], w_off: I64, w_venue: I64, w_start: I64,
        w_end: I64, exclude: PersonIds, rules: RuleSet, as_of: I64, parallel: bool,
    ) -> _Pieces:  # fmt: skip
        """Contact pieces of every window in every part, grouped by case (the matching step;
        `tracing.distributed` runs it on partitions instead)."""
        p = rules.compiled[0]
        vcat = self.venues.category
        weights = rules.compiled[1]
        match = kernels._match_parallel if parallel else kernels._match
        chunks = []
        for k, part in enumerate(parts):
            if not len(part):
                continue
            t_next = part.t_next if p[1] == 2 else part.t_in
            out = match(
                w_off, w_venue, w_start, w_end, exclude, part.off, part.t_in, part.t_out,
                part.person, part.flags, t_next, part.maxlen, p, vcat, self.dwell_s, weights,
                as_of,
            )  # fmt: skip
            chunks.append((k, out, part))
        return _concat_pieces(chunks, len(w_off) - 1)

    def _windows(
        self, *, merged: dict[str, npt.NDArray[np.generic]], cv_off: I64, windows: Sequence[Window],
        rules: RuleSet, parallel: bool,
    ) -> tuple[I64, I64, I64, I64, I64]:  # fmt: skip
        lo = np.array([w.lo for w in windows], dtype=np.int64)
        hi = np.array([w.hi for w in windows], dtype=np.int64)
        fn = kernels._windows_parallel if parallel else kernels._windows
        return fn(  # type: ignore[no-any-return]
            cv_off,
            merged["venue"].astype(np.int64),
            merged["t_in"].astype(np.int64),
            merged["t_out"].astype(np.int64),
            merged["flags"].astype(np.uint8),
            merged["t_next"].astype(np.int64),
            lo,
            hi,
            rules.compiled[0],
            self.venues.category,
            self.dwell_s,
        )

    # ------------------------------------------------------------ queries

    def trace_case(self, person_id: int, window: Window, rules: RuleSet) -> TraceResult:
        """Ranked contacts of one F0 over `window` (its own visits excluded)."""
        parts = self.parts(rules)
        persons = np.array([person_id], dtype=np.uint64)
        cv_off, merged = self.case_visits(parts, persons, [window], rules)
        w_off, w_venue, w_start, w_end, w_src = self._windows(
            merged=merged, cv_off=cv_off, windows=[window], rules=rules, parallel=False
        )
        pieces, agg = self._run(
            parts=parts, w_off=w_off, w_venue=w_venue, w_start=w_start, w_end=w_end,
            exclude=persons, rules=rules, as_of=np.array([window.hi], dtype=np.int64),
            parallel=False,
        )  # fmt: skip
        table = ContactTable.build(
            parts=parts, pieces=pieces, agg=agg, w_venue=w_venue, w_src=w_src, case_cols=merged
        )
        case = CaseVisit.from_columns(merged, self.venues)
        return TraceResult.build(
            "case", rules, window, table, self, case_person=person_id, case_visits=case
        )

    def trace_exposure(self, venue: int, window: Window, rules: RuleSet) -> TraceResult:
        """Everyone at `venue` during `window`, scored by `rules` (no case-side extras)."""
        parts = self.parts(rules)
        w_off = np.array([0, 1], dtype=np.int64)
        pieces, agg = self._run(
            parts=parts, w_off=w_off, w_venue=np.array([venue], np.int64),
            w_start=np.array([window.lo], np.int64), w_end=np.array([window.hi], np.int64),
            exclude=np.zeros(1, np.uint64), rules=rules,
            as_of=np.array([window.hi], dtype=np.int64), parallel=False,
        )  # fmt: skip
        table = ContactTable.build(
            parts=parts,
            pieces=pieces,
            agg=agg,
            w_venue=np.array([venue], np.int64),
            w_src=None,
            case_cols=None,
        )
        return TraceResult.build("exposure", rules, window, table, self, venue=venue)

    def batch_pass(
        self, person_ids: PersonIds, windows: Sequence[Window], rules: RuleSet
    ) -> BatchPass:
        """Case visits, match windows and pieces of many F0s at once on the parallel kernels:
        the one pass behind `trace_many` (columns) and `tracing.batch.trace_cases` (results)."""
        if len(person_ids) != len(windows):
            raise TraceWindowError(
                f"{len(person_ids)} persons but {len(windows)} windows; expected one per person"
            )
        if self.threads:
            numba.set_num_threads(self.threads)
        parts = self.parts(rules)
        persons = np.ascontiguousarray(person_ids, dtype=np.uint64)
        cv_off, merged = self.case_visits(parts, persons, windows, rules)
        w_off, w_venue, w_start, w_end, w_src = self._windows(
            merged=merged, cv_off=cv_off, windows=windows, rules=rules, parallel=True
        )
        as_of = np.array([w.hi for w in windows], dtype=np.int64)
        pieces, agg = self._run(
            parts=parts, w_off=w_off, w_venue=w_venue, w_start=w_start, w_end=w_end,
            exclude=persons, rules=rules, as_of=as_of, parallel=True,
        )  # fmt: skip
        return BatchPass(parts, persons, cv_off, merged, w_venue, w_src, pieces, agg)

    def trace_many(
        self, person_ids: PersonIds, windows: Sequence[Window], rules: RuleSet
    ) -> BatchResult:
        """Many F0s at once on the parallel kernels; columnar result, contacts per case."""
        done = self.batch_pass(person_ids, windows, rules)
        persons = done.persons
        c_off, person, units, _day_max, shared, first, last, high = done.agg[:8]
        return BatchResult(
            cases=persons, c_off=c_off, person=person, units=units, shared=shared, first=first,
            last=last, high=high, rules=rules,
        )  # fmt: skip


def _concat_pieces(chunks: list[tuple[int, Any, IndexPart]], n_cases: int) -> _Pieces:
    """Pieces of all parts, grouped by case (stable, so each part's pair runs stay intact)."""
    if not chunks:
        z = np.zeros(0, np.int64)
        return _Pieces(
            np.zeros(n_cases + 1, np.int64), np.zeros(0, np.int8), z, z, z, z, z, z,
            np.zeros(0, np.bool_), np.zeros(0, np.uint64),
        )  # fmt: skip
    if len(chunks) == 1:  # one part: the kernel's output is already grouped by case
        k, (piece_off, row, win, s, e, day, units, first), part = chunks[0]
        part_col = np.full(len(row), k, np.int8)
        return _Pieces(piece_off, part_col, row, win, s, e, day, units, first, part.person[row])
    part_ids, cases, cols = [], [], []
    for k, out, part in chunks:
        piece_off, row, win, s, e, day, units, first = out
        counts = np.diff(piece_off)
        cases.append(np.repeat(np.arange(n_cases), counts))
        part_ids.append(np.full(len(row), k, np.int8))
        cols.append((row, win, s, e, day, units, first, part.person[row]))
    case = np.concatenate(cases)
    merged = [np.concatenate(c) for c in zip(*cols, strict=True)]
    part_col = np.concatenate(part_ids)
    if n_cases > 1:
        order = np.argsort(case, kind="stable")
        merged = [m[order] for m in merged]
        part_col = part_col[order]
        case = case[order]
    piece_off = np.zeros(n_cases + 1, np.int64)
    np.cumsum(np.bincount(case, minlength=n_cases), out=piece_off[1:])
    row, win, s, e, day, units, first, person = merged
    return _Pieces(piece_off, part_col, row, win, s, e, day, units, first, person)


@dataclass(frozen=True)
class BatchResult:
    """Contacts of many cases: case c's ranked contacts are rows `c_off[c]:c_off[c+1]`."""

    cases: PersonIds
    c_off: I64
    person: PersonIds
    units: I64
    shared: I64
    first: I64
    last: I64
    high: npt.NDArray[np.bool_]
    rules: RuleSet

    def contacts_of(self, index: int) -> PersonIds:
        return self.person[self.c_off[index] : self.c_off[index + 1]]

    def high_counts(self) -> I64:
        """High-tier contacts per case."""
        case = np.repeat(np.arange(len(self.cases)), np.diff(self.c_off))
        return np.bincount(case, weights=self.high, minlength=len(self.cases)).astype(np.int64)
