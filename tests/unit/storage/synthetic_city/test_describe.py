from __future__ import annotations

import json
from pathlib import Path

import pytest

from storage.domain import WARDS
from storage.synthetic_city import CityOutputError, describe_city, render_description

from .conftest import SMALL


def test_describe_counts_match_the_files(written_city: Path) -> None:
    desc = describe_city(written_city)
    assert desc.scans == SMALL.scans
    assert sum(w.scans for w in desc.wards) == SMALL.scans
    assert sum(c.scans for c in desc.categories) == SMALL.scans
    assert sum(w.venues for w in desc.wards) == SMALL.venues
    assert sum(w.residents for w in desc.wards) == SMALL.adults
    assert sum(w.app_users for w in desc.wards) == SMALL.app_users
    assert abs(desc.no_checkout_share - SMALL.missing_checkout_share) < 0.01
    assert 0 < desc.top1pct_venue_share < 1
    assert len(desc.scans_per_day) == SMALL.days
    karaoke = next(c for c in desc.categories if c.slug == "karaoke")
    assert karaoke.median_dwell_min is not None
    assert karaoke.median_dwell_min > 60


def test_render_mentions_every_ward_and_the_outbreak(written_city: Path) -> None:
    text = render_description(describe_city(written_city))
    for ward in WARDS:
        assert ward.name in text
    assert "Planted outbreak" in text
    assert "touch_after" in text
    assert "chain: F0" in text


def test_not_a_city_directory(tmp_path: Path) -> None:
    with pytest.raises(CityOutputError, match=r"not a city output: no city\.json"):
        describe_city(tmp_path)
    with pytest.raises(CityOutputError, match="is not a directory"):
        describe_city(tmp_path / "missing")


def test_incomplete_city_directory(tmp_path: Path) -> None:
    (tmp_path / "city.json").write_text(
        json.dumps({"format": "qrtrace-synthetic-city", "status": "writing"})
    )
    with pytest.raises(CityOutputError, match="incomplete"):
        describe_city(tmp_path)
