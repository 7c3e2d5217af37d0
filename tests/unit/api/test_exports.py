"""Exports: formulas neutralised, bilingual headers, CSV with BOM, XLSX readable."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from api.exports import COLUMNS, safe_cell, to_csv, to_xlsx


def test_dangerous_prefixes_are_neutralised() -> None:
    for text in ("=1+1", "+84 912", "-2", "@SUM(A1)", "\tx", "\rx"):
        assert safe_cell(text) == "'" + text
    assert safe_cell("Phường An Bình") == "Phường An Bình"
    assert safe_cell(5) == 5
    assert safe_cell(None) == ""


def test_csv_and_xlsx() -> None:
    rows = [{"rank": 1, "person": "0912", "name": '=HYPERLINK("x")', "home_ward": 3}]
    data = to_csv(rows)
    assert data.startswith(b"\xef\xbb\xbf")
    assert "Phường cư trú / Home ward" in data.decode("utf-8-sig")
    sheet = load_workbook(io.BytesIO(to_xlsx(rows))).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == COLUMNS[0][1]
    assert values[1][2] == '\'=HYPERLINK("x")'
