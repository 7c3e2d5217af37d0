"""Per-scan checks against a plain-Python oracle, plus batch-shape errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.protos.checkin.v1 import ingest_pb2 as pb
from ingest.errors import MalformedBatchError
from ingest.validation import VenueFacts, Verdict, Why, check_scans, decode_batch

NOW = 1_700_000_000
SKEW = 300
RETENTION = 21 * 86_400


def test_verdict_values_match_the_proto_enum() -> None:
    for verdict in Verdict:
        assert pb.Verdict.Value(f"VERDICT_{verdict.name}") == verdict.value


def _oracle(
    row: dict[str, int], facts: VenueFacts, code_venue: list[int], code_bad: list[bool]
) -> Why:
    n_codes = len(code_venue)
    if row["id_zero"]:
        return Why.SCAN_ID_ZERO
    if row["direction"] > 1:
        return Why.DIRECTION
    if not 1000 <= row["t_ms"] <= 0xFFFFFFFF * 1000 + 999:
        return Why.TIME_RANGE
    if row["code"] >= n_codes:
        return Why.VENUE_INDEX
    if row["person_bad"]:
        return Why.PERSON
    if code_bad[row["code"]]:
        return Why.SIGNATURE
    venue = code_venue[row["code"]]
    if venue >= len(facts.registered) or not facts.registered[venue]:
        return Why.UNKNOWN_VENUE
    t = row["t_ms"] // 1000
    if facts.closed_at[venue] and t >= facts.closed_at[venue]:
        return Why.VENUE_CLOSED
    if t > NOW + SKEW:
        return Why.FUTURE
    if t < NOW - RETENTION:
        return Why.TOO_OLD
    return Why.OK


rows_st = st.lists(
    st.fixed_dictionaries(
        {
            "id_zero": st.booleans(),
            "direction": st.integers(0, 3),
            "t_ms": st.one_of(
                st.integers(0, 2**40),
                st.integers((NOW - RETENTION - 10) * 1000, (NOW + SKEW + 10) * 1000),
            ),
            "code": st.integers(0, 4),
            "person_bad": st.booleans(),
        }
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(rows=rows_st, code_venue=st.lists(st.integers(0, 8), min_size=0, max_size=4))
def test_checks_match_the_oracle(rows: list[dict[str, int]], code_venue: list[int]) -> None:
    facts = VenueFacts(
        registered=np.array([False, True, True, True, False, True], dtype=bool),
        closed_at=np.array([0, 0, 0, NOW - 100, 0, 0], dtype=np.uint32),
        category=np.arange(6, dtype=np.uint8),
    )
    code_bad = [v == 2 for v in code_venue]
    n = len(rows)
    ids = np.ones((n, 16), np.uint8)
    ids[[r["id_zero"] for r in rows] if n else [], :] = 0
    columns = decode_batch(
        scan_ids=ids.tobytes(),
        times_ms=np.array([r["t_ms"] for r in rows], "<i8").tobytes(),
        directions=np.array([r["direction"] for r in rows], np.uint8).tobytes(),
        venue_index=np.array([r["code"] for r in rows], "<u4").tobytes(),
        venue_codes=[f"c{i}" for i in range(len(code_venue))],
        person_numbers=np.ones(n, "<u8").tobytes(),
        person_texts=[],
        max_scans=100,
        max_codes=100,
    )
    checked = check_scans(
        columns,
        code_venue=np.array(code_venue, np.uint32),
        code_bad=np.array(code_bad, bool),
        person_bad=np.array([bool(r["person_bad"]) for r in rows], bool),
        venues=facts,
        now_s=NOW,
        skew_s=SKEW,
        retention_s=RETENTION,
    )
    assert checked.why.tolist() == [_oracle(r, facts, code_venue, code_bad) for r in rows]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"scan_ids": b"x" * 17}, "scan_ids"),
        ({"times_ms": b"x"}, "times_ms"),
        ({"directions": b""}, "directions"),
        ({"venue_index": b"x" * 3}, "venue_index"),
        ({"person_numbers": b"x" * 9}, "person_numbers"),
        ({"person_texts": ["a"]}, "person"),
    ],
)
def test_misaligned_columns_are_a_batch_error(kwargs: dict[str, object], field: str) -> None:
    base: dict[str, object] = {
        "scan_ids": b"\1" * 16,
        "times_ms": b"\0" * 8,
        "directions": b"\0",
        "venue_index": b"\0" * 4,
        "venue_codes": ["c"],
        "person_numbers": b"\1" * 8,
        "person_texts": [],
        "max_scans": 10,
        "max_codes": 10,
    }
    with pytest.raises(MalformedBatchError) as err:
        decode_batch(**(base | kwargs))  # type: ignore[arg-type]
    assert err.value.field == field
