"""Report sections and their markdown: figures first, machine-dependent timings apart.

A section's `lines` depend only on the data (same input -> identical text, the determinism
the integration test checks); `timings` are wall-clock figures, printed only when asked, so
two runs can be compared byte for byte without them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Section:
    """One data set's part of the report."""

    title: str
    lines: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    timings: list[str] = field(default_factory=list)

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    def table(self, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self.lines.append("| " + " | ".join(header) + " |")
        self.lines.append("|" + "|".join("---" for _ in header) + "|")
        for row in rows:
            self.lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |")
        self.lines.append("")


def pct(part: int, whole: int) -> str:
    """'12.3 %' (or 'n/a' of nothing)."""
    return f"{100 * part / whole:.1f} %" if whole else "n/a"


def ms_percentiles(seconds: Sequence[float]) -> str:
    """'p50 0.123 ms, p99 0.456 ms, max ...' of a list of durations."""
    if not seconds:
        return "no samples"
    p50, p99 = np.percentile(np.asarray(seconds) * 1e3, [50, 99])
    return f"p50 {p50:.3f} ms, p99 {p99:.3f} ms, max {max(seconds) * 1e3:.3f} ms (n={len(seconds)})"


def render(sections: Sequence[Section], *, header: Sequence[str], timings: bool) -> str:
    """The whole report as markdown."""
    out = list(header)
    for s in sections:
        out += ["", f"## {s.title}", "", *s.lines]
        if timings and s.timings:
            out += ["", "Timings (this machine, this run; not part of the determinism check):", ""]
            out += [f"- {t}" for t in s.timings]
    return "\n".join(out).rstrip() + "\n"
