"""How well one ranked contact list agrees with a reference ranking (plain numpy, no scipy).

Per index person the candidates are the union of the true contacts and the listed ones; a
person missing from one side scores 0 there. Measures:
- Spearman's rho: Pearson correlation of average ranks (ties share the mean rank);
- Kendall's tau-b: concordant minus discordant pairs over the tie-corrected pair count;
- recall@k: of the k people the list puts first, how many are in the true top k, out of
  min(k, number of true contacts). The true top k keeps everyone tied with the k-th
  (a 20-s resolution truth has many ties), so a list is not punished for an arbitrary
  tie-break; the list's own order is taken as it is;
- chance@k: the same recall expected from a uniformly random order of all `population`
  other people (k x |true top k| / population / min(k, true contacts)), the floor to compare
  against.
rho and tau are undefined (None) when either side is constant, e.g. a single candidate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]


def average_ranks(x: npt.ArrayLike) -> F64:
    """1-based ranks of `x` ascending, ties given their mean rank."""
    a = np.asarray(x, dtype=np.float64)
    order = np.argsort(a, kind="stable")
    ranks = np.empty(len(a), dtype=np.float64)
    sorted_a = a[order]
    starts = np.flatnonzero(np.r_[True, sorted_a[1:] != sorted_a[:-1]])
    ends = np.r_[starts[1:], len(a)]
    for lo, hi in zip(starts.tolist(), ends.tolist(), strict=True):
        ranks[order[lo:hi]] = (lo + hi + 1) / 2
    return ranks


def spearman(x: npt.ArrayLike, y: npt.ArrayLike) -> float | None:
    rx, ry = average_ranks(x), average_ranks(y)
    if len(rx) < 2 or np.ptp(rx) == 0 or np.ptp(ry) == 0:
        return None
    rx, ry = rx - rx.mean(), ry - ry.mean()
    return float((rx * ry).sum() / np.sqrt((rx * rx).sum() * (ry * ry).sum()))


def kendall_tau_b(x: npt.ArrayLike, y: npt.ArrayLike) -> float | None:
    a, b = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    upper = np.triu(np.ones((len(a), len(a)), dtype=np.bool_), k=1)
    dx = np.sign(a[:, None] - a[None, :])[upper]
    dy = np.sign(b[:, None] - b[None, :])[upper]
    n_x, n_y = np.count_nonzero(dx), np.count_nonzero(dy)
    if n_x == 0 or n_y == 0:
        return None
    return float((dx * dy).sum() / np.sqrt(float(n_x) * float(n_y)))


@dataclass(frozen=True)
class Agreement:
    """One index person's list against the truth."""

    true_contacts: int
    listed: int
    listed_true: int  #: true contacts the list contains at all
    rho: float | None
    tau: float | None
    recall: dict[int, float]  #: k -> recall@k
    chance: dict[int, float]  #: k -> expected recall@k of a random order


def agreement(
    truth: Mapping[int, int],
    listed: Sequence[int],
    scores: Sequence[int],
    *,
    population: int,
    ks: Sequence[int] = (1, 5, 10),
) -> Agreement:
    """`truth`: contact -> true seconds (> 0); `listed`/`scores`: the list in its order."""
    candidates = sorted(set(truth) | set(listed))
    listed_score = dict(zip(listed, scores, strict=True))
    t = [truth.get(c, 0) for c in candidates]
    s = [listed_score.get(c, 0) for c in candidates]
    true_values = sorted(truth.values(), reverse=True)
    recall, chance = {}, {}
    for k in ks:
        if not true_values:
            continue
        kth = true_values[min(k, len(true_values)) - 1]
        top = {c for c, v in truth.items() if v >= kth}
        denominator = min(k, len(true_values))
        recall[k] = len(top.intersection(listed[:k])) / denominator
        chance[k] = min(k, population) * len(top) / population / denominator
    return Agreement(
        true_contacts=len(truth),
        listed=len(listed),
        listed_true=len(set(truth).intersection(listed)),
        rho=spearman(t, s),
        tau=kendall_tau_b(t, s),
        recall=recall,
        chance=chance,
    )
