"""Session-scoped small cities: built once, shared by every synthetic-city test."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage.synthetic_city import (
    City,
    CityConfig,
    VisitBatch,
    build_city,
    iter_visit_batches,
    write_city,
)

#: small enough to generate in well under a second, big enough for every ward and category
SMALL = CityConfig(scans=60_000, days=3, seed=11, venues=3_000, adults=20_000)


@pytest.fixture(scope="session")
def small_city() -> City:
    return build_city(SMALL)


@pytest.fixture(scope="session")
def small_batches(small_city: City) -> list[VisitBatch]:
    return list(iter_visit_batches(small_city, SMALL))


@pytest.fixture(scope="session")
def written_city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("city") / "out"
    write_city(SMALL, out)
    return out
