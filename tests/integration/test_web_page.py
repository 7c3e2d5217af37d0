"""The ward officer web page in a real browser (Debian's Chromium driven by Playwright).

A real node (NodeThread, port 0) serves a small synthetic city with its planted outbreak.
The officer of the first planted F0's home ward signs in, registers the F0, traces it (the
listed people must be the ground truth's contacts living in that ward, in truth order),
opens evidence, sets statuses in bulk, exports CSV and XLSX (files downloaded and parsed),
is refused another ward's F0 in plain words, and visits F2, clusters and the dashboard.
Screenshots go to test-artifacts/web/. Skipped when /usr/bin/chromium is absent (CI
installs it: .ci/run).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow.parquet as pq
import pytest

from storage.domain import WARD_BY_CODE

from .api_support import NodeThread
from .web_support import CityWorld, build_city_world, reference

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip

if not CHROMIUM.exists():
    pytest.skip(
        "browser tests need Debian's Chromium at /usr/bin/chromium "
        "(apt-get install chromium fonts-dejavu-core; .ci/run does it)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.slow

#: pixels of Vietnamese text vs missing-glyph boxes, drawn with the page's own font
GLYPH_CHECK = """(text) => {
  const font = getComputedStyle(document.body).font;
  const draw = (s) => {
    const c = document.createElement('canvas'); c.width = 400; c.height = 40;
    const g = c.getContext('2d'); g.font = font; g.fillText(s, 2, 28);
    return Array.from(g.getImageData(0, 0, 400, 40).data).join(',');
  };
  const boxes = draw('\\u{10FFFD}'.repeat([...text].length));
  return { real: draw(text), boxes, width: (() => { const g = document.createElement('canvas')
    .getContext('2d'); g.font = font; return g.measureText(text).width; })() };
}"""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[CityWorld, NodeThread]]:
    w = build_city_world(tmp_path_factory.mktemp("web"))
    node = NodeThread(w.settings)
    try:
        yield w, node
    finally:
        node.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield b
        finally:
            b.close()


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _sign_in(page: Any, base: str, token: str) -> None:
    page.goto(f"{base}/web/")
    page.fill("#token", token)
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#app-view:not([hidden])")


def _listed(page: Any) -> list[str]:
    rows = "#contacts tbody tr[data-person]"
    return page.eval_on_selector_all(rows, "rs => rs.map(r => r.dataset.person)")  # type: ignore[no-any-return]


def test_officer_flow(world: tuple[CityWorld, NodeThread], browser: Any) -> None:
    w, node = world
    case = w.truth.cases[0]
    expected = [reference(c.person) for c in case.contacts if c.home_ward == w.f0_ward]
    assert len(expected) >= 3, "the planted F0 needs contacts in its own ward"
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)

    page.goto(f"{node.http_base}/")
    assert page.inner_text("h1") == "Truy vết tiếp xúc — cán bộ phường"
    page.fill("#token", "not-a-token")
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#message.error")
    assert "Mã truy cập không đúng" in page.inner_text("#message")

    _sign_in(page, node.http_base, w.tokens["officer"])
    ward_name = page.evaluate("() => document.getElementById('who').textContent")
    assert "officer-f0-ward" in ward_name
    assert f"Phường {_ward(w.f0_ward)}" in ward_name

    # register the planted F0 and trace it: truth's contacts of this ward, in truth order
    page.fill("#f0-person", reference(case.person))
    page.fill("#f0-sample", case.sample_date.isoformat())
    if case.onset_date:
        page.fill("#f0-onset", case.onset_date.isoformat())
    page.click("#f0-form button[type=submit]")
    page.wait_for_selector("#contacts tbody tr[data-person]")
    assert _listed(page) == expected
    assert page.is_hidden("#progress")
    _shot(page, "1-trace")

    # Vietnamese glyphs drawn with the page's font are real glyphs, not missing-glyph boxes
    drawn = page.evaluate(GLYPH_CHECK, "Phường Trảng Dài")
    assert drawn["real"] != drawn["boxes"]
    assert drawn["width"] > 0

    # evidence of the top contact: venue, SVG timeline, imputed check-out (planted no-checkout)
    first = page.locator("#contacts tbody tr[data-person]").first
    first.locator("button.expand").click()
    evidence = page.locator("#contacts tr.evidence").first
    assert evidence.locator("svg.timeline rect.overlap").count() >= 1
    text = evidence.inner_text()
    assert "#" in text
    assert "ước tính" in text or "đã quét" in text
    _shot(page, "2-evidence")

    # statuses in bulk: the first two rows become "called"
    boxes = page.locator("#contacts input.pick")
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.select_option("#bulk-status", "called")
    page.click("#apply-status")
    page.wait_for_selector("#message.ok")
    statuses = page.eval_on_selector_all("#contacts td.status", "cs => cs.map(c => c.textContent)")
    assert statuses[:2] == ["Đã gọi", "Đã gọi"]
    assert set(statuses[2:]) == {"Cần gọi"}

    # exports: downloaded and opened
    with page.expect_download() as info:
        page.click("#export-csv")
    assert info.value.suggested_filename.endswith(".csv")
    rows = list(csv.reader(io.StringIO(Path(info.value.path()).read_text("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert [r[header.index(_col(header, "Person"))] for r in body] == expected
    status_col = header.index(_col(header, "Follow"))
    assert [r[status_col] for r in body[:2]] == ["called", "called"]
    with page.expect_download() as info:
        page.click("#export-xlsx")
    assert info.value.suggested_filename.endswith(".xlsx")
    book = openpyxl.load_workbook(io.BytesIO(Path(info.value.path()).read_bytes()), read_only=True)
    sheet = book.active
    assert sheet is not None
    cells = [list(r) for r in sheet.iter_rows(values_only=True)]
    person_col = [str(h) for h in cells[0]].index(_col([str(h) for h in cells[0]], "Person"))
    assert [str(r[person_col]) for r in cells[1:]] == expected

    # another ward's F0 is refused, in plain words with the field named
    other = _resident_of(w, w.other_ward)
    page.fill("#f0-person", other)
    page.click("#f0-form button[type=submit]")
    page.wait_for_selector("#message.error")
    message = page.inner_text("#message")
    assert "Bạn không có quyền" in message
    assert "ward" in message
    _shot(page, "3-refused")

    # F2, clusters, dashboard, English
    page.click("nav button[data-tab=f2]")
    _shot(page, "4-f2")
    page.click("nav button[data-tab=clusters]")
    page.click("#run-clusters")
    page.wait_for_selector("#graph svg.graph circle.case")
    _shot(page, "5-clusters")
    page.click("nav button[data-tab=dashboard]")
    page.wait_for_selector("#zones tbody tr")
    assert page.locator("#zones tbody tr").count() == 30
    assert page.locator("#scan-chart svg rect.bar").count() >= 1
    mine = page.inner_text("#zones tr.mine")
    assert _ward(w.f0_ward) in mine
    _shot(page, "6-dashboard")
    page.click("#lang")
    assert page.inner_text("h1") == "Contact tracing — ward officer"
    page.click("nav button[data-tab=trace]")
    assert "Rank" in page.inner_text("#contacts thead")
    _shot(page, "7-english")
    context.close()


def _ward(code: int) -> str:
    return WARD_BY_CODE[code].name


def _col(header: list[str], english: str) -> str:
    return next(h for h in header if english.lower() in h.lower())


def _resident_of(w: CityWorld, ward: int) -> str:
    """A person reference living in `ward` (from the truth: any contact there)."""
    for case in w.truth.cases:
        for c in case.contacts:
            if c.home_ward == ward:
                return reference(c.person)
        if case.home_ward == ward:
            return reference(case.person)
    people = pq.read_table(Path(w.settings.data_dir).parent / "city" / "people.parquet")
    wards = people.column("home_ward").to_pylist()
    return reference(people.column("person").to_pylist()[wards.index(ward)])
