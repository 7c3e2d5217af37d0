"""Cases (F0), their recorded contacts and follow-up status, in one SQLite file.

Why SQLite: these are small, relational, updated rows (thousands of cases, a few hundred
thousand contact rows, per-person statuses) that officers filter, join and page — the
opposite of the scan log. One process (the server) owns the file; writes are transactions
with `synchronous=FULL` in WAL mode, so a registered case or a status update survives a crash.

Person ids are 64-bit pseudonyms; SQLite integers are signed, so they are stored shifted by
2**63 (`_db_id`). A contact row is (case, person, home ward, tier, score, reason); the ward
worklist folds them per person, keeping the highest-risk row (high tier first, then score)
and listing every case that reached the person. Follow-up status lives per person: a person
already handled is not re-listed as "to call" when a new case reaches them, but flagged
`reached_again`.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Final

from storage.errors import InvalidInputError

STATUSES: Final = ("to_call", "called", "isolating", "tested", "unreachable")
_SHIFT: Final = 1 << 63

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS cases (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  person INTEGER NOT NULL,
  ward INTEGER NOT NULL,
  sample_date TEXT NOT NULL,
  onset_date TEXT,
  external_id TEXT UNIQUE,
  status TEXT NOT NULL DEFAULT 'queued',
  contacts INTEGER NOT NULL DEFAULT 0,
  high_tier INTEGER NOT NULL DEFAULT 0,
  registered_at REAL NOT NULL,
  registered_by TEXT NOT NULL,
  traced_at REAL
);
CREATE INDEX IF NOT EXISTS cases_ward ON cases(ward);
CREATE INDEX IF NOT EXISTS cases_status ON cases(status);
CREATE TABLE IF NOT EXISTS contacts (
  case_id INTEGER NOT NULL,
  person INTEGER NOT NULL,
  home_ward INTEGER NOT NULL,
  high INTEGER NOT NULL,
  score REAL NOT NULL,
  tier TEXT NOT NULL,
  reason TEXT NOT NULL,
  traced_at REAL NOT NULL,
  PRIMARY KEY (case_id, person)
);
CREATE INDEX IF NOT EXISTS contacts_ward ON contacts(home_ward, person);
CREATE TABLE IF NOT EXISTS follow_up (
  person INTEGER PRIMARY KEY,
  status TEXT NOT NULL,
  updated_at REAL NOT NULL,
  updated_by TEXT NOT NULL
);
"""


def _db_id(person: int) -> int:
    return int(person) - _SHIFT


def _person(db_id: int) -> int:
    return int(db_id) + _SHIFT


def case_label(case_id: int) -> str:
    """The public id of a case: F0-000123."""
    return f"F0-{case_id:06d}"


def parse_case_label(text: str, field: str = "case_id") -> int:
    """The row id of `F0-000123` (or `123`), else InvalidInputError."""
    value = text.strip().upper().removeprefix("F0-")
    if not value.isdigit() or len(value) > 12:
        raise InvalidInputError(field, f"{text!r} is not a case id; expected F0-000123")
    return int(value)


@dataclass(frozen=True, slots=True)
class CaseRow:
    """One registered F0."""

    id: int
    person: int
    ward: int
    sample_date: date
    onset_date: date | None
    external_id: str | None
    status: str
    contacts: int
    high_tier: int
    registered_at: float
    registered_by: str

    @property
    def label(self) -> str:
        return case_label(self.id)


@dataclass(frozen=True, slots=True)
class ContactRow:
    """One contact a case's trace found (to record)."""

    person: int
    home_ward: int
    high: bool
    score: float
    tier: str
    reason: str


@dataclass(frozen=True, slots=True)
class WorklistEntry:
    """One person on a ward worklist: the highest-risk reason over every case."""

    person: int
    home_ward: int
    tier: str
    score: float
    reason: str
    case_ids: list[int]
    status: str
    reached_again: bool
    status_updated_at: float | None


def _case(row: Sequence[Any]) -> CaseRow:
    return CaseRow(
        id=row[0],
        person=_person(row[1]),
        ward=row[2],
        sample_date=date.fromisoformat(row[3]),
        onset_date=date.fromisoformat(row[4]) if row[4] else None,
        external_id=row[5],
        status=row[6],
        contacts=row[7],
        high_tier=row[8],
        registered_at=row[9],
        registered_by=row[10],
    )


_CASE_COLS: Final = (
    "id, person, ward, sample_date, onset_date, external_id, status, contacts, high_tier,"
    " registered_at, registered_by"
)


class CaseStore:
    """The SQLite file of cases, contacts and follow-up; thread-safe (one connection, a lock)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    # ------------------------------------------------------------ cases

    def register(
        self,
        *,
        person: int,
        ward: int,
        sample_date: date,
        onset_date: date | None,
        external_id: str | None,
        by: str,
    ) -> tuple[CaseRow, bool]:
        """(case, created); an `external_id` seen before returns the existing case."""
        with self._lock:
            if external_id:
                row = self._db.execute(
                    f"SELECT {_CASE_COLS} FROM cases WHERE external_id = ?", (external_id,)
                ).fetchone()
                if row is not None:
                    return _case(row), False
            cur = self._db.execute(
                "INSERT INTO cases (person, ward, sample_date, onset_date, external_id,"
                " registered_at, registered_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    _db_id(person),
                    ward,
                    sample_date.isoformat(),
                    onset_date.isoformat() if onset_date else None,
                    external_id or None,
                    time.time(),
                    by,
                ),
            )
            row = self._db.execute(
                f"SELECT {_CASE_COLS} FROM cases WHERE id = ?", (cur.lastrowid,)
            ).fetchone()
        return _case(row), True

    def get(self, case_id: int) -> CaseRow | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_CASE_COLS} FROM cases WHERE id = ?", (case_id,)
            ).fetchone()
        return None if row is None else _case(row)

    def list_cases(
        self, *, ward: int | None, limit: int, offset: int, status: str | None = None
    ) -> tuple[list[CaseRow], int]:
        """Cases (newest first) of one ward or all, and how many match."""
        where: list[str] = []
        args: list[int | str] = []
        if ward is not None:
            where.append("ward = ?")
            args.append(ward)
        if status is not None:
            where.append("status = ?")
            args.append(status)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        with self._lock:
            total = self._db.execute(f"SELECT COUNT(*) FROM cases {clause}", args).fetchone()[0]
            rows = self._db.execute(
                f"SELECT {_CASE_COLS} FROM cases {clause} ORDER BY id DESC LIMIT ? OFFSET ?",
                [*args, limit, offset],
            ).fetchall()
        return [_case(r) for r in rows], int(total)

    def queued(self, limit: int = 1000) -> list[CaseRow]:
        """Cases registered but not traced yet, oldest first."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_CASE_COLS} FROM cases WHERE status = 'queued' ORDER BY id LIMIT ?",
                (limit,),
            ).fetchall()
        return [_case(r) for r in rows]

    def record_trace(self, case_id: int, contacts: Iterable[ContactRow]) -> None:
        """Replace a case's recorded contacts with a new trace's, in one transaction."""
        now = time.time()
        rows = [
            (case_id, _db_id(c.person), c.home_ward, int(c.high), c.score, c.tier, c.reason, now)
            for c in contacts
        ]
        high = sum(r[3] for r in rows)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("DELETE FROM contacts WHERE case_id = ?", (case_id,))
                self._db.executemany("INSERT INTO contacts VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
                self._db.execute(
                    "UPDATE cases SET status = 'traced', contacts = ?, high_tier = ?,"
                    " traced_at = ? WHERE id = ?",
                    (len(rows), high, now, case_id),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    # ------------------------------------------------------------ follow-up

    def statuses(self, persons: Sequence[int]) -> dict[int, tuple[str, float]]:
        """Follow-up (status, updated_at) of the persons that have one."""
        if not len(persons):
            return {}
        out: dict[int, tuple[str, float]] = {}
        ids = [_db_id(p) for p in persons]
        with self._lock:
            for lo in range(0, len(ids), 500):
                chunk = ids[lo : lo + 500]
                marks = ",".join("?" * len(chunk))
                for pid, status, at in self._db.execute(
                    f"SELECT person, status, updated_at FROM follow_up WHERE person IN ({marks})",
                    chunk,
                ):
                    out[_person(pid)] = (status, at)
        return out

    def set_statuses(self, updates: Sequence[tuple[int, str]], by: str) -> int:
        """Set many follow-up statuses in one transaction."""
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT INTO follow_up VALUES (?, ?, ?, ?) ON CONFLICT(person) DO UPDATE"
                    " SET status = excluded.status, updated_at = excluded.updated_at,"
                    " updated_by = excluded.updated_by",
                    [(_db_id(p), s, now, by) for p, s in updates],
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return len(updates)

    def worklist(
        self, *, ward: int | None, status: str | None, limit: int, offset: int
    ) -> tuple[list[WorklistEntry], int]:
        """One row per person reached (of a ward, or all): highest-risk reason, every case."""
        where: list[str] = []
        args: list[int | str] = []
        if ward is not None:
            where.append("c.home_ward = ?")
            args.append(ward)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        status_clause = ""
        if status == "to_call":
            status_clause = "WHERE (f.status IS NULL OR f.status = 'to_call')"
        elif status is not None:
            status_clause = "WHERE f.status = ?"
        query = f"""
        WITH ranked AS (
          SELECT c.*, ROW_NUMBER() OVER (
            PARTITION BY c.person ORDER BY c.high DESC, c.score DESC, c.case_id) AS k,
            GROUP_CONCAT(c.case_id) OVER (PARTITION BY c.person) AS cases,
            MAX(c.traced_at) OVER (PARTITION BY c.person) AS last_traced
          FROM contacts c {clause}
        )
        SELECT r.person, r.home_ward, r.tier, r.score, r.reason, r.cases, f.status,
               f.updated_at, r.last_traced, COUNT(*) OVER () AS total
        FROM ranked r LEFT JOIN follow_up f ON f.person = r.person
        {status_clause} {"AND" if status_clause else "WHERE"} r.k = 1
        ORDER BY r.high DESC, r.score DESC, r.person LIMIT ? OFFSET ?
        """
        params: list[int | str] = [*args]
        if status is not None and status != "to_call":
            params.append(status)
        with self._lock:
            rows = self._db.execute(query, [*params, limit, offset]).fetchall()
        total = int(rows[0][9]) if rows else 0
        entries = [
            WorklistEntry(
                person=_person(r[0]),
                home_ward=r[1],
                tier=r[2],
                score=r[3],
                reason=r[4],
                case_ids=sorted({int(x) for x in str(r[5]).split(",")}),
                status=r[6] or "to_call",
                reached_again=r[6] is not None and r[6] != "to_call" and r[8] > r[7],
                status_updated_at=r[7],
            )
            for r in rows
        ]
        return entries, total

    # ------------------------------------------------------------ reports

    def follow_up_counts(self) -> dict[int, tuple[int, int, int]]:
        """Per ward: (F0 registered, F1 = high-tier persons living there, F1 with a status
        other than to_call)."""
        with self._lock:
            f0 = dict(self._db.execute("SELECT ward, COUNT(*) FROM cases GROUP BY ward"))
            f1 = {
                w: (n, u)
                for w, n, u in self._db.execute(
                    "SELECT p.home_ward, COUNT(*), SUM(CASE WHEN f.status IS NOT NULL AND"
                    " f.status != 'to_call' THEN 1 ELSE 0 END) FROM (SELECT person,"
                    " MAX(home_ward) AS home_ward FROM contacts WHERE high = 1 GROUP BY person)"
                    " p LEFT JOIN follow_up f ON f.person = p.person GROUP BY p.home_ward"
                )
            }
        wards = set(f0) | set(f1)
        return {
            int(w): (int(f0.get(w, 0)), int(f1.get(w, (0, 0))[0]), int(f1.get(w, (0, 0))[1] or 0))
            for w in wards
        }

    def new_cases_per_ward(self, first: date, last: date) -> dict[int, int]:
        """Per ward: cases whose sample date lies in [first, last] (the zone-level count)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT ward, COUNT(*) FROM cases WHERE sample_date BETWEEN ? AND ? GROUP BY ward",
                (first.isoformat(), last.isoformat()),
            ).fetchall()
        return {int(w): int(n) for w, n in rows}

    def newest_sample_date(self) -> date | None:
        """The latest sample date of any registered case (None: no cases yet)."""
        with self._lock:
            row = self._db.execute("SELECT MAX(sample_date) FROM cases").fetchone()
        return date.fromisoformat(row[0]) if row and row[0] else None

    def close(self) -> None:
        with self._lock:
            self._db.close()
