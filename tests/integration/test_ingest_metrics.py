"""Prometheus metrics of a live server, read by scraping its real /metrics endpoint."""

from __future__ import annotations

import asyncio
import time
import urllib.request
from pathlib import Path

import numpy as np
from prometheus_client import start_http_server
from prometheus_client.parser import text_string_to_metric_families

from api.protos.checkin.v1 import ingest_pb2 as pb
from ingest.client import auth_metadata, open_channel, stub

from .ingest_support import ServerThread, good_batch, prepare_data_dir


def _scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
        text = reply.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_count_verdicts_latency_queue_and_fsync_batches(tmp_path: Path) -> None:
    prepared = prepare_data_dir(tmp_path)
    server = ServerThread(prepared.settings)
    assert server.server is not None
    httpd, _thread = start_http_server(0, addr="127.0.0.1", registry=server.server.metrics.registry)
    try:
        rng = np.random.default_rng(3)
        batches = [good_batch(prepared, i, 100, rng) for i in range(5)]
        bad = pb.ScanBatch()
        bad.CopyFrom(batches[0])
        bad.batch_id = 99  # a retry of batch 0: 100 duplicates

        async def run() -> None:
            async with open_channel(server.target) as channel:
                call = stub(channel).StreamScans(
                    iter([*batches, bad]), metadata=auth_metadata(prepared.token)
                )
                assert len([a async for a in call]) == 6
                reply = await stub(channel).SubmitScans(
                    pb.SubmitScansRequest(
                        scans=[
                            pb.Scan(
                                scan_id=b"\x01" * 16,
                                person_ref="0912345678",
                                venue_code="not a code",
                                time_ms=int(time.time() * 1000),
                            )
                        ]
                    ),
                    metadata=auth_metadata(prepared.token),
                )
                assert reply.rejected == 1

        asyncio.run(run())
        port = httpd.server_address[1]
        deadline = time.monotonic() + 10
        while True:  # the fsync histogram is fed once a second from the store's counters
            m = _scrape(port)
            if m.get(("qrtrace_store_fsync_batch_scans_sum", ()), 0) >= 500:
                break
            assert time.monotonic() < deadline, "fsync batch histogram never saw the scans"
            time.sleep(0.2)
        verdict = "qrtrace_ingest_scans_total"
        assert m[(verdict, (("verdict", "accepted"),))] == 500
        assert m[(verdict, (("verdict", "duplicate"),))] == 100
        assert m[(verdict, (("verdict", "invalid_venue_signature"),))] == 1
        assert m[("qrtrace_ingest_batches_total", (("rpc", "stream"),))] == 6
        assert m[("qrtrace_ingest_batches_total", (("rpc", "unary"),))] == 1
        stream_latency = (("rpc", "stream"),)
        assert m[("qrtrace_ingest_ack_latency_seconds_count", stream_latency)] == 6
        assert m[("qrtrace_ingest_ack_latency_seconds_sum", stream_latency)] > 0
        assert m[("qrtrace_ingest_ack_latency_seconds_count", (("rpc", "unary"),))] == 1
        assert m[("qrtrace_ingest_queue_depth_scans", ())] == 0  # everything is durable
        assert m[("qrtrace_ingest_open_streams", ())] == 0
        commits = m[("qrtrace_store_fsync_batch_scans_count", ())]
        assert 1 <= commits <= 6
        assert m[("qrtrace_store_fsync_batch_scans_sum", ())] == 500  # accepted scans only
    finally:
        httpd.shutdown()
        server.stop()
