"""Writing a city to disk: Parquet tables, Hive-style day partitions and JSON metadata.

Layout (everything an importer, a benchmark or `describe_city` needs, nothing else)::

    city.json                          format marker, config, counts, per-file rows/bytes/sha256
    venues.parquet  people.parquet     the static city
    visits/day=YYYY-MM-DD/part-0.parquet
    outbreak.json                      planted cases and their brute-force expected contacts

`t_out` is null where the check-out was never scanned, exactly what an importer would see;
`t_out_true` keeps the real departure for evaluation. zstd level 1 because it compresses
these integer columns about as well as level 3 at a fraction of the CPU. Output bytes are a
function of the config alone (no timestamps, no random file names), so a city can be
checked by hashing. city.json is written first as "writing" and rewritten "complete" at the
end, so an interrupted run is recognisable and may be overwritten.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from storage.domain import CATEGORIES, WARDS
from storage.synthetic_city.city import City, build_city
from storage.synthetic_city.config import GENERATOR_VERSION, CityConfig, planted_visit_count
from storage.synthetic_city.errors import CityOutputError
from storage.synthetic_city.names import person_reference
from storage.synthetic_city.truth import TruthCollector
from storage.synthetic_city.visits import VisitBatch, iter_visit_batches

FORMAT = "qrtrace-synthetic-city"
CITY_JSON = "city.json"
VENUES_FILE = "venues.parquet"
PEOPLE_FILE = "people.parquet"
OUTBREAK_JSON = "outbreak.json"
VISITS_DIR = "visits"
#: the only entries a city directory holds; anything else means "not ours, do not delete"
OWN_ENTRIES = frozenset({CITY_JSON, VENUES_FILE, PEOPLE_FILE, OUTBREAK_JSON, VISITS_DIR})

_PARQUET = {"compression": "zstd", "compression_level": 1}


@dataclass(frozen=True, slots=True)
class CitySummary:
    """What `write_city` produced; `elapsed_s` is the only non-deterministic field."""

    out_dir: Path
    config: CityConfig
    scans: int
    venues: int
    people: int
    app_users: int
    scans_per_day: dict[str, int]
    files: int
    bytes: int
    elapsed_s: float


def visit_path(day_iso: str) -> str:
    """Relative path of one day's visit file."""
    return f"{VISITS_DIR}/day={day_iso}/part-0.parquet"


def write_city(
    config: CityConfig,
    out_dir: str | Path,
    progress: Callable[[int, int], None] | None = None,
) -> CitySummary:
    """Generate the city for `config` into `out_dir`; `progress(done, total)` after each day."""
    started = time.perf_counter()
    out = Path(out_dir)
    _prepare(out)
    _write_json(out / CITY_JSON, {"format": FORMAT, "status": "writing"})
    city = build_city(config)
    files: dict[str, dict[str, Any]] = {}
    files[VENUES_FILE] = _write_table(out, VENUES_FILE, venues_table(city))
    files[PEOPLE_FILE] = _write_table(out, PEOPLE_FILE, people_table(city))
    truth = TruthCollector(city)
    per_day: dict[str, int] = {}
    done = 0
    for batch in iter_visit_batches(city, config):
        truth.observe(batch)
        day = batch.day.isoformat()
        (out / VISITS_DIR / f"day={day}").mkdir(parents=True, exist_ok=True)
        files[visit_path(day)] = _write_table(out, visit_path(day), visits_table(batch))
        per_day[day] = len(batch)
        done += len(batch)
        if progress is not None:
            progress(done, config.scans)
    outbreak = truth.finish().to_json()
    _write_json(out / OUTBREAK_JSON, outbreak)
    files[OUTBREAK_JSON] = _file_info(out / OUTBREAK_JSON, rows=len(outbreak["cases"]))
    meta = {
        "format": FORMAT,
        "status": "complete",
        "generator_version": GENERATOR_VERSION,
        "seed": config.seed,
        "config": config.to_json(),
        "counts": {
            "scans": done,
            "days": config.days,
            "venues": len(city.venues),
            "adults": len(city.people),
            "app_users": int(city.people.app_user.sum()),
            "planted_visits": planted_visit_count(config.outbreak_cases),
            "outbreak_cases": config.outbreak_cases,
        },
        "scans_per_day": per_day,
        "files": files,
    }
    _write_json(out / CITY_JSON, meta)
    return CitySummary(
        out_dir=out,
        config=config,
        scans=done,
        venues=len(city.venues),
        people=len(city.people),
        app_users=int(city.people.app_user.sum()),
        scans_per_day=per_day,
        files=len(files) + 1,
        bytes=sum(int(f["bytes"]) for f in files.values()) + (out / CITY_JSON).stat().st_size,
        elapsed_s=time.perf_counter() - started,
    )


def venues_table(city: City) -> pa.Table:
    v = city.venues
    ward_names = pa.array([w.name for w in WARDS])
    slugs = pa.array([c.slug for c in CATEGORIES])
    return pa.table(
        {
            "venue_id": v.venue_id,
            "ward": v.ward,
            "ward_name": ward_names.take(pa.array(v.ward.astype("int64") - 1)),
            "category": v.category,
            "category_slug": slugs.take(pa.array(v.category.astype("int64") - 1)),
            "name": pa.array(v.name),
            "popularity": v.popularity,
            "lat": v.lat,
            "lon": v.lon,
        }
    )


def people_table(city: City) -> pa.Table:
    p = city.people
    return pa.table(
        {
            "person": p.person,
            "reference": person_reference(p.person),
            "home_ward": p.home_ward,
            "app_user": p.app_user,
            "activity": p.activity,
            "phone": pa.array(p.phone),
            "name": pa.array(p.name),
            "birth_year": p.birth_year,
        }
    )


def visits_table(batch: VisitBatch) -> pa.Table:
    """One day's visits; `t_out` masked (null) where no check-out was scanned."""
    return pa.table(
        {
            "person": batch.person,
            "person_ref": person_reference(batch.person),
            "venue": batch.venue,
            "t_in": batch.t_in,
            "t_out": pa.array(batch.t_out, mask=~batch.has_checkout),
            "t_out_true": batch.t_out,
            "category": batch.category,
            "has_checkout": batch.has_checkout,
        }
    )


def read_city_json(out_dir: Path) -> dict[str, Any]:
    """city.json of a complete city output, or a CityOutputError saying what is wrong."""
    path = out_dir / CITY_JSON
    if not out_dir.is_dir():
        raise CityOutputError(f"{out_dir} is not a directory; expected a city output directory")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CityOutputError(f"{out_dir} is not a city output: no {CITY_JSON}") from None
    except json.JSONDecodeError as exc:
        raise CityOutputError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CityOutputError(f"{path} is not a city output: format is not {FORMAT!r}")
    if meta.get("status") != "complete":
        raise CityOutputError(f"{out_dir} holds an incomplete city output (interrupted write?)")
    return meta


def _prepare(out: Path) -> None:
    """Create `out`, or clear a previous city output there; refuse anything else."""
    if out.exists() and not out.is_dir():
        raise CityOutputError(f"{out} exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    entries = {p.name for p in out.iterdir()}
    if not entries:
        return
    foreign = sorted(entries - OWN_ENTRIES)
    ours = False
    try:
        meta = json.loads((out / CITY_JSON).read_text(encoding="utf-8"))
        ours = isinstance(meta, dict) and meta.get("format") == FORMAT
    except (OSError, json.JSONDecodeError):
        pass
    if foreign or not ours:
        listed = ", ".join(foreign or sorted(entries))
        raise CityOutputError(
            f"refusing to write into {out}: it is not empty and not a previous city output"
            f" (found {listed}); expected an empty or new directory"
        )
    for name in entries:
        path = out / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def _write_table(out: Path, rel: str, table: pa.Table) -> dict[str, Any]:
    pq.write_table(table, out / rel, **_PARQUET)
    return _file_info(out / rel, rows=table.num_rows)


def _file_info(path: Path, rows: int) -> dict[str, Any]:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return {"rows": rows, "bytes": path.stat().st_size, "sha256": digest.hexdigest()}


def _write_json(path: Path, data: dict[str, Any]) -> None:
    text = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=False) + "\n"
    path.write_text(text, encoding="utf-8")
