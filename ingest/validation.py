"""Columnar batches and per-scan verdicts, decided with numpy over whole columns.

A batch arrives as byte columns (`checkin.v1.ScanBatch`); `decode_batch` views them with
`np.frombuffer` after checking their lengths agree (otherwise the batch as a whole is
malformed: no row can be attributed). `check_scans` then gives every row a `Verdict` and a
`Why` code in a fixed order, the first failing check winning:

    malformed fields -> venue signature -> venue registered -> venue open at scan time
    -> time not in the future (beyond the skew) -> time within retention

Rows are never dropped silently and good rows of a bad batch go on to storage. Reasons are
formatted only for rejected rows (`explain`), so an all-good batch costs a few array passes.

OUT without IN is accepted like any scan: pairing happens later (`storage.visits`), where an
OUT with no open visit becomes a visit with an imputed, flagged `t_in`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from typing import Final

import numpy as np
import numpy.typing as npt

from ingest.errors import MalformedBatchError
from ingest.kernels import _check

U8 = npt.NDArray[np.uint8]
U32 = npt.NDArray[np.uint32]
I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
Mask = npt.NDArray[np.bool_]

#: Largest representable scan time: times are u32 epoch seconds inside (year 2106).
MAX_TIME_MS: Final = 0xFFFF_FFFF * 1000 + 999


class Verdict(IntEnum):
    """Per-scan outcome; values equal `checkin.v1.Verdict` (a test keeps them in step)."""

    UNSPECIFIED = 0
    ACCEPTED = 1
    DUPLICATE = 2
    CONFLICT = 3
    INVALID_VENUE_SIGNATURE = 4
    UNKNOWN_VENUE = 5
    VENUE_CLOSED = 6
    TIME_IN_FUTURE = 7
    TIME_TOO_OLD = 8
    MALFORMED = 9


class Why(IntEnum):
    """Which check rejected a row (0 = none); decides the field and reason text."""

    OK = 0
    SCAN_ID_ZERO = 1
    DIRECTION = 2
    TIME_RANGE = 3
    VENUE_INDEX = 4
    PERSON = 5
    SIGNATURE = 6
    UNKNOWN_VENUE = 7
    VENUE_CLOSED = 8
    FUTURE = 9
    TOO_OLD = 10
    CONFLICT = 11


#: verdict and field of each Why code (the person field depends on the column used)
WHY_VERDICT: Final = np.array(
    [
        Verdict.ACCEPTED,
        Verdict.MALFORMED,
        Verdict.MALFORMED,
        Verdict.MALFORMED,
        Verdict.MALFORMED,
        Verdict.MALFORMED,
        Verdict.INVALID_VENUE_SIGNATURE,
        Verdict.UNKNOWN_VENUE,
        Verdict.VENUE_CLOSED,
        Verdict.TIME_IN_FUTURE,
        Verdict.TIME_TOO_OLD,
        Verdict.CONFLICT,
    ],
    dtype=np.uint8,
)
WHY_FIELD: Final = (
    "",
    "scan_ids",
    "directions",
    "times_ms",
    "venue_index",
    "person",
    "venue_codes",
    "venue_codes",
    "venue_codes",
    "times_ms",
    "times_ms",
    "scan_ids",
)


@dataclass(frozen=True, slots=True)
class Columns:
    """One batch as columns of `n` rows; exactly one of the person columns is set."""

    scan_ids: npt.NDArray[np.void]  # V16
    times_ms: I64
    directions: U8
    venue_index: U32
    venue_codes: list[str]
    person_numbers: U64 | None
    person_texts: list[str] | None

    def __len__(self) -> int:
        return len(self.scan_ids)

    @property
    def person_field(self) -> str:
        return "person_numbers" if self.person_numbers is not None else "person_texts"


def _column(raw: bytes, n: int, width: int, dtype: str, field: str) -> npt.NDArray[np.generic]:
    if len(raw) != n * width:
        raise MalformedBatchError(
            field, f"{len(raw)} bytes for {n} scans; expected {width} bytes per scan"
        )
    return np.frombuffer(raw, dtype=dtype)


def decode_batch(
    *,
    scan_ids: bytes,
    times_ms: bytes,
    directions: bytes,
    venue_index: bytes,
    venue_codes: list[str],
    person_numbers: bytes,
    person_texts: list[str],
    max_scans: int,
    max_codes: int,
) -> Columns:
    """Zero-copy views of a batch's columns; MalformedBatchError when they don't line up."""
    if len(scan_ids) % 16:
        raise MalformedBatchError(
            "scan_ids", f"{len(scan_ids)} bytes; expected a multiple of 16 (16 per scan)"
        )
    n = len(scan_ids) // 16
    if n > max_scans:
        raise MalformedBatchError("scan_ids", f"{n} scans; expected at most {max_scans}")
    if len(venue_codes) > max_codes:
        raise MalformedBatchError(
            "venue_codes", f"{len(venue_codes)} codes; expected at most {max_codes}"
        )
    numbers: U64 | None = None
    texts: list[str] | None = None
    if person_texts and person_numbers:
        raise MalformedBatchError(
            "person", "both person_numbers and person_texts are set; expected one of them"
        )
    if person_texts or (n == 0 and not person_numbers):
        if len(person_texts) != n:
            raise MalformedBatchError(
                "person_texts", f"{len(person_texts)} references for {n} scans; expected one each"
            )
        texts = list(person_texts)
    else:
        numbers = _column(person_numbers, n, 8, "<u8", "person_numbers").astype(np.uint64)
    return Columns(
        scan_ids=np.frombuffer(scan_ids, dtype="V16"),
        times_ms=_column(times_ms, n, 8, "<i8", "times_ms").astype(np.int64),
        directions=_column(directions, n, 1, "u1", "directions").astype(np.uint8),
        venue_index=_column(venue_index, n, 4, "<u4", "venue_index").astype(np.uint32),
        venue_codes=list(venue_codes),
        person_numbers=numbers,
        person_texts=texts,
    )


@dataclass(frozen=True, slots=True)
class VenueFacts:
    """What the checks need per venue id (from `storage.venues.VenueArrays`)."""

    registered: Mask
    closed_at: U32
    category: U8


@dataclass(slots=True)
class Checked:
    """Outcome of the checks: a Why code per row, plus derived columns for storage."""

    why: U8
    venue: U32
    t: U32
    category: U8

    @property
    def ok(self) -> Mask:
        return np.asarray(self.why == Why.OK, dtype=np.bool_)


def check_scans(
    columns: Columns,
    *,
    code_venue: U32,
    code_bad: Mask,
    person_bad: Mask,
    venues: VenueFacts,
    now_s: int,
    skew_s: int,
    retention_s: int,
) -> Checked:
    """Why code per row, first failing check wins (see the module docstring for the order).

    `code_venue`/`code_bad` are the verified venue id / bad flag per venue code;
    `person_bad` flags rows whose person reference failed normalisation. One kernel pass
    (`ingest.kernels._check`).
    """
    n = len(columns)
    why = np.empty(n, np.uint8)
    venue = np.empty(n, np.uint32)
    t = np.empty(n, np.uint32)
    category = np.empty(n, np.uint8)
    ids = columns.scan_ids.view("<u8").reshape(n, 2) if n else np.zeros((0, 2), np.uint64)
    _check(
        ids,
        np.ascontiguousarray(columns.times_ms, dtype=np.int64),
        np.ascontiguousarray(columns.directions, dtype=np.uint8),
        np.ascontiguousarray(columns.venue_index, dtype=np.uint32),
        np.ascontiguousarray(code_venue, dtype=np.uint32),
        np.ascontiguousarray(code_bad, dtype=np.bool_),
        np.ascontiguousarray(person_bad, dtype=np.bool_),
        np.ascontiguousarray(venues.registered, dtype=np.bool_),
        np.ascontiguousarray(venues.closed_at, dtype=np.uint32),
        np.ascontiguousarray(venues.category, dtype=np.uint8),
        now_s,
        skew_s,
        retention_s,
        why,
        venue,
        t,
        category,
    )
    return Checked(why=why, venue=venue, t=t, category=category)


def _iso(t_s: int) -> str:
    return datetime.fromtimestamp(t_s, tz=UTC).isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class Explainer:
    """Formats the field and reason of one rejected row (only rejected rows pay for this)."""

    columns: Columns
    checked: Checked
    code_reasons: dict[int, str]
    person_reasons: dict[int, str]
    now_s: int
    skew_s: int
    retention_days: int

    def __call__(self, i: int, why: int) -> tuple[str, str]:
        c, k = self.columns, self.checked
        field = c.person_field if why == Why.PERSON else WHY_FIELD[why]
        t_ms = int(c.times_ms[i])
        venue = int(k.venue[i])
        match why:
            case Why.SCAN_ID_ZERO:
                reason = "all-zero scan id; expected 16 client-made random bytes"
            case Why.DIRECTION:
                reason = f"direction {int(c.directions[i])}; expected 0 (IN) or 1 (OUT)"
            case Why.TIME_RANGE:
                reason = f"time {t_ms} ms; expected UTC epoch milliseconds in [1000, {MAX_TIME_MS}]"
            case Why.VENUE_INDEX:
                reason = (
                    f"index {int(c.venue_index[i])} but the batch has {len(c.venue_codes)}"
                    " venue codes"
                )
            case Why.PERSON:
                reason = self.person_reasons.get(i, "invalid person reference")
            case Why.SIGNATURE:
                code = int(c.venue_index[i])
                reason = f"venue QR code {code}: {self.code_reasons.get(code, 'invalid')}"
            case Why.UNKNOWN_VENUE:
                reason = f"venue {venue} is not registered; expected a registered venue"
            case Why.VENUE_CLOSED:
                reason = f"venue {venue} closed before the scan at {_iso(t_ms // 1000)}"
            case Why.FUTURE:
                ahead = t_ms // 1000 - self.now_s
                reason = (
                    f"time {_iso(t_ms // 1000)} is {ahead} s ahead of server time; expected"
                    f" at most {self.skew_s} s"
                )
            case Why.TOO_OLD:
                reason = (
                    f"time {_iso(t_ms // 1000)} is older than the {self.retention_days}-day"
                    " retention"
                )
            case Why.CONFLICT:
                reason = "scan id already stored with different content; expected a new id"
            case _:
                reason = "rejected"
        return field, reason
