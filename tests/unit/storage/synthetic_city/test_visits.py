from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.domain import CATEGORIES, WARDS
from storage.synthetic_city import (
    City,
    CityConfig,
    CityConfigError,
    VisitBatch,
    build_city,
    iter_visit_batches,
)
from storage.synthetic_city.visits import local_midnight

from .conftest import SMALL


def check_batches(city: City, config: CityConfig, batches: list[VisitBatch]) -> None:
    """Every invariant a batch stream must hold, for any config."""
    assert [b.day for b in batches] == config.dates
    assert sum(len(b) for b in batches) == config.scans
    for b in batches:
        assert b.person.dtype == np.uint32
        assert b.venue.dtype == np.uint32
        assert b.t_in.dtype == np.uint32
        assert b.t_out.dtype == np.uint32
        assert b.category.dtype == np.uint8
        assert b.has_checkout.dtype == np.bool_
        assert np.all(np.diff(b.t_in.astype(np.int64)) >= 0), "sorted by t_in"
        assert np.all(b.t_out > b.t_in)
        assert np.all(city.people.app_user[b.person]), "only app users scan"
        assert np.array_equal(b.category, city.venues.category[b.venue - 1])
        midnight = local_midnight(b.day)
        t_in = b.t_in.astype(np.int64) - midnight
        t_out = b.t_out.astype(np.int64) - midnight
        opens = np.array([c.opens_min * 60 for c in CATEGORIES])[b.category - 1]
        closes = np.array([c.closes_min * 60 for c in CATEGORIES])[b.category - 1]
        assert np.all(t_in >= opens), "arrival before opening"
        assert np.all(t_out <= closes), "departure after closing"
        assert np.all(t_out <= 24 * 3600), "inside the local day"
        # sequential per person: next t_in >= previous t_out
        order = np.lexsort((b.t_in, b.person))
        p, tin, tout = b.person[order], b.t_in[order], b.t_out[order]
        same = p[1:] == p[:-1]
        assert np.all(tin[1:][same] >= tout[:-1][same]), "a person's visits overlap"


def test_small_city_invariants(small_city: City, small_batches: list[VisitBatch]) -> None:
    check_batches(small_city, SMALL, small_batches)


def test_shape_of_the_data(small_city: City, small_batches: list[VisitBatch]) -> None:
    person = np.concatenate([b.person for b in small_batches])
    venue = np.concatenate([b.venue for b in small_batches])
    checked = np.concatenate([b.has_checkout for b in small_batches])
    assert abs(1 - checked.mean() - SMALL.missing_checkout_share) < 0.01
    wards = small_city.venues.ward[venue - 1]
    assert set(wards.tolist()) == {w.code for w in WARDS}
    cats = np.concatenate([b.category for b in small_batches])
    assert set(cats.tolist()) == {c.code for c in CATEGORIES}
    at_home = np.mean(wards == small_city.people.home_ward[person])
    assert abs(at_home - SMALL.home_ward_share) < 0.03
    per_person = np.bincount(person, minlength=SMALL.adults)
    users = per_person[small_city.people.app_user]
    # heterogeneous activity: the busiest 10 % scan several times the median user
    assert np.quantile(users, 0.9) >= 3 * max(np.median(users), 1)


def test_reserved_people_have_only_planted_visits(
    small_city: City, small_batches: list[VisitBatch]
) -> None:
    plan = small_city.outbreak
    person = np.concatenate([b.person for b in small_batches])
    counts = np.bincount(person, minlength=SMALL.adults)[plan.reserved]
    planted = np.bincount([v.person for v in plan.visits], minlength=SMALL.adults)
    assert np.array_equal(counts, planted[plan.reserved])


def test_config_must_match_city(small_city: City) -> None:
    with pytest.raises(CityConfigError, match="config must be the one the city was built from"):
        next(iter_visit_batches(small_city, dataclasses.replace(SMALL, scans=1000)))


@st.composite
def small_configs(draw: st.DrawFn) -> CityConfig:
    """Small cities up to the 4 visits/user/day cap, which stresses scheduling and top-up."""
    days = draw(st.integers(1, 4))
    adults = draw(st.integers(600, 4000))
    per_user_day = draw(st.floats(0.001, 3.9))
    return CityConfig(
        scans=max(40, int(per_user_day * days * (adults * 0.8 - 40))),
        days=days,
        seed=draw(st.integers(0, 2**32)),
        venues=draw(st.integers(60, 800)),
        adults=adults,
        missing_checkout_share=draw(st.floats(0.0, 0.5)),
        home_ward_share=draw(st.floats(0.0, 1.0)),
        outbreak_cases=draw(st.integers(0, 4)),
    )


@settings(max_examples=15, deadline=None)
@given(config=small_configs())
def test_any_small_config(config: CityConfig) -> None:
    city = build_city(config)
    check_batches(city, config, list(iter_visit_batches(city, config)))
