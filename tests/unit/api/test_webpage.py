"""Zone levels and ward populations of the web page's dashboard."""

from __future__ import annotations

import pytest

from api.webpage import WEB_DIR, check_thresholds, ward_populations, zone_level, zone_table
from storage.domain import CITY_ADULTS, WARDS
from storage.errors import ConfigError

THRESHOLDS = (20.0, 50.0, 150.0)


def test_populations_cover_every_ward_and_sum_to_the_city() -> None:
    pops = ward_populations()
    assert sorted(pops) == [w.code for w in WARDS]
    assert abs(sum(pops.values()) - CITY_ADULTS) <= len(WARDS)


@pytest.mark.parametrize(
    ("rate", "level"),
    [(0, "green"), (19.99, "green"), (20, "yellow"), (49.9, "yellow"), (50, "orange"),
     (149.99, "orange"), (150, "red"), (1e6, "red")],
)  # fmt: skip
def test_levels_switch_at_each_threshold(rate: float, level: str) -> None:
    assert zone_level(rate, THRESHOLDS) == level


def test_zone_table_rates_per_100k_per_week() -> None:
    pops = ward_populations()
    rows = {r.ward: r for r in zone_table({1: 10, 2: 0}, THRESHOLDS)}
    assert len(rows) == len(WARDS)
    assert rows[1].per_100k == round(10 * 100_000 / pops[1], 2)
    assert rows[1].new_cases == 10
    assert rows[2].level == "green"
    # 14 days of counts are scaled to one week
    assert zone_table({1: 10}, THRESHOLDS, days=14)[0].per_100k == round(5 * 100_000 / pops[1], 2)


@pytest.mark.parametrize("bad", [(50.0, 20.0, 150.0), (0.0, 1.0, 2.0), (1.0, 1.0, 2.0)])
def test_thresholds_must_ascend(bad: tuple[float, float, float]) -> None:
    with pytest.raises(ConfigError, match="zone_thresholds"):
        check_thresholds(bad)


def test_page_files_are_inside_the_package() -> None:
    """hatch ships api/ with its data files, so the wheel carries the page."""
    names = {p.name for p in WEB_DIR.iterdir()}
    assert {"index.html", "app.js", "app.css", "i18n.js", "api.js", "charts.js"} <= names
