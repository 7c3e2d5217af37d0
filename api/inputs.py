"""Request values both transports share: typed queries and field-naming parsers.

gRPC messages and HTTP bodies are turned into these dataclasses at the edge, so the
operations (api/trace_ops.py, ...) see one shape and every parse error names its field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Final

from api.cli.timeparse import epoch_seconds, parse_date, parse_time
from storage.domain import CATEGORY_BY_SLUG, category_by_slug
from storage.errors import ConfigError, InvalidInputError

MAX_LIMIT: Final = 5000
DEFAULT_LIMIT: Final = 100


def day(text: str, field_name: str) -> date:
    """A YYYY-MM-DD (or ISO time / epoch) value as a city-local day."""
    try:
        return parse_date(text, field=field_name)
    except ConfigError as exc:
        raise InvalidInputError(field_name, str(exc).split(": ", 1)[-1]) from None


def optional_day(text: str | None, field_name: str) -> date | None:
    return day(text, field_name) if text else None


def moment(text: str, field_name: str) -> int:
    """An ISO 8601 time (city time when naive) or epoch seconds, as epoch seconds."""
    try:
        return epoch_seconds(parse_time(text, field=field_name))
    except ConfigError as exc:
        raise InvalidInputError(field_name, str(exc).split(": ", 1)[-1]) from None


def category_code(slug: str, field_name: str = "category") -> int:
    """A venue category slug as its code, else InvalidInputError listing the known ones."""
    try:
        return category_by_slug(slug).code
    except KeyError:
        known = ", ".join(sorted(CATEGORY_BY_SLUG))
        raise InvalidInputError(
            field_name, f"unknown category {slug!r}; expected {known}"
        ) from None


def page(limit: int, offset: int) -> tuple[int, int]:
    """(limit, offset) with defaults and bounds (limit 0 means the default)."""
    if limit < 0 or limit > MAX_LIMIT:
        raise InvalidInputError("limit", f"{limit} outside [0, {MAX_LIMIT}]")
    if offset < 0:
        raise InvalidInputError("offset", f"{offset} is negative")
    return (limit or DEFAULT_LIMIT), offset


@dataclass(frozen=True)
class TraceCaseQuery:
    """A case trace: a registered case id, or a person with dates or an explicit window."""

    case_id: str = ""
    person: str = ""
    sample_date: str = ""
    onset_date: str = ""
    isolation_date: str = ""
    start: str = ""
    end: str = ""
    rules: str = ""
    params: dict[str, str] = field(default_factory=dict)
    limit: int = 0
    offset: int = 0
    f2: bool = False
    purpose: str = ""


@dataclass(frozen=True)
class ExposureQuery:
    """Everyone at a venue during [start, end)."""

    venue: int
    start: str
    end: str
    rules: str = ""
    params: dict[str, str] = field(default_factory=dict)
    limit: int = 0
    offset: int = 0
    purpose: str = ""
