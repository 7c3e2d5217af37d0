"""Client-side helpers: encode columns into `ScanBatch`es and open authenticated channels.

Used by the scanner-fleet simulator, the benchmarks and the tests, so they all speak the
protocol exactly as a gateway would (little-endian byte columns, a venue-code dictionary).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import grpc
import numpy as np
import numpy.typing as npt

from api.protos.checkin.v1 import ingest_pb2 as pb
from api.protos.checkin.v1 import ingest_pb2_grpc as pb_grpc
from ingest.auth import METADATA_KEY, SCHEME

_CHANNEL_OPTIONS = [
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
]


def auth_metadata(token: str) -> tuple[tuple[str, str], ...]:
    """Call metadata carrying a device token."""
    return ((METADATA_KEY, SCHEME + token),)


def encode_batch(
    batch_id: int,
    *,
    scan_ids: npt.NDArray[np.uint8] | bytes,
    times_ms: npt.ArrayLike,
    directions: npt.ArrayLike,
    venue_codes: Sequence[str],
    venue_index: npt.ArrayLike,
    person_numbers: npt.ArrayLike | None = None,
    person_texts: Sequence[str] | None = None,
) -> pb.ScanBatch:
    """A ScanBatch from columns (scan_ids: (n, 16) u1 or raw bytes)."""
    ids = scan_ids if isinstance(scan_ids, bytes) else np.ascontiguousarray(scan_ids).tobytes()
    return pb.ScanBatch(
        batch_id=batch_id,
        scan_ids=ids,
        times_ms=np.asarray(times_ms, dtype="<i8").tobytes(),
        directions=np.asarray(directions, dtype=np.uint8).tobytes(),
        venue_codes=list(venue_codes),
        venue_index=np.asarray(venue_index, dtype="<u4").tobytes(),
        person_numbers=(
            b"" if person_numbers is None else np.asarray(person_numbers, "<u8").tobytes()
        ),
        person_texts=list(person_texts or []),
    )


def open_channel(
    target: str, *, ca_file: Path | None = None, cert: Path | None = None, key: Path | None = None
) -> grpc.aio.Channel:
    """An asyncio channel: TLS when a CA file is given (client cert too for mTLS)."""
    if ca_file is None:
        return grpc.aio.insecure_channel(target, options=_CHANNEL_OPTIONS)
    credentials = grpc.ssl_channel_credentials(
        root_certificates=ca_file.read_bytes(),
        private_key=key.read_bytes() if key else None,
        certificate_chain=cert.read_bytes() if cert else None,
    )
    return grpc.aio.secure_channel(target, credentials, options=_CHANNEL_OPTIONS)


def stub(channel: grpc.aio.Channel) -> pb_grpc.IngestServiceStub:
    """The generated IngestService stub on a channel."""
    return pb_grpc.IngestServiceStub(channel)  # type: ignore[no-untyped-call]
