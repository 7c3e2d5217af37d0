"""Clusters over a set of F0s: a networkx graph of cases, contacts and venues.

Officers ask three questions of a day's cases: which cases are linked (connected components
of case - venue - contact edges), where cases pile up (hot spots: a venue with >= N F0 visits
within T hours), and where they may have caught it (likely sources: a venue several F0s
visited 2-14 days before their onset, or sample date when asymptomatic). The numbers come
from the kernels (one parallel batch trace); networkx only holds the small result graph.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import networkx as nx
import numpy as np

from tracing.engine import TraceEngine, Window, local_midnight
from tracing.rules import RuleSet


@dataclass(frozen=True)
class Case:
    """One F0 for clustering: pseudonym, infectious window, onset (or sample) date."""

    person: int
    window: Window
    onset_or_sample: date


def clusters(
    engine: TraceEngine,
    cases: Sequence[Case],
    rules: RuleSet,
    *,
    hot_spot_cases: int = 2,
    hot_spot_hours: int = 24,
    source_days: tuple[int, int] = (2, 14),
) -> dict[str, Any]:
    """Components, hot spots and likely source venues of `cases` (JSON-ready)."""
    persons = np.array([c.person for c in cases], dtype=np.uint64)
    batch = engine.trace_many(persons, [c.window for c in cases], rules)
    graph = nx.Graph()
    for i, case in enumerate(cases):
        graph.add_node(("case", case.person))
        lo, hi = int(batch.c_off[i]), int(batch.c_off[i + 1])
        for person, high in zip(
            batch.person[lo:hi].tolist(), batch.high[lo:hi].tolist(), strict=True
        ):
            if high:
                graph.add_edge(("case", case.person), ("contact", person))
    # every visit of each case in its window, and, for sources, in the days before onset
    lookback = [
        Window(
            min(c.window.lo, local_midnight(c.onset_or_sample) - source_days[1] * 86_400),
            c.window.hi,
        )
        for c in cases
    ]
    parts = engine.parts(rules)
    cv_off, cols = engine.case_visits(parts, persons, lookback, rules)
    visits_by_venue: dict[int, list[tuple[int, int]]] = defaultdict(list)
    source_hits: dict[int, set[int]] = defaultdict(set)
    for i, case in enumerate(cases):
        onset = local_midnight(case.onset_or_sample)
        for j in range(int(cv_off[i]), int(cv_off[i + 1])):
            venue, t_in = int(cols["venue"][j]), int(cols["t_in"][j])
            if case.window.lo <= t_in < case.window.hi:
                graph.add_edge(("case", case.person), ("venue", venue))
                visits_by_venue[venue].append((t_in, case.person))
            if onset - source_days[1] * 86_400 <= t_in < onset - source_days[0] * 86_400 + 86_400:
                source_hits[venue].add(case.person)
    refs = engine.people.references(persons)
    name = {
        int(p): r if r is not None else f"pseudonym:{int(p):016x}"
        for p, r in zip(persons.tolist(), refs, strict=True)
    }
    components: list[dict[str, Any]] = []
    for comp in nx.connected_components(graph):
        case_ids = sorted(p for kind, p in comp if kind == "case")
        if case_ids:
            components.append(
                {
                    "cases": [name[p] for p in case_ids],
                    "case_ids": [f"{p:016x}" for p in case_ids],
                    "contacts": sum(1 for kind, _ in comp if kind == "contact"),
                    "venues": sorted(v for kind, v in comp if kind == "venue"),
                    "links": _links(graph, comp),
                }
            )
    components.sort(key=lambda c: (-len(c["cases"]), c["case_ids"]))
    hot = []
    span = hot_spot_hours * 3600
    for venue, seen in visits_by_venue.items():
        seen.sort()
        best, at = 0, 0
        for k, (t, _p) in enumerate(seen):
            people = {p for t2, p in seen[k:] if t2 < t + span}
            if len(people) > best:
                best, at = len(people), t
        if best >= hot_spot_cases:
            hot.append({"venue": venue, "cases": best, "from": at, "hours": hot_spot_hours})
    hot.sort(key=lambda h: (-h["cases"], h["venue"]))
    sources = sorted(
        ({"venue": v, "cases": len(p)} for v, p in source_hits.items() if len(p) >= 2),
        key=lambda s: (-s["cases"], s["venue"]),
    )
    return {
        "rules": rules.stamp(),
        "cases": len(cases),
        "components": components,
        "hot_spots": hot,
        "likely_sources": sources,
        "graph": {"nodes": graph.number_of_nodes(), "edges": graph.number_of_edges()},
    }


def _links(graph: nx.Graph, comp: set[tuple[str, int]]) -> list[list[str | int]]:
    """Drawable edges of a component without naming any contact.

    Cases are `case:<hex pseudonym>`, venues `venue:<id>`; a contact of several cases is
    `contact:<k>` (k counts within the component), and the contacts of only one case are
    folded into one `contacts:<hex>` node per case, given as [case, group, size].
    """
    out: list[list[str | int]] = []
    shared = 0
    single: dict[int, int] = defaultdict(int)
    for kind, node in sorted(comp):
        if kind == "venue":
            out.extend([f"case:{p:016x}", f"venue:{node}"] for _k, p in graph[(kind, node)])
        elif kind == "contact":
            cases = sorted(p for _k, p in graph[(kind, node)])
            if len(cases) == 1:
                single[cases[0]] += 1
                continue
            shared += 1
            out.extend([f"case:{p:016x}", f"contact:{shared}"] for p in cases)
    out.extend([f"case:{p:016x}", f"contacts:{p:016x}", n] for p, n in sorted(single.items()))
    return out
