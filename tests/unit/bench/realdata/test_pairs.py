"""The report's brute-force pair counter equals a plain double loop."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.realdata.pairs import overlapping_pairs, unordered

visits = st.lists(
    st.tuples(
        st.integers(1, 3), st.integers(0, 50), st.integers(0, 30), st.integers(1, 4)
    ),  # venue, t_in, length (0 = empty visit), person
    max_size=40,
)


def naive(rows: list[tuple[int, int, int, int]]) -> set[tuple[int, int]]:
    out = set()
    for i, (v1, a1, d1, p1) in enumerate(rows):
        for j, (v2, a2, d2, p2) in enumerate(rows):
            overlap = min(a1 + d1, a2 + d2) - max(a1, a2)
            if i < j and v1 == v2 and p1 != p2 and overlap > 0 and d1 > 0 and d2 > 0:
                out.add((i, j))
    return out


@settings(max_examples=500, deadline=None)
@given(visits)
def test_overlapping_pairs_equal_a_double_loop(rows: list[tuple[int, int, int, int]]) -> None:
    arr = np.array(rows, dtype=np.int64).reshape(-1, 4)
    i, j = overlapping_pairs(arr[:, 0], arr[:, 1], arr[:, 1] + arr[:, 2], arr[:, 3])
    assert unordered(i, j) == naive(rows)
    assert len(i) == len(naive(rows))  # each pair once


def test_touching_visits_are_not_a_pair() -> None:
    i, _j = overlapping_pairs(
        np.array([1, 1]), np.array([0, 10]), np.array([10, 20]), np.array([1, 2])
    )
    assert len(i) == 0


def test_next_checkin_is_the_users_next_later_time() -> None:
    from bench.realdata.foursquare import next_checkin  # noqa: PLC0415

    user = np.array([1, 2, 1, 1, 1, 2])
    t = np.array([50, 10, 0, 50, 20, 10])
    none = np.iinfo(np.int64).max
    assert next_checkin(user, t).tolist() == [none, none, 20, none, 50, none]
