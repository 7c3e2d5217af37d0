"""Targets, gates and the markdown table from hand-made rows (no timing)."""

from __future__ import annotations

import json

from bench.gates import gates
from bench.results import Check, Report, Row, Stat, to_markdown
from bench.targets import evaluate

META = {"size": "t", "cpus": 2, "load_start": "0", "load_end": "0", "seconds": 1, "commit": "x"}


def _report(engine_ms: float, duck_ms: float, scans: int = 10_000_000) -> Report:
    label = f"{scans / 1e6:g} M scans"
    return Report(
        meta=META,
        rows=[
            Row("tracing", f"single F0 trace, {label}", "ms", Stat.of([engine_ms, engine_ms * 2]),
                "DuckDB as loaded", Stat.one(duck_ms), scans=scans),
            Row("storage", "sealed bytes/scan on disk (zstd)", "B/scan", Stat.one(12.0),
                "raw rocksdict, one key per scan", Stat.one(45.0), "lower", 1),
            Row("ingest", "stream ingest, acked durable", "scans/s", Stat.one(4e5),
                "gRPC transport only", Stat.one(8e6), "higher"),
        ],
        checks=[Check("single F0 = DuckDB", True, "20 of 20 equal")],
    )  # fmt: skip


def test_ratio_is_times_better_than_the_baseline() -> None:
    r = _report(0.125, 20.0)
    assert r.rows[0].value.median == 0.1875  # of 0.125 and 0.25
    assert r.rows[0].ratio == 20.0 / 0.1875
    assert r.rows[1].ratio == 45.0 / 12.0
    assert r.rows[2].ratio == 4e5 / 8e6


def test_targets_are_judged_only_at_their_size() -> None:
    met = {t.what: t for t in evaluate(_report(0.1, 20.0))}
    assert met["single F0 trace, engine, 10 M scans"].met is True
    assert met["… vs DuckDB as loaded, same data, same run"].met is True  # 133x
    assert met["sealed storage on disk"].met is True
    assert met["batched stream ingest, acked durable"].met is False
    assert met["single F0 trace, engine, 50 M scans"].met is None
    small = {t.what: t for t in evaluate(_report(0.1, 20.0, scans=1_000_000))}
    assert small["single F0 trace, engine, 10 M scans"].met is None
    assert "measured at 1 M only" in small["single F0 trace, engine, 10 M scans"].note


def test_unary_latency_is_judged_at_half_the_target_load_beside_half_capacity() -> None:
    r = _report(0.1, 20.0)
    r.rows += [
        Row("ingest", "unary p99 ack at half capacity", "ms", Stat.one(31.0),
            "gRPC transport only at its half capacity", Stat.one(9.0)),
        Row("ingest", "unary p99 ack at 2,500 calls/s (half the 5,000 target)", "ms",
            Stat.one(18.0), "gRPC transport only, same rate", Stat.one(4.0)),
    ]  # fmt: skip
    what = "unary p99 ack at half that load (2,500/s)"
    target = {t.what: t for t in evaluate(r)}[what]
    assert target.met is True
    assert target.measured.startswith("18")
    assert "at half the measured capacity: 31" in target.note
    r.rows[-1] = Row("ingest", "unary p99 ack at 2,500 calls/s (half the 5,000 target)", "ms",
                     Stat.one(26.0), "gRPC transport only, same rate", Stat.one(4.0))  # fmt: skip
    assert {t.what: t for t in evaluate(r)}[what].met is False


def test_gates_fail_on_a_mismatch_or_a_ratio_below_its_floor() -> None:
    assert all(g.ok for g in gates(_report(0.1, 20.0)))
    slow = gates(_report(5.0, 20.0))  # engine only 2.7x DuckDB: below the floor of 10
    assert [g.name for g in slow if not g.ok] == [
        "tracing/single F0 trace, 10 M scans vs DuckDB as loaded"
    ]
    wrong = _report(0.1, 20.0)
    wrong.checks.append(Check("batch = DuckDB", False, "199 of 200 cases equal"))
    assert not all(g.ok for g in gates(wrong))
    assert evaluate(wrong)[-1].met is False


def test_markdown_and_json_carry_every_row_and_verdict() -> None:
    r = _report(0.125, 20.0)
    r.targets = evaluate(r)
    r.gates = gates(r)
    md = to_markdown(r)
    assert "| single F0 trace, engine, 10 M scans | p50 ≤ 0.2 ms | p50 0.188 ms" in md
    assert "**not met**" in md
    assert "**met**" in md
    assert "not measured" in md
    doc = json.loads(json.dumps(r.to_json()))
    assert doc["rows"][0]["key"] == "tracing/single F0 trace, 10 M scans"
    assert doc["rows"][0]["value"] == {"median": 0.1875, "lo": 0.125, "hi": 0.25, "n": 2}
