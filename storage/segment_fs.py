"""Sealed segment files read through a pyarrow filesystem: local disk or an object store.

Why beside `storage.segments`: Dask workers of the distributed tracer (tracing.distributed)
read segments from a path they share with the node that sealed them, which may be a
mounted disk (`/srv/qrtrace/segments`), a `file://` URI or an object store
(`s3://bucket/qrtrace/segments`, `gs://...`): whatever `pyarrow.fs.FileSystem.from_uri`
opens. The checks are those of `Segment.open` (size, sha256 against the manifest entry,
Arrow schema, row count), done on the bytes read, so a truncated or altered object is never
traced silently.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs

from storage.errors import CorruptSegmentError
from storage.manifest import SegmentEntry
from storage.segments import SCHEMA


def open_root(uri: str | Path) -> tuple[pafs.FileSystem, str]:
    """(filesystem, base path) of a segment root: a local path or any pyarrow URI."""
    text = str(uri)
    if "://" not in text:
        text = Path(text).resolve().as_uri()
    fs, base = pafs.FileSystem.from_uri(text)
    return fs, base.rstrip("/")


def read_segment_table(fs: pafs.FileSystem, base: str, entry: SegmentEntry) -> pa.Table:
    """One segment's verified Arrow table (decoded into memory)."""
    path = f"{base}/{entry.file}"
    try:
        with fs.open_input_file(path) as handle:
            data = handle.read()
    except (FileNotFoundError, OSError) as exc:
        raise CorruptSegmentError(
            f"segment {path} is unreadable ({exc}); the manifest lists it"
        ) from exc
    if len(data) != entry.bytes:
        raise CorruptSegmentError(
            f"segment {path} has {len(data)} bytes, expected {entry.bytes} (truncated or replaced)"
        )
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry.sha256:
        raise CorruptSegmentError(
            f"segment {path} sha256 {digest}, expected {entry.sha256} (corrupted)"
        )
    try:
        table = pa.ipc.open_file(pa.BufferReader(data)).read_all()
    except (pa.ArrowInvalid, OSError) as exc:
        raise CorruptSegmentError(f"segment {path} is not a valid Arrow file: {exc}") from exc
    if not table.schema.equals(SCHEMA) or table.num_rows != entry.rows:
        raise CorruptSegmentError(
            f"segment {path}: schema/rows {table.schema.names}/{table.num_rows}, expected "
            f"{SCHEMA.names}/{entry.rows}"
        )
    return table
