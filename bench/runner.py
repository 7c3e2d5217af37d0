"""`qrtrace bench`: every bench group with its baseline in one run, one report.

    qrtrace bench --size small|medium|large [--out DIR] [--groups ingest,storage,tracing,api]
    python -m bench.runner --size small                 # the same, without the CLI

Writes into DIR (default `bench-results/`): `bench-results.json` (every row, check, target,
gate and series), `bench-results.md` (the tables) and PNG plots (`trace_latency.png`,
`ingest_rate.png`). Groups run one after the other, ingest first (its client and server
processes want the machine to themselves), and the tracing group's largest city is reused
by the API group. The machine's load average is recorded at start and end: figures taken
while other jobs ran are lower than an idle machine gives, and the report says so.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench.gates import gates
from bench.results import Report, to_markdown
from bench.sizes import SIZES
from bench.targets import evaluate

GROUPS = ("ingest", "storage", "tracing", "api")
ROOT = Path(__file__).resolve().parents[1]


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
            timeout=10, check=False,
        )  # fmt: skip
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run_bench(
    size_name: str,
    out_dir: Path,
    groups: Sequence[str] = GROUPS,
    progress: Callable[[str], None] = lambda _m: None,
) -> Report:
    """Run `groups` at `size_name`, write the JSON, markdown and plots into `out_dir`."""
    from bench.groups.ingest import run_ingest  # noqa: PLC0415 - heavy imports, on demand
    from bench.groups.storage import run_storage  # noqa: PLC0415
    from bench.groups.trace import run_trace  # noqa: PLC0415

    size = SIZES[size_name]
    unknown = set(groups) - set(GROUPS)
    if unknown:
        raise ValueError(f"unknown bench groups {sorted(unknown)}; expected some of {GROUPS}")
    os.environ.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".numba_cache"))
    started = time.perf_counter()
    report = Report(
        meta={
            "size": size_name,
            "groups": list(groups),
            "cpus": os.cpu_count(),
            "load_start": _load(),
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "commit": _commit(),
            "python": platform.python_version(),
            "machine": platform.platform(),
        }
    )
    if "ingest" in groups:
        run_ingest(size, report, progress)
    if "storage" in groups:
        run_storage(size, report, progress)
    data = None
    if "tracing" in groups or "api" in groups:
        if "tracing" in groups:
            data = run_trace(size, report, progress)
        else:
            from bench.groups.trace import load_data  # noqa: PLC0415

            data, _ = load_data(size.trace_scans[-1], size.days, 2021)
    if "api" in groups and data is not None:
        from bench.groups.api import run_api  # noqa: PLC0415

        run_api(data, size, report, progress)
    report.meta["seconds"] = time.perf_counter() - started
    report.meta["load_end"] = _load()
    report.targets = evaluate(report)
    report.gates = gates(report)
    write(report, out_dir)
    return report


def write(report: Report, out_dir: Path) -> list[Path]:
    """bench-results.json, bench-results.md and the plots the series allow."""
    from bench import plots  # noqa: PLC0415 - matplotlib only when writing

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "bench-results.json", out_dir / "bench-results.md"]
    paths[0].write_text(json.dumps(report.to_json(), indent=2, default=float) + "\n")
    paths[1].write_text(to_markdown(report))
    if report.series.get("trace_latency"):
        paths.append(
            plots.trace_latency(report.series["trace_latency"], out_dir / "trace_latency.png")
        )
    if report.series.get("ingest_rate"):
        paths.append(plots.ingest_rate(report.series["ingest_rate"], out_dir / "ingest_rate.png"))
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--out", type=Path, default=Path("bench-results"))
    parser.add_argument("--groups", default=",".join(GROUPS))
    parser.add_argument("--check", action="store_true", help="exit 1 when a gate fails")
    args = parser.parse_args(argv)
    report = run_bench(
        args.size, args.out, [g for g in args.groups.split(",") if g],
        progress=lambda m: print(m, file=sys.stderr, flush=True),
    )  # fmt: skip
    sys.stdout.write(to_markdown(report))
    failed = [g for g in report.gates if not g.ok]
    return 1 if failed and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
