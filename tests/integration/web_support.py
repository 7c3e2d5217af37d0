"""A small synthetic city (with its planted outbreak) imported into a data directory.

The same path `qrtrace import <city dir>` takes: venues and people registered, every visit
written through the importer into the hot store. Users: ward officers of the first planted
F0's home ward and of another ward, and a city admin.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import orjson

from api.auth import Role, add_user, users_path
from storage.city_import import register_city
from storage.datadir import DataDir
from storage.directory import PersonDirectory
from storage.importer import Importer, ImportOptions
from storage.pseudonym import Pseudonymiser, load_or_create_key
from storage.settings import Settings, load_settings
from storage.synthetic_city import CityConfig, OutbreakTruth, person_reference, write_city
from storage.synthetic_city.writer import OUTBREAK_JSON
from storage.venues import VenueRegistry

CITY = CityConfig(scans=40_000, days=3, seed=5, venues=2_000, adults=20_000)


@dataclass(frozen=True)
class CityWorld:
    settings: Settings
    truth: OutbreakTruth
    tokens: dict[str, str]
    f0_ward: int
    other_ward: int


def reference(person: int) -> str:
    """The app reference (what an officer types) of a city person index."""
    return str(int(person_reference(np.array([person], dtype=np.int64))[0]))


def build_city_world(tmp: Path) -> CityWorld:
    city_dir, root = tmp / "city", tmp / "data"
    write_city(CITY, city_dir)
    truth = OutbreakTruth.from_json(orjson.loads((city_dir / OUTBREAK_JSON).read_bytes()))
    settings = load_settings(
        None, data_dir=root, ingest_port=0, api_grpc_port=0, api_http_port=0, log_level="WARNING"
    )
    with DataDir(root, sync=False) as data:
        pseudonymiser = Pseudonymiser(load_or_create_key(data.pseudonym_key_path))
        with VenueRegistry(data.venues_path) as registry:
            with PersonDirectory(data.people_path) as people:
                registered = register_city(city_dir, registry, people, pseudonymiser)
            options = replace(ImportOptions(), columns={"person": "person_ref"})
            Importer(
                data.hot, pseudonymiser, options, venue_category=registry.arrays().category
            ).run(registered.visits_dir)
    f0_ward = truth.cases[0].home_ward
    other = next(w for w in range(1, 31) if w != f0_ward)
    upath = users_path(root)
    tokens = {
        "officer": add_user(upath, "officer-f0-ward", Role.OFFICER, f0_ward),
        "other": add_user(upath, "officer-other-ward", Role.OFFICER, other),
        "admin": add_user(upath, "admin", Role.ADMIN),
    }
    return CityWorld(settings, truth, tokens, f0_ward, other)
