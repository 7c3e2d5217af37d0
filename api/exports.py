"""CSV and XLSX exports of a ward's contact list, with Vietnamese and English headers.

CSV is UTF-8 with a byte-order mark so Excel (which otherwise guesses a legacy code page)
shows "Phường" and not mojibake. Both formats are injection-safe: a cell that starts with
`= + - @` (or a tab/CR that some spreadsheet apps strip first) is prefixed with `'`, so a
crafted name or reference is shown as text and never evaluated as a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any, Final

from openpyxl import Workbook

#: (key in the row dict, header shown): Vietnamese / English
COLUMNS: Final = (
    ("rank", "Hạng / Rank"),
    ("person", "Mã người / Person"),
    ("name", "Họ tên / Name"),
    ("phone", "Số điện thoại / Phone"),
    ("home_ward", "Phường cư trú / Home ward"),
    ("tier", "Phân loại / Tier"),
    ("score", "Điểm / Score"),
    ("minutes", "Số phút / Minutes"),
    ("shared_visits", "Số lần tiếp xúc / Shared visits"),
    ("first_exposure", "Tiếp xúc đầu / First exposure"),
    ("last_exposure", "Tiếp xúc cuối / Last exposure"),
    ("venues", "Địa điểm / Venues"),
    ("follow_up", "Theo dõi / Follow-up"),
)
_DANGEROUS: Final = ("=", "+", "-", "@", "\t", "\r")
CONTENT_TYPES: Final = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def safe_cell(value: Any) -> Any:
    """Numbers as they are; text that a spreadsheet could run as a formula gets a `'`."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return value
    text = str(value)
    return "'" + text if text.startswith(_DANGEROUS) else text


def _cells(row: dict[str, Any]) -> list[Any]:
    return [safe_cell(row.get(key)) for key, _ in COLUMNS]


def to_csv(rows: Sequence[dict[str, Any]]) -> bytes:
    """UTF-8 with BOM, CRLF line ends (what Excel expects)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([header for _, header in COLUMNS])
    for row in rows:
        writer.writerow(_cells(row))
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def to_xlsx(rows: Sequence[dict[str, Any]], title: str = "F1") -> bytes:
    """One sheet, the bilingual header row frozen."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])
    sheet.freeze_panes = "A2"
    sheet.append([header for _, header in COLUMNS])
    for row in rows:
        sheet.append(_cells(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def render(rows: Sequence[dict[str, Any]], fmt: str) -> bytes:
    """`csv` or `xlsx` bytes of the rows."""
    return to_xlsx(rows) if fmt == "xlsx" else to_csv(rows)
