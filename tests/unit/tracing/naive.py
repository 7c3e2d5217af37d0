"""Plain-Python reference of a trace: the rule set written out as prose-like code.

Deliberately independent of the kernels: it reads the rule set by parameter name, walks
every visit (no index, no binary search, no max-dwell bound) and keeps Python ints.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from storage.domain import LOCAL_UTC_OFFSET_S
from tracing.rules import UNITS_PER_SECOND, RuleSet

DAY = 86_400


@dataclass(frozen=True)
class NVisit:
    """One stored visit; `t_next` is the person's next check-in that day (or midnight)."""

    venue: int
    t_in: int
    t_out: int
    person: int
    flags: int
    t_next: int


@dataclass(frozen=True)
class NContact:
    person: int
    units: int
    day_max: int
    shared: int
    first: int
    last: int
    high: bool
    evidence: tuple[tuple[int, int, int, int], ...]  # (venue, start, end, units)


def interval(v: NVisit, rules: RuleSet, category: int, dwell: list[int]) -> tuple[int, int]:
    mode = rules["checkout"]
    if mode == "fixed":
        return v.t_in, v.t_in + rules["fixed_stay_min"] * 60
    if v.flags & 0b11 == 0:
        return v.t_in, v.t_out
    if mode == "default-dwell":
        return v.t_in, v.t_in + dwell[category]
    if mode == "next-checkin-or-midnight":
        return v.t_in, v.t_next
    return v.t_in, v.t_out


def round_out(b: int, slot: int, mode: str) -> int:
    if mode == "next":
        return (b // slot + 1) * slot
    return b if b % slot == 0 else (b // slot + 1) * slot


def windows(  # noqa: PLR0917
    case_visits: list[NVisit], lo: int, hi: int, rules: RuleSet, vcat: list[int], dwell: list[int]
) -> list[tuple[int, int, int]]:
    """(venue, start, end) match windows of the case, merged per venue."""
    closed = rules["interval"] == "closed"
    slot = rules["slot_min"] * 60
    raw = []
    for v in case_visits:
        if v.t_in >= hi:
            continue
        cat = vcat[v.venue] if v.venue < len(vcat) else 0
        a, b = interval(v, rules, cat, dwell)
        a, b = max(a, lo), min(b, hi)
        if b < a or (b == a and not closed):
            continue
        stay = b - a
        if stay < rules["min_case_stay_min"] * 60:
            continue
        whole_minutes = stay // 60
        b += min(whole_minutes * 60, rules["tail_max_min"] * 60)
        a -= rules["pad_before_min"] * 60
        b += rules["pad_after_min"] * 60
        if slot:
            a = a - a % slot
            b = round_out(b, slot, rules["slot_out"])
        raw.append((v.venue, a, b))
    merged: list[list[int]] = []
    for venue, a, b in sorted(raw):
        if merged and merged[-1][0] == venue and a <= merged[-1][2]:
            merged[-1][2] = max(merged[-1][2], b)
        else:
            merged.append([venue, a, b])
    return [(v, a, b) for v, a, b in merged]


def day_of(t: int, split: str) -> int:
    if split == "local":
        return (t + LOCAL_UTC_OFFSET_S) // DAY
    if split == "utc":
        return t // DAY
    return 0


def pieces(s: int, e: int, split: str) -> list[tuple[int, int]]:
    """[s, e) cut at the rule's midnights (a zero-length overlap stays one piece)."""
    if split == "none":
        return [(s, e)]
    shift = LOCAL_UTC_OFFSET_S if split == "local" else 0
    out = []
    t = s
    while True:
        boundary = ((t + shift) // DAY + 1) * DAY - shift
        if boundary >= e:
            out.append((t, e))
            return out
        out.append((t, boundary))
        t = boundary


def trace(
    visits: list[NVisit],
    wins: list[tuple[int, int, int]],
    rules: RuleSet,
    vcat: list[int],
    dwell: list[int],
    *,
    exclude: int = 0,
    as_of: int = 0,
) -> list[NContact]:
    """Ranked contacts of the match windows `wins` under `rules`."""
    weights = rules.weights_milli().tolist()
    case_w = rules.case_weight_milli()
    closed = rules["interval"] == "closed"
    slot = rules["slot_min"] * 60
    split = rules["day_split"]
    ttl = rules["ttl_days"] * DAY
    per_person: dict[int, list[tuple[int, int, int, int, dict[int, int]]]] = defaultdict(list)
    for venue, ws, we in wins:
        for v in visits:
            if v.venue != venue or (exclude and v.person == exclude):
                continue
            if ttl and v.t_in + ttl < as_of:
                continue
            cat = vcat[venue] if venue < len(vcat) else 0
            a, b = interval(v, rules, cat, dwell)
            if slot and rules["slot_side"] == "both":
                a = a - a % slot
                b = round_out(b, slot, rules["slot_out"])
            s, e = max(ws, a), min(we, b)
            if e < s or (e == s and not closed):
                continue
            weight = weights[cat] * case_w
            by_day: dict[int, int] = defaultdict(int)
            if rules["measure"] == "matches":
                by_day[day_of(s, split)] += weight
            else:
                for ps, pe in pieces(s, e, split):
                    length = pe - ps
                    if rules["rounding"] == "half-up-minutes" and length > 0:
                        length = round_half_up_minutes(length) * 60
                    by_day[day_of(ps, split)] += length * weight
            per_person[v.person].append((venue, s, e, sum(by_day.values()), by_day))
    threshold = rules.threshold_units()
    contacts = []
    for person, shared in per_person.items():
        days: dict[int, int] = defaultdict(int)
        for *_x, by_day in shared:
            for d, u in by_day.items():
                days[d] += u
        total = sum(days.values())
        day_max = max(days.values())
        score_for_tier = day_max if split != "none" else total
        evidence = tuple(sorted((v, s, e, u) for v, s, e, u, _ in shared))
        evidence = tuple(sorted(evidence, key=lambda x: (x[1], x[2])))
        contacts.append(
            NContact(
                person=person,
                units=total,
                day_max=day_max,
                shared=len(shared),
                first=min(s for _, s, _, _, _ in shared),
                last=max(e for _, _, e, _, _ in shared),
                high=score_for_tier >= threshold,
                evidence=evidence,
            )
        )
    contacts.sort(key=lambda c: (-c.units, -c.shared, c.first, c.person))
    return contacts


def round_half_up_minutes(seconds: int) -> int:
    """Whole minutes, halves rounded up: 29 s -> 0, 30 s -> 1, 89 s -> 1, 90 s -> 2."""
    minutes, rest = divmod(seconds, 60)
    return minutes + (1 if rest >= 30 else 0)


def score(units: int, rules: RuleSet) -> float:
    return units / rules.unit_divisor()


assert UNITS_PER_SECOND == 1_000_000
