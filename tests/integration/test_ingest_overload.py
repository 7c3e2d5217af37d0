"""Back-pressure on a live server: in-flight budget, stream limit, message size."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from api.protos.checkin.v1 import ingest_pb2 as pb
from bench import overload_ingest
from ingest.client import auth_metadata, open_channel, stub
from ingest.server import SERVICE
from storage.datadir import DataDir

from .ingest_support import Prepared, ServerThread, good_batch, prepare_data_dir


async def _flood(
    prepared: Prepared, target: str, streams: int, batches: int
) -> tuple[set[bytes], list[grpc.StatusCode]]:
    """Many streams at once; returns the acked scan ids and the statuses of refused calls."""
    acked: set[bytes] = set()
    codes: list[grpc.StatusCode] = []

    async def one(s: int) -> None:
        rng = np.random.default_rng(s)
        sent = {i: good_batch(prepared, i, 2000, rng) for i in range(batches)}
        async with open_channel(target) as channel:
            call = stub(channel).StreamScans(
                iter(sent.values()), metadata=auth_metadata(prepared.token)
            )
            try:
                async for ack in call:
                    ids = np.frombuffer(sent[ack.batch_id].scan_ids, "V16")
                    acked.update(i.tobytes() for i in ids)
            except grpc.aio.AioRpcError as exc:
                codes.append(exc.code())

    await asyncio.gather(*(one(s) for s in range(streams)))
    return acked, codes


async def _health(target: str) -> int:
    async with open_channel(target) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=SERVICE)
        )
        return int(reply.status)


def test_overload_is_refused_fast_and_acked_scans_are_kept(tmp_path: Path) -> None:
    prepared = prepare_data_dir(
        tmp_path, ingest_max_inflight_scans=4000, ingest_overload_wait_ms=0, ingest_max_streams=3
    )
    server = ServerThread(prepared.settings)
    try:
        acked, codes = asyncio.run(_flood(prepared, server.target, streams=6, batches=30))
        assert codes, "expected some calls refused"
        # the server refuses with RESOURCE_EXHAUSTED (its metrics count each one); a client
        # still writing into a refused stream may report a local INTERNAL instead: grpc's aio
        # client overwrites the delivered status when a write fails after the call ended
        # (grpc/grpc#36066; debug string 'Failed "execute_batch": (SendMessageOperation,)')
        assert set(codes) <= {grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.INTERNAL}
        assert server.server is not None
        refused = server.server.metrics.value(
            "qrtrace_ingest_refused_calls_total", {"code": "resource_exhausted"}
        )
        assert refused == len(codes)
        assert acked
        assert asyncio.run(_health(server.target)) == 1  # SERVING
    finally:
        server.stop()
    with DataDir(tmp_path) as data:
        stored = np.concatenate(
            [data.hot.tail_scans(d)[0]["scan_id"] for d in data.hot.tail_days()]
        )
    assert {s.tobytes() for s in stored} >= acked


def test_message_larger_than_the_limit_is_resource_exhausted(tmp_path: Path) -> None:
    prepared = prepare_data_dir(tmp_path, ingest_max_message_bytes=64 * 1024)
    server = ServerThread(prepared.settings)
    try:
        big = good_batch(prepared, 1, 5000, np.random.default_rng(1))

        async def send() -> grpc.StatusCode:
            async with open_channel(server.target) as channel:
                call = stub(channel).SubmitScans
                try:
                    await call(
                        pb.SubmitScansRequest(scans=[pb.Scan(scan_id=big.scan_ids)]),
                        metadata=auth_metadata(prepared.token),
                    )
                except grpc.aio.AioRpcError as exc:
                    return exc.code()
                return grpc.StatusCode.OK

        assert asyncio.run(send()) == grpc.StatusCode.RESOURCE_EXHAUSTED
    finally:
        server.stop()


@pytest.mark.slow
def test_three_times_capacity_is_refused_without_loss_or_memory_growth(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The CI-sized overload check; `python -m bench.overload_ingest` runs the full 30 s at 3x
    the capacity it measures first. Here a fixed, modest load that two Python client
    processes on a loaded 2-core runner can really offer: 60 gateways against a 16-stream
    limit (they keep ~30 streams open at once there; more gateways only queue in the clients).
    """
    monkeypatch.setenv("QRTRACE_INGEST_MAX_STREAMS", "16")
    summary = overload_ingest.run(
        seconds=4, capacity=60_000, factor=3.0, clients=2, gateway_rate=3_000
    )
    # RESOURCE_EXHAUSTED from the server; INTERNAL / CANCELLED are what a grpc client
    # reports locally when it was still writing into a call the server had refused
    assert summary["refused"].get("RESOURCE_EXHAUSTED", 0) > 0, summary
    assert set(summary["refused"]) <= {"RESOURCE_EXHAUSTED", "INTERNAL", "CANCELLED"}, summary
    assert summary["lost"] == 0, summary
    assert summary["duplicated"] == 0, summary
    assert summary["acked"] > 0, summary
    assert summary["overhead_mib"] <= 256, summary
    assert summary["rss_growth_mib"] <= 256, summary  # data included: the hot state is bounded
    assert summary["recovered_s"] <= 5, summary
