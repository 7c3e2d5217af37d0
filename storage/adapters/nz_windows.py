"""New Zealand "locations of interest": published exposure windows with messy timestamps.

Why a parser of its own: the Ministry of Health changed the time format three times while
publishing (`13/08/2021, 10:00 pm` in NZ local time; `2021-11-02 14:30:00 NZDT` with the
zone abbreviation; ISO UTC `2022-01-05T01:30:00.000Z`), some rows lack a start or an end,
one ends before it starts, and the 26 Sep 2021 change to daylight time falls inside the data
(a local time's offset depends on its date; 02:00-03:00 that night does not exist). A window
an officer acts on must be right to the minute, so each string is parsed by its own format,
local times go through the Pacific/Auckland rules, and every row comes out either as a
window or as a reject naming the field and the reason: none is dropped silently.

Reasons are fixed phrases (the `REASON_*` constants), so a report can group rejects by them.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

from storage.adapters.venue_keys import venue_key

NZ_TZ: Final = ZoneInfo("Pacific/Auckland")
_ABBREVIATION_OFFSET_H: Final = {"NZST": 12, "NZDT": 13}

FORMAT_LOCAL_12H: Final = "dd/mm/yyyy, h:mm am (NZ local)"
FORMAT_ABBREVIATED: Final = "yyyy-mm-dd hh:mm:ss NZDT|NZST"
FORMAT_ISO_UTC: Final = "ISO 8601 UTC (Z)"

REASON_MISSING: Final = "missing"
REASON_FORMAT: Final = "unrecognised time format"
REASON_BAD_DATE: Final = "not a calendar date/time"
REASON_DST_GAP: Final = "local time does not exist (daylight-saving gap)"
REASON_DST_FOLD: Final = "local time is ambiguous (daylight-saving overlap)"
REASON_WRONG_ZONE: Final = "zone abbreviation contradicts the date"
REASON_NEGATIVE: Final = "end before start"
REASON_MIDNIGHT_END: Final = "end before start (end is 12:00 am of the start date: midnight after?)"
REASON_BLANK: Final = "blank row"
REASON_CONFLICT_MARKER: Final = "git merge-conflict marker, not a data row"
REASON_EMPTY: Final = "empty window (end = start)"

_LOCAL_12H: Final = re.compile(
    r"^(\d{1,2})/(\d{1,2})/(\d{4}),\s*(\d{1,2}):(\d{2})\s*([ap]m)$", re.I
)
_ABBREVIATED: Final = re.compile(r"^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) (NZDT|NZST)$")
_ISO_UTC: Final = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?Z$")
_MISSING: Final = frozenset({"", "na", "n/a", "null", "none"})
_CONFLICT_MARKERS: Final = ("<<<<<<<", "=======", ">>>>>>>")


class WindowParseError(ValueError):
    """A published time string could not be turned into an instant; `reason` says why."""

    def __init__(self, reason: str, text: str) -> None:
        super().__init__(f"{text!r}: {reason}")
        self.reason = reason


@dataclass(frozen=True)
class ParsedTime:
    """An instant (epoch seconds, UTC) and the format it was written in."""

    epoch: int
    format: str


@dataclass(frozen=True)
class ExposureWindow:
    """One loaded window [start, end) at a venue (epoch seconds, UTC)."""

    line: int
    event_id: str
    venue_key: str
    start: int
    end: int
    start_format: str
    end_format: str
    exposure_type: str
    published_start_utc: str
    published_end_utc: str

    @property
    def minutes(self) -> float:
        return (self.end - self.start) / 60


@dataclass(frozen=True)
class WindowReject:
    """One rejected row: its file line (header = line 1), event, field and reason."""

    line: int
    event_id: str
    field: str
    reason: str


@dataclass
class NzLoad:
    """Every row of a file, as a window or a reject (rows = windows + rejects)."""

    rows: int = 0
    windows: list[ExposureWindow] = field(default_factory=list)
    rejects: list[WindowReject] = field(default_factory=list)


def _local(naive: datetime, text: str) -> int:
    """Epoch of an NZ wall-clock time; refuses times the DST change skipped or repeated."""
    first = naive.replace(tzinfo=NZ_TZ, fold=0)
    second = naive.replace(tzinfo=NZ_TZ, fold=1)
    if first.utcoffset() != second.utcoffset():
        # a real local time round-trips through UTC; a skipped one comes back shifted
        back = first.astimezone(UTC).astimezone(NZ_TZ).replace(tzinfo=None)
        raise WindowParseError(REASON_DST_GAP if back != naive else REASON_DST_FOLD, text)
    return int(first.timestamp())


def parse_nz_time(text: str | None) -> ParsedTime:
    """Parse one published time string in any of the three formats."""
    raw = (text or "").strip()
    if raw.casefold() in _MISSING:
        raise WindowParseError(REASON_MISSING, raw)
    try:
        if m := _LOCAL_12H.match(raw):
            day, month, year, hour, minute, half = m.groups()
            h = int(hour)
            if not 1 <= h <= 12:
                raise WindowParseError(REASON_BAD_DATE, raw)
            h = h % 12 + (12 if half.lower() == "pm" else 0)
            naive = datetime(int(year), int(month), int(day), h, int(minute))
            return ParsedTime(_local(naive, raw), FORMAT_LOCAL_12H)
        if m := _ABBREVIATED.match(raw):
            year, month, day, hour, minute, second, zone = m.groups()
            naive = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
            offset = timedelta(hours=_ABBREVIATION_OFFSET_H[zone])
            epoch = int((naive - offset).replace(tzinfo=UTC).timestamp())
            actual = datetime.fromtimestamp(epoch, NZ_TZ).utcoffset()
            if actual != offset:
                raise WindowParseError(REASON_WRONG_ZONE, raw)
            return ParsedTime(epoch, FORMAT_ABBREVIATED)
        if m := _ISO_UTC.match(raw):
            year, month, day, hour, minute, second = (int(p) for p in m.groups())
            naive = datetime(year, month, day, hour, minute, second)
            return ParsedTime(int(naive.replace(tzinfo=UTC).timestamp()), FORMAT_ISO_UTC)
    except ValueError as exc:  # datetime() refused the fields (31/02, 25:00 ...)
        if isinstance(exc, WindowParseError):
            raise
        raise WindowParseError(REASON_BAD_DATE, raw) from None
    raise WindowParseError(REASON_FORMAT, raw)


def parse_row(row: Mapping[str, str | None], line: int) -> ExposureWindow | WindowReject:
    """One CSV row (columns as in the MoH file) -> a window or a reject; never raises."""
    event = (row.get("event_id") or "").strip()
    if event.startswith(_CONFLICT_MARKERS):
        return WindowReject(line, event, "event_id", REASON_CONFLICT_MARKER)
    if not any((v or "").strip() for k, v in row.items() if not k.endswith("_in_repo")):
        return WindowReject(line, event, "row", REASON_BLANK)
    times: dict[str, ParsedTime] = {}
    for name in ("start_raw", "end_raw"):
        try:
            times[name] = parse_nz_time(row.get(name))
        except WindowParseError as exc:
            return WindowReject(line, event, name, exc.reason)
    start, end = times["start_raw"], times["end_raw"]
    if end.epoch < start.epoch:
        midnight = datetime.fromtimestamp(end.epoch, NZ_TZ)
        same_day = midnight.date() == datetime.fromtimestamp(start.epoch, NZ_TZ).date()
        at_midnight = (midnight.hour, midnight.minute) == (0, 0)
        reason = REASON_MIDNIGHT_END if same_day and at_midnight else REASON_NEGATIVE
        return WindowReject(line, event, "window", reason)
    if end.epoch == start.epoch:
        return WindowReject(line, event, "window", REASON_EMPTY)
    return ExposureWindow(
        line=line,
        event_id=event,
        venue_key=venue_key(row.get("venue_event"), row.get("address")),
        start=start.epoch,
        end=end.epoch,
        start_format=start.format,
        end_format=end.format,
        exposure_type=(row.get("exposure_type") or "").strip(),
        published_start_utc=(row.get("start_utc") or "").strip(),
        published_end_utc=(row.get("end_utc") or "").strip(),
    )


def parse_rows(rows: Iterable[tuple[int, Mapping[str, str | None]]]) -> NzLoad:
    """Windows and rejects of (line, row) pairs."""
    load = NzLoad()
    for line, row in rows:
        load.rows += 1
        item = parse_row(row, line)
        if isinstance(item, ExposureWindow):
            load.windows.append(item)
        else:
            load.rejects.append(item)
    return load


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, str | None]]]:
    with Path(path).open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        start = 2
        for row in reader:
            yield start, row
            start = reader.line_num + 1


def load_windows(path: Path) -> NzLoad:
    """Every row of a locations-of-interest CSV, loaded or rejected (lines: header = 1)."""
    return parse_rows(_csv_rows(path))
