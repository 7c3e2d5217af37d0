"""What a bench run produces: measurements beside their baselines, targets, equality checks.

Why one model: `bench-results.json`, the markdown table, the plots and the CI gates all read
the same rows, so a figure cannot say one thing in the table and another in the gate.
Every row carries its own baseline measured in the same run; `ratio` is always "how many
times better than the baseline" (baseline / value for latencies and bytes, value / baseline
for rates), so a noisy machine moves both sides together.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Better = Literal["lower", "higher"]


@dataclass(frozen=True)
class Stat:
    """Median and range of one measurement's samples (a single sample has lo = hi = median)."""

    median: float
    lo: float
    hi: float
    n: int

    @classmethod
    def of(cls, samples: Iterable[float]) -> Stat:
        xs = [float(x) for x in samples]
        if not xs:
            return cls(math.nan, math.nan, math.nan, 0)
        return cls(statistics.median(xs), min(xs), max(xs), len(xs))

    @classmethod
    def one(cls, value: float) -> Stat:
        return cls(float(value), float(value), float(value), 1)


@dataclass(frozen=True)
class Row:
    """One measurement of the engine beside its baseline, both from this run."""

    group: str
    name: str
    unit: str
    value: Stat
    baseline_name: str | None = None
    baseline: Stat | None = None
    better: Better = "lower"
    scans: int | None = None  # data size the row was measured at, when it depends on one
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """Times better than the baseline (> 1: the engine wins), from the medians."""
        if self.baseline is None or not self.value.median or not self.baseline.median:
            return None
        if self.better == "lower":
            return self.baseline.median / self.value.median
        return self.value.median / self.baseline.median

    @property
    def key(self) -> str:
        return f"{self.group}/{self.name}"


@dataclass(frozen=True)
class Target:
    """One DESIGN §9 target: what was measured against it, and whether it was met.

    `met` is None when this run did not measure it at the size the target is defined for
    (the note says what was measured instead), never a guess.
    """

    what: str
    target: str
    measured: str
    baseline: str
    met: bool | None
    note: str = ""


@dataclass(frozen=True)
class Check:
    """An equality check of the engine's answer against the baseline's (or an oracle's)."""

    name: str
    ok: bool
    detail: str


@dataclass
class Report:
    """Everything one `qrtrace bench` run measured."""

    meta: dict[str, Any]
    rows: list[Row] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    series: dict[str, Any] = field(default_factory=dict)
    gates: list[Check] = field(default_factory=list)

    def row(self, key: str) -> Row | None:
        return next((r for r in self.rows if r.key == key), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "meta": self.meta,
            "rows": [{**asdict(r), "key": r.key, "ratio": r.ratio} for r in self.rows],
            "checks": [asdict(c) for c in self.checks],
            "targets": [asdict(t) for t in self.targets],
            "gates": [asdict(g) for g in self.gates],
            "series": self.series,
        }


def fmt(x: float | None, unit: str = "") -> str:
    """A figure as people read it: 3 significant digits, thousands separated."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    ax = abs(x)
    if ax >= 1000:
        s = f"{x:,.0f}"
    elif ax >= 100:
        s = f"{x:.0f}"
    elif ax >= 10:
        s = f"{x:.1f}"
    elif ax >= 1:
        s = f"{x:.2f}"
    else:
        s = f"{x:.3g}"
    return f"{s} {unit}".strip()


def ratio_text(ratio: float | None) -> str:
    """A ratio with the digits that matter: 1,234× / 12.3× / 1.23× / 0.0345×."""
    if ratio is None or math.isnan(ratio):
        return "–"
    if ratio >= 100:
        return f"{ratio:,.0f}×"
    if ratio >= 10:
        return f"{ratio:.1f}×"
    return f"{ratio:.3g}×"


def _range(s: Stat) -> str:
    if s.n <= 1:
        return ""
    return f"{fmt(s.lo)}–{fmt(s.hi)}"


def _met(m: bool | None) -> str:
    return {True: "**met**", False: "**not met**", None: "not measured"}[m]


def to_markdown(report: Report) -> str:
    """The report as markdown: targets first, then every row, checks and gates."""
    m = report.meta
    lines = [
        f"qrtrace bench `--size {m['size']}`: {m['cpus']} CPUs, load average at start "
        f"{m['load_start']} / end {m['load_end']}, {m['seconds']:.0f} s, commit {m['commit']}",
        "",
        "| DESIGN §9 target | target | measured | baseline (same run) | |",
        "|---|---|---|---|---|",
    ]
    for t in report.targets:
        note = f" ({t.note})" if t.note else ""
        lines.append(
            f"| {t.what} | {t.target} | {t.measured}{note} | {t.baseline} | {_met(t.met)} |"
        )
    lines += [
        "",
        "| group | measure | median | min–max | baseline | baseline median | ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in report.rows:
        base = r.baseline
        ratio = r.ratio
        lines.append(
            f"| {r.group} | {r.name} | {fmt(r.value.median, r.unit)} | {_range(r.value)} | "
            f"{r.baseline_name or '–'} | {fmt(base.median, r.unit) if base else '–'} | "
            f"{ratio_text(ratio)} |"
        )
    notes = [f"- {r.name}: {r.note}" for r in report.rows if r.note]
    if notes:
        lines += ["", *notes]
    if report.checks:
        ok = sum(c.ok for c in report.checks)
        lines += ["", f"Equality checks: {ok} of {len(report.checks)} passed."]
        lines += [f"- {'ok' if c.ok else 'MISMATCH'}: {c.name}: {c.detail}" for c in report.checks]
    if report.gates:
        lines += ["", "Regression gates (ratio floors):"]
        lines += [f"- {'pass' if g.ok else 'FAIL'}: {g.name}: {g.detail}" for g in report.gates]
    return "\n".join(lines) + "\n"
