"""Pseudonyms at line rate: a cache in front of `storage.pseudonym.Pseudonymiser`.

Hashing costs ~1-3 µs per distinct reference in Python (normalise + BLAKE2b), which would cap
ingest near a few hundred thousand scans/s. But a city's people scan again and again, so the
mapping reference -> person id is cached, and only misses are hashed, in one vectorised call
per batch. Text references live in a dict.

Numeric references live in an open-addressing hash table probed by numba kernels, one call
per batch. Why not the sorted array + `np.searchsorted` (plus a dict of recent additions
merged in now and then) this replaced: on the stream benchmark, py-spy put `searchsorted` at
~18 % of the event-loop thread. A binary search over 200 k+ keys is ~18 dependent loads per
reference, the deeper ones cache misses. On 1,000-reference batches drawn from a 200 k pool,
after warm-up (`python -m bench.bench_pseudocache`, 2-core box): the sorted array took a median
~185 µs a batch (the profile's isolated figure was ~64 µs; this box is shared and noisy),
the table ~12 µs, 15x less, measured in the same run. A probe is one hash and usually one
cache line (a slot holds the reference and the id side by side), so the probes of a batch
overlap instead of queueing, and there is no merge pass to schedule. The price is memory:
16-byte slots at a load factor <= 1/2 are 32-64 bytes per person, against 16 for the arrays.

The table is bounded by `max_entries`: when a batch's new people would pass it, the cache
starts over empty (keeping its slots), keeps the first `max_entries` of them (ascending) and
refills from the misses that follow, re-hashing each person once more. That is simpler than
an eviction order and, with a bound well above a city's active population, rare.

New people (valid misses) are handed to `DirectoryFeed`, which writes their raw reference to
the access-controlled person directory from a background thread, in batches, skipping people
the directory already holds; the raw reference goes nowhere else. A person is offered once
per first sight in the cache, i.e. again after a reset (the feed skips them then).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Final, Protocol

import numpy as np
import numpy.typing as npt
from numba import njit

from storage.jit import CACHE, NOGIL
from storage.pseudonym import Pseudonymiser

U64 = npt.NDArray[np.uint64]
Mask = npt.NDArray[np.bool_]

#: the smallest table, in slots (a slot is a (reference, person id) pair of u64)
_MIN_SLOTS: Final = 1 << 12
_STOP: Final = object()
log = logging.getLogger(__name__)


@njit(cache=CACHE, nogil=NOGIL)
def _slot(ref: np.uint64, mask: np.uint64) -> np.uint64:  # pragma: no cover
    # splitmix64 finaliser: phone numbers are near-sequential, so mix before masking.
    x = ref * np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return (x ^ (x >> np.uint64(31))) & mask


@njit(cache=CACHE, nogil=NOGIL)
def _lookup(table: U64, refs: U64, ids: U64, bad: Mask) -> int:  # pragma: no cover
    """Fill the person id of each reference (0 if not cached) and `bad` (reference 0);
    return how many non-zero references missed.

    `table` is (slots, 2): reference, person id; reference 0 marks a free slot, which is
    why reference 0 is answered before probing.
    """
    mask = np.uint64(table.shape[0] - 1)
    misses = 0
    for i in range(refs.shape[0]):
        ref = refs[i]
        ids[i] = 0
        bad[i] = ref == 0
        if ref == 0:
            continue
        s = _slot(ref, mask)
        while True:
            key = table[s, 0]
            if key == ref:
                ids[i] = table[s, 1]
                break
            if key == 0:
                misses += 1
                break
            s = (s + np.uint64(1)) & mask
    return misses


@njit(cache=CACHE, nogil=NOGIL)
def _insert(table: U64, refs: U64, ids: U64) -> int:  # pragma: no cover
    """Set reference -> person id for each pair (reference 0 skipped); return how many
    references were new. The caller keeps the load factor <= 1/2, so a free slot exists."""
    mask = np.uint64(table.shape[0] - 1)
    added = 0
    for i in range(refs.shape[0]):
        ref = refs[i]
        if ref == 0:
            continue
        s = _slot(ref, mask)
        while True:
            key = table[s, 0]
            if key == 0:
                table[s, 0] = ref
                table[s, 1] = ids[i]
                added += 1
                break
            if key == ref:
                table[s, 1] = ids[i]
                break
            s = (s + np.uint64(1)) & mask
    return added


@njit(cache=CACHE, nogil=NOGIL)
def _rehash(old: U64, new: U64) -> None:  # pragma: no cover
    """Place every used slot of `old` into the empty `new` (references are unique)."""
    mask = np.uint64(new.shape[0] - 1)
    for j in range(old.shape[0]):
        ref = old[j, 0]
        if ref == 0:
            continue
        s = _slot(ref, mask)
        while new[s, 0] != 0:
            s = (s + np.uint64(1)) & mask
        new[s, 0] = ref
        new[s, 1] = old[j, 1]


class DirectorySink(Protocol):
    """Where new people go (`DirectoryFeed`, or a test double)."""

    def add(self, person_ids: U64, references: list[str]) -> None: ...


class PseudonymCache:
    """Bounded cache of reference -> person id; misses go through the pseudonymiser.

    Not thread-safe: the ingest event loop owns it. `capacity` is how many numeric references
    to make room for up front (the table grows by rehash past it, up to `max_entries`).
    """

    def __init__(
        self,
        pseudonymiser: Pseudonymiser,
        sink: DirectorySink | None = None,
        *,
        max_entries: int = 4_000_000,
        capacity: int = 0,
    ) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries is {max_entries}; expected at least 1")
        self._p = pseudonymiser
        self._sink = sink
        self._max = max_entries
        self._table = np.zeros((_slots_for(min(capacity, max_entries)), 2), dtype=np.uint64)
        self._count = 0
        self._texts: dict[str, int] = {}

    def __len__(self) -> int:
        return self._count + len(self._texts)

    def numbers(self, refs: U64) -> tuple[U64, Mask]:
        """(person id per row, invalid mask); 0 is not a reference (a missing value)."""
        refs = np.ascontiguousarray(refs, dtype=np.uint64).reshape(-1)
        ids = np.empty(len(refs), dtype=np.uint64)
        bad = np.empty(len(refs), dtype=np.bool_)
        if _lookup(self._table, refs, ids, bad) == 0:
            return ids, bad
        miss = np.flatnonzero((ids == 0) & ~bad)
        uniq, inverse = np.unique(refs[miss], return_inverse=True)
        texts = [str(k) for k in uniq.tolist()]
        hashed, invalid = self._p.person_ids_or_invalid(texts, field="person_numbers")
        invalid |= hashed == 0  # 0 means "missing" in the table; 2^-64 odds, but never cache it
        ids[miss] = hashed[inverse]
        bad[miss] = invalid[inverse]
        good = np.flatnonzero(~invalid)
        if len(good):
            self._remember(uniq[good], hashed[good])
            if self._sink is not None:
                self._sink.add(hashed[good], [texts[i] for i in good.tolist()])
        return ids, bad

    def _remember(self, refs: U64, ids: U64) -> None:
        """Insert references not in the table (ascending); start over empty past the bound."""
        if self._count + len(refs) > self._max:
            self._table.fill(0)
            self._count = 0
            refs, ids = refs[: self._max], ids[: self._max]
        need = _slots_for(self._count + len(refs))
        if need > len(self._table):
            table = np.zeros((need, 2), dtype=np.uint64)
            _rehash(self._table, table)
            self._table = table
        self._count += int(_insert(self._table, refs, ids))

    def texts(self, refs: list[str]) -> tuple[U64, Mask]:
        """(person id per row, invalid mask) for text references.

        Plain lists until the answer: the unary path asks for a handful of references per
        batch, where each numpy call costs more than the dict lookups themselves.
        """
        get = self._texts.get
        found = [get(r, 0) for r in refs]
        if 0 not in found:
            return np.array(found, dtype=np.uint64), np.zeros(len(refs), dtype=np.bool_)
        miss = [i for i, pid in enumerate(found) if pid == 0]
        missing = [refs[i] for i in miss]
        hashed, invalid = self._p.person_ids_or_invalid(missing, field="person_texts")
        ids = np.array(found, dtype=np.uint64)
        ids[miss] = hashed
        bad = np.zeros(len(refs), dtype=np.bool_)
        bad[miss] = invalid
        if len(self._texts) + len(missing) > self._max:
            self._texts.clear()
        fresh: dict[str, int] = {}
        for ref, pid, is_bad in zip(missing, hashed.tolist(), invalid.tolist(), strict=True):
            if not is_bad and ref not in self._texts:
                fresh[ref] = pid
        self._texts.update(fresh)
        if self._sink is not None and fresh:
            self._sink.add(np.fromiter(fresh.values(), np.uint64, len(fresh)), list(fresh))
        return ids, bad


def _slots_for(entries: int) -> int:
    """The power-of-two slot count that keeps `entries` at a load factor <= 1/2."""
    slots = _MIN_SLOTS
    while slots < 2 * entries:
        slots *= 2
    return slots


class DirectoryWriter(Protocol):
    """The part of `storage.directory.PersonDirectory` the feed uses."""

    def missing(self, person_ids: U64) -> U64: ...

    def upsert_many(
        self,
        person_ids: U64,
        references: list[str],
        home_wards: npt.NDArray[np.integer],
    ) -> int: ...


class DirectoryFeed:
    """Writes first-seen people to the person directory off the event loop, in batches.

    Each write is a synced RocksDB write plus a few numpy passes, in a thread that competes
    with the event loop for the GIL. Writing as soon as people arrive meant one of those per
    unary group commit (a hundred or more a second). The feed instead gathers what arrives
    for `linger_s` after the first person, so the directory is written a few times a second
    whatever the call rate; people reach it at most that much later.
    """

    def __init__(
        self,
        directory: DirectoryWriter,
        *,
        max_pending: int = 1_000_000,
        linger_s: float = 0.1,
    ) -> None:
        self._directory = directory
        self._linger_s = linger_s
        self._queue: queue.Queue[tuple[U64, list[str]] | object] = queue.Queue(max_pending)
        self.dropped = 0
        self.written = 0
        self._thread = threading.Thread(target=self._run, name="directory-feed", daemon=True)
        self._thread.start()

    def add(self, person_ids: U64, references: list[str]) -> None:
        """Queue people; never blocks (a full queue drops, the next miss re-offers them)."""
        try:
            self._queue.put_nowait((person_ids, references))
        except queue.Full:
            self.dropped += len(references)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is not _STOP:
                time.sleep(self._linger_s)
            items = [first]
            while len(items) < 4096:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            batches = [i for i in items if isinstance(i, tuple)]
            stopping = len(batches) != len(items)
            if batches:
                self._write(batches)

    def _write(self, batches: list[tuple[U64, list[str]]]) -> None:
        ids = np.concatenate([b[0] for b in batches])
        refs = [r for b in batches for r in b[1]]
        uniq, first = np.unique(ids, return_index=True)
        # the directory answers "who is new" itself (vectorised), so the feed keeps no copy
        # of every person id and pays no O(people) merge per write
        new = np.isin(uniq, self._directory.missing(uniq), assume_unique=True)
        if not new.any():
            return
        take = first[new]
        try:
            self._directory.upsert_many(
                ids[take], [refs[i] for i in take.tolist()], np.zeros(len(take), np.uint8)
            )
        except Exception:  # the directory is best effort here; scans are already durable
            log.exception("person directory write failed", extra={"people": len(take)})
            return
        self.written += len(take)

    def close(self) -> None:
        """Write what is queued, then stop the thread."""
        self._queue.put(_STOP)
        self._thread.join()
