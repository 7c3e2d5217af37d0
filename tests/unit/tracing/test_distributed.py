"""The distributed engine over the real sealed segments of the synthetic city, in process.

Workers' file path (`GroupCache` reading through pyarrow filesystems, verified) and the
engine's use of one snapshot are exercised here without Dask; tests/integration/
test_dask_tracing.py runs the same engine on real Dask clusters.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from storage.errors import CorruptSegmentError
from tracing.distributed import (
    DistributedEngine,
    GroupCache,
    InProcess,
    PartitionSpec,
    plan_partitions,
)
from tracing.f2 import f2_candidates
from tracing.graph import Case, clusters
from tracing.index import IndexSource
from tracing.rules import RULE_SETS

from .city_data import CityPeople, CityStore, pseudonym
from .test_engine import city_window


def distributed(store: CityStore, root: str | None = None) -> DistributedEngine:
    data = store.data
    source = IndexSource(data.hot, data.manifest, data.segment_dir)
    return DistributedEngine(
        source.snapshot, InProcess(), segment_root=root or str(data.segment_dir),
        n_shards=data.manifest.n_shards, venues=store.venues, people=CityPeople(store.city),
    )  # fmt: skip


@pytest.mark.parametrize("name", list(RULE_SETS))
def test_every_rule_set_gives_the_engine_result(city_store: CityStore, name: str) -> None:
    rules = RULE_SETS[name]
    engine = distributed(city_store)
    persons = np.unique(city_store.engine.parts()[0].person)[:40]
    window = city_window()
    for p in persons[:8].tolist():
        assert engine.trace_case(p, window, rules).to_json() == (
            city_store.engine.trace_case(p, window, rules).to_json()
        )
    a = city_store.engine.trace_many(persons, [window] * len(persons), rules)
    b = engine.trace_many(persons, [window] * len(persons), rules)
    for field in ("c_off", "person", "units", "shared", "first", "last", "high"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), field


def test_f2_and_clusters_match_through_a_file_uri(city_store: CityStore) -> None:
    engine = distributed(city_store, Path(city_store.data.segment_dir).resolve().as_uri())
    rules = RULE_SETS["vn-moh"]
    f0 = int(pseudonym([city_store.truth.cases[0].person])[0])
    local = city_store.engine.trace_case(f0, city_window(), rules)
    remote = engine.trace_case(f0, city_window(), rules)
    assert f2_candidates(engine, remote) == f2_candidates(city_store.engine, local)
    cases = [
        Case(int(pseudonym([c.person])[0]), city_window(), c.onset_date or c.sample_date)
        for c in city_store.truth.cases
    ]
    assert clusters(engine, cases, rules, hot_spot_cases=1) == clusters(
        city_store.engine, cases, rules, hot_spot_cases=1
    )


def _specs(store: CityStore) -> list[PartitionSpec]:
    entries = [e for e in store.data.manifest.entries if e.rows]
    return plan_partitions(entries, by_day=False, hot_rows=0, hot_days=[])


def test_a_group_is_read_once_and_grows_by_merging_new_partitions(city_store: CityStore) -> None:
    root = str(city_store.data.segment_dir)
    specs = _specs(city_store)
    cache = GroupCache()
    first = cache.part(root, specs[:2])
    assert cache.part(root, specs[:2]) is first
    grown = cache.part(root, specs[:3])  # the first two merged with the third's files
    assert len(cache) == 1
    fresh = GroupCache().part(root, specs[:3])
    for name in ("off", "t_in", "t_out", "person", "flags", "maxlen", "person_order"):
        assert np.array_equal(getattr(grown, name), getattr(fresh, name)), name
    assert len(grown) == sum(s.rows for s in specs[:3])


def test_a_corrupted_segment_is_refused_by_name(city_store: CityStore, tmp_path: Path) -> None:
    data = city_store.data
    spec = _specs(city_store)[0]
    entry = spec.entries[0]
    copy = tmp_path / entry.file
    copy.parent.mkdir(parents=True)
    raw = bytearray((data.segment_dir / entry.file).read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    copy.write_bytes(bytes(raw))
    with pytest.raises(CorruptSegmentError, match="sha256"):
        GroupCache().part(str(tmp_path), [spec])
    copy.write_bytes(bytes(raw[:-10]))
    with pytest.raises(CorruptSegmentError, match="truncated"):
        GroupCache().part(str(tmp_path), [spec])
    copy.unlink()
    with pytest.raises(CorruptSegmentError, match="unreadable"):
        GroupCache().part(str(tmp_path), [spec])
