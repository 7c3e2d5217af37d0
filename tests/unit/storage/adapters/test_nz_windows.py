"""NZ locations-of-interest windows: the three formats, DST, and every odd row's reason."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage.adapters import nz_windows as nz
from storage.adapters.nz_windows import (
    ExposureWindow,
    WindowParseError,
    WindowReject,
    load_windows,
    parse_nz_time,
    parse_row,
)


def utc(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


@pytest.mark.parametrize(
    ("text", "expected", "fmt"),
    [
        # NZST (+12) before the 26 Sep 2021 change, NZDT (+13) after it
        ("13/08/2021, 10:00 pm", "2021-08-13T10:00:00", nz.FORMAT_LOCAL_12H),
        ("1/10/2021, 9:05 am", "2021-09-30T20:05:00", nz.FORMAT_LOCAL_12H),
        ("26/09/2021, 1:59 am", "2021-09-25T13:59:00", nz.FORMAT_LOCAL_12H),
        ("26/09/2021, 3:00 am", "2021-09-25T14:00:00", nz.FORMAT_LOCAL_12H),
        ("10/08/2021, 12:00 pm", "2021-08-10T00:00:00", nz.FORMAT_LOCAL_12H),
        ("10/08/2021, 12:30 am", "2021-08-09T12:30:00", nz.FORMAT_LOCAL_12H),
        ("10/08/2021,  7:15 PM", "2021-08-10T07:15:00", nz.FORMAT_LOCAL_12H),
        ("2021-11-02 14:30:00 NZDT", "2021-11-02T01:30:00", nz.FORMAT_ABBREVIATED),
        ("2021-09-01 14:30:00 NZST", "2021-09-01T02:30:00", nz.FORMAT_ABBREVIATED),
        ("2022-01-05T01:30:00.000Z", "2022-01-05T01:30:00", nz.FORMAT_ISO_UTC),
        ("2022-01-05T01:30:00Z", "2022-01-05T01:30:00", nz.FORMAT_ISO_UTC),
    ],
)
def test_each_format_parses_to_the_right_instant(text: str, expected: str, fmt: str) -> None:
    parsed = parse_nz_time(text)
    assert (parsed.epoch, parsed.format) == (utc(expected), fmt)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (None, nz.REASON_MISSING),
        ("", nz.REASON_MISSING),
        ("NA", nz.REASON_MISSING),
        ("  ", nz.REASON_MISSING),
        ("26/09/2021, 2:30 am", nz.REASON_DST_GAP),  # clocks jumped 02:00 -> 03:00
        ("3/04/2022, 2:30 am", nz.REASON_DST_FOLD),  # 02:00-03:00 happened twice
        ("2021-08-20 10:00:00 NZDT", nz.REASON_WRONG_ZONE),  # August is NZST
        ("31/02/2021, 1:00 pm", nz.REASON_BAD_DATE),
        ("10/08/2021, 13:00 pm", nz.REASON_BAD_DATE),
        ("10/08/2021, 0:30 am", nz.REASON_BAD_DATE),
        ("2021-08-10 10:00", nz.REASON_FORMAT),
        ("Tuesday 10 Aug", nz.REASON_FORMAT),
    ],
)
def test_bad_strings_are_refused_with_their_reason(text: str | None, reason: str) -> None:
    with pytest.raises(WindowParseError) as caught:
        parse_nz_time(text)
    assert caught.value.reason == reason


def row(start: str, end: str, **extra: str) -> dict[str, str | None]:
    base: dict[str, str | None] = {
        "event_id": "a0l1",
        "venue_event": "Icco  Sake Bar 金儷星",
        "address": "601 New North Road",
        "start_raw": start,
        "end_raw": end,
        "start_utc": "",
        "end_utc": "",
        "exposure_type": "Casual",
        "first_seen_in_repo": "2021-08-20T17:08:25+12:00",
    }
    base.update(extra)
    return base


def test_a_window_across_the_dst_change_is_measured_in_real_minutes() -> None:
    item = parse_row(row("26/09/2021, 1:00 am", "26/09/2021, 4:00 am"), 7)
    assert isinstance(item, ExposureWindow)
    assert item.minutes == 120  # 01:00 NZST -> 04:00 NZDT is two hours, not three
    assert item.venue_key == "icco sake bar|601 new north road"
    assert (item.line, item.exposure_type) == (7, "Casual")


def test_mixed_formats_in_one_row_are_fine() -> None:
    item = parse_row(row("2021-11-02 14:30:00 NZDT", "2/11/2021, 3:00 pm"), 2)
    assert isinstance(item, ExposureWindow)
    assert item.minutes == 30
    assert (item.start_format, item.end_format) == (nz.FORMAT_ABBREVIATED, nz.FORMAT_LOCAL_12H)


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"start_raw": "NA", "end_raw": "NA"}, "start_raw", nz.REASON_MISSING),
        ({"start_raw": "13/08/2021, 10:00 pm", "end_raw": ""}, "end_raw", nz.REASON_MISSING),
        (
            {"start_raw": "19/08/2021, 11:00 pm", "end_raw": "19/08/2021, 12:00 am"},
            "window",
            nz.REASON_MIDNIGHT_END,
        ),
        (
            {"start_raw": "19/08/2021, 11:00 pm", "end_raw": "19/08/2021, 10:00 pm"},
            "window",
            nz.REASON_NEGATIVE,
        ),
        (
            {"start_raw": "19/08/2021, 11:00 pm", "end_raw": "2021-08-19T11:00:00Z"},
            "window",
            nz.REASON_EMPTY,
        ),
        ({"event_id": "<<<<<<< HEAD", "start_raw": "", "end_raw": ""}, "event_id",
         nz.REASON_CONFLICT_MARKER),
        ({"event_id": ">>>>>>> d57175e", "start_raw": "", "end_raw": ""}, "event_id",
         nz.REASON_CONFLICT_MARKER),
    ],
)  # fmt: skip
def test_odd_rows_are_rejected_with_field_and_reason(
    fields: dict[str, str], field: str, reason: str
) -> None:
    item = parse_row(row(**{"start": "", "end": ""} | {}) | fields, 9)
    assert item == WindowReject(9, fields.get("event_id", "a0l1"), field, reason)


def test_a_blank_row_is_a_reject_not_a_crash() -> None:
    blank = dict.fromkeys(row("", ""), " ")
    blank["first_seen_in_repo"] = "2021-08-29T14:34:18+12:00"
    assert parse_row(blank, 4) == WindowReject(4, "", "row", nz.REASON_BLANK)


def test_every_row_of_a_file_is_loaded_or_rejected(tmp_path: Path) -> None:
    header = "event_id,venue_event,exposure_type,address,city,start_utc,end_utc,start_raw,end_raw\n"
    lines = [
        'e1,Shop,,"1 Main St, Auckland",Auckland,,,"13/08/2021, 10:00 pm","13/08/2021, 10:30 pm"',
        "<<<<<<< HEAD,,,,,,,,",
        'e2,"Bus 97B\nnight",,Auckland,Auckland,,,'
        "2021-11-02 14:30:00 NZDT,2021-11-02 15:00:00 NZDT",
        "=======,,,,,,,,",
        "e3,Shop,,x,y,,,NA,NA",
        "e4,Shop,,x,y,,,2022-01-05T01:30:00.000Z,2022-01-05T01:00:00.000Z",
    ]
    path = tmp_path / "loi.csv"
    path.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    load = load_windows(path)
    assert load.rows == 6 == len(load.windows) + len(load.rejects)
    assert [(w.event_id, w.line) for w in load.windows] == [("e1", 2), ("e2", 4)]
    assert [(r.line, r.field, r.reason) for r in load.rejects] == [
        (3, "event_id", nz.REASON_CONFLICT_MARKER),
        (6, "event_id", nz.REASON_CONFLICT_MARKER),
        (7, "start_raw", nz.REASON_MISSING),
        (8, "window", nz.REASON_NEGATIVE),
    ]
