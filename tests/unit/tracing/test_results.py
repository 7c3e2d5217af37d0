"""The columnar JSON shaping equals a row-by-row reference, and pages by limit/offset."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.domain import CATEGORY_BY_CODE
from tracing.results import TraceResult, checkout_label, iso, iso_many, minutes_many
from tracing.rules import RULE_SETS

from .city_data import CityStore, pseudonym
from .test_engine import city_window

SECONDS = st.integers(0, 2**32 - 1)


@settings(max_examples=500, deadline=None)
@given(t=st.lists(SECONDS, max_size=20))
def test_iso_many_equals_iso(t: list[int]) -> None:
    assert iso_many(np.array(t, np.int64)) == [iso(x) for x in t]


@settings(max_examples=500, deadline=None)
@given(s=st.lists(SECONDS | st.integers(0, 400), max_size=20))
def test_minutes_many_equals_round(s: list[int]) -> None:
    assert minutes_many(np.array(s, np.int64)) == [round(x / 60, 2) for x in s]


def reference_contacts(result: TraceResult) -> list[dict[str, Any]]:
    """The contacts list shaped one row at a time (the original, obviously right, code)."""
    t = result.table
    refs = result.engine.people.references(t.person)
    wards = result.engine.people.home_wards(t.person)
    venues = result.engine.venues
    out = []
    for i in range(len(t)):
        evidence = []
        for j in range(int(t.ev_off[i]), int(t.ev_off[i + 1])):
            venue = int(t.ev_venue[j])
            cat = int(venues.category[venue]) if venue < len(venues.category) else 0
            cf = int(t.ev_case_flags[j])
            evidence.append({
                "venue": venue,
                "ward": int(venues.ward_of(np.array([venue]))[0]),
                "category": CATEGORY_BY_CODE[cat].slug if cat in CATEGORY_BY_CODE else None,
                "overlap_start": iso(int(t.ev_start[j])),
                "overlap_end": iso(int(t.ev_end[j])),
                "minutes": round((int(t.ev_end[j]) - int(t.ev_start[j])) / 60, 2),
                "score": result.score(t.ev_units[j]),
                "contact_checkout": checkout_label(int(t.ev_flags[j])),
                "case_checkout": None if cf < 0 else checkout_label(cf),
                "rule": f"{result.rules.name}/{result.rules['interval']}",
            })  # fmt: skip
        out.append({
            "rank": i + 1,
            "person": refs[i] if refs[i] is not None else f"pseudonym:{int(t.person[i]):016x}",
            "home_ward": int(wards[i]),
            "tier": result.tiers()[i],
            "score": result.score(t.units[i]),
            "max_day_score": result.score(t.day_max[i]),
            "minutes": round(int(t.overlap_s[i]) / 60, 2),
            "shared_visits": int(t.shared[i]),
            "first_exposure": iso(int(t.first[i])),
            "last_exposure": iso(int(t.last[i])),
            "evidence": evidence,
        })  # fmt: skip
    return out


def test_json_equals_the_row_by_row_reference_under_every_rule_set(
    city_store: CityStore,
) -> None:
    for name, rules in sorted(RULE_SETS.items()):
        for case in city_store.truth.cases[:3]:
            person = int(pseudonym([case.person])[0])
            result = city_store.engine.trace_case(person, city_window(), rules)
            doc = result.to_json()
            assert doc["contacts"] == reference_contacts(result), name
            assert orjson.loads(result.to_json_bytes()) == orjson.loads(orjson.dumps(doc))


def test_limit_and_offset_page_the_ranked_list(city_store: CityStore) -> None:
    case = city_store.truth.cases[0]
    result = city_store.engine.trace_case(
        int(pseudonym([case.person])[0]), city_window(), RULE_SETS["plain"]
    )
    full = result.to_json()["contacts"]
    assert len(full) > 5
    page = result.to_json(limit=3, offset=2)
    assert page["contacts"] == full[2:5]
    assert [c["rank"] for c in page["contacts"]] == [3, 4, 5]
    assert page["counts"]["shown"] == 3
    assert page["counts"]["contacts"] == len(full)
    assert result.to_json(offset=len(full) + 10)["contacts"] == []
    assert result.to_json(limit=0)["contacts"] == []
