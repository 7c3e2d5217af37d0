"""What to generate: `CityConfig`, validated once so the generator never sees nonsense.

Defaults are the Biên Hòa calibration from `storage.domain`; a test or benchmark shrinks
the city by overriding `venues`/`adults` while keeping the same shape. Validation happens
in `__post_init__` so a bad CLI flag fails before any work, with a message that names the
field, the expected range and the value given.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

from storage.domain import CITY_ADULTS, CITY_APP_SHARE, CITY_VENUES, WARDS
from storage.synthetic_city.errors import CityConfigError

#: Bumped whenever the same config would produce different bytes; recorded in city.json so a
#: ground-truth file is never compared against visits from another generator version.
GENERATOR_VERSION = "1"

#: At least two venues and two residents per ward, so every ward appears in every table.
MIN_VENUES = 2 * len(WARDS)
MIN_ADULTS = 4 * len(WARDS)

#: A person cannot be at more than a handful of venues a day without visits overlapping;
#: above this mean the generator would spend its time rejecting infeasible visits.
MAX_MEAN_VISITS_PER_APP_USER_DAY = 4.0

#: Visit times are uint32 epoch seconds, so every day must lie in [1970, 2106).
_EARLIEST = date(1970, 1, 2)
_LATEST = date(2106, 1, 1)

#: Planted rows and people per F0 (see outbreak.py); the chain adds a fixed extra.
PLANTED_VISITS_PER_CASE = 9
PLANTED_PEOPLE_PER_CASE = 8
PLANTED_CHAIN_VISITS = 2
PLANTED_CHAIN_PEOPLE = 1
MAX_OUTBREAK_CASES = 100


def planted_visit_count(outbreak_cases: int) -> int:
    """Rows the planted outbreak adds to the visit batches (they count towards `scans`)."""
    if outbreak_cases == 0:
        return 0
    return outbreak_cases * PLANTED_VISITS_PER_CASE + PLANTED_CHAIN_VISITS


def planted_people_count(outbreak_cases: int) -> int:
    """App users reserved for the planted outbreak (they get no background visits)."""
    if outbreak_cases == 0:
        return 0
    return outbreak_cases * PLANTED_PEOPLE_PER_CASE + PLANTED_CHAIN_PEOPLE


@dataclass(frozen=True, slots=True)
class CityConfig:
    """Parameters of one synthetic city; equal configs give byte-identical output."""

    #: check-in scans (= visits) over all days, planted outbreak rows included
    scans: int
    days: int
    seed: int
    #: first local day; 2021-09-06 is a Monday in Biên Hòa's 2021 lockdown wave
    start_date: date = date(2021, 9, 6)
    venues: int = CITY_VENUES
    adults: int = CITY_ADULTS
    #: share of adults with the app (only they scan)
    app_share: float = CITY_APP_SHARE
    #: share of visits whose check-out was never scanned
    missing_checkout_share: float = 0.15
    #: share of visits inside the visitor's home ward
    home_ward_share: float = 0.7
    #: planted F0 cases with hand-placed contacts (0 disables the outbreak)
    outbreak_cases: int = 3

    def __post_init__(self) -> None:
        _check_int("scans", self.scans, 1)
        _check_int("days", self.days, 1, 366)
        _check_int("seed", self.seed, 0, 2**63 - 1)
        _check_int("venues", self.venues, MIN_VENUES, 10_000_000)
        _check_int("adults", self.adults, MIN_ADULTS, 100_000_000)
        _check_int("outbreak_cases", self.outbreak_cases, 0, MAX_OUTBREAK_CASES)
        if type(self.start_date) is not date:
            raise CityConfigError(
                f"start_date must be a datetime.date, got {type(self.start_date).__name__}"
            )
        last = self.start_date + timedelta(days=self.days)
        if self.start_date < _EARLIEST or last > _LATEST:
            raise CityConfigError(
                f"start_date must keep every day within [{_EARLIEST}, {_LATEST}) so times fit"
                f" uint32 epoch seconds, got {self.start_date} with days={self.days}"
            )
        _check_share("app_share", self.app_share, low_open=True)
        _check_share("missing_checkout_share", self.missing_checkout_share, high_open=True)
        _check_share("home_ward_share", self.home_ward_share)
        planted_rows = planted_visit_count(self.outbreak_cases)
        if self.scans < planted_rows:
            raise CityConfigError(
                f"scans must be >= {planted_rows} to hold the planted outbreak of"
                f" outbreak_cases={self.outbreak_cases}, got {self.scans}"
            )
        users = self.app_users
        planted_people = planted_people_count(self.outbreak_cases)
        if users < planted_people + 1:
            raise CityConfigError(
                f"adults * app_share must give at least {planted_people + 1} app users"
                f" (outbreak_cases={self.outbreak_cases}), got {users}"
            )
        mean = (self.scans - planted_rows) / (self.days * (users - planted_people))
        if mean > MAX_MEAN_VISITS_PER_APP_USER_DAY:
            raise CityConfigError(
                f"scans must average <= {MAX_MEAN_VISITS_PER_APP_USER_DAY:g} visits per app user"
                f" per day (raise adults or days), got {mean:.2f}"
            )

    @property
    def app_users(self) -> int:
        """Adults with the app, fixed (not sampled) so counts are exact."""
        return round(self.adults * self.app_share)

    @property
    def dates(self) -> list[date]:
        """The local days generated, in order."""
        return [self.start_date + timedelta(days=d) for d in range(self.days)]

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (dates as ISO strings) for city.json."""
        out = asdict(self)
        out["start_date"] = self.start_date.isoformat()
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CityConfig:
        """Inverse of `to_json`."""
        fields = dict(data)
        fields["start_date"] = date.fromisoformat(str(fields["start_date"]))
        return cls(**fields)


def _check_int(name: str, value: object, low: int, high: int | None = None) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise CityConfigError(f"{name} must be an int, got {type(value).__name__}")
    if value < low or (high is not None and value > high):
        expected = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise CityConfigError(f"{name} must be {expected}, got {value}")


def _check_share(name: str, value: object, low_open: bool = False, high_open: bool = False) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise CityConfigError(f"{name} must be a float, got {type(value).__name__}")
    low_ok = value > 0.0 if low_open else value >= 0.0
    high_ok = value < 1.0 if high_open else value <= 1.0
    if not (low_ok and high_ok):
        interval = ("(" if low_open else "[") + "0, 1" + (")" if high_open else "]")
        raise CityConfigError(f"{name} must be in {interval}, got {value}")
