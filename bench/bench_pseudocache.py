"""Pseudonym cache look-ups: the numba hash table vs the sorted array + `searchsorted` it replaced.

A script, not a timed test (figures vary by machine and load; nothing asserts them):

    python -m bench.bench_pseudocache --pool 200000 --batch 1000 --batches 20000

Both caches are warmed with the whole pool first (every reference cached; for the baseline,
its recent dict merged into the sorted arrays), then timed on the same batches, drawn
uniformly from the pool, alternating rounds so that a noisy neighbour hits both alike. The
cold fill (the first pass, dominated by hashing misses in `Pseudonymiser`) is reported too.
The baseline is the numeric path of `ingest.pseudocache.PseudonymCache` before the change,
copied here verbatim (less its text path and directory sink) so the comparison stays
reproducible after the module moved on.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Final

import numpy as np
import numpy.typing as npt

from ingest.pseudocache import PseudonymCache
from storage.pseudonym import Pseudonymiser

U64 = npt.NDArray[np.uint64]
Mask = npt.NDArray[np.bool_]
Lookup = Callable[[U64], tuple[U64, Mask]]

_MERGE_AT: Final = 65_536
_MERGE_AFTER_CALLS: Final = 64


class SortedArrayCache:
    """The baseline: sorted keys + `np.searchsorted`, with a dict of recent additions."""

    def __init__(self, pseudonymiser: Pseudonymiser, *, max_entries: int = 4_000_000) -> None:
        self._p = pseudonymiser
        self._max = max_entries
        self._keys = np.zeros(0, dtype=np.uint64)
        self._vals = np.zeros(0, dtype=np.uint64)
        self._recent: dict[int, int] = {}
        self._calls_since_merge = 0

    def numbers(self, refs: U64) -> tuple[U64, Mask]:
        """(person id per row, invalid mask), as `PseudonymCache.numbers` did."""
        refs = np.asarray(refs, dtype=np.uint64)
        ids = np.zeros(len(refs), dtype=np.uint64)
        if len(self._keys):
            pos = np.minimum(np.searchsorted(self._keys, refs), len(self._keys) - 1)
            hit = self._keys[pos] == refs
            ids[hit] = self._vals[pos[hit]]
        else:
            hit = np.zeros(len(refs), dtype=np.bool_)
        bad = refs == 0
        miss = np.flatnonzero(~hit & ~bad)
        if len(miss) == 0:
            return ids, bad
        self._calls_since_merge += 1
        if self._recent and self._calls_since_merge >= _MERGE_AFTER_CALLS:
            self._merge()
        uniq, inverse = np.unique(refs[miss], return_inverse=True)
        found = np.array([self._recent.get(k, 0) for k in uniq.tolist()], dtype=np.uint64)
        new = np.flatnonzero(found == 0)
        if len(new):
            texts = [str(k) for k in uniq[new].tolist()]
            hashed, invalid = self._p.person_ids_or_invalid(texts, field="person_numbers")
            found[new] = hashed
            good = new[~invalid]
            self._remember(uniq[good], hashed[~invalid])
        ids[miss] = found[inverse]
        bad[miss] = found[inverse] == 0
        return ids, bad

    def _remember(self, keys: U64, vals: U64) -> None:
        self._recent.update(zip(keys.tolist(), vals.tolist(), strict=True))
        if len(self._recent) >= _MERGE_AT:
            self._merge()

    def _merge(self) -> None:
        self._calls_since_merge = 0
        if len(self._keys) + len(self._recent) > self._max:
            self._keys = np.zeros(0, dtype=np.uint64)
            self._vals = np.zeros(0, dtype=np.uint64)
        new_k = np.fromiter(self._recent.keys(), dtype=np.uint64, count=len(self._recent))
        new_v = np.fromiter(self._recent.values(), dtype=np.uint64, count=len(self._recent))
        keys_all = np.concatenate([self._keys, new_k])
        order = np.argsort(keys_all, kind="stable")
        self._keys = keys_all[order]
        self._vals = np.concatenate([self._vals, new_v])[order]
        self._recent.clear()


def _fill_s(lookup: Lookup, pool: U64, batch: int) -> float:
    """Seconds to pass the whole pool through `lookup` once, `batch` references a call."""
    start = time.perf_counter()
    for i in range(0, len(pool), batch):
        lookup(pool[i : i + batch])
    return time.perf_counter() - start


def _batch_us(lookup: Lookup, batches: list[U64]) -> list[float]:
    """Microseconds of each call, in order."""
    out = []
    for refs in batches:
        t = time.perf_counter()
        lookup(refs)
        out.append((time.perf_counter() - t) * 1e6)
    return out


def main() -> None:
    """Fill both caches, check they agree, then time warm look-ups and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool", type=int, default=200_000, help="distinct references")
    parser.add_argument("--batch", type=int, default=1_000, help="references per call")
    parser.add_argument("--batches", type=int, default=20_000, help="timed calls per cache")
    parser.add_argument("--rounds", type=int, default=10, help="alternating timing rounds")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    # Vietnamese mobile numbers as integers (84 + 9 digits), as scanner apps send them
    pool = (84_000_000_000 + rng.choice(1_000_000_000, args.pool, replace=False)).astype(np.uint64)
    key = bytes(range(32))
    old = SortedArrayCache(Pseudonymiser(key))
    new = PseudonymCache(Pseudonymiser(key))
    new.numbers(pool[:1])  # compile (or load the cached kernels) before timing the fill
    fill_old = _fill_s(old.numbers, pool, args.batch)
    fill_new = _fill_s(new.numbers, pool, args.batch)
    for _ in range(2):  # a second pass lets the baseline merge its recent dict
        _fill_s(old.numbers, pool, args.batch)
        _fill_s(new.numbers, pool, args.batch)
    old._merge()

    draws = [rng.choice(pool, args.batch) for _ in range(args.batches)]
    for refs in draws[:200]:
        a, b = old.numbers(refs), new.numbers(refs)
        if not (np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])):
            raise SystemExit("the two caches disagree")
    per_round = max(1, args.batches // args.rounds)
    times: dict[str, list[float]] = {"sorted array + searchsorted": [], "numba hash table": []}
    for r in range(args.rounds):
        chunk = draws[r * per_round : (r + 1) * per_round]
        times["sorted array + searchsorted"] += _batch_us(old.numbers, chunk)
        times["numba hash table"] += _batch_us(new.numbers, chunk)

    print(
        f"pool {args.pool:,} references, {args.batch:,} a batch, "
        f"{len(times['numba hash table']):,} warm batches per cache"
    )
    base = statistics.median(times["sorted array + searchsorted"])
    for name, us in times.items():
        med = statistics.median(us)
        p99 = float(np.percentile(us, 99))
        print(
            f"  {name:<28} median {med:7.1f} µs/batch  mean {statistics.fmean(us):7.1f}  "
            f"p99 {p99:7.1f}  ({base / med:4.1f}x baseline speed)"
        )
    print(
        f"  cold fill of the pool: sorted array {fill_old:.2f} s, hash table {fill_new:.2f} s "
        "(both dominated by hashing the misses)"
    )


if __name__ == "__main__":
    main()
