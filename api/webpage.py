"""The ward officer web page: static files under api/web/ and the two small routes it needs.

The page (plain HTML/CSS/JS, no build step, no CDN: it must work on a ward office laptop
without internet) talks to the same `/v1/...` routes as every other client. It needs two
things those do not give: who the token belongs to (`/web/api/me`, to show the officer's
ward before anything else is asked) and the zone-level table (`/web/api/zones`: new cases
per 100,000 adults per week per ward, counts only). They live outside `/v1/` because they
are the page's own helpers, not operations of the officer API (no gRPC twin); the zones
route is authorized like FollowUpReport, the counts-only report it sits beside.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final

import numpy as np
from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles

from api.errors import UnauthenticatedError
from api.inputs import day
from api.report_ops import _today
from storage.domain import CITY_ADULTS, WARD_BY_CODE, WARDS
from storage.errors import ConfigError

if TYPE_CHECKING:
    from api.auth import Identity
    from api.context import ApiContext

WEB_DIR: Final = Path(__file__).resolve().parent / "web"
LEVELS: Final = ("green", "yellow", "orange", "red")
_bearer = HTTPBearer(auto_error=False)
Creds = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def ward_populations(adults: int = CITY_ADULTS) -> dict[int, int]:
    """Adults per ward: the domain table's weights, normalised, times the city's adults."""
    total = sum(w.population_weight for w in WARDS)
    return {w.code: round(adults * w.population_weight / total) for w in WARDS}


def check_thresholds(values: tuple[float, float, float]) -> tuple[float, float, float]:
    """The zone thresholds, else ConfigError naming the setting (they must ascend, > 0)."""
    a, b, c = values
    if not 0 < a < b < c:
        raise ConfigError(
            f"zone_thresholds {list(values)}: expected three ascending positive numbers "
            "(yellow, orange, red), e.g. [20, 50, 150]"
        )
    return a, b, c


def zone_level(rate: float, thresholds: tuple[float, float, float]) -> str:
    """green below the first threshold, yellow from it, orange from the second, red from the
    third."""
    return LEVELS[sum(rate >= t for t in thresholds)]


@dataclass(frozen=True)
class ZoneRow:
    """One ward's line of the zone table."""

    ward: int
    ward_name: str
    population: int
    new_cases: int
    per_100k: float
    level: str


def zone_table(
    new_cases: dict[int, int], thresholds: tuple[float, float, float], days: int = 7
) -> list[ZoneRow]:
    """Every ward's weekly rate per 100,000 adults (cases over `days` scaled to 7) and level."""
    check_thresholds(thresholds)
    rows = []
    for code, population in ward_populations().items():
        n = new_cases.get(code, 0)
        rate = n * 100_000 / population * 7 / days if population else 0.0
        rows.append(
            ZoneRow(code, WARD_BY_CODE[code].name, population, n, round(rate, 2),
                    zone_level(rate, thresholds))
        )  # fmt: skip
    return rows


def _identity(ctx: ApiContext, request: Request, creds: HTTPAuthorizationCredentials | None,
              operation: str) -> Identity:  # fmt: skip
    value = None if creds is None else f"Bearer {creds.credentials}"
    try:
        return ctx.auth.identify(value)
    except UnauthenticatedError as exc:
        rid = getattr(request.state, "request_id", "") or ""
        ctx.refuse_unauthenticated(operation, rid, str(exc))
        raise


def _venues_scanned(ctx: ApiContext, days: list[int]) -> dict[int, int]:
    """Per ward: venues with at least one check-in on any day the totals hold."""
    seen = [ctx.node.data.totals.day(d).venue for d in days]
    if not seen:
        return {}
    venues = np.unique(np.concatenate(seen))
    wards = ctx.node.venues.arrays().ward
    venues = venues[venues < len(wards)]
    codes, counts = np.unique(wards[venues], return_counts=True)
    return {int(c): int(n) for c, n in zip(codes.tolist(), counts.tolist(), strict=True) if c}


def mount_web(app: FastAPI, ctx: ApiContext, request_id: Any) -> None:
    """Serve the page at `/` and `/web/...`, plus `/web/api/me` and `/web/api/zones`."""

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/web/")

    @app.get("/web/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(WEB_DIR / "index.html", headers={"cache-control": "no-cache"})

    @app.get("/web/api/me", tags=["web"])
    def me(request: Request, creds: Creds) -> dict[str, Any]:
        """Who this token belongs to: name, role, ward (officers) and the ward's name."""
        request.state.request_id = request_id(request)
        who = _identity(ctx, request, creds, "WebMe")
        ward = who.ward or 0
        return {
            "name": who.name,
            "role": who.role.value,
            "ward": ward,
            "ward_name": WARD_BY_CODE[ward].name if ward in WARD_BY_CODE else "",
            "wards": {w.code: w.name for w in WARDS},
        }

    @app.get("/web/api/zones", tags=["web"])
    def zones(
        request: Request,
        creds: Creds,
        date_: Annotated[str, Query(alias="date", max_length=40)] = "",
    ) -> dict[str, Any]:
        """Zone levels of every ward for the week ending `date` (default: newest sample date)."""
        rid = request_id(request)
        request.state.request_id = rid
        who = _identity(ctx, request, creds, "FollowUpReport")

        def run() -> tuple[dict[str, Any], int, str | None]:
            thresholds = check_thresholds(ctx.settings.zone_thresholds)
            last = day(date_, "date") if date_ else (ctx.cases.newest_sample_date() or _today())
            first = last - timedelta(days=6)
            rows = zone_table(ctx.cases.new_cases_per_ward(first, last), thresholds)
            held = sorted(ctx.node.data.totals.days())
            epoch = date(1970, 1, 1)
            scanned = _venues_scanned(ctx, held)
            doc = {
                "from": first.isoformat(),
                "to": last.isoformat(),
                "thresholds": list(thresholds),
                "levels": list(LEVELS),
                "wards": [{**r.__dict__, "venues_scanned": scanned.get(r.ward, 0)} for r in rows],
                "scan_days": [(epoch + timedelta(days=d)).isoformat() for d in held],
            }
            return doc, 0, None

        return ctx.audited(who, "FollowUpReport", rid, "zones", run)

    app.mount("/web", StaticFiles(directory=WEB_DIR), name="web")
