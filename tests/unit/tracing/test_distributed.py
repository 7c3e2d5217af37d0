"""The distributed engine over the real sealed segments of the synthetic city, in process.

Workers' file path (`PartitionCache` reading through pyarrow filesystems, verified) and the
engine's use of one snapshot are exercised here without Dask; tests/integration/
test_dask_tracing.py runs the same engine on real Dask clusters.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from storage.errors import CorruptSegmentError
from tracing.distributed import DistributedEngine, InProcess, PartitionCache
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


def test_the_cache_reads_each_partition_once_and_keeps_within_its_bound(
    city_store: CityStore,
) -> None:
    data = city_store.data
    entries = [e for e in data.manifest.entries if e.rows]
    cache = PartitionCache()
    first = cache.part(str(data.segment_dir), entries[:1])
    assert cache.part(str(data.segment_dir), entries[:1]) is first
    bound = first.nbytes + 1
    bounded = PartitionCache(max_bytes=bound)
    for e in entries[:3]:
        bounded.part(str(data.segment_dir), [e])
        assert bounded.nbytes <= bound or len(bounded) == 1  # the newest part always stays
    assert len(bounded) < 3


def test_a_corrupted_segment_is_refused_by_name(city_store: CityStore, tmp_path: Path) -> None:
    data = city_store.data
    entry = next(e for e in data.manifest.entries if e.rows)
    copy = tmp_path / entry.file
    copy.parent.mkdir(parents=True)
    raw = bytearray((data.segment_dir / entry.file).read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    copy.write_bytes(bytes(raw))
    with pytest.raises(CorruptSegmentError, match="sha256"):
        PartitionCache().part(str(tmp_path), [entry])
    copy.write_bytes(bytes(raw[:-10]))
    with pytest.raises(CorruptSegmentError, match="truncated"):
        PartitionCache().part(str(tmp_path), [entry])
    copy.unlink()
    with pytest.raises(CorruptSegmentError, match="unreadable"):
        PartitionCache().part(str(tmp_path), [entry])
