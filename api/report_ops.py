"""Reports: counts only, never a person (scan totals, venue totals, daily summary, follow-up).

Scan counts come from `storage.totals` (per day × venue × category, exact by construction)
folded to wards through the venue registry; nothing here reads a scan or a person row, so
the reporting role can be given these and nothing else.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any

import numpy as np

from api.auth import Identity
from api.context import ApiContext
from api.inputs import category_code, day
from api.policy import ward_scope
from storage.domain import CATEGORY_BY_CODE, WARD_BY_CODE
from storage.errors import InvalidInputError
from storage.records import local_day

_EPOCH = date(1970, 1, 1)
MAX_DAYS = 366


def _day_number(d: date) -> int:
    return (d - _EPOCH).days


def _today() -> date:
    return _EPOCH + timedelta(days=int(local_day(np.array([int(time.time())]))[0]))


def _ward_filter(ward: int) -> int:
    if ward and ward not in WARD_BY_CODE:
        raise InvalidInputError("ward", f"unknown ward code {ward}; expected 1..30 or 0 for all")
    return ward


def scan_totals(
    ctx: ApiContext,
    identity: Identity,
    *,
    from_date: str,
    to_date: str,
    ward: int,
    category: str,
    request_id: str,
) -> dict[str, Any]:
    """ScanTotals: check-ins/outs per day × ward × category (non-zero cells)."""

    def run() -> tuple[dict[str, Any], int, str | None]:
        first = day(from_date, "from_date") if from_date else _today()
        last = day(to_date, "to_date") if to_date else first
        if last < first:
            raise InvalidInputError("to_date", "before from_date")
        if (last - first).days >= MAX_DAYS:
            raise InvalidInputError("to_date", f"range longer than {MAX_DAYS} days")
        w = _ward_filter(ward)
        cat = category_code(category) if category else 0
        venue_ward = ctx.node.venues.arrays().ward
        held = set(ctx.node.data.totals.days())
        rows: list[dict[str, Any]] = []
        ins = outs = 0
        for d in range(_day_number(first), _day_number(last) + 1):
            if d not in held:
                continue
            totals = ctx.node.data.totals.day(d)
            t_in = totals.by_ward_category(venue_ward)
            t_out = totals.by_ward_category_out(venue_ward)
            for wi, ci in zip(*np.nonzero(t_in + t_out), strict=True):
                if (w and wi != w) or (cat and ci != cat):
                    continue
                a, b = int(t_in[wi, ci]), int(t_out[wi, ci])
                ins, outs = ins + a, outs + b
                rows.append(
                    {
                        "date": (_EPOCH + timedelta(days=d)).isoformat(),
                        "ward": int(wi),
                        "category": CATEGORY_BY_CODE[int(ci)].slug
                        if int(ci) in CATEGORY_BY_CODE
                        else "unknown",
                        "check_ins": a,
                        "check_outs": b,
                    }
                )
        return {"rows": rows, "check_ins": ins, "check_outs": outs}, 0, None

    return ctx.audited(identity, "ScanTotals", request_id, "", run)


def venue_totals(ctx: ApiContext, identity: Identity, ward: int, request_id: str) -> dict[str, Any]:
    """VenueTotals: registered / active / registered today per ward × category."""

    def run() -> tuple[dict[str, Any], int, str | None]:
        w = _ward_filter(ward)
        today = _day_number(_today())
        cells: dict[tuple[int, int], list[int]] = {}
        for v in ctx.node.venues.all():
            if w and v.ward != w:
                continue
            cell = cells.setdefault((v.ward, v.category), [0, 0, 0])
            cell[0] += 1
            cell[1] += int(v.closed_at is None)
            cell[2] += int(local_day(np.array([v.registered_at]))[0]) == today
        rows: list[dict[str, Any]] = [
            {
                "ward": k[0],
                "category": CATEGORY_BY_CODE[k[1]].slug,
                "registered": c[0],
                "active": c[1],
                "registered_today": c[2],
            }
            for k, c in sorted(cells.items())
        ]
        doc = {
            "rows": rows,
            "registered": sum(r["registered"] for r in rows),
            "active": sum(r["active"] for r in rows),
            "registered_today": sum(r["registered_today"] for r in rows),
        }
        return doc, 0, None

    return ctx.audited(identity, "VenueTotals", request_id, "", run)


def summary(ctx: ApiContext, identity: Identity, on: str, request_id: str) -> dict[str, Any]:
    """Summary: "83,844 venues, +31 today; 6,908,717 scans, +17,760 today"."""

    def run() -> tuple[dict[str, Any], int, str | None]:
        when = day(on, "date") if on else _today()
        d = _day_number(when)
        venues = ctx.node.venues.all()
        venues_today = sum(1 for v in venues if int(local_day(np.array([v.registered_at]))[0]) == d)
        daily = ctx.node.data.totals.daily_scans()
        scans = sum(n for k, n in daily.items() if k <= d)
        today = daily.get(d, 0)
        text = f"{len(venues):,} venues, +{venues_today:,} today; {scans:,} scans, +{today:,} today"
        doc = {
            "date": when.isoformat(),
            "venues": len(venues),
            "venues_today": venues_today,
            "scans": scans,
            "scans_today": today,
            "text": text,
        }
        return doc, 0, None

    return ctx.audited(identity, "Summary", request_id, "", run)


def follow_up_report(
    ctx: ApiContext, identity: Identity, ward: int, request_id: str
) -> dict[str, Any]:
    """FollowUpReport: per ward F0, F1 (high tier, by home ward), F1 updated and the share."""

    def run() -> tuple[dict[str, Any], int, str | None]:
        w = _ward_filter(ward) or ward_scope(identity) or 0
        counts = ctx.cases.follow_up_counts()
        wards = []
        for code, (f0, f1, updated) in sorted(counts.items()):
            if w and code != w:
                continue
            wards.append(
                {
                    "ward": code,
                    "ward_name": WARD_BY_CODE[code].name if code in WARD_BY_CODE else "unknown",
                    "f0": f0,
                    "f1": f1,
                    "f1_updated": updated,
                    "updated_share": round(updated / f1, 4) if f1 else 0.0,
                }
            )
        return {"wards": wards}, 0, None

    return ctx.audited(identity, "FollowUpReport", request_id, "", run)
