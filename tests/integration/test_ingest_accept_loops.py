"""Several accept loops (gRPC servers) sharing one port, one servicer behind them all."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import grpc
import pytest

from api.protos.checkin.v1 import ingest_pb2 as pb
from ingest.client import auth_metadata, stub
from ingest.errors import IngestConfigError
from ingest.server import create_server
from ingest.validation import Verdict

from .ingest_support import ServerThread, prepare_data_dir

CONNECTIONS = 12


async def _one_scan_per_connection(
    target: str, token: str, code: str, first: int, now_ms: int
) -> list[list[int]]:
    """One-scan calls at once over CONNECTIONS separate TCP connections (own subchannels:
    the kernel spreads connections, not calls, over the loops). A retry passes the same
    `now_ms`: the same scan must be the same content, or it is a CONFLICT, not a DUPLICATE."""
    channels = [
        grpc.aio.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)])
        for _ in range(CONNECTIONS)
    ]
    try:
        replies = await asyncio.gather(
            *(
                stub(channel).SubmitScans(
                    pb.SubmitScansRequest(
                        scans=[
                            pb.Scan(
                                scan_id=(first + k).to_bytes(16, "little"),
                                person_ref=f"09{first + k:08d}",
                                venue_code=code,
                                time_ms=now_ms,
                            )
                        ]
                    ),
                    metadata=auth_metadata(token),
                )
                for k, channel in enumerate(channels)
            )
        )
    finally:
        for channel in channels:
            await channel.close()
    return [list(r.verdicts) for r in replies]


def test_every_loop_serves_and_exactly_once_holds_across_them(tmp_path: Path) -> None:
    prepared = prepare_data_dir(tmp_path, ingest_accept_loops=3)
    server = ServerThread(prepared.settings)
    try:
        assert server.server is not None
        assert len(server.server.grpc_servers) == 3
        for round_ in range(3):  # new connections each round: they land on various loops
            first = 1000 * (round_ + 1)
            now_ms = int(time.time() * 1000)
            call = _one_scan_per_connection(
                server.target, prepared.token, prepared.codes[1], first, now_ms
            )
            assert asyncio.run(call) == [[Verdict.ACCEPTED]] * CONNECTIONS
            retry = _one_scan_per_connection(
                server.target, prepared.token, prepared.codes[1], first, now_ms
            )
            assert asyncio.run(retry) == [[Verdict.DUPLICATE]] * CONNECTIONS
        stored = server.server.node.data.hot.stats().index_entries
        assert stored == 3 * CONNECTIONS
    finally:
        server.stop()


def test_unauthenticated_calls_are_refused_and_counted(tmp_path: Path) -> None:
    prepared = prepare_data_dir(tmp_path, ingest_accept_loops=2)
    server = ServerThread(prepared.settings)
    try:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            asyncio.run(
                _one_scan_per_connection(
                    server.target, "wrong", prepared.codes[1], 1, int(time.time() * 1000)
                )
            )
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert server.server is not None
        refused = server.server.metrics.value(
            "qrtrace_ingest_refused_calls_total", {"code": "unauthenticated"}
        )
        assert refused >= 1
    finally:
        server.stop()


@pytest.mark.parametrize("reuseport", [False, True])
def test_a_port_something_listens_on_is_refused(tmp_path: Path, reuseport: bool) -> None:
    prepared = prepare_data_dir(tmp_path)
    with socket.socket() as taken:
        if reuseport:  # another qrtrace's accept loops bind like this
            taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = prepared.settings.model_copy(update={"ingest_port": port})

        async def bind() -> None:
            create_server(settings)

        with pytest.raises(IngestConfigError, match=f"cannot bind 127.0.0.1:{port}"):
            asyncio.run(bind())
