"""Cases, ward worklists, follow-up and exports: the officer's daily loop, audited.

Registering an F0 queues its trace (`status: queued`); the server's worker (or an admin's
TraceCases) records every contact with its home ward, so each ward's worklist fills with
the people who live there, one row per person with the highest-risk reason over all cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from api.auth import Identity
from api.casestore import STATUSES, CaseRow, WorklistEntry, case_label
from api.context import ApiContext
from api.errors import PermissionDeniedError
from api.exports import CONTENT_TYPES, render
from api.inputs import day, optional_day, page
from api.policy import require_ward, ward_scope
from api.trace_ops import case_of, window_of_case
from storage.domain import WARD_BY_CODE
from storage.errors import InvalidInputError
from tracing.results import iso
from tracing.rules import DEFAULT_RULE_SET, get_rule_set

MAX_BATCH = 10_000


def _when(t: float | None) -> str:
    return "" if t is None else datetime.fromtimestamp(t, tz=UTC).isoformat(timespec="seconds")


def case_doc(ctx: ApiContext, identity: Identity, case: CaseRow) -> dict[str, Any]:
    """A case as JSON; the F0's reference only for its own ward or a city admin."""
    scope = ward_scope(identity)
    person = ""
    if scope is None or scope == case.ward:
        record = ctx.node.people.lookup(case.person)
        person = record.reference if record else f"pseudonym:{case.person:016x}"
    return {
        "case_id": case.label,
        "ward": case.ward,
        "sample_date": case.sample_date.isoformat(),
        "onset_date": case.onset_date.isoformat() if case.onset_date else "",
        "status": case.status,
        "contacts": case.contacts,
        "high_tier": case.high_tier,
        "registered_at": _when(case.registered_at),
        "registered_by": case.registered_by,
        "person": person,
        "external_id": case.external_id or "",
    }


@dataclass(frozen=True)
class NewCase:
    person: str
    sample_date: str
    onset_date: str = ""
    ward: int = 0
    external_id: str = ""


def _register(
    ctx: ApiContext, identity: Identity, new: NewCase, prefix: str = ""
) -> tuple[CaseRow, bool]:
    person = ctx.pseudonyms.person_id(new.person, field=f"{prefix}person")
    sample = day(new.sample_date, f"{prefix}sample_date")
    onset = optional_day(new.onset_date, f"{prefix}onset_date")
    if onset is not None and onset > sample:
        raise InvalidInputError(f"{prefix}onset_date", "after sample_date")
    ward = new.ward or int(ctx.people.home_wards(np.array([person], np.uint64))[0])
    if ward not in WARD_BY_CODE:
        raise InvalidInputError(
            f"{prefix}ward", f"{ward or 'unknown'}: give the F0's ward (1..30); not in directory"
        )
    require_ward(identity, ward, f"{prefix}ward")
    if len(new.external_id) > 100:
        raise InvalidInputError(f"{prefix}external_id", "longer than 100 characters")
    return ctx.cases.register(
        person=person, ward=ward, sample_date=sample, onset_date=onset,
        external_id=new.external_id or None, by=identity.name,
    )  # fmt: skip


def register_case(
    ctx: ApiContext, identity: Identity, new: NewCase, request_id: str
) -> dict[str, Any]:
    """RegisterCase: one F0 (an officer: of their own ward); its trace is queued."""

    def run() -> tuple[dict[str, Any], int, str | None]:
        case, _created = _register(ctx, identity, new)
        return case_doc(ctx, identity, case), 1, case.label

    return ctx.audited(identity, "RegisterCase", request_id, "register F0", run)


def list_cases(
    ctx: ApiContext, identity: Identity, *, ward: int, limit: int, offset: int, request_id: str
) -> dict[str, Any]:
    """ListCases: newest first; officers see their ward's cases only."""

    def run() -> tuple[dict[str, Any], int, str | None]:
        lim, off = page(limit, offset)
        scope = ward_scope(identity)
        if scope is not None and ward and ward != scope:
            raise PermissionDeniedError("ward", f"ward {ward} is not your ward ({scope})")
        rows, total = ctx.cases.list_cases(ward=scope or (ward or None), limit=lim, offset=off)
        doc = {"cases": [case_doc(ctx, identity, c) for c in rows], "total": total}
        return doc, len(rows), None

    return ctx.audited(identity, "ListCases", request_id, "list cases", run)


def submit_results(
    ctx: ApiContext, identity: Identity, results: list[NewCase], request_id: str
) -> dict[str, Any]:
    """SubmitPositiveResults (city admin): register many F0s (idempotent by external_id)."""

    def run() -> tuple[dict[str, Any], int, str | None]:
        if len(results) > MAX_BATCH:
            raise InvalidInputError("results", f"{len(results)} results; at most {MAX_BATCH}")
        docs, new = [], 0
        for i, item in enumerate(results):
            case, created = _register(ctx, identity, item, prefix=f"results[{i}].")
            new += created
            docs.append(case_doc(ctx, identity, case))
        doc = {"cases": docs, "registered": new, "already_known": len(results) - new}
        return doc, len(docs), f"{len(docs)} cases"

    return ctx.audited(identity, "SubmitPositiveResults", request_id, "lab results", run)


def _worklist_doc(ctx: ApiContext, rows: list[WorklistEntry]) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        record = ctx.node.people.lookup(r.person)
        out.append(
            {
                "person": record.reference if record else f"pseudonym:{r.person:016x}",
                "name": (record.name if record else None) or "",
                "phone": (record.phone if record else None) or "",
                "home_ward": r.home_ward,
                "tier": r.tier,
                "score": r.score,
                "reason": r.reason,
                "case_ids": [case_label(c) for c in r.case_ids],
                "status": r.status,
                "reached_again": r.reached_again,
                "status_updated_at": _when(r.status_updated_at),
            }
        )
    return out


def list_contacts(
    ctx: ApiContext,
    identity: Identity,
    *,
    ward: int,
    status: str,
    limit: int,
    offset: int,
    purpose: str,
    request_id: str,
) -> dict[str, Any]:
    """ListContacts: the ward worklist (people who live there), one row per person."""

    def run() -> tuple[dict[str, Any], int, str | None]:
        lim, off = page(limit, offset)
        scope = ward_scope(identity)
        if scope is not None and ward and ward != scope:
            raise PermissionDeniedError("ward", f"ward {ward} is not your ward ({scope})")
        wanted = status or "to_call"
        if wanted != "all" and wanted not in STATUSES:
            raise InvalidInputError("status", f"{wanted!r}; expected all or {', '.join(STATUSES)}")
        rows, total = ctx.cases.worklist(
            ward=scope or (ward or None), status=None if wanted == "all" else wanted,
            limit=lim, offset=off,
        )  # fmt: skip
        doc = {"request_id": request_id, "rows": _worklist_doc(ctx, rows), "total": total}
        return doc, len(rows), None

    return ctx.audited(identity, "ListContacts", request_id, purpose or "follow-up", run)


def set_follow_up(
    ctx: ApiContext,
    identity: Identity,
    updates: list[tuple[str, str]],
    purpose: str,
    request_id: str,
) -> dict[str, Any]:
    """SetFollowUp: many (person, status) at once; officers only for their ward's residents."""

    def run() -> tuple[dict[str, Any], int, str | None]:
        if not updates or len(updates) > MAX_BATCH:
            raise InvalidInputError("updates", f"{len(updates)} updates; expected 1..{MAX_BATCH}")
        for i, (_p, status) in enumerate(updates):
            if status not in STATUSES:
                raise InvalidInputError(
                    f"updates[{i}].status", f"{status!r}; expected one of {', '.join(STATUSES)}"
                )
        ids = ctx.pseudonyms.person_ids([p for p, _ in updates], field="updates.person")
        scope = ward_scope(identity)
        if scope is not None:
            homes = ctx.people.home_wards(ids)
            bad = np.flatnonzero(homes != scope)
            if len(bad):
                raise PermissionDeniedError(
                    f"updates[{int(bad[0])}].person", f"does not live in your ward ({scope})"
                )
        n = ctx.cases.set_statuses(
            [(int(p), s) for p, (_ref, s) in zip(ids.tolist(), updates, strict=True)],
            identity.name,
        )
        return {"request_id": request_id, "updated": n}, n, None

    return ctx.audited(identity, "SetFollowUp", request_id, purpose or "follow-up", run)


@dataclass(frozen=True)
class ExportQuery:
    case_id: str
    format: str = "csv"
    purpose: str = ""


def export_trace(
    ctx: ApiContext, identity: Identity, q: ExportQuery, request_id: str
) -> dict[str, Any]:
    """ExportTrace: a case's in-scope contacts with name and phone, as CSV or XLSX bytes."""

    def run() -> tuple[dict[str, Any], int, str | None]:
        fmt = q.format or "csv"
        if fmt not in CONTENT_TYPES:
            raise InvalidInputError("format", f"{fmt!r}; expected csv or xlsx")
        case = case_of(ctx, q.case_id)
        rules = get_rule_set(DEFAULT_RULE_SET)
        result = ctx.engine().trace_case(case.person, window_of_case(rules, case), rules)
        t = result.table
        homes = ctx.people.home_wards(t.person)
        scope = ward_scope(identity)
        keep = np.arange(len(t)) if scope is None else np.flatnonzero(homes == scope)
        tiers = result.tiers()
        statuses = ctx.cases.statuses(t.person[keep].tolist())
        rows = []
        for rank, i in enumerate(keep.tolist(), start=1):
            pid = int(t.person[i])
            record = ctx.node.people.lookup(pid)
            lo, hi = int(t.ev_off[i]), int(t.ev_off[i + 1])
            rows.append(
                {
                    "rank": rank,
                    "person": record.reference if record else f"pseudonym:{pid:016x}",
                    "name": record.name if record else None,
                    "phone": record.phone if record else None,
                    "home_ward": int(homes[i]),
                    "tier": tiers[i],
                    "score": result.score(t.units[i]),
                    "minutes": round(int(t.overlap_s[i]) / 60, 2),
                    "shared_visits": int(t.shared[i]),
                    "first_exposure": iso(int(t.first[i])),
                    "last_exposure": iso(int(t.last[i])),
                    "venues": " ".join(str(v) for v in sorted(set(t.ev_venue[lo:hi].tolist()))),
                    "follow_up": statuses.get(pid, ("to_call", 0.0))[0],
                }
            )
        content = render(rows, fmt)
        doc = {
            "request_id": request_id,
            "filename": f"{case.label}-contacts.{fmt}",
            "content_type": CONTENT_TYPES[fmt],
            "content": content,
            "rows": len(rows),
        }
        return doc, len(rows), case.label

    return ctx.audited(identity, "ExportTrace", request_id, q.purpose or "export", run)
