"""F2 candidates: people co-located with an F1 after that F1's exposure (DESIGN §3).

An F1 may already be infectious after meeting the F0, so everyone who shared a venue with
them from their first exposure on, for `f2_days` days, is a candidate. Candidates are a
lower priority than F1s: they come out in their own list, never mixed into the ranking, and
exclude the F0 and everyone already on the F1 list. One parallel batch call traces every F1.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tracing.engine import TraceEngine, Window
from tracing.results import TraceResult, iso


def f2_candidates(
    engine: TraceEngine, result: TraceResult, *, limit: int = 500
) -> list[dict[str, Any]]:
    """Lower-priority candidates reached through the high-tier contacts of `result`."""
    table = result.table
    f1 = table.person[table.high]
    if len(f1) == 0 or result.case_person is None:
        return []
    days = int(result.rules["f2_days"])
    starts = table.first[table.high]
    windows = [Window(int(s), int(s) + max(days, 1) * 86_400) for s in starts]
    batch = engine.trace_many(f1, windows, result.rules)
    known = {int(result.case_person), *(int(p) for p in table.person)}
    best: dict[int, tuple[int, int, int]] = {}  # person -> (units, first exposure, via F1)
    for i, via in enumerate(f1.tolist()):
        lo, hi = int(batch.c_off[i]), int(batch.c_off[i + 1])
        for person, units, first in zip(
            batch.person[lo:hi].tolist(),
            batch.units[lo:hi].tolist(),
            batch.first[lo:hi].tolist(),
            strict=True,
        ):
            if person in known:
                continue
            old = best.get(person)
            if old is None or (-units, first, via) < (-old[0], old[1], old[2]):
                best[person] = (units, first, via)
    ranked = sorted(best.items(), key=lambda kv: (-kv[1][0], kv[1][1], kv[0]))[:limit]
    if not ranked:
        return []
    persons = np.array([p for p, _ in ranked], dtype=np.uint64)
    vias = np.array([v[2] for _, v in ranked], dtype=np.uint64)
    refs = engine.people.references(persons)
    via_refs = engine.people.references(vias)
    wards = engine.people.home_wards(persons).tolist()
    return [
        {
            "person": refs[i] if refs[i] is not None else f"pseudonym:{int(persons[i]):016x}",
            "home_ward": int(wards[i]),
            "priority": "lower",
            "via": via_refs[i] if via_refs[i] is not None else f"pseudonym:{int(vias[i]):016x}",
            "score": result.score(units),
            "first_exposure": iso(first),
        }
        for i, (_p, (units, first, _via)) in enumerate(ranked)
    ]
