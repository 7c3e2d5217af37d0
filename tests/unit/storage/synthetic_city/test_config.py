from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from storage.synthetic_city import CityConfig, CityConfigError

BASE: dict[str, Any] = {"scans": 1000, "days": 2, "seed": 1, "venues": 200, "adults": 2000}


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("scans", 0, "scans must be >= 1, got 0"),
        ("scans", 1.5, "scans must be an int"),
        ("days", 0, "days must be in [1, 366], got 0"),
        ("seed", -1, "seed must be in"),
        ("venues", 10, "venues must be in [60,"),
        ("adults", 5, "adults must be in [120,"),
        ("app_share", 0.0, "app_share must be in (0, 1], got 0.0"),
        ("missing_checkout_share", 1.0, "missing_checkout_share must be in [0, 1)"),
        ("home_ward_share", 1.5, "home_ward_share must be in [0, 1], got 1.5"),
        ("outbreak_cases", -1, "outbreak_cases must be in [0, 100], got -1"),
        ("start_date", "2021-09-06", "start_date must be a datetime.date"),
        ("start_date", date(1960, 1, 1), "start_date must keep every day"),
    ],
)
def test_validation_names_the_field(field: str, value: object, expected: str) -> None:
    with pytest.raises(CityConfigError) as err:
        CityConfig(**{**BASE, field: value})
    assert expected in str(err.value)
    assert str(err.value).startswith(field)


def test_scans_must_hold_the_planted_outbreak() -> None:
    with pytest.raises(CityConfigError, match=r"scans must be >= 29 .* outbreak_cases=3"):
        CityConfig(**{**BASE, "scans": 28})
    assert CityConfig(**{**BASE, "scans": 1, "outbreak_cases": 0}).scans == 1


def test_too_many_scans_per_person_is_refused() -> None:
    with pytest.raises(CityConfigError, match="visits per app user per day"):
        CityConfig(**{**BASE, "scans": 100_000, "days": 1})


def test_json_round_trip() -> None:
    config = CityConfig(**BASE)
    assert CityConfig.from_json(config.to_json()) == config
