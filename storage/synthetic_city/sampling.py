"""Sampling primitives the generator leans on: seed streams, exact apportioning, alias tables.

Why alias tables: venue choice is "a Zipf-weighted venue inside a given ward" for every one
of ~700k visits a day. `np.searchsorted` on an 84k-entry CDF costs ~120 ns per query (cache
misses at every level of the binary search); Walker/Vose alias tables answer each query with
two gathers into a table that fits L2, ~10x faster, and one table holds every ward's
distribution side by side (group g occupies `offsets[g]:offsets[g + 1]`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

#: Independent random streams, keyed so that adding a stream never shifts another one.
STREAM_VENUES = 0
STREAM_PEOPLE = 1
STREAM_OUTBREAK = 2
STREAM_DAYS = 3


def stream(seed: int, *key: int) -> np.random.Generator:
    """A generator for one named stream (and e.g. one day) of a seed.

    `SeedSequence(seed, spawn_key=...)` is what `SeedSequence.spawn` does internally, written
    out so that day 5 gets the same stream whether the city has 7 or 14 days.
    """
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def apportion(total: int, weights: npt.ArrayLike, minimum: int = 0) -> I64:
    """Split `total` into integers proportional to `weights` (largest remainder), each >= minimum.

    Deterministic (no randomness) so e.g. residents per ward are exact and stable.
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or len(w) == 0 or np.any(w < 0) or w.sum() <= 0:
        raise ValueError("weights must be a non-empty 1-d array of non-negative numbers")
    if total < minimum * len(w):
        raise ValueError(f"total must be >= {minimum * len(w)} to give each part {minimum}")
    rest = total - minimum * len(w)
    exact = w / w.sum() * rest
    base = np.floor(exact).astype(np.int64)
    short = rest - int(base.sum())
    # ties broken by index (stable sort) so the split is fully determined by the inputs
    order = np.argsort(-(exact - base), kind="stable")
    base[order[:short]] += 1
    out: I64 = base + minimum
    return out


@dataclass(frozen=True, slots=True)
class GroupedAlias:
    """Alias tables for several discrete distributions stored back to back."""

    offsets: I64  # group g's outcomes are offsets[g] .. offsets[g + 1] - 1
    prob: F64  # acceptance probability of each slot
    alias: I64  # global index of the outcome taken when a slot rejects

    @classmethod
    def build(cls, weights: npt.ArrayLike, offsets: npt.ArrayLike) -> GroupedAlias:
        """Vose's construction per group; O(n) Python work, done once per city."""
        w = np.asarray(weights, dtype=np.float64)
        off = np.asarray(offsets, dtype=np.int64)
        prob = np.ones(len(w), dtype=np.float64)
        alias = np.arange(len(w), dtype=np.int64)
        for g in range(len(off) - 1):
            lo, hi = int(off[g]), int(off[g + 1])
            if hi <= lo:
                raise ValueError(f"alias group {g} is empty")
            total = float(w[lo:hi].sum())
            if total <= 0:
                raise ValueError(f"alias group {g} has no positive weight")
            scaled = (w[lo:hi] * ((hi - lo) / total)).tolist()
            small = [i for i, x in enumerate(scaled) if x < 1.0]
            large = [i for i, x in enumerate(scaled) if x >= 1.0]
            p_out = prob[lo:hi]
            a_out = alias[lo:hi]
            while small and large:
                s = small.pop()
                big = large[-1]
                p_out[s] = scaled[s]
                a_out[s] = lo + big
                scaled[big] -= 1.0 - scaled[s]
                if scaled[big] < 1.0:
                    large.pop()
                    small.append(big)
            # leftovers are 1.0 up to rounding: they always accept (prob/alias defaults)
        return cls(offsets=off, prob=prob, alias=alias)

    def sample(self, groups: npt.NDArray[np.integer], rng: np.random.Generator) -> I64:
        """One global outcome index per entry of `groups` (vectorised, one uniform each)."""
        g = groups.astype(np.intp, copy=False)
        lo = self.offsets[g]
        size = self.offsets[g + 1] - lo
        x = rng.random(len(g)) * size
        k = np.minimum(x.astype(np.int64), size - 1)
        slot = lo + k
        # the fractional part of x is a second uniform, independent of k
        keep = (x - k) < self.prob[slot]
        out: I64 = np.where(keep, slot, self.alias[slot])
        return out
