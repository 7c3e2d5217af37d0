"""Officer flows end to end on a live node: demo client, worklists and follow-up, audit."""

from __future__ import annotations

import os
from pathlib import Path

import grpc
import httpx
import pytest

from api.audit import report, verify
from api.demo_client import run_api_demo
from api.protos.checkin.v1 import officer_pb2 as pb
from api.protos.checkin.v1 import officer_pb2_grpc as pbg

from .api_support import REFS, NodeThread, build_world


def test_demo_client_registers_traces_and_reports(tmp_path: Path) -> None:
    world = build_world(tmp_path / "data")
    result = run_api_demo(
        world.settings, person=REFS[0], sample_date="2021-09-07", limit=5, totals_date="2021-09-06"
    )
    assert result.case["case_id"] == "F0-000001"
    contacts = result.trace["contacts"]
    assert len(contacts) == 5
    assert [c["rank"] for c in contacts] == [1, 2, 3, 4, 5]
    assert result.trace["counts"]["contacts"] == len(REFS) - 1
    assert result.ward_totals == {2: {"check_ins": 30, "check_outs": 30}}
    assert result.summary["text"] == "6 venues, +0 today; 60 scans, +60 today"


def test_worklist_one_row_per_person_and_handled_not_relisted(tmp_path: Path) -> None:
    root = tmp_path / "data"
    world = build_world(root)
    node = NodeThread(world.settings)
    try:
        admin = {"authorization": f"Bearer {world.tokens['admin']}"}
        officer = {"authorization": f"Bearer {world.tokens['officer2']}"}
        with httpx.Client(base_url=node.http_base) as c:
            # two F0s that reach the same people: each person is one row, two cases
            for ref in (REFS[0], REFS[1]):
                r = c.post(
                    "/v1/cases", json={"person": ref, "sample_date": "2021-09-07"}, headers=admin
                )
                assert r.status_code == 200, r.text
            assert c.post("/v1/trace/cases", json={}, headers=admin).status_code == 200
            rows = c.get("/v1/contacts", headers=officer).json()["rows"]
            people = [r["person"] for r in rows]
            assert len(people) == len(set(people)) == len(world.refs_by_ward[2])
            assert all(r["home_ward"] == 2 for r in rows)
            assert {len(r["case_ids"]) for r in rows} == {1, 2}  # reached by both: one row
            handled = people[:3]
            r = c.post(
                "/v1/contacts/follow-up",
                json={"updates": [{"person": p, "status": "isolating"} for p in handled]},
                headers=officer,
            )
            assert r.json()["updated"] == 3
            report_rows = c.get("/v1/reports/follow-up?ward=2", headers=admin).json()["wards"]
            assert report_rows[0]["f1_updated"] == 3
            assert report_rows[0]["updated_share"] == round(3 / report_rows[0]["f1"], 4)
            # a new F0 reaches them again: flagged, not back on the to-call list
            c.post(
                "/v1/cases", json={"person": REFS[4], "sample_date": "2021-09-07"}, headers=admin
            )
            c.post("/v1/trace/cases", json={}, headers=admin)
            to_call = {r["person"] for r in c.get("/v1/contacts", headers=officer).json()["rows"]}
            assert not to_call & set(handled)
            everyone = c.get("/v1/contacts?status=all", headers=officer).json()["rows"]
            again = {r["person"] for r in everyone if r["reached_again"]}
            third = c.post(
                "/v1/trace/case", json={"case_id": "F0-000003", "limit": 5000}, headers=admin
            ).json()
            reached = set(handled) & {x["person"] for x in third["contacts"]}
            assert reached
            assert again == reached
            trace = c.post(
                "/v1/trace/case", json={"case_id": "F0-000003", "limit": 5000}, headers=officer
            ).json()
            flagged = {x["person"] for x in trace["contacts"] if x["already_handled"]}
            assert flagged == reached
    finally:
        node.stop()
    assert verify(root / "audit").entries > 0
    mine = report(root / "audit", "officer-w2")
    assert {e["operation"] for e in mine} >= {"ListContacts", "SetFollowUp", "TraceCase"}
    assert all(e["rows"] >= 0 for e in mine)


def test_failed_audit_write_fails_the_request(tmp_path: Path) -> None:
    root = tmp_path / "data"
    world = build_world(root)
    (root / "audit").mkdir()
    os.symlink("/dev/full", root / "audit" / "audit.log")
    node = NodeThread(world.settings)
    try:
        with grpc.insecure_channel(node.grpc_target) as channel:
            md = [("authorization", f"Bearer {world.tokens['admin']}")]
            with pytest.raises(grpc.RpcError) as err:
                pbg.TraceServiceStub(channel).TraceCase(
                    pb.TraceCaseRequest(person=REFS[0], sample_date="2021-09-07"), metadata=md
                )
            assert err.value.code() == grpc.StatusCode.UNAVAILABLE
            assert "audit" in (err.value.details() or "")
        r = httpx.post(
            f"{node.http_base}/v1/trace/case",
            json={"person": REFS[0], "sample_date": "2021-09-07"},
            headers={"authorization": f"Bearer {world.tokens['admin']}"},
        )
        assert r.status_code == 503
        assert REFS[1].encode() not in r.content
    finally:
        node.stop()
