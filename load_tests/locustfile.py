"""Locust actors of qrtrace, one `User` per DESIGN §1 actor.

Run by `python -m load_tests.run` (or `qrtrace loadtest`), which starts a local node, seeds
it and points this file at it through `$QRTRACE_LOADTEST_CONFIG` (a JSON file: addresses,
tokens, venue QR codes, registered case ids). Run by hand against that config:

    locust -f load_tests/locustfile.py --headless -u 8 -r 4 -t 30s

This module is imported only by locust (it monkey-patches the process with gevent), never by
pytest (`load_tests` is in pytest's `norecursedirs`) or by the runner itself.
gRPC users fire locust's request event themselves (locust has no built-in gRPC client):
request_type "grpc", name = the RPC, a failure when the call fails or a scan is refused.
"""

from __future__ import annotations

import json
import os
import random
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import grpc
import grpc.experimental.gevent as grpc_gevent
from locust import HttpUser, User, between, task

from api.protos.checkin.v1 import ingest_pb2 as pb

grpc_gevent.init_gevent()  # gRPC's completion queue must cooperate with gevent

CONFIG: dict[str, Any] = json.loads(
    open(os.environ["QRTRACE_LOADTEST_CONFIG"], encoding="utf-8").read()  # noqa: SIM115
)
UNARY = "/checkin.v1.IngestService/SubmitScans"
STREAM = "/checkin.v1.IngestService/StreamScans"
LOCAL = timezone(timedelta(hours=7))
OK_VERDICTS = (pb.VERDICT_ACCEPTED, pb.VERDICT_DUPLICATE)


def _person() -> int:
    return 10**11 + random.randrange(CONFIG["persons"])


class _GrpcUser(User):
    """Shared channel set-up and request-event reporting for the gRPC actors."""

    abstract = True

    def on_start(self) -> None:
        self.channel = grpc.insecure_channel(CONFIG["ingest"])
        self.md = (("authorization", f"Bearer {CONFIG['device_token']}"),)
        self.salt = random.getrandbits(63)
        self.counter = 0

    def on_stop(self) -> None:
        self.channel.close()

    def scan_id(self) -> bytes:
        self.counter += 1
        return self.counter.to_bytes(8, "little") + self.salt.to_bytes(8, "little")

    def fire(self, name: str, started: float, length: int, exc: Exception | None) -> None:
        self.environment.events.request.fire(
            request_type="grpc",
            name=name,
            response_time=(time.perf_counter() - started) * 1000,
            response_length=length,
            exception=exc,
            context={},
        )


class ScannerApp(_GrpcUser):
    """A phone: one check-in per unary SubmitScans call, every fraction of a second."""

    weight = 4
    wait_time = between(0.05, 0.2)

    def on_start(self) -> None:
        super().on_start()
        self.call = self.channel.unary_unary(
            UNARY,
            request_serializer=pb.SubmitScansRequest.SerializeToString,
            response_deserializer=pb.SubmitScansResponse.FromString,
        )

    @task
    def submit_scan(self) -> None:
        """Check in at a random venue now; the scan must come back ACCEPTED (or DUPLICATE)."""
        request = pb.SubmitScansRequest(
            scans=[
                pb.Scan(
                    scan_id=self.scan_id(),
                    person_ref=str(_person()),
                    venue_code=random.choice(CONFIG["codes"]),
                    time_ms=int(time.time() * 1000) - 1000,
                )
            ]
        )
        started = time.perf_counter()
        exc: Exception | None = None
        try:
            reply = self.call(request, metadata=self.md, timeout=10)
            if any(v not in OK_VERDICTS for v in reply.verdicts):
                exc = RuntimeError(f"scan refused: {list(reply.verdicts)}")
        except grpc.RpcError as err:
            exc = err
        self.fire("SubmitScans", started, 1, exc)


class VenueGateway(_GrpcUser):
    """A venue gateway: a StreamScans call of columnar batches, each acked durable."""

    weight = 1
    wait_time = between(0.2, 0.5)
    batches = 5
    batch = 200

    def on_start(self) -> None:
        super().on_start()
        self.call = self.channel.stream_stream(
            STREAM,
            request_serializer=pb.ScanBatch.SerializeToString,
            response_deserializer=pb.BatchAck.FromString,
        )

    def _batch(self, k: int) -> pb.ScanBatch:
        n = self.batch
        now = int(time.time() * 1000) - 1000
        ids = b"".join(self.scan_id() for _ in range(n))
        codes = random.sample(CONFIG["codes"], 8)
        return pb.ScanBatch(
            batch_id=k,
            scan_ids=ids,
            times_ms=b"".join(
                (now - random.randrange(60_000)).to_bytes(8, "little") for _ in range(n)
            ),
            directions=bytes(n),
            venue_codes=codes,
            venue_index=b"".join(random.randrange(8).to_bytes(4, "little") for _ in range(n)),
            person_numbers=b"".join(_person().to_bytes(8, "little") for _ in range(n)),
        )

    @task
    def stream_batches(self) -> None:
        """Stream a few 200-scan batches; each ack (in order) is one request event."""
        batches = [self._batch(k) for k in range(self.batches)]
        sent: dict[int, float] = {}

        def requests() -> Any:
            for b in batches:
                sent[b.batch_id] = time.perf_counter()
                yield b

        started = time.perf_counter()
        try:
            for ack in self.call(requests(), metadata=self.md, timeout=30):
                bad = ack.accepted + ack.duplicate != self.batch
                exc = (
                    RuntimeError(f"batch {ack.batch_id}: {ack.rejected} rejected") if bad else None
                )
                self.fire("StreamScans batch", sent.get(ack.batch_id, started), self.batch, exc)
        except grpc.RpcError as err:
            self.fire("StreamScans batch", started, 0, err)


class WardOfficer(HttpUser):
    """A ward officer: ranked F1 lists of the ward's registered F0s, now and then an export."""

    weight = 2
    wait_time = between(0.2, 1.0)

    def on_start(self) -> None:
        self.client.headers["authorization"] = f"Bearer {CONFIG['officer_token']}"

    @task(3)
    def trace_case(self) -> None:
        """POST /v1/trace/case for a random registered case (first page of contacts)."""
        case = random.choice(CONFIG["cases"])
        self.client.post("/v1/trace/case", json={"case_id": case, "limit": 100},
                         name="/v1/trace/case")  # fmt: skip

    @task(1)
    def export_case(self) -> None:
        """GET /v1/cases/{id}/export as CSV (audited, the officer's ward only)."""
        case = random.choice(CONFIG["cases"])
        self.client.get(f"/v1/cases/{case}/export?format=csv&purpose=load-test",
                        name="/v1/cases/[id]/export")  # fmt: skip


class ReportingService(HttpUser):
    """The reporting service: scan totals by ward and the '+N today' summary, counts only."""

    weight = 1
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.client.headers["authorization"] = f"Bearer {CONFIG['reporting_token']}"
        self.today = datetime.now(LOCAL).date().isoformat()

    @task(2)
    def scan_totals(self) -> None:
        """GET /v1/reports/scans for today, every ward and category."""
        self.client.get(f"/v1/reports/scans?from_date={self.today}", name="/v1/reports/scans")

    @task(1)
    def summary(self) -> None:
        """GET /v1/reports/summary: venues and scans, with today's increments."""
        self.client.get(f"/v1/reports/summary?date={self.today}", name="/v1/reports/summary")
