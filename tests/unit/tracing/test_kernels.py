"""Kernels against the plain-Python oracle: hand-picked edge cases and random worlds.

Every comparison is exact (integer units, whole evidence lists, rank order).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage.visits import DEFAULT_DWELL_S
from tracing.engine import TraceEngine, VenueInfo, Window
from tracing.index import IndexPart
from tracing.rules import RULE_SETS, UNITS_PER_SECOND, get_rule_set

from . import naive
from .worlds import N_VENUES, T0, run_engine, table_contacts, to_visits, with_t_next, worlds

PLAIN = RULE_SETS["plain"]
WIDE = (T0 - 86_400, T0 + 86_400)
EXAMPLES = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def V(venue: int, t_in: int, t_out: int, person: int, flags: int = 0) -> naive.NVisit:  # noqa: N802
    return naive.NVisit(venue, t_in, t_out, person, flags, 0)


def plain_scores(rows: list[naive.NVisit], case: int = 1, rules: str = "plain") -> dict[int, int]:
    got, want = run_engine(
        rows, [0] * (N_VENUES + 1), [False] * len(rows), RULE_SETS[rules], case, *WIDE
    )
    assert got == want
    return {c.person: c.units // UNITS_PER_SECOND for c in got}


# ---------------------------------------------------------------- hand-picked edges


def test_touching_intervals_are_not_contacts_under_half_open() -> None:
    rows = [V(1, T0, T0 + 600, 1), V(1, T0 + 600, T0 + 900, 2), V(1, T0 - 300, T0, 3)]
    assert plain_scores(rows) == {}


def test_touching_counts_under_closed_covid_alert() -> None:
    # COVID Alert: every check-in is [t, t + 1 h] closed; a check-in 1 h later still touches
    rows = [V(1, T0, T0 + 60, 1), V(1, T0 + 3600, T0 + 3700, 2), V(1, T0 + 3601, T0 + 3700, 3)]
    got, want = run_engine(rows, [0] * 6, [False] * 3, RULE_SETS["covid-alert"], 1, *WIDE)
    assert got == want
    assert [c.person for c in got] == [2]
    assert got[0].units == 0


def test_zero_length_stays_never_overlap_under_half_open() -> None:
    rows = [V(1, T0, T0 + 600, 1), V(1, T0 + 100, T0 + 100, 2)]
    assert plain_scores(rows) == {}


def test_overlap_is_exact_seconds_and_ranked() -> None:
    rows = [
        V(1, T0, T0 + 3600, 1),
        V(1, T0 + 600, T0 + 1200, 2),  # 600 s
        V(1, T0 - 100, T0 + 5000, 3),  # 3600 s
        V(1, T0 + 3000, T0 + 3601, 4),  # 600 s, later than person 2
        V(2, T0, T0 + 3600, 5),  # other venue
    ]
    got, _ = run_engine(rows, [0] * 6, [False] * 5, PLAIN, 1, *WIDE)
    assert [(c.person, c.units // UNITS_PER_SECOND) for c in got] == [(3, 3600), (2, 600), (4, 600)]


def test_midnight_crossing_is_split_per_day_under_vn_moh() -> None:
    midnight = T0 + 4 * 3600  # local midnight
    rows = [V(1, midnight - 1800, midnight + 1800, 1), V(1, midnight - 1200, midnight + 600, 2)]
    got, want = run_engine(rows, [0] * 6, [False] * 2, RULE_SETS["vn-moh"], 1, *WIDE)
    assert got == want
    (c,) = got
    assert c.units == 1800 * UNITS_PER_SECOND
    assert c.day_max == 1200 * UNITS_PER_SECOND  # 20 min before midnight, 10 after
    assert c.high  # >= 15 weighted minutes on one day
    assert c.shared == 1


def test_cumulative_across_venues_in_one_day_makes_an_f1() -> None:
    rows = [
        V(1, T0 - 7200, T0 - 6600, 1),
        V(1, T0 - 7200, T0 - 6600, 2),  # 10 min at venue 1
        V(2, T0 - 3600, T0 - 3000, 1),
        V(2, T0 - 3600, T0 - 3300, 2),  # 5 min at venue 2
    ]
    got, want = run_engine(rows, [0] * 6, [False] * 4, RULE_SETS["vn-moh"], 1, *WIDE)
    assert got == want
    assert got[0].high
    assert got[0].shared == 2


def test_missing_checkout_uses_the_rule_sets_imputation() -> None:
    # contact never scanned out: storage imputed 5 min (next scan); plain says default dwell
    rows = [V(1, T0, T0 + 7200, 1), V(1, T0 + 600, T0 + 900, 2, flags=1)]
    cats = [0, 6, 0, 0, 0, 0]  # shop: default dwell 30 min
    got, want = run_engine(rows, cats, [False] * 2, PLAIN, 1, *WIDE)
    assert got == want
    assert got[0].units == 1800 * UNITS_PER_SECOND
    got, want = run_engine(rows, cats, [False] * 2, RULE_SETS["vn-moh"], 1, *WIDE)
    assert got == want  # stored imputation: 300 s at shop weight 0.8
    assert got[0].units == 300 * 800 * 1000


def test_duplicate_f0_visits_do_not_double_count() -> None:
    rows = [
        V(1, T0, T0 + 600, 1),
        V(1, T0, T0 + 600, 1),
        V(1, T0 + 300, T0 + 900, 1),
        V(1, T0, T0 + 900, 2),
    ]
    assert plain_scores(rows) == {2: 900}


def test_the_f0s_own_visits_are_never_contacts() -> None:
    rows = [V(1, T0, T0 + 600, 1), V(1, T0 + 100, T0 + 700, 1), V(2, T0 + 1000, T0 + 2000, 1)]
    assert plain_scores(rows) == {}


def test_cwa_drops_short_stays_adds_tail_and_rounds() -> None:
    rows = [
        V(1, T0, T0 + 9 * 60 + 59, 1),  # 9 whole minutes: dropped
        V(2, T0 + 17, T0 + 17 + 20 * 60, 1),  # 20 min stay + 20 min tail, 10-min aligned
        V(2, T0 + 35 * 60, T0 + 50 * 60, 2),  # in the tail
        V(1, T0, T0 + 600, 3),
    ]
    got, want = run_engine(rows, [0] * 6, [False] * 4, RULE_SETS["cwa"], 1, *WIDE)
    assert got == want
    assert [c.person for c in got] == [2]
    # window [T0, T0 + 50 min) aligned: T0 is a whole hour here, so overlap 35..50 = 15 min
    assert got[0].units == 15 * 60 * UNITS_PER_SECOND
    assert got[0].high


def test_nhs_quarter_hours_and_next_checkin() -> None:
    rows = [
        V(1, T0 + 60, T0 + 14 * 60, 1),  # -> [T0, T0 + 15 min)
        V(1, T0 + 15 * 60, T0 + 20 * 60, 2),  # -> [T0 + 15, T0 + 30): touching, no match
        V(1, T0 + 14 * 60, T0 + 15 * 60, 3, flags=2),  # no check-out: until next check-in
        V(3, T0 + 25 * 60, T0 + 30 * 60, 3),
    ]
    got, want = run_engine(rows, [0] * 6, [False] * 4, RULE_SETS["nhs"], 1, *WIDE)
    assert got == want
    assert [c.person for c in got] == [3]


def test_pc_covid_within_an_hour_of_a_checkin() -> None:
    rows = [
        V(1, T0, T0 + 10, 1),
        V(1, T0 + 3600, T0 + 3700, 2),  # exactly 1 h later: matches
        V(1, T0 - 3601, T0 - 3000, 3),  # 1 h 1 s earlier: no
        V(1, T0 - 1800, T0 - 1700, 4),
    ]
    got, want = run_engine(rows, [0] * 6, [False] * 4, RULE_SETS["pc-covid"], 1, *WIDE)
    assert got == want
    assert sorted(c.person for c in got) == [2, 4]


def test_covid_alert_matches_expire_after_14_days() -> None:
    rows = [V(1, T0, T0 + 60, 1), V(1, T0 + 600, T0 + 700, 2)]
    rules = RULE_SETS["covid-alert"]
    got, _ = run_engine(rows, [0] * 6, [False] * 2, rules, 1, T0 - 100, T0 + 14 * 86_400 + 600)
    assert [c.person for c in got] == [2]
    got, _ = run_engine(rows, [0] * 6, [False] * 2, rules, 1, T0 - 100, T0 + 14 * 86_400 + 601)
    assert got == []


def test_the_window_clips_the_f0s_visits() -> None:
    rows = [V(1, T0, T0 + 3600, 1), V(1, T0, T0 + 3600, 2)]
    got, want = run_engine(rows, [0] * 6, [False] * 2, PLAIN, 1, T0 + 600, T0 + 1200)
    assert got == want
    assert got[0].units == 600 * UNITS_PER_SECOND


# ---------------------------------------------------------------- random worlds


@EXAMPLES
@given(
    world=worlds(),
    name=st.sampled_from(sorted(RULE_SETS)),
    lo=st.integers(-30 * 3600, 10 * 3600),
    length=st.integers(1, 40 * 3600),
    case=st.integers(1, 6),
)
def test_engine_equals_oracle_on_random_worlds(
    world: tuple[list[naive.NVisit], list[int], list[bool]],
    name: str,
    lo: int,
    length: int,
    case: int,
) -> None:
    rows, cats, split = world
    got, want = run_engine(rows, cats, split, RULE_SETS[name], case, T0 + lo, T0 + lo + length)
    assert got == want
    assert case not in {c.person for c in got}


@EXAMPLES
@given(
    world=worlds(),
    slot=st.sampled_from([0, 1, 10, 15]),
    tail=st.sampled_from([0, 5, 30]),
    pad=st.sampled_from([0, 1, 60]),
    checkout=st.sampled_from(["stored", "default-dwell", "next-checkin-or-midnight", "fixed"]),
    side=st.sampled_from(["case", "both"]),
    out=st.sampled_from(["ceil", "next"]),
    split_day=st.sampled_from(["none", "local", "utc"]),
    interval=st.sampled_from(["half-open", "closed"]),
)
def test_engine_equals_oracle_for_any_parameter_mix(  # noqa: PLR0917
    world: tuple[list[naive.NVisit], list[int], list[bool]],
    slot: int,
    tail: int,
    pad: int,
    checkout: str,
    side: str,
    out: str,
    split_day: str,
    interval: str,
) -> None:
    rows, cats, split = world
    rules = get_rule_set(
        "vn-moh",
        {
            "slot_min": slot,
            "tail_max_min": tail,
            "pad_after_min": pad,
            "checkout": checkout,
            "slot_side": side,
            "slot_out": out,
            "day_split": split_day,
            "interval": interval,
            "rounding": "half-up-minutes" if slot == 10 else "none",
        },
    )
    got, want = run_engine(rows, cats, split, rules, 1, T0 - 86_400, T0 + 86_400)
    assert got == want


@EXAMPLES
@given(world=worlds(), venue=st.integers(1, N_VENUES), lo=st.integers(-4 * 3600, 10 * 3600),
       length=st.integers(1, 6 * 3600), name=st.sampled_from(sorted(RULE_SETS)))  # fmt: skip
def test_exposure_query_equals_oracle(
    world: tuple[list[naive.NVisit], list[int], list[bool]],
    venue: int,
    lo: int,
    length: int,
    name: str,
) -> None:
    rows, cats, _split = world
    rules = RULE_SETS[name]
    part = IndexPart.from_visits(to_visits(rows))
    venues = VenueInfo(np.zeros(len(cats), np.uint8), np.array(cats, np.uint8))
    engine = TraceEngine(lambda: [part], venues)
    window = Window(T0 + lo, T0 + lo + length)
    got = table_contacts(engine.trace_exposure(venue, window, rules).table)
    want = naive.trace(
        with_t_next(rows), [(venue, window.lo, window.hi)], rules, cats,
        DEFAULT_DWELL_S.tolist(), as_of=window.hi,
    )  # fmt: skip
    assert got == want


@EXAMPLES
@given(world=worlds(), name=st.sampled_from(sorted(RULE_SETS)),
       cases=st.lists(st.integers(1, 6), min_size=1, max_size=6))  # fmt: skip
def test_batch_equals_one_by_one(
    world: tuple[list[naive.NVisit], list[int], list[bool]], name: str, cases: list[int]
) -> None:
    rows, cats, split = world
    rules = RULE_SETS[name]
    parts = [
        IndexPart.from_visits(to_visits([r for r, s in zip(rows, split, strict=True) if s == k]))
        for k in (False, True)
    ]
    venues = VenueInfo(np.zeros(len(cats), np.uint8), np.array(cats, np.uint8))
    engine = TraceEngine(lambda: parts, venues)
    window = Window(T0 - 86_400, T0 + 86_400)
    batch = engine.trace_many(np.array(cases, np.uint64), [window] * len(cases), rules)
    for i, case in enumerate(cases):
        one = engine.trace_case(case, window, rules).table
        lo, hi = batch.c_off[i], batch.c_off[i + 1]
        assert batch.person[lo:hi].tolist() == one.person.tolist()
        assert batch.units[lo:hi].tolist() == one.units.tolist()
        assert batch.high[lo:hi].tolist() == one.high.tolist()


def test_every_built_in_rule_set_is_stamped() -> None:
    for rules in RULE_SETS.values():
        stamp = rules.stamp()
        assert stamp["name"] == rules.name
        assert stamp["version"]
        assert "interval" in stamp["params"]


@pytest.mark.parametrize("name", sorted(RULE_SETS))
def test_empty_data_gives_no_contacts(name: str) -> None:
    got, want = run_engine([], [0] * 6, [], RULE_SETS[name], 1, *WIDE)
    assert got == want == []
