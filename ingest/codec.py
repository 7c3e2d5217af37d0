"""checkin.v1 messages <-> columns and outcomes: the only module that knows both shapes.

Deserialisation is ours (not grpc's) so that bytes which are not a valid message become a
`BatchError` answer naming the problem instead of an INTERNAL status.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
from google.protobuf.message import DecodeError

from api.protos.checkin.v1 import ingest_pb2 as pb
from ingest.errors import MalformedBatchError
from ingest.pipeline import Outcome
from ingest.validation import Columns, decode_batch

MAX_UNARY_SCANS = 50


@dataclass(frozen=True, slots=True)
class Undecodable:
    """Request bytes that did not parse as the expected message."""

    message: str
    reason: str


def parse_scan_batch(raw: bytes) -> pb.ScanBatch | Undecodable:
    """A ScanBatch, or why the bytes are not one."""
    try:
        return cast(pb.ScanBatch, pb.ScanBatch.FromString(raw))
    except (DecodeError, ValueError, RuntimeError) as exc:
        return Undecodable("ScanBatch", str(exc) or type(exc).__name__)


def parse_submit_request(raw: bytes) -> pb.SubmitScansRequest | Undecodable:
    """A SubmitScansRequest, or why the bytes are not one."""
    try:
        return cast(pb.SubmitScansRequest, pb.SubmitScansRequest.FromString(raw))
    except (DecodeError, ValueError, RuntimeError) as exc:
        return Undecodable("SubmitScansRequest", str(exc) or type(exc).__name__)


def batch_columns(msg: pb.ScanBatch, *, max_scans: int, max_codes: int) -> Columns:
    """Columns of a stream batch (MalformedBatchError when they don't line up)."""
    return decode_batch(
        scan_ids=msg.scan_ids,
        times_ms=msg.times_ms,
        directions=msg.directions,
        venue_index=msg.venue_index,
        venue_codes=list(msg.venue_codes),
        person_numbers=msg.person_numbers,
        person_texts=list(msg.person_texts),
        max_scans=max_scans,
        max_codes=max_codes,
    )


def check_request(req: pb.SubmitScansRequest, *, max_scans: int = MAX_UNARY_SCANS) -> None:
    """MalformedBatchError when a unary request cannot be checked scan by scan at all."""
    scans = req.scans
    if len(scans) == 1 and len(scans[0].scan_id) == 16:  # nearly every phone call
        return
    if len(scans) > max_scans:
        raise MalformedBatchError("scans", f"{len(scans)} scans; expected at most {max_scans}")
    for i, scan in enumerate(scans):
        if len(scan.scan_id) != 16:
            raise MalformedBatchError(
                f"scans[{i}].scan_id", f"{len(scan.scan_id)} bytes; expected 16"
            )


def scans_columns(scans: list[pb.Scan]) -> tuple[Columns, list[str]]:
    """Columns of unary scans (several calls' together, `check_request`ed) plus each scan's
    contact phone ('' when none)."""
    codes: dict[str, int] = {}
    index = np.array([codes.setdefault(s.venue_code, len(codes)) for s in scans], np.uint32)
    times = np.array([s.time_ms for s in scans], dtype=np.int64)
    # any value outside a byte becomes 255, which validation rejects like any other unknown
    # direction (clamping a negative one to 0 would have taken it for IN); in Python, since
    # np.clip + astype cost more than the whole list for a small batch
    raw = [s.direction for s in scans]
    directions = np.array([d if 0 <= d <= 255 else 255 for d in raw], dtype=np.uint8)
    columns = Columns(
        scan_ids=np.frombuffer(b"".join([s.scan_id for s in scans]), dtype="V16"),
        times_ms=times,
        directions=directions,
        venue_index=index,
        venue_codes=list(codes),
        person_numbers=None,
        person_texts=[s.person_ref for s in scans],
    )
    return columns, [s.contact_phone for s in scans]


def _rejections(outcome: Outcome) -> list[pb.ScanRejection]:
    return [
        pb.ScanRejection(
            index=r.index, verdict=cast(pb.Verdict, r.verdict), field=r.field, reason=r.reason
        )
        for r in outcome.rejections
    ]


def batch_ack(batch_id: int, outcome: Outcome) -> pb.BatchAck:
    """The ack of one stream batch."""
    return pb.BatchAck(
        batch_id=batch_id,
        verdicts=outcome.verdicts.tobytes(),
        accepted=outcome.accepted,
        duplicate=outcome.duplicate,
        rejected=outcome.rejected,
        rejections=_rejections(outcome),
    )


def error_ack(batch_id: int, field: str, reason: str) -> pb.BatchAck:
    """The ack of a batch that could not be read at all (nothing stored)."""
    return pb.BatchAck(batch_id=batch_id, error=pb.BatchError(field=field, reason=reason))


#: serialized answers of requests with nothing rejected, by their verdict bytes
_PLAIN_REPLIES: dict[bytes, bytes] = {}
_PLAIN_REPLY_MAX_SCANS = 4


def submit_reply(outcome: Outcome) -> bytes | pb.SubmitScansResponse:
    """The answer to a unary request, serialized once per distinct answer where it can be.

    Nearly every phone call is one scan, ACCEPTED or DUPLICATE: those few answers are built
    and serialized once and reused (the gRPC serializer passes bytes through), instead of a
    message built and serialized per call on the event loop.
    """
    if outcome.rejections or len(outcome.verdicts) > _PLAIN_REPLY_MAX_SCANS:
        return submit_response(outcome)
    key = outcome.verdicts.tobytes()
    reply = _PLAIN_REPLIES.get(key)
    if reply is None:
        reply = _PLAIN_REPLIES[key] = submit_response(outcome).SerializeToString()
    return reply


def serialize_reply(reply: bytes | pb.SubmitScansResponse) -> bytes:
    """gRPC's response serializer for SubmitScans: `submit_reply`'s bytes as they are."""
    return reply if isinstance(reply, bytes) else reply.SerializeToString()


def submit_response(outcome: Outcome) -> pb.SubmitScansResponse:
    """The answer to a unary request."""
    return pb.SubmitScansResponse(
        verdicts=outcome.verdicts.tolist(),
        accepted=outcome.accepted,
        duplicate=outcome.duplicate,
        rejected=outcome.rejected,
        rejections=_rejections(outcome),
    )


def submit_error(field: str, reason: str) -> pb.SubmitScansResponse:
    """The answer to a unary request that could not be read at all."""
    return pb.SubmitScansResponse(error=pb.BatchError(field=field, reason=reason))
