"""The load smoke's thresholds catch a slow handler: a real node, real locust, 2 s traces."""

from __future__ import annotations

from pathlib import Path

import pytest

from load_tests.run import LoadConfig, run_load


@pytest.mark.slow
def test_a_slow_trace_handler_fails_the_load_run(tmp_path: Path) -> None:
    result = run_load(
        LoadConfig(seconds=8, users=6, out=tmp_path, seed_batches=10, cases=5,
                   inject_delay_ms=2000)
    )  # fmt: skip
    assert not result.passed
    assert any(b.startswith("/v1/trace/case p95") for b in result.breaches), result.breaches
    assert (tmp_path / "load_stats.csv").exists()
    assert (tmp_path / "load-report.html").exists()
    names = {s["Name"] for s in result.stats}
    assert {"SubmitScans", "StreamScans batch", "/v1/trace/case"} <= names
