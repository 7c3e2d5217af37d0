"""Coalesced unary calls: concatenated columns and per-call outcomes line up exactly."""

from __future__ import annotations

import numpy as np

from ingest.pipeline import Outcome, Rejection
from ingest.unary import concat_columns, split_outcome
from ingest.validation import Columns, Verdict


def _columns(n: int, codes: list[str], first: int) -> Columns:
    return Columns(
        scan_ids=np.arange(first, first + n, dtype="<u8").repeat(2).view("V16"),
        times_ms=np.full(n, first, np.int64),
        directions=np.zeros(n, np.uint8),
        venue_index=np.arange(n, dtype=np.uint32) % len(codes),
        venue_codes=codes,
        person_numbers=None,
        person_texts=[f"p{first + i}" for i in range(n)],
    )


def test_concat_rebases_venue_indexes() -> None:
    a, b = _columns(2, ["x", "y"], 0), _columns(3, ["z"], 10)
    both = concat_columns([a, b])
    assert len(both) == 5
    assert [both.venue_codes[i] for i in both.venue_index.tolist()] == ["x", "y", "z", "z", "z"]
    assert both.person_texts == ["p0", "p1", "p10", "p11", "p12"]
    assert both.times_ms.tolist() == [0, 0, 10, 10, 10]


def test_split_outcome_gives_each_call_its_own_indexes_and_counts() -> None:
    a, d, r = Verdict.ACCEPTED, Verdict.DUPLICATE, Verdict.UNKNOWN_VENUE
    verdicts = np.array([a, r, d, a, r, r], np.uint8)
    rejections = [Rejection(i, int(r), "venue_codes", f"why {i}") for i in (5, 1, 4)]
    parts = split_outcome(Outcome(verdicts, rejections, accepted=2, duplicate=1), [2, 1, 3])
    assert [p.verdicts.tolist() for p in parts] == [[a, r], [d], [a, r, r]]
    assert [[(x.index, x.reason) for x in p.rejections] for p in parts] == [
        [(1, "why 1")],
        [],
        [(1, "why 4"), (2, "why 5")],
    ]
    assert [(p.accepted, p.duplicate, p.rejected) for p in parts] == [
        (1, 0, 1),
        (0, 1, 0),
        (1, 0, 2),
    ]
