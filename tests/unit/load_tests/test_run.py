"""Load thresholds judged from locust's stats rows (no locust import here)."""

from __future__ import annotations

from load_tests.run import Thresholds, evaluate


def _row(name: str, n: int, failures: int, p95: str) -> dict[str, str]:
    return {"Name": name, "Request Count": str(n), "Failure Count": str(failures), "95%": p95}


def test_a_run_within_thresholds_passes() -> None:
    stats = [_row("SubmitScans", 400, 0, "60"), _row("Aggregated", 400, 0, "60")]
    assert evaluate(stats, Thresholds()) == []


def test_failures_slow_requests_and_an_idle_run_are_breaches() -> None:
    t = Thresholds()
    failing = [_row("SubmitScans", 400, 8, "60"), _row("Aggregated", 400, 8, "60")]
    assert evaluate(failing, t) == ["failure ratio 0.020 > 0.01"]
    slow = [_row("/v1/trace/case", 100, 0, "2500"), _row("Aggregated", 100, 0, "900")]
    assert evaluate(slow, t) == ["/v1/trace/case p95 2500 ms > 1000 ms"]
    unknown = [_row("NewRpc", 100, 0, "1600"), _row("Aggregated", 100, 0, "1100")]
    assert evaluate(unknown, t) == ["NewRpc p95 1600 ms > 1500 ms"]
    assert evaluate([_row("Aggregated", 3, 0, "5")], t) == ["only 3 requests; expected at least 50"]
