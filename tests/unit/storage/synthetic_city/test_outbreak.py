from __future__ import annotations

from pathlib import Path

from storage.synthetic_city import OutbreakTruth

from .conftest import SMALL
from .naive import contacts_of, load_truth, load_visits


def test_truth_equals_brute_force_oracle_on_written_files(written_city: Path) -> None:
    truth = load_truth(written_city)
    rows = load_visits(written_city)
    assert len(truth["cases"]) == SMALL.outbreak_cases
    for case in truth["cases"]:
        expected = contacts_of(rows, case["person"], case["visits"])
        got = [
            (c["person"], c["total_overlap_s"], sorted(s["overlap_s"] for s in c["visits"]))
            for c in case["contacts"]
        ]
        assert got == expected
    chain = truth["chain"]
    expected = contacts_of(rows, chain["f1"], [chain["f1_visit"]])
    assert [(c["person"], c["total_overlap_s"]) for c in chain["co_visitors"]] == [
        (p, total) for p, total, _ in expected
    ]


def test_planted_roles_behave_as_designed(written_city: Path) -> None:
    truth = OutbreakTruth.from_json(load_truth(written_city))
    for case in truth.cases:
        roles = {c.role: c for c in case.contacts if c.planted}
        assert set(roles) == {
            "long_overlap",
            "no_checkout",
            "short_overlap",
            "short_before",
            "other_ward",
        }
        assert roles["long_overlap"].total_overlap_s >= 30 * 60
        assert 0 < roles["short_overlap"].total_overlap_s < 15 * 60
        assert 0 < roles["short_before"].total_overlap_s < 15 * 60
        assert not roles["no_checkout"].visits[0].has_checkout
        assert roles["other_ward"].home_ward != case.home_ward
        # touching intervals: planted right next to the F0 but zero overlap
        assert sorted(case.non_contacts.values()) == ["touch_after", "touch_before"]
        f0_out = {v.t_out for v in case.visits}
        f0_in = {v.t_in for v in case.visits}
        assert all(c.person not in case.non_contacts for c in case.contacts)
        assert f0_out
        assert f0_in
        totals = [c.total_overlap_s for c in case.contacts]
        assert totals == sorted(totals, reverse=True)
    assert truth.chain is not None
    f2 = [c for c in truth.chain.co_visitors if c.person == truth.chain.f2]
    assert f2
    assert f2[0].total_overlap_s > 15 * 60
    f1_case = truth.cases[truth.chain.case]
    assert truth.chain.f1 in {c.person for c in f1_case.contacts}
    assert truth.chain.f1_visit.day >= f1_case.visits[0].day


def test_touching_visit_starts_exactly_at_f0_departure(written_city: Path) -> None:
    truth = load_truth(written_city)
    rows = load_visits(written_city)
    for case in truth["cases"]:
        toucher = next(p for p, r in case["non_contacts"].items() if r == "touch_after")
        visit = next(r for r in rows if r["person"] == int(toucher))
        assert any(
            visit["t_in"] == v["t_out"] and visit["venue"] == v["venue"] for v in case["visits"]
        )


def test_truth_json_round_trip(written_city: Path) -> None:
    data = load_truth(written_city)
    assert OutbreakTruth.from_json(data).to_json() == data
