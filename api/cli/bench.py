"""`qrtrace bench` and `qrtrace loadtest`: the performance report and the load smoke.

Both live in the repository's top-level `bench/` and `load_tests/` packages (shipped in the
wheel; they need the dev dependency group: duckdb, locust, matplotlib). They are imported
by name when the command runs, so the CLI starts without them and says what is missing.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import typer

from api.cli.common import console, err_console

SIZES = ("small", "medium", "large")
GROUPS = "ingest,storage,tracing,api"


def _load(module: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        err_console.print(
            f"[bold red]error:[/] {module} needs {exc.name!r}; install the dev dependencies "
            "(`uv sync --group dev` or `make setup`)",
            highlight=False,
        )
        raise typer.Exit(2) from None


def bench(
    size: Annotated[str, typer.Option(help="small (CI, ~1 min) | medium (< 15 min) | large.")] = (
        "small"
    ),
    out: Annotated[Path, typer.Option(help="Folder for the JSON, markdown and PNGs.")] = Path(
        "bench-results"
    ),
    groups: Annotated[str, typer.Option(help="Comma-separated groups to run.")] = GROUPS,
    check: Annotated[
        bool, typer.Option("--check", help="Exit 1 when a regression gate or check fails.")
    ] = False,
) -> None:
    """Every bench group with its baseline in the same run: ingest, storage, tracing, API."""
    if size not in SIZES:
        err_console.print(f"[bold red]error:[/] --size {size!r}; expected one of {SIZES}")
        raise typer.Exit(2)
    runner = _load("bench.runner")
    results = _load("bench.results")
    chosen = [g.strip() for g in groups.split(",") if g.strip()]
    bad = sorted(set(chosen) - set(GROUPS.split(",")))
    if bad:
        err_console.print(f"[bold red]error:[/] --groups {bad}; expected some of {GROUPS}")
        raise typer.Exit(2)

    def progress(message: str) -> None:
        err_console.print(f"[dim]{message}[/]", highlight=False)

    report: Any = runner.run_bench(size, out, chosen, progress=progress)
    sys.stdout.write(results.to_markdown(report))
    console.print(f"written to {out}/ (bench-results.json, bench-results.md, *.png)")
    failed = [g for g in report.gates if not g.ok]
    if failed:
        err_console.print(f"[bold red]{len(failed)} gate(s) failed[/]: {failed[0].name}")
        if check:
            raise typer.Exit(1)


def loadtest(
    seconds: Annotated[int, typer.Option(min=1, max=600, help="Locust run time.")] = 30,
    users: Annotated[int, typer.Option(min=1, help="Simulated users, all actors.")] = 10,
    out: Annotated[Path, typer.Option(help="Folder for the CSV/HTML reports.")] = Path(
        "load-test-results"
    ),
) -> None:
    """Headless locust smoke against a local node; exit 1 when a threshold is crossed."""
    run = _load("load_tests.run")
    result: Any = run.run_load(run.LoadConfig(seconds=seconds, users=users, out=out))
    sys.stdout.write(result.summary() + "\n")
    console.print(f"reports: {', '.join(str(p) for p in result.reports)}")
    if not result.passed:
        raise typer.Exit(1)
