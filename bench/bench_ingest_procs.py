"""Ingest scaling with processes: `qrtrace serve --processes 1` vs `--processes N`, same run.

    python -m bench.bench_ingest_procs --processes 1 2 --seconds 10

Each setting starts the real node (`qrtrace serve`, officer API and supervisor included) on a
fresh data dir, then runs the same load as `bench.bench_ingest`: stream clients (columnar
batches, every ack durable) and, unless `--no-unary`, one-scan SubmitScans at full speed
(the native client of `bench.native_unary` where it builds, `--unary-client python` for
Python client processes), then open loop at half that rate for the p50/p99 ack latency as
the client sees it and, from each ingest process's own ack-latency histogram (its Prometheus
endpoint), the bucket that holds its p99: a tail inside one process, or in none (then the
transport's).
Every stream and every unary channel opens its OWN TCP connection (a local subchannel pool):
the kernel spreads connections, not calls, over the processes sharing the port (SO_REUSEPORT).
The 1-process run is the baseline; figures are reported with the load average before and
after each run, because the machine may be shared. Nothing asserts on the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing as mp
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import grpc
import numpy as np
from prometheus_client.parser import text_string_to_metric_families

import bench.bench_ingest as single
from api.protos.checkin.v1 import ingest_pb2 as pb
from bench.bench_ingest import (
    OPTIONS,
    STREAM,
    UNARY,
    WINDOW,
    BatchMaker,
    _scan,
    child_env,
    cpu_seconds,
    prepare,
)
from ingest.client import auth_metadata
from storage.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
_PORT = re.compile(r"serving\s+checkin\.v1\s+on\s+[\d.]+:(\d+)")
LOCAL = [*OPTIONS, ("grpc.use_local_subchannel_pool", 1)]


def start_node(
    data_dir: Path, processes: int, metrics_port: int = 0
) -> tuple[subprocess.Popen[str], int]:
    """`qrtrace serve --processes N` on port 0; returns (process, ingest port). With
    `metrics_port`, ingest process i serves its Prometheus metrics on `metrics_port + i`."""
    env = child_env(
        QRTRACE_LOG_LEVEL="WARNING",
        QRTRACE_INGEST_MAX_MESSAGE_BYTES=str(64 << 20),
        QRTRACE_HOT_INDEX_CAPACITY="8000000",
        QRTRACE_INGEST_METRICS_PORT=str(metrics_port),
    )
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "api.cli.main", "serve", "--processes", str(processes),
            "--port", "0", "--api-grpc-port", "0", "--http-port", "0", "--data-dir", str(data_dir),
        ],
        cwd=ROOT, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    seen = ""
    for line in proc.stderr:
        seen += " " + line.rstrip("\n")
        match = _PORT.search(seen)
        if match:
            threading.Thread(target=proc.stderr.read, daemon=True).start()
            return proc, int(match.group(1))
    raise RuntimeError(f"node did not start (exit {proc.wait()}):{seen[-2000:]}")


async def _stream(port: int, token: str, codes: list[str], kw: dict[str, Any]) -> dict[str, Any]:
    acked = 0
    counting = False
    stop_at = time.perf_counter() + kw["warmup"] + kw["seconds"]

    async def one(s: int) -> None:
        nonlocal acked
        maker = BatchMaker(codes, kw["batch"], seed=1000 + 64 * os.getpid() + s)
        sent: set[int] = set()
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=LOCAL) as channel:
            call = channel.stream_stream(
                STREAM, request_serializer=None, response_deserializer=pb.BatchAck.FromString
            )

            room = asyncio.Event()

            async def requests() -> Any:
                while time.perf_counter() < stop_at:
                    k, raw = maker.make()
                    sent.add(k)
                    yield raw
                    while len(sent) > kw["window"]:
                        room.clear()
                        await room.wait()

            async for ack in call(requests(), metadata=auth_metadata(token)):
                sent.discard(ack.batch_id)
                room.set()
                if counting:
                    acked += ack.accepted

    async def clock() -> None:
        nonlocal counting
        await asyncio.sleep(kw["warmup"])
        counting = True

    task = asyncio.create_task(clock())
    begin = time.perf_counter()
    await asyncio.gather(*(one(s) for s in range(kw["streams"])))
    await task
    return {"scans_per_s": acked / (time.perf_counter() - begin - kw["warmup"])}


async def _unary(port: int, token: str, codes: list[str], kw: dict[str, Any]) -> dict[str, Any]:
    rng = np.random.default_rng([int(time.time()), os.getpid()])
    md = auth_metadata(token)
    done = 0
    end = time.perf_counter() + kw["seconds"]
    counter = iter(range(1, 10**12))

    async def worker(channel: grpc.aio.Channel) -> None:
        nonlocal done
        call = channel.unary_unary(
            UNARY, request_serializer=None, response_deserializer=pb.SubmitScansResponse.FromString
        )
        while time.perf_counter() < end:
            reply = await call(_scan(codes, rng, next(counter)), metadata=md)
            done += reply.accepted + reply.duplicate

    channels = [
        grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=LOCAL) for _ in range(kw["conns"])
    ]
    begin = time.perf_counter()
    await asyncio.gather(*(worker(channels[i % len(channels)]) for i in range(64)))
    elapsed = time.perf_counter() - begin
    for channel in channels:
        await channel.close()
    return {"scans_per_s": done / elapsed}


def _client(kind: str, args: tuple[Any, ...], out: Any) -> None:
    run = _stream if kind == "stream" else _unary
    try:
        out.put(asyncio.run(run(*args)))
    except BaseException as exc:
        out.put({"error": repr(exc)})


def run_clients(kind: str, procs: int, *args: Any) -> float:
    """Scans/s summed over `procs` client processes."""
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    children = [ctx.Process(target=_client, args=(kind, args, out)) for _ in range(procs)]
    for child in children:
        child.start()
    results = [out.get() for _ in children]
    for child in children:
        child.join()
    errors = [r["error"] for r in results if "error" in r]
    if errors:
        raise RuntimeError(f"client processes failed: {errors}")
    return float(sum(r["scans_per_s"] for r in results))


def free_port_run(n: int) -> int:
    """The first of `n` consecutive loopback ports that are free now (the metrics ports)."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20_000, 60_000 - n)
        try:
            with contextlib.ExitStack() as held:
                for port in range(base, base + n):
                    sock = held.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError(f"no {n} consecutive free ports")


def unary_buckets(port: int) -> dict[float, float]:
    """One ingest process's unary ack-latency histogram: bucket bound (s) -> calls at or
    under it, from its Prometheus endpoint."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
        text = reply.read().decode()
    out: dict[float, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "qrtrace_ingest_ack_latency_seconds_bucket" and (
                sample.labels.get("rpc") == "unary"
            ):
                out[float(sample.labels["le"])] = sample.value
    return out


def server_p99(before: dict[float, float], after: dict[float, float]) -> tuple[int, float]:
    """(calls, the bucket bound in ms that holds their 99th percentile) between two scrapes:
    the latency inside one ingest process, to tell its tail from the transport's."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    total = counts[-1] if counts else 0.0
    for bound, count in zip(bounds, counts, strict=True):
        if total and count >= 0.99 * total:
            return int(total), bound * 1e3
    return int(total), math.nan


def fair_window(streams: int, batch: int) -> int:
    """Batches one stream keeps unacknowledged: `WINDOW`, or fewer where all the streams
    together would overrun the node's in-flight budget (`ingest_max_inflight_scans`) in one
    process. A client that overruns it is answered RESOURCE_EXHAUSTED and must back off; the
    bench measures throughput, not that, so it stays inside the budget as a good client does."""
    budget = Settings().ingest_max_inflight_scans
    return max(1, min(WINDOW, budget // (streams * batch) - 1))


def _node_pids(data: Path, supervisor: int) -> list[int]:
    """The node's pids: the supervisor (or single process) and its ingest processes."""
    pids = [supervisor]
    for path in sorted((data / "ingest").glob("p*.json")):
        pids.append(int(json.loads(path.read_text())["pid"]))
    return pids


def measure(processes: int, args: argparse.Namespace) -> dict[str, Any]:
    """One node with `processes` ingest processes: stream (and unary) scans/s."""
    with tempfile.TemporaryDirectory(prefix="qrtrace-procs-") as tmp:
        data = Path(tmp)
        token, codes = prepare(data)
        metrics_base = free_port_run(processes + 1)  # the supervisor's is the last
        proc, port = start_node(data, processes, metrics_base)
        metrics_ports = [metrics_base + i for i in range(processes)]
        try:
            row: dict[str, Any] = {"processes": processes, "load_before": os.getloadavg()[0]}
            kw = {"streams": args.streams, "batch": args.batch}
            kw["window"] = fair_window(args.clients * args.streams, args.batch)
            kw |= {"seconds": args.seconds, "warmup": args.warmup}
            pids = _node_pids(data, proc.pid)
            cpu0 = {p: cpu_seconds(p) for p in pids}
            wall0 = time.perf_counter()
            row["stream_scans_per_s"] = run_clients("stream", args.clients, port, token, codes, kw)
            wall = time.perf_counter() - wall0
            cpu = {p: cpu_seconds(p) - cpu0[p] for p in pids}
            # CPU seconds used per second of the stream run: supervisor, and every process
            row["cpu_supervisor"] = cpu[proc.pid] / wall if processes > 1 else 0.0
            row["cpu_node"] = sum(cpu.values()) / wall
            if args.unary:
                seconds = args.unary_seconds or args.seconds
                client = args.client
                if client == "native":
                    cap = single.run_unary(
                        client, 1, port=port, token=token, codes=codes, seconds=seconds, rate=None
                    )
                    row["unary_scans_per_s"] = cap["scans_per_s"]
                else:
                    ukw = {"seconds": seconds, "conns": 4}
                    row["unary_scans_per_s"] = run_clients(
                        "unary", args.clients, port, token, codes, ukw
                    )
                # the DESIGN §9 latency point: open loop at half the capacity just measured
                scraped = [unary_buckets(p) for p in metrics_ports]
                half = single.run_unary(
                    client,
                    args.clients,
                    port=port,
                    token=token,
                    codes=codes,
                    seconds=seconds,
                    rate=row["unary_scans_per_s"] / 2,
                )
                row["unary_half_p50_ms"], row["unary_half_p99_ms"] = half["p50_ms"], half["p99_ms"]
                row["unary_half_server"] = [
                    server_p99(b, unary_buckets(p))
                    for b, p in zip(scraped, metrics_ports, strict=True)
                ]
            row["load_after"] = os.getloadavg()[0]
            # printed before the node's shutdown (which seals everything streamed: minutes
            # after a long run), so a run cut short still reports what it measured
            sys.stdout.write(_line(row, None))
            sys.stdout.flush()
        finally:
            proc.terminate()
            proc.wait(120)
    return row


def _line(row: dict[str, Any], base: dict[str, Any] | None) -> str:
    """One row as text; with `base`, its ratios to that row."""
    line = f"processes={row['processes']}: stream {row['stream_scans_per_s']:,.0f} scans/s"
    if base is not None:
        ratio = row["stream_scans_per_s"] / base["stream_scans_per_s"]
        line += f" (x{ratio:.2f} vs {base['processes']})"
    if "unary_scans_per_s" in row:
        line += f", unary {row['unary_scans_per_s']:,.0f} scans/s"
        if base is not None:
            line += f" (x{row['unary_scans_per_s'] / base['unary_scans_per_s']:.2f})"
        line += (
            f", at half p50 {row['unary_half_p50_ms']:.1f} ms p99 {row['unary_half_p99_ms']:.1f} ms"
        )
        inside = ", ".join(f"{n:,} calls <= {ms:g} ms" for n, ms in row["unary_half_server"])
        line += f" (p99 inside each process: {inside})"
    return line + (
        f"; node CPU {row['cpu_node']:.2f} cores (supervisor {row['cpu_supervisor']:.2f})"
        f"; load avg {row['load_before']:.2f} -> {row['load_after']:.2f}\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--streams", type=int, default=4, help="streams (connections) each")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--no-unary", dest="unary", action="store_false")
    parser.add_argument("--unary-seconds", type=float, default=None, help="default: --seconds")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    parser.add_argument(
        "--unary-client",
        choices=("auto", "native", "python"),
        default="auto",
        help="unary load client (see bench.bench_ingest; auto: native when it builds here)",
    )
    args = parser.parse_args()
    args.client = single.unary_client(args.unary_client)
    rows = [measure(n, args) for n in args.processes]
    sys.stdout.write("summary:\n")
    for row in rows:
        sys.stdout.write(_line(row, rows[0]))
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
