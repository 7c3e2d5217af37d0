"""`qrtrace demo`: the main job on the embedded default, end to end, saying what it did.

It grows with the system. Today: generate one synthetic day of Biên Hòa, summarise it, and
show each planted F0's ground-truth contacts. As the ingest, storage and tracing tiers land,
the same command streams the day through gRPC, seals it and prints the engine's F1 list
beside this truth.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.table import Table

from api.cli.common import DataDirOption, console, reports_errors, settings_for
from storage.domain import LOCAL_TZ, WARD_BY_CODE
from storage.synthetic_city import (
    CityConfig,
    OutbreakTruth,
    describe_city,
    venue_names,
    write_city,
)
from storage.synthetic_city.truth import CaseTruth

_TOP_CONTACTS = 10


def _clock(epoch_s: int) -> str:
    return datetime.fromtimestamp(epoch_s, tz=UTC).astimezone(LOCAL_TZ).strftime("%d/%m %H:%M")


def _case_table(case: CaseTruth, venue_names: dict[int, str]) -> Table:
    onset = case.onset_date.isoformat() if case.onset_date else "asymptomatic"
    table = Table(
        title=(
            f"F0 person #{case.person} ({WARD_BY_CODE[case.home_ward].name}), "
            f"sample {case.sample_date.isoformat()}, onset {onset}: "
            f"{len(case.contacts)} contacts (top {min(_TOP_CONTACTS, len(case.contacts))})"
        ),
        title_justify="left",
    )
    for column in ("rank", "person", "home ward", "minutes", "where / when", "check-out", "why"):
        table.add_column(column)
    for rank, contact in enumerate(case.contacts[:_TOP_CONTACTS], start=1):
        shared = contact.visits[0]
        table.add_row(
            str(rank),
            f"#{contact.person}",
            WARD_BY_CODE[contact.home_ward].name,
            f"{contact.total_overlap_s / 60:.0f}",
            f"{venue_names.get(shared.venue, shared.venue)} "
            f"{_clock(shared.overlap_start)}-{_clock(shared.overlap_end)[-5:]}",
            "observed" if all(v.has_checkout for v in contact.visits) else "missing",
            contact.role or "background visitor",
        )
    return table


@reports_errors
def demo(ctx: typer.Context, data_dir: DataDirOption = None) -> None:
    """Run the main job on the embedded default: a synthetic Biên Hòa day and its outbreak."""
    settings = settings_for(ctx, data_dir=data_dir)
    began = time.perf_counter()
    city_dir = settings.data_dir / "demo" / "city"
    config = CityConfig(scans=settings.demo_scans, days=1, seed=settings.demo_seed)
    console.rule("[bold]1. synthetic city")
    summary = write_city(config, city_dir)
    console.print(
        f"generated {summary.scans:,} check-in scans on {config.start_date.isoformat()} across "
        f"{summary.venues:,} venues and {summary.people:,} adults "
        f"({summary.app_users:,} app users) in {summary.elapsed_s:.1f} s -> {city_dir}",
        highlight=False,
    )
    description = describe_city(city_dir)
    console.print(
        f"{description.no_checkout_share:.1%} of visits lack a check-out; the busiest 1% of "
        f"venues take {description.top1pct_venue_share:.1%} of scans",
        highlight=False,
    )

    console.rule("[bold]2. planted outbreak: ground truth (brute force over every visit)")
    truth = OutbreakTruth.from_json(json.loads(Path(city_dir / "outbreak.json").read_text()))
    names = venue_names(
        city_dir, (v.venue for case in truth.cases for c in case.contacts for v in c.visits)
    )
    for case in truth.cases:
        console.print(_case_table(case, names))
        if case.non_contacts:
            console.print(
                f"  not contacts (touching intervals): "
                f"{', '.join(f'#{p} ({why})' for p, why in case.non_contacts.items())}",
                highlight=False,
            )
    if truth.chain is not None:
        chain = truth.chain
        console.print(
            f"chain: F0 #{chain.f0} -> F1 #{chain.f1} -> F2 #{chain.f2} "
            f"({len(chain.co_visitors)} people overlapped the F1's later visit)",
            highlight=False,
        )

    console.rule("[bold]done")
    console.print(
        f"demo finished in {time.perf_counter() - began:.1f} s. Next: "
        f"`qrtrace city --describe {city_dir}` for the full city summary.",
        highlight=False,
    )
