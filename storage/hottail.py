"""The hot store's unsealed tail in memory: a handful of objects per day, however many commits.

Every group commit adds one log value per (day, shard) it touched, and a day's tail lives
until the day is sealed (after midnight and a grace period). Kept as one object per value,
a unary load of 2,500 one-scan calls/s added ~2,000 objects a second: ~1.1 GB and seven
million objects an hour before the seal. The cyclic collector walks them all on every full
pass (13 s into a unary run they were 25,000 of the 77,000 objects a 30 ms pass walked, a
stop of the event loop), and each reader concatenated them one by one.

So a day's values are merged as they arrive, like a counter in base `FANOUT`: when the
day's last `FANOUT` chunks are of the same level they become one chunk of the next level, a
run of consecutive sequences `lo..seq`. A day then holds at most `(FANOUT - 1)` chunks per
level, ~70 for a billion values. A merged chunk keeps its resident scans as a few arrays
(copied into one while that stays under `COPY_BYTES`, so the pieces are never tiny) or, once
any part of it was pushed out of the memory budget, none: the log has them, and a run of
sequences of one day is a range read per shard (`HotStore._load`), kept again within the
budget once read (`readmit`).

Sealing trims whole chunks up to a sequence; a merged chunk that straddles it (late scans
merged with the sealed ones between the sealer's snapshot and its mark) keeps the sequences
above the mark and learns their count from the log (`seal`'s `count`): only what arrived
after the snapshot is read. Not thread-safe: the hot store calls it under its lock.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np

from storage.records import ScanArray

#: chunks of one level merged into one of the next
FANOUT: Final = 8
#: resident pieces are copied into one array while the result stays this small
COPY_BYTES: Final = 1 << 20
#: the level of a chunk that never merges again (the whole unsealed day, rebuilt at open)
SETTLED: Final = 1 << 30


@dataclass(slots=True)
class Chunk:
    """Log values of one day with sequences in `lo..seq` (all of the day's in that range).

    `shard` is the value's shard when the chunk is one value (read back with one get), -1
    for a merged run (read back by range). `pieces` are its scans in log order while
    resident, None once pushed out of memory.
    """

    day: int
    shard: int
    lo: int
    seq: int
    n: int
    pieces: list[ScanArray] | None
    level: int = 0
    nbytes: int = 0

    @classmethod
    def value(cls, day: int, shard: int, seq: int, scans: ScanArray) -> Chunk:
        """One log value just written, resident."""
        return cls(day, shard, seq, seq, len(scans), [scans], 0, scans.nbytes)

    def resident(self) -> ScanArray | None:
        """The scans, when in memory."""
        pieces = self.pieces  # one read: `evict` may clear it from another thread meanwhile
        if pieces is None:
            return None
        return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)


def merge(run: list[Chunk]) -> Chunk:
    """One chunk of the next level for consecutive chunks of a day (resident if all were)."""
    first, last = run[0], run[-1]
    pieces: list[ScanArray] | None = []
    for chunk in run:
        if chunk.pieces is None:
            pieces = None
            break
        assert pieces is not None
        pieces.extend(chunk.pieces)
    nbytes = 0
    if pieces is not None:
        nbytes = sum(p.nbytes for p in pieces)
        if len(pieces) > 1 and nbytes <= COPY_BYTES:
            pieces = [np.concatenate(pieces)]
    n = sum(c.n for c in run)
    return Chunk(first.day, -1, first.lo, last.seq, n, pieces, last.level + 1, nbytes)


class Tail:
    """Unsealed chunks per day, their resident scans within a byte budget (oldest out first)."""

    def __init__(self, budget_bytes: int) -> None:
        self._days: dict[int, list[Chunk]] = {}
        #: resident chunks, oldest first (entries evicted meanwhile are skipped)
        self._resident: deque[Chunk] = deque()
        self.resident_bytes = 0
        self._budget = budget_bytes

    def keep(self, chunk: Chunk) -> None:
        """Append a chunk to its day, merge the day's newest equal levels, then shed memory."""
        chunks = self._days.setdefault(chunk.day, [])
        chunks.append(chunk)
        if chunk.pieces is not None:
            self._resident.append(chunk)
            self.resident_bytes += chunk.nbytes
        while len(chunks) >= FANOUT and all(c.level == chunks[-1].level for c in chunks[-FANOUT:]):
            run = chunks[-FANOUT:]
            merged = merge(run)
            del chunks[-FANOUT:]
            chunks.append(merged)
            self._replace_resident(run, merged)
        self._shed()

    def readmit(self, chunk: Chunk, scans: ScanArray) -> None:
        """Keep scans read back from the log resident again (readers ask for a day again as
        it grows), if the chunk is still part of its day; the budget sheds the oldest."""
        if chunk.pieces is not None or not any(c is chunk for c in self._days.get(chunk.day, ())):
            return
        chunk.pieces, chunk.nbytes = [scans], scans.nbytes
        self._resident.append(chunk)
        self.resident_bytes += chunk.nbytes
        self._shed()

    def _shed(self) -> None:
        while self._resident and (
            self.resident_bytes > self._budget or self._resident[0].pieces is None
        ):  # (chunks sealed, dropped or merged since are already out: just forget them)
            self.evict(self._resident.popleft())

    def _replace_resident(self, run: list[Chunk], merged: Chunk) -> None:
        """The merged chunk takes its parts' place among the resident (or none: evicted)."""
        parts = [c for c in run if c.pieces is not None]
        if parts:
            n = len(parts)
            newest = list(itertools.islice(reversed(self._resident), n))
            if len(newest) == n and all(
                a is b for a, b in zip(newest, reversed(parts), strict=True)
            ):
                for _ in range(n):
                    self._resident.pop()  # the usual case: the newest entries
            else:
                gone = {id(c) for c in parts}
                self._resident = deque(c for c in self._resident if id(c) not in gone)
            self.resident_bytes -= sum(c.nbytes for c in parts)
        if merged.pieces is not None:
            self._resident.append(merged)
            self.resident_bytes += merged.nbytes

    def evict(self, chunk: Chunk) -> None:
        """Let go of a chunk's scans (the log keeps them)."""
        if chunk.pieces is not None:
            self.resident_bytes -= chunk.nbytes
            chunk.pieces = None

    def chunks(self, day: int) -> list[Chunk]:
        """A copy of `day`'s chunks in log order."""
        return list(self._days.get(day, ()))

    def days(self) -> list[int]:
        """Days with unsealed chunks, ascending."""
        return sorted(d for d, chunks in self._days.items() if chunks)

    def seal(self, day: int, seq_hi: int, count: Callable[[Chunk], int]) -> None:
        """Drop `day`'s sequences up to `seq_hi`; `count` reads a straddling rest's scans."""
        kept: list[Chunk] = []
        for chunk in self._days.get(day, []):
            if chunk.seq <= seq_hi:
                self.evict(chunk)
            elif chunk.lo > seq_hi:
                kept.append(chunk)
            else:
                self.evict(chunk)
                rest = Chunk(day, -1, seq_hi + 1, chunk.seq, 0, None, chunk.level)
                rest.n = count(rest)
                kept.append(rest)
        self._days[day] = kept

    def drop_before(self, day: int) -> list[int]:
        """Forget every day < `day`; returns those days."""
        gone = [d for d in self._days if d < day]
        for d in gone:
            for chunk in self._days.pop(d):
                self.evict(chunk)
        return gone

    def scans(self) -> int:
        """Unsealed scans across days."""
        return sum(c.n for chunks in self._days.values() for c in chunks)
