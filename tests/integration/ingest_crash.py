"""kill -9 harness for the ingest server: a child process serving, a driver that streams
batches, kills the child at random points and retries every unacknowledged batch with the
same scan ids on the next incarnation. `test_ingest_crash.py` runs it CI-sized; longer:

    python -m tests.integration.ingest_crash --rounds 500 /tmp/ingest-crash

Invariants checked at the end (after a last round that is not killed, so every batch ends
acknowledged): every acknowledged scan is in the hot store (0 lost), no scan id is stored
twice (0 duplicated), and the stored total equals the number of unique acknowledged scans.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import numpy as np

from api.protos.checkin.v1 import ingest_pb2 as pb
from api.protos.checkin.v1 import ingest_pb2_grpc as pb_grpc
from ingest.client import auth_metadata
from ingest.validation import Verdict
from storage.datadir import DataDir
from storage.settings import load_settings

from .ingest_support import Prepared, good_batch, prepare_data_dir

ROOT = Path(__file__).resolve().parents[2]
BATCH_SCANS = 200


def _serve(data_dir: Path, port_file: Path) -> None:
    """Serve on a free loopback port until killed; publish the port once serving."""
    from ingest.server import create_server  # noqa: PLC0415 - child-only import

    async def main() -> None:
        settings = load_settings(None, data_dir=data_dir, ingest_port=0, log_level="WARNING")
        server, port = create_server(settings)
        await server.start()
        tmp = port_file.with_suffix(".tmp")
        tmp.write_text(str(port))
        os.replace(tmp, port_file)
        await server.wait_for_termination()

    asyncio.run(main())


def zygote(data_dir: Path) -> None:
    """Import and warm everything once, then fork a fresh server per line read on stdin.

    A forked child is a real, separate server process (kill -9 kills only it), but it starts
    in milliseconds instead of the ~2 s of a cold interpreter, so 50 rounds fit in CI.
    """
    import ingest.server  # noqa: F401, PLC0415 - warm the imports before forking
    from storage.dedupe import ScanIdIndex  # noqa: PLC0415
    from storage.records import make_scans  # noqa: PLC0415

    ScanIdIndex().add(make_scans(np.ones((1, 16), np.uint8), 1, 1, 1))  # load the JIT cache
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped automatically
    for _line in sys.stdin:
        pid = os.fork()
        if pid == 0:
            try:
                _serve(data_dir, data_dir / "port")
            finally:
                os._exit(0)
        sys.stdout.write(f"{pid}\n")
        sys.stdout.flush()


class Zygote:
    """The driver's handle on the zygote process."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.ingest_crash", "--zygote", str(data_dir)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )

    def spawn(self) -> tuple[int, int]:
        """(pid, port) of a fresh server child."""
        port_file = self.data_dir / "port"
        port_file.unlink(missing_ok=True)
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write("spawn\n")
        self.proc.stdin.flush()
        pid = int(self.proc.stdout.readline())
        deadline = time.monotonic() + 60
        while not port_file.exists():
            if time.monotonic() > deadline or not _alive(pid):
                raise RuntimeError("ingest child did not start")
            time.sleep(0.005)
        return pid, int(port_file.read_text())

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def kill9(pid: int) -> None:
    """SIGKILL a child and wait until it is gone (its RocksDB lock released)."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    while _alive(pid):
        time.sleep(0.002)


@dataclass
class Ledger:
    """Every batch sent and whether (and how) it was acknowledged."""

    batches: dict[int, pb.ScanBatch] = field(default_factory=dict)
    acked: set[int] = field(default_factory=set)
    accepted: int = 0
    duplicate: int = 0
    retried: int = 0

    def unacked(self) -> list[pb.ScanBatch]:
        return [b for i, b in self.batches.items() if i not in self.acked]


def _round(
    prepared: Prepared,
    ledger: Ledger,
    port: int,
    rng: np.random.Generator,
    *,
    new_batches: int,
    first_id: int = 0,
) -> None:
    """Stream the unacked batches, then `new_batches` new ones; record the acks.

    New batch ids are `first_id` + the ledger's size (several ledgers: disjoint ranges).
    """
    retry = ledger.unacked()
    ledger.retried += len(retry)

    def requests() -> Iterator[pb.ScanBatch]:
        yield from retry
        for _ in range(new_batches):
            batch = good_batch(prepared, first_id + len(ledger.batches), BATCH_SCANS, rng)
            ledger.batches[batch.batch_id] = batch
            yield batch

    # a local subchannel pool: each round opens its own TCP connection, even while another
    # thread's channel to the same port is open (several processes may share the port)
    options = [("grpc.use_local_subchannel_pool", 1)]
    with grpc.insecure_channel(f"127.0.0.1:{port}", options=options) as channel:
        call = pb_grpc.IngestServiceStub(channel).StreamScans(  # type: ignore[no-untyped-call]
            requests(), metadata=auth_metadata(prepared.token)
        )
        try:
            for ack in call:
                verdicts = np.frombuffer(ack.verdicts, np.uint8)
                ok = (verdicts == Verdict.ACCEPTED) | (verdicts == Verdict.DUPLICATE)
                if ack.HasField("error") or not ok.all():
                    raise AssertionError(f"batch {ack.batch_id} not stored: {ack}")
                ledger.acked.add(ack.batch_id)
                ledger.accepted += int(np.count_nonzero(verdicts == Verdict.ACCEPTED))
                ledger.duplicate += int(np.count_nonzero(verdicts == Verdict.DUPLICATE))
        except grpc.RpcError:
            pass  # killed mid-stream: the unacked batches are retried next round


@dataclass
class Report:
    """What the verifier found."""

    rounds: int
    batches: int
    acked_scans: int
    stored_scans: int
    retried_batches: int
    duplicates_answered: int


def crash_rounds(root: Path, rounds: int, *, seed: int = 1) -> Report:
    """Run `rounds` kill -9 rounds plus a final clean one, then verify the invariants."""
    prepared = prepare_data_dir(root)
    rng = np.random.default_rng(seed)
    chooser = random.Random(seed)
    ledger = Ledger()
    zygote_ = Zygote(root)
    try:
        for _ in range(rounds):
            pid, port = zygote_.spawn()
            killer = threading.Timer(chooser.uniform(0.01, 0.3), kill9, (pid,))
            killer.start()
            try:
                _round(prepared, ledger, port, rng, new_batches=chooser.randint(20, 120))
            finally:
                killer.cancel()
                kill9(pid)
        pid, port = zygote_.spawn()
        try:
            _round(prepared, ledger, port, rng, new_batches=5)
        finally:
            kill9(pid)
    finally:
        zygote_.close()
    assert not ledger.unacked(), "the clean final round left batches unacknowledged"
    with DataDir(root) as data:
        stored = [data.hot.tail_scans(day)[0]["scan_id"] for day in data.hot.tail_days()]
    stored_ids = np.concatenate(stored) if stored else np.empty(0, "V16")
    sent_ids = np.concatenate([np.frombuffer(b.scan_ids, "V16") for b in ledger.batches.values()])
    assert len(np.unique(stored_ids)) == len(stored_ids), "a scan id is stored twice"
    assert np.isin(sent_ids, stored_ids).all(), "an acknowledged scan is missing"
    # each batch is acknowledged exactly once: ACCEPTED, or DUPLICATE when an earlier try
    # was durable but its ack died with the server
    answered = ledger.accepted + ledger.duplicate
    assert len(stored_ids) == len(np.unique(sent_ids)) == answered, (
        f"stored {len(stored_ids)}, unique acknowledged {len(np.unique(sent_ids))}, "
        f"answered ACCEPTED+DUPLICATE {answered}; expected all three equal"
    )
    return Report(
        rounds=rounds,
        batches=len(ledger.batches),
        acked_scans=len(sent_ids),
        stored_scans=len(stored_ids),
        retried_batches=ledger.retried,
        duplicates_answered=ledger.duplicate,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dir", type=Path)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--zygote", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.zygote:
        zygote(args.dir)
        return
    args.dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    report = crash_rounds(args.dir, args.rounds, seed=args.seed)
    sys.stdout.write(f"{report} in {time.perf_counter() - started:.1f} s\n")


if __name__ == "__main__":
    main()
