"""The multi-process bench's helpers: the per-process p99 read from a latency histogram, and
the stream window that keeps every stream together inside the node's in-flight budget."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.bench_ingest_procs import fair_window, server_p99
from storage.settings import Settings

BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.1, math.inf)


def _cumulative(latencies_s: list[float]) -> dict[float, float]:
    return {b: float(sum(x <= b for x in latencies_s)) for b in BOUNDS}


@given(
    before=st.lists(st.floats(0, 0.2), max_size=50),
    during=st.lists(st.floats(0, 0.2), min_size=1, max_size=300),
)
def test_the_p99_bucket_is_that_of_the_calls_between_the_scrapes(
    before: list[float], during: list[float]
) -> None:
    calls, bound_ms = server_p99(_cumulative(before), _cumulative(before + during))
    assert calls == len(during)
    ranked = sorted(during)
    p99 = ranked[math.ceil(0.99 * len(ranked)) - 1]  # the smallest value with 99 % at or under
    assert bound_ms == min(b for b in BOUNDS if b >= p99) * 1e3


def test_no_calls_between_the_scrapes_gives_no_percentile() -> None:
    same = _cumulative([0.001, 0.2])
    assert server_p99(same, same)[0] == 0
    assert math.isnan(server_p99(same, same)[1])


@pytest.mark.parametrize("streams", [1, 6, 24, 64, 300])
def test_streams_stay_inside_the_in_flight_budget(streams: int) -> None:
    window = fair_window(streams, 1000)
    budget = Settings().ingest_max_inflight_scans
    assert window >= 1
    # a stream holds at most window + 1 batches: it waits once it has more than `window`
    assert streams * (window + 1) * 1000 <= budget or window == 1
