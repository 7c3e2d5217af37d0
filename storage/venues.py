"""The venue registry: which QR venues exist, where, of what kind, and whether still open.

Ingest validates every scan's venue against it (registered, active) and copies the venue's
category into the scan record; tracing reads ward and category per venue for weights and
evidence. Both need per-venue facts for millions of scans at a time, so besides the durable
RocksDB rows (one orjson value per venue, synced) the registry keeps dense numpy arrays
indexed by venue id, rebuilt lazily after a change: a lookup for a whole batch is one fancy
index, not a loop.
"""

from __future__ import annotations

import struct
import threading
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
from rocksdict import AccessType, Options, Rdict, WriteBatch, WriteOptions

from storage.domain import CATEGORY_BY_CODE, WARD_BY_CODE
from storage.errors import InvalidInputError, RegistryError
from storage.lifecycle import Closing

#: Dense per-venue arrays are sized by the largest id; this bounds them (64 Mi venues).
MAX_VENUE_ID = (1 << 26) - 1
MAX_NAME_CHARS = 200
_KEY = struct.Struct(">I")


@dataclass(frozen=True, slots=True)
class Venue:
    """One registered venue; times are epoch seconds UTC."""

    venue_id: int
    name: str
    ward: int
    category: int
    registered_at: int
    capacity: int | None = None
    lat: float | None = None
    lon: float | None = None
    closed_at: int | None = None

    @property
    def active(self) -> bool:
        return self.closed_at is None


@dataclass(frozen=True, slots=True)
class VenueArrays:
    """Per-venue facts indexed by venue id (index 0 and unregistered ids: ward 0, inactive)."""

    ward: npt.NDArray[np.uint8]
    category: npt.NDArray[np.uint8]
    registered: npt.NDArray[np.bool_]
    #: 0 while open, else the closing time (epoch seconds)
    closed_at: npt.NDArray[np.uint32]

    def __len__(self) -> int:
        return len(self.ward)

    def lookup(self, venue_ids: npt.NDArray[np.integer[Any]]) -> npt.NDArray[np.intp]:
        """Indexes into these arrays, with out-of-range ids mapped to 0 (unregistered)."""
        ids = np.asarray(venue_ids, dtype=np.int64)
        return np.where((ids > 0) & (ids < len(self.ward)), ids, 0).astype(np.intp)


def validate_venue(venue: Venue) -> None:
    """Raise InvalidInputError naming the first bad field."""
    if not 1 <= venue.venue_id <= MAX_VENUE_ID:
        raise InvalidInputError("venue_id", f"{venue.venue_id} outside [1, {MAX_VENUE_ID}]")
    if not venue.name.strip() or len(venue.name) > MAX_NAME_CHARS:
        raise InvalidInputError("name", f"must be 1..{MAX_NAME_CHARS} characters")
    if venue.ward not in WARD_BY_CODE:
        raise InvalidInputError("ward", f"unknown ward code {venue.ward}; expected 1..30")
    if venue.category not in CATEGORY_BY_CODE:
        raise InvalidInputError("category", f"unknown category code {venue.category}")
    if venue.capacity is not None and venue.capacity < 0:
        raise InvalidInputError("capacity", f"negative capacity {venue.capacity}")
    if venue.lat is not None and not -90 <= venue.lat <= 90:
        raise InvalidInputError("lat", f"{venue.lat} outside [-90, 90]")
    if venue.lon is not None and not -180 <= venue.lon <= 180:
        raise InvalidInputError("lon", f"{venue.lon} outside [-180, 180]")


class VenueRegistry(Closing):
    """Durable venue rows in RocksDB plus cached dense arrays; safe to share across threads."""

    def __init__(self, path: Path, *, secondary: Path | None = None) -> None:
        """Open the registry; with `secondary`, a read-only follower of another process's.

        Ingest processes beside a supervisor (`ingest_processes` > 1) cannot open the
        registry the supervisor owns (RocksDB admits one writer), so they follow it as a
        RocksDB secondary instance (its own files under `secondary`) and call `refresh()`.
        """
        self.path = Path(path)
        options = Options(raw_mode=True)
        if secondary is None:
            options.create_if_missing(True)
            self._db = Rdict(str(self.path), options)
        else:
            options.set_max_open_files(-1)
            self._db = Rdict(
                str(self.path), options, access_type=AccessType.secondary(str(secondary))
            )
        self._sync = WriteOptions()
        self._sync.sync = True
        self._lock = threading.Lock()
        self._venues: dict[int, Venue] = {}
        self._arrays: VenueArrays | None = None
        self._seen_sequence = self._db.latest_sequence_number()
        self._venues = self._load()

    def _load(self) -> dict[int, Venue]:
        venues = {}
        for key, value in self._db.items():
            if isinstance(key, bytes) and isinstance(value, bytes) and len(key) == _KEY.size:
                venue = Venue(**orjson.loads(value))
                venues[venue.venue_id] = venue
        return venues

    def refresh(self) -> bool:
        """(Secondary only) catch up with the owner; reload when it wrote. True if changed."""
        self._db.try_catch_up_with_primary()
        sequence = self._db.latest_sequence_number()
        if sequence == self._seen_sequence:
            return False
        venues = self._load()
        with self._lock:
            self._venues, self._arrays, self._seen_sequence = venues, None, sequence
        return True

    # ------------------------------------------------------------ writes

    def register(self, venue: Venue) -> Venue:
        """Add or update a venue (same id: the new row replaces the old one)."""
        self.register_many([venue])
        return venue

    def register_many(self, venues: list[Venue]) -> int:
        """Add or update many venues in one synced write; returns how many were written."""
        for venue in venues:
            validate_venue(venue)
        batch = WriteBatch(raw_mode=True)
        for venue in venues:
            batch.put(_KEY.pack(venue.venue_id), orjson.dumps(asdict(venue)))
        with self._lock:
            self._db.write(batch, self._sync)
            for venue in venues:
                self._venues[venue.venue_id] = venue
            self._arrays = None
        return len(venues)

    def register_new(
        self,
        *,
        name: str,
        ward: int,
        category: int,
        registered_at: int,
        capacity: int | None = None,
        lat: float | None = None,
        lon: float | None = None,
    ) -> Venue:
        """Register a venue under the next free id (one past the largest ever used)."""
        with self._lock:
            venue_id = max(self._venues, default=0) + 1
        venue = Venue(venue_id, name, ward, category, registered_at, capacity, lat, lon)
        return self.register(venue)

    def deactivate(self, venue_id: int, at: int) -> Venue:
        """Close a venue from `at` on: later scans there are rejected, earlier ones stay."""
        with self._lock:
            current = self._venues.get(venue_id)
        if current is None:
            raise InvalidInputError("venue_id", f"venue {venue_id} is not registered")
        if current.closed_at is not None:
            return current
        return self.register(replace(current, closed_at=at))

    # ------------------------------------------------------------ reads

    def get(self, venue_id: int) -> Venue | None:
        """The venue row, or None when the id was never registered."""
        with self._lock:
            return self._venues.get(venue_id)

    def __len__(self) -> int:
        with self._lock:
            return len(self._venues)

    def active_count(self) -> int:
        """Venues registered and not closed."""
        with self._lock:
            return sum(1 for v in self._venues.values() if v.closed_at is None)

    def all(self) -> list[Venue]:
        """Every venue row, by id (for reports and exports)."""
        with self._lock:
            return [self._venues[k] for k in sorted(self._venues)]

    def arrays(self) -> VenueArrays:
        """Dense per-venue arrays; the same object until the next write (treat as read-only)."""
        with self._lock:
            if self._arrays is None:
                self._arrays = self._build_arrays()
            return self._arrays

    def _build_arrays(self) -> VenueArrays:
        size = max(self._venues, default=0) + 1
        ward = np.zeros(size, dtype=np.uint8)
        category = np.zeros(size, dtype=np.uint8)
        registered = np.zeros(size, dtype=np.bool_)
        closed_at = np.zeros(size, dtype=np.uint32)
        for venue in self._venues.values():
            ward[venue.venue_id] = venue.ward
            category[venue.venue_id] = venue.category
            registered[venue.venue_id] = True
            closed_at[venue.venue_id] = venue.closed_at or 0
        for array in (ward, category, registered, closed_at):
            array.flags.writeable = False
        return VenueArrays(ward, category, registered, closed_at)

    # ------------------------------------------------------------ lifecycle

    def close(self) -> None:
        """Close the database; the registry is unusable afterwards."""
        try:
            self._db.close()
        except Exception as exc:  # pragma: no cover - rocksdict raises plain Exception
            raise RegistryError(f"venue registry {self.path}: close failed: {exc}") from exc
