"""Trace operations: one case, one venue window, many cases, clusters — ward-scoped, audited.

Each public function takes the shared context, the caller and a typed query, and returns a
JSON-ready dict (the README "Result JSON" document plus `request_id`, `case_id`, follow-up
fields and scoped counts). The gRPC and HTTP edges only convert shapes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from api.auth import Identity, Role
from api.casestore import CaseRow, ContactRow, parse_case_label
from api.context import ApiContext
from api.errors import NotFoundError, PermissionDeniedError
from api.inputs import ExposureQuery, TraceCaseQuery, moment, optional_day, page
from api.policy import require_ward, ward_scope
from api.scope import rows_in_scope, subset
from storage.domain import CATEGORY_BY_CODE
from storage.errors import InvalidInputError
from tracing import batch
from tracing.engine import TraceEngine, Window, case_window
from tracing.f2 import f2_candidates
from tracing.graph import Case, clusters
from tracing.results import TraceResult, iso
from tracing.rules import DEFAULT_RULE_SET, RULE_SETS, RuleSet, get_rule_set


def rule_set(identity: Identity, name: str, params: dict[str, str]) -> RuleSet:
    """The rule set of a request: only city admins may pick another or override parameters."""
    if ((name and name != DEFAULT_RULE_SET) or params) and identity.role is not Role.ADMIN:
        raise PermissionDeniedError(
            "rules", "only a city admin may choose a rule set or override parameters"
        )
    return get_rule_set(name or DEFAULT_RULE_SET, params or None)


def case_of(ctx: ApiContext, label: str) -> CaseRow:
    """A registered case by its id, else NotFoundError."""
    row = ctx.cases.get(parse_case_label(label))
    if row is None:
        raise NotFoundError("case_id", f"no case {label!r}")
    return row


def window_of_case(rules: RuleSet, case: CaseRow) -> Window:
    return case_window(rules, sample=case.sample_date, onset=case.onset_date)


def _window(rules: RuleSet, q: TraceCaseQuery) -> Window:
    if q.start or q.end:
        if not (q.start and q.end):
            raise InvalidInputError("end" if q.start else "start", "give both start and end")
        return Window(moment(q.start, "start"), moment(q.end, "end"))
    onset = optional_day(q.onset_date, "onset_date")
    sample = optional_day(q.sample_date, "sample_date") or onset
    if sample is None:
        raise InvalidInputError("sample_date", "required (or onset_date, or start and end)")
    isolation = optional_day(q.isolation_date, "isolation_date")
    return case_window(rules, sample=sample, onset=onset, isolation=isolation)


def _shape(
    ctx: ApiContext,
    identity: Identity,
    result: TraceResult,
    *,
    limit: int,
    offset: int,
    case_ward: int | None,
    request_id: str,
    case_id: str | None,
) -> dict[str, Any]:
    """Scope, page and shape a result; annotate follow-up; hide the F0 from other wards."""
    scope = ward_scope(identity)
    table = result.table
    homes = ctx.people.home_wards(table.person)
    rows = rows_in_scope(homes, scope)
    f2 = result.f2
    shown = rows[offset : offset + limit]
    full = table
    result.table = subset(table, shown)
    try:
        doc = result.to_json()
    finally:
        result.table = full
    statuses = ctx.cases.statuses(result.table.person[shown].tolist())
    for i, contact in enumerate(doc["contacts"]):
        contact["rank"] = offset + i + 1
        status = statuses.get(int(table.person[shown[i]]))
        contact["follow_up"] = status[0] if status else "to_call"
        contact["already_handled"] = status is not None and status[0] != "to_call"
    doc["counts"] = {
        "contacts": len(rows),
        "high_tier": int(table.high[rows].sum()),
        "shown": len(shown),
        "all_wards": len(table),
    }
    if f2 is not None and scope is not None:
        doc["f2_candidates"] = [c for c in f2 if c["home_ward"] == scope]
    if scope is not None and case_ward != scope:
        doc.pop("case_visits", None)
        doc["query"].pop("person", None)
    doc["request_id"] = request_id
    doc["case_id"] = case_id or ""
    return doc


def trace_case(
    ctx: ApiContext, identity: Identity, q: TraceCaseQuery, request_id: str
) -> dict[str, Any]:
    """TraceCase: ranked contacts of a registered case or of a person over a window."""

    def run() -> tuple[dict[str, Any], int, str | None]:
        rules = rule_set(identity, q.rules, q.params)
        limit, offset = page(q.limit, q.offset)
        if q.case_id:
            case = case_of(ctx, q.case_id)
            person, window, case_ward = case.person, window_of_case(rules, case), case.ward
            label: str | None = case.label
        else:
            if not q.person:
                raise InvalidInputError("case_id", "give a case_id, or a person with dates")
            person = ctx.pseudonyms.person_id(q.person, field="person")
            case_ward = int(ctx.people.home_wards(np.array([person], np.uint64))[0])
            require_ward(identity, case_ward, "person")
            window, label = _window(rules, q), None
        engine = ctx.engine()
        result = engine.trace_case(person, window, rules)
        if q.f2:
            result.f2 = f2_candidates(engine, result)
        doc = _shape(
            ctx, identity, result, limit=limit, offset=offset, case_ward=case_ward,
            request_id=request_id, case_id=label,
        )  # fmt: skip
        return doc, doc["counts"]["shown"] + len(doc.get("f2_candidates", [])), label

    return ctx.audited(identity, "TraceCase", request_id, q.purpose, run)


def trace_exposure(
    ctx: ApiContext, identity: Identity, q: ExposureQuery, request_id: str
) -> dict[str, Any]:
    """TraceExposure: everyone at a venue in a window (scoped to the caller's ward)."""

    def run() -> tuple[dict[str, Any], int, str | None]:
        rules = rule_set(identity, q.rules, q.params)
        limit, offset = page(q.limit, q.offset)
        if ctx.node.venues.get(q.venue) is None:
            raise NotFoundError("venue", f"venue {q.venue} is not registered")
        window = Window(moment(q.start, "start"), moment(q.end, "end"))
        result = ctx.engine().trace_exposure(q.venue, window, rules)
        doc = _shape(
            ctx, identity, result, limit=limit, offset=offset, case_ward=None,
            request_id=request_id, case_id=None,
        )  # fmt: skip
        return doc, doc["counts"]["shown"], f"venue:{q.venue}"

    return ctx.audited(identity, "TraceExposure", request_id, q.purpose, run)


# ------------------------------------------------------------ recording (worklists)


def _reason(result: TraceResult, row: int, label: str) -> str:
    t = result.table
    lo, hi = int(t.ev_off[row]), int(t.ev_off[row + 1])
    if hi <= lo:
        return f"{result.tiers()[row]} via {label}"
    j = lo + int(np.argmax(t.ev_units[lo:hi]))
    venue = int(t.ev_venue[j])
    cat_code = (
        int(result.engine.venues.category[venue])
        if venue < len(result.engine.venues.category)
        else 0
    )
    cat = CATEGORY_BY_CODE[cat_code].slug if cat_code in CATEGORY_BY_CODE else "venue"
    minutes = round((int(t.ev_end[j]) - int(t.ev_start[j])) / 60)
    return (
        f"{result.tiers()[row]} via {label}: {minutes} min at {cat} {venue} "
        f"from {iso(int(t.ev_start[j]))}"
    )


def record_cases(
    ctx: ApiContext, engine: TraceEngine, cases: list[CaseRow]
) -> list[tuple[int, int]]:
    """Trace registered cases with the default rules and record every contact; per case
    (contacts, high tier). One batch pass (`tracing.batch.trace_cases`: each result equals
    `trace_case`'s; on a Dask cluster two rounds for the batch instead of two per case)."""
    if not cases:
        return []
    rules = get_rule_set(DEFAULT_RULE_SET)
    persons = np.array([c.person for c in cases], dtype=np.uint64)
    results = batch.trace_cases(engine, persons, [window_of_case(rules, c) for c in cases], rules)
    return [record_result(ctx, c, r) for c, r in zip(cases, results, strict=True)]


def record_result(ctx: ApiContext, case: CaseRow, result: TraceResult) -> tuple[int, int]:
    """Record a case's traced contacts on the worklists; (contacts, high tier)."""
    t = result.table
    homes = ctx.people.home_wards(t.person).tolist()
    tiers = result.tiers()
    rows = [
        ContactRow(
            person=int(p),
            home_ward=int(homes[i]),
            high=bool(t.high[i]),
            score=float(result.score(t.units[i])),
            tier=tiers[i],
            reason=_reason(result, i, case.label),
        )
        for i, p in enumerate(t.person.tolist())
    ]
    ctx.cases.record_trace(case.id, rows)
    return len(rows), int(t.high.sum())


def run_queued(ctx: ApiContext, limit: int = 1000) -> int:
    """Trace every queued case (the background worker and TraceCases with no ids)."""
    queued = ctx.cases.queued(limit)
    record_cases(ctx, ctx.engine(), queued)
    return len(queued)


@dataclass(frozen=True)
class CasesQuery:
    case_ids: list[str]
    purpose: str = ""


def trace_cases(
    ctx: ApiContext, identity: Identity, q: CasesQuery, request_id: str
) -> dict[str, Any]:
    """TraceCases (city admin): trace and record many cases now; per-case counts."""

    def run() -> tuple[dict[str, Any], int, str | None]:
        began = time.perf_counter()
        cases = [case_of(ctx, c) for c in q.case_ids] if q.case_ids else ctx.cases.queued()
        out: list[dict[str, Any]] = []
        total = 0
        for case, (n, high) in zip(cases, record_cases(ctx, ctx.engine(), cases), strict=True):
            total += n
            out.append({"case_id": case.label, "contacts": n, "high_tier": high})
        doc = {
            "request_id": request_id,
            "cases": out,
            "elapsed_ms": round((time.perf_counter() - began) * 1000, 3),
        }
        return doc, total, ",".join(c.label for c in cases)[:200]

    return ctx.audited(identity, "TraceCases", request_id, q.purpose, run)


@dataclass(frozen=True)
class ClustersQuery:
    case_ids: list[str]
    hot_spot_cases: int = 0
    hot_spot_hours: int = 0
    purpose: str = ""


def clusters_of(
    ctx: ApiContext, identity: Identity, q: ClustersQuery, request_id: str
) -> dict[str, Any]:
    """Clusters over registered cases, named by case id; an officer's: their ward's cases."""

    def run() -> tuple[dict[str, Any], int, str | None]:
        rules = get_rule_set(DEFAULT_RULE_SET)
        scope = ward_scope(identity)
        rows = (
            [case_of(ctx, c) for c in q.case_ids]
            if q.case_ids
            else ctx.cases.list_cases(ward=scope, limit=1000, offset=0)[0]
        )
        for i, c in enumerate(rows):
            require_ward(identity, c.ward, f"case_ids[{i}]")
        if not rows and scope is not None:
            empty: dict[str, Any] = {
                "cases": 0,
                "components": [],
                "hot_spots": [],
                "likely_sources": [],
                "request_id": request_id,
            }
            return empty, 0, None
        if not rows:
            raise InvalidInputError("case_ids", "no registered cases to cluster")
        cases = [
            Case(c.person, window_of_case(rules, c), c.onset_date or c.sample_date) for c in rows
        ]
        doc = clusters(
            ctx.engine(), cases, rules,
            hot_spot_cases=q.hot_spot_cases or 2, hot_spot_hours=q.hot_spot_hours or 24,
        )  # fmt: skip
        names = {f"{c.person:016x}": c.label for c in rows}
        for comp in doc["components"]:
            comp["cases"] = [names.get(p, p) for p in comp["case_ids"]]
            for link in comp["links"]:
                for k in (0, 1):
                    kind, _, key = str(link[k]).partition(":")
                    if kind in ("case", "contacts") and key in names:
                        link[k] = f"{kind}:{names[key]}"
        doc["request_id"] = request_id
        return doc, len(doc["components"]), ",".join(c.label for c in rows)[:200]

    return ctx.audited(identity, "Clusters", request_id, q.purpose, run)


def list_rule_sets(ctx: ApiContext, identity: Identity, request_id: str) -> dict[str, Any]:
    """The built-in rule sets with every parameter."""

    def run() -> tuple[dict[str, Any], int, str | None]:
        sets = [
            {"name": r.name, "version": r.version, "summary": r.summary,
             "params": r.stamp()["params"]}
            for r in RULE_SETS.values()
        ]  # fmt: skip
        return {"default_rule_set": DEFAULT_RULE_SET, "rule_sets": sets}, 0, None

    return ctx.audited(identity, "ListRuleSets", request_id, "", run)
