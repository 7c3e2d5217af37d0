"""Venue administration (city admin): register, deactivate, issue the signed QR payload.

The QR payload is signed with the city's current key from the ingest node's key ring
(ingest/qrcode.py), so a poster printed here verifies at ingest at once.
"""

from __future__ import annotations

import time
from typing import Any

from api.auth import Identity
from api.context import ApiContext
from api.errors import NotFoundError
from api.inputs import category_code
from storage.domain import CATEGORY_BY_CODE
from storage.venues import Venue


def venue_doc(ctx: ApiContext, venue: Venue) -> dict[str, Any]:
    return {
        "venue_id": venue.venue_id,
        "name": venue.name,
        "ward": venue.ward,
        "category": CATEGORY_BY_CODE[venue.category].slug,
        "active": venue.active,
        "qr_payload": ctx.node.keyring.sign(venue.venue_id) if venue.active else "",
    }


def register_venue(
    ctx: ApiContext,
    identity: Identity,
    *,
    name: str,
    ward: int,
    category: str,
    capacity: int,
    request_id: str,
) -> dict[str, Any]:
    """RegisterVenue: the next free venue id, with its signed QR payload."""

    def run() -> tuple[dict[str, Any], int, str | None]:
        venue = ctx.node.venues.register_new(
            name=name, ward=ward, category=category_code(category),
            registered_at=int(time.time()), capacity=capacity or None,
        )  # fmt: skip
        return venue_doc(ctx, venue), 0, None

    return ctx.audited(identity, "RegisterVenue", request_id, "", run)


def _venue(ctx: ApiContext, venue_id: int) -> Venue:
    venue = ctx.node.venues.get(venue_id)
    if venue is None:
        raise NotFoundError("venue_id", f"venue {venue_id} is not registered")
    return venue


def deactivate_venue(
    ctx: ApiContext, identity: Identity, venue_id: int, request_id: str
) -> dict[str, Any]:
    """DeactivateVenue: later scans there are rejected (VENUE_CLOSED)."""

    def run() -> tuple[dict[str, Any], int, str | None]:
        _venue(ctx, venue_id)
        venue = ctx.node.venues.deactivate(venue_id, int(time.time()))
        return venue_doc(ctx, venue), 0, None

    return ctx.audited(identity, "DeactivateVenue", request_id, "", run)


def issue_qr(ctx: ApiContext, identity: Identity, venue_id: int, request_id: str) -> dict[str, Any]:
    """IssueQr: the signed payload of an active venue (current key)."""

    def run() -> tuple[dict[str, Any], int, str | None]:
        return venue_doc(ctx, _venue(ctx, venue_id)), 0, None

    return ctx.audited(identity, "IssueQr", request_id, "", run)
