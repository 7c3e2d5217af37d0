"""Full results for many cases in one pass: `trace_cases`.

`TraceEngine.trace_many` returns the ranked columns of a batch (enough for F2 and clusters);
an officer's worklist or a day's export needs each case's whole result: evidence, check-out
labels, case visits. Calling `trace_case` per case costs one pass per case, and on a Dask
cluster two network rounds per case; this runs the batch once (parallel kernels, or two
rounds in all on a cluster) and slices the combined contact table per case. Each slice equals
what `trace_case` returns for that case (same kernels, same order; checked by the tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from tracing.engine import PersonIds, TraceEngine, Window
from tracing.results import CaseVisit, ContactTable, TraceResult
from tracing.rules import RuleSet


def trace_cases(
    engine: TraceEngine, person_ids: PersonIds, windows: Sequence[Window], rules: RuleSet
) -> list[TraceResult]:
    """One `TraceResult` per case, as `engine.trace_case` would give each, in one pass."""
    done = engine.batch_pass(person_ids, windows, rules)
    persons, cv_off, merged = done.persons, done.cv_off, done.merged
    table = ContactTable.build(
        parts=done.parts, pieces=done.pieces, agg=done.agg, w_venue=done.w_venue,
        w_src=done.w_src, case_cols=merged,
    )  # fmt: skip
    c_off = done.agg[0]
    out = []
    for c, (person, window) in enumerate(zip(persons.tolist(), windows, strict=True)):
        mine = {k: v[cv_off[c] : cv_off[c + 1]] for k, v in merged.items()}
        rows = _rows(table, int(c_off[c]), int(c_off[c + 1]))
        visits = CaseVisit.from_columns(mine, engine.venues)
        out.append(
            TraceResult.build(
                "case", rules, window, rows, engine, case_person=person, case_visits=visits
            )
        )
    return out


def _rows(table: ContactTable, lo: int, hi: int) -> ContactTable:
    """Contacts `lo:hi` with their evidence, offsets re-based."""
    a, b = int(table.ev_off[lo]), int(table.ev_off[hi])
    return replace(
        table,
        person=table.person[lo:hi],
        units=table.units[lo:hi],
        day_max=table.day_max[lo:hi],
        shared=table.shared[lo:hi],
        first=table.first[lo:hi],
        last=table.last[lo:hi],
        high=table.high[lo:hi],
        overlap_s=table.overlap_s[lo:hi],
        ev_off=table.ev_off[lo : hi + 1] - a,
        ev_venue=table.ev_venue[a:b],
        ev_start=table.ev_start[a:b],
        ev_end=table.ev_end[a:b],
        ev_units=table.ev_units[a:b],
        ev_flags=table.ev_flags[a:b],
        ev_case_flags=table.ev_case_flags[a:b],
    )
