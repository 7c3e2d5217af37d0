"""Unary messages <-> columns and answers: batch columns, reused serialized answers."""

from __future__ import annotations

import numpy as np
import pytest

from api.protos.checkin.v1 import ingest_pb2 as pb
from ingest import codec
from ingest.errors import MalformedBatchError
from ingest.pipeline import Outcome, Rejection
from ingest.validation import Verdict


def _request(*scans: tuple[int, str, str, int, int, str]) -> pb.SubmitScansRequest:
    return pb.SubmitScansRequest(
        scans=[
            pb.Scan(
                scan_id=bytes([k]) * 16,
                person_ref=person,
                venue_code=code,
                time_ms=t,
                direction=direction,  # type: ignore[arg-type]
                contact_phone=phone,
            )
            for k, person, code, t, direction, phone in scans
        ]
    )


def test_columns_of_several_calls_are_their_own_columns_joined() -> None:
    a = _request((1, "p1", "A", 10, 0, ""), (2, "p2", "B", 20, 1, "0912"))
    b = _request((3, "p3", "B", 30, 1, ""), (4, "p4", "C", 40, 0, ""))
    columns, phones = codec.scans_columns([*a.scans, *b.scans])
    assert columns.scan_ids.tobytes() == b"".join(bytes([k]) * 16 for k in (1, 2, 3, 4))
    assert columns.times_ms.tolist() == [10, 20, 30, 40]
    assert columns.directions.tolist() == [0, 1, 1, 0]
    assert [columns.venue_codes[i] for i in columns.venue_index.tolist()] == ["A", "B", "B", "C"]
    assert columns.person_texts == ["p1", "p2", "p3", "p4"]
    assert phones == ["", "0912", "", ""]
    codec.check_request(a)
    one, one_phones = codec.scans_columns(list(a.scans))
    assert one.times_ms.tolist() == [10, 20]
    assert one_phones == ["", "0912"]


def test_unknown_direction_values_stay_invalid_for_validation() -> None:
    columns, _ = codec.scans_columns(list(_request((1, "p", "A", 1, 7, "")).scans))
    assert columns.directions.tolist() == [7]  # validation rejects it, naming the field


@pytest.mark.parametrize("direction", [-1, -(2**31), 256, 2**31 - 1])
def test_directions_outside_a_byte_are_invalid_not_clamped_to_in_or_out(direction: int) -> None:
    columns, _ = codec.scans_columns(list(_request((1, "p", "A", 1, direction, "")).scans))
    assert columns.directions.tolist() == [255]  # > 1: rejected as a direction, never IN


def test_a_request_is_checked_before_it_joins_a_batch() -> None:
    with pytest.raises(MalformedBatchError) as err:
        codec.check_request(pb.SubmitScansRequest(scans=[pb.Scan(scan_id=b"short")]))
    assert err.value.field == "scans[0].scan_id"
    too_many = pb.SubmitScansRequest(scans=[pb.Scan(scan_id=b"x" * 16)] * 51)
    with pytest.raises(MalformedBatchError) as err:
        codec.check_request(too_many)
    assert err.value.field == "scans"


@pytest.mark.parametrize(
    "verdicts",
    [[Verdict.ACCEPTED], [Verdict.DUPLICATE], [Verdict.ACCEPTED, Verdict.DUPLICATE]],
)
def test_plain_answers_are_serialized_once_and_equal_a_fresh_message(verdicts: list[int]) -> None:
    v = np.array(verdicts, np.uint8)
    outcome = Outcome(
        v, [], int((v == Verdict.ACCEPTED).sum()), int((v == Verdict.DUPLICATE).sum())
    )
    reply = codec.submit_reply(outcome)
    assert isinstance(reply, bytes)
    assert codec.submit_reply(outcome) is reply  # the same bytes object, reused
    assert pb.SubmitScansResponse.FromString(reply) == codec.submit_response(outcome)
    assert codec.serialize_reply(reply) is reply


def test_answers_with_rejections_are_built_per_call() -> None:
    v = np.array([Verdict.ACCEPTED, Verdict.UNKNOWN_VENUE], np.uint8)
    outcome = Outcome(v, [Rejection(1, int(Verdict.UNKNOWN_VENUE), "venue_code", "no")], 1, 0)
    reply = codec.submit_reply(outcome)
    assert isinstance(reply, pb.SubmitScansResponse)
    assert reply.rejections[0].field == "venue_code"
    assert pb.SubmitScansResponse.FromString(codec.serialize_reply(reply)) == reply
