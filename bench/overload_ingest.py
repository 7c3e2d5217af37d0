"""Overload acceptance for the ingest server (issue 4): offer 3x its capacity for 30 s.

    python -m bench.overload_ingest --seconds 30            # measures capacity first
    python -m bench.overload_ingest --seconds 30 --capacity 400000

The real server runs in a child process (as `bench.bench_ingest` starts it). Overload comes
the way it would in a city: more gateways than the server can take. Each gateway is one
StreamScans call sending 1,000-scan batches open-loop at `--gateway-rate` scans/s (a batch
more than 1 s late is skipped, not sent in a burst), and there are enough of them, spread
over the client processes, to offer `--factor` x capacity. One gateway alone is pushed back
by HTTP/2 flow control (its window of batches in flight); the excess gateways are refused
(stream limit, in-flight budget) and retry their call after 50 ms, giving up their
unacknowledged batches (this measures refusal, not retry). Afterwards it checks, and prints
as one JSON object:

- `refused`: statuses of refused calls (RESOURCE_EXHAUSTED expected, quickly);
- `rss_growth_mib`: the server's peak RSS minus its RSS after warm-up, beside
  `data_mib`, the part that is the flood's accepted scans themselves (the scan-id index's
  in-memory part, ~56 B per scan up to `hot_index_memory_mib`, plus its filter, ~2-4 B per
  scan; the in-memory tail, 36 B per scan up to `hot_tail_memory_mib`), and `overhead_mib`,
  the rest;
- `lost`: acknowledged scans missing from the store after a graceful stop (must be 0), and
  `duplicated`: stored scan ids that occur twice (must be 0);
- `recovered_s`: from the end of the flood until health is SERVING and a fresh batch is
  acknowledged.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import grpc
import numpy as np
from grpc_health.v1 import health_pb2, health_pb2_grpc

from api.protos.checkin.v1 import ingest_pb2 as pb
from bench.bench_ingest import OPTIONS, STREAM, BatchMaker, Child, prepare, run_clients
from ingest.client import auth_metadata
from storage.settings import load_settings

INDEX_BYTES_PER_SCAN = 56
FILTER_BYTES_PER_SCAN = 4
TAIL_BYTES_PER_SCAN = 36


async def _flood(
    port: int,
    token: str,
    codes: list[str],
    *,
    rate: float,
    seconds: float,
    streams: int,
    seed: int,
) -> dict[str, Any]:
    """Open-loop batches at `rate` scans/s in all over `streams` calls; acked (stream, k)."""
    acked: list[tuple[int, int]] = []
    refused: dict[str, int] = {}
    end = time.perf_counter() + seconds
    makers = [BatchMaker(codes, 1000, seed=seed * 100 + s) for s in range(streams)]
    per_stream = rate / streams / 1000  # batches/s

    async def one(s: int) -> None:
        # its own connection, as a real gateway has (no shared subchannel)
        options = [*OPTIONS, ("grpc.use_local_subchannel_pool", 1)]
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=options) as channel:
            await gateway(s, channel)

    async def gateway(s: int, channel: grpc.aio.Channel) -> None:
        maker = makers[s]
        while time.perf_counter() < end:
            call = channel.stream_stream(
                STREAM, request_serializer=None, response_deserializer=pb.BatchAck.FromString
            )
            begin = time.perf_counter()

            async def requests(begin: float = begin) -> Any:
                k = 0
                while (due := begin + k / per_stream) < end:
                    k += 1
                    late = time.perf_counter() - due
                    if late > 1.0:
                        continue
                    await asyncio.sleep(max(0.0, -late))
                    yield maker.make()[1]

            try:
                async for ack in call(requests(), metadata=auth_metadata(token)):
                    if ack.accepted + ack.duplicate == 1000:
                        acked.append((s, ack.batch_id))
            except grpc.aio.AioRpcError as exc:
                name = exc.code().name
                refused[name] = refused.get(name, 0) + 1
                await asyncio.sleep(0.05)

    await asyncio.gather(*(one(s) for s in range(streams)))  # a connection per gateway
    return {"acked": acked, "refused": refused, "salts": [m.salt for m in makers]}


def _flood_proc(kwargs: dict[str, Any], out: Any, go: Any) -> None:
    go.wait()  # every process starts together, so all gateways are open at once
    out.put(asyncio.run(_flood(**kwargs)))


def _ids(salt: int, ks: list[int]) -> np.ndarray:
    """The scan ids BatchMaker gave batches `ks` (16-byte strings)."""
    k = np.asarray(ks, dtype=np.uint64)[:, None]
    ids = np.empty((len(ks), 1000, 2), "<u8")
    ids[:, :, 0] = (k << np.uint64(20)) + np.arange(1000, dtype=np.uint64) + np.uint64(1)
    ids[:, :, 1] = salt
    return ids.reshape(-1, 2).view("S16").reshape(-1)


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def _recovered(port: int, token: str, codes: list[str], deadline_s: float) -> float:
    """Seconds until health is SERVING and a fresh batch is acknowledged."""
    begin = time.perf_counter()
    maker = BatchMaker(codes, 1000, seed=999_999)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=OPTIONS) as channel:
        while time.perf_counter() - begin < deadline_s:
            try:
                reply = await health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(), timeout=1
                )
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    call = channel.stream_stream(
                        STREAM,
                        request_serializer=None,
                        response_deserializer=pb.BatchAck.FromString,
                    )
                    acks = [
                        a
                        async for a in call(
                            iter([maker.make()[1]]), metadata=auth_metadata(token), timeout=2
                        )
                    ]
                    if acks and acks[0].accepted == 1000:
                        return time.perf_counter() - begin
            except grpc.aio.AioRpcError:
                pass
            await asyncio.sleep(0.1)
    return float("inf")


def run(
    *,
    seconds: float,
    capacity: float | None,
    factor: float,
    clients: int,
    gateway_rate: float,
    max_streams: int | None = None,
) -> dict[str, Any]:
    """The whole check; returns the summary. `max_streams` overrides the server's limit."""
    if max_streams is not None:  # the server child reads its settings from the environment
        os.environ["QRTRACE_INGEST_MAX_STREAMS"] = str(max_streams)
    with tempfile.TemporaryDirectory(prefix="overload-ingest-") as tmp:
        data_dir = Path(tmp)
        token, codes = prepare(data_dir)
        # the index pre-sized as a production server would be for a day (hot_index_capacity):
        # its growth is then not a transient doubling in the middle of the flood
        child = Child("real", data_dir, index_capacity=16_000_000)
        common = {"port": child.port, "token": token, "codes": codes}
        try:
            if capacity is None:  # also the warm-up
                capacity = run_clients(
                    "stream",
                    clients,
                    **common,
                    streams=2,
                    batch=1000,
                    seconds=min(5.0, seconds),
                    warmup=1,
                )["scans_per_s"]
            else:
                run_clients("stream", 1, **common, streams=1, batch=1000, seconds=1, warmup=0)
            rss0 = _rss_mib(child.proc.pid)
            peak = [rss0]
            stop = threading.Event()

            def sample() -> None:
                while not stop.wait(0.25):
                    peak[0] = max(peak[0], _rss_mib(child.proc.pid))

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            ctx = mp.get_context("spawn")
            out = ctx.Queue()
            rate = factor * capacity / clients
            streams = max(1, round(rate / gateway_rate))
            go = ctx.Barrier(clients + 1)
            procs = [
                ctx.Process(
                    target=_flood_proc,
                    args=(
                        {
                            **common,
                            "rate": rate,
                            "seconds": seconds,
                            "streams": streams,
                            "seed": 1 + c,
                        },
                        out,
                        go,
                    ),
                )
                for c in range(clients)
            ]
            for p in procs:
                p.start()
            go.wait()  # the clients have imported everything
            start_at = time.time()
            floods = [out.get() for _ in procs]
            for p in procs:
                p.join()
            flood_s = time.time() - start_at
            recovered = asyncio.run(_recovered(child.port, token, codes, 30))
            stop.set()
            sampler.join()
        finally:
            child.close()
        refused: dict[str, int] = {}
        acked_ids = []
        for flood in floods:
            for name, n in flood["refused"].items():
                refused[name] = refused.get(name, 0) + n
            by_stream: dict[int, list[int]] = {}
            for s, k in flood["acked"]:
                by_stream.setdefault(s, []).append(k)
            acked_ids += [_ids(flood["salts"][s], ks) for s, ks in by_stream.items()]
        acked = np.concatenate(acked_ids) if acked_ids else np.empty(0, "S16")
        from storage.datadir import DataDir  # noqa: PLC0415 - after the server has exited

        with DataDir(data_dir) as data:
            parts = [data.hot.tail_scans(d)[0]["scan_id"] for d in data.hot.tail_days()]
        stored = np.concatenate(parts).view("S16") if parts else np.empty(0, "S16")
        growth = peak[0] - rss0
        salts = np.array([salt for f in floods for salt in f["salts"]], dtype=np.uint64)
        from_flood = np.isin(stored.astype("V16").view("<u8").reshape(-1, 2)[:, 1], salts)
        flood_scans = int(from_flood.sum())
        settings = load_settings(None, data_dir=data_dir)
        spills = settings.hot_index_memory_mib > 0
        index_mib = flood_scans * INDEX_BYTES_PER_SCAN / 2**20
        data_mib = (
            (min(index_mib, settings.hot_index_memory_mib) if spills else index_mib)
            + (flood_scans * FILTER_BYTES_PER_SCAN / 2**20 if spills else 0)
            + min(flood_scans * TAIL_BYTES_PER_SCAN / 2**20, settings.hot_tail_memory_mib)
        )
        return {
            "seconds": seconds,
            "capacity_scans_per_s": round(capacity),
            "offered_scans_per_s": round(factor * capacity),
            "gateways": streams * clients,
            "flood_s": round(flood_s, 1),
            "acked_scans_per_s": round(len(acked) / flood_s),
            "refused": refused,
            "rss_after_warmup_mib": round(rss0, 1),
            "rss_growth_mib": round(growth, 1),
            "data_mib": round(data_mib, 1),
            "overhead_mib": round(growth - data_mib, 1),
            "acked": len(acked),
            "stored": len(stored),
            "lost": int(np.count_nonzero(~np.isin(acked, stored))),
            "duplicated": len(stored) - len(np.unique(stored)),
            "recovered_s": round(recovered, 2),
            "load_average": [round(x, 2) for x in os.getloadavg()],
        }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--capacity", type=float, help="scans/s (default: measured first)")
    parser.add_argument("--factor", type=float, default=3.0)
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--gateway-rate", type=float, default=10_000, help="scans/s per stream")
    parser.add_argument("--max-streams", type=int, help="server ingest_max_streams override")
    args = parser.parse_args()
    summary = run(
        seconds=args.seconds,
        capacity=args.capacity,
        factor=args.factor,
        clients=args.clients,
        gateway_rate=args.gateway_rate,
        max_streams=args.max_streams,
    )
    sys.stdout.write(json.dumps(summary) + "\n")


if __name__ == "__main__":
    main()
