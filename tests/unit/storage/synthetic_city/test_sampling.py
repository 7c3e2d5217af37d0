from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.synthetic_city.sampling import GroupedAlias, apportion, stream


@given(
    total=st.integers(0, 10_000),
    weights=st.lists(st.floats(0.01, 100.0), min_size=1, max_size=40),
)
def test_apportion_is_exact_and_close(total: int, weights: list[float]) -> None:
    parts = apportion(total, weights)
    assert parts.sum() == total
    exact = np.array(weights) / sum(weights) * total
    assert np.all(np.abs(parts - exact) < 1.0 + 1e-9)


def test_apportion_minimum() -> None:
    parts = apportion(100, [1000.0, 1.0, 1.0], minimum=5)
    assert parts.sum() == 100
    assert parts.min() >= 5


@settings(max_examples=20, deadline=None)
@given(
    weights=st.lists(st.floats(0.0, 10.0), min_size=2, max_size=30).filter(lambda w: sum(w) > 0.5)
)
def test_alias_matches_weights(weights: list[float]) -> None:
    # two groups: the list and its reverse, so offsets are exercised
    w = np.array(weights + weights[::-1])
    n = len(weights)
    table = GroupedAlias.build(w, [0, n, 2 * n])
    draws = 200_000
    groups = np.repeat([0, 1], draws // 2)
    got = table.sample(groups, stream(5, 0))
    assert np.all((got[: draws // 2] < n) & (got[draws // 2 :] >= n))
    freq = np.bincount(got, minlength=2 * n) / (draws // 2)
    p = np.r_[w[:n] / w[:n].sum(), w[n:] / w[n:].sum()]
    assert np.all(np.abs(freq - p) < 5 * np.sqrt(p * (1 - p) / (draws // 2)) + 1e-3)
    assert np.all(freq[p == 0] == 0)


def test_streams_are_independent_and_reproducible() -> None:
    a = stream(1, 3, 0).random(4)
    assert np.array_equal(a, stream(1, 3, 0).random(4))
    assert not np.array_equal(a, stream(1, 3, 1).random(4))
