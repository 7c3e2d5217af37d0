"""Errors raised by the synthetic city, free of any transport (gRPC/HTTP) types.

The CLI maps them to exit codes and messages; tests match on the type and the text,
so every message names what was wrong and what was expected.
"""

from __future__ import annotations

from storage.errors import QrtraceError


class SyntheticCityError(QrtraceError):
    """Base class for every error the synthetic city raises."""


class CityConfigError(SyntheticCityError, ValueError):
    """A `CityConfig` field is out of range or inconsistent with another field."""


class CityOutputError(SyntheticCityError):
    """An output directory cannot be written to, or is not a (complete) city output."""
