from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.cli.timeparse import epoch_seconds, parse_date, parse_time
from storage.errors import ConfigError


def test_epoch_seconds_are_utc() -> None:
    assert parse_time("1630886400") == datetime(2021, 9, 6, tzinfo=UTC)


def test_naive_iso_is_city_local_time() -> None:
    assert parse_time("2021-09-06T07:00") == datetime(2021, 9, 6, 0, 0, tzinfo=UTC)


def test_iso_with_offset_and_z() -> None:
    assert parse_time("2021-09-06T07:00+07:00") == datetime(2021, 9, 6, tzinfo=UTC)
    assert parse_time("2021-09-06T00:00Z") == datetime(2021, 9, 6, tzinfo=UTC)


def test_milliseconds_are_refused_with_a_hint() -> None:
    with pytest.raises(ConfigError, match="milliseconds"):
        parse_time("1630886400000", field="--since")


@pytest.mark.parametrize("bad", ["", "yesterday", "2021-13-01", "12:00:00x"])
def test_garbage_names_the_field(bad: str) -> None:
    with pytest.raises(ConfigError, match="--since"):
        parse_time(bad, field="--since")


def test_parse_date_accepts_date_datetime_and_epoch() -> None:
    assert parse_date("2021-09-06") == date(2021, 9, 6)
    assert parse_date("2021-09-06T23:30") == date(2021, 9, 6)
    # 2021-09-05T20:00Z is already the 6th in Bien Hoa (UTC+7)
    assert parse_date("1630872000") == date(2021, 9, 6)


@given(st.integers(min_value=0, max_value=4_000_000_000))
def test_epoch_round_trip(seconds: int) -> None:
    assert epoch_seconds(parse_time(str(seconds))) == seconds


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1)))
def test_iso_round_trip(moment: datetime) -> None:
    aware = moment.replace(tzinfo=UTC, microsecond=0)
    assert parse_time(aware.isoformat()) == aware
