"""Reader: sealed + hot tail merged, equal to visits built directly from all scans."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from storage.datadir import DataDir
from storage.records import day_bounds
from storage.visits import Visits, build_visits

from .scan_factory import DAY, random_scans


def _rows(v: Visits) -> list[tuple[int, ...]]:
    return sorted(
        zip(
            v.venue.tolist(),
            v.t_in.tolist(),
            v.t_out.tolist(),
            v.person.tolist(),
            v.flags.tolist(),
            strict=True,
        )
    )


@pytest.fixture
def data(tmp_path: Path):  # type: ignore[no-untyped-def]
    with DataDir(tmp_path, n_shards=4) as d:
        yield d


def test_venue_and_person_queries_see_segments_and_tail(data: DataDir) -> None:
    sealed_day = random_scans(3_000, seed=1, day=DAY - 1)
    hot_day = random_scans(3_000, seed=2, day=DAY)
    data.hot.submit(sealed_day).result()
    data.hot.submit(hot_day).result()
    data.sealer.seal_day(DAY - 1)
    every = Visits.concat([build_visits(sealed_day, DAY - 1), build_visits(hot_day, DAY)])
    t_lo = day_bounds(DAY - 1)[0] + 50_000
    t_hi = day_bounds(DAY)[0] + 30_000
    overlap = (every.t_in < t_hi) & (every.t_out > t_lo)
    for venue in (1, 2, 17, 40, 99):
        got = data.reader.visits_at_venue(venue, t_lo, t_hi)
        assert _rows(got) == _rows(every.take(overlap & (every.venue == venue)))
        assert (np.diff(got.t_in.astype(np.int64)) >= 0).all()
    for person in (1, 7, 50, 51):
        got = data.reader.visits_of_person(person, t_lo, t_hi)
        assert _rows(got) == _rows(every.take(overlap & (every.person == person)))


def test_a_just_acked_scan_is_visible(data: DataDir) -> None:
    scans = random_scans(1, seed=9)
    scans["person"], scans["venue"], scans["direction"] = 42, 5, 0
    data.hot.submit(scans).result()
    t = int(scans["t"][0])
    assert data.reader.visits_of_person(42, t, t + 1).t_in.tolist() == [t]
    assert data.reader.visits_at_venue(5, t, t + 1).person.tolist() == [42]
