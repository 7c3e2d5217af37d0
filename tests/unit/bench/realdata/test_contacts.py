"""Contacts -> truth and visits: stays cover every contact, rooms join contact groups."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.realdata.contacts import (
    Contacts,
    Visits,
    presence,
    read_hospital,
    read_steps,
    rooms,
    split_at_midnight,
    true_seconds,
)
from storage.records import day_bounds

ORIGIN = day_bounds(15_000)[0]  # a local midnight


def test_readers_make_pairs_unordered_and_drop_self_and_repeats(tmp_path: Path) -> None:
    (tmp_path / "h.tsv").write_text("t\ti\tj\tSi\tSj\n40\t2\t1\tNUR\tPAT\n40\t1\t2\tPAT\tNUR\n"
                                    "20\t3\t3\tNUR\tNUR\n60\t1\t3\tPAT\tMED\n")  # fmt: skip
    h = read_hospital(tmp_path / "h.tsv", ORIGIN)
    assert (h.t - ORIGIN).tolist() == [40, 60]
    assert (h.i.tolist(), h.j.tolist()) == ([1, 1], [2, 3])
    (tmp_path / "s.tsv").write_text("5\t4\t0\n4\t5\t2\n")
    s = read_steps(tmp_path / "s.tsv", ORIGIN)
    assert (s.t - ORIGIN).tolist() == [20, 60]  # step k ends at 20 (k + 1)
    assert true_seconds(s) == {(4, 5): 40}


def test_presence_splits_a_stay_at_the_gap() -> None:
    # person 1 meets 2 at [0, 20) and [40, 60), then 3 at [1000, 1020)
    c = Contacts.of(ORIGIN + np.array([20, 60, 1020]), np.array([1, 1, 3]), np.array([2, 2, 1]))
    v = presence(c, gap_s=900)
    rows = sorted(
        zip(v.person.tolist(), (v.t_in - ORIGIN).tolist(), (v.t_out - ORIGIN).tolist(), strict=True)
    )
    assert rows == [(1, 0, 60), (1, 1000, 1020), (2, 0, 60), (3, 1000, 1020)]
    assert set(v.venue.tolist()) == {1}
    assert len(presence(c, gap_s=960)) == 3  # a 940-s gap no longer splits


def test_rooms_join_a_chain_of_contacts_per_slice() -> None:
    # slice [0, 900): 1-2 and 2-3 (one room), 4-5 (another); slice [900, 1800): 1-5
    c = Contacts.of(
        ORIGIN + np.array([20, 100, 200, 920]), np.array([1, 2, 4, 1]), np.array([2, 3, 5, 5])
    )
    v = rooms(c, 900)
    at = {(p, int(a - ORIGIN) // 900): (venue, int(a - ORIGIN), int(b - ORIGIN))
          for p, venue, a, b in zip(v.person.tolist(), v.venue.tolist(), v.t_in, v.t_out,
                                    strict=True)}  # fmt: skip
    assert at[(1, 0)][0] == at[(2, 0)][0] == at[(3, 0)][0] != at[(4, 0)][0] == at[(5, 0)][0]
    assert at[(2, 0)][1:] == (0, 100)  # first to last contact in the slice
    assert at[(1, 1)][0] == at[(5, 1)][0] not in {at[(1, 0)][0], at[(4, 0)][0]}
    assert len(v) == 7


def test_split_at_midnight_keeps_each_part_inside_a_local_day() -> None:
    start, end = day_bounds(15_000)
    v = split_at_midnight(
        Visits(
            np.array([1, 2]),
            np.array([1, 1]),
            np.array([end - 100, end - 1]),
            np.array([end + 50, end]),
        )
    )
    assert list(zip(v.t_in.tolist(), v.t_out.tolist(), strict=True)) == [
        (end - 100, end - 1),
        (end, end + 50),
    ]  # the second row's only part was [end - 1, end - 1): empty, dropped
    assert start < end


contacts = st.lists(
    st.tuples(st.integers(1, 400), st.integers(0, 5), st.integers(0, 5)), max_size=60
)


@settings(max_examples=200, deadline=None)
@given(contacts, st.sampled_from([20, 100, 900, 3600]), st.sampled_from([900, 1800, 3600]))
def test_every_contact_window_lies_in_a_stay_of_both_people(
    rows: list[tuple[int, int, int]], gap: int, window: int
) -> None:
    t = ORIGIN + 20 * np.array([r[0] for r in rows], dtype=np.int64) + 70_000
    c = Contacts.of(t, np.array([r[1] for r in rows]), np.array([r[2] for r in rows]))
    for v in (presence(c, gap), rooms(c, window)):
        assert np.all(v.t_out > v.t_in)
        for when, a, b in zip(c.t.tolist(), c.i.tolist(), c.j.tolist(), strict=True):
            venues = []
            for p in (a, b):
                inside = (v.person == p) & (v.t_in <= when - 20) & (v.t_out >= when - 1)
                assert inside.any()
                venues.append(set(v.venue[inside].tolist()))
            assert venues[0] & venues[1]  # both at one venue
