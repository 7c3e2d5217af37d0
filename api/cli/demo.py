"""`qrtrace demo`: the main job on the embedded default, end to end, saying what it did.

The work is `api.demo_pipeline.run_demo` (real server, real stores, real engine); this module
only prints: each stage as it starts, then the ranked F1 list with its evidence beside the
city's ground truth, and the ward totals.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import orjson
import typer
from rich.table import Table

from api.cli.common import DataDirOption, console, reports_errors, settings_for
from api.demo_pipeline import DemoReport, run_demo
from storage.domain import LOCAL_TZ, WARD_BY_CODE

_TOP_CONTACTS = 15
_TOP_WARDS = 10


def _clock(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(LOCAL_TZ).strftime("%H:%M")


def _evidence(row: dict[str, Any]) -> str:
    parts = []
    for ev in row["evidence"]:
        checkout = "" if ev["contact_checkout"] == "observed" else f", {ev['contact_checkout']}"
        parts.append(
            f"venue {ev['venue']} ({ev['category']}) "
            f"{_clock(ev['overlap_start'])}-{_clock(ev['overlap_end'])}{checkout}"
        )
    return "; ".join(parts)


def _contacts_table(report: DemoReport) -> Table:
    trace = report.officer.trace
    counts = trace.get("counts", {})
    rules = orjson.loads(trace.get("rules_json", "{}"))
    truth = set(report.case_truth_contacts)
    table = Table(
        title=(
            f"F1 list of case {report.officer.case.get('case_id')} (F0 {report.case_reference}) "
            f"— rule set {rules.get('name')} v{rules.get('version')}: "
            f"{counts.get('contacts', 0)} contacts, {counts.get('high_tier', 0)} in the F1 tier"
            f" (top {min(_TOP_CONTACTS, len(report.contacts))} shown)"
        ),
        title_justify="left",
    )
    for column in ("#", "person", "home ward", "tier", "score", "min"):
        table.add_column(column, no_wrap=True)
    table.add_column("evidence", overflow="fold", min_width=24)
    table.add_column("truth", no_wrap=True)
    for row in report.contacts[:_TOP_CONTACTS]:
        ward = WARD_BY_CODE.get(int(row.get("home_ward", 0)))
        table.add_row(
            str(row["rank"]),
            row["person"],
            ward.name if ward else "?",
            row["tier"],
            f"{row['score']:g}",
            f"{row['minutes']:.0f}",
            _evidence(row),
            "✓" if row["person"] in truth else "",
        )
    return table


def _ward_table(report: DemoReport) -> Table:
    totals = report.officer.ward_totals
    table = Table(title=f"check-ins per ward on {report.day.isoformat()}", title_justify="left")
    table.add_column("ward")
    table.add_column("check-ins", justify="right")
    table.add_column("check-outs", justify="right")
    ranked = sorted(totals.items(), key=lambda item: -item[1]["check_ins"])
    for code, row in ranked[:_TOP_WARDS]:
        ward = WARD_BY_CODE.get(code)
        table.add_row(
            ward.name if ward else f"ward {code}",
            f"{row['check_ins']:,}",
            f"{row['check_outs']:,}",
        )
    if len(ranked) > _TOP_WARDS:
        table.add_row(f"… {len(ranked) - _TOP_WARDS} more wards", "", "")
    table.add_row(
        "[bold]all wards",
        f"[bold]{sum(r['check_ins'] for r in totals.values()):,}",
        f"[bold]{sum(r['check_outs'] for r in totals.values()):,}",
    )
    return table


@reports_errors
def demo(ctx: typer.Context, data_dir: DataDirOption = None) -> None:
    """Run the main job on the embedded default: a synthetic Biên Hòa day, end to end."""
    settings = settings_for(ctx, data_dir=data_dir)
    stage = 0

    def step(text: str) -> None:
        nonlocal stage
        stage += 1
        console.rule(f"[bold]{stage}. {text}")

    report = asyncio.run(run_demo(settings, step))
    s = report.stream
    ports = ", ".join(f"{name} :{port}" for name, port in report.ports.items())
    console.print(
        f"city: {report.city.scans:,} check-ins on {report.day.isoformat()} across "
        f"{report.city.venues:,} venues, {report.city.people:,} adults -> {report.city_dir}\n"
        f"node {report.node_dir} on 127.0.0.1 ({ports}): registered "
        f"{report.registered_venues:,} venues and {report.registered_people:,} residents\n"
        f"streamed {s.sent:,} scans (check-ins and check-outs) in {s.batches:,} batches in "
        f"{s.seconds:.2f} s ({s.rate:,.0f} scans/s, each ack after its fsync; "
        f"{s.venues:,} venue QR signatures verified once each): "
        f"{s.accepted:,} accepted, {s.duplicate:,} duplicate, {s.rejected:,} rejected\n"
        f"sealed {report.sealed_rows:,} visits into {report.sealed_segments} Arrow segments",
        highlight=False,
        soft_wrap=True,
    )
    console.print(_contacts_table(report))
    found = len(set(report.case_truth_contacts) & {r["person"] for r in report.contacts})
    console.print(
        f"register + trace + totals over gRPC took {report.officer_ms:.0f} ms (every call "
        f"audited before it answered); ground truth (brute force over the city's true "
        f"departures): {len(report.case_truth_contacts)} contacts, {found} listed "
        f"(recall {report.recall:.0%}); missing check-outs are imputed, so scores can differ",
        highlight=False,
        soft_wrap=True,
    )
    console.print(_ward_table(report))
    console.print(
        f"summary: {report.officer.summary.get('text', '')}", highlight=False, soft_wrap=True
    )
    console.rule("[bold]done")
    console.print(
        f"demo finished in {report.seconds:.1f} s. Explore: `qrtrace serve --data-dir "
        f"{report.node_dir}`, `qrtrace trace --data-dir {report.node_dir} --person "
        f"{report.case_reference} ...`, `qrtrace audit verify --data-dir {report.node_dir}`, "
        f"`qrtrace city --describe {report.city_dir}`.",
        highlight=False,
        soft_wrap=True,
    )
