"""The hash-chained audit log: who looked at which people, when, why, and how many rows.

Every trace, export, person lookup and refusal appends one JSON line *before* any data is
returned; the line is fsynced, and a failed write fails the request (AuditWriteError), so no
officer ever sees data the log does not record.

Chain: each entry carries `seq` (0, 1, ...), `prev` (the previous entry's hash; 64 zeros for
the first) and `hash` = SHA-256 of the entry's canonical JSON without `hash` (sorted keys,
orjson). `verify` recomputes every hash and also requires each line to be byte-for-byte the
canonical form, so any edit (even whitespace), deletion, insertion or reordering breaks it.
Deleting the *last* entries leaves a valid shorter chain, so the head (`seq hash` of the
last entry) is also written to `audit.head` after each append; verify refuses a log shorter
than its head. Someone who can rewrite both files and recompute hashes defeats any unkeyed
chain: ship `qrtrace audit verify`'s head line to another system (or a WORM store) daily.

One lock serialises appends (one fsync each, ~2 ms on the development disk); the head file
is rewritten in place without its own fsync: after a crash it may lag the log (still valid:
the log is checked from the head onwards), never lead it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import orjson

from api.errors import AuditVerifyError, AuditWriteError

GENESIS: Final = "0" * 64
_HEAD_SIZE: Final = 96
FIELDS: Final = (
    "seq",
    "time",
    "officer",
    "role",
    "ward",
    "operation",
    "case",
    "purpose",
    "rows",
    "request_id",
    "outcome",
    "detail",
    "prev",
)


def _canonical(entry: dict[str, Any]) -> bytes:
    return orjson.dumps(entry, option=orjson.OPT_SORT_KEYS)


def _hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(_canonical(body)).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """What the caller records; seq, time, prev and hash are added by the log."""

    officer: str
    role: str
    ward: int | None
    operation: str
    case: str | None
    purpose: str
    rows: int
    request_id: str
    outcome: str = "ok"  # ok | denied | error
    detail: str | None = None


class AuditLog:
    """Append-only, fsynced, hash-chained JSON lines under `directory`."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / "audit.log"
        self.head_path = self.directory / "audit.head"
        self._lock = threading.Lock()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._head_fd = os.open(self.head_path, os.O_RDWR | os.O_CREAT, 0o600)
        self.seq, self.last_hash = self._recover()

    def _recover(self) -> tuple[int, str]:
        """Next seq and last hash from the file's tail; an unacked partial line is dropped."""
        size = os.fstat(self._fd).st_size
        if size == 0 or not self.path.is_file():
            return 0, GENESIS
        with self.path.open("rb") as f:
            f.seek(max(0, size - 65_536))
            tail = f.read()
        if not tail.endswith(b"\n"):
            cut = tail.rfind(b"\n")
            keep = size - len(tail) + cut + 1
            os.truncate(self.path, keep)
            tail = tail[: cut + 1]
        lines = tail.rstrip(b"\n").split(b"\n")
        if not lines or not lines[-1]:
            return 0, GENESIS
        last = orjson.loads(lines[-1])
        return int(last["seq"]) + 1, str(last["hash"])

    def append(self, entry: AuditEntry) -> dict[str, Any]:
        """Write one entry durably (fsync) or raise AuditWriteError; returns the entry."""
        with self._lock:
            body: dict[str, Any] = {
                "seq": self.seq,
                "time": round(time.time(), 3),
                "officer": entry.officer,
                "role": entry.role,
                "ward": entry.ward,
                "operation": entry.operation,
                "case": entry.case,
                "purpose": entry.purpose,
                "rows": entry.rows,
                "request_id": entry.request_id,
                "outcome": entry.outcome,
                "detail": entry.detail,
                "prev": self.last_hash,
            }
            body["hash"] = _hash(body)
            line = _canonical(body) + b"\n"
            try:
                written = os.write(self._fd, line)
                if written != len(line):
                    raise OSError(f"short write: {written} of {len(line)} bytes")
                os.fsync(self._fd)
                head = f"{body['seq']} {body['hash']}".encode().ljust(_HEAD_SIZE - 1) + b"\n"
                os.pwrite(self._head_fd, head, 0)
            except OSError as exc:
                raise AuditWriteError(
                    f"audit log {self.path}: write failed ({exc.strerror or exc}); "
                    "the request was refused because it could not be recorded"
                ) from None
            self.seq += 1
            self.last_hash = body["hash"]
            return body

    def close(self) -> None:
        """Close the files (appends afterwards fail)."""
        with self._lock:
            for fd in (self._fd, self._head_fd):
                with contextlib.suppress(OSError):
                    os.close(fd)


def read_entries(path: Path) -> Iterator[dict[str, Any]]:
    """Entries of a log file, in file order (no verification)."""
    with Path(path).open("rb") as f:
        for line in f:
            if line.strip():
                yield orjson.loads(line)


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """A log that verified: how many entries, and its head."""

    entries: int
    head_seq: int
    head_hash: str


def verify(directory: Path) -> VerifyReport:
    """Check every entry's hash, order and canonical form, and the head; AuditVerifyError
    names the first bad line."""
    directory = Path(directory)
    path, head_path = directory / "audit.log", directory / "audit.head"
    prev, seq = GENESIS, 0
    data = path.read_bytes() if path.exists() else b""
    if data and not data.endswith(b"\n"):
        raise AuditVerifyError(f"{path}: last line is incomplete (truncated?)")
    hashes: list[str] = []
    for lineno, line in enumerate(data.split(b"\n")[:-1] if data else [], start=1):
        where = f"{path}:{lineno}"
        try:
            entry = orjson.loads(line)
        except orjson.JSONDecodeError:
            raise AuditVerifyError(f"{where}: not a JSON entry (edited?)") from None
        if not isinstance(entry, dict) or set(entry) != {*FIELDS, "hash"}:
            raise AuditVerifyError(f"{where}: fields differ from an audit entry (edited?)")
        if entry["seq"] != seq:
            raise AuditVerifyError(
                f"{where}: seq {entry['seq']}, expected {seq} (deleted or reordered?)"
            )
        if entry["prev"] != prev:
            raise AuditVerifyError(f"{where}: chain broken, prev hash does not match")
        body = {k: v for k, v in entry.items() if k != "hash"}
        if _hash(body) != entry["hash"]:
            raise AuditVerifyError(f"{where}: hash mismatch (entry edited)")
        if _canonical(entry) != line:
            raise AuditVerifyError(f"{where}: not in canonical form (edited)")
        prev, seq = entry["hash"], seq + 1
        hashes.append(prev)
    head_raw = head_path.read_bytes().strip() if head_path.exists() else b""
    if head_raw:
        try:
            head_seq_text, head_hash = head_raw.decode().split()
            head_seq = int(head_seq_text)
        except ValueError:
            raise AuditVerifyError(f"{head_path}: unreadable head") from None
        if head_seq >= len(hashes) or hashes[head_seq] != head_hash:
            raise AuditVerifyError(
                f"{head_path}: head is entry {head_seq} but the log has {len(hashes)} entries"
                " or a different hash there (entries deleted from the end?)"
            )
    elif hashes:
        raise AuditVerifyError(f"{head_path}: missing while the log has entries")
    return VerifyReport(len(hashes), len(hashes) - 1, prev)


def report(directory: Path, officer: str | None = None) -> list[dict[str, Any]]:
    """Entries (optionally of one officer), for `qrtrace audit report`."""
    path = Path(directory) / "audit.log"
    if not path.exists():
        return []
    return [e for e in read_entries(path) if officer is None or e["officer"] == officer]
