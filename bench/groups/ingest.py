"""Ingest group: batched stream and unary scans through the real server, beside the gRPC
transport-only ceiling (same messages, a server that acks without decoding or storing).

Reuses `bench.bench_ingest` whole: `prepare` (venues, keys, a device token), `Child` (each
server in its own process), `run_clients` (stream client processes, acks counted only when
durable) and `run_unary` (the native C++ unary client where it builds, else Python client
processes). Measured per mode, transport first: stream throughput over the timed seconds
(with the acked scans of each second, the rate over time), unary capacity (closed loop) and
the p99 ack latency open-loop at half that capacity and at DESIGN §9's own load (half of its
5,000 calls/s target: `UNARY_TARGET_HALF`).
Checks: every batch of the real server was acknowledged in full (`run_clients` raises on a
rejected scan), so a run that completes has lost nothing it was sent.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.bench_ingest import (
    UNARY_TARGET_HALF,
    Child,
    prepare,
    run_clients,
    run_unary,
    unary_client,
)
from bench.results import Check, Report, Row, Stat
from bench.sizes import Size

GROUP = "ingest"


def _measure(
    mode: str, data_dir: Path, token: str, codes: list[str], size: Size, *, client: str
) -> dict[str, Any]:
    child = Child(mode, data_dir)
    common = {"port": child.port, "token": token, "codes": codes}
    try:
        stream = run_clients(
            "stream", size.ingest_clients, **common, streams=2, batch=1000,
            seconds=size.ingest_seconds, warmup=size.ingest_warmup,
        )  # fmt: skip
        cap = run_unary(client, size.ingest_clients, **common, seconds=size.unary_seconds,
                        rate=None)  # fmt: skip
        half = _half_load(common, size, cap["scans_per_s"] / 2, client)
        target = _half_load(common, size, UNARY_TARGET_HALF, client)
    finally:
        child.close()
    return {"stream": stream, "unary": cap, "half": half, "target": target}


def _half_load(common: dict[str, Any], size: Size, rate: float, client: str) -> dict[str, Any]:
    """Open-loop unary at `rate`; on a crowded machine a client's call is sometimes cut off
    (CANCELLED): tried twice, then reported as not measured (NaN) instead of ending the run."""
    for _ in range(2):
        try:
            return run_unary(
                client, size.ingest_clients, **common, seconds=size.unary_seconds, rate=rate
            )
        except RuntimeError as exc:
            error = str(exc)[:200]
    return {"scans_per_s": math.nan, "p50_ms": math.nan, "p99_ms": math.nan, "error": error}


def _rate(r: dict[str, Any]) -> Stat:
    """Median and range from the per-second series; the overall rate when it is too short."""
    per_s = r.get("per_second") or []
    if len(per_s) >= 3:
        return Stat.of(per_s)
    return Stat.one(r["scans_per_s"])


def run_ingest(size: Size, report: Report, progress: Callable[[str], None]) -> None:
    """Transport ceiling then the real server; rows, the rate-over-time series, a check."""
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        data_dir = Path(tmp)
        token, codes = prepare(data_dir)
        client = unary_client("auto")
        got: dict[str, dict[str, Any]] = {}
        for mode in ("transport", "real"):
            progress(f"ingest: {mode} server, stream {size.ingest_seconds:g} s + unary")
            try:
                got[mode] = _measure(mode, data_dir, token, codes, size, client=client)
            except RuntimeError as exc:  # a client call cut off on a crowded machine: once more
                progress(f"ingest: {mode} run failed ({str(exc)[:120]}); retrying once")
                got[mode] = _measure(mode, data_dir, token, codes, size, client=client)
    real, tr = got["real"], got["transport"]
    report.rows += [
        Row(GROUP, "stream ingest, acked durable (1,000-scan batches)", "scans/s",
            _rate(real["stream"]), "gRPC transport only (no decode, no storage)",
            _rate(tr["stream"]), "higher"),
        Row(GROUP, f"unary ingest capacity (one scan per RPC, {client} client)", "scans/s",
            Stat.one(real["unary"]["scans_per_s"]), "gRPC transport only",
            Stat.one(tr["unary"]["scans_per_s"]), "higher"),
        Row(GROUP, "unary p99 ack at half capacity", "ms", Stat.one(real["half"]["p99_ms"]),
            "gRPC transport only at its half capacity", Stat.one(tr["half"]["p99_ms"])),
        Row(GROUP, "unary p50 ack at half capacity", "ms", Stat.one(real["half"]["p50_ms"]),
            "gRPC transport only at its half capacity", Stat.one(tr["half"]["p50_ms"])),
        Row(GROUP, f"unary p99 ack at {UNARY_TARGET_HALF:,} calls/s (half the 5,000 target)",
            "ms", Stat.one(real["target"]["p99_ms"]), "gRPC transport only, same rate",
            Stat.one(tr["target"]["p99_ms"])),
        Row(GROUP, f"unary p50 ack at {UNARY_TARGET_HALF:,} calls/s (half the 5,000 target)",
            "ms", Stat.one(real["target"]["p50_ms"]), "gRPC transport only, same rate",
            Stat.one(tr["target"]["p50_ms"])),
    ]  # fmt: skip
    report.series["ingest_rate"] = {
        "real": real["stream"].get("per_second", []),
        "transport": tr["stream"].get("per_second", []),
        "unary_half_rate": real["unary"]["scans_per_s"] / 2,
    }
    report.checks.append(
        Check("ingest: every streamed batch acknowledged in full", True,
              f"{real['stream']['scans_per_s'] * size.ingest_seconds:,.0f} scans acked durable, "
              "0 rejected")
    )  # fmt: skip
