"""gRPC servicers of the officer API: TraceService, CaseService, ReportService, VenueService.

Thin by design: read the caller and request id from metadata, turn the message into the
operation's typed query, run the operation (api/*_ops.py) on a worker thread so the event
loop keeps serving ingest, and turn the JSON-ready result into the response message. Errors
go through the one table in api/error_map.py. Unknown tokens are refused with
UNAUTHENTICATED and the attempt is audited.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Final, TypeVar

import grpc
import orjson
from google.protobuf.message import Message

from api import case_ops, report_ops, trace_ops, venue_ops
from api.auth import Identity
from api.case_ops import ExportQuery, NewCase
from api.context import ApiContext, new_request_id
from api.error_map import describe
from api.errors import UnauthenticatedError
from api.inputs import ExposureQuery, TraceCaseQuery
from api.protos.checkin.v1 import officer_pb2 as pb
from api.protos.checkin.v1 import officer_pb2_grpc as pbg
from api.trace_ops import CasesQuery, ClustersQuery

log = logging.getLogger(__name__)
M = TypeVar("M", bound=Message)
REQUEST_ID_KEY: Final = "x-request-id"
SERVICES: Final = ("TraceService", "CaseService", "ReportService", "VenueService")


def to_msg(cls: type[M], doc: dict[str, Any]) -> M:
    """A message from a dict with the same field names (missing/None fields stay default)."""
    msg: M = cls()
    for f in cls.DESCRIPTOR.fields:
        value = doc.get(f.name)
        if value is None:
            continue
        if f.message_type is not None:
            sub = getattr(pb, f.message_type.name)
            if f.is_repeated:
                getattr(msg, f.name).extend(to_msg(sub, v) for v in value)
            else:
                getattr(msg, f.name).CopyFrom(to_msg(sub, value))
        elif f.is_repeated:
            getattr(msg, f.name).extend(value)
        else:
            setattr(msg, f.name, value)
    return msg


def trace_msg(doc: dict[str, Any]) -> pb.TraceResponse:
    """TraceResponse from a trace document."""
    query = doc["query"]
    flat = {
        **doc,
        "kind": query["kind"],
        "window_from": query["from"],
        "window_to": query["to"],
        "case_person": query.get("person", ""),
        "rules_json": orjson.dumps(doc["rules"]).decode(),
    }
    return to_msg(pb.TraceResponse, flat)


class _Base:
    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx

    async def _call(
        self,
        context: grpc.aio.ServicerContext,
        operation: str,
        fn: Callable[[Identity, str], Any],
    ) -> Any:
        md = dict(context.invocation_metadata() or ())
        request_id = str(md.get(REQUEST_ID_KEY) or new_request_id())[:64]
        try:
            try:
                identity = self.ctx.auth.identify(md.get("authorization"))
            except UnauthenticatedError as exc:
                await asyncio.to_thread(
                    self.ctx.refuse_unauthenticated, operation, request_id, str(exc)
                )
                raise
            return await asyncio.to_thread(fn, identity, request_id)
        except Exception as exc:
            info = describe(exc)
            if info.http_status >= 500 and info.code == grpc.StatusCode.INTERNAL:
                log.exception("internal error in %s", operation)
            context.set_trailing_metadata(((REQUEST_ID_KEY, request_id),))
            await context.abort(info.code, info.details)


class TraceServicer(_Base, pbg.TraceServiceServicer):
    """TraceService."""

    async def TraceCase(  # noqa: N802
        self, request: pb.TraceCaseRequest, context: grpc.aio.ServicerContext
    ) -> pb.TraceResponse:
        q = TraceCaseQuery(
            case_id=request.case_id, person=request.person, sample_date=request.sample_date,
            onset_date=request.onset_date, isolation_date=request.isolation_date,
            start=request.start, end=request.end, rules=request.rules,
            params=dict(request.params), limit=request.limit, offset=request.offset,
            f2=request.f2, purpose=request.purpose,
        )  # fmt: skip
        doc = await self._call(
            context, "TraceCase", lambda i, r: trace_ops.trace_case(self.ctx, i, q, r)
        )
        return trace_msg(doc)

    async def TraceExposure(  # noqa: N802
        self, request: pb.TraceExposureRequest, context: grpc.aio.ServicerContext
    ) -> pb.TraceResponse:
        q = ExposureQuery(
            venue=request.venue, start=request.start, end=request.end, rules=request.rules,
            params=dict(request.params), limit=request.limit, offset=request.offset,
            purpose=request.purpose,
        )  # fmt: skip
        doc = await self._call(
            context, "TraceExposure", lambda i, r: trace_ops.trace_exposure(self.ctx, i, q, r)
        )
        return trace_msg(doc)

    async def TraceCases(  # noqa: N802
        self, request: pb.TraceCasesRequest, context: grpc.aio.ServicerContext
    ) -> pb.TraceCasesResponse:
        q = CasesQuery(list(request.case_ids), request.purpose)
        doc = await self._call(
            context, "TraceCases", lambda i, r: trace_ops.trace_cases(self.ctx, i, q, r)
        )
        return to_msg(pb.TraceCasesResponse, doc)

    async def Clusters(  # noqa: N802
        self, request: pb.ClustersRequest, context: grpc.aio.ServicerContext
    ) -> pb.ClustersResponse:
        q = ClustersQuery(
            list(request.case_ids), request.hot_spot_cases, request.hot_spot_hours,
            request.purpose,
        )  # fmt: skip
        doc = await self._call(
            context, "Clusters", lambda i, r: trace_ops.clusters_of(self.ctx, i, q, r)
        )
        return pb.ClustersResponse(
            request_id=doc["request_id"], document_json=orjson.dumps(doc).decode()
        )

    async def ExportTrace(  # noqa: N802
        self, request: pb.ExportTraceRequest, context: grpc.aio.ServicerContext
    ) -> pb.ExportTraceResponse:
        q = ExportQuery(request.case_id, request.format or "csv", request.purpose)
        doc = await self._call(
            context, "ExportTrace", lambda i, r: case_ops.export_trace(self.ctx, i, q, r)
        )
        return to_msg(pb.ExportTraceResponse, doc)

    async def ListRuleSets(  # noqa: N802
        self, request: pb.ListRuleSetsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListRuleSetsResponse:
        doc = await self._call(
            context, "ListRuleSets", lambda i, r: trace_ops.list_rule_sets(self.ctx, i, r)
        )
        for item in doc["rule_sets"]:
            item["params_json"] = orjson.dumps(item["params"]).decode()
        return to_msg(pb.ListRuleSetsResponse, doc)


def _new_case(m: pb.RegisterCaseRequest | pb.PositiveResult) -> NewCase:
    return NewCase(m.person, m.sample_date, m.onset_date, m.ward, m.external_id)


class CaseServicer(_Base, pbg.CaseServiceServicer):
    """CaseService."""

    async def RegisterCase(  # noqa: N802
        self, request: pb.RegisterCaseRequest, context: grpc.aio.ServicerContext
    ) -> pb.CaseInfo:
        new = _new_case(request)
        doc = await self._call(
            context, "RegisterCase", lambda i, r: case_ops.register_case(self.ctx, i, new, r)
        )
        return to_msg(pb.CaseInfo, doc)

    async def ListCases(  # noqa: N802
        self, request: pb.ListCasesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListCasesResponse:
        doc = await self._call(
            context,
            "ListCases",
            lambda i, r: case_ops.list_cases(
                self.ctx,
                i,
                ward=request.ward,
                limit=request.limit,
                offset=request.offset,
                request_id=r,
            ),
        )
        return to_msg(pb.ListCasesResponse, doc)

    async def SubmitPositiveResults(  # noqa: N802
        self, request: pb.SubmitPositiveResultsRequest, context: grpc.aio.ServicerContext
    ) -> pb.SubmitPositiveResultsResponse:
        items = [_new_case(m) for m in request.results]
        doc = await self._call(
            context,
            "SubmitPositiveResults",
            lambda i, r: case_ops.submit_results(self.ctx, i, items, r),
        )
        return to_msg(pb.SubmitPositiveResultsResponse, doc)

    async def ListContacts(  # noqa: N802
        self, request: pb.ListContactsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListContactsResponse:
        doc = await self._call(
            context,
            "ListContacts",
            lambda i, r: case_ops.list_contacts(
                self.ctx,
                i,
                ward=request.ward,
                status=request.status,
                limit=request.limit,
                offset=request.offset,
                purpose=request.purpose,
                request_id=r,
            ),
        )
        return to_msg(pb.ListContactsResponse, doc)

    async def SetFollowUp(  # noqa: N802
        self, request: pb.SetFollowUpRequest, context: grpc.aio.ServicerContext
    ) -> pb.SetFollowUpResponse:
        updates = [(u.person, u.status) for u in request.updates]
        doc = await self._call(
            context,
            "SetFollowUp",
            lambda i, r: case_ops.set_follow_up(self.ctx, i, updates, request.purpose, r),
        )
        return to_msg(pb.SetFollowUpResponse, doc)


class ReportServicer(_Base, pbg.ReportServiceServicer):
    """ReportService (counts only)."""

    async def ScanTotals(  # noqa: N802
        self, request: pb.ScanTotalsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ScanTotalsResponse:
        doc = await self._call(
            context,
            "ScanTotals",
            lambda i, r: report_ops.scan_totals(
                self.ctx,
                i,
                from_date=request.from_date,
                to_date=request.to_date,
                ward=request.ward,
                category=request.category,
                request_id=r,
            ),
        )
        return to_msg(pb.ScanTotalsResponse, doc)

    async def VenueTotals(  # noqa: N802
        self, request: pb.VenueTotalsRequest, context: grpc.aio.ServicerContext
    ) -> pb.VenueTotalsResponse:
        doc = await self._call(
            context,
            "VenueTotals",
            lambda i, r: report_ops.venue_totals(self.ctx, i, request.ward, r),
        )
        return to_msg(pb.VenueTotalsResponse, doc)

    async def Summary(  # noqa: N802
        self, request: pb.SummaryRequest, context: grpc.aio.ServicerContext
    ) -> pb.SummaryResponse:
        doc = await self._call(
            context, "Summary", lambda i, r: report_ops.summary(self.ctx, i, request.date, r)
        )
        return to_msg(pb.SummaryResponse, doc)

    async def FollowUpReport(  # noqa: N802
        self, request: pb.FollowUpReportRequest, context: grpc.aio.ServicerContext
    ) -> pb.FollowUpReportResponse:
        doc = await self._call(
            context,
            "FollowUpReport",
            lambda i, r: report_ops.follow_up_report(self.ctx, i, request.ward, r),
        )
        return to_msg(pb.FollowUpReportResponse, doc)


class VenueServicer(_Base, pbg.VenueServiceServicer):
    """VenueService (city admin)."""

    async def RegisterVenue(  # noqa: N802
        self, request: pb.RegisterVenueRequest, context: grpc.aio.ServicerContext
    ) -> pb.VenueInfo:
        doc = await self._call(
            context,
            "RegisterVenue",
            lambda i, r: venue_ops.register_venue(
                self.ctx,
                i,
                name=request.name,
                ward=request.ward,
                category=request.category,
                capacity=request.capacity,
                request_id=r,
            ),
        )
        return to_msg(pb.VenueInfo, doc)

    async def DeactivateVenue(  # noqa: N802
        self, request: pb.DeactivateVenueRequest, context: grpc.aio.ServicerContext
    ) -> pb.VenueInfo:
        doc = await self._call(
            context,
            "DeactivateVenue",
            lambda i, r: venue_ops.deactivate_venue(self.ctx, i, request.venue_id, r),
        )
        return to_msg(pb.VenueInfo, doc)

    async def IssueQr(  # noqa: N802
        self, request: pb.IssueQrRequest, context: grpc.aio.ServicerContext
    ) -> pb.VenueInfo:
        doc = await self._call(
            context, "IssueQr", lambda i, r: venue_ops.issue_qr(self.ctx, i, request.venue_id, r)
        )
        return to_msg(pb.VenueInfo, doc)


def add_services(server: grpc.aio.Server, ctx: ApiContext) -> list[str]:
    """Register the four services; returns their full names (for health and reflection)."""
    pbg.add_TraceServiceServicer_to_server(TraceServicer(ctx), server)  # type: ignore[no-untyped-call]
    pbg.add_CaseServiceServicer_to_server(CaseServicer(ctx), server)  # type: ignore[no-untyped-call]
    pbg.add_ReportServiceServicer_to_server(ReportServicer(ctx), server)  # type: ignore[no-untyped-call]
    pbg.add_VenueServiceServicer_to_server(VenueServicer(ctx), server)  # type: ignore[no-untyped-call]
    return [pb.DESCRIPTOR.services_by_name[s].full_name for s in SERVICES]
