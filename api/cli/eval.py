"""`qrtrace eval`: the real-data evaluation report (bench/eval_realdata.py) from the CLI.

The evaluation code lives in bench/ (it is a measurement, not part of the product, and the
wheel does not ship it), so the command imports it when run: from a repository checkout it
works, from an installed package it says what is missing. The data sets are never in the
repository (licences): `--data`, else $QRTRACE_REALDATA, else ../shared/data beside the
checkout; a missing data set is skipped with a line in the report.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import console, reports_errors, settings_for
from storage.errors import ConfigError, InvalidInputError


@reports_errors
def evaluate(
    ctx: typer.Context,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="Folder holding the data set folders (default: $QRTRACE_REALDATA, "
            "else ../shared/data beside the repository).",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Write the markdown here (default: stdout).", show_default=False
        ),
    ] = None,
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only",
            help="Run only this data set (repeatable): foursquare, ds4c, nz, hk, sp-hospital, "
            "sp-ht09.",
            show_default=False,
        ),
    ] = None,
    timings: Annotated[
        bool, typer.Option("--timings", help="Add machine-dependent timings (not reproducible).")
    ] = False,
) -> None:
    """Run the engine on real public data sets and write the fidelity report (markdown)."""
    settings_for(ctx)  # logging configured like every command
    try:
        from bench.eval_realdata import RUNNERS, build_report  # noqa: PLC0415
        from bench.realdata.paths import data_root  # noqa: PLC0415
    except ImportError as exc:
        raise ConfigError(
            f"qrtrace eval needs the repository checkout (bench/ is not installed with the "
            f"package: {exc}); run it from the repository root"
        ) from None
    wanted = list(only or [])
    unknown = [name for name in wanted if name not in RUNNERS]
    if unknown:
        raise InvalidInputError(
            "--only", f"unknown data set {unknown[0]!r}; expected one of {', '.join(RUNNERS)}"
        )
    report = build_report(data_root(data), only=wanted, timings=timings)
    if out is None:
        sys.stdout.write(report)
        return
    out.write_text(report, encoding="utf-8")
    skipped = sum(1 for line in report.splitlines() if line.startswith("- skipped: "))
    sections = sum(1 for line in report.splitlines() if line.startswith("## "))
    console.print(f"wrote {out}: {sections} data set section(s), {skipped} skipped")
