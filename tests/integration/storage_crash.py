"""kill -9 crash harness for the storage tier: a child that writes (and seals), a driver that
kills it at random points, and a verifier. `tests/integration/test_storage_crash.py` runs it
CI-sized; for longer runs:

    python -m tests.integration.storage_crash --rounds 500 --mode seal /tmp/crash

The child appends to a journal, one line per batch, before submitting ("P <hex records>") and
after its future resolved ("A <hex records>"). Only newline-terminated lines count, so a kill
mid-line just loses that line.

In "seal" mode a second thread seals in a loop while the main thread writes, as the server's
maintenance thread does, and publishes "S" (sealing) / "s" (idle) in a one-byte state file.
The driver waits for "S", then kills within the next few milliseconds, so the kill lands at a
random step of a seal (building visits, writing a file, the manifest commit, the tail trim)
while batches are being acknowledged: every such round counts for both. Rounds continue past
`rounds` until `min_seal_kills` kills hit a seal in progress (capped), so the CI test meets
its count deterministically instead of by luck.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import struct
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rocksdict import Options, Rdict

from storage.datadir import DataDir
from storage.dedupe import Verdict
from storage.hotstore import parse_batch_key
from storage.records import RECORD_SIZE, SCAN_DTYPE, local_day, make_scans, unpack
from storage.segments import Segment
from storage.visits import build_visits

DAY = 19_700
N_SHARDS = 4
ROOT = Path(__file__).resolve().parents[2]


def _journal_lines(journal: Path) -> list[tuple[str, bytes]]:
    if not journal.exists():
        return []
    text = journal.read_bytes()
    complete = text[: text.rfind(b"\n") + 1].decode()
    out = []
    for line in complete.splitlines():
        # a kill mid-line leaves a prefix, which the next round's marker terminates: keep the
        # whole records in it (a prefix of an acked batch was still acked)
        payload = line[2:]
        usable = len(payload) - len(payload) % (2 * RECORD_SIZE)
        if line:
            out.append((line[0], bytes.fromhex(payload[:usable])))
    return out


def child(data_dir: Path, journal: Path, mode: str, seed: int) -> None:
    """Write batches forever (sealing now and then in "seal" mode) until killed."""
    rng = np.random.default_rng(seed)
    fd = os.open(journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    data = DataDir(data_dir, n_shards=N_SHARDS)
    acked = [records for kind, records in _journal_lines(journal) if kind == "A"]
    if acked:  # a retry of something acked before a crash must be a DUPLICATE
        retry = np.frombuffer(random.Random(seed).choice(acked), dtype=SCAN_DTYPE)
        if not (data.hot.submit(retry).result() == Verdict.DUPLICATE).all():
            os.write(fd, b"E retry of an acked batch was not a duplicate\n")
            os._exit(3)
    warm = make_scans(np.zeros((1, 16), np.uint8), 1, 1, DAY * 86_400)
    build_visits(warm, local_day(warm["t"])[0].item())  # JIT cache loaded before "ready"
    (data_dir / "ready").touch()
    if mode == "seal":
        threading.Thread(target=_sealer, args=(data, fd, seed), daemon=True).start()
    in_flight: list[tuple[bytes, object]] = []
    while True:
        n = int(rng.integers(1, 400))
        day = DAY + int(rng.integers(0, 2))
        scans = make_scans(
            rng.integers(0, 256, (n, 16), dtype=np.uint8),
            rng.integers(1, 500, n, dtype=np.uint64),
            rng.integers(1, 200, n, dtype=np.uint32),
            day * 86_400 - 7 * 3600 + rng.integers(0, 86_400, n),
            direction=rng.integers(0, 2, n, dtype=np.uint8),
            category=rng.integers(0, 19, n, dtype=np.uint8),
        )
        records = scans.tobytes()
        os.write(fd, b"P " + records.hex().encode() + b"\n")
        in_flight.append((records, data.hot.submit(scans)))
        while len(in_flight) > 8 or (in_flight and in_flight[0][1].done()):  # type: ignore[attr-defined]
            done_records, future = in_flight.pop(0)
            future.result()  # type: ignore[attr-defined]
            os.write(fd, b"A " + done_records.hex().encode() + b"\n")


def _sealer(data: DataDir, fd: int, seed: int) -> None:
    """Seal one of the two days again and again, publishing the state for the driver."""
    rng = np.random.default_rng(seed + 1)
    state = os.open(data.root / "seal_state", os.O_WRONLY | os.O_CREAT, 0o644)
    last = 0.0
    while True:
        time.sleep(float(rng.uniform(0.0, 0.005)))
        os.write(fd, b"S \n")
        os.pwrite(state, b"S" + struct.pack("<d", last), 0)
        started = time.perf_counter()
        data.sealer.seal_day(DAY + int(rng.integers(0, 2)))
        last = time.perf_counter() - started
        os.pwrite(state, b"s" + struct.pack("<d", last), 0)
        os.write(fd, b"s \n")


def _killed_mid_seal(lines: list[tuple[str, bytes]]) -> int:
    """Rounds (R ... R) whose last seal marker is an unfinished "S"."""
    count = 0
    last = ""
    for kind, _ in [*lines, ("R", b"")]:
        if kind == "R":
            count += last == "S"
            last = ""
        elif kind in "Ss":
            last = kind
    return count


@dataclass
class Report:
    """What the verifier found."""

    rounds: int
    acked_scans: int
    pending_batches: int
    kills_mid_seal: int
    logged_scans: int
    sealed_scans: int
    tail_scans: int
    segments: int


def verify(data_dir: Path, journal: Path) -> Report:
    """Assert the invariants; return counts for the report."""
    lines = _journal_lines(journal)
    assert not [r for k, r in lines if k == "E"], "a child reported an error"
    with DataDir(data_dir, n_shards=N_SHARDS) as data:
        tail_per_day = {d: len(data.hot.tail_scans(d)[0]) for d in data.hot.tail_days()}
        sealed = dict(data.manifest.sealed)
        segments = list(data.manifest.entries)
        for entry in segments:
            Segment.open(data.segment_dir, entry)  # every entry opens and verifies
    db = Rdict(str(data_dir / "hot"), Options(raw_mode=True))
    logged: Counter[bytes] = Counter()
    sealed_in_log: Counter[int] = Counter()
    tail_in_log: Counter[int] = Counter()
    try:
        for key, value in db.items():
            if key.startswith(b"\xff\xff\xff\xff"):
                continue
            day, _shard, seq = parse_batch_key(key)
            records = unpack(value, where=key.hex())  # checks size + crc: no torn value
            raw = records.tobytes()
            logged.update(raw[i : i + RECORD_SIZE] for i in range(0, len(raw), RECORD_SIZE))
            (sealed_in_log if seq <= sealed.get(day, -1) else tail_in_log)[day] += len(records)
    finally:
        db.close()
    assert all(c == 1 for c in logged.values()), "a scan is in the log twice"
    acked = 0
    pending = 0
    kills_mid_seal = _killed_mid_seal(lines)
    for kind, records in lines:
        if kind in "SsR":
            continue
        rows = [records[i : i + RECORD_SIZE] for i in range(0, len(records), RECORD_SIZE)]
        present = [r in logged for r in rows]
        if kind == "A":
            acked += len(rows)
            assert all(present), "an acknowledged scan was lost"
        else:
            pending += 1
            assert all(present) or not any(present), "a batch was torn"
    for day in set(sealed_in_log) | set(tail_in_log):
        in_segments = sum(e.scans for e in segments if e.day == day)
        assert in_segments == sealed_in_log[day], f"day {day}: segments disagree with the log"
        assert tail_per_day.get(day, 0) == tail_in_log[day], f"day {day}: tail disagrees"
    return Report(
        sum(kind == "R" for kind, _ in lines),
        acked,
        pending,
        kills_mid_seal,
        logged.total(),
        sum(sealed_in_log.values()),
        sum(tail_in_log.values()),
        len(segments),
    )


def crash_rounds(
    data_dir: Path, rounds: int, mode: str, seed: int = 0, min_seal_kills: int = 0
) -> Report:
    """Start the child, kill -9 it after a random delay, `rounds` times (more in "seal" mode
    until `min_seal_kills` kills hit a seal, at most 3 × rounds); then verify."""
    rng = random.Random(seed)
    journal = data_dir / "journal.txt"
    data_dir.mkdir(parents=True, exist_ok=True)
    seal_kills = 0
    i = 0
    while i < rounds or (seal_kills < min_seal_kills and i < 3 * max(rounds, min_seal_kills)):
        (data_dir / "seal_state").unlink(missing_ok=True)
        (data_dir / "ready").unlink(missing_ok=True)
        with journal.open("ab") as handle:  # a round marker; the child may have died mid-line
            handle.write(b"\nR \n")
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.integration.storage_crash",
                "--child",
                "--mode",
                mode,
                "--seed",
                str(seed * 100_000 + i),
                str(data_dir),
            ],
            cwd=ROOT,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 30
        while not (data_dir / "ready").exists():
            if proc.poll() is not None:
                raise AssertionError(f"child exited early: {proc.stderr.read().decode()}")  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "child never became ready"
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.2 if mode == "write" else 0.05))
        if mode == "seal":
            # after one completed seal, kill at a uniform point of the next one
            last = _await_seal(data_dir / "seal_state", proc)
            time.sleep(rng.uniform(0.0, last))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.stderr is not None
        proc.stderr.close()
        if mode == "seal" and (data_dir / "seal_state").read_bytes()[:1] == b"S":
            seal_kills += 1
        i += 1
    return verify(data_dir, journal)


def _await_seal(state: Path, proc: subprocess.Popen[bytes]) -> float:
    """Spin until a seal is in progress after one completed; return the last one's seconds."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            raw = state.read_bytes()
        except FileNotFoundError:
            raw = b""
        if len(raw) == 9 and raw[:1] == b"S":
            last = float(struct.unpack("<d", raw[1:])[0])
            if last > 0:
                return last
        time.sleep(0.0002)
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--mode", choices=["write", "seal"], default="write")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-seal-kills", type=int, default=0)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.data_dir, args.data_dir / "journal.txt", args.mode, args.seed)
    else:
        print(crash_rounds(args.data_dir, args.rounds, args.mode, args.seed, args.min_seal_kills))


if __name__ == "__main__":
    main()
