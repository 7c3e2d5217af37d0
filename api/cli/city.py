"""`qrtrace city`: generate the synthetic Bien Hoa city, or describe one already written."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from api.cli.common import DataDirOption, console, reports_errors, settings_for
from api.cli.timeparse import parse_date
from storage.domain import CITY_ADULTS, CITY_VENUES
from storage.synthetic_city import CityConfig, describe_city, render_description, write_city


@reports_errors
def city(
    ctx: typer.Context,
    scans: Annotated[int, typer.Option(min=1, help="Check-in scans in total over all days.")] = (
        1_000_000
    ),
    days: Annotated[int, typer.Option(min=1, max=366, help="Days of scans.")] = 1,
    seed: Annotated[int, typer.Option(min=0, help="Random seed; same seed, same city.")] = 1,
    start: Annotated[
        str, typer.Option(help="First day, ISO 8601 date/time or epoch seconds (local UTC+7).")
    ] = "2021-09-06",
    venues: Annotated[int, typer.Option(min=1, help="Registered QR venues.")] = CITY_VENUES,
    adults: Annotated[int, typer.Option(min=1, help="Adult residents.")] = CITY_ADULTS,
    outbreak_cases: Annotated[
        int, typer.Option(min=0, help="Planted F0 cases with known contacts.")
    ] = 3,
    out: Annotated[
        Path | None,
        typer.Option(help="Output directory (default: <data-dir>/city).", show_default=False),
    ] = None,
    describe: Annotated[
        Path | None,
        typer.Option(
            "--describe",
            help="Describe the city written in this directory instead of generating one.",
            show_default=False,
        ),
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Generate a deterministic synthetic city calibrated to Bien Hoa 2021-22 (Parquet)."""
    settings = settings_for(ctx, data_dir=data_dir)
    if describe is not None:
        console.print(render_description(describe_city(describe)), highlight=False, soft_wrap=True)
        return
    config = CityConfig(
        scans=scans,
        days=days,
        seed=seed,
        start_date=parse_date(start, field="--start"),
        venues=venues,
        adults=adults,
        outbreak_cases=outbreak_cases,
    )
    target = out if out is not None else settings.data_dir / "city"
    began = time.perf_counter()
    with Progress(
        TextColumn("[bold]generating"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("scans", total=scans)

        def report(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        summary = write_city(config, target, progress=report)
    elapsed = time.perf_counter() - began
    console.print(
        f"wrote {summary.scans:,} scans over {days} day(s), {summary.venues:,} venues, "
        f"{summary.people:,} adults to {target} in {elapsed:.1f} s "
        f"({summary.scans / elapsed:,.0f} scans/s)",
        highlight=False,
    )
    console.print(f"describe it with: qrtrace city --describe {target}", highlight=False)
