"""`qrtrace simulate`: a scanner fleet replaying the synthetic city against a server."""

from __future__ import annotations

import asyncio
import os
from typing import Annotated

import typer
from rich.live import Live

from api.cli.common import DataDirOption, console, reports_errors, settings_for
from ingest.node import venue_keys_path
from ingest.qrcode import KeyRing
from ingest.simulator import FleetConfig, FleetSummary, city_scans, default_city, run_fleet
from storage.domain import CITY_ADULTS, CITY_VENUES
from storage.errors import InvalidInputError


def _line(s: FleetSummary) -> str:
    rate = s.sent / s.elapsed_s if s.elapsed_s else 0.0
    return (
        f"{s.elapsed_s:6.1f} s  sent {s.sent:,} ({rate:,.0f}/s)  accepted {s.accepted:,}  "
        f"duplicate {s.duplicate:,}  rejected {s.rejected:,}  refused {s.refused:,}  "
        f"p50 {s.percentile_ms(50):.1f} ms  p99 {s.percentile_ms(99):.1f} ms"
    )


@reports_errors
def simulate(
    ctx: typer.Context,
    target: Annotated[str, typer.Option(help="Server HOST:PORT.")] = "127.0.0.1:50051",
    rate: Annotated[float, typer.Option(min=1, help="Scans per second, all devices.")] = 10_000,
    duration: Annotated[float, typer.Option(min=0.1, help="Seconds to run.")] = 10,
    streams: Annotated[int, typer.Option(min=1, help="Gateways, one stream each.")] = 4,
    phones: Annotated[int, typer.Option(min=0, help="Concurrent phones (unary).")] = 16,
    unary_share: Annotated[float, typer.Option(min=0, max=1, help="Share sent unary.")] = 0.1,
    batch: Annotated[int, typer.Option(min=1, help="Scans per stream batch.")] = 1000,
    token: Annotated[
        str | None, typer.Option(help="Device token (default: $QRTRACE_TOKEN).", show_default=False)
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="Synthetic city seed.")] = 1,
    venues: Annotated[int, typer.Option(min=60, help="Venues of the city.")] = CITY_VENUES,
    adults: Annotated[int, typer.Option(min=120, help="Adults of the city.")] = CITY_ADULTS,
    data_dir: DataDirOption = None,
) -> None:
    """Stream the synthetic city to a server as many scanner apps would; print a summary.

    Venue QR payloads are signed with the key ring in --data-dir (the city's posters); the
    server must have the same city's venues (`qrtrace venues import-city`).
    """
    settings = settings_for(ctx, data_dir=data_dir)
    token = token or os.environ.get("QRTRACE_TOKEN")
    if not token:
        raise InvalidInputError("--token", "no device token; expected --token or QRTRACE_TOKEN")
    ring = KeyRing.load(venue_keys_path(settings.data_dir))
    n = min(max(int(rate * duration), 1_000), adults * 2)
    scans = city_scans(default_city(n, seed, venues, adults))
    config = FleetConfig(
        target=target,
        token=token,
        rate=rate,
        duration_s=duration,
        streams=streams,
        batch_scans=batch,
        unary_share=unary_share,
        phones=phones,
        seed=seed,
    )
    with Live(console=console, transient=True) as live:
        summary = asyncio.run(run_fleet(config, scans, ring.sign, lambda s: live.update(_line(s))))
    console.print(_line(summary), highlight=False)
