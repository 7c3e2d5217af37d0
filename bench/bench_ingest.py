"""Ingest benchmark: the real server (validated, pseudonymised, durable acks) beside the
gRPC transport-only ceiling (same messages, a server that acks without decoding or storing),
both measured in this run on this machine, client and server in separate processes:

    python -m bench.bench_ingest --seconds 30

Stream: `--streams` concurrent StreamScans calls of `--batch`-scan columnar batches (unique
scan ids, numeric person references from a 200 k pool, 16 venue codes per batch); throughput
counts only ACKed scans, and an ack means durable (fsync'd group commit). A warm-up (not
timed) fills the pseudonym and QR caches first, as on a server that has been up a while.

Unary: one-scan SubmitScans calls, first at full speed for the capacity, then open loop at
half that rate, and at `UNARY_TARGET_HALF` calls/s (DESIGN §9: p99 ack <= 25 ms "at half that
load", half of its 5,000/s), for the p50/p99 ack latency. Nothing asserts on the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import grpc
import numpy as np

from api.protos.checkin.v1 import ingest_pb2 as pb
from bench.native_unary import available, native_unary_run
from ingest.client import auth_metadata
from ingest.loop import run

ROOT = Path(__file__).resolve().parents[1]
STREAM = "/checkin.v1.IngestService/StreamScans"
UNARY = "/checkin.v1.IngestService/SubmitScans"
VENUES = 2000
#: DESIGN §9's unary latency load: half of its 5,000 one-scan calls/s target
UNARY_TARGET_HALF = 2500
PERSONS = 200_000
#: batches in flight per stream; the sender waits for an ack when it is full (polling every
#: 0.5 ms instead cost the clients ~0.1-0.2 core of the 2 they share with the server)
WINDOW = 32
OPTIONS = [
    ("grpc.max_receive_message_length", 64 << 20),
    ("grpc.max_send_message_length", 64 << 20),
]


# ---------------------------------------------------------------- servers (child process)


async def _transport_server(accept_loops: int) -> tuple[list[Any], int]:
    """Acks every batch as all-ACCEPTED without decoding: the transport ceiling. As many
    accept loops (gRPC servers sharing the port) as the real server has by default."""

    async def stream(requests: Any, _context: Any) -> Any:
        async for raw in requests:
            batch = pb.ScanBatch.FromString(raw)
            n = len(batch.scan_ids) // 16
            yield pb.BatchAck(batch_id=batch.batch_id, verdicts=b"\x01" * n, accepted=n)

    async def unary(raw: bytes, _context: Any) -> pb.SubmitScansResponse:
        req = pb.SubmitScansRequest.FromString(raw)
        return pb.SubmitScansResponse(verdicts=[1] * len(req.scans), accepted=len(req.scans))

    handlers = {
        "StreamScans": grpc.stream_stream_rpc_method_handler(
            stream, response_serializer=pb.BatchAck.SerializeToString
        ),
        "SubmitScans": grpc.unary_unary_rpc_method_handler(
            unary, response_serializer=pb.SubmitScansResponse.SerializeToString
        ),
    }
    servers = []
    port = 0
    for _ in range(accept_loops):
        server = grpc.aio.server(options=[*OPTIONS, ("grpc.so_reuseport", 1)])
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler("checkin.v1.IngestService", handlers),)
        )
        port = server.add_insecure_port(f"127.0.0.1:{port}")
        servers.append(server)
    return servers, port


def child_env(**extra: str) -> dict[str, str]:
    """A server child's environment: this checkout first on PYTHONPATH, then the caller's own
    entries (packages installed with `pip --target`, on a machine without the venv)."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, **extra, "PYTHONPATH": path}


def serve_child(mode: str, data_dir: Path, index_capacity: int = 32_000_000) -> None:
    """Run one server until stdin closes; print its port first."""
    from ingest.server import create_server  # noqa: PLC0415
    from storage.settings import load_settings  # noqa: PLC0415

    settings = load_settings(
        None,
        data_dir=data_dir,
        ingest_port=0,
        log_level="WARNING",
        ingest_max_message_bytes=64 << 20,
        hot_index_capacity=index_capacity,
    )

    async def until_stdin_closes(port: int) -> None:
        sys.stdout.write(f"{port}\n")
        sys.stdout.flush()
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

    async def transport() -> None:
        servers, port = await _transport_server(settings.ingest_accept_loops)
        for server in servers:
            await server.start()
        await until_stdin_closes(port)
        for server in servers:
            await server.stop(0)

    async def real() -> None:
        server, port = create_server(settings)
        await server.start()
        await until_stdin_closes(port)
        await server.shutdown()

    # both on the loop `qrtrace serve` runs on (ingest.loop)
    run(transport() if mode == "transport" else real(), settings.event_loop)


def prepare(data_dir: Path) -> tuple[str, list[str]]:
    """Venues, keys and a device token in `data_dir`; returns (token, venue codes)."""
    from ingest.auth import add_device  # noqa: PLC0415
    from ingest.node import venue_keys_path  # noqa: PLC0415
    from ingest.qrcode import KeyRing  # noqa: PLC0415
    from storage.venues import Venue, VenueRegistry  # noqa: PLC0415

    now = int(time.time())
    with VenueRegistry(data_dir / "venues") as registry:
        registry.register_many(
            [Venue(v, f"v{v}", 1 + v % 30, 1 + v % 18, now - 86_400) for v in range(1, VENUES + 1)]
        )
    ring = KeyRing.load_or_create(venue_keys_path(data_dir))
    token = add_device(data_dir / "tokens.json", "bench")
    return token, [ring.sign(v) for v in range(1, VENUES + 1)]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process `pid`, threads included (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Child:
    """A server subprocess; closing stdin shuts it down (gracefully for the real one)."""

    def __init__(self, mode: str, data_dir: Path, *, index_capacity: int = 32_000_000) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.bench_ingest",
                "--serve",
                mode,
                str(data_dir),
                str(index_capacity),
            ],
            cwd=ROOT,
            env=child_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())

    def cpu_s(self) -> float:
        """CPU seconds (user + system) the server process has used so far: a figure that,
        per acked scan, does not depend on what else the machine is running."""
        return cpu_seconds(self.proc.pid)

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(120)


# ---------------------------------------------------------------- client


class BatchMaker:
    """Serialized ScanBatches with fresh scan ids; the other columns come from templates."""

    def __init__(self, codes: list[str], batch: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.batch = batch
        self.salt = int(rng.integers(1, 2**62))
        now_ms = int(time.time() * 1000)
        self.templates = []
        for _ in range(8):
            picked = rng.choice(len(codes), 16, replace=False)
            self.templates.append(
                pb.ScanBatch(
                    times_ms=(now_ms - rng.integers(0, 3_600_000, batch)).astype("<i8").tobytes(),
                    directions=rng.integers(0, 2, batch, dtype=np.uint8).tobytes(),
                    venue_codes=[codes[i] for i in picked],
                    venue_index=rng.integers(0, 16, batch).astype("<u4").tobytes(),
                    person_numbers=(10**11 + rng.integers(0, PERSONS, batch))
                    .astype("<u8")
                    .tobytes(),
                )
            )
        self.next = 0

    def make(self) -> tuple[int, bytes]:
        k = self.next
        self.next += 1
        ids = np.empty((self.batch, 2), "<u8")
        ids[:, 0] = (k << 20) + np.arange(self.batch) + 1
        ids[:, 1] = self.salt
        msg = self.templates[k % len(self.templates)]
        msg.batch_id = k
        msg.scan_ids = ids.tobytes()
        return k, msg.SerializeToString()


async def stream_run(
    port: int,
    token: str,
    codes: list[str],
    *,
    streams: int,
    batch: int,
    seconds: float,
    warmup: float,
) -> dict[str, float]:
    """Acked scans/s over `seconds` after `warmup`, with `streams` concurrent calls."""
    acked = 0
    total = 0  # warm-up included: what the server's CPU seconds are divided by
    counting = False
    stop_at = time.perf_counter() + warmup + seconds
    latencies: list[float] = []
    acks: list[tuple[float, int]] = []  # (wall clock, scans acked): the rate over time

    async def one(s: int, channel: grpc.aio.Channel) -> None:
        nonlocal acked, total
        maker = BatchMaker(codes, batch, seed=1000 + 64 * os.getpid() + s)
        sent: dict[int, float] = {}
        call = channel.stream_stream(
            STREAM, request_serializer=None, response_deserializer=pb.BatchAck.FromString
        )

        room = asyncio.Event()

        async def requests() -> Any:
            while time.perf_counter() < stop_at:
                k, raw = maker.make()
                sent[k] = time.perf_counter()
                yield raw
                while len(sent) > WINDOW:  # a bounded window: wait for an ack, not a timer
                    room.clear()
                    await room.wait()

        async for ack in call(requests(), metadata=auth_metadata(token)):
            t0 = sent.pop(ack.batch_id)
            room.set()
            if ack.accepted + ack.duplicate != batch:
                raise AssertionError(
                    f"batch {ack.batch_id}: {ack.rejected} rejected: {ack.rejections[:1]}"
                )
            total += ack.accepted
            if counting:
                acked += ack.accepted
                latencies.append(time.perf_counter() - t0)
                acks.append((time.time(), ack.accepted))

    async def clock() -> None:
        nonlocal counting
        await asyncio.sleep(warmup)
        counting = True

    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=OPTIONS) as channel:
        t = asyncio.create_task(clock())
        begin = time.perf_counter()
        await asyncio.gather(*(one(s, channel) for s in range(streams)))
        await t
        elapsed = time.perf_counter() - begin - warmup
    return {
        "scans_per_s": acked / elapsed,
        "total": total,
        "latencies": latencies,
        "acks": acks,
    }


def _scan(codes: list[str], rng: np.random.Generator, k: int) -> bytes:
    """One serialized one-scan request built from scratch (see `UnaryMaker` for the cheap way)."""
    return pb.SubmitScansRequest(
        scans=[
            pb.Scan(
                scan_id=k.to_bytes(8, "little") + rng.bytes(8),
                person_ref=str(10**11 + int(rng.integers(0, PERSONS))),
                venue_code=codes[int(rng.integers(0, 16))],
                time_ms=int(time.time() * 1000) - 1000,
            )
        ]
    ).SerializeToString()


#: statuses of a call the client side cut off on a crowded machine (not a server verdict)
_CUT_OFF = (grpc.StatusCode.CANCELLED, grpc.StatusCode.UNAVAILABLE)


class UnaryMaker:
    """Serialized one-scan SubmitScansRequests: a fresh scan id and a random person per call.

    Why templates: building and serializing a protobuf per call cost the client about as much
    CPU as the server's whole transport work, so the client, not the server, set the
    ceiling. Each template is a real request whose 16-byte scan id and 12-digit person
    reference are overwritten in place (fixed offsets); the server sees ordinary requests.
    """

    def __init__(self, codes: list[str], seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.salt = int(self.rng.integers(1, 2**62)).to_bytes(8, "little")
        now_ms = int(time.time() * 1000) - 1000
        self.templates: list[tuple[bytes, int, int]] = []
        for code in codes[:16]:
            raw = pb.SubmitScansRequest(
                scans=[
                    pb.Scan(
                        scan_id=b"\xee" * 16, person_ref="9" * 12, venue_code=code, time_ms=now_ms
                    )
                ]
            ).SerializeToString()
            self.templates.append((raw, raw.index(b"\xee" * 16), raw.index(b"9" * 12)))
        self.persons = iter(())  # type: ignore[var-annotated]
        self.k = 0

    def make(self) -> bytes:
        """The next request's bytes."""
        self.k += 1
        raw, at_id, at_person = self.templates[self.k % len(self.templates)]
        person = next(self.persons, None)
        if person is None:
            self.persons = iter((10**11 + self.rng.integers(0, PERSONS, 4096)).tolist())
            person = next(self.persons)
        out = bytearray(raw)
        out[at_id : at_id + 16] = self.k.to_bytes(8, "little") + self.salt
        out[at_person : at_person + 12] = b"%d" % person
        return bytes(out)


def unary_run(
    port: int,
    token: str,
    codes: list[str],
    *,
    seconds: float,
    rate: float | None,
    inflight: int = 64,
) -> dict[str, Any]:
    """One-scan calls: closed loop with `inflight` outstanding, or open loop at `rate`/s.

    A synchronous channel with `future()` calls (each completion launches the next, on the
    gRPC thread): about 1.5x less client CPU per call than grpc.aio coroutines, measured.
    Every reply is parsed and its accepted + duplicate count added up.
    """
    maker = UnaryMaker(codes, seed=int(time.time()) * 1000 + os.getpid())
    md = auth_metadata(token)
    latencies: list[float] = []
    done = 0
    lock = threading.RLock()  # a call already done runs its callback inside `launch`
    idle = threading.Event()
    live = 0
    errors: list[BaseException] = []
    cut_off = [0]
    channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=OPTIONS)
    call = channel.unary_unary(UNARY, request_serializer=None, response_deserializer=None)
    begin = time.perf_counter()
    end = begin + seconds

    def launch() -> None:
        nonlocal live
        live += 1
        t0 = time.perf_counter()
        future = call.future(maker.make(), metadata=md)
        future.add_done_callback(lambda f: finished(f, t0))

    def finished(future: Any, t0: float) -> None:
        nonlocal done, live
        reply = None
        try:
            reply = pb.SubmitScansResponse.FromString(future.result())
        except grpc.RpcError as exc:
            if exc.code() in _CUT_OFF:  # type: ignore[attr-defined]
                cut_off[0] += 1  # counted, not fatal: the call is simply not acked
            else:
                errors.append(exc)
        except BaseException as exc:  # handed to the process, which raises it
            errors.append(exc)
        with lock:
            live -= 1
            if reply is not None:
                latencies.append(time.perf_counter() - t0)
                done += reply.accepted + reply.duplicate
            if rate is None and not errors and time.perf_counter() < end:
                launch()
            elif live == 0 and launched_all:
                idle.set()

    launched_all = rate is None  # open loop: done only once the last call is launched
    with lock:
        if rate is None:
            for _ in range(inflight):
                launch()
    if rate is not None:
        k = 0
        while (due := begin + k / rate) < end and not errors:
            time.sleep(max(0.0, due - time.perf_counter()))
            with lock:
                launch()
            k += 1
        with lock:
            launched_all = True
            if live == 0:
                idle.set()
    idle.wait(seconds + 60)
    elapsed = time.perf_counter() - begin
    channel.close()
    if errors:
        raise errors[0]
    return {
        "scans_per_s": done / elapsed,
        "total": done,
        "latencies": latencies,
        "cut_off": cut_off[0],
    }


def _client(kind: str, kwargs: dict[str, Any], out: Any) -> None:
    """One client process: runs `stream_run` or `unary_run` and sends back its result."""
    try:
        if kind == "stream":
            out.put(asyncio.run(stream_run(**kwargs)))
        else:
            out.put(unary_run(**kwargs))
    except BaseException as exc:
        out.put({"error": repr(exc)})
        raise


def run_clients(kind: str, procs: int, **kwargs: Any) -> dict[str, float]:
    """`procs` client processes at once (a single Python client is CPU-bound well below the
    server); rates add up, latency percentiles are over every call of every process."""
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    if kwargs.get("rate") is not None:
        kwargs["rate"] = kwargs["rate"] / procs
    children = [ctx.Process(target=_client, args=(kind, kwargs, out)) for _ in range(procs)]
    for child in children:
        child.start()
    results = [out.get() for _ in children]
    errors = [r["error"] for r in results if "error" in r]
    if errors:
        raise RuntimeError(f"client processes failed: {errors}")
    for child in children:
        child.join()
    lat = np.array([x for r in results for x in r["latencies"]]) * 1000
    if len(lat) == 0:
        lat = np.array([np.nan])
    return {
        "scans_per_s": sum(r["scans_per_s"] for r in results),
        "total": sum(r["total"] for r in results),
        "cut_off": sum(r.get("cut_off", 0) for r in results),
        "p50_ms": float(np.percentile(lat, 50)),
        "p99_ms": float(np.percentile(lat, 99)),
        "per_second": per_second([a for r in results for a in r.get("acks", [])]),
    }


def unary_client(choice: str) -> str:
    """ "native" or "python" for `--unary-client` (auto: native when it builds here)."""
    if choice == "python":
        return "python"
    why_not = available()
    if why_not is None:
        return "native"
    if choice == "native":
        raise SystemExit(f"native unary client unavailable: {why_not}")
    sys.stderr.write(f"native unary client unavailable ({why_not}); using Python clients\n")
    return "python"


def run_unary(client: str, procs: int, **kwargs: Any) -> dict[str, Any]:
    """One-scan calls from the native client (`bench.native_unary`, one process) or from
    `procs` Python client processes; the same result keys either way."""
    if client == "native":
        templates = UnaryMaker(kwargs.pop("codes"), seed=int(time.time())).templates
        return native_unary_run(templates=templates, **kwargs)
    return run_clients("unary", procs, **kwargs)


def run_measured(
    child: Child, kind: str, procs: int, *, client: str = "python", **kwargs: Any
) -> dict[str, float]:
    """`run_clients` (`run_unary` for unary) plus the server's CPU seconds per million acked
    scans (warm-up included on both sides): the cost figure to compare across runs on a
    shared, noisy machine."""
    cpu0 = child.cpu_s()
    if kind == "unary":
        result = run_unary(client, procs, **kwargs)
    else:
        result = run_clients(kind, procs, **kwargs)
    cpu = child.cpu_s() - cpu0
    result["cpu_s_per_m"] = cpu / max(result["total"], 1) * 1e6
    return result


def per_second(acks: list[tuple[float, int]]) -> list[float]:
    """Scans acked in each whole second of the timed run, every client process together
    (the rate over time; the first and last partial seconds are left out)."""
    if not acks:
        return []
    t = np.array([a[0] for a in acks])
    n = np.array([a[1] for a in acks])
    bins = np.floor(t - t.min()).astype(np.int64)
    counts = np.bincount(bins, weights=n)
    return [float(c) for c in counts[1:-1]]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--clients", type=int, default=3, help="client processes")
    parser.add_argument("--streams", type=int, default=2, help="streams per client process")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--unary-seconds", type=float, default=10)
    parser.add_argument("--unary-clients", type=int, default=3, help="unary client processes")
    parser.add_argument(
        "--unary-client",
        choices=("auto", "native", "python"),
        default="auto",
        help="unary load client: native C++ (bench.native_unary; auto: when it builds here) "
        "or --unary-clients Python processes",
    )
    parser.add_argument("--only", choices=("stream", "unary"), help="measure one path only")
    parser.add_argument("--serve", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_child(args.serve[0], Path(args.serve[1]), int(args.serve[2]))
        return
    out = sys.stdout.write
    client = unary_client(args.unary_client)
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        data_dir = Path(tmp)
        token, codes = prepare(data_dir)
        results: dict[str, dict[str, float]] = {}
        for mode in ("transport", "real"):
            child = Child(mode, data_dir)
            common = {"port": child.port, "token": token, "codes": codes}
            try:
                if args.only != "unary":
                    results[f"stream {mode}"] = run_measured(
                        child,
                        "stream",
                        args.clients,
                        **common,
                        streams=args.streams,
                        batch=args.batch,
                        seconds=args.seconds,
                        warmup=args.warmup,
                    )
                if args.only != "stream":
                    # warm-up, not counted: caches and compiled kernels, as after the stream
                    run_unary(client, args.unary_clients, **common, seconds=2, rate=None)
                    cap = run_measured(
                        child,
                        "unary",
                        args.unary_clients,
                        **common,
                        client=client,
                        seconds=args.unary_seconds,
                        rate=None,
                    )
                    results[f"unary {mode} capacity"] = cap
                    for label, rate in (
                        ("at half", cap["scans_per_s"] / 2),
                        (f"at {UNARY_TARGET_HALF:,}/s", UNARY_TARGET_HALF),
                    ):
                        results[f"unary {mode} {label}"] = run_measured(
                            child,
                            "unary",
                            args.unary_clients,
                            **common,
                            client=client,
                            seconds=args.unary_seconds,
                            rate=rate,
                        )
            finally:
                child.close()
        load = os.getloadavg()
        out(f"ingest benchmark: {args.clients} client processes x {args.streams} streams x ")
        out(f"{args.batch}-scan batches, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, ")
        out(f"{args.seconds:.0f} s timed; unary client: {client}\n")
        for name, r in results.items():
            out(f"  {name:<26} {r['scans_per_s']:>12,.0f} scans/s   ")
            out(f"p50 {r['p50_ms']:7.2f} ms   p99 {r['p99_ms']:7.2f} ms   ")
            out(f"server {r['cpu_s_per_m']:6.2f} CPU s / M scans")
            out(f"   ({r['cut_off']} calls cut off)\n" if r.get("cut_off") else "\n")
        for path in ("stream", "unary"):
            key = "stream {}" if path == "stream" else "unary {} capacity"
            if key.format("real") in results:
                ratio = (
                    results[key.format("real")]["scans_per_s"]
                    / results[key.format("transport")]["scans_per_s"]
                )
                out(f"  {path + ':':<7} real / transport ceiling = {ratio:.2f}\n")


if __name__ == "__main__":
    main()
