"""The person directory: the only place a pseudonym meets a phone number, name and home ward.

Scans, segments and kernels know people only by `person_id` (storage.pseudonym). Officers need
to call an F1 and route them to the ward where they live, so this directory keeps, per
pseudonym, the raw reference, contact phone, name and home ward. Access control and audit
are the API tier's job; this module only stores. Retention calls `forget` for people with no
remaining scans and `compact` so the bytes leave the disk, not just the index.

Tracing asks for the home wards of thousands of contacts at once, so the (id -> ward) pairs
also live in memory as sorted numpy arrays: one `searchsorted` per query, no row reads.
Ingest writes new people a few at a time, so writes go to a small sorted delta that is
folded into the main arrays only once it is a fraction of their size (LSM in miniature):
re-sorting every person on every write would make a write O(people).
"""

from __future__ import annotations

import struct
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import orjson
from rocksdict import Options, Rdict, WriteBatch, WriteOptions

from storage.domain import WARD_BY_CODE
from storage.errors import InvalidInputError
from storage.lifecycle import Closing
from storage.walsync import WalSync

Mask = npt.NDArray[np.bool_]
_PREFIX = b"p"
_KEY = struct.Struct(">Q")


def _key(person_id: int) -> bytes:
    return _PREFIX + _KEY.pack(person_id)


@dataclass(frozen=True, slots=True)
class PersonRecord:
    """What an authorised officer may see about one person."""

    person_id: int
    reference: str
    home_ward: int
    phone: str | None
    name: str | None
    updated_at: int


def _member(
    ids: npt.NDArray[np.uint64], sorted_ids: npt.NDArray[np.uint64]
) -> npt.NDArray[np.bool_]:
    """`np.isin` for a sorted, unique haystack: one `searchsorted`, no sort of the haystack."""
    if len(sorted_ids) == 0:
        return np.zeros(len(ids), dtype=np.bool_)
    pos = np.minimum(np.searchsorted(sorted_ids, ids), len(sorted_ids) - 1)
    return np.asarray(sorted_ids[pos] == ids)


class PersonDirectory(Closing):
    """Durable pseudonym -> person rows, with an in-memory home-ward index."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        options = Options(raw_mode=True)
        options.create_if_missing(True)
        self._db = Rdict(str(self.path), options)
        # unsynced writes + WalSync: rocksdict would hold the GIL through the fsync and stall
        # the ingest event loop each time the directory feed writes (storage.walsync)
        self._write_opts = WriteOptions()
        self._write_opts.sync = False
        self._wal = WalSync(self.path)
        self._lock = threading.Lock()
        ids: list[int] = []
        wards: list[int] = []
        for key, value in self._db.items():
            if isinstance(key, bytes) and isinstance(value, bytes) and key[:1] == _PREFIX:
                ids.append(_KEY.unpack(key[1:])[0])
                wards.append(orjson.loads(value)["home_ward"])
        self._ids = np.array(ids, dtype=np.uint64)  # keys iterate in order: already sorted
        self._wards = np.array(wards, dtype=np.uint8)
        #: recent writes, sorted and unique; they win over `_ids` (see `_merge`)
        self._delta_ids = np.empty(0, dtype=np.uint64)
        self._delta_wards = np.empty(0, dtype=np.uint8)
        #: fold the delta at max(this, main size / 8)
        self._fold_at = 4096

    # ------------------------------------------------------------ writes

    def upsert_many(
        self,
        person_ids: npt.NDArray[np.uint64],
        references: Sequence[str],
        home_wards: npt.NDArray[np.integer],
        phones: Sequence[str | None] | None = None,
        names: Sequence[str | None] | None = None,
    ) -> int:
        """Insert or replace people in one synced write; returns how many were written."""
        ids = np.asarray(person_ids, dtype=np.uint64)
        wards = np.asarray(home_wards, dtype=np.int64)
        n = len(ids)
        if len(references) != n or len(wards) != n:
            raise InvalidInputError("person_ids", "references and home_wards must be as long")
        if phones is not None and len(phones) != n:
            raise InvalidInputError("phones", f"{len(phones)} values for {n} people")
        if names is not None and len(names) != n:
            raise InvalidInputError("names", f"{len(names)} values for {n} people")
        bad = ~np.isin(wards, [0, *WARD_BY_CODE])
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise InvalidInputError(f"home_wards[{first}]", f"unknown ward code {wards[first]}")
        now = int(time.time())
        batch = WriteBatch(raw_mode=True)
        for i in range(n):
            record = {
                "reference": references[i],
                "home_ward": int(wards[i]),
                "phone": phones[i] if phones is not None else None,
                "name": names[i] if names is not None else None,
                "updated_at": now,
            }
            batch.put(_key(int(ids[i])), orjson.dumps(record))
        with self._lock:
            self._db.write(batch, self._write_opts)
            self._wal.sync()
            self._merge(ids, wards.astype(np.uint8))
        return n

    def upsert_contacts(
        self,
        person_ids: npt.NDArray[np.uint64],
        references: Sequence[str],
        phones: Sequence[str],
    ) -> int:
        """Record contact phones given at check-in, keeping each person's home ward and name.

        One place for the rule, whether the ingest process writes the directory itself or
        hands the phones to the multi-process supervisor that owns it.
        """
        ids = np.asarray(person_ids, dtype=np.uint64)
        names = []
        for pid in ids.tolist():
            known = self.lookup(pid)
            names.append(known.name if known is not None else None)
        return self.upsert_many(ids, references, self.home_wards(ids), phones=phones, names=names)

    def _merge(self, ids: npt.NDArray[np.uint64], wards: npt.NDArray[np.uint8]) -> None:
        # Last write wins: new rows first, then a stable unique keeps the first occurrence.
        # Only the delta is re-sorted; it folds into the main arrays at 1/8 of their size.
        all_ids = np.concatenate([ids[::-1], self._delta_ids])
        all_wards = np.concatenate([wards[::-1], self._delta_wards])
        unique_ids, first = np.unique(all_ids, return_index=True)
        self._delta_ids, self._delta_wards = unique_ids, all_wards[first]
        if len(self._delta_ids) > max(self._fold_at, len(self._ids) // 8):
            self._fold()

    def _fold(self) -> None:
        """Move the delta into the main arrays (the delta's rows replace older ones)."""
        if len(self._delta_ids) == 0:
            return
        keep = ~_member(self._ids, self._delta_ids)
        ids = np.concatenate([self._ids[keep], self._delta_ids])
        wards = np.concatenate([self._wards[keep], self._delta_wards])
        order = np.argsort(ids, kind="stable")
        self._ids, self._wards = ids[order], wards[order]
        self._delta_ids = np.empty(0, dtype=np.uint64)
        self._delta_wards = np.empty(0, dtype=np.uint8)

    def forget(self, person_ids: npt.NDArray[np.uint64]) -> int:
        """Delete people (retention, erasure requests); returns how many existed."""
        ids = np.unique(np.asarray(person_ids, dtype=np.uint64))
        with self._lock:
            self._fold()
            present = ids[_member(ids, self._ids)]
            batch = WriteBatch(raw_mode=True)
            for pid in present.tolist():
                batch.delete(_key(pid))
            self._db.write(batch, self._write_opts)
            self._wal.sync()
            keep = ~np.isin(self._ids, present)
            self._ids, self._wards = self._ids[keep], self._wards[keep]
        return len(present)

    def compact(self) -> None:
        """Flush and compact so deleted rows are physically gone from SST files and the WAL."""
        with self._lock:
            self._db.flush(True)
            self._db.flush_wal(True)
            self._db.compact_range(None, None)

    # ------------------------------------------------------------ reads

    def home_wards(self, person_ids: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint8]:
        """Home ward per pseudonym, 0 where the person is not in the directory."""
        ids = np.asarray(person_ids, dtype=np.uint64)
        with self._lock:
            parts = ((self._ids, self._wards), (self._delta_ids, self._delta_wards))
        out = np.zeros(len(ids), dtype=np.uint8)
        for known_ids, known_wards in parts:  # the delta last: it holds the newer rows
            if len(known_ids):
                pos = np.minimum(np.searchsorted(known_ids, ids), len(known_ids) - 1)
                hit = known_ids[pos] == ids
                out[hit] = known_wards[pos[hit]]
        return out

    def contains(self, person_ids: npt.NDArray[np.uint64]) -> npt.NDArray[np.bool_]:
        """Per pseudonym: is the person in the directory (vectorised, no row reads)."""
        ids = np.asarray(person_ids, dtype=np.uint64)
        with self._lock:
            main, delta = self._ids, self._delta_ids
        return _member(ids, main) | _member(ids, delta)

    def missing(self, person_ids: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
        """The distinct pseudonyms of `person_ids` that the directory does not hold, sorted."""
        ids = np.unique(np.asarray(person_ids, dtype=np.uint64))
        return ids[~self.contains(ids)]

    def lookup(self, person_id: int) -> PersonRecord | None:
        """One person's row, or None."""
        raw = self._db.get(_key(person_id))
        if raw is None:
            return None
        row = orjson.loads(raw)
        return PersonRecord(
            person_id=person_id,
            reference=row["reference"],
            home_ward=row["home_ward"],
            phone=row["phone"],
            name=row["name"],
            updated_at=row["updated_at"],
        )

    def person_ids(self) -> npt.NDArray[np.uint64]:
        """Every pseudonym in the directory, sorted."""
        with self._lock:
            self._fold()
            return self._ids.copy()

    def __len__(self) -> int:
        with self._lock:
            self._fold()
            return len(self._ids)

    # ------------------------------------------------------------ lifecycle

    def close(self) -> None:
        """Close the database."""
        self._wal.close()
        self._db.close()
