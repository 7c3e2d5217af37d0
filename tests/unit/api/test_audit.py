"""The audit log: appends verify; 1,000 random edits, deletions and reorderings all detected."""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import pytest

from api.audit import AuditEntry, AuditLog, verify
from api.errors import AuditVerifyError, AuditWriteError


def _entry(i: int) -> AuditEntry:
    return AuditEntry(
        officer=f"officer-{i % 3}", role="officer", ward=1 + i % 3, operation="TraceCase",
        case=f"F0-{i:06d}", purpose="tracing", rows=i * 7 % 50, request_id=f"req{i}",
    )  # fmt: skip


def _write(directory: Path, n: int) -> None:
    log = AuditLog(directory)
    for i in range(n):
        log.append(_entry(i))
    log.close()


def test_appends_verify_and_survive_reopen(tmp_path: Path) -> None:
    _write(tmp_path, 5)
    log = AuditLog(tmp_path)
    assert log.seq == 5
    log.append(_entry(5))
    log.close()
    report = verify(tmp_path)
    assert report.entries == 6
    assert report.head_seq == 5


def _mutate(lines: list[bytes], rng: random.Random) -> list[bytes]:
    kind = rng.choice(["edit", "delete", "swap", "duplicate", "delete_tail", "field"])
    out = list(lines)
    i = rng.randrange(len(out))
    if kind == "edit":
        line = bytearray(out[i])
        j = rng.randrange(len(line) - 1)
        old = line[j]
        line[j] = rng.choice([c for c in b'0123456789abcdef{} ,:x"' if c != old])
        out[i] = bytes(line)
    elif kind == "delete":
        del out[i]
    elif kind == "swap":
        j = rng.choice([k for k in range(len(out)) if k != i])
        out[i], out[j] = out[j], out[i]
    elif kind == "duplicate":
        out.insert(i, out[i])
    elif kind == "delete_tail":
        del out[len(out) - rng.randint(1, 5) :]
    else:
        out[i] = out[i].replace(b'"rows":', b'"rows":1', 1)
    return out


def test_one_thousand_random_tamperings_are_all_detected(tmp_path: Path) -> None:
    original = tmp_path / "orig"
    _write(original, 60)
    lines = (original / "audit.log").read_bytes().splitlines(keepends=True)
    rng = random.Random(6)
    detected = 0
    work = tmp_path / "work"
    for _ in range(1000):
        mutated = _mutate(lines, rng)
        if mutated == lines:
            mutated = lines[:-1]
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(original, work)
        (work / "audit.log").write_bytes(b"".join(mutated))
        try:
            verify(work)
        except AuditVerifyError:
            detected += 1
    assert detected == 1000


def test_a_failed_write_refuses(tmp_path: Path) -> None:
    os.symlink("/dev/full", tmp_path / "audit.log")
    log = AuditLog(tmp_path)
    with pytest.raises(AuditWriteError):
        log.append(_entry(0))
