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
import orjson

from storage.domain import CATEGORY_BY_CODE, LOCAL_TZ, LOCAL_UTC_OFFSET_S
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


_SUFFIX = iso(0)[-6:]  # "+07:00"


def minutes_many(seconds: npt.NDArray[np.integer]) -> list[float]:
    """`round(s / 60, 2)` of many whole seconds, exactly: s/60 in hundredths is 5s/3, never
    a tie, so it rounds to (5s + 1) // 3 hundredths (and h / 100 is the double round gives).
    """
    out: list[float] = (((np.asarray(seconds, dtype=np.int64) * 5 + 1) // 3) / 100).tolist()
    return out


def iso_many(t: npt.NDArray[np.integer]) -> list[str]:
    """`iso` of many epoch seconds at once (numpy's datetime64 formatting, same text)."""
    local = (np.asarray(t, dtype=np.int64) + LOCAL_UTC_OFFSET_S).astype("datetime64[s]")
    return [x + _SUFFIX for x in np.datetime_as_string(local, unit="s").tolist()]


_CHECKOUT_LABELS: Final = tuple(checkout_label(f) for f in range(256))
_CATEGORY_SLUGS: Final = tuple(
    CATEGORY_BY_CODE[c].slug if c in CATEGORY_BY_CODE else None for c in range(256)
)


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
        if pieces.flags is not None:  # pieces merged from partitions carry their flags
            flags = pieces.flags[ev]
        elif len(ev):
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

    def scores(self, units: npt.NDArray[np.integer]) -> list[int | float]:
        """`score` of many values at once (same numbers, one Python call per value)."""
        div = self.rules.unit_divisor()
        return [u // div if u % div == 0 else round(u / div, 3) for u in units.tolist()]

    def to_json(self, *, limit: int | None = None, offset: int = 0) -> dict[str, Any]:
        """The stable result document (README "Result JSON"); contacts `offset:offset+limit`.

        Built column by column (vectorised times, labels from 256-entry tables, one
        comprehension per list) so a page of a few hundred contacts costs well under a
        millisecond; ranks stay absolute (`offset + i + 1`).
        """
        t = self.table
        lo = min(max(offset, 0), len(t))
        hi = len(t) if limit is None else min(lo + max(limit, 0), len(t))
        persons = t.person[lo:hi]
        refs = self.engine.people.references(persons)
        wards = self.engine.people.home_wards(persons).tolist()
        names = [
            r if r is not None else f"pseudonym:{p:016x}"
            for r, p in zip(refs, persons.tolist(), strict=True)
        ]
        evidence = self._evidence(int(t.ev_off[lo]), int(t.ev_off[hi]))
        ev_off = (t.ev_off[lo : hi + 1] - t.ev_off[lo]).tolist()
        tier_hi, tier_lo = str(self.rules["tier_high"]), str(self.rules["tier_low"])
        sl = slice(lo, hi)
        contacts = [
            {
                "rank": lo + i + 1,
                "person": name,
                "home_ward": ward,
                "tier": tier_hi if high else tier_lo,
                "score": score,
                "max_day_score": day_score,
                "minutes": minutes,
                "shared_visits": shared,
                "first_exposure": t_first,
                "last_exposure": t_last,
                "evidence": evidence[ev_off[i] : ev_off[i + 1]],
            }
            for i, (name, ward, high, score, day_score, minutes, shared, t_first, t_last) in (
                enumerate(
                    zip(
                        names,
                        wards,
                        t.high[sl].tolist(),
                        self.scores(t.units[sl]),
                        self.scores(t.day_max[sl]),
                        minutes_many(t.overlap_s[sl]),
                        t.shared[sl].tolist(),
                        iso_many(t.first[sl]),
                        iso_many(t.last[sl]),
                        strict=True,
                    )
                )
            )
        ]
        doc: dict[str, Any] = {
            "format": RESULT_FORMAT,
            "query": self._query(),
            "rules": self.rules.stamp(),
            "counts": {
                "contacts": len(t),
                "high_tier": int(t.high.sum()),
                "shown": hi - lo,
            },
            "contacts": contacts,
        }
        if self.case_visits is not None:
            cv = self.case_visits
            doc["case_visits"] = [
                {"venue": v, "ward": w, "t_in": a, "t_out": b, "checkout": _CHECKOUT_LABELS[f]}
                for v, w, a, b, f in zip(
                    cv.venue.tolist(),
                    cv.ward.tolist(),
                    iso_many(cv.t_in),
                    iso_many(cv.t_out),
                    cv.flags.tolist(),
                    strict=True,
                )
            ]
        if self.f2 is not None:
            doc["f2_candidates"] = self.f2
        return doc

    def to_json_bytes(self, *, limit: int | None = None, offset: int = 0) -> bytes:
        """`to_json` serialised by orjson (what an HTTP response or `--format json` sends)."""
        return orjson.dumps(self.to_json(limit=limit, offset=offset))

    def _evidence(self, lo: int, hi: int) -> list[dict[str, Any]]:
        """Evidence rows `lo:hi` of the table as dicts (flat; callers slice per contact)."""
        t = self.table
        venues = self.engine.venues
        venue = t.ev_venue[lo:hi]
        known = venue < len(venues.category)
        cat = np.where(known, venues.category[np.where(known, venue, 0)], 0).tolist()
        rule_tag = f"{self.rules.name}/{self.rules['interval']}"
        start, end = t.ev_start[lo:hi], t.ev_end[lo:hi]
        return [
            {
                "venue": v,
                "ward": w,
                "category": _CATEGORY_SLUGS[c],
                "overlap_start": a,
                "overlap_end": b,
                "minutes": d,
                "score": score,
                "contact_checkout": _CHECKOUT_LABELS[f],
                "case_checkout": None if cf < 0 else _CHECKOUT_LABELS[cf],
                "rule": rule_tag,
            }
            for v, w, c, a, b, d, score, f, cf in zip(
                venue.tolist(),
                venues.ward_of(venue).tolist(),
                cat,
                iso_many(start),
                iso_many(end),
                minutes_many(end - start),
                self.scores(t.ev_units[lo:hi]),
                t.ev_flags[lo:hi].tolist(),
                t.ev_case_flags[lo:hi].tolist(),
                strict=True,
            )
        ]

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
