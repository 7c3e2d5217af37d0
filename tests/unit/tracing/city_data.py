"""The synthetic city written through the real storage path (hot store -> seal -> segments).

Person indexes become u64 pseudonyms with a stand-in bijection (an odd multiplier mod 2^64);
the engine only ever sees u64 pseudonyms, as in production.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from storage.datadir import DataDir
from storage.records import ScanArray, local_day, visits_as_scans
from storage.synthetic_city import (
    City,
    CityConfig,
    OutbreakTruth,
    TruthCollector,
    VisitBatch,
    build_city,
    iter_visit_batches,
)
from tracing.engine import PersonLookup, TraceEngine, VenueInfo
from tracing.index import IndexSource

MULT = np.uint64(0x9E3779B97F4A7C15)
CITY = CityConfig(scans=40_000, days=3, seed=5, venues=2_000, adults=20_000)


def pseudonym(person: npt.NDArray[np.integer]) -> npt.NDArray[np.uint64]:
    with np.errstate(over="ignore"):
        return (np.asarray(person, dtype=np.uint64) + np.uint64(1)) * MULT


def batch_scans(batch: VisitBatch, seed: int) -> ScanArray:
    """IN + OUT scans of a day's visits; visits without a check-out lose their OUT scan."""
    rng = np.random.default_rng(seed)
    n = len(batch)
    scans = visits_as_scans(
        scan_id_in=rng.integers(0, 256, (n, 16), dtype=np.uint8),
        scan_id_out=rng.integers(0, 256, (n, 16), dtype=np.uint8),
        person=pseudonym(batch.person),
        venue=batch.venue,
        t_in=batch.t_in,
        t_out=batch.t_out,
        category=batch.category,
    )
    keep = np.ones(2 * n, dtype=bool)
    keep[1::2] = batch.has_checkout
    return scans[keep]


class CityPeople(PersonLookup):
    """References are "p<index>"; home wards from the city's people table."""

    def __init__(self, city: City) -> None:
        self.by_id = {int(p): i for i, p in enumerate(pseudonym(city.people.person))}
        self.home = city.people.home_ward

    def home_wards(self, person_ids: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint8]:
        idx = [self.by_id.get(int(p), -1) for p in person_ids]
        return np.array([self.home[i] if i >= 0 else 0 for i in idx], dtype=np.uint8)

    def references(self, person_ids: npt.NDArray[np.uint64]) -> list[str | None]:
        return [f"p{self.by_id[int(p)]}" if int(p) in self.by_id else None for p in person_ids]


@dataclass
class CityStore:
    city: City
    truth: OutbreakTruth
    batches: list[VisitBatch]
    data: DataDir
    engine: TraceEngine
    venues: VenueInfo


def venue_info(city: City) -> VenueInfo:
    return VenueInfo(
        np.r_[np.uint8(0), city.venues.ward].astype(np.uint8),
        np.r_[np.uint8(0), city.venues.category].astype(np.uint8),
    )


def build_store(root: Path, *, hot_days: int = 1) -> CityStore:
    """Write the city; every day but the last `hot_days` is sealed into segments."""
    city = build_city(CITY)
    batches = list(iter_visit_batches(city, CITY))
    collector = TruthCollector(city)
    data = DataDir(root, n_shards=4, sync=False)
    for k, batch in enumerate(batches):
        collector.observe(batch)
        scans = batch_scans(batch, k)
        data.hot.submit(scans).result()
    days = sorted({int(d) for b in batches for d in np.unique(local_day(b.t_in))})
    for day in days[: len(days) - hot_days]:
        data.sealer.seal_day(day)
    source = IndexSource(data.hot, data.manifest, data.segment_dir)
    venues = venue_info(city)
    engine = TraceEngine(source.parts, venues, CityPeople(city))
    return CityStore(city, collector.finish(), batches, data, engine, venues)
