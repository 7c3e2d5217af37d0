"""Column parsing for bulk import: Arrow columns in, numpy arrays plus per-row rejects out.

Every check is a vectorised Arrow/numpy expression over a whole record batch; Python only
runs per distinct person reference (the keyed hash) and per *rejected* row (to phrase its
reason). A bad value rejects its row, never the batch: the reason names the field and says
what was expected, so an operator can fix the export.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from storage.domain import CATEGORIES, LOCAL_UTC_OFFSET_S

TimeUnit = Literal["s", "ms", "us", "min", "iso"]
TIME_UNITS: Final[tuple[TimeUnit, ...]] = ("s", "ms", "us", "min", "iso")
_PER_SECOND: Final = {"s": 1, "ms": 1_000, "us": 1_000_000}
_INT_PATTERN: Final = r"^\s*[+-]?\d{1,18}\s*$"
_ISO_NAIVE: Final = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d")
_ISO_ZONED: Final = ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%dT%H:%M%z")
U32_MAX: Final = 0xFFFF_FFFF
_CATEGORY_CODES: Final = np.array([c.code for c in CATEGORIES], dtype=np.int64)
_CATEGORY_SLUGS: Final = pa.array([c.slug for c in CATEGORIES])

I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]


@dataclass
class Problems:
    """Rejected rows of one batch: the first problem found per row (field, reason)."""

    n: int
    bad: Mask = field(init=False)
    reasons: dict[int, tuple[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.bad = np.zeros(self.n, dtype=np.bool_)

    def add(self, mask: Mask, field_name: str, reason: str | list[str]) -> None:
        """Reject rows in `mask` not already rejected; a list reason has one entry per row
        of `mask` (in row order)."""
        rows = np.flatnonzero(mask)
        fresh = ~self.bad[rows]
        if not fresh.any():
            return
        self.bad[rows] = True
        for k in np.flatnonzero(fresh).tolist():
            text = reason if isinstance(reason, str) else reason[k]
            self.reasons[int(rows[k])] = (field_name, text)


def _samples(values: pa.Array, mask: Mask) -> list[str]:
    """The offending values of rows in `mask`, shortened for a message."""
    picked = values.filter(pa.array(mask)).to_pylist()
    return [repr(v if not isinstance(v, str) or len(v) <= 40 else v[:40] + "...") for v in picked]


def parse_int(values: pa.Array, name: str, problems: Problems) -> I64:
    """Integers of a column (typed or text); nulls, non-integers and overflow are rejected."""
    n = len(values)
    missing = np.asarray(values.is_null().to_numpy(zero_copy_only=False), dtype=np.bool_)
    out = np.zeros(n, dtype=np.int64)
    kind = values.type
    if pa.types.is_integer(kind):
        raw = values.fill_null(0).to_numpy(zero_copy_only=False)
        if pa.types.is_uint64(kind):
            over = raw > np.uint64(2**62)
            problems.add(over, name, "too large")
            raw = np.where(over, 0, raw)
        out[:] = raw
    elif pa.types.is_floating(kind):
        raw = values.fill_null(0).to_numpy(zero_copy_only=False).astype(np.float64)
        bad = ~missing & ((raw != np.floor(raw)) | ~np.isfinite(raw) | (np.abs(raw) > 2**62))
        problems.add(bad, name, [f"{v} is not an integer" for v in _samples(values, bad)])
        out[:] = np.where(bad, 0, raw).astype(np.int64)
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = pc.utf8_trim_whitespace(values)
        empty = np.asarray(pc.equal(text, "").fill_null(False).to_numpy(zero_copy_only=False))
        missing |= empty
        ok = np.asarray(
            pc.match_substring_regex(text, _INT_PATTERN)
            .fill_null(False)
            .to_numpy(zero_copy_only=False),
            dtype=np.bool_,
        )
        bad = ~ok & ~missing
        problems.add(bad, name, [f"{v} is not an integer" for v in _samples(values, bad)])
        cleaned = pc.if_else(pa.array(ok), text, pa.scalar("0"))
        out[:] = pc.cast(cleaned, pa.int64()).to_numpy(zero_copy_only=False)
    else:
        problems.add(~missing, name, f"column type {kind} is not an integer type")
    problems.add(missing, name, "missing")
    return out


def _parse_iso(values: pa.Array, name: str, problems: Problems) -> I64:
    """Epoch seconds of ISO 8601 text; without an offset the time is city-local (UTC+7)."""
    text = pc.utf8_trim_whitespace(values.cast(pa.string()))
    out = np.zeros(len(values), dtype=np.int64)
    found = np.zeros(len(values), dtype=np.bool_)
    for formats, shift in ((_ISO_ZONED, 0), (_ISO_NAIVE, LOCAL_UTC_OFFSET_S)):
        for fmt in formats:
            parsed = pc.strptime(text, format=fmt, unit="s", error_is_null=True)
            ok = np.asarray(parsed.is_valid().to_numpy(zero_copy_only=False)) & ~found
            if ok.any():
                seconds = parsed.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
                out[ok] = seconds[ok] - shift
                found |= ok
    missing = np.asarray(values.is_null().to_numpy(zero_copy_only=False), dtype=np.bool_)
    bad = ~found & ~missing
    problems.add(
        bad,
        name,
        [f"{v} is not an ISO 8601 date/time" for v in _samples(values, bad)],
    )
    problems.add(missing, name, "missing")
    return out


def parse_time(values: pa.Array, name: str, unit: TimeUnit, origin: int, problems: Problems) -> I64:
    """Epoch seconds (UTC) of a time column; checks the result fits a u32 and is > 0."""
    kind = values.type
    if pa.types.is_timestamp(kind):
        seconds = values.cast(pa.timestamp("s", tz=kind.tz)).cast(pa.int64())
        out = seconds.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
        if kind.tz is None:  # a naive timestamp is city-local, as on the command line
            out -= LOCAL_UTC_OFFSET_S
        problems.add(np.asarray(values.is_null().to_numpy(zero_copy_only=False)), name, "missing")
    elif unit == "iso":
        out = _parse_iso(values, name, problems)
    else:
        raw = parse_int(values, name, problems)
        out = origin + (raw * 60 if unit == "min" else raw // _PER_SECOND[unit])
    bad = ~problems.bad & ((out <= 0) | (out > U32_MAX))
    problems.add(
        bad,
        name,
        [
            f"{v} ({unit}) is outside 1970-01-01..2106-02-07 after conversion"
            for v in _samples(values, bad)
        ],
    )
    return np.where(bad, 0, out)


def parse_category(values: pa.Array, problems: Problems) -> npt.NDArray[np.uint8]:
    """Category codes from codes (1..18) or slugs ("cafe"); null means unknown (0)."""
    n = len(values)
    missing = np.asarray(values.is_null().to_numpy(zero_copy_only=False), dtype=np.bool_)
    codes = np.zeros(n, dtype=np.int64)
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        text = pc.utf8_lower(pc.utf8_trim_whitespace(values))
        slug_index = pc.index_in(text, value_set=_CATEGORY_SLUGS)
        by_slug = np.asarray(slug_index.is_valid().to_numpy(zero_copy_only=False))
        idx = slug_index.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
        codes[by_slug] = _CATEGORY_CODES[idx[by_slug]]
        numeric = np.asarray(
            pc.match_substring_regex(text, _INT_PATTERN)
            .fill_null(False)
            .to_numpy(zero_copy_only=False),
            dtype=np.bool_,
        )
        numeric &= ~by_slug
        if numeric.any():
            cleaned = pc.if_else(pa.array(numeric), text, pa.scalar("0"))
            as_int = pc.cast(cleaned, pa.int64()).to_numpy(zero_copy_only=False)
            codes[numeric] = as_int[numeric]
        unparsed = ~by_slug & ~numeric & ~missing
    else:
        scratch = Problems(n)
        codes = parse_int(values, "category", scratch)
        unparsed = scratch.bad & ~missing
    unknown = ~missing & (unparsed | ~np.isin(codes, _CATEGORY_CODES))
    problems.add(
        unknown,
        "category",
        [f"{v} is not a venue category code (1..18) or slug" for v in _samples(values, unknown)],
    )
    return np.where(unknown | missing, 0, codes).astype(np.uint8)
