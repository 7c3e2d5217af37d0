"""Ward scoping of trace results: keep only the rows a caller may see, before shaping them.

A ward officer sees the contacts who *live* in their ward (person directory home ward), not
the ones who happened to be at a venue there; people of unknown home ward (0) are routed to
city admins only. Filtering happens on the columnar `ContactTable` (numpy), so an officer of
one ward never costs the shaping of another ward's 200 rows, and the JSON builder in
tracing/results.py stays the one place documents are made.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import numpy.typing as npt

from tracing.results import ContactTable


def subset(table: ContactTable, rows: npt.NDArray[np.integer]) -> ContactTable:
    """The contacts `rows` (in that order) with their evidence rows, re-offset."""
    rows = np.asarray(rows, dtype=np.int64)
    counts = np.diff(table.ev_off)[rows]
    ev_off = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(counts, out=ev_off[1:])
    ev = np.repeat(table.ev_off[rows] - ev_off[:-1], counts) + np.arange(int(ev_off[-1]))
    return replace(
        table,
        person=table.person[rows],
        units=table.units[rows],
        day_max=table.day_max[rows],
        shared=table.shared[rows],
        first=table.first[rows],
        last=table.last[rows],
        high=table.high[rows],
        overlap_s=table.overlap_s[rows],
        ev_off=ev_off,
        ev_venue=table.ev_venue[ev],
        ev_start=table.ev_start[ev],
        ev_end=table.ev_end[ev],
        ev_units=table.ev_units[ev],
        ev_flags=table.ev_flags[ev],
        ev_case_flags=table.ev_case_flags[ev],
    )


def rows_in_scope(home_wards: npt.NDArray[np.uint8], ward: int | None) -> npt.NDArray[np.int64]:
    """Indexes of the rows a caller scoped to `ward` may see (None: all rows)."""
    if ward is None:
        return np.arange(len(home_wards), dtype=np.int64)
    return np.flatnonzero(home_wards == ward).astype(np.int64)
