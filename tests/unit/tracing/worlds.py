"""Small random worlds for kernel-vs-oracle tests, and the glue that runs both on them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from hypothesis import strategies as st

from storage.records import SECONDS_PER_DAY, day_bounds, local_day
from storage.visits import DEFAULT_DWELL_S, Visits
from tracing.engine import TraceEngine, VenueInfo, Window
from tracing.index import IndexPart
from tracing.rules import RuleSet

from . import naive

DAY = 19_700
#: local midnight between DAY and DAY + 1; 07:00 local the next morning is UTC midnight
T0 = day_bounds(DAY)[0] + 20 * 3600
N_VENUES = 5


def with_t_next(rows: Sequence[naive.NVisit]) -> list[naive.NVisit]:
    """`t_next` as the index fills it: the person's next check-in that day, else midnight."""
    out = []
    for v in rows:
        day = int(local_day(np.array([v.t_in], np.uint32))[0])
        end = day_bounds(day)[1]
        later = [
            w.t_in
            for w in rows
            if w.person == v.person
            and int(local_day(np.array([w.t_in], np.uint32))[0]) == day
            and w.t_in > v.t_in
        ]
        nxt = min(later) if later else end
        out.append(naive.NVisit(v.venue, v.t_in, v.t_out, v.person, v.flags, nxt))
    return out


def to_visits(rows: Sequence[naive.NVisit]) -> Visits:
    return Visits(
        np.array([r.venue for r in rows], np.uint32),
        np.array([r.t_in for r in rows], np.uint32),
        np.array([r.t_out for r in rows], np.uint32),
        np.array([r.person for r in rows], np.uint64),
        np.array([r.flags for r in rows], np.uint8),
    )


@st.composite
def worlds(draw: st.DrawFn) -> tuple[list[naive.NVisit], list[int], list[bool]]:
    """Visits (persons 1..6, venues 1..N), venue categories, and a part assignment."""
    n = draw(st.integers(0, 30))
    rows = []
    for _ in range(n):
        t_in = T0 + draw(st.integers(-3 * 3600, 14 * 3600)) // draw(st.sampled_from([1, 60, 600]))
        stay = draw(st.sampled_from([0, 1, 29, 30, 59, 60, 90, 600, 900, 3600])) + draw(
            st.integers(0, 3 * 3600)
        ) * draw(st.integers(0, 1))
        rows.append(
            naive.NVisit(
                venue=draw(st.integers(1, N_VENUES)),
                t_in=t_in,
                t_out=t_in + stay,
                person=draw(st.integers(1, 6)),
                flags=draw(st.sampled_from([0, 0, 1, 2, 3, 4])),
                t_next=0,
            )
        )
    cats = [0] + [draw(st.integers(0, 18)) for _ in range(N_VENUES)]
    split = [draw(st.booleans()) for _ in rows]
    return rows, cats, split


def run_engine(  # noqa: PLR0917
    rows: Sequence[naive.NVisit],
    cats: list[int],
    split: Sequence[bool],
    rules: RuleSet,
    case_person: int,
    lo: int,
    hi: int,
) -> tuple[list[naive.NContact], list[naive.NContact]]:
    """(engine contacts, oracle contacts) for one case, parts split as `split` says."""
    part_rows = [
        [r for r, s in zip(rows, split, strict=True) if not s],
        [r for r, s in zip(rows, split, strict=True) if s],
    ]
    parts = [IndexPart.from_visits(to_visits(p)) for p in part_rows]
    venues = VenueInfo(np.zeros(len(cats), np.uint8), np.array(cats, np.uint8))
    engine = TraceEngine(lambda: parts, venues)
    result = engine.trace_case(case_person, Window(lo, hi), rules)
    got = table_contacts(result.table)
    # the next check-in is the person's, wherever it is stored (sealed or hot)
    oracle_rows = with_t_next([v for p in part_rows for v in p])
    dwell = DEFAULT_DWELL_S.tolist()
    wins = naive.windows(
        [v for v in oracle_rows if v.person == case_person], lo, hi, rules, cats, dwell
    )
    want = naive.trace(oracle_rows, wins, rules, cats, dwell, exclude=case_person, as_of=hi)
    return got, want


def table_contacts(t: object) -> list[naive.NContact]:
    out = []
    for i in range(len(t.person)):  # type: ignore[attr-defined]
        lo, hi = int(t.ev_off[i]), int(t.ev_off[i + 1])  # type: ignore[attr-defined]
        ev = tuple(
            (int(t.ev_venue[j]), int(t.ev_start[j]), int(t.ev_end[j]), int(t.ev_units[j]))  # type: ignore[attr-defined]
            for j in range(lo, hi)
        )
        out.append(
            naive.NContact(
                int(t.person[i]), int(t.units[i]), int(t.day_max[i]), int(t.shared[i]),  # type: ignore[attr-defined]
                int(t.first[i]), int(t.last[i]), bool(t.high[i]), ev,  # type: ignore[attr-defined]
            )
        )  # fmt: skip
    return out


DAY_START = T0 - 20 * 3600
assert SECONDS_PER_DAY == 86_400
