"""`qrtrace serve --processes 2`: real processes on one loopback port (port 0), tmp dirs.

- kill -9 of one ingest process during streaming, several times, with retries on new
  connections: nothing acknowledged is lost or counted twice, and the seal is exact
  (`multiproc_crash`; QRTRACE_MULTIPROC_ROUNDS sets the kills, default 3);
- the officer API of the supervisor sees every process's scans (totals within the refresh
  lag) and a venue it registers is accepted by the ingest processes about a second later.
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import httpx
import numpy as np
import pytest

from api.auth import Role, add_user, users_path
from api.protos.checkin.v1 import ingest_pb2 as pb
from api.protos.checkin.v1 import ingest_pb2_grpc as pb_grpc
from ingest.client import auth_metadata, encode_batch
from ingest.validation import Verdict
from storage.directory import PersonDirectory
from storage.domain import LOCAL_TZ
from storage.multidata import MultiDataDir
from storage.pseudonym import Pseudonymiser, load_or_create_key

from .ingest_crash import Ledger, kill9
from .ingest_support import env_int, prepare_data_dir, random_ids
from .multiproc_crash import _parallel_round, crash_rounds, start_node

ROUNDS = env_int("QRTRACE_MULTIPROC_ROUNDS", 3)


@pytest.mark.slow
def test_kill_9_of_one_process_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    report = crash_rounds(tmp_path, ROUNDS, processes=2, seed=11)
    assert report.kills == ROUNDS
    assert report.merged_scans == report.sealed_scans
    assert report.acked_scans >= report.merged_scans > 0
    assert report.cross_process_duplicates > 0  # retries that landed on the other process
    assert all(n > 0 for n in report.stored_per_process)


def _scan_totals(http: httpx.Client, token: str) -> int:
    today = datetime.now(LOCAL_TZ).date()
    params = {"from_date": (today - timedelta(days=1)).isoformat(), "to_date": today.isoformat()}
    got = http.get("/v1/reports/scans", params=params, headers={"authorization": f"Bearer {token}"})
    got.raise_for_status()
    body: dict[str, Any] = got.json()
    return int(body["check_ins"]) + int(body["check_outs"])


def _eventually(check: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


@pytest.mark.slow
def test_officer_api_sees_every_process_and_processes_follow_new_venues(tmp_path: Path) -> None:
    prepared = prepare_data_dir(tmp_path)
    admin = add_user(users_path(tmp_path), "admin", Role.ADMIN)
    node = start_node(tmp_path, 2)
    try:
        ledger = Ledger()
        rng = np.random.default_rng(5)
        _parallel_round(prepared, ledger, node, rng, streams=2, new_batches=10)
        assert not ledger.unacked()
        with httpx.Client(base_url=f"http://127.0.0.1:{node.http_port}", timeout=30) as http:
            want = ledger.accepted
            assert _eventually(lambda: _scan_totals(http, admin) == want), "totals lag"
            # kill one process: its acknowledged scans stay visible through the merged view
            kill9(node.wait_serving(1))
            assert _scan_totals(http, admin) == want
            node.wait_serving(1)
            headers = {"authorization": f"Bearer {admin}"}
            venue = http.post(
                "/v1/venues",
                json={"name": "Chợ mới", "ward": 3, "category": "market"},
                headers=headers,
            ).json()

            def accepted_at_new_venue() -> bool:
                batch = encode_batch(
                    9_999,
                    scan_ids=random_ids(1, rng),
                    times_ms=np.array([int(time.time() * 1000) - 60_000]),
                    directions=np.zeros(1, np.int64),
                    venue_codes=[venue["qr_payload"]],
                    venue_index=np.zeros(1, np.int64),
                    person_numbers=np.array([42], np.uint64),
                )
                part = Ledger(batches={batch.batch_id: batch})
                _round_one(prepared, part, node.port)
                return part.accepted == 1

            assert _eventually(accepted_at_new_venue), "a new venue never reached ingest"
            _submit_with_contact_phones(prepared, node.port)
        assert node.stop() == 0
    finally:
        if node.proc.poll() is None:
            node.proc.kill()
    # first-seen people reached the supervisor's directory, whichever process stored them
    with MultiDataDir(tmp_path, 2) as data:
        persons = np.unique(
            np.concatenate([data.hot.tail_scans(d)[0]["person"] for d in data.hot.tail_days()])
        )
    pseudonyms = Pseudonymiser(load_or_create_key(tmp_path / "pseudonym.key"))
    with PersonDirectory(tmp_path / "people") as people:
        assert people.contains(persons).all()
        # contact phones given with unary scans reach the supervisor's directory too
        for k in range(PHONE_CALLS):
            record = people.lookup(pseudonyms.person_id(f"09123450{k:02d}"))
            assert record is not None, k
            assert record.phone == f"09876540{k:02d}", k


PHONE_CALLS = 12


def _submit_with_contact_phones(prepared: Any, port: int) -> None:
    """Unary calls on fresh connections (so both processes get some), each with a phone."""
    now_ms = int(time.time() * 1000) - 60_000
    for k in range(PHONE_CALLS):
        options = [("grpc.use_local_subchannel_pool", 1)]
        with grpc.insecure_channel(f"127.0.0.1:{port}", options=options) as channel:
            stub = pb_grpc.IngestServiceStub(channel)  # type: ignore[no-untyped-call]
            scan = pb.Scan(
                scan_id=os.urandom(15) + b"\x01",
                person_ref=f"09123450{k:02d}",
                venue_code=prepared.codes[2],
                time_ms=now_ms + k,
                direction=pb.DIRECTION_IN,
                contact_phone=f"+84 98765 40{k:02d}",
            )
            response = stub.SubmitScans(
                pb.SubmitScansRequest(scans=[scan]), metadata=auth_metadata(prepared.token)
            )
            assert list(response.verdicts) == [int(Verdict.ACCEPTED)], response


def _round_one(prepared: Any, ledger: Ledger, port: int) -> None:
    """Send the ledger's batch once; an UNKNOWN_VENUE answer leaves `accepted` at 0."""
    options = [("grpc.use_local_subchannel_pool", 1)]
    with grpc.insecure_channel(f"127.0.0.1:{port}", options=options) as channel:
        stub = pb_grpc.IngestServiceStub(channel)  # type: ignore[no-untyped-call]
        batches = list(ledger.batches.values())
        for ack in stub.StreamScans(iter(batches), metadata=auth_metadata(prepared.token)):
            verdicts = np.frombuffer(ack.verdicts, np.uint8)
            ledger.accepted += int(np.count_nonzero(verdicts == Verdict.ACCEPTED))
