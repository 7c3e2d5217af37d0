"""The real-data report end to end on the shared data sets (skipped where they are absent)."""

from __future__ import annotations

import pytest

from bench.eval_realdata import build_report
from bench.realdata.paths import DATASETS, data_root, dataset_dir

ROOT = data_root()
PRESENT = [name for name in DATASETS if dataset_dir(ROOT, name) is not None]


@pytest.mark.slow
@pytest.mark.skipif(
    not {"foursquare", "ds4c", "nz", "hk"} <= set(PRESENT),
    reason=f"real data sets not found under {ROOT} (set QRTRACE_REALDATA or --data)",
)
def test_report_is_deterministic_and_engine_equals_brute_force() -> None:
    first = build_report(ROOT)
    second = build_report(ROOT)
    assert first == second
    assert "**NO**" not in first  # every engine-vs-brute-force comparison held
    for dwell in ("30", "60", "120"):
        row = next(line for line in first.splitlines() if line.startswith(f"| {dwell} min | "))
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[4] == cells[5]  # stored brute-force user pairs = engine user pairs
        assert cells[7] == "**yes**"
    assert "4,119 rows: 4,110 windows loaded, 9 rejected with a reason, 0 dropped" in first
    assert "| 60 min | 8,232 |" in first  # the data set README's naive count, reproduced


@pytest.mark.slow
@pytest.mark.skipif(
    not {"sp-hospital", "sp-ht09"} <= set(PRESENT),
    reason=f"SocioPatterns sets not found under {ROOT} (set QRTRACE_REALDATA or --data)",
)
def test_contact_rankings_are_deterministic_and_engine_equals_brute_force() -> None:
    only = ["sp-hospital", "sp-ht09"]
    first = build_report(ROOT, only=only)
    assert first == build_report(ROOT, only=only)
    assert "**NO**" not in first
    assert first.count("| **yes** |") == 8  # 4 venue models x 2 data sets
    assert "32,424 contact windows of 20 s, 75 people, 1,139 pairs" in first
    assert "20,818 contact windows of 20 s, 113 people, 2,196 pairs" in first
