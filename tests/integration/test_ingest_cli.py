"""`qrtrace venues/devices/serve/simulate` as an operator runs them, and SIGTERM draining."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import numpy as np

from api.protos.checkin.v1 import ingest_pb2_grpc as pb_grpc
from ingest.client import auth_metadata
from storage.datadir import DataDir

from .ingest_support import Prepared, good_batch

ROOT = Path(__file__).resolve().parents[2]
ENV = {k: v for k, v in os.environ.items() if not k.startswith("QRTRACE_")} | {
    "PYTHONPATH": str(ROOT),
    "COLUMNS": "200",
    "NO_COLOR": "1",
}


def qrtrace(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli.main", *args],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _serve(data_dir: Path) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "api.cli.main",
            "serve",
            "--port",
            "0",
            "--api-grpc-port",
            "0",
            "--http-port",
            "0",
            "--data-dir",
            str(data_dir),
        ],
        cwd=ROOT,
        env=ENV,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        match = re.search(r"serving checkin\.v1 on [\d.]+:(\d+)", line)
        if match:
            threading.Thread(target=proc.stderr.read, daemon=True).start()  # keep the pipe drained
            return proc, int(match.group(1))
    raise AssertionError("server did not start")


def test_operator_flow_and_sigterm_drain(tmp_path: Path) -> None:
    data = tmp_path / "data"
    r = qrtrace(
        "venues", "import-city", "--venues", "300", "--adults", "3000", "--data-dir", str(data)
    )
    assert r.returncode == 0, r.stderr
    r = qrtrace(
        "venues",
        "add",
        "--name",
        "Chợ Biên Hòa",
        "--ward",
        "3",
        "--category",
        "market",
        "--data-dir",
        str(data),
    )
    assert r.returncode == 0, r.stderr
    code = r.stdout.split(": ", 1)[1].strip()
    assert code.startswith("QRT1:k1:301:")
    bad = qrtrace(
        "venues", "add", "--name", "x", "--ward", "3", "--category", "nope", "--data-dir", str(data)
    )
    assert bad.returncode == 2
    assert "category" in bad.stderr
    token = qrtrace("devices", "add", "gw-1", "--data-dir", str(data)).stdout.strip()
    proc, port = _serve(data)
    try:
        sim = qrtrace(
            "simulate",
            "--target",
            f"127.0.0.1:{port}",
            "--rate",
            "3000",
            "--duration",
            "2",
            "--venues",
            "300",
            "--adults",
            "3000",
            "--token",
            token,
            "--data-dir",
            str(data),
        )
        assert sim.returncode == 0, sim.stderr
        assert re.search(r"accepted [\d,]+ +duplicate 0 +rejected 0", sim.stdout), sim.stdout
        assert "p99" in sim.stdout
        # stream steadily, SIGTERM mid-stream: every ack received must be durable
        from ingest.node import venue_keys_path  # noqa: PLC0415
        from ingest.qrcode import KeyRing  # noqa: PLC0415

        ring = KeyRing.load(venue_keys_path(data))
        prepared = Prepared(
            settings=None, token=token, codes={v: ring.sign(v) for v in range(1, 6)}
        )  # type: ignore[arg-type]
        rng = np.random.default_rng(3)
        acked: list[bytes] = []
        status: list[grpc.StatusCode] = []

        def requests():  # type: ignore[no-untyped-def]
            for i in range(100_000):
                time.sleep(0.002)
                yield good_batch(prepared, i, 100, rng, venues=(1, 2, 4, 5))

        def client() -> None:
            sent: dict[int, bytes] = {}

            def tracked():  # type: ignore[no-untyped-def]
                for batch in requests():
                    sent[batch.batch_id] = batch.scan_ids
                    yield batch

            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                call = pb_grpc.IngestServiceStub(channel).StreamScans(
                    tracked(), metadata=auth_metadata(token)
                )  # type: ignore[no-untyped-call]
                try:
                    for ack in call:
                        acked.append(sent[ack.batch_id])
                except grpc.RpcError as exc:
                    status.append(exc.code())

        thread = threading.Thread(target=client)
        thread.start()
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        thread.join(20)
        assert acked
        assert status == [grpc.StatusCode.UNAVAILABLE]
    finally:
        if proc.poll() is None:
            proc.kill()
    with DataDir(data) as store:
        stored = np.concatenate(
            [store.hot.tail_scans(d)[0]["scan_id"] for d in store.hot.tail_days()]
        )
    acked_ids = np.frombuffer(b"".join(acked), "V16")
    assert np.isin(acked_ids, stored).all()
