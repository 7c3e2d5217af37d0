"""CI regression gates: ratio floors, not absolute times, so a noisy machine does not flake.

Each floor is well below the ratio measured on the 2-core development machine while other
jobs shared it (in brackets), so only a real regression crosses it: an engine that lost
its index, a kernel that fell back to Python, a store that writes one key per scan.
Every equality check is a gate too: a mismatch against the baseline's answer always fails.
"""

from __future__ import annotations

from bench.results import Check, Report

#: (group, row-name prefix, floor on `Row.ratio`), applied to every matching row
FLOORS: tuple[tuple[str, str, float], ...] = (
    ("tracing", "single F0 trace,", 10.0),  # vs DuckDB as loaded [~80-300x]
    ("tracing", "single F0 trace vs tuned", 5.0),  # [~100x]
    ("tracing", "exposure window", 3.0),  # [~45x]
    ("tracing", "batch of", 3.0),  # vs one DuckDB batch query [~18-35x]
    ("tracing", "clusters of", 0.3),  # baseline: components only [5-15x small, 0.8x at 10 M]
    ("storage", "hot store write", 1.2),  # vs raw rocksdict per-key puts [~4x]
    ("storage", "sealed bytes/scan", 2.0),  # vs raw rocksdict bytes [~3.8x]
    ("storage", "resident bytes/scan", 1.3),  # vs the 36-byte record [~2x]
    ("ingest", "stream ingest", 0.02),  # share of the transport ceiling [~0.06-0.1]
    ("api", "gRPC TraceCase vs transport floor", 0.02),  # health check / trace [~0.1]
)


def gates(report: Report) -> list[Check]:
    """One gate per equality check and per floored row."""
    out = [Check(f"equal: {c.name}", c.ok, c.detail) for c in report.checks]
    for group, prefix, floor in FLOORS:
        for row in report.rows:
            if row.group != group or not row.name.startswith(prefix) or row.ratio is None:
                continue
            ok = row.ratio >= floor
            out.append(
                Check(
                    f"{row.key} vs {row.baseline_name}",
                    ok,
                    f"ratio {row.ratio:,.2f} {'>=' if ok else '<'} floor {floor:g}",
                )
            )
    return out
