from __future__ import annotations

import re

import numpy as np

from storage.domain import CATEGORIES, WARDS
from storage.synthetic_city import City, build_city
from storage.synthetic_city.geography import BBOX

from .conftest import SMALL


def test_venue_arrays(small_city: City) -> None:
    v = small_city.venues
    assert len(v) == SMALL.venues
    assert v.venue_id.dtype == np.uint32
    assert v.ward.dtype == np.uint8
    assert v.category.dtype == np.uint8
    assert v.popularity.dtype == np.float64
    assert v.lat.dtype == np.float32
    assert v.lon.dtype == np.float32
    assert np.array_equal(v.venue_id, np.arange(1, SMALL.venues + 1))
    assert set(v.ward.tolist()) == {w.code for w in WARDS}
    assert set(v.category.tolist()) == {c.code for c in CATEGORIES}
    # contiguous per ward: the grouped alias sampler relies on it
    assert np.all(np.diff(v.ward.astype(int)) >= 0)
    assert np.all(v.popularity > 0)
    south, west, north, east = BBOX
    assert np.all((v.lat >= np.float32(south)) & (v.lat <= np.float32(north)))
    assert np.all((v.lon >= np.float32(west)) & (v.lon <= np.float32(east)))
    assert len(set(v.name.tolist())) == len(v)
    assert v.name[0].startswith("Chợ An Bình")


def test_people_arrays(small_city: City) -> None:
    p = small_city.people
    assert len(p) == SMALL.adults
    assert p.person.dtype == np.uint32
    assert p.home_ward.dtype == np.uint8
    assert np.array_equal(p.person, np.arange(SMALL.adults))
    assert int(p.app_user.sum()) == SMALL.app_users
    assert set(p.home_ward.tolist()) == {w.code for w in WARDS}
    phones = p.phone.tolist()
    assert len(set(phones)) == len(phones)
    assert all(re.fullmatch(r"0[35789]\d{8}", x) for x in phones)
    assert all(len(n.split()) == 3 for n in p.name.tolist()[:1000])
    assert np.mean([n.startswith("Nguyễn") for n in p.name.tolist()]) > 0.3
    assert p.birth_year.min() >= 2021 - 85
    assert p.birth_year.max() <= 2021 - 18


def test_build_is_deterministic(small_city: City) -> None:
    again = build_city(SMALL)
    assert np.array_equal(again.venues.popularity, small_city.venues.popularity)
    assert np.array_equal(again.people.phone, small_city.people.phone)
    assert again.outbreak.visits == small_city.outbreak.visits


def test_zipf_popularity_is_skewed(small_city: City) -> None:
    pop = np.sort(small_city.venues.popularity)[::-1]
    top = pop[: len(pop) // 100].sum() / pop.sum()
    assert top > 0.1
