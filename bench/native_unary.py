"""The native one-scan SubmitScans load client (`bench/native/unary_load.cc`): build and run.

Why native: the client shares the bench machine's cores with the server, and a Python gRPC
client spends ~0.2 ms of CPU per unary call, about what the server's whole transport work
costs, so with Python clients the clients set the unary ceiling (~3,500-4,400 calls/s on 2
cores even against a server that does nothing). The C++ client spends a few microseconds
per call. Its requests are the Python client's (`bench_ingest.UnaryMaker` templates: a real
serialized SubmitScansRequest with a fresh scan id and a random person per call).

It is built on first use into `.tools/` (g++, pkg-config and Debian's `libgrpc++-dev`;
`make native-client` installs them with apt). Without them the bench falls back to the
Python client and says so.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "bench" / "native" / "unary_load.cc"
BINARY = ROOT / ".tools" / "unary_load"


class NativeClientUnavailableError(RuntimeError):
    """The native client cannot be built here (no compiler or no gRPC C++ headers)."""


def build() -> Path:
    """The client binary, compiled when missing or older than its source."""
    if BINARY.exists() and BINARY.stat().st_mtime >= SOURCE.stat().st_mtime:
        return BINARY
    compiler = shutil.which("g++")
    if compiler is None or shutil.which("pkg-config") is None:
        raise NativeClientUnavailableError("g++ or pkg-config missing (make native-client)")
    flags = subprocess.run(
        ["pkg-config", "--cflags", "--libs", "grpc++"], check=False, capture_output=True, text=True
    )
    if flags.returncode != 0:
        raise NativeClientUnavailableError("gRPC C++ (libgrpc++-dev) missing (make native-client)")
    BINARY.parent.mkdir(parents=True, exist_ok=True)
    partial = BINARY.with_suffix(".partial")
    made = subprocess.run(
        [compiler, "-O2", "-std=c++17", "-o", str(partial), str(SOURCE), *flags.stdout.split()],
        check=False,
        capture_output=True,
        text=True,
    )
    if made.returncode != 0:
        raise NativeClientUnavailableError(f"compiling {SOURCE.name} failed: {made.stderr[-400:]}")
    partial.replace(BINARY)
    return BINARY


def available() -> str | None:
    """None when the native client is ready, else why not."""
    try:
        build()
    except NativeClientUnavailableError as exc:
        return str(exc)
    return None


def native_unary_run(
    port: int,
    token: str,
    templates: list[tuple[bytes, int, int]],
    *,
    seconds: float,
    rate: float | None,
    inflight: int = 512,
    connections: int = 16,
) -> dict[str, Any]:
    """One-scan calls from the native client: closed loop with `inflight` outstanding, or
    open loop at `rate`/s (latency counted from each call's due time). Same result keys as
    `bench_ingest.run_clients` for unary. `templates`: `bench_ingest.UnaryMaker.templates`
    (serialized requests with the offsets of their scan id and person reference)."""
    binary = build()
    with tempfile.TemporaryDirectory(prefix="unary-load-") as tmp:
        template_file = Path(tmp) / "templates"
        with template_file.open("wb") as out:
            for raw, at_id, at_person in templates:
                out.write(struct.pack("<III", len(raw), at_id, at_person) + raw)
        latencies = Path(tmp) / "latencies"
        args = [
            str(binary), f"127.0.0.1:{port}", token, str(template_file), str(seconds),
            str(rate or 0), str(inflight), str(connections), str(latencies),
            str(time.time_ns() & 0xFFFFFFFF),
        ]  # fmt: skip
        timeout = seconds + 120
        done = subprocess.run(args, check=False, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"unary_load failed ({done.returncode}): {done.stderr[-400:]}")
        summary = json.loads(done.stdout)
        lat = np.fromfile(latencies, dtype=np.float32)
    errors = {int(code): n for code, n in summary["errors"].items()}
    # CANCELLED (1) / UNAVAILABLE (14): cut off by the client side, as the Python client counts
    cut_off = errors.pop(1, 0) + errors.pop(14, 0)
    if errors:
        raise RuntimeError(f"unary calls failed with gRPC status codes {errors}")
    if len(lat) == 0:
        lat = np.array([np.nan], np.float32)
    return {
        "scans_per_s": summary["acked"] / summary["elapsed_s"],
        "total": summary["acked"],
        "cut_off": cut_off,
        "p50_ms": float(np.percentile(lat, 50)),
        "p99_ms": float(np.percentile(lat, 99)),
        "per_second": [],
    }
