"""Index parts: incremental merge and day removal equal a rebuild; next check-ins span parts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.datadir import DataDir
from storage.records import day_bounds, local_day, make_scans
from storage.visits import Visits
from tracing.engine import TraceEngine, Window
from tracing.index import IndexPart, IndexSource, link_parts
from tracing.rules import RULE_SETS

from .worlds import T0

DAY = int(local_day(np.array([T0], np.uint32))[0])
EXAMPLES = settings(max_examples=500, deadline=None)


@st.composite
def visit_sets(draw: st.DrawFn) -> Visits:
    """Few venues, people and distinct times, so ties on every sort key are common."""
    n = draw(st.integers(0, 25))
    t_in = [T0 + draw(st.integers(-2, 2)) * 3600 * draw(st.integers(0, 12)) for _ in range(n)]
    return Visits(
        np.array([draw(st.integers(0, 4)) for _ in range(n)], np.uint32),
        np.array(t_in, np.uint32),
        np.array([t + draw(st.sampled_from([0, 60, 3600])) for t in t_in], np.uint32),
        np.array([draw(st.integers(1, 4)) for _ in range(n)], np.uint64),
        np.array([draw(st.integers(0, 3)) for _ in range(n)], np.uint8),
    )


def assert_same(a: IndexPart, b: IndexPart) -> None:
    n = max(len(a.off), len(b.off))
    pad = [np.pad(p.off, (0, n - len(p.off)), mode="edge") for p in (a, b)]
    assert pad[0].tolist() == pad[1].tolist()
    for name in ("t_in", "t_out", "person", "flags", "person_order", "t_next"):
        assert getattr(a, name).tolist() == getattr(b, name).tolist(), name
    m = max(len(a.maxlen), len(b.maxlen))
    assert (
        np.pad(a.maxlen, (0, m - len(a.maxlen))).tolist()
        == np.pad(b.maxlen, (0, m - len(b.maxlen))).tolist()
    )


@EXAMPLES
@given(a=visit_sets(), b=visit_sets())
def test_merging_two_parts_equals_building_one_from_both(a: Visits, b: Visits) -> None:
    merged = IndexPart.from_visits(a).merged(IndexPart.from_visits(b))
    assert_same(merged, IndexPart.from_visits(Visits.concat([a, b])))


@EXAMPLES
@given(a=visit_sets(), days=st.lists(st.integers(DAY - 1, DAY + 1), max_size=2))
def test_removing_days_equals_building_without_them(a: Visits, days: list[int]) -> None:
    kept = a.take(~np.isin(local_day(a.t_in), np.array(days, np.uint32)))
    assert_same(IndexPart.from_visits(a).without_days(days), IndexPart.from_visits(kept))


@EXAMPLES
@given(a=visit_sets(), b=visit_sets())
def test_next_checkin_spans_linked_parts(a: Visits, b: Visits) -> None:
    linked = link_parts([IndexPart.from_visits(a), IndexPart.from_visits(b)])
    whole = IndexPart.from_visits(Visits.concat([a, b]))
    got = sorted(
        (int(p.person[r]), int(p.t_in[r]), int(p.t_next[r])) for p in linked for r in range(len(p))
    )
    want = sorted(
        (int(whole.person[r]), int(whole.t_in[r]), int(whole.t_next[r])) for r in range(len(whole))
    )
    assert got == want


def _scans(first_id: int, rows: list[tuple[int, int, int, int]]) -> np.ndarray:
    """(person, venue, t, direction) rows as hot-store scans with distinct ids."""
    ids = np.zeros((len(rows), 16), np.uint8)
    ids[:, 0] = np.arange(first_id, first_id + len(rows))
    ids[:, 1] = 0xA5
    person, venue, t, direction = (list(c) for c in zip(*rows, strict=True))
    return make_scans(ids, person, venue, t, direction=direction, category=6)


def test_seals_merge_purges_trim_and_both_equal_a_rebuild(tmp_path: Path) -> None:
    with DataDir(tmp_path, n_shards=2, sync=False) as data:
        days = [DAY - 2, DAY - 1, DAY]
        for k, day in enumerate(days):
            t = day_bounds(day)[0] + 9 * 3600
            rows = [(p, 1 + p % 3, t + 60 * p, 0) for p in range(1, 30)]
            rows += [(p, 1 + p % 3, t + 60 * p + 1800, 1) for p in range(1, 30)]
            data.hot.submit(_scans(100 * k, rows)).result()
        source = IndexSource(data.hot, data.manifest, data.segment_dir)
        source.parts()
        for day in days:
            data.sealer.seal_day(day)
            sealed, hot = source.parts()
            assert source.last_sealed_update == "merged"
            fresh = IndexSource(data.hot, data.manifest, data.segment_dir).parts()
            assert_same(sealed, fresh[0])
            assert_same(hot, fresh[1])
        data.purge_before(DAY - 1)
        sealed, _hot = source.parts()
        assert source.last_sealed_update == "merged"
        assert_same(sealed, IndexSource(data.hot, data.manifest, data.segment_dir).parts()[0])
        assert set(local_day(sealed.t_in).tolist()) == {DAY - 1, DAY}


def test_nhs_next_checkin_in_the_hot_tail_ends_a_sealed_visit(tmp_path: Path) -> None:
    """A visit without check-out, sealed; the person's next check-in arrives late (hot)."""
    nhs = RULE_SETS["nhs"]
    t = day_bounds(DAY)[0] + 10 * 3600
    with DataDir(tmp_path, n_shards=2, sync=False) as data:
        # person 7 checks in at venue 3 and never out; person 9 is there 11:00-12:00
        data.hot.submit(
            _scans(0, [(7, 3, t, 0), (9, 3, t + 3600, 0), (9, 3, t + 7200, 1)])
        ).result()
        data.sealer.seal_day(DAY)
        source = IndexSource(data.hot, data.manifest, data.segment_dir)
        engine = TraceEngine(source.parts)
        window = Window(day_bounds(DAY)[0], day_bounds(DAY)[1])
        # alone, 7's visit runs to midnight under NHS: 9 is a contact
        assert engine.trace_case(7, window, nhs).table.person.tolist() == [9]
        # a late upload: 7 checked in elsewhere at 10:30, so the venue-3 visit ended then
        # (rounded up to 10:45), before 9 arrived
        data.hot.submit(_scans(50, [(7, 4, t + 1800, 0)])).result()
        assert len(source.parts()[1]) == 1
        assert engine.trace_case(7, window, nhs).table.person.tolist() == []
        # and from 9's side: 7 is no longer there at 11:00
        assert 7 not in engine.trace_case(9, window, nhs).table.person.tolist()
