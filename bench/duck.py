"""The DuckDB baseline of every tracing query, on the same visits the engine indexes.

Why a module of its own: each bench group compares the engine with DuckDB *and* checks that
both give the same answer before anything is timed, so the SQL forms live in one place.

Two physical layouts, as DESIGN §9 anchors them:
- **as loaded**: the visits table in generation order, one self-join per query;
- **tuned**: a copy sorted by person (to look the case's visits up first) and a copy sorted
  by (venue, t_in), queried with the venues and time range of the case (zone maps prune).

Semantics are the `plain` rule set on observed intervals: half-open `[t_in, t_out)`, overlap
> 0, score = overlap seconds summed over the case's visits (people never overlap themselves in
the synthetic city, so no interval merging is needed).
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import numpy as np

from storage.visits import Visits
from tracing.engine import Window

AS_LOADED = """
    WITH f AS (
        SELECT venue, greatest(t_in, $lo) AS a, least(t_out, $hi) AS b FROM visits
        WHERE person = $p AND t_in < $hi AND t_out > $lo
    )
    SELECT c.person, sum(least(c.t_out, f.b) - greatest(c.t_in, f.a)) AS score
    FROM f JOIN visits c ON c.venue = f.venue AND c.t_in < f.b AND c.t_out > f.a
    WHERE c.person <> $p
    GROUP BY c.person ORDER BY score DESC, c.person
"""

EXPOSURE = """
    SELECT person, sum(least(t_out, $hi) - greatest(t_in, $lo)) AS score FROM {table}
    WHERE venue = $v AND t_in < $hi AND t_out > $lo
    GROUP BY person ORDER BY score DESC, person
"""

BATCH = """
    WITH f AS (
        SELECT k.case_no, v.venue, greatest(v.t_in, k.lo) AS a, least(v.t_out, k.hi) AS b
        FROM cases k JOIN visits v ON v.person = k.person AND v.t_in < k.hi AND v.t_out > k.lo
    )
    SELECT f.case_no, c.person, sum(least(c.t_out, f.b) - greatest(c.t_in, f.a)) AS score
    FROM f JOIN visits c ON c.venue = f.venue AND c.t_in < f.b AND c.t_out > f.a
    JOIN cases k ON k.case_no = f.case_no
    WHERE c.person <> k.person
    GROUP BY f.case_no, c.person
"""

CASE_VENUES = """
    SELECT k.case_no, v.venue FROM cases k
    JOIN visits v ON v.person = k.person AND v.t_in >= k.lo AND v.t_in < k.hi
"""


class DuckBaseline:
    """One in-memory DuckDB database holding `visits` (as loaded), `sorted` and `by_person`."""

    def __init__(self, visits: Visits, *, memory_limit: str = "6GB") -> None:
        self.con = duckdb.connect()
        self.con.execute(f"SET memory_limit = '{memory_limit}'")
        columns = {
            "venue": visits.venue.astype(np.int64),
            "t_in": visits.t_in.astype(np.int64),
            "t_out": visits.t_out.astype(np.int64),
            "person": visits.person,
        }
        self.con.register("v", columns)
        self.con.execute("CREATE TABLE visits AS SELECT * FROM v")
        self.con.execute("CREATE TABLE sorted AS SELECT * FROM v ORDER BY venue, t_in")
        self.con.execute("CREATE TABLE by_person AS SELECT * FROM v ORDER BY person, t_in")
        self.con.unregister("v")
        self.max_len = (
            int((visits.t_out.astype(np.int64) - visits.t_in).max()) if len(visits) else 0
        )
        self.version = duckdb.__version__

    def close(self) -> None:
        self.con.close()

    def as_loaded(self, person: int, window: Window) -> list[tuple[int, int]]:
        """Contacts (person, overlap seconds) by one self-join on the table as loaded."""
        rows = self.con.execute(AS_LOADED, {"p": person, "lo": window.lo, "hi": window.hi})
        return [(int(a), int(b)) for a, b in rows.fetchall()]

    def tuned(self, person: int, window: Window) -> list[tuple[int, int]]:
        """Case visits first (person-sorted copy), then a pruned join on the venue-sorted copy."""
        own = self.con.execute(
            "SELECT venue, greatest(t_in, $lo), least(t_out, $hi) FROM by_person "
            "WHERE person = $p AND t_in < $hi AND t_out > $lo",
            {"p": person, "lo": window.lo, "hi": window.hi},
        ).fetchall()
        if not own:
            return []
        values = ", ".join(f"({v}, {a}, {b})" for v, a, b in own)
        venues_in = ", ".join(str(v) for v, _, _ in own)
        lo = min(a for _, a, _ in own) - self.max_len
        hi = max(b for _, _, b in own)
        rows = self.con.execute(
            f"SELECT c.person, sum(least(c.t_out, f.b) - greatest(c.t_in, f.a)) AS score "
            f"FROM sorted c JOIN (VALUES {values}) f(venue, a, b) "
            f"ON c.venue = f.venue AND c.t_in < f.b AND c.t_out > f.a "
            f"WHERE c.venue IN ({venues_in}) AND c.t_in >= {lo} AND c.t_in < {hi} "
            f"AND c.person <> {person} GROUP BY c.person ORDER BY score DESC, c.person"
        ).fetchall()
        return [(int(a), int(b)) for a, b in rows]

    def exposure(self, venue: int, window: Window, *, tuned: bool) -> list[tuple[int, int]]:
        """Everyone at `venue` during `window` with their overlap seconds."""
        sql = EXPOSURE.format(table="sorted" if tuned else "visits")
        rows = self.con.execute(sql, {"v": venue, "lo": window.lo, "hi": window.hi})
        return [(int(a), int(b)) for a, b in rows.fetchall()]

    def _cases(self, persons: Sequence[int], windows: Sequence[Window]) -> None:
        table = {
            "case_no": np.arange(len(persons), dtype=np.int64),
            "person": np.asarray(persons, dtype=np.uint64),
            "lo": np.array([w.lo for w in windows], dtype=np.int64),
            "hi": np.array([w.hi for w in windows], dtype=np.int64),
        }
        self.con.register("k", table)
        self.con.execute("CREATE OR REPLACE TEMP TABLE cases AS SELECT * FROM k")
        self.con.unregister("k")

    def batch(
        self, persons: Sequence[int], windows: Sequence[Window]
    ) -> dict[int, list[tuple[int, int]]]:
        """Contacts of many cases in one query: {case number: sorted (person, seconds)}."""
        self._cases(persons, windows)
        out: dict[int, list[tuple[int, int]]] = {i: [] for i in range(len(persons))}
        for case_no, person, score in self.con.execute(BATCH).fetchall():
            out[int(case_no)].append((int(person), int(score)))
        for rows in out.values():
            rows.sort()
        return out

    def case_venues(self, persons: Sequence[int], windows: Sequence[Window]) -> dict[int, set[int]]:
        """Venues each case visited with t_in inside its window (the clusters' venue edges)."""
        self._cases(persons, windows)
        out: dict[int, set[int]] = {i: set() for i in range(len(persons))}
        for case_no, venue in self.con.execute(CASE_VENUES).fetchall():
            out[int(case_no)].add(int(venue))
        return out
