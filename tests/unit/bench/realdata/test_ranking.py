"""Rank agreement measures equal plain-Python definitions; recall@k keeps true ties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.realdata.ranking import agreement, average_ranks, kendall_tau_b, spearman


def oracle_ranks(x: list[int]) -> list[float]:
    return [sum(1 for y in x if y < v) + (sum(1 for y in x if y == v) + 1) / 2 for v in x]


def oracle_spearman(x: list[int], y: list[int]) -> float | None:
    rx, ry = oracle_ranks(x), oracle_ranks(y)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    sxy = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    sxx = sum((a - mx) ** 2 for a in rx)
    syy = sum((b - my) ** 2 for b in ry)
    return None if sxx == 0 or syy == 0 else sxy / math.sqrt(sxx * syy)


def oracle_tau_b(x: list[int], y: list[int]) -> float | None:
    concordant = discordant = untied_x = untied_y = 0
    for i in range(len(x)):
        for j in range(i + 1, len(x)):
            dx, dy = x[i] - x[j], y[i] - y[j]
            untied_x += dx != 0
            untied_y += dy != 0
            concordant += dx * dy > 0
            discordant += dx * dy < 0
    if untied_x == 0 or untied_y == 0:
        return None
    return (concordant - discordant) / math.sqrt(untied_x * untied_y)


pairs = st.integers(1, 25).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 5), min_size=n, max_size=n),
        st.lists(st.integers(0, 5), min_size=n, max_size=n),
    )
)


@settings(max_examples=300, deadline=None)
@given(pairs)
def test_measures_equal_the_definitions(xy: tuple[list[int], list[int]]) -> None:
    x, y = xy
    assert average_ranks(x).tolist() == oracle_ranks(x)
    for ours, theirs in ((spearman(x, y), oracle_spearman(x, y)),
                         (kendall_tau_b(x, y), oracle_tau_b(x, y))):  # fmt: skip
        if theirs is None:
            assert ours is None
        else:
            assert ours == pytest.approx(theirs, abs=1e-12)


def test_perfect_and_reversed_orders() -> None:
    assert spearman([1, 2, 3], [10, 20, 30]) == pytest.approx(1.0)
    assert kendall_tau_b([1, 2, 3], [30, 20, 10]) == pytest.approx(-1.0)
    assert spearman([1], [1]) is None


def test_recall_at_k_counts_ties_with_the_kth_as_true_top() -> None:
    truth = {1: 100, 2: 60, 3: 60, 4: 20}
    # the list puts 3 before 2: both are tied second in the truth, so recall@2 is perfect
    result = agreement(truth, [1, 3, 5, 2], [9, 8, 7, 6], population=10, ks=(1, 2, 10))
    assert result.recall == {1: 1.0, 2: 1.0, 10: 3 / 4}
    assert result.listed_true == 3
    assert result.true_contacts == 4
    # chance: k * |top k| / population / min(k, true contacts)
    assert result.chance == {1: 0.1, 2: 2 * 3 / 10 / 2, 10: 10 * 4 / 10 / 4}
    # candidates 1..5 with 0 where absent: truth (100, 60, 60, 20, 0), list (9, 6, 8, 0, 7)
    assert result.rho == pytest.approx(oracle_spearman([100, 60, 60, 20, 0], [9, 6, 8, 0, 7]))
