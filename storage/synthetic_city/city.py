"""The city's static population: venues and people as struct-of-arrays, built from a config.

Struct-of-arrays because every consumer is vectorised: the visit generator gathers
`venues.category[venue_index]` for 700k visits at once, Parquet writers take columns, and
tracing tests index by dense ids. Venue ids are dense, 1-based and sorted by (ward,
category), so one ward's venues form one contiguous id range — the layout the grouped
alias sampler (and any per-ward slicing) relies on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from storage.domain import CATEGORIES, WARDS
from storage.synthetic_city.config import CityConfig
from storage.synthetic_city.geography import venue_coordinates
from storage.synthetic_city.names import birth_years, person_names, phone_numbers, venue_names
from storage.synthetic_city.outbreak import OutbreakPlan, plant_outbreak
from storage.synthetic_city.sampling import (
    STREAM_OUTBREAK,
    STREAM_PEOPLE,
    STREAM_VENUES,
    apportion,
    stream,
)

#: Zipf exponent of venue popularity inside a (ward, category): rank r gets weight r**-s
ZIPF_EXPONENT = 1.0
#: gamma shape of personal scan activity; < 1 gives many light and a few heavy scanners
ACTIVITY_SHAPE = 0.6

U8 = npt.NDArray[np.uint8]
U32 = npt.NDArray[np.uint32]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, eq=False)
class Venues:
    """Registered QR venues; row i is venue_id i + 1."""

    venue_id: U32
    ward: U8  # ward code (1-based)
    category: U8  # category code (1-based)
    #: relative expected visits: category visit_rate x Zipf weight (mean 1 per ward+category)
    popularity: F64
    lat: npt.NDArray[np.float32]
    lon: npt.NDArray[np.float32]
    name: npt.NDArray[np.str_]

    def __len__(self) -> int:
        return len(self.venue_id)


@dataclass(frozen=True, slots=True, eq=False)
class People:
    """Adults of the city; row i is person i (0-based)."""

    person: U32
    home_ward: U8  # ward code (1-based)
    app_user: npt.NDArray[np.bool_]
    #: relative scan propensity (gamma distributed); zero-scan people still have a value
    activity: F64
    phone: npt.NDArray[np.str_]
    name: npt.NDArray[np.str_]
    birth_year: npt.NDArray[np.uint16]

    def __len__(self) -> int:
        return len(self.person)


@dataclass(frozen=True, slots=True, eq=False)
class City:
    """Everything static about a city plus its planted outbreak plan."""

    config: CityConfig
    venues: Venues
    people: People
    outbreak: OutbreakPlan


def build_city(config: CityConfig) -> City:
    """Venues, people and the outbreak plan for `config` (deterministic for its seed)."""
    venues = build_venues(config, stream(config.seed, STREAM_VENUES))
    people = build_people(config, stream(config.seed, STREAM_PEOPLE))
    plan = plant_outbreak(venues, people, config, stream(config.seed, STREAM_OUTBREAK))
    return City(config=config, venues=venues, people=people, outbreak=plan)


def build_venues(config: CityConfig, rng: np.random.Generator) -> Venues:
    """Venues per ward by population, categories by venue_share, Zipf popularity."""
    n = config.venues
    per_ward = apportion(n, [w.population_weight for w in WARDS], minimum=2)
    per_cat = apportion(n, [c.venue_share for c in CATEGORIES], minimum=1)
    ward_idx = np.repeat(np.arange(len(WARDS)), per_ward)
    cat_idx = rng.permutation(np.repeat(np.arange(len(CATEGORIES)), per_cat))
    # dense ids sorted by (ward, category); order inside a group is random
    order = np.lexsort((rng.random(n), cat_idx, ward_idx))
    ward_idx, cat_idx = ward_idx[order], cat_idx[order]
    group = ward_idx * len(CATEGORIES) + cat_idx
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    serial = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n])) + 1
    # popularity rank inside the group is independent of the serial number in the name
    by_rank = np.lexsort((rng.random(n), group))
    rank = np.empty(n, dtype=np.int64)
    rank[by_rank] = serial
    raw = rank.astype(np.float64) ** -ZIPF_EXPONENT
    sums = np.bincount(group, raw, minlength=len(WARDS) * len(CATEGORIES))
    counts = np.bincount(group, minlength=len(WARDS) * len(CATEGORIES))
    rate = np.array([c.visit_rate for c in CATEGORIES])
    popularity = rate[cat_idx] * raw * counts[group] / sums[group]
    lat, lon = venue_coordinates(ward_idx, rng)
    return Venues(
        venue_id=np.arange(1, n + 1, dtype=np.uint32),
        ward=(ward_idx + 1).astype(np.uint8),
        category=(cat_idx + 1).astype(np.uint8),
        popularity=popularity,
        lat=lat,
        lon=lon,
        name=venue_names(cat_idx + 1, ward_idx + 1, serial),
    )


def build_people(config: CityConfig, rng: np.random.Generator) -> People:
    """Residents per ward by population, an exact app-user count stratified by ward."""
    n = config.adults
    residents = apportion(n, [w.population_weight for w in WARDS], minimum=4)
    users = apportion(config.app_users, residents)
    ward_idx = np.repeat(np.arange(len(WARDS)), residents)
    # within each ward, the first users[w] of a random order have the app
    order = np.lexsort((rng.random(n), ward_idx))
    rank_in_ward = np.empty(n, dtype=np.int64)
    starts = np.r_[0, np.cumsum(residents)[:-1]]
    rank_in_ward[order] = np.arange(n) - np.repeat(starts, residents)
    app = rank_in_ward < users[ward_idx]
    # person ids are shuffled so they carry no ward information
    shuffle = rng.permutation(n)
    ward_idx, app = ward_idx[shuffle], app[shuffle]
    return People(
        person=np.arange(n, dtype=np.uint32),
        home_ward=(ward_idx + 1).astype(np.uint8),
        app_user=app,
        activity=rng.gamma(ACTIVITY_SHAPE, 1.0, n),
        phone=phone_numbers(n, rng),
        name=person_names(n, rng),
        birth_year=birth_years(n, config.start_date.year, rng),
    )
