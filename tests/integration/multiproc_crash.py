"""kill -9 harness for `qrtrace serve --processes N`: streams over the shared port, kills one
ingest process at a random point per round, retries every unacknowledged batch with the same
scan ids (on a new connection, which may land on ANY process), then stops the node with
SIGTERM and verifies the merge. `test_ingest_multiproc.py` runs it CI-sized; longer:

    python -m tests.integration.multiproc_crash --rounds 20 /tmp/multiproc-crash

Invariants (after a final round without kills, so every batch ends acknowledged): the merged
hot view holds exactly the acknowledged scan ids, each once (0 lost, 0 duplicated, however
many processes stored a retried scan); its totals equal the unique acknowledged count; a seal
writes segments whose scan counts sum to it and whose visits are those of exactly those scans.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import grpc
import numpy as np

from api.protos.checkin.v1 import ingest_pb2 as pb
from api.protos.checkin.v1 import ingest_pb2_grpc as pb_grpc
from ingest.client import auth_metadata
from ingest.validation import Verdict
from storage.hotstore import HotStore
from storage.multidata import MultiDataDir
from storage.multihot import hot_dir
from storage.segments import Segment
from storage.visits import Visits, build_visits

from .ingest_crash import Ledger, _round, kill9
from .ingest_support import Prepared, prepare_data_dir

ROOT = Path(__file__).resolve().parents[2]
_PORTS = re.compile(
    r"serving\s+checkin\.v1\s+on\s+[\d.]+:(\d+);\s+officer\s+API\s+gRPC\s+on\s+[\d.]+:(\d+),"
    r"\s+HTTP\s+on\s+http://[\d.]+:(\d+)"
)


@dataclass
class Node:
    """The supervisor process and its ports."""

    proc: subprocess.Popen[str]
    port: int
    api_grpc_port: int
    http_port: int
    root: Path

    def pid_of(self, process: int) -> int | None:
        try:
            doc = json.loads((self.root / "ingest" / f"p{process}.json").read_text())
        except (OSError, ValueError):
            return None
        pid = int(doc["pid"])
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        return pid

    def wait_serving(self, process: int, not_pid: int | None = None, timeout: float = 90) -> int:
        """The pid of `process` once it serves (a new incarnation when `not_pid` is given)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid = self.pid_of(process)
            if pid is not None and pid != not_pid:
                return pid
            if self.proc.poll() is not None:
                raise RuntimeError("the supervisor exited")
            time.sleep(0.02)
        raise TimeoutError(f"ingest process {process} did not come back")

    def stop(self, timeout: float = 90) -> int:
        """SIGTERM the supervisor (it drains every process) and wait for it."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)


def start_node(root: Path, processes: int) -> Node:
    """`qrtrace serve --processes N` on loopback port 0; ports parsed from its first line."""
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "api.cli.main", "serve", "--processes", str(processes),
            "--port", "0", "--api-grpc-port", "0", "--http-port", "0", "--data-dir", str(root),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "QRTRACE_LOG_LEVEL": "WARNING"},
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    seen = ""
    for line in proc.stderr:  # rich may wrap the line: match on the joined text
        seen += " " + line.rstrip("\n")
        match = _PORTS.search(seen)
        if match:
            threading.Thread(target=proc.stderr.read, daemon=True).start()  # keep it drained
            ports = [int(p) for p in match.groups()]
            node = Node(proc, ports[0], ports[1], ports[2], root)
            for k in range(processes):
                node.wait_serving(k)
            return node
    raise AssertionError(f"supervisor did not start (exit {proc.wait()})")


def _parallel_round(
    prepared: Prepared,
    ledger: Ledger,
    node: Node,
    rng: np.random.Generator,
    *,
    streams: int,
    new_batches: int,
) -> None:
    """`streams` concurrent connections; the unacked batches are retried on the first."""
    shards = [Ledger() for _ in range(streams)]
    for batch in ledger.unacked():
        shards[0].batches[batch.batch_id] = batch
    ledger.retried += len(shards[0].batches)

    start = max(ledger.batches, default=0) + 1

    def run(i: int, part: Ledger, seed: int) -> None:
        part_rng = np.random.default_rng(seed)
        first_id = start + i * 1_000_000  # disjoint id ranges per stream
        _round(prepared, part, node.port, part_rng, new_batches=new_batches, first_id=first_id)

    threads = [
        threading.Thread(target=run, args=(i, part, int(rng.integers(1, 2**31))))
        for i, part in enumerate(shards)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for part in shards:
        ledger.batches.update(part.batches)
        ledger.acked |= part.acked
        ledger.accepted += part.accepted
        ledger.duplicate += part.duplicate


@dataclass
class Report:
    """What the verifier found."""

    rounds: int
    kills: int
    batches: int
    acked_scans: int
    stored_per_process: tuple[int, ...]
    merged_scans: int
    cross_process_duplicates: int
    sealed_scans: int


def crash_rounds(root: Path, rounds: int, *, processes: int = 2, seed: int = 1) -> Report:
    """`rounds` rounds with one kill -9 each, a clean final round, SIGTERM, then verify."""
    prepared = prepare_data_dir(root)
    rng = np.random.default_rng(seed)
    chooser = random.Random(seed)
    ledger = Ledger()
    node = start_node(root, processes)
    kills = 0
    try:
        for _ in range(rounds):
            victim = chooser.randrange(processes)
            pid = node.wait_serving(victim)
            killer = threading.Timer(chooser.uniform(0.05, 0.4), kill9, (pid,))
            killer.start()
            try:
                _parallel_round(
                    prepared, ledger, node, rng, streams=2, new_batches=chooser.randint(15, 60)
                )
            finally:
                killer.cancel()
            kill9(pid)
            kills += 1
            node.wait_serving(victim, not_pid=pid)
        for _ in range(5):  # clean rounds until every batch is acknowledged
            _parallel_round(prepared, ledger, node, rng, streams=2, new_batches=2)
            if not ledger.unacked():
                break
        replayed = replay_elsewhere(prepared, node, list(ledger.batches.values())[:3])
        assert node.stop() == 0, "the supervisor did not drain and exit cleanly"
    finally:
        if node.proc.poll() is None:
            node.proc.kill()
    report = verify(root, ledger, processes, rounds, kills)
    assert report.cross_process_duplicates >= replayed
    return report


def replay_elsewhere(prepared: Prepared, node: Node, batches: list[pb.ScanBatch]) -> int:
    """Re-send acknowledged batches (as a client that lost the acks would) on fresh
    connections until each lands on a process that has not stored it (answer ACCEPTED):
    the cross-process duplicate the merge must drop. Returns how many did."""
    landed = 0
    for batch in batches:
        for _ in range(40):  # the kernel picks the process per connection: 2^-40 to miss
            with grpc.insecure_channel(
                f"127.0.0.1:{node.port}", options=[("grpc.use_local_subchannel_pool", 1)]
            ) as channel:
                stub = pb_grpc.IngestServiceStub(channel)  # type: ignore[no-untyped-call]
                [ack] = list(
                    stub.StreamScans(iter([batch]), metadata=auth_metadata(prepared.token))
                )
            verdicts = np.frombuffer(ack.verdicts, np.uint8)
            assert np.isin(verdicts, (Verdict.ACCEPTED, Verdict.DUPLICATE)).all()
            if (verdicts == Verdict.ACCEPTED).all():
                landed += 1
                break
    return landed


def _visit_key(v: Visits) -> list[tuple[int, int, int, int]]:
    columns = (v.venue.tolist(), v.t_in.tolist(), v.t_out.tolist(), v.person.tolist())
    return sorted(zip(*columns, strict=True))


def verify(root: Path, ledger: Ledger, processes: int, rounds: int, kills: int) -> Report:
    """Check the invariants in the module docstring; raise AssertionError on a violation."""
    assert not ledger.unacked(), "the clean final rounds left batches unacknowledged"
    sent = np.concatenate([np.frombuffer(b.scan_ids, "V16") for b in ledger.batches.values()])
    unique_sent = np.unique(sent)
    assert ledger.accepted + ledger.duplicate == len(sent), "a batch was answered twice"
    stored = []
    for k in range(processes):
        with HotStore(hot_dir(root, k)) as hot:
            stored.append(sum(len(hot.tail_scans(d)[0]) for d in hot.tail_days()))
    with MultiDataDir(root, processes) as data:
        days = data.hot.tail_days()
        tails = {d: data.hot.tail_scans(d)[0] for d in days}
        ids = np.concatenate([t["scan_id"] for t in tails.values()])
        assert len(np.unique(ids)) == len(ids), "a scan id is in the merged view twice"
        assert np.array_equal(np.sort(ids), unique_sent), "merged view != acknowledged scans"
        total = sum(data.totals.day(d).scans for d in data.totals.days())
        assert total == len(unique_sent), f"totals {total} != unique acked {len(unique_sent)}"
        expected = {
            d: _visit_key(build_visits(t, d, data.sealer.dwell_s)) for d, t in tails.items()
        }
        results = data.seal_all()
        sealed = sum(r.scans for r in results)
        assert sealed == len(unique_sent), f"sealed {sealed} != unique acked {len(unique_sent)}"
        for day, want in expected.items():
            got = Visits.concat(
                [Segment.open(data.segment_dir, e).visits for e in data.manifest.entries
                 if e.day == day]
            )  # fmt: skip
            assert _visit_key(got) == want, f"day {day}: sealed visits != visits of acked scans"
        assert data.hot.tail_days() == []
    return Report(
        rounds=rounds,
        kills=kills,
        batches=len(ledger.batches),
        acked_scans=len(sent),
        stored_per_process=tuple(stored),
        merged_scans=len(ids),
        cross_process_duplicates=sum(stored) - len(unique_sent),
        sealed_scans=sealed,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dir", type=Path)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    report = crash_rounds(args.dir, args.rounds, processes=args.processes, seed=args.seed)
    sys.stdout.write(f"{report} in {time.perf_counter() - started:.1f} s\n")


if __name__ == "__main__":
    main()
