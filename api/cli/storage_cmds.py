"""`qrtrace import`, `qrtrace seal`, `qrtrace purge`: the operator's storage commands.

Each opens the data directory itself (RocksDB allows one process per database), so they run
while the server is stopped; a running server seals and purges on its own (storage.maintenance).
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, TextIO, TypeVar

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from api.cli.common import DataDirOption, console, reports_errors, settings_for
from api.cli.timeparse import epoch_seconds, parse_time
from storage.city_import import city_root, is_city_dir, register_city
from storage.datadir import DataDir
from storage.directory import PersonDirectory
from storage.errors import ConfigError, StorageError
from storage.import_parse import TIME_UNITS, TimeUnit
from storage.importer import FIELDS, Importer, ImportOptions, Reject
from storage.maintenance import Maintenance, MaintenancePolicy
from storage.multidata import MultiDataDir
from storage.multihot import process_dirs
from storage.pseudonym import Pseudonymiser, load_or_create_key
from storage.settings import Settings
from storage.venues import VenueRegistry

_SHOWN_REJECTS = 20


@contextmanager
def open_data_dir(settings: Settings) -> Iterator[DataDir]:
    """Open the data directory, turning "locked by another process" into one clear error."""
    with _opened(lambda: DataDir.from_settings(settings), settings) as data:
        yield data


@contextmanager
def open_for_maintenance(settings: Settings) -> Iterator[DataDir | MultiDataDir]:
    """The data directory for seal/purge: every ingest process's hot store where a
    multi-process node left more than `hot/`, so sealing merges them all and retention
    empties them all (storage.multidata, offline)."""
    if len(process_dirs(settings.data_dir, 1)) > 1:
        with _opened(lambda: MultiDataDir.from_settings(settings, offline=True), settings) as m:
            yield m
    else:
        with open_data_dir(settings) as data:
            yield data


_Data = TypeVar("_Data", DataDir, MultiDataDir)


@contextmanager
def _opened(open_: Callable[[], _Data], settings: Settings) -> Iterator[_Data]:
    try:
        data = open_()
    except StorageError:
        raise
    except Exception as exc:
        if "lock" in str(exc).lower():
            raise StorageError(
                f"data directory {settings.data_dir} is in use by another process (a running"
                " server?); expected it free: stop the server, or let it seal/purge itself"
            ) from None
        raise
    try:
        yield data
    finally:
        data.close()


def day_label(day: int) -> str:
    """ISO date of a local day number."""
    return (date(1970, 1, 1) + timedelta(days=day)).isoformat()


def parse_map(values: list[str]) -> dict[str, str]:
    """`--map person=user_id,venue=poi_id` (repeatable) -> {"person": "user_id", ...}."""
    mapping: dict[str, str] = {}
    for value in values:
        for item in filter(None, (p.strip() for p in value.split(","))):
            name, sep, column = item.partition("=")
            if not sep or not column.strip() or name.strip() not in FIELDS:
                raise ConfigError(
                    f"--map {item!r}: expected FIELD=COLUMN with FIELD one of {', '.join(FIELDS)}"
                )
            mapping[name.strip()] = column.strip()
    return mapping


@reports_errors
def import_visits(
    ctx: typer.Context,
    source: Annotated[
        Path,
        typer.Argument(
            help="CSV file, Parquet file or Parquet directory; a synthetic city directory "
            "(or its visits/ folder) also registers its venues and people.",
            show_default=False,
        ),
    ],
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="Column names in the file: person=COL,venue=COL,t_in=COL,t_out=COL,category=COL.",
            show_default=False,
        ),
    ] = None,
    time_unit: Annotated[
        str,
        typer.Option(help=f"Unit of t_in/t_out: {'|'.join(TIME_UNITS)} (iso: ISO 8601 text)."),
    ] = "s",
    time_origin: Annotated[
        str | None,
        typer.Option(
            help="Added to every time, ISO 8601 or epoch seconds (for minute counters).",
            show_default=False,
        ),
    ] = None,
    assume_dwell: Annotated[
        int | None,
        typer.Option(
            "--assume-dwell",
            min=1,
            help="Minutes of stay where a row has no t_out (point check-ins); without it the "
            "check-out is imputed by the venue category's default dwell.",
            show_default=False,
        ),
    ] = None,
    cap_at_next_checkin: Annotated[
        bool,
        typer.Option(
            "--cap-at-next-checkin",
            help="With --assume-dwell: end an assumed stay at the person's next check-in in "
            "the same file (reads the file twice).",
        ),
    ] = False,
    rejects: Annotated[
        Path | None,
        typer.Option(help="Write every rejected row (row, field, reason) to this CSV file."),
    ] = None,
    seal: Annotated[
        bool, typer.Option(help="Seal every imported day afterwards (all past days are due).")
    ] = True,
    data_dir: DataDirOption = None,
) -> None:
    """Bulk-import historical visits (one row = IN scan + OUT scan when t_out is known)."""
    settings = settings_for(ctx, data_dir=data_dir)
    if time_unit not in TIME_UNITS:
        raise ConfigError(f"--time-unit {time_unit!r}: expected one of {', '.join(TIME_UNITS)}")
    unit: TimeUnit = time_unit
    origin = (
        0 if time_origin is None else epoch_seconds(parse_time(time_origin, field="--time-origin"))
    )
    options = ImportOptions(
        columns=parse_map(map_ or []),
        time_unit=unit,
        time_origin=origin,
        assume_dwell_min=assume_dwell,
        cap_at_next_checkin=cap_at_next_checkin,
    )
    reject_file: TextIO | None = None
    with open_data_dir(settings) as data:
        pseudonymiser = Pseudonymiser(load_or_create_key(data.pseudonym_key_path))
        registry = VenueRegistry(data.venues_path)
        try:
            if is_city_dir(source):
                root = city_root(source)
                with PersonDirectory(data.people_path) as people:
                    registered = register_city(root, registry, people, pseudonymiser)
                console.print(
                    f"registered {registered.venues:,} venues and {registered.people:,} people "
                    f"from {root}",
                    highlight=False,
                )
                source = registered.visits_dir
                # a city's scans carry the app account number, not the dense index
                options = replace(options, columns={"person": "person_ref", **options.columns})
            writer = None
            if rejects is not None:
                reject_file = rejects.open("w", newline="", encoding="utf-8")
                writer = csv.writer(reject_file)
                writer.writerow(["row", "field", "reason"])

            def on_rejects(batch: list[Reject]) -> None:
                if writer is not None:
                    writer.writerows((r.row, r.field, r.reason) for r in batch)

            with Progress(
                TextColumn("[bold]importing"),
                BarColumn(),
                TaskProgressColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            ) as progress:
                task = progress.add_task("rows", total=None)

                def report(done: int, total: int) -> None:
                    progress.update(task, completed=done, total=total)

                importer = Importer(
                    data.hot,
                    pseudonymiser,
                    options,
                    venue_category=registry.arrays().category,
                    progress=report,
                    on_rejects=on_rejects,
                    keep_rejects=_SHOWN_REJECTS,
                )
                summary = importer.run(source)
        finally:
            registry.close()
            if reject_file is not None:
                reject_file.close()
        for r in summary.first_rejects:
            console.print(
                f"rejected {summary.row_label} {r.row}: {r.field}: {r.reason}", highlight=False
            )
        if summary.rejected > len(summary.first_rejects):
            more = summary.rejected - len(summary.first_rejects)
            hint = f" (all in {rejects})" if rejects else " (--rejects FILE lists them all)"
            console.print(f"... and {more:,} more rejected rows{hint}", highlight=False)
        console.print(
            f"{summary.rows:,} rows from {summary.source} in {summary.seconds:.1f} s "
            f"({summary.rows / max(summary.seconds, 1e-9):,.0f} rows/s): "
            f"loaded {summary.loaded:,} / duplicate {summary.duplicate:,} / "
            f"conflict {summary.conflict:,} / rejected {summary.rejected:,}; "
            f"{summary.scans_accepted:,} scans written",
            highlight=False,
        )
        if seal:
            now = int(time.time())
            results = data.seal_due(now, settings.seal_grace_minutes * 60)
            if results:
                console.print(
                    f"sealed {len(results)} day(s), {sum(r.scans for r in results):,} scans",
                    highlight=False,
                )


@reports_errors
def seal(
    ctx: typer.Context,
    all_days: Annotated[
        bool,
        typer.Option("--all", help="Seal every day with unsealed scans, today included."),
    ] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Seal the days that are due (over for longer than seal_grace_minutes) into segments."""
    settings = settings_for(ctx, data_dir=data_dir)
    with open_for_maintenance(settings) as data:
        started = time.perf_counter()
        if all_days:
            results = data.seal_all()
        else:
            policy = MaintenancePolicy.from_settings(settings)
            results = Maintenance(data, policy).seal_due()
        elapsed = time.perf_counter() - started
        scans = sum(r.scans for r in results)
        for r in results:
            console.print(
                f"sealed {day_label(r.day)} generation {r.generation}: {r.scans:,} scans -> "
                f"{r.visits:,} visits in {len(r.entries)} files",
                highlight=False,
            )
        console.print(
            f"sealed {len(results)} day(s), {scans:,} scans in {elapsed:.2f} s"
            + (f" ({scans / elapsed:,.0f} scans/s)" if scans else "")
            + ("" if results else "; nothing was due"),
            highlight=False,
        )


@reports_errors
def purge(
    ctx: typer.Context,
    older_than: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=366,
            help="Keep this many local days, today included (default: retention_days).",
            show_default=False,
        ),
    ] = None,
    now: Annotated[
        str | None,
        typer.Option(
            help="Pretend it is this time (ISO 8601 or epoch seconds).", show_default=False
        ),
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Delete scans older than the retention window from every store, bytes included."""
    settings = settings_for(ctx, data_dir=data_dir, retention_days=older_than)
    moment = int(time.time()) if now is None else epoch_seconds(parse_time(now, field="--now"))
    with open_for_maintenance(settings) as data, PersonDirectory(data.people_path) as people:
        policy = MaintenancePolicy.from_settings(settings)
        report = Maintenance(data, policy, directory=people).purge(moment)
    days = ", ".join(day_label(d) for d in report.days) or "none"
    console.print(
        f"purged days before {day_label(report.cutoff_day)} (days: {days}): "
        f"{report.hot_scans:,} hot scans, "
        f"{report.segments:,} segments ({report.segment_bytes:,} bytes), "
        f"{report.people_forgotten:,} people forgotten, in {report.seconds:.2f} s",
        highlight=False,
    )
