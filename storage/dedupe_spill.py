"""Exactly-once within a memory budget: the scan-id index spills to sorted run files.

Why: the in-memory index (`storage.dedupe.ScanIdIndex`) costs ~56 B per scan for as long as a
retry may arrive (the day's end plus grace). A flood at capacity accepts tens of millions of
scans in half a minute, so memory grew by gigabytes. Now only the newest scans (at most
`active_limit`) sit in that exact in-memory table ("active"). When it is full it is frozen:

- its rows, sorted by a 64-bit hash of the scan id, are written to a run file (the hash
  column, then the 5-word rows: key and content, as in memory);
- its hashes go into one blocked Bloom filter shared by all runs (16 bits per key, one
  512-bit block per key: ~0.1 % false positives, one cache line per probe).

A query probes the filter first; only its rare positives (and real repeats of old scans)
read the run files, memory-mapped for the look-up and unmapped after, so they never stay in
the server's memory. The comparison is the active table's: whole key, then whole content
(DUPLICATE vs CONFLICT), so verdicts stay exact; the filter only decides who may skip the
files. Run files are derived data: the hot log is the authority, the hot store deletes them
at open and rebuilds the index from the log.

Not thread-safe: the hot store's writer owns it (as `ScanIdIndex`).
"""

from __future__ import annotations

import itertools
import mmap
import os
import shutil
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
from numba import njit

from storage.dedupe import ScanIdIndex, Verdict, _hash, split_rows
from storage.jit import CACHE, NOGIL
from storage.records import SCAN_DTYPE, ScanArray

U64 = npt.NDArray[np.uint64]
U8 = npt.NDArray[np.uint8]

#: u64 words per 512-bit Bloom block; bits set per key; filter bits per designed key
_BLOCK_WORDS: Final = 8
_K: Final = 7
_BITS_PER_KEY: Final = 16
#: bytes per scan of the active table at its fullest (rows 40 B + slots <= 32 B)
ACTIVE_BYTES_PER_SCAN: Final = 72
#: rows gathered and written at a time when a run file is written
_WRITE_ROWS: Final = 1 << 16
_generation = itertools.count()


@njit(cache=CACHE, nogil=NOGIL)
def _key_hashes(rows: U64) -> U64:  # pragma: no cover
    out = np.empty(rows.shape[0], dtype=np.uint64)
    for i in range(rows.shape[0]):
        out[i] = _hash(rows[i, 0], rows[i, 1])
    return out


@njit(cache=CACHE, nogil=NOGIL)
def _bloom(
    bits: U64, hashes: U64, add: bool, out: npt.NDArray[np.bool_]
) -> None:  # pragma: no cover
    """Add `hashes` to the filter, or write whether each may be in it to `out`."""
    n_blocks = np.uint64(bits.shape[0] // _BLOCK_WORDS)
    for i in range(hashes.shape[0]):
        h = hashes[i]
        base = ((h >> np.uint64(32)) % n_blocks) * np.uint64(_BLOCK_WORDS)
        x = h * np.uint64(0xFF51AFD7ED558CCD)
        x ^= x >> np.uint64(29)
        hit = True
        for j in range(_K):
            pos = (x >> np.uint64(9 * j)) & np.uint64(511)
            word = base + (pos >> np.uint64(6))
            bit = np.uint64(1) << (pos & np.uint64(63))
            if add:
                bits[word] |= bit
            elif (bits[word] & bit) == 0:
                hit = False
                break
        if not add:
            out[i] = hit


class _Run:
    """One frozen part: `n` rows sorted by key hash in a file (hashes, then rows)."""

    def __init__(self, path: Path, rows: U64) -> None:
        hashes = _key_hashes(rows)
        order = np.argsort(hashes)  # keys are unique: no need for a (slower) stable sort
        self.path = path
        self.n = len(rows)
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as f:
            f.write(hashes[order].data)
            # the rows gathered a slice at a time: a whole sorted copy was ~40 B per scan of
            # the active table again, at the moment memory peaks (the freeze)
            for lo in range(0, self.n, _WRITE_ROWS):
                f.write(rows[order[lo : lo + _WRITE_ROWS]].data)
        tmp.replace(path)

    def hashes(self) -> U64:
        """The sorted hash column (read into memory: only when the filter is rebuilt)."""
        return np.fromfile(self.path, dtype=np.uint64, count=self.n)

    def match(self, hashes: U64, query: U64, verdicts: U8, found: npt.NDArray[np.bool_]) -> None:
        """For each query row not `found` yet whose key is in this run: its verdict."""
        with self.path.open("rb") as f:
            region = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            _match(np.frombuffer(region, dtype=np.uint64), self.n, hashes, query, verdicts, found)
        finally:
            region.close()  # unmapped: its pages leave this process's memory


def _match(  # noqa: PLR0917 - arrays in, verdicts out, like the kernels
    words: U64, n: int, hashes: U64, query: U64, verdicts: U8, found: npt.NDArray[np.bool_]
) -> None:
    # a function of its own so that every view of the mapping is gone when it returns
    column = words[:n]
    rows = words[n:].reshape(n, 5)
    lo = np.searchsorted(column, hashes, "left")
    hi = np.searchsorted(column, hashes, "right")
    for i in np.flatnonzero((lo < hi) & ~found).tolist():
        for r in range(int(lo[i]), int(hi[i])):
            if rows[r, 0] == query[i, 0] and rows[r, 1] == query[i, 1]:
                same = bool((rows[r, 2:] == query[i, 2:]).all())
                verdicts[i] = Verdict.DUPLICATE if same else Verdict.CONFLICT
                found[i] = True
                break


def _filter_words(design: int) -> int:
    """u64 words of a filter for `design` keys: whole 512-bit blocks, at least one."""
    blocks = max(1, design * _BITS_PER_KEY // (64 * _BLOCK_WORDS))
    return blocks * _BLOCK_WORDS


class SpillingScanIdIndex:
    """`ScanIdIndex` semantics with at most `active_limit` scans in memory (plus ~2 B each)."""

    def __init__(self, spill_dir: Path, *, active_limit: int, capacity: int = 0) -> None:
        if active_limit < 1:
            raise ValueError(f"active_limit must be >= 1, got {active_limit}")
        self._dir = Path(spill_dir) / f"gen-{os.getpid()}-{next(_generation)}"
        self._dir.mkdir(parents=True, exist_ok=True)
        self._limit = active_limit
        self._active = ScanIdIndex(active_limit)
        self._runs: list[_Run] = []
        self._frozen = 0
        self._design = max(capacity, 4 * active_limit)
        self._bits = np.zeros(_filter_words(self._design), np.uint64)

    def __len__(self) -> int:
        return self._frozen + len(self._active)

    @property
    def runs(self) -> int:
        """Frozen run files so far."""
        return len(self._runs)

    @property
    def nbytes(self) -> int:
        """Bytes in memory: the active table plus the filter."""
        return self._active.nbytes + int(self._bits.nbytes)

    def add(self, scans: ScanArray) -> U8:
        """Insert the new scans; return a `Verdict` per row (repeats within `scans` count too)."""
        if scans.dtype != SCAN_DTYPE:
            raise ValueError(f"expected dtype {SCAN_DTYPE}, got {scans.dtype}")
        verdicts = np.zeros(len(scans), dtype=np.uint8)
        if len(scans) == 0:
            return verdicts
        if len(self._active) and len(self._active) + len(scans) > self._limit:
            # freeze first: a group added on top of a nearly full table made it reallocate
            # its rows at twice the limit (and copy them) just before the freeze
            self._freeze()
        if not self._runs:
            verdicts = self._active.add(scans)
        else:
            query = split_rows(scans)
            hashes = _key_hashes(query)
            maybe = np.zeros(len(scans), dtype=np.bool_)
            _bloom(self._bits, hashes, False, maybe)
            found = np.zeros(len(scans), dtype=np.bool_)
            candidates = np.flatnonzero(maybe)
            if len(candidates):
                sub = np.zeros(len(candidates), dtype=np.uint8)
                hit = np.zeros(len(candidates), dtype=np.bool_)
                for run in reversed(self._runs):  # newest first: retries are mostly recent
                    run.match(hashes[candidates], query[candidates], sub, hit)
                verdicts[candidates] = sub
                found[candidates] = hit
            fresh = np.flatnonzero(~found)
            if len(fresh) == len(scans):
                verdicts = self._active.add_rows(query)
            elif len(fresh):
                verdicts[fresh] = self._active.add_rows(query[fresh])
        if len(self._active) >= self._limit:
            self._freeze()
        return verdicts

    def _freeze(self) -> None:
        rows = self._active.rows()
        if self._frozen + len(rows) > self._design:
            self._grow_filter(2 * (self._frozen + len(rows)))
        run = _Run(self._dir / f"run-{len(self._runs):06d}.idx", rows)
        _bloom(self._bits, _key_hashes(rows), True, np.zeros(0, dtype=np.bool_))
        self._runs.append(run)
        self._frozen += run.n
        self._active = ScanIdIndex(self._limit)

    def _grow_filter(self, design: int) -> None:
        self._design = design
        self._bits = np.zeros(_filter_words(design), np.uint64)
        for run in self._runs:
            _bloom(self._bits, run.hashes(), True, np.zeros(0, dtype=np.bool_))

    def close(self) -> None:
        """Delete this index's run files."""
        self._runs.clear()
        shutil.rmtree(self._dir, ignore_errors=True)


def clear_spill_dir(spill_dir: Path) -> None:
    """Remove every run file under `spill_dir` (they are rebuilt from the log at open)."""
    shutil.rmtree(spill_dir, ignore_errors=True)
