"""Registering a synthetic city's static tables: venues into the registry, people into the
person directory, so an imported city traces end to end (wards of venues and of contacts).

The synthetic person reference is the app account number `person_reference(person)`
(`PERSON_REF_BASE + index`, the visits' `person_ref` column, what the scanner-fleet simulator
sends and `qrtrace demo` prints); it is pseudonymised with the data directory's key exactly as
the visit import does, so directory rows and scans meet on the same `person_id`. Venue ids
are the city's own (1..N). Runs once per city, so the per-venue/per-person objects the
registry and directory APIs take are acceptable here (this is not the scan path).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import Final

import numpy as np
import pyarrow.parquet as pq

from storage.directory import PersonDirectory
from storage.domain import LOCAL_TZ
from storage.pseudonym import Pseudonymiser
from storage.synthetic_city.config import CityConfig
from storage.synthetic_city.names import person_reference
from storage.synthetic_city.writer import PEOPLE_FILE, VENUES_FILE, VISITS_DIR, read_city_json
from storage.venues import Venue, VenueRegistry

_CHUNK: Final = 100_000


@dataclass(frozen=True)
class CityRegistration:
    """What registering a city wrote, and where its visits are."""

    venues: int
    people: int
    visits_dir: Path
    first_day_start: int


def is_city_dir(path: Path) -> bool:
    """True for a synthetic city output directory (has city.json) or its visits/ folder."""
    path = Path(path)
    return (path / "city.json").is_file() or (
        path.name == VISITS_DIR and (path.parent / "city.json").is_file()
    )


def city_root(path: Path) -> Path:
    """The city directory of `path` (itself, or the parent of its visits/ folder)."""
    path = Path(path)
    return path if (path / "city.json").is_file() else path.parent


def register_city(
    city_dir: Path,
    registry: VenueRegistry,
    directory: PersonDirectory,
    pseudonymiser: Pseudonymiser,
) -> CityRegistration:
    """Register every venue and person of a written city (idempotent: rows are replaced)."""
    meta = read_city_json(city_dir)
    config = CityConfig.from_json(meta["config"])
    start = int(datetime.combine(config.start_date, time(), LOCAL_TZ).timestamp())
    venues = pq.read_table(
        city_dir / VENUES_FILE, columns=["venue_id", "ward", "category", "name", "lat", "lon"]
    ).to_pydict()
    rows = [
        Venue(
            venue_id=int(v),
            name=str(name),
            ward=int(ward),
            category=int(category),
            registered_at=start,
            lat=float(lat),
            lon=float(lon),
        )
        for v, ward, category, name, lat, lon in zip(
            venues["venue_id"],
            venues["ward"],
            venues["category"],
            venues["name"],
            venues["lat"],
            venues["lon"],
            strict=True,
        )
    ]
    for lo in range(0, len(rows), _CHUNK):
        registry.register_many(rows[lo : lo + _CHUNK])
    people = pq.read_table(city_dir / PEOPLE_FILE, columns=["person", "home_ward", "phone", "name"])
    person_refs = person_reference(people.column("person").to_numpy())
    ids = pseudonymiser.person_ids(person_refs)
    references = [str(p) for p in person_refs.tolist()]
    wards = people.column("home_ward").to_numpy().astype(np.int64)
    phones = people.column("phone").to_pylist()
    names = people.column("name").to_pylist()
    for lo in range(0, len(ids), _CHUNK):
        hi = lo + _CHUNK
        directory.upsert_many(
            ids[lo:hi], references[lo:hi], wards[lo:hi], phones[lo:hi], names[lo:hi]
        )
    return CityRegistration(
        venues=len(rows), people=len(ids), visits_dir=city_dir / VISITS_DIR, first_day_start=start
    )
