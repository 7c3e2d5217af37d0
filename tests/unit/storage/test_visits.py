"""build_visits against the plain-Python oracle: hand-made edge cases and hypothesis."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.domain import CATEGORY_BY_SLUG
from storage.records import IN, OUT, day_bounds, make_scans
from storage.visits import T_IN_IMPUTED, VisitFlag, Visits, build_visits

from .naive import as_tuples, naive_visits

DAY = 19_700
START, END = day_bounds(DAY)
CAFE = CATEGORY_BY_SLUG["cafe"]  # 90 min
SHOP = CATEGORY_BY_SLUG["shop"]  # 30 min


def scans_of(rows: list[tuple[int, int, int, int, int]]) -> np.ndarray:
    """rows of (person, venue, t offset from day start, direction, category)."""
    n = len(rows)
    ids = np.arange(n * 16, dtype=np.uint8).reshape(n, 16) if n else np.zeros((0, 16), np.uint8)
    cols = list(zip(*rows, strict=True)) if rows else [[], [], [], [], []]
    return make_scans(
        ids,
        np.array(cols[0], np.uint64),
        np.array(cols[1], np.uint32),
        np.array(cols[2], np.int64) + START,
        direction=np.array(cols[3], np.uint8),
        category=np.array(cols[4], np.uint8),
    )


def tuples(v: Visits) -> list[tuple[int, int, int, int, int]]:
    return as_tuples(v.venue, v.t_in, v.t_out, v.person, v.flags)


def check(rows: list[tuple[int, int, int, int, int]]) -> list[tuple[int, int, int, int, int]]:
    scans = scans_of(rows)
    got = tuples(build_visits(scans, DAY))
    assert got == naive_visits(scans, DAY)
    return [(v, a - START, b - START, p, f) for v, a, b, p, f in got]


def test_out_closes_the_open_visit_observed() -> None:
    got = check([(1, 10, 3600, IN, CAFE.code), (1, 10, 9000, OUT, CAFE.code)])
    assert got == [(10, 3600, 9000, 1, VisitFlag.OBSERVED)]


def test_next_scan_elsewhere_closes_before_the_dwell_cap() -> None:
    got = check([(1, 10, 3600, IN, CAFE.code), (1, 11, 4000, IN, SHOP.code)])
    assert got[0] == (10, 3600, 4000, 1, VisitFlag.IMPUTED_NEXT_SCAN)
    assert got[1] == (11, 4000, 4000 + 30 * 60, 1, VisitFlag.IMPUTED_DEFAULT_DWELL)


def test_dwell_cap_wins_over_a_late_next_scan() -> None:
    got = check([(1, 10, 3600, IN, SHOP.code), (1, 11, 3600 + 7200, IN, SHOP.code)])
    assert got[0] == (10, 3600, 3600 + 1800, 1, VisitFlag.IMPUTED_DEFAULT_DWELL)


def test_day_end_caps_a_late_visit() -> None:
    got = check([(1, 10, 86_400 - 600, IN, CAFE.code)])
    assert got == [(10, 86_400 - 600, 86_400, 1, VisitFlag.IMPUTED_DAY_END)]


def test_out_without_in_imputes_t_in_and_says_so() -> None:
    got = check([(1, 11, 100, IN, SHOP.code), (1, 10, 3600, OUT, CAFE.code)])
    # t_in floors at the previous scan (100 s), not at 3600 - 90 min
    assert got[0] == (10, 100, 3600, 1, VisitFlag.OBSERVED | T_IN_IMPUTED)
    # the shop visit is closed by the OUT elsewhere, capped by its own 30 min dwell
    assert got[1] == (11, 100, 1900, 1, VisitFlag.IMPUTED_DEFAULT_DWELL)


def test_repeated_in_is_one_visit_and_same_second_scans_drop() -> None:
    got = check(
        [(1, 10, 100, IN, CAFE.code), (1, 10, 200, IN, CAFE.code), (1, 10, 300, OUT, CAFE.code)]
    )
    assert got == [(10, 100, 300, 1, VisitFlag.OBSERVED)]
    assert check([(2, 10, 100, IN, 0), (2, 11, 100, IN, 0)]) == [
        (11, 100, 100 + 3600, 2, VisitFlag.IMPUTED_DEFAULT_DWELL)
    ]


def test_scan_on_another_day_is_refused() -> None:
    scans = scans_of([(1, 10, 86_400, IN, 0)])
    with pytest.raises(ValueError, match="local day"):
        build_visits(scans, DAY)


scan_rows = st.lists(
    st.tuples(
        st.integers(1, 4),  # person
        st.integers(1, 4),  # venue
        st.one_of(st.integers(0, 86_399), st.integers(0, 40).map(lambda m: m * 900)),
        st.sampled_from([IN, IN, OUT]),
        st.sampled_from([0, CAFE.code, SHOP.code, 15]),  # 15 = hotel, 720 min
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(scan_rows)
def test_kernel_matches_oracle(rows: list[tuple[int, int, int, int, int]]) -> None:
    got = check(rows)
    for _venue, t_in, t_out, _person, _flags in got:
        assert 0 <= t_in < t_out <= 86_400
