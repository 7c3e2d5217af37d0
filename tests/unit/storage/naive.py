"""Plain-Python reference for `storage.visits.build_visits`: the rule written as prose-like code."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from storage.records import OUT, ScanArray, day_bounds
from storage.visits import DEFAULT_DWELL_S, T_IN_IMPUTED, VisitFlag

Visit = tuple[int, int, int, int, int]  # venue, t_in, t_out, person, flags


def naive_visits(scans: ScanArray, day: int) -> list[Visit]:
    start, end = day_bounds(day)
    by_person: dict[int, list[tuple[int, int, int, int]]] = defaultdict(list)
    for row in scans:
        dwell = int(DEFAULT_DWELL_S[int(row["category"])])
        by_person[int(row["person"])].append(
            (int(row["t"]), int(row["direction"]), int(row["venue"]), dwell)
        )
    visits: list[Visit] = []

    def emit(venue: int, t_in: int, t_out: int, person: int, flags: int) -> None:
        if t_out > t_in:
            visits.append((venue, t_in, t_out, person, flags))

    def cap_of(t_in: int, dwell: int) -> tuple[int, int]:
        if t_in + dwell <= end:
            return t_in + dwell, VisitFlag.IMPUTED_DEFAULT_DWELL
        return end, VisitFlag.IMPUTED_DAY_END

    for person, rows in by_person.items():
        rows.sort(key=lambda r: (r[0], -r[1], r[2]))
        open_visit: tuple[int, int, int] | None = None  # venue, t_in, dwell
        previous: int | None = None
        for t, direction, venue, dwell in rows:
            consumed = False
            if open_visit is not None:
                o_venue, o_t_in, o_dwell = open_visit
                cap, cap_flag = cap_of(o_t_in, o_dwell)
                if venue == o_venue and direction == OUT:
                    emit(o_venue, o_t_in, t, person, VisitFlag.OBSERVED)
                    open_visit = None
                    consumed = True
                elif venue == o_venue and t < cap:
                    consumed = True
                elif venue == o_venue:
                    emit(o_venue, o_t_in, cap, person, cap_flag)
                    open_visit = None
                elif t <= cap:
                    emit(o_venue, o_t_in, t, person, VisitFlag.IMPUTED_NEXT_SCAN)
                    open_visit = None
                else:
                    emit(o_venue, o_t_in, cap, person, cap_flag)
                    open_visit = None
            if not consumed:
                if direction == OUT:
                    floor = max(start, t - dwell, previous if previous is not None else start)
                    emit(venue, floor, t, person, VisitFlag.OBSERVED | T_IN_IMPUTED)
                else:
                    open_visit = (venue, t, dwell)
            previous = t
        if open_visit is not None:
            cap, cap_flag = cap_of(open_visit[1], open_visit[2])
            emit(open_visit[0], open_visit[1], cap, person, cap_flag)
    return sorted(visits, key=lambda v: (v[0], v[1], v[3], v[2]))


def as_tuples(
    venue: np.ndarray, t_in: np.ndarray, t_out: np.ndarray, person: np.ndarray, flags: np.ndarray
) -> list[Visit]:
    return [
        (int(a), int(b), int(c), int(d), int(e))
        for a, b, c, d, e in zip(venue, t_in, t_out, person, flags, strict=True)
    ]
