"""`qrtrace trace`, `qrtrace exposure`, `qrtrace clusters`: the tracing engine from a shell.

Each command opens the data directory (segments + hot tail), the venue registry (wards,
categories) and the person directory (references, home wards), resolves the person reference
to its pseudonym with the data directory's key, and prints the result as a table, the
documented JSON (README "Tracing rule sets"), or CSV.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from enum import StrEnum
from typing import Annotated, Any

import numpy as np
import numpy.typing as npt
import orjson
import typer
from rich.table import Table

from api.cli.common import DataDirOption, console, reports_errors, settings_for
from api.cli.timeparse import epoch_seconds, parse_date, parse_time
from storage.datadir import DataDir
from storage.directory import PersonDirectory
from storage.pseudonym import Pseudonymiser, load_or_create_key
from storage.settings import Settings
from storage.venues import VenueRegistry
from tracing.dask_cluster import ClusterTracing
from tracing.engine import PersonLookup, TraceEngine, VenueInfo, Window, case_window
from tracing.errors import TraceWindowError
from tracing.f2 import f2_candidates
from tracing.graph import Case, clusters
from tracing.index import IndexSource
from tracing.results import TraceResult
from tracing.rules import DEFAULT_RULE_SET, RULE_SETS, RuleSet, get_rule_set, parse_param_overrides


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


RulesOption = Annotated[str, typer.Option("--rules", help=f"Rule set: {', '.join(RULE_SETS)}.")]
ParamOption = Annotated[
    list[str] | None,
    typer.Option("--param", help="Override a rule parameter, name=value (repeatable)."),
]
FormatOption = Annotated[Format, typer.Option("--format", help="table, json or csv.")]
LimitOption = Annotated[int, typer.Option("--limit", help="Contacts shown (table/csv/json).")]


class DirectoryPeople(PersonLookup):
    """References and home wards from the person directory."""

    def __init__(self, directory: PersonDirectory) -> None:
        self.directory = directory

    def home_wards(self, person_ids: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint8]:
        return self.directory.home_wards(np.asarray(person_ids, dtype=np.uint64))

    def references(self, person_ids: npt.NDArray[np.uint64]) -> list[str | None]:
        out: list[str | None] = []
        for p in person_ids.tolist():
            record = self.directory.lookup(int(p))
            out.append(None if record is None else record.reference)
        return out


ClusterOption = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        help="Run on the Dask scheduler at tcp://HOST:PORT (setting dask_scheduler); same "
        "output as local.",
        show_default=False,
    ),
]


@contextmanager
def open_engine(settings: Settings) -> Iterator[tuple[TraceEngine, Pseudonymiser]]:
    """Engine over the data directory with venue and person lookups; closes them all.

    With `dask_scheduler` set, the engine runs its partitions on that Dask cluster
    (tracing.distributed); results are identical to the local engine's.
    """
    with DataDir.from_settings(settings) as data:
        registry = VenueRegistry(data.venues_path)
        people = PersonDirectory(data.people_path)
        cluster: ClusterTracing | None = None
        try:
            arrays = registry.arrays()
            venues = VenueInfo(arrays.ward, arrays.category)
            source = IndexSource(data.hot, data.manifest, data.segment_dir)
            if settings.dask_scheduler:
                cluster = ClusterTracing.open(
                    settings, source.snapshot, segment_dir=data.segment_dir,
                    n_shards=data.manifest.n_shards,
                )  # fmt: skip
                engine: TraceEngine = cluster.engine(venues, DirectoryPeople(people))
            else:
                engine = TraceEngine(source.parts, venues, DirectoryPeople(people))
            yield engine, Pseudonymiser(load_or_create_key(data.pseudonym_key_path))
        finally:
            if cluster is not None:
                cluster.close()
            people.close()
            registry.close()


def _settings(ctx: typer.Context, data_dir: object, cluster: str | None) -> Settings:
    overrides = {"data_dir": data_dir} if data_dir else {}
    return settings_for(ctx, **overrides, **({"dask_scheduler": cluster} if cluster else {}))


def _rules(name: str, params: list[str] | None) -> RuleSet:
    return get_rule_set(name, parse_param_overrides(params or []))


def _window(
    rules: RuleSet,
    start: str | None,
    end: str | None,
    onset: str | None,
    sample: str | None,
    isolation: str | None,
) -> Window:
    if start or end:
        if not (start and end):
            raise TraceWindowError("give both --from and --to (or --sample/--onset instead)")
        return Window(
            epoch_seconds(parse_time(start, field="--from")),
            epoch_seconds(parse_time(end, field="--to")),
        )
    if not sample and not onset:
        raise TraceWindowError(
            "no window: expected --from/--to, or --sample (and --onset when symptomatic)"
        )
    onset_day = parse_date(onset, field="--onset") if onset else None
    sample_day = parse_date(sample, field="--sample") if sample else onset_day
    assert sample_day is not None
    iso_day = parse_date(isolation, field="--isolation") if isolation else None
    return case_window(rules, sample=sample_day, onset=onset_day, isolation=iso_day)


def _csv_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def emit(doc: dict[str, Any], fmt: Format) -> None:
    """Print a result document in the chosen format."""
    if fmt is Format.json:
        sys.stdout.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    rows = doc["contacts"]
    columns = [
        "rank", "person", "home_ward", "tier", "score", "minutes", "shared_visits",
        "first_exposure", "last_exposure",
    ]  # fmt: skip
    if fmt is Format.csv:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([*columns, "venues"])
        for r in rows:
            venues = " ".join(str(e["venue"]) for e in r["evidence"])
            writer.writerow([_csv_cell(r[c]) for c in columns] + [venues])
        sys.stdout.write(out.getvalue())
        return
    rules = doc["rules"]
    table = Table(
        title=f"{doc['query']['kind']} trace, rules {rules['name']} v{rules['version']}: "
        f"{doc['counts']['contacts']} contacts, {doc['counts']['high_tier']} in the high tier"
    )
    for c in columns:
        table.add_column(c)
    for r in rows:
        table.add_row(*(str(r[c]) for c in columns))
    console.print(table)


@reports_errors
def trace(
    ctx: typer.Context,
    person: Annotated[str, typer.Option("--person", help="Person reference as ingested.")],
    data_dir: DataDirOption = None,
    start: Annotated[str | None, typer.Option("--from", help="Window start (time).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Window end (time).")] = None,
    onset: Annotated[str | None, typer.Option("--onset", help="Symptom onset date.")] = None,
    sample: Annotated[str | None, typer.Option("--sample", help="Sample date.")] = None,
    isolation: Annotated[
        str | None, typer.Option("--isolation", help="Isolation date (window end).")
    ] = None,
    rules: RulesOption = DEFAULT_RULE_SET,
    param: ParamOption = None,
    fmt: FormatOption = Format.table,
    limit: LimitOption = 1000,
    f2: Annotated[bool, typer.Option("--f2", help="Add F2 candidates (lower priority).")] = False,
    cluster: ClusterOption = None,
) -> None:
    """Trace a case: ranked, explained contacts of PERSON over the infectious window."""
    settings = _settings(ctx, data_dir, cluster)
    rule_set = _rules(rules, param)
    window = _window(rule_set, start, end, onset, sample, isolation)
    with open_engine(settings) as (engine, pseudonyms):
        result = engine.trace_case(pseudonyms.person_id(person, field="--person"), window, rule_set)
        if f2:
            result.f2 = f2_candidates(engine, result)
        emit(result.to_json(limit=limit), fmt)


@reports_errors
def exposure(
    ctx: typer.Context,
    venue: Annotated[int, typer.Option("--venue", help="Venue id.")],
    start: Annotated[str, typer.Option("--from", help="Window start (time).")],
    end: Annotated[str, typer.Option("--to", help="Window end (time).")],
    data_dir: DataDirOption = None,
    rules: RulesOption = DEFAULT_RULE_SET,
    param: ParamOption = None,
    fmt: FormatOption = Format.table,
    limit: LimitOption = 1000,
    cluster: ClusterOption = None,
) -> None:
    """Trace an exposure window: everyone at VENUE between --from and --to."""
    settings = _settings(ctx, data_dir, cluster)
    rule_set = _rules(rules, param)
    window = _window(rule_set, start, end, None, None, None)
    with open_engine(settings) as (engine, _pseudonyms):
        result: TraceResult = engine.trace_exposure(venue, window, rule_set)
        emit(result.to_json(limit=limit), fmt)


@reports_errors
def clusters_cmd(
    ctx: typer.Context,
    case: Annotated[
        list[str],
        typer.Option("--case", help="PERSON,SAMPLE_DATE[,ONSET_DATE] (repeatable)."),
    ],
    data_dir: DataDirOption = None,
    rules: RulesOption = DEFAULT_RULE_SET,
    param: ParamOption = None,
    hot_spot_cases: Annotated[
        int, typer.Option("--hot-spot-cases", help="F0 visits that make a hot spot.")
    ] = 2,
    hot_spot_hours: Annotated[
        int, typer.Option("--hot-spot-hours", help="Hot-spot time span, hours.")
    ] = 24,
    cluster: ClusterOption = None,
) -> None:
    """Clusters over F0s: linked cases, venue hot spots, likely source venues (JSON)."""
    settings = _settings(ctx, data_dir, cluster)
    rule_set = _rules(rules, param)
    with open_engine(settings) as (engine, pseudonyms):
        cases = []
        for item in case:
            fields = [f.strip() for f in item.split(",")]
            if len(fields) not in (2, 3):
                raise TraceWindowError(f"--case {item!r}: expected PERSON,SAMPLE[,ONSET]")
            sample_day = parse_date(fields[1], field="--case sample")
            onset_day: date | None = (
                parse_date(fields[2], field="--case onset") if len(fields) == 3 else None
            )
            window = case_window(rule_set, sample=sample_day, onset=onset_day)
            pid = pseudonyms.person_id(fields[0], field="--case person")
            cases.append(Case(pid, window, onset_day or sample_day))
        doc = clusters(
            engine, cases, rule_set, hot_spot_cases=hot_spot_cases, hot_spot_hours=hot_spot_hours
        )
        emit_json(doc)


def emit_json(doc: dict[str, Any]) -> None:
    sys.stdout.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n")
