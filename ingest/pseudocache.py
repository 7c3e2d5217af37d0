"""Pseudonyms at line rate: a cache in front of `storage.pseudonym.Pseudonymiser`.

Hashing costs ~1-3 µs per distinct reference in Python (normalise + BLAKE2b), which would cap
ingest near a few hundred thousand scans/s. But a city's people scan again and again, so the
mapping reference -> person id is cached: numeric references in a sorted numpy array (one
`searchsorted` per batch) plus a small dict of recent additions merged in now and then;
text references in a dict. Only misses are hashed, in one vectorised call per batch.

New people (valid misses) are also handed to `DirectoryFeed`, which writes their raw
reference to the access-controlled person directory from a background thread, in batches,
skipping people the directory already holds; the raw reference goes nowhere else.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Final, Protocol

import numpy as np
import numpy.typing as npt

from storage.pseudonym import Pseudonymiser

U64 = npt.NDArray[np.uint64]
Mask = npt.NDArray[np.bool_]

#: merge the recent dict into the sorted arrays at this size, or at any size once it has
#: served this many lookups since the last merge (so hits stop paying dict lookups)
_MERGE_AT: Final = 65_536
_MERGE_AFTER_CALLS: Final = 64
_STOP: Final = object()
log = logging.getLogger(__name__)


class DirectorySink(Protocol):
    """Where new people go (`DirectoryFeed`, or a test double)."""

    def add(self, person_ids: U64, references: list[str]) -> None: ...


class PseudonymCache:
    """Bounded cache of reference -> person id; misses go through the pseudonymiser."""

    def __init__(
        self,
        pseudonymiser: Pseudonymiser,
        sink: DirectorySink | None = None,
        *,
        max_entries: int = 4_000_000,
    ) -> None:
        self._p = pseudonymiser
        self._sink = sink
        self._max = max_entries
        self._keys = np.zeros(0, dtype=np.uint64)
        self._vals = np.zeros(0, dtype=np.uint64)
        self._recent: dict[int, int] = {}
        self._texts: dict[str, int] = {}
        self._calls_since_merge = 0

    def __len__(self) -> int:
        return len(self._keys) + len(self._recent) + len(self._texts)

    def numbers(self, refs: U64) -> tuple[U64, Mask]:
        """(person id per row, invalid mask); 0 is not a reference (a missing value)."""
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
            if self._sink is not None and len(good):
                self._sink.add(hashed[~invalid], [texts[i] for i in np.flatnonzero(~invalid)])
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

    def texts(self, refs: list[str]) -> tuple[U64, Mask]:
        """(person id per row, invalid mask) for text references."""
        ids = np.fromiter((self._texts.get(r, 0) for r in refs), dtype=np.uint64, count=len(refs))
        miss = np.flatnonzero(ids == 0)
        if len(miss) == 0:
            return ids, np.zeros(len(refs), dtype=np.bool_)
        missing = [refs[i] for i in miss]
        hashed, invalid = self._p.person_ids_or_invalid(missing, field="person_texts")
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
    """Writes first-seen people to the person directory off the event loop, in batches."""

    def __init__(self, directory: DirectoryWriter, *, max_pending: int = 1_000_000) -> None:
        self._directory = directory
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
