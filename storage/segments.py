"""Sealed segments: one day × venue shard of visits as an Arrow IPC file.

Rows are sorted by (venue, t_in, person, t_out) so a venue's visits are one contiguous slice
found by binary search; the `person_order` column is the permutation that sorts the rows by
(person, t_in), i.e. the person-sorted view for case lookup at 4 bytes a row instead of a
second copy of the data. Files are zstd-compressed by default (`DEFAULT_COMPRESSION`): the
columns are decoded once on open into plain numpy arrays, which is what tracing keeps
resident anyway (25 bytes a visit, ~17 a scan), while the disk holds ~12 bytes a scan
(person pseudonyms are random 64-bit values and dominate). `compression=None` writes
uncompressed files whose columns are memory-mapped without copying (~18 bytes a scan on
disk, pages shared with the OS cache): the choice when disk is cheap and opening many
segments must be instant.

Every open checks the size and sha256 recorded in the manifest and fails with the file name;
a segment is never read silently when it was truncated or altered.
"""

from __future__ import annotations

import hashlib
import mmap
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from storage.errors import CorruptSegmentError
from storage.fsutil import write_durably
from storage.manifest import SegmentEntry
from storage.settings import Settings
from storage.visits import Visits

SCHEMA: Final = pa.schema(
    [
        ("venue", pa.uint32()),
        ("t_in", pa.uint32()),
        ("t_out", pa.uint32()),
        ("person", pa.uint64()),
        ("flags", pa.uint8()),
        ("person_order", pa.uint32()),
    ]
)
#: A visit never spans more than one local day, so t_in >= t_lo - this for any overlap.
MAX_VISIT_S: Final = 86_400

Compression = Literal["zstd", "lz4"] | None
#: zstd by default: ~12 B/scan on disk instead of ~18 uncompressed (bench/bench_storage.py),
#: at the price of a decode into memory on open instead of a zero-copy memory map.
DEFAULT_COMPRESSION: Final[Compression] = "zstd"


def compression_of(settings: Settings) -> Compression:
    """The `segment_compression` setting as a codec (`none` -> None, uncompressed)."""
    return None if settings.segment_compression == "none" else settings.segment_compression


def encode(visits: Visits, compression: Compression = None) -> bytes:
    """The IPC file bytes of venue-sorted `visits` (adds the person-sorted permutation)."""
    order = np.lexsort((visits.t_in, visits.person)).astype(np.uint32)
    table = pa.table(
        [
            visits.venue,
            visits.t_in,
            visits.t_out,
            visits.person,
            visits.flags,
            order,
        ],
        schema=SCHEMA,
    )
    sink = pa.BufferOutputStream()
    options = pa.ipc.IpcWriteOptions(compression=compression)
    with pa.ipc.new_file(sink, SCHEMA, options=options) as writer:
        writer.write_table(table, max_chunksize=max(len(visits), 1))
    return bytes(sink.getvalue())


def write_segment(
    segment_dir: Path,
    relative: str,
    visits: Visits,
    *,
    day: int,
    shard: int,
    generation: int,
    scans: int,
    compression: Compression = None,
) -> SegmentEntry:
    """Durably write one segment file and return its (not yet committed) manifest entry."""
    data = encode(visits, compression)
    path = segment_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    write_durably(path, data)
    return SegmentEntry(
        file=relative,
        day=day,
        shard=shard,
        generation=generation,
        rows=len(visits),
        scans=scans,
        t_min=int(visits.t_in.min()) if len(visits) else 0,
        t_max=int(visits.t_out.max()) if len(visits) else 0,
        bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _verify(path: Path, entry: SegmentEntry) -> None:
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        raise CorruptSegmentError(f"segment {path} is missing; the manifest lists it") from None
    if size != entry.bytes:
        raise CorruptSegmentError(
            f"segment {path} has {size} bytes, expected {entry.bytes} (truncated or replaced)"
        )
    digest = hashlib.sha256()
    if size:
        with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as m:
            digest.update(m)
    if digest.hexdigest() != entry.sha256:
        raise CorruptSegmentError(
            f"segment {path} sha256 {digest.hexdigest()}, expected {entry.sha256} (corrupted)"
        )


@dataclass(frozen=True)
class Segment:
    """A verified, memory-mapped segment: venue-sorted visits plus the person view."""

    entry: SegmentEntry
    visits: Visits
    person_order: npt.NDArray[np.uint32]

    @classmethod
    def open(cls, segment_dir: Path, entry: SegmentEntry) -> Segment:
        """Verify size and sha256 against `entry`, then map the columns."""
        path = segment_dir / entry.file
        _verify(path, entry)
        try:
            table = pa.ipc.open_file(pa.memory_map(str(path), "r")).read_all()
        except (pa.ArrowInvalid, OSError) as exc:
            raise CorruptSegmentError(f"segment {path} is not a valid Arrow file: {exc}") from exc
        if not table.schema.equals(SCHEMA) or table.num_rows != entry.rows:
            raise CorruptSegmentError(
                f"segment {path}: schema/rows {table.schema.names}/{table.num_rows}, expected "
                f"{SCHEMA.names}/{entry.rows}"
            )

        def col(name: str) -> npt.NDArray[np.generic]:
            chunks = table.column(name).chunks
            if len(chunks) == 1:
                return chunks[0].to_numpy(zero_copy_only=False)  # type: ignore[no-any-return]
            return table.column(name).to_numpy()  # type: ignore[no-any-return]

        visits = Visits(
            col("venue").astype(np.uint32, copy=False),
            col("t_in").astype(np.uint32, copy=False),
            col("t_out").astype(np.uint32, copy=False),
            col("person").astype(np.uint64, copy=False),
            col("flags").astype(np.uint8, copy=False),
        )
        return cls(entry, visits, col("person_order").astype(np.uint32, copy=False))

    def at_venue(self, venue: int, t_lo: int, t_hi: int) -> Visits:
        """Visits at `venue` overlapping [t_lo, t_hi)."""
        v = self.visits
        lo = int(np.searchsorted(v.venue, venue, side="left"))
        hi = int(np.searchsorted(v.venue, venue, side="right"))
        t_in = v.t_in[lo:hi]
        a = lo + int(np.searchsorted(t_in, max(t_lo - MAX_VISIT_S, 0), side="left"))
        b = lo + int(np.searchsorted(t_in, t_hi, side="left"))
        rows = v.take(slice(a, b))
        return rows.take(rows.t_out > t_lo)

    def of_person(self, person: int, t_lo: int, t_hi: int) -> Visits:
        """The person's visits overlapping [t_lo, t_hi), ordered by t_in."""
        key = np.uint64(person)
        lo = int(np.searchsorted(self.visits.person, key, side="left", sorter=self.person_order))
        hi = int(np.searchsorted(self.visits.person, key, side="right", sorter=self.person_order))
        rows = self.visits.take(self.person_order[lo:hi].astype(np.intp))
        return rows.take((rows.t_in < t_hi) & (rows.t_out > t_lo))
