"""`qrtrace venues ...` and `qrtrace devices ...`: register venues, print signed QR codes,
rotate the signing key, issue device tokens. They open the stores directly, so they run
while the server is stopped (RocksDB admits one process); the server reads them at start.
"""

from __future__ import annotations

import time
from typing import Annotated

import typer

from api.cli.common import DataDirOption, console, reports_errors, settings_for
from ingest.auth import add_device
from ingest.node import tokens_path, venue_keys_path
from ingest.qrcode import KeyRing
from ingest.simulator import default_city
from storage.domain import CITY_ADULTS, CITY_VENUES, category_by_slug
from storage.errors import InvalidInputError, RegistryError
from storage.settings import Settings
from storage.synthetic_city import build_city
from storage.venues import Venue, VenueRegistry


def _registry(settings: Settings) -> VenueRegistry:
    path = settings.data_dir / "venues"
    try:
        return VenueRegistry(path)
    except Exception as exc:  # rocksdict raises plain Exception (e.g. the LOCK is held)
        raise RegistryError(
            f"cannot open venue registry {path} ({exc}); expected no running `qrtrace serve`"
            " on this data dir"
        ) from None


venues_app = typer.Typer(help="Register venues and issue their signed QR payloads.")
devices_app = typer.Typer(help="Issue device tokens for scanner apps and gateways.")


@venues_app.command("add")
@reports_errors
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="Venue name.")],
    ward: Annotated[int, typer.Option(help="Ward code (1-30).")],
    category: Annotated[str, typer.Option(help="Category slug, e.g. restaurant, market.")],
    capacity: Annotated[int | None, typer.Option(help="Capacity (people).")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Register a venue under the next free id and print its signed QR payload."""
    settings = settings_for(ctx, data_dir=data_dir)
    try:
        code = category_by_slug(category).code
    except KeyError as exc:
        raise InvalidInputError("category", str(exc.args[0])) from None
    with _registry(settings) as registry:
        venue = registry.register_new(
            name=name, ward=ward, category=code, registered_at=int(time.time()), capacity=capacity
        )
    ring = KeyRing.load_or_create(venue_keys_path(settings.data_dir))
    console.print(f"venue {venue.venue_id}: {ring.sign(venue.venue_id)}", highlight=False)


@venues_app.command("qr")
@reports_errors
def qr(
    ctx: typer.Context,
    venue_id: Annotated[int, typer.Argument(help="Registered venue id.")],
    data_dir: DataDirOption = None,
) -> None:
    """Print the signed QR payload of a registered venue (current key)."""
    settings = settings_for(ctx, data_dir=data_dir)
    with _registry(settings) as registry:
        venue = registry.get(venue_id)
    if venue is None:
        raise InvalidInputError("venue_id", f"venue {venue_id} is not registered")
    ring = KeyRing.load_or_create(venue_keys_path(settings.data_dir))
    console.print(ring.sign(venue_id), highlight=False)


@venues_app.command("rotate-key")
@reports_errors
def rotate_key(ctx: typer.Context, data_dir: DataDirOption = None) -> None:
    """Make a new signing key current; codes signed with older keys keep verifying."""
    settings = settings_for(ctx, data_dir=data_dir)
    kid = KeyRing.load_or_create(venue_keys_path(settings.data_dir)).rotate()
    console.print(f"current venue QR key is now {kid}", highlight=False)


@venues_app.command("import-city")
@reports_errors
def import_city(
    ctx: typer.Context,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the synthetic city.")] = 1,
    venues: Annotated[int, typer.Option(min=60, help="Venues of the city.")] = CITY_VENUES,
    adults: Annotated[int, typer.Option(min=120, help="Adults of the city.")] = CITY_ADULTS,
    data_dir: DataDirOption = None,
) -> None:
    """Register every venue of a synthetic city (what `qrtrace simulate` replays)."""
    settings = settings_for(ctx, data_dir=data_dir)
    city = build_city(default_city(1_000, seed, venues, adults))
    now = int(time.time()) - 86_400 * 30
    rows = [
        Venue(int(v), f"venue {int(v)}", int(w), int(c), now)
        for v, w, c in zip(
            city.venues.venue_id, city.venues.ward, city.venues.category, strict=True
        )
    ]
    with _registry(settings) as registry:
        registry.register_many(rows)
    KeyRing.load_or_create(venue_keys_path(settings.data_dir))
    console.print(f"registered {len(rows):,} venues of city seed {seed}", highlight=False)


@devices_app.command("add")
@reports_errors
def add_device_cmd(
    ctx: typer.Context,
    device_id: Annotated[str, typer.Argument(help="Device or gateway id.")],
    data_dir: DataDirOption = None,
) -> None:
    """Create (or replace) a device's token; the token is printed once, stored as a digest."""
    settings = settings_for(ctx, data_dir=data_dir)
    console.print(add_device(tokens_path(settings), device_id), highlight=False)
