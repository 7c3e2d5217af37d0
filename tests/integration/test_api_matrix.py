"""Authorization matrix, generated: every gRPC method of the officer services and every /v1
HTTP route × every identity (none, scanner device, reporting, ward-1 officer, ward-2 officer,
city admin). Checks: unauthenticated -> UNAUTHENTICATED / 401; a role the policy table does
not allow -> PERMISSION_DENIED / 403; allowed calls succeed; 0 person records of another ward
in any response; no person at all for reporting, devices or anonymous callers; every refusal
is in the audit log under its request id.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from fastapi.routing import APIRoute

from api.audit import read_entries, verify
from api.auth import Role
from api.grpc_services import SERVICES
from api.http_app import create_app
from api.policy import ALLOWED
from api.protos.checkin.v1 import officer_pb2 as pb
from api.protos.checkin.v1 import officer_pb2_grpc as pbg

from .api_support import REFS, NodeThread, build_world

F0 = REFS[0]
#: identity key -> (role, ward) ; None = no token
IDENTITIES: dict[str, tuple[Role | None, int | None]] = {
    "none": (None, None),
    "device": (Role.DEVICE, None),
    "reporting": (Role.REPORTING, None),
    "officer1": (Role.OFFICER, 1),
    "officer2": (Role.OFFICER, 2),
    "admin": (Role.ADMIN, None),
}

#: operation -> (gRPC request, HTTP method, path, json body, query params)
EXAMPLES: dict[str, tuple[Any, str, str, dict[str, Any] | None, dict[str, Any] | None]] = {
    "TraceCase": (
        pb.TraceCaseRequest(case_id="F0-000001", f2=True),
        "POST", "/v1/trace/case", {"case_id": "F0-000001", "f2": True}, None,
    ),
    "TraceExposure": (
        pb.TraceExposureRequest(venue=1, start="2021-09-06T08:00", end="2021-09-06T12:00"),
        "POST", "/v1/trace/exposure",
        {"venue": 1, "start": "2021-09-06T08:00", "end": "2021-09-06T12:00"}, None,
    ),
    "TraceCases": (
        pb.TraceCasesRequest(case_ids=["F0-000001"]),
        "POST", "/v1/trace/cases", {"case_ids": ["F0-000001"]}, None,
    ),
    "Clusters": (pb.ClustersRequest(), "POST", "/v1/clusters", {}, None),
    "ExportTrace": (
        pb.ExportTraceRequest(case_id="F0-000001", format="csv"),
        "GET", "/v1/cases/F0-000001/export", None, {"format": "csv"},
    ),
    "ListRuleSets": (pb.ListRuleSetsRequest(), "GET", "/v1/rules", None, None),
    "RegisterCase": (
        pb.RegisterCaseRequest(person=REFS[3], sample_date="2021-09-07", external_id="lab-3"),
        "POST", "/v1/cases",
        {"person": REFS[3], "sample_date": "2021-09-07", "external_id": "lab-3"}, None,
    ),
    "ListCases": (pb.ListCasesRequest(), "GET", "/v1/cases", None, None),
    "SubmitPositiveResults": (
        pb.SubmitPositiveResultsRequest(
            results=[
                pb.PositiveResult(external_id="lab-6", person=REFS[6], sample_date="2021-09-07")
            ]
        ),
        "POST", "/v1/cases/batch",
        {"results": [{"external_id": "lab-6", "person": REFS[6], "sample_date": "2021-09-07"}]},
        None,
    ),
    "ListContacts": (
        pb.ListContactsRequest(status="all"), "GET", "/v1/contacts", None, {"status": "all"},
    ),
    "SetFollowUp": (
        pb.SetFollowUpRequest(updates=[pb.FollowUpUpdate(person=REFS[3], status="called")]),
        "POST", "/v1/contacts/follow-up",
        {"updates": [{"person": REFS[3], "status": "called"}]}, None,
    ),
    "ScanTotals": (
        pb.ScanTotalsRequest(from_date="2021-09-06"),
        "GET", "/v1/reports/scans", None, {"from_date": "2021-09-06"},
    ),
    "VenueTotals": (pb.VenueTotalsRequest(), "GET", "/v1/reports/venues", None, None),
    "Summary": (
        pb.SummaryRequest(date="2021-09-06"), "GET", "/v1/reports/summary", None,
        {"date": "2021-09-06"},
    ),
    "FollowUpReport": (pb.FollowUpReportRequest(), "GET", "/v1/reports/follow-up", None, None),
    "RegisterVenue": (
        pb.RegisterVenueRequest(name="Karaoke Hoa", ward=5, category="karaoke"),
        "POST", "/v1/venues", {"name": "Karaoke Hoa", "ward": 5, "category": "karaoke"}, None,
    ),
    "DeactivateVenue": (
        pb.DeactivateVenueRequest(venue_id=6), "POST", "/v1/venues/6/deactivate", None, None,
    ),
    "IssueQr": (pb.IssueQrRequest(venue_id=2), "GET", "/v1/venues/2/qr", None, None),
}  # fmt: skip


def grpc_methods() -> list[tuple[str, str]]:
    """(service, method) of every officer RPC, from the proto descriptors."""
    out = []
    for name in SERVICES:
        service = pb.DESCRIPTOR.services_by_name[name]
        out.extend((name, m.name) for m in service.methods)
    return out


def http_routes(app: Any) -> list[APIRoute]:
    return [r for r in app.routes if isinstance(r, APIRoute) and r.path.startswith("/v1/")]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, NodeThread, Path]]:
    root = tmp_path_factory.mktemp("api-matrix") / "data"
    world = build_world(root)
    node = NodeThread(world.settings)
    admin = [("authorization", f"Bearer {world.tokens['admin']}")]
    with grpc.insecure_channel(node.grpc_target) as channel:
        cases = pbg.CaseServiceStub(channel)
        cases.RegisterCase(
            pb.RegisterCaseRequest(person=F0, sample_date="2021-09-07"), metadata=admin
        )
        pbg.TraceServiceStub(channel).TraceCases(pb.TraceCasesRequest(), metadata=admin)
    try:
        yield world, node, root
    finally:
        node.stop()


def test_examples_cover_every_rpc_and_route() -> None:
    """The matrix is generated: a new RPC or route without an example fails here."""
    assert {m for _s, m in grpc_methods()} == set(EXAMPLES) == set(ALLOWED)
    assert {r.operation_id for r in http_routes(_app())} == set(EXAMPLES)


def _app() -> Any:
    """The real app's routes (route building does not touch the context)."""
    return create_app(object())  # type: ignore[arg-type]


def _foreign_refs(world: Any, who: str) -> set[str]:
    """References this identity must never see."""
    role, ward = IDENTITIES[who]
    if role is Role.ADMIN:
        return set()
    if role is Role.OFFICER:
        return {r for w, refs in world.refs_by_ward.items() if w != ward for r in refs}
    return set(REFS)


def _stub_call(channel: grpc.Channel, service: str, method: str) -> Callable[..., Any]:
    stub = getattr(pbg, f"{service}Stub")(channel)
    return getattr(stub, method)


def test_grpc_matrix(live: tuple[Any, NodeThread, Path]) -> None:
    world, node, root = live
    denied_ids: list[str] = []
    with grpc.insecure_channel(node.grpc_target) as channel:
        for service, method in grpc_methods():
            request = EXAMPLES[method][0]
            for who, (role, _ward) in IDENTITIES.items():
                rid = uuid.uuid4().hex[:16]
                md = [("x-request-id", rid)]
                if role is not None:
                    md.append(("authorization", f"Bearer {world.tokens[who]}"))
                try:
                    response = _stub_call(channel, service, method)(request, metadata=md)
                    code, body = grpc.StatusCode.OK, response.SerializeToString()
                    if method == "ExportTrace":
                        body += response.content
                except grpc.RpcError as err:
                    code, body = err.code(), (err.details() or "").encode()
                label = f"{method} as {who}: {code} {body[:200]!r}"
                if role is None:
                    assert code == grpc.StatusCode.UNAUTHENTICATED, label
                    denied_ids.append(rid)
                elif role not in ALLOWED[method]:
                    assert code == grpc.StatusCode.PERMISSION_DENIED, label
                    denied_ids.append(rid)
                else:
                    assert code in (grpc.StatusCode.OK, grpc.StatusCode.PERMISSION_DENIED), label
                    if code == grpc.StatusCode.PERMISSION_DENIED:
                        assert role is Role.OFFICER, label
                        denied_ids.append(rid)
                leaked = [r for r in _foreign_refs(world, who) if r.encode() in body]
                assert leaked == [], label
    _assert_audited(root, denied_ids)


def test_http_matrix(live: tuple[Any, NodeThread, Path]) -> None:
    world, node, root = live
    denied_ids: list[str] = []
    app = _app()
    with httpx.Client(base_url=node.http_base, timeout=30) as client:
        for route in http_routes(app):
            op = route.operation_id
            assert op is not None
            _req, method, path, body, params = EXAMPLES[op]
            assert method in route.methods, op
            for who, (role, _ward) in IDENTITIES.items():
                rid = uuid.uuid4().hex[:16]
                headers = {"x-request-id": rid}
                if role is not None:
                    headers["authorization"] = f"Bearer {world.tokens[who]}"
                r = client.request(method, path, json=body, params=params, headers=headers)
                label = f"{op} as {who}: {r.status_code} {r.content[:200]!r}"
                if role is None:
                    assert r.status_code == 401, label
                    denied_ids.append(rid)
                elif role not in ALLOWED[op]:
                    assert r.status_code == 403, label
                    assert r.json()["field"] == "operation", label
                    denied_ids.append(rid)
                else:
                    assert r.status_code in (200, 403), label
                    if r.status_code == 403:
                        assert role is Role.OFFICER, label
                        denied_ids.append(rid)
                assert r.headers["x-request-id"] == rid if r.status_code != 200 else True
                leaked = [x for x in _foreign_refs(world, who) if x.encode() in r.content]
                assert leaked == [], label
    _assert_audited(root, denied_ids)


def _assert_audited(root: Path, denied_ids: list[str]) -> None:
    entries = {e["request_id"]: e for e in read_entries(root / "audit" / "audit.log")}
    missing = [rid for rid in denied_ids if entries.get(rid, {}).get("outcome") != "denied"]
    assert missing == []
    assert verify(root / "audit").entries >= len(entries)


def test_officer_views_partition_the_admin_view(live: tuple[Any, NodeThread, Path]) -> None:
    """Ward routing by home ward: officers' lists are disjoint, exactly their residents."""
    world, node, _root = live
    seen: dict[str, set[str]] = {}
    with httpx.Client(base_url=node.http_base) as client:
        for who in ("officer1", "officer2", "admin"):
            r = client.post(
                "/v1/trace/case",
                json={"case_id": "F0-000001", "limit": 5000},
                headers={"authorization": f"Bearer {world.tokens[who]}"},
            )
            assert r.status_code == 200
            doc = r.json()
            seen[who] = {c["person"] for c in doc["contacts"]}
            if who != "admin":
                ward = IDENTITIES[who][1]
                assert all(c["home_ward"] == ward for c in doc["contacts"])
                assert doc["counts"]["all_wards"] == len(REFS) - 1
    assert seen["officer1"] == world.refs_by_ward[1] - {F0}
    assert seen["officer2"] == world.refs_by_ward[2]
    assert seen["officer1"] | seen["officer2"] | world.refs_by_ward[3] == seen["admin"]


def test_export_csv_is_bom_bilingual_and_injection_safe(live: tuple[Any, NodeThread, Path]) -> None:
    world, node, _root = live
    with httpx.Client(base_url=node.http_base) as client:
        r = client.get(
            "/v1/cases/F0-000001/export",
            params={"format": "csv"},
            headers={"authorization": f"Bearer {world.tokens['admin']}"},
        )
    assert r.status_code == 200
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][0] == "Hạng / Rank"
    cells = [c for row in rows[1:] for c in row if isinstance(c, str)]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")]
    assert any(c.startswith("'=HYPERLINK") for c in cells)
