"""The officer API from inside one process, for `qrtrace demo` and smoke checks.

`run_api_demo` starts the whole node on loopback (free ports; sealing/retention off, since
demo data is historical), creates a throwaway city-admin user, and then does what an
officer's tools do over gRPC: register the F0 (CaseService), fetch its ranked F1 list
(TraceService) and the day's totals per ward plus the "+N today" summary (ReportService).
It returns plain dicts (protobuf JSON names), so the caller only prints.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.json_format import MessageToDict

from api.auth import Role, add_user, users_path
from api.protos.checkin.v1 import officer_pb2 as pb
from api.protos.checkin.v1 import officer_pb2_grpc as pbg
from api.server import start_node
from storage.settings import Settings


@dataclass(frozen=True)
class DemoApiResult:
    """What the demo prints: the case, its ranked contacts, ward totals and the summary."""

    case: dict[str, Any]
    trace: dict[str, Any]
    ward_totals: dict[int, dict[str, int]]
    summary: dict[str, Any]
    grpc_target: str
    http_base: str


def _dict(message: Any) -> dict[str, Any]:
    out: dict[str, Any] = MessageToDict(message, preserving_proto_field_name=True)
    return out


async def officer_view(
    target: str,
    token: str,
    *,
    person: str,
    sample_date: str,
    onset_date: str,
    ward: int,
    limit: int,
    totals_date: str,
    http_base: str = "",
) -> DemoApiResult:
    """What an officer's tools do against a running node: register, trace, read totals."""
    async with grpc.aio.insecure_channel(target) as channel:
        md = (("authorization", f"Bearer {token}"),)
        cases = pbg.CaseServiceStub(channel)  # type: ignore[no-untyped-call]
        traces = pbg.TraceServiceStub(channel)  # type: ignore[no-untyped-call]
        reports = pbg.ReportServiceStub(channel)  # type: ignore[no-untyped-call]
        case = await cases.RegisterCase(
            pb.RegisterCaseRequest(
                person=person, sample_date=sample_date, onset_date=onset_date, ward=ward
            ),
            metadata=md,
        )
        trace = await traces.TraceCase(
            pb.TraceCaseRequest(case_id=case.case_id, limit=limit, purpose="demo"),
            metadata=md,
        )
        totals = await reports.ScanTotals(pb.ScanTotalsRequest(from_date=totals_date), metadata=md)
        summary = await reports.Summary(pb.SummaryRequest(date=totals_date), metadata=md)
    by_ward: dict[int, dict[str, int]] = defaultdict(lambda: {"check_ins": 0, "check_outs": 0})
    for row in totals.rows:
        by_ward[row.ward]["check_ins"] += row.check_ins
        by_ward[row.ward]["check_outs"] += row.check_outs
    return DemoApiResult(
        case=_dict(case),
        trace=_dict(trace),
        ward_totals=dict(sorted(by_ward.items())),
        summary=_dict(summary),
        grpc_target=target,
        http_base=http_base,
    )


async def _run(
    settings: Settings,
    *,
    person: str,
    sample_date: str,
    onset_date: str,
    ward: int,
    limit: int,
    totals_date: str,
) -> DemoApiResult:
    settings = settings.model_copy(
        update={"ingest_port": 0, "api_grpc_port": 0, "api_http_port": 0}
    )
    token = add_user(users_path(settings.data_dir), "demo-admin", Role.ADMIN)
    node = await start_node(settings, maintenance=False, worker=False)
    try:
        return await officer_view(
            f"{settings.api_host}:{node.api_grpc_port}",
            token,
            person=person,
            sample_date=sample_date,
            onset_date=onset_date,
            ward=ward,
            limit=limit,
            totals_date=totals_date,
            http_base=f"http://{settings.api_host}:{node.http_port}",
        )
    finally:
        await node.shutdown()


def run_api_demo(
    settings: Settings,
    *,
    person: str,
    sample_date: str,
    onset_date: str = "",
    ward: int = 0,
    limit: int = 10,
    totals_date: str | None = None,
) -> DemoApiResult:
    """Start the node on loopback, register the F0, trace it, read the totals, stop."""
    return asyncio.run(
        _run(
            settings,
            person=person,
            sample_date=sample_date,
            onset_date=onset_date,
            ward=ward,
            limit=limit,
            totals_date=totals_date or sample_date,
        )
    )
