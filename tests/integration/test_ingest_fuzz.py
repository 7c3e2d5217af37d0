"""Fuzz the live server: malformed ScanBatch, SubmitScansRequest and raw bytes.

Every answer must be a normal response (never UNKNOWN/INTERNAL, never a crash), every
rejection must name its field and reason, and the server must still be SERVING afterwards.
QRTRACE_FUZZ_EXAMPLES sets the examples per message type (default 1,000).
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.protos.checkin.v1 import ingest_pb2 as pb
from ingest.client import auth_metadata
from ingest.server import SERVICE
from ingest.validation import Verdict

from .ingest_support import Prepared, ServerThread, env_int, prepare_data_dir

EXAMPLES = env_int("QRTRACE_FUZZ_EXAMPLES", 1000)
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
STORED = {Verdict.ACCEPTED, Verdict.DUPLICATE}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Prepared, grpc.Channel]]:
    prepared = prepare_data_dir(tmp_path_factory.mktemp("fuzz"))
    server = ServerThread(prepared.settings)
    channel = grpc.insecure_channel(server.target)
    try:
        yield prepared, channel
        reply = health_pb2_grpc.HealthStub(channel).Check(  # type: ignore[no-untyped-call]
            health_pb2.HealthCheckRequest(service=SERVICE)
        )
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        channel.close()
        server.stop()


@st.composite
def scan_batches(draw: st.DrawFn, codes: list[str]) -> pb.ScanBatch:
    if draw(st.booleans()):  # arbitrary field contents
        return pb.ScanBatch(
            batch_id=draw(st.integers(0, 2**64 - 1)),
            scan_ids=draw(st.binary(max_size=80)),
            times_ms=draw(st.binary(max_size=40)),
            directions=draw(st.binary(max_size=6)),
            person_numbers=draw(st.binary(max_size=40)),
            person_texts=draw(st.lists(_text, max_size=5)),
            venue_codes=draw(st.lists(_text, max_size=3)),
            venue_index=draw(st.binary(max_size=24)),
        )
    n = draw(st.integers(0, 8))  # aligned columns with hostile values
    use_texts = draw(st.booleans())
    return pb.ScanBatch(
        batch_id=draw(st.integers(0, 2**64 - 1)),
        scan_ids=draw(st.binary(min_size=16 * n, max_size=16 * n)),
        times_ms=np.array(
            draw(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=n, max_size=n)), "<i8"
        ).tobytes(),
        directions=draw(st.binary(min_size=n, max_size=n)),
        person_numbers=b"" if use_texts else draw(st.binary(min_size=8 * n, max_size=8 * n)),
        person_texts=draw(st.lists(_text, min_size=n, max_size=n)) if use_texts else [],
        venue_codes=draw(st.lists(st.one_of(_text, st.sampled_from(codes)), max_size=3)),
        venue_index=draw(st.binary(min_size=4 * n, max_size=4 * n)),
    )


def _check_rejections(verdicts: list[int], rejections: list[pb.ScanRejection]) -> None:
    rejected = {i for i, v in enumerate(verdicts) if v not in STORED}
    assert {r.index for r in rejections} == rejected
    for r in rejections:
        assert r.field
        assert r.reason
        assert r.verdict == verdicts[r.index]


def test_fuzz_scan_batches(live: tuple[Prepared, grpc.Channel]) -> None:
    prepared, channel = live
    call = channel.stream_stream(
        "/checkin.v1.IngestService/StreamScans",
        request_serializer=pb.ScanBatch.SerializeToString,
        response_deserializer=pb.BatchAck.FromString,
    )
    codes = list(prepared.codes.values())[:4]

    @FUZZ
    @given(batch=scan_batches(codes))
    def one(batch: pb.ScanBatch) -> None:
        (ack,) = list(call(iter([batch]), metadata=auth_metadata(prepared.token)))
        if ack.HasField("error"):
            assert ack.error.field
            assert ack.error.reason
        else:
            _check_rejections(list(ack.verdicts), list(ack.rejections))

    one()


def test_fuzz_submit_requests(live: tuple[Prepared, grpc.Channel]) -> None:
    prepared, channel = live
    call = channel.unary_unary(
        "/checkin.v1.IngestService/SubmitScans",
        request_serializer=pb.SubmitScansRequest.SerializeToString,
        response_deserializer=pb.SubmitScansResponse.FromString,
    )
    codes = list(prepared.codes.values())[:4]
    scans = st.builds(
        pb.Scan,
        scan_id=st.one_of(st.binary(min_size=16, max_size=16), st.binary(max_size=20)),
        person_ref=_text,
        venue_code=st.one_of(_text, st.sampled_from(codes)),
        time_ms=st.integers(-(2**63), 2**63 - 1),
        direction=st.integers(0, 5),
        contact_phone=_text,
    )

    @FUZZ
    @given(request=st.builds(pb.SubmitScansRequest, scans=st.lists(scans, max_size=60)))
    def one(request: pb.SubmitScansRequest) -> None:
        response = call(request, metadata=auth_metadata(prepared.token))
        if response.HasField("error"):
            assert response.error.field
            assert response.error.reason
        else:
            assert len(response.verdicts) == len(request.scans)
            _check_rejections(list(response.verdicts), list(response.rejections))

    one()


def test_fuzz_raw_bytes(live: tuple[Prepared, grpc.Channel]) -> None:
    prepared, channel = live
    unary = channel.unary_unary(
        "/checkin.v1.IngestService/SubmitScans",
        request_serializer=None,
        response_deserializer=pb.SubmitScansResponse.FromString,
    )
    streaming = channel.stream_stream(
        "/checkin.v1.IngestService/StreamScans",
        request_serializer=None,
        response_deserializer=pb.BatchAck.FromString,
    )

    @FUZZ
    @given(raw=st.binary(max_size=300), use_stream=st.booleans())
    def one(raw: bytes, use_stream: bool) -> None:
        md = auth_metadata(prepared.token)
        if use_stream:
            (ack,) = list(streaming(iter([raw]), metadata=md))
            if ack.HasField("error"):
                assert ack.error.reason
            else:
                _check_rejections(list(ack.verdicts), list(ack.rejections))
        else:
            response = unary(raw, metadata=md)
            if response.HasField("error"):
                assert response.error.reason
            else:
                _check_rejections(list(response.verdicts), list(response.rejections))

    one()
