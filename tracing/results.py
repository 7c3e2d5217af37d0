"""Trace results: columnar contact tables (what the kernels give) and their stable JSON shape.

Columnar first: a batch of 1,000 cases or a CSV export never builds a Python object per
contact. `TraceResult.to_json()` shapes rows only when someone asks for them, and it is the
one place the documented JSON (README "Tracing rule sets" > "Result JSON") is produced, so
the CLI, the API and the web page cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt

from storage.domain import CATEGORY_BY_CODE, LOCAL_TZ
from storage.visits import T_IN_IMPUTED, T_OUT_RULE_MASK, VisitFlag
from tracing.index import IndexPart
from tracing.rules import RuleSet

if TYPE_CHECKING:
    from tracing.engine import TraceEngine, VenueInfo, Window, _Pieces

I64 = npt.NDArray[np.int64]
#: bumped when a field changes meaning or disappears (adding a field does not bump it)
RESULT_FORMAT: Final = 1

_CHECKOUT = {
    VisitFlag.OBSERVED: "observed",
    VisitFlag.IMPUTED_NEXT_SCAN: "imputed-next-scan",
    VisitFlag.IMPUTED_DEFAULT_DWELL: "imputed-default-dwell",
    VisitFlag.IMPUTED_DAY_END: "imputed-day-end",
}


def iso(t: int) -> str:
    """Epoch seconds as city-local ISO 8601 with offset (what an officer reads)."""
    return datetime.fromtimestamp(int(t), tz=LOCAL_TZ).isoformat()


def checkout_label(flags: int) -> str:
    label = _CHECKOUT[VisitFlag(int(flags) & T_OUT_RULE_MASK)]
    return label + ("+check-in-imputed" if int(flags) & T_IN_IMPUTED else "")


@dataclass(frozen=True)
class CaseVisit:
    """The F0's own visits that made the windows (columns)."""

    venue: I64
    t_in: I64
    t_out: I64
    flags: npt.NDArray[np.uint8]
    ward: npt.NDArray[np.uint8]

    @classmethod
    def from_columns(cls, cols: dict[str, npt.NDArray[Any]], venues: VenueInfo) -> CaseVisit:
        order = np.lexsort((cols["venue"], cols["t_in"]))
        venue = cols["venue"][order].astype(np.int64)
        return cls(
            venue,
            cols["t_in"][order].astype(np.int64),
            cols["t_out"][order].astype(np.int64),
            cols["flags"][order].astype(np.uint8),
            venues.ward_of(venue),
        )


@dataclass(frozen=True)
class ContactTable:
    """Ranked contacts and, per contact, its evidence rows `ev_off[i]:ev_off[i+1]`."""

    person: npt.NDArray[np.uint64]
    units: I64
    day_max: I64
    shared: I64
    first: I64
    last: I64
    high: npt.NDArray[np.bool_]
    overlap_s: I64
    ev_off: I64
    ev_venue: I64
    ev_start: I64
    ev_end: I64
    ev_units: I64
    ev_flags: npt.NDArray[np.uint8]
    ev_case_flags: npt.NDArray[np.int16]  # -1: no case visit (exposure query)

    def __len__(self) -> int:
        return len(self.person)

    @classmethod
    def build(
        cls,
        *,
        parts: Sequence[IndexPart],
        pieces: _Pieces,
        agg: tuple[Any, ...],
        w_venue: I64,
        w_src: I64 | None,
        case_cols: dict[str, npt.NDArray[Any]] | None,
    ) -> ContactTable:
        _c_off, person, units, day_max, shared, first, last, high, ev_off, ev, ev_units = agg
        win = pieces.win[ev]
        rows = pieces.row[ev]
        flags = np.zeros(len(ev), dtype=np.uint8)
        if len(ev):
            which = pieces.part[ev]
            for k, part in enumerate(parts):
                if len(part):
                    mine = which == k
                    flags[mine] = part.flags[rows[mine]]
        if w_src is not None and case_cols is not None:
            case_flags = case_cols["flags"][w_src[win]].astype(np.int16)
        else:
            case_flags = np.full(len(ev), -1, dtype=np.int16)
        start, end = pieces.s[ev], pieces.e[ev]
        # every contact has at least one shared visit, so no reduceat segment is empty
        overlap = np.add.reduceat(end - start, ev_off[:-1]) if len(ev) else np.zeros(0, np.int64)
        return cls(
            person.astype(np.uint64), units, day_max, shared, first, last, high,
            overlap.astype(np.int64), ev_off, w_venue[win], start, end, ev_units, flags,
            case_flags,
        )  # fmt: skip


@dataclass
class TraceResult:
    """One trace, stamped with its rule set; `to_json()` is the documented shape."""

    kind: str  # "case" | "exposure"
    rules: RuleSet
    window: Window
    table: ContactTable
    engine: TraceEngine = field(repr=False)
    case_person: int | None = None
    venue: int | None = None
    case_visits: CaseVisit | None = None
    f2: list[dict[str, Any]] | None = None

    @classmethod
    def build(
        cls,
        kind: str,
        rules: RuleSet,
        window: Window,
        table: ContactTable,
        engine: TraceEngine,
        **kw: Any,
    ) -> TraceResult:
        return cls(kind, rules, window, table, engine, **kw)

    def score(self, units: int | np.integer) -> int | float:
        """Displayed score: an int under `plain`-style seconds, else rounded to 3 decimals."""
        div = self.rules.unit_divisor()
        if int(units) % div == 0:
            return int(units) // div
        return round(int(units) / div, 3)

    def tiers(self) -> list[str]:
        hi, lo = str(self.rules["tier_high"]), str(self.rules["tier_low"])
        return [hi if h else lo for h in self.table.high.tolist()]

    def to_json(self, *, limit: int | None = None) -> dict[str, Any]:
        """The stable result document (README "Result JSON")."""
        t = self.table
        n = len(t) if limit is None else min(limit, len(t))
        persons = t.person[:n]
        refs = self.engine.people.references(persons)
        wards = self.engine.people.home_wards(persons).tolist()
        venues = self.engine.venues
        tiers = self.tiers()
        contacts = []
        rule_tag = f"{self.rules.name}/{self.rules['interval']}"
        for i in range(n):
            lo, hi = int(t.ev_off[i]), int(t.ev_off[i + 1])
            evidence = []
            for j in range(lo, hi):
                venue = int(t.ev_venue[j])
                cat = int(venues.category[venue]) if venue < len(venues.category) else 0
                case_flags = int(t.ev_case_flags[j])
                evidence.append(
                    {
                        "venue": venue,
                        "ward": int(venues.ward_of(np.array([venue]))[0]),
                        "category": CATEGORY_BY_CODE[cat].slug if cat in CATEGORY_BY_CODE else None,
                        "overlap_start": iso(int(t.ev_start[j])),
                        "overlap_end": iso(int(t.ev_end[j])),
                        "minutes": round((int(t.ev_end[j]) - int(t.ev_start[j])) / 60, 2),
                        "score": self.score(t.ev_units[j]),
                        "contact_checkout": checkout_label(int(t.ev_flags[j])),
                        "case_checkout": None if case_flags < 0 else checkout_label(case_flags),
                        "rule": rule_tag,
                    }
                )
            contacts.append(
                {
                    "rank": i + 1,
                    "person": refs[i]
                    if refs[i] is not None
                    else f"pseudonym:{int(persons[i]):016x}",
                    "home_ward": int(wards[i]),
                    "tier": tiers[i],
                    "score": self.score(t.units[i]),
                    "max_day_score": self.score(t.day_max[i]),
                    "minutes": round(int(t.overlap_s[i]) / 60, 2),
                    "shared_visits": int(t.shared[i]),
                    "first_exposure": iso(int(t.first[i])),
                    "last_exposure": iso(int(t.last[i])),
                    "evidence": evidence,
                }
            )
        doc: dict[str, Any] = {
            "format": RESULT_FORMAT,
            "query": self._query(),
            "rules": self.rules.stamp(),
            "counts": {
                "contacts": len(t),
                "high_tier": int(t.high.sum()),
                "shown": n,
            },
            "contacts": contacts,
        }
        if self.case_visits is not None:
            cv = self.case_visits
            doc["case_visits"] = [
                {
                    "venue": int(cv.venue[i]),
                    "ward": int(cv.ward[i]),
                    "t_in": iso(int(cv.t_in[i])),
                    "t_out": iso(int(cv.t_out[i])),
                    "checkout": checkout_label(int(cv.flags[i])),
                }
                for i in range(len(cv.venue))
            ]
        if self.f2 is not None:
            doc["f2_candidates"] = self.f2
        return doc

    def _query(self) -> dict[str, Any]:
        q: dict[str, Any] = {
            "kind": self.kind,
            "from": iso(self.window.lo),
            "to": iso(self.window.hi),
        }
        if self.case_person is not None:
            ref = self.engine.people.references(np.array([self.case_person], np.uint64))[0]
            q["person"] = ref if ref is not None else f"pseudonym:{self.case_person:016x}"
        if self.venue is not None:
            q["venue"] = self.venue
        return q
