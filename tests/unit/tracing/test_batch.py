"""`trace_cases`: one batch pass gives each case exactly what `trace_case` gives it."""

from __future__ import annotations

import numpy as np
import pytest

from tracing.batch import trace_cases
from tracing.engine import Window
from tracing.errors import TraceWindowError
from tracing.rules import RULE_SETS

from .city_data import CityStore


@pytest.mark.parametrize("name", list(RULE_SETS))
def test_each_result_equals_the_single_case_trace(city_store: CityStore, name: str) -> None:
    rules = RULE_SETS[name]
    engine = city_store.engine
    sealed = engine.parts()[0]
    persons = np.unique(sealed.person)[:30]
    lo = int(sealed.t_in.min())
    windows = [Window(lo + 3_600 * (k % 12), lo + 3 * 86_400) for k in range(len(persons))]
    results = trace_cases(engine, persons, windows, rules)
    assert sum(len(r.table) for r in results) > 0
    for p, w, got in zip(persons.tolist(), windows, results, strict=True):
        assert got.to_json() == engine.trace_case(p, w, rules).to_json()


def test_one_window_per_person(city_store: CityStore) -> None:
    with pytest.raises(TraceWindowError, match="expected one per person"):
        trace_cases(
            city_store.engine, np.array([1, 2], np.uint64), [Window(0, 1)], RULE_SETS["plain"]
        )
