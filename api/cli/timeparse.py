"""Parse operator-typed times: ISO 8601 or epoch seconds, one rule for every command.

Naive ISO times (no offset) are read in the city's local time (UTC+7, no daylight saving),
because that is what a ward officer means by "Monday 09:00". Inside qrtrace every time is
epoch seconds UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from storage.domain import LOCAL_TZ
from storage.errors import ConfigError

_EPOCH = re.compile(r"^[+-]?\d+(\.\d+)?$")
# Epoch seconds this large are in the year 5138: almost surely milliseconds typed by mistake.
_MAX_EPOCH_SECONDS = 100_000_000_000


def parse_time(text: str, *, field: str = "time") -> datetime:
    """Return an aware UTC datetime for ISO 8601 text or epoch seconds."""
    value = text.strip()
    if not value:
        raise ConfigError(f"{field}: empty; expected ISO 8601 (2021-09-06T08:30) or epoch seconds")
    if _EPOCH.match(value):
        seconds = float(value)
        if abs(seconds) >= _MAX_EPOCH_SECONDS:
            raise ConfigError(
                f"{field}: {value} is too large for epoch seconds (milliseconds?); "
                "expected seconds since 1970-01-01 UTC"
            )
        return datetime.fromtimestamp(seconds, tz=UTC)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"{field}: {value!r} is neither ISO 8601 (e.g. 2021-09-06, 2021-09-06T08:30+07:00) "
            "nor epoch seconds"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=LOCAL_TZ)
    return parsed.astimezone(UTC)


def parse_date(text: str, *, field: str = "date") -> date:
    """A calendar day in city-local time from ISO 8601 (date or datetime) or epoch seconds."""
    value = text.strip()
    try:
        return date.fromisoformat(value)
    except ValueError:
        return parse_time(value, field=field).astimezone(LOCAL_TZ).date()


def epoch_seconds(moment: datetime) -> int:
    """Whole epoch seconds of an aware datetime."""
    if moment.tzinfo is None:
        raise ConfigError("internal: naive datetime passed where an aware one is required")
    return int(moment.timestamp())
