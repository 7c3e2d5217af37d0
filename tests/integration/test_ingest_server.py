"""The ingest server over real gRPC on 127.0.0.1: verdicts, exactly-once, auth, health."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from api.protos.checkin.v1 import ingest_pb2 as pb
from ingest.client import auth_metadata, encode_batch, open_channel, stub
from ingest.server import SERVICE
from ingest.validation import Verdict
from storage.datadir import DataDir

from .ingest_support import (
    CLOSED_VENUE,
    Prepared,
    ServerThread,
    good_batch,
    prepare_data_dir,
    random_ids,
)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[Prepared, ServerThread]]:
    prepared = prepare_data_dir(tmp_path)
    server = ServerThread(prepared.settings)
    try:
        yield prepared, server
    finally:
        server.stop()


async def _stream(target: str, token: str, batches: list[Any]) -> list[pb.BatchAck]:
    async with open_channel(target) as channel:
        call = stub(channel).StreamScans(iter(batches), metadata=auth_metadata(token))
        return [ack async for ack in call]


def stream(target: str, token: str, batches: list[Any]) -> list[pb.BatchAck]:
    return asyncio.run(_stream(target, token, batches))


async def _submit(target: str, token: str | None, scans: list[pb.Scan]) -> pb.SubmitScansResponse:
    async with open_channel(target) as channel:
        md = auth_metadata(token) if token else None
        return await stub(channel).SubmitScans(pb.SubmitScansRequest(scans=scans), metadata=md)


def test_stream_accepts_then_retry_is_duplicate(live: tuple[Prepared, ServerThread]) -> None:
    prepared, server = live
    rng = np.random.default_rng(1)
    batches = [good_batch(prepared, i, 500, rng) for i in range(5)]
    acks = stream(server.target, prepared.token, batches)
    assert [a.batch_id for a in acks] == list(range(5))
    assert all(a.accepted == 500 and a.rejected == 0 for a in acks)
    again = stream(server.target, prepared.token, batches)
    assert all(a.duplicate == 500 and a.accepted == 0 for a in again)
    assert set(again[0].verdicts) == {Verdict.DUPLICATE}
    assert server.server is not None
    assert server.server.node.data.hot.stats().scans_written == 2500


def test_bad_rows_rejected_with_field_and_reason_good_rows_accepted(
    live: tuple[Prepared, ServerThread],
) -> None:
    prepared, server = live
    rng = np.random.default_rng(2)
    now_ms = int(time.time() * 1000)
    forged = prepared.codes[1][:-2] + ("AA" if not prepared.codes[1].endswith("AA") else "BB")
    codes = [prepared.codes[1], forged, prepared.codes[21], prepared.codes[CLOSED_VENUE]]
    rows = [  # (venue code index, time ms, direction, person, expected verdict, field)
        (0, now_ms, 0, 5, Verdict.ACCEPTED, ""),
        (1, now_ms, 0, 5, Verdict.INVALID_VENUE_SIGNATURE, "venue_codes"),
        (2, now_ms, 0, 5, Verdict.UNKNOWN_VENUE, "venue_codes"),
        (3, now_ms, 0, 5, Verdict.VENUE_CLOSED, "venue_codes"),
        (0, now_ms + 600_000, 0, 5, Verdict.TIME_IN_FUTURE, "times_ms"),
        (0, now_ms - 22 * 86_400_000, 0, 5, Verdict.TIME_TOO_OLD, "times_ms"),
        (0, now_ms, 7, 5, Verdict.MALFORMED, "directions"),
        (9, now_ms, 0, 5, Verdict.MALFORMED, "venue_index"),
        (0, now_ms, 0, 0, Verdict.MALFORMED, "person_numbers"),
        (0, now_ms, 1, 6, Verdict.ACCEPTED, ""),  # OUT without IN: accepted (documented rule)
    ]
    batch = encode_batch(
        7,
        scan_ids=random_ids(len(rows), rng),
        times_ms=[r[1] for r in rows],
        directions=[r[2] for r in rows],
        venue_codes=codes,
        venue_index=[r[0] for r in rows],
        person_numbers=[r[3] for r in rows],
    )
    (ack,) = stream(server.target, prepared.token, [batch])
    assert list(ack.verdicts) == [int(r[4]) for r in rows]
    assert ack.accepted == 2
    assert ack.rejected == 8
    by_index = {r.index: r for r in ack.rejections}
    for i, row in enumerate(rows):
        if row[4] != Verdict.ACCEPTED:
            assert by_index[i].field == row[5]
            assert by_index[i].reason
            assert by_index[i].verdict == row[4]


def test_same_scan_id_other_content_is_conflict(live: tuple[Prepared, ServerThread]) -> None:
    prepared, server = live
    rng = np.random.default_rng(3)
    first = good_batch(prepared, 1, 10, rng)
    changed = pb.ScanBatch()
    changed.CopyFrom(first)
    changed.directions = bytes(1 - d for d in first.directions)
    (a,) = stream(server.target, prepared.token, [first])
    (b,) = stream(server.target, prepared.token, [changed])
    assert a.accepted == 10
    assert b.rejected == 10
    assert {r.verdict for r in b.rejections} == {Verdict.CONFLICT}
    assert {r.field for r in b.rejections} == {"scan_ids"}


def test_malformed_batch_is_answered_with_batch_error(live: tuple[Prepared, ServerThread]) -> None:
    prepared, server = live
    bad = pb.ScanBatch(
        batch_id=3, scan_ids=b"x" * 32, person_numbers=b"\1" * 16, times_ms=b"\0" * 8
    )
    (ack,) = stream(server.target, prepared.token, [bad])
    assert ack.batch_id == 3
    assert ack.error.field == "times_ms"
    assert "expected 8 bytes per scan" in ack.error.reason


def test_unary_submit_with_contact_phone(live: tuple[Prepared, ServerThread]) -> None:
    prepared, server = live
    now_ms = int(time.time() * 1000)
    scans = [
        pb.Scan(
            scan_id=bytes([i + 1]) * 16,
            person_ref="0912 345 678",
            venue_code=prepared.codes[2],
            time_ms=now_ms,
            direction=pb.DIRECTION_IN,
            contact_phone="+84 912 345 679" if i == 0 else "",
        )
        for i in range(3)
    ]
    scans.append(pb.Scan(scan_id=b"\x09" * 16, person_ref="bad ref!", venue_code="x", time_ms=1))
    response = asyncio.run(_submit(server.target, prepared.token, scans))
    assert list(response.verdicts) == [1, 1, 1, int(Verdict.MALFORMED)]
    assert response.rejections[0].field == "times_ms"  # first failing check in order wins
    again = asyncio.run(_submit(server.target, prepared.token, scans[:3]))
    assert list(again.verdicts) == [2, 2, 2]
    assert server.server is not None
    people = server.server.node.people
    person = server.server.node.ingestor._pseudonyms.texts(["0912345678"])[0][0]
    record = people.lookup(int(person))
    assert record is not None
    assert record.phone == "0912345679"


@pytest.mark.parametrize("token", [None, "not-a-token"])
def test_calls_without_a_valid_token_are_unauthenticated(
    live: tuple[Prepared, ServerThread], token: str | None
) -> None:
    _prepared, server = live
    with pytest.raises(grpc.aio.AioRpcError) as err:
        asyncio.run(_submit(server.target, token, []))
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED

    async def streaming() -> grpc.StatusCode:
        async with open_channel(server.target) as channel:
            md = auth_metadata(token) if token else None
            # wait for the status without writing: a write into a call the server already
            # refused races in the client, which then reports a local INTERNAL
            call = stub(channel).StreamScans(metadata=md)
            return await call.code()  # type: ignore[no-any-return]

    assert asyncio.run(streaming()) == grpc.StatusCode.UNAUTHENTICATED


def test_health_and_reflection_without_token(live: tuple[Prepared, ServerThread]) -> None:
    _prepared, server = live

    async def check() -> int:
        async with open_channel(server.target) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            reply = await health.Check(health_pb2.HealthCheckRequest(service=SERVICE))
            return int(reply.status)

    assert asyncio.run(check()) == health_pb2.HealthCheckResponse.SERVING

    async def services() -> list[str]:
        async with open_channel(server.target) as channel:
            refl = reflection_pb2_grpc.ServerReflectionStub(channel)
            call = refl.ServerReflectionInfo(
                iter([reflection_pb2.ServerReflectionRequest(list_services="")])
            )
            out = []
            async for reply in call:
                out = [s.name for s in reply.list_services_response.service]
            return out

    assert SERVICE in asyncio.run(services())


def test_acks_survive_restart(tmp_path: Path) -> None:
    prepared = prepare_data_dir(tmp_path)
    server = ServerThread(prepared.settings)
    rng = np.random.default_rng(4)
    batches = [good_batch(prepared, i, 100, rng) for i in range(3)]
    acks = stream(server.target, prepared.token, batches)
    server.stop()
    assert sum(a.accepted for a in acks) == 300
    with DataDir(tmp_path) as data:
        assert data.hot.stats().index_entries == 300
