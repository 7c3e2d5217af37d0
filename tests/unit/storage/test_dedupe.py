"""ScanIdIndex: exact verdicts, growth, and agreement with a plain dict."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.dedupe import ScanIdIndex, Verdict, split_rows
from storage.records import RECORD_SIZE, SCAN_DTYPE

from .scan_factory import random_scans


def test_verdicts_and_growth_match_a_dict() -> None:
    index = ScanIdIndex(capacity=8)
    reference: dict[bytes, bytes] = {}
    pool = random_scans(20_000, seed=3)
    rng = np.random.default_rng(1)
    for _ in range(20):
        batch = pool[rng.integers(0, len(pool), 2_000)].copy()
        batch["t"][rng.random(len(batch)) < 0.05] += 1  # same id, different content
        expected = []
        raw = batch.tobytes()
        for i in range(len(batch)):
            rec = raw[i * RECORD_SIZE : (i + 1) * RECORD_SIZE]
            key, content = rec[:16], rec[16:]
            if key not in reference:
                reference[key] = content
                expected.append(Verdict.ACCEPTED)
            else:
                same = reference[key] == content
                expected.append(Verdict.DUPLICATE if same else Verdict.CONFLICT)
        assert index.add(batch).tolist() == expected
    assert len(index) == len(reference)


def test_duplicate_and_conflict_within_one_batch() -> None:
    scans = random_scans(3)
    batch = np.concatenate([scans, scans[:1], scans[1:2]])
    batch["t"][-1] += 5
    got = ScanIdIndex().add(batch)
    assert got.tolist() == [
        Verdict.ACCEPTED,
        Verdict.ACCEPTED,
        Verdict.ACCEPTED,
        Verdict.DUPLICATE,
        Verdict.CONFLICT,
    ]


def test_clear_forgets_every_scan_and_keeps_the_table_memory() -> None:
    index = ScanIdIndex(capacity=10_000)
    scans = random_scans(8_000, seed=4)
    assert (index.add(scans) == Verdict.ACCEPTED).all()
    slots, rows = index._slots, index._rows
    index.clear()
    assert len(index) == 0
    assert index._slots is slots  # reused, not reallocated
    assert index._rows is rows
    assert not slots.any()
    again = np.concatenate([scans[4_000:], scans[4_000:4_010]])
    assert index.add(again).tolist() == [Verdict.ACCEPTED] * 4_000 + [Verdict.DUPLICATE] * 10
    assert (index.add(scans[:4_000]) == Verdict.ACCEPTED).all()  # forgotten by the clear


def test_clear_after_growth_returns_to_the_initial_size() -> None:
    index = ScanIdIndex(capacity=100)
    initial = (len(index._rows), len(index._slots))
    index.add(random_scans(20_000, seed=5))  # grows rows and slots
    assert (len(index._rows), len(index._slots)) != initial
    index.clear()
    assert (len(index._rows), len(index._slots)) == initial
    assert (index.add(random_scans(50, seed=5)) == Verdict.ACCEPTED).all()


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=0, max_size=36 * 40).map(lambda b: b[: len(b) // 36 * 36]))
def test_split_rows_matches_the_record_bytes(raw: bytes) -> None:
    scans = np.frombuffer(raw, dtype=SCAN_DTYPE)
    rows = split_rows(scans)
    assert rows.shape == (len(scans), 5)
    for i in range(len(scans)):
        rec = raw[i * RECORD_SIZE : (i + 1) * RECORD_SIZE]
        words = [int.from_bytes(rec[8 * j : 8 * j + 8], "little") for j in range(4)]
        assert rows[i].tolist() == [*words, int.from_bytes(rec[32:36], "little")]
