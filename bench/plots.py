"""PNG plots of a bench run: tracing latency against data size (engine beside DuckDB) and
the stream ingest rate over time (real server beside the transport ceiling)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt


def trace_latency(points: list[dict[str, Any]], path: Path) -> Path:
    """p50 (markers) and min-max (bars) per data size, log-log."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    xs = [p["scans"] for p in points]
    for key, label in (("engine", "engine (numba)"), ("as_loaded", "DuckDB as loaded"),
                       ("tuned", "DuckDB tuned")):  # fmt: skip
        med = [p[key]["median"] for p in points]
        lo = [p[key]["median"] - p[key]["lo"] for p in points]
        hi = [p[key]["hi"] - p[key]["median"] for p in points]
        ax.errorbar(xs, med, yerr=[lo, hi], marker="o", capsize=3, label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.axhline(0.2, color="grey", linestyle=":", label="target p50 0.2 ms (10 M)")
    ax.set_xlabel("scans in the store")
    ax.set_ylabel("single F0 trace, ms (p50, min-max)")
    ax.set_title("Tracing latency against data size")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def ingest_rate(series: dict[str, Any], path: Path) -> Path:
    """Scans acknowledged per second over the timed stream run."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for key, label in (("real", "real server (acked durable)"),
                       ("transport", "gRPC transport only")):  # fmt: skip
        ys = series.get(key) or []
        ax.plot(range(1, len(ys) + 1), ys, marker=".", label=label)
    ax.axhline(1e6, color="grey", linestyle=":", label="target 1 M scans/s")
    ax.set_yscale("log")
    ax.set_xlabel("second of the timed run")
    ax.set_ylabel("scans acknowledged per second")
    ax.set_title("Stream ingest rate over time")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
