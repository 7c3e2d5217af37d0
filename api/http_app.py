"""The HTTP/JSON face of the officer API (FastAPI), the same operations as gRPC.

Routes live under `/v1/...`; each route's `operation_id` is the operation name of
api/policy.py (`TraceCase`, ...), which the authorization-matrix test reads to walk every
route. Bodies are strict pydantic models (api/http_models.py); responses are serialised with
orjson (bulk worklists and traces). Tokens come in `Authorization: Bearer <token>`, a
request id in `X-Request-Id` (made up when absent, echoed back). Errors use the one table
of api/error_map.py and the body {error, field, reason, request_id}. OpenAPI is at
/openapi.json.
"""

import logging
from collections.abc import Callable
from typing import Annotated, Any, Final

import orjson
from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api import case_ops, report_ops, trace_ops, venue_ops
from api.auth import Identity
from api.case_ops import ExportQuery, NewCase
from api.context import ApiContext, new_request_id
from api.error_map import describe
from api.errors import UnauthenticatedError
from api.exports import CONTENT_TYPES
from api.http_models import (
    ClustersBody,
    ErrorBody,
    PositiveResultsBody,
    RegisterCaseBody,
    RegisterVenueBody,
    SetFollowUpBody,
    TraceCaseBody,
    TraceCasesBody,
    TraceExposureBody,
)
from api.inputs import ExposureQuery, TraceCaseQuery
from api.trace_ops import CasesQuery, ClustersQuery
from api.webpage import mount_web
from storage.errors import QrtraceError

log = logging.getLogger(__name__)
_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    code: {"model": ErrorBody} for code in (400, 401, 403, 404, 409, 422, 429, 503)
}
_bearer = HTTPBearer(auto_error=False)
Limit = Annotated[int, Query(ge=0, le=5000)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
Ward = Annotated[int, Query(ge=0, le=30)]
Text = Annotated[str, Query(max_length=200)]
_Who = tuple[Identity, str]


class OrjsonResponse(JSONResponse):
    """JSON rendered by orjson (numpy-free dicts; bulk worklists and traces)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def _json(doc: Any) -> OrjsonResponse:
    return OrjsonResponse(doc)


def _request_id(request: Request) -> str:
    rid = request.headers.get("x-request-id") or ""
    return rid[:64] if rid.isprintable() and rid else new_request_id()


def create_app(ctx: ApiContext) -> FastAPI:
    """The FastAPI application over one ApiContext."""
    app = FastAPI(
        title="qrtrace officer and reporting API",
        version="1",
        default_response_class=OrjsonResponse,
        responses=_ERRORS,
    )
    router = app  # routes live on the app itself, under /v1

    def caller(operation: str) -> Callable[..., tuple[Identity, str]]:
        def dependency(
            request: Request,
            credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        ) -> tuple[Identity, str]:
            request_id = _request_id(request)
            request.state.request_id = request_id
            value = None if credentials is None else f"Bearer {credentials.credentials}"
            try:
                return ctx.auth.identify(value), request_id
            except UnauthenticatedError as exc:
                ctx.refuse_unauthenticated(operation, request_id, str(exc))
                raise

        return dependency

    # ------------------------------------------------------------ tracing

    @router.post("/v1/trace/case", operation_id="TraceCase", tags=["trace"])
    def trace_case(body: TraceCaseBody, who: Annotated[_Who, Depends(caller("TraceCase"))]) -> Any:
        """Ranked, explained contacts of a registered case or of a person over a window."""
        q = TraceCaseQuery(**body.model_dump())
        return _json(trace_ops.trace_case(ctx, who[0], q, who[1]))

    @router.post("/v1/trace/exposure", operation_id="TraceExposure", tags=["trace"])
    def trace_exposure(
        body: TraceExposureBody, who: Annotated[_Who, Depends(caller("TraceExposure"))]
    ) -> Any:
        """Everyone at a venue during a window (scoped to the caller's ward)."""
        return _json(
            trace_ops.trace_exposure(ctx, who[0], ExposureQuery(**body.model_dump()), who[1])
        )

    @router.post("/v1/trace/cases", operation_id="TraceCases", tags=["trace"])
    def trace_cases(
        body: TraceCasesBody, who: Annotated[_Who, Depends(caller("TraceCases"))]
    ) -> Any:
        """Trace and record many registered cases now (city admin)."""
        return _json(trace_ops.trace_cases(ctx, who[0], CasesQuery(**body.model_dump()), who[1]))

    @router.post("/v1/clusters", operation_id="Clusters", tags=["trace"])
    def clusters(body: ClustersBody, who: Annotated[_Who, Depends(caller("Clusters"))]) -> Any:
        """Linked cases, hot spots, likely sources (city admin)."""
        return _json(trace_ops.clusters_of(ctx, who[0], ClustersQuery(**body.model_dump()), who[1]))

    @router.get(
        "/v1/cases/{case_id}/export",
        operation_id="ExportTrace",
        tags=["trace"],
        response_class=Response,
        responses={200: {"content": {t: {} for t in CONTENT_TYPES.values()}}},
    )
    def export(
        case_id: Annotated[str, Path(max_length=40)],
        who: Annotated[_Who, Depends(caller("ExportTrace"))],
        fmt: Annotated[str, Query(alias="format", pattern="^(csv|xlsx)$")] = "csv",
        purpose: Text = "",
    ) -> Response:
        """A case's contacts (your ward) as CSV (UTF-8 with BOM) or XLSX."""
        doc = case_ops.export_trace(ctx, who[0], ExportQuery(case_id, fmt, purpose), who[1])
        return Response(
            doc["content"],
            media_type=doc["content_type"],
            headers={
                "content-disposition": f'attachment; filename="{doc["filename"]}"',
                "x-request-id": who[1],
            },
        )

    @router.get("/v1/rules", operation_id="ListRuleSets", tags=["trace"])
    def rules(who: Annotated[_Who, Depends(caller("ListRuleSets"))]) -> Any:
        """Built-in rule sets and their parameters."""
        return _json(trace_ops.list_rule_sets(ctx, who[0], who[1]))

    # ------------------------------------------------------------ cases and follow-up

    @router.post("/v1/cases", operation_id="RegisterCase", tags=["cases"])
    def register_case(
        body: RegisterCaseBody, who: Annotated[_Who, Depends(caller("RegisterCase"))]
    ) -> Any:
        """Register one F0; its trace is queued onto the ward worklists."""
        return _json(case_ops.register_case(ctx, who[0], NewCase(**body.model_dump()), who[1]))

    @router.get("/v1/cases", operation_id="ListCases", tags=["cases"])
    def list_cases(
        who: Annotated[_Who, Depends(caller("ListCases"))],
        ward: Ward = 0,
        limit: Limit = 0,
        offset: Offset = 0,
    ) -> Any:
        """Registered cases, newest first (officers: their ward)."""
        return _json(
            case_ops.list_cases(
                ctx, who[0], ward=ward, limit=limit, offset=offset, request_id=who[1]
            )
        )

    @router.post("/v1/cases/batch", operation_id="SubmitPositiveResults", tags=["cases"])
    def submit_results(
        body: PositiveResultsBody, who: Annotated[_Who, Depends(caller("SubmitPositiveResults"))]
    ) -> Any:
        """A batch of positive results (city admin): registered and queued, idempotent."""
        items = [NewCase(**r.model_dump()) for r in body.results]
        return _json(case_ops.submit_results(ctx, who[0], items, who[1]))

    @router.get("/v1/contacts", operation_id="ListContacts", tags=["cases"])
    def list_contacts(
        *,
        who: Annotated[_Who, Depends(caller("ListContacts"))],
        ward: Ward = 0,
        status: Text = "",
        limit: Limit = 0,
        offset: Offset = 0,
        purpose: Text = "",
    ) -> Any:
        """The ward worklist: one row per person, highest-risk reason first."""
        return _json(case_ops.list_contacts(
            ctx, who[0], ward=ward, status=status, limit=limit, offset=offset,
            purpose=purpose, request_id=who[1],
        ))  # fmt: skip

    @router.post("/v1/contacts/follow-up", operation_id="SetFollowUp", tags=["cases"])
    def set_follow_up(
        body: SetFollowUpBody, who: Annotated[_Who, Depends(caller("SetFollowUp"))]
    ) -> Any:
        """Set follow-up status of many contacts at once."""
        updates = [(u.person, u.status) for u in body.updates]
        return _json(case_ops.set_follow_up(ctx, who[0], updates, body.purpose, who[1]))

    # ------------------------------------------------------------ reports

    @router.get("/v1/reports/scans", operation_id="ScanTotals", tags=["reports"])
    def scan_totals(
        *,
        who: Annotated[_Who, Depends(caller("ScanTotals"))],
        from_date: Text = "",
        to_date: Text = "",
        ward: Ward = 0,
        category: Text = "",
    ) -> Any:
        """Check-ins/outs per day × ward × category."""
        return _json(report_ops.scan_totals(
            ctx, who[0], from_date=from_date, to_date=to_date, ward=ward, category=category,
            request_id=who[1],
        ))  # fmt: skip

    @router.get("/v1/reports/venues", operation_id="VenueTotals", tags=["reports"])
    def venue_totals(who: Annotated[_Who, Depends(caller("VenueTotals"))], ward: Ward = 0) -> Any:
        """Venues registered / active / registered today per ward × category."""
        return _json(report_ops.venue_totals(ctx, who[0], ward, who[1]))

    @router.get("/v1/reports/summary", operation_id="Summary", tags=["reports"])
    def summary(who: Annotated[_Who, Depends(caller("Summary"))], date: Text = "") -> Any:
        """'83,844 venues, +31 today; 6,908,717 scans, +17,760 today'."""
        return _json(report_ops.summary(ctx, who[0], date, who[1]))

    @router.get("/v1/reports/follow-up", operation_id="FollowUpReport", tags=["reports"])
    def follow_up(who: Annotated[_Who, Depends(caller("FollowUpReport"))], ward: Ward = 0) -> Any:
        """Per ward F0, F1, F1 updated and the updated share."""
        return _json(report_ops.follow_up_report(ctx, who[0], ward, who[1]))

    # ------------------------------------------------------------ venues

    @router.post("/v1/venues", operation_id="RegisterVenue", tags=["venues"])
    def register_venue(
        body: RegisterVenueBody, who: Annotated[_Who, Depends(caller("RegisterVenue"))]
    ) -> Any:
        """Register a venue (city admin); returns its signed QR payload."""
        return _json(venue_ops.register_venue(ctx, who[0], **body.model_dump(), request_id=who[1]))

    @router.post(
        "/v1/venues/{venue_id}/deactivate", operation_id="DeactivateVenue", tags=["venues"]
    )
    def deactivate_venue(
        venue_id: Annotated[int, Path(ge=1, le=(1 << 26) - 1)],
        who: Annotated[_Who, Depends(caller("DeactivateVenue"))],
    ) -> Any:
        """Close a venue: later scans there are rejected."""
        return _json(venue_ops.deactivate_venue(ctx, who[0], venue_id, who[1]))

    @router.get("/v1/venues/{venue_id}/qr", operation_id="IssueQr", tags=["venues"])
    def issue_qr(
        venue_id: Annotated[int, Path(ge=1, le=(1 << 26) - 1)],
        who: Annotated[_Who, Depends(caller("IssueQr"))],
    ) -> Any:
        """The signed QR payload of a venue."""
        return _json(venue_ops.issue_qr(ctx, who[0], venue_id, who[1]))

    @app.get("/healthz", operation_id="Health", include_in_schema=False)
    def health() -> dict[str, str]:
        return {"status": "serving"}

    @app.exception_handler(QrtraceError)
    async def domain_error(request: Request, exc: QrtraceError) -> OrjsonResponse:
        info = describe(exc)
        if info.http_status == 500:
            log.exception("internal error on %s", request.url.path, exc_info=exc)
        rid = getattr(request.state, "request_id", None) or _request_id(request)
        headers = {"x-request-id": rid}
        if info.http_status == 401:
            headers["www-authenticate"] = "Bearer"
        return OrjsonResponse(info.body(rid), status_code=info.http_status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> OrjsonResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        field = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query"))
        rid = _request_id(request)
        body = {"error": "invalid_argument", "field": field or None,
                "reason": str(first.get("msg")), "request_id": rid}  # fmt: skip
        return OrjsonResponse(body, status_code=422, headers={"x-request-id": rid})

    mount_web(app, ctx, _request_id)
    return app
