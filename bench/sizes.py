"""Size presets of `qrtrace bench`: how much data and how long each group runs.

`small` is the CI run (about a minute on 2 cores); `medium` measures every DESIGN §9 target,
tracing at 1, 3, 10 and 50 M scans (< 15 min on 2 cores, ~9 GB of memory at the 50 M
point); `large` runs longer and on more data per group.
Scans are spread over 14 days of the synthetic city; beyond Bien Hoa's adults (at most ~4
scans a day each) the city gets more people, as `bench.bench_trace` does for its 50 M run.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.domain import CITY_ADULTS

#: the data size the DESIGN §9 tracing targets are defined at
TARGET_SCANS = 10_000_000
#: the data size of the "50 M scans" target
LARGE_SCANS = 50_000_000


@dataclass(frozen=True)
class Size:
    """Every knob of one preset (see each group for what it means)."""

    name: str
    trace_scans: tuple[int, ...]  # tracing latency is measured at each of these sizes
    days: int
    engine_cases: int  # single cases timed on the engine
    duckdb_cases: int  # single cases timed (and checked) on DuckDB
    batch: int  # F0s in the batch trace
    cluster_cases: int
    exposures: int  # venue windows timed
    storage_scans: int
    storage_baseline_scans: int  # raw rocksdict puts
    ingest_seconds: float
    ingest_warmup: float
    unary_seconds: float
    ingest_clients: int
    api_cases: int


SIZES: dict[str, Size] = {
    "small": Size(
        name="small",
        trace_scans=(300_000, 1_000_000),
        days=14,
        engine_cases=200,
        duckdb_cases=20,
        batch=200,
        cluster_cases=30,
        exposures=20,
        storage_scans=200_000,
        storage_baseline_scans=50_000,
        ingest_seconds=4,
        ingest_warmup=1,
        unary_seconds=2,
        ingest_clients=2,
        api_cases=40,
    ),
    "medium": Size(
        name="medium",
        trace_scans=(1_000_000, 3_000_000, 10_000_000, 50_000_000),
        days=14,
        engine_cases=500,
        duckdb_cases=60,
        batch=1000,
        cluster_cases=100,
        exposures=60,
        storage_scans=2_000_000,
        storage_baseline_scans=300_000,
        ingest_seconds=20,
        ingest_warmup=3,
        unary_seconds=6,
        ingest_clients=3,
        api_cases=200,
    ),
    "large": Size(
        name="large",
        trace_scans=(1_000_000, 3_000_000, 10_000_000, 30_000_000, 50_000_000),
        days=14,
        engine_cases=1000,
        duckdb_cases=100,
        batch=1000,
        cluster_cases=100,
        exposures=40,
        storage_scans=5_000_000,
        storage_baseline_scans=300_000,
        ingest_seconds=30,
        ingest_warmup=5,
        unary_seconds=10,
        ingest_clients=3,
        api_cases=200,
    ),
}


def adults_for(scans: int, days: int) -> int:
    """People enough for `scans` over `days` (about 2.4 scans a person a day at most)."""
    return max(CITY_ADULTS, int(scans / (2.4 * days)))
