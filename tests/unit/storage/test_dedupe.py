"""ScanIdIndex: exact verdicts, growth, and agreement with a plain dict."""

from __future__ import annotations

import numpy as np

from storage.dedupe import ScanIdIndex, Verdict
from storage.records import RECORD_SIZE

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
