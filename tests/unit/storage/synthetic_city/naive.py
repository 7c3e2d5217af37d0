"""Plain-Python oracle: expected contacts recomputed from the written Parquet files only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds


def load_visits(out_dir: Path) -> list[dict[str, Any]]:
    """Every visit row of a written city as dicts (true departure in `t_out_true`)."""
    table = ds.dataset(out_dir / "visits", format="parquet", partitioning="hive").to_table()
    rows: list[dict[str, Any]] = table.to_pylist()
    return rows


def contacts_of(
    rows: list[dict[str, Any]], f0: int, visits: list[dict[str, Any]]
) -> list[tuple[int, int, list[int]]]:
    """(person, total overlap, sorted per-visit overlaps) for everyone overlapping `visits`.

    Half-open intervals [t_in, t_out_true): overlap = min(ends) - max(starts), kept if > 0.
    """
    found: dict[int, list[int]] = {}
    for v in visits:
        for r in rows:
            if r["venue"] != v["venue"] or r["person"] == f0:
                continue
            overlap = min(r["t_out_true"], v["t_out"]) - max(r["t_in"], v["t_in"])
            if overlap > 0:
                found.setdefault(r["person"], []).append(overlap)
    out = [(p, sum(o), sorted(o)) for p, o in found.items()]
    return sorted(out, key=lambda x: (-x[1], x[0]))


def load_truth(out_dir: Path) -> dict[str, Any]:
    return json.loads((out_dir / "outbreak.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]
