"""Summaries of a written city, read back from its files only.

`describe_city` never regenerates anything: it reads city.json, the two static tables, the
visit partitions and outbreak.json, so it checks what is *on disk* (a directory written by
another process or an older run included). Aggregates are streamed per day file with
`np.bincount` (dwell medians from per-minute histograms), so 10 M rows take about a second
and memory stays at one day's columns.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow.compute as pc
import pyarrow.parquet as pq

from storage.domain import CATEGORIES, CATEGORY_BY_CODE, WARD_BY_CODE, WARDS
from storage.synthetic_city.errors import CityOutputError
from storage.synthetic_city.writer import (
    OUTBREAK_JSON,
    PEOPLE_FILE,
    VENUES_FILE,
    read_city_json,
    visit_path,
)

#: dwell histogram resolution: whole minutes up to one day
_MAX_DWELL_MIN = 24 * 60
TOP_VENUES = 10


@dataclass(frozen=True, slots=True)
class WardRow:
    code: int
    name: str
    venues: int
    residents: int
    app_users: int
    scans: int
    share: float


@dataclass(frozen=True, slots=True)
class CategoryRow:
    code: int
    slug: str
    name_en: str
    venues: int
    scans: int
    share: float
    median_dwell_min: float | None  # over visits with an observed check-out
    no_checkout_share: float


@dataclass(frozen=True, slots=True)
class VenueRow:
    venue_id: int
    name: str
    ward: str
    category: str
    scans: int


@dataclass(frozen=True, slots=True)
class CityDescription:
    """Everything `render_description` prints, as data (for JSON output or tests)."""

    out_dir: Path
    generator_version: str
    config: dict[str, Any]
    scans: int
    venues: int
    adults: int
    app_users: int
    no_checkout_share: float
    wards: list[WardRow]
    categories: list[CategoryRow]
    scans_per_day: dict[str, int]
    top_venues: list[VenueRow]
    #: share of scans at the busiest 1 % of venues (Zipf check)
    top1pct_venue_share: float
    outbreak: dict[str, Any]


def describe_city(out_dir: str | Path) -> CityDescription:
    """Read a city output directory and aggregate it (CityOutputError if it is not one)."""
    out = Path(out_dir)
    meta = read_city_json(out)
    try:
        venues = pq.read_table(out / VENUES_FILE, columns=["venue_id", "ward", "category", "name"])
        people = pq.read_table(out / PEOPLE_FILE, columns=["home_ward", "app_user"])
        outbreak = json.loads((out / OUTBREAK_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CityOutputError(f"{out} is an incomplete city output: {exc}") from None
    v_ward = venues["ward"].to_numpy().astype(np.int64)
    v_cat = venues["category"].to_numpy().astype(np.int64)
    n_venues = len(v_ward)
    venue_ward = np.zeros(n_venues + 1, dtype=np.int64)  # indexed by venue_id
    venue_ward[venues["venue_id"].to_numpy()] = v_ward
    home = people["home_ward"].to_numpy().astype(np.int64)
    app = people["app_user"].to_numpy(zero_copy_only=False)

    n_cat = len(CATEGORIES) + 1
    per_venue = np.zeros(n_venues + 1, dtype=np.int64)
    per_cat = np.zeros(n_cat, dtype=np.int64)
    no_out_cat = np.zeros(n_cat, dtype=np.int64)
    dwell_hist = np.zeros(n_cat * (_MAX_DWELL_MIN + 1), dtype=np.int64)
    per_day: dict[str, int] = {}
    for day in meta["scans_per_day"]:
        path = out / visit_path(day)
        try:
            t = pq.read_table(path, columns=["venue", "category", "t_in", "t_out", "has_checkout"])
        except (OSError, ValueError) as exc:
            raise CityOutputError(f"cannot read visits of {day} from {path}: {exc}") from None
        venue = t["venue"].to_numpy()
        cat = t["category"].to_numpy().astype(np.int64)
        checked = t["has_checkout"].to_numpy(zero_copy_only=False)
        per_day[day] = t.num_rows
        per_venue += np.bincount(venue, minlength=n_venues + 1)
        per_cat += np.bincount(cat, minlength=n_cat)
        no_out_cat += np.bincount(cat[~checked], minlength=n_cat)
        t_out = pc.fill_null(t["t_out"], 0).to_numpy().astype(np.int64)
        dwell = (t_out[checked] - t["t_in"].to_numpy()[checked]) // 60
        slot = cat[checked] * (_MAX_DWELL_MIN + 1) + np.minimum(dwell, _MAX_DWELL_MIN)
        dwell_hist += np.bincount(slot, minlength=len(dwell_hist))

    scans = sum(per_day.values())
    per_ward_scans = np.bincount(venue_ward, weights=per_venue, minlength=len(WARDS) + 1)
    wards = [
        WardRow(
            code=w.code,
            name=w.name,
            venues=int(np.sum(v_ward == w.code)),
            residents=int(np.sum(home == w.code)),
            app_users=int(np.sum(app[home == w.code])),
            scans=int(per_ward_scans[w.code]),
            share=float(per_ward_scans[w.code] / max(scans, 1)),
        )
        for w in WARDS
    ]
    hist = dwell_hist.reshape(n_cat, _MAX_DWELL_MIN + 1)
    categories = [
        CategoryRow(
            code=c.code,
            slug=c.slug,
            name_en=c.name_en,
            venues=int(np.sum(v_cat == c.code)),
            scans=int(per_cat[c.code]),
            share=float(per_cat[c.code] / max(scans, 1)),
            median_dwell_min=_median(hist[c.code]),
            no_checkout_share=float(no_out_cat[c.code] / max(per_cat[c.code], 1)),
        )
        for c in CATEGORIES
    ]
    counts = per_venue[1:]
    busiest = np.argsort(-counts, kind="stable")
    names = venues["name"]
    top = [
        VenueRow(
            venue_id=int(i) + 1,
            name=str(names[int(i)]),
            ward=WARD_BY_CODE[int(v_ward[i])].name,
            category=CATEGORY_BY_CODE[int(v_cat[i])].slug,
            scans=int(counts[i]),
        )
        for i in busiest[:TOP_VENUES]
    ]
    k = max(1, int(np.ceil(n_venues / 100)))
    return CityDescription(
        out_dir=out,
        generator_version=str(meta["generator_version"]),
        config=meta["config"],
        scans=scans,
        venues=n_venues,
        adults=len(home),
        app_users=int(app.sum()),
        no_checkout_share=float(no_out_cat.sum() / max(scans, 1)),
        wards=wards,
        categories=categories,
        scans_per_day=per_day,
        top_venues=top,
        top1pct_venue_share=float(counts[busiest[:k]].sum() / max(scans, 1)),
        outbreak=outbreak,
    )


def _median(hist: npt.NDArray[np.int64]) -> float | None:
    total = int(hist.sum())
    if total == 0:
        return None
    return float(np.searchsorted(np.cumsum(hist), (total + 1) / 2))


def venue_names(out_dir: str | Path, venue_ids: Iterable[int]) -> dict[int, str]:
    """Names of the given venues of a written city (for printing evidence)."""
    wanted = sorted(set(venue_ids))
    table = pq.read_table(
        Path(out_dir) / VENUES_FILE,
        columns=["venue_id", "name"],
        filters=[("venue_id", "in", wanted)] if wanted else None,
    )
    return dict(zip(table["venue_id"].to_pylist(), table["name"].to_pylist(), strict=True))
