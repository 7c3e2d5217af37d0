"""The fixed-width scan record and the packed batch format of the hot log.

Why fixed width: a batch of scans travels from the gRPC decoder to RocksDB and back as one
`bytes` value, converted with `np.frombuffer` / `ndarray.tobytes` and never touched row by row
in Python. That is what lets one synced write carry ~1,000 scans (DESIGN §5).

A packed batch is a 12-byte header followed by `count` records:

    magic b"QS" | version u8 | reserved u8 | count u32 LE | crc32 u32 LE of the records

RocksDB writes a WriteBatch atomically, so a value can't be torn by a crash; the header
catches the other failure modes (a bit flip on disk, a value written by a future format).
"""

from __future__ import annotations

import struct
import zlib
from typing import Final

import numpy as np
import numpy.typing as npt

from storage.domain import LOCAL_UTC_OFFSET_S
from storage.errors import CorruptBatchError

IN: Final = 0
OUT: Final = 1

#: One scan, little-endian and unaligned: 36 bytes. `category` is the venue category code
#: (`storage.domain.CATEGORIES`, 0 = unknown) copied in by ingest from the venue registry, so
#: check-out imputation needs no registry look-up. `reserved` is always 0 so that two scans
#: with equal content have equal bytes (the de-duplication compares record bytes).
SCAN_DTYPE: Final = np.dtype(
    [
        ("scan_id", "V16"),
        ("person", "<u8"),
        ("venue", "<u4"),
        ("t", "<u4"),
        ("direction", "u1"),
        ("category", "u1"),
        ("reserved", "<u2"),
    ]
)
RECORD_SIZE: Final = SCAN_DTYPE.itemsize

_MAGIC: Final = b"QS"
_VERSION: Final = 1
_HEADER_DTYPE: Final = np.dtype(
    [("magic", "S2"), ("version", "u1"), ("reserved", "u1"), ("count", "<u4"), ("crc", "<u4")]
)
HEADER_SIZE: Final = _HEADER_DTYPE.itemsize
_HEADER: Final = struct.Struct("<2sBBII")

SECONDS_PER_DAY: Final = 86_400

ScanArray = npt.NDArray[np.void]


def empty_scans(n: int = 0) -> ScanArray:
    """A zeroed scan array of length `n` (zeroed so `reserved` is 0)."""
    return np.zeros(n, dtype=SCAN_DTYPE)


def make_scans(
    scan_id: npt.ArrayLike,
    person: npt.ArrayLike,
    venue: npt.ArrayLike,
    t: npt.ArrayLike,
    *,
    direction: npt.ArrayLike = IN,
    category: npt.ArrayLike = 0,
) -> ScanArray:
    """Build a scan array from columns (scalars broadcast); `scan_id` is (n, 16) u1 or V16."""
    ids = np.asarray(scan_id)
    if ids.dtype != np.dtype("V16"):
        ids = np.ascontiguousarray(ids, dtype=np.uint8)
        if ids.ndim != 2 or ids.shape[1] != 16:
            raise ValueError(f"scan_id must have shape (n, 16) of bytes, got {ids.shape}")
        ids = ids.view("V16").reshape(-1)
    out = empty_scans(len(ids))
    out["scan_id"] = ids
    out["person"] = person
    out["venue"] = venue
    out["t"] = t
    out["direction"] = direction
    out["category"] = category
    return out


def visits_as_scans(
    *,
    scan_id_in: npt.ArrayLike,
    scan_id_out: npt.ArrayLike,
    person: npt.ArrayLike,
    venue: npt.ArrayLike,
    t_in: npt.ArrayLike,
    t_out: npt.ArrayLike,
    category: npt.ArrayLike = 0,
) -> ScanArray:
    """An imported visit with a known `t_out` as its IN scan followed by its OUT scan.

    Rows are interleaved (IN0, OUT0, IN1, OUT1, ...) so a batch never splits a pair.
    """
    ins = make_scans(scan_id_in, person, venue, t_in, direction=IN, category=category)
    outs = make_scans(scan_id_out, person, venue, t_out, direction=OUT, category=category)
    if len(ins) != len(outs):
        raise ValueError(f"{len(ins)} IN scan ids but {len(outs)} OUT scan ids; expected equal")
    out = empty_scans(2 * len(ins))
    out[0::2] = ins
    out[1::2] = outs
    return out


def local_day(t: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint32]:
    """Local (UTC+7) day number of epoch seconds: the day a scan is filed and sealed under."""
    # u32 math where it cannot wrap (t before 2106): no int64 copy of a large column
    if t.dtype == np.uint32 and len(t) and int(t.max()) <= 0xFFFFFFFF - LOCAL_UTC_OFFSET_S:
        return (t + np.uint32(LOCAL_UTC_OFFSET_S)) // np.uint32(SECONDS_PER_DAY)
    return ((t.astype(np.int64) + LOCAL_UTC_OFFSET_S) // SECONDS_PER_DAY).astype(np.uint32)


def day_bounds(day: int) -> tuple[int, int]:
    """Epoch seconds [start, end) of a local day number."""
    start = day * SECONDS_PER_DAY - LOCAL_UTC_OFFSET_S
    return start, start + SECONDS_PER_DAY


def pack(scans: ScanArray) -> bytes:
    """One batch as header + records, ready to be one RocksDB value."""
    if scans.dtype != SCAN_DTYPE:
        raise ValueError(f"expected dtype {SCAN_DTYPE}, got {scans.dtype}")
    body = np.ascontiguousarray(scans).data.cast("B")
    # struct, not a structured numpy header, and one copy of the records: the writer packs
    # every (day, shard) value of every group commit
    return _HEADER.pack(_MAGIC, _VERSION, 0, len(scans), zlib.crc32(body)) + body


def unpack(value: bytes, *, where: str = "batch") -> ScanArray:
    """Records of a packed batch (read-only view of `value`); `where` names it in errors."""
    if len(value) < HEADER_SIZE:
        raise CorruptBatchError(
            f"{where}: {len(value)} bytes, expected at least the {HEADER_SIZE}-byte header"
        )
    header = np.frombuffer(value, dtype=_HEADER_DTYPE, count=1)[0]
    if header["magic"] != _MAGIC or header["version"] != _VERSION:
        raise CorruptBatchError(
            f"{where}: header {bytes(value[:4])!r}, expected magic {_MAGIC!r} version {_VERSION}"
        )
    count = int(header["count"])
    expected = HEADER_SIZE + count * RECORD_SIZE
    if len(value) != expected:
        raise CorruptBatchError(
            f"{where}: {len(value)} bytes, expected {expected} for {count} records"
        )
    body = memoryview(value)[HEADER_SIZE:]
    if zlib.crc32(body) != int(header["crc"]):
        raise CorruptBatchError(f"{where}: crc32 mismatch, records were altered after writing")
    return np.frombuffer(body, dtype=SCAN_DTYPE, count=count)
