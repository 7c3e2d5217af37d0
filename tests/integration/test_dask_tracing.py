"""Distributed tracing on real Dask clusters equals local tracing, field for field.

The same 200 cases of the synthetic city (sealed days as segments + one hot day) are traced
by the local engine, on a `distributed.LocalCluster` (2 worker processes), and on a
scheduler + 2 workers started as separate `dask scheduler` / `dask worker` processes on
loopback; every ranked list must be identical (the whole result document: ranks, scores,
tiers, evidence, check-out labels, case visits). The CLI's `--cluster` prints what the local
command prints. Everything binds 127.0.0.1, port 0, in tmp directories.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from distributed import Client, LocalCluster

from storage.datadir import DataDir
from storage.directory import PersonDirectory
from storage.pseudonym import Pseudonymiser, load_or_create_key
from storage.records import day_bounds, make_scans
from storage.venues import Venue, VenueRegistry
from tests.unit.tracing.city_data import CityPeople, CityStore, build_store
from tracing.batch import trace_cases
from tracing.dask_cluster import ClusterTracing, DaskExecutor, connect
from tracing.distributed import DistributedEngine
from tracing.engine import TraceEngine, Window
from tracing.index import IndexSource
from tracing.rules import RULE_SETS

from .test_cli import qrtrace

pytestmark = pytest.mark.slow
N_CASES = 200
DASK = str(Path(sys.executable).parent / "dask")
NUMBA_CACHE = str(Path(__file__).resolve().parents[2] / ".numba_cache")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CityStore]:
    city = build_store(tmp_path_factory.mktemp("dask-city"))
    yield city
    city.data.close()


@pytest.fixture(scope="module")
def cases(store: CityStore) -> tuple[np.ndarray, Window]:
    parts = store.engine.parts()
    persons = np.unique(np.concatenate([p.person for p in parts]))
    pick = np.random.default_rng(9).choice(persons, N_CASES, replace=False)
    lo = min(int(p.t_in.min()) for p in parts if len(p))
    hi = max(int(p.t_out.max()) for p in parts if len(p)) + 1
    return pick.astype(np.uint64), Window(lo, hi)


@pytest.fixture(scope="module")
def local_docs(store: CityStore, cases: tuple[np.ndarray, Window]) -> list[dict[str, Any]]:
    persons, window = cases
    rules = RULE_SETS["vn-moh"]
    return [store.engine.trace_case(int(p), window, rules).to_json() for p in persons]


@pytest.fixture(scope="module")
def dask_processes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`dask scheduler` + 2 `dask worker` processes on loopback; yields the address."""
    tmp = tmp_path_factory.mktemp("dask-procs")
    file = tmp / "scheduler.json"
    common = ["--host", "127.0.0.1", "--no-dashboard"]
    scheduler = [DASK, "scheduler", "--port", "0", "--scheduler-file", str(file), *common]
    quiet: dict[str, Any] = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [subprocess.Popen(scheduler, cwd=tmp, **quiet)]
    try:
        deadline = time.monotonic() + 60
        while not file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        for k in range(2):
            worker = [
                DASK,
                "worker",
                "--scheduler-file",
                str(file),
                "--nthreads",
                "1",
                "--no-nanny",
            ]
            local = ["--name", f"w{k}", "--local-directory", str(tmp / f"w{k}")]
            procs.append(subprocess.Popen([*worker, *local, *common], cwd=tmp, **quiet))
        address = json.loads(file.read_text())["address"]
        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=90)
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in reversed(procs):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _engine(store: CityStore, address: str) -> tuple[DistributedEngine, DaskExecutor]:
    data = store.data
    executor = DaskExecutor(connect(address, numba_cache_dir=NUMBA_CACHE))
    source = IndexSource(data.hot, data.manifest, data.segment_dir)
    engine = DistributedEngine(
        source.snapshot, executor, segment_root=str(data.segment_dir),
        n_shards=data.manifest.n_shards, venues=store.venues, people=CityPeople(store.city),
    )  # fmt: skip
    return engine, executor


def _assert_same(
    local: TraceEngine,
    remote: DistributedEngine,
    cases: tuple[np.ndarray, Window],
    local_docs: list[dict[str, Any]],
) -> None:
    persons, window = cases
    rules = RULE_SETS["vn-moh"]
    results = trace_cases(remote, persons, [window] * len(persons), rules)  # 2 rounds in all
    docs = [r.to_json() for r in results]
    assert sum(len(d["contacts"]) for d in docs) > N_CASES  # real lists, not empty ones
    for i, (mine, want) in enumerate(zip(docs, local_docs, strict=True)):
        assert mine == want, f"case {i} differs"
    for i in range(0, N_CASES, 40):  # the single-case path, two rounds each
        assert remote.trace_case(int(persons[i]), window, rules).to_json() == local_docs[i]
    for name in ("vn-moh", "nhs", "cwa"):  # shard x day partitions, and whole days (NHS)
        a = local.trace_many(persons, [window] * len(persons), RULE_SETS[name])
        b = remote.trace_many(persons, [window] * len(persons), RULE_SETS[name])
        for field in ("c_off", "person", "units", "shared", "first", "last", "high"):
            assert np.array_equal(getattr(a, field), getattr(b, field)), (name, field)


def test_local_cluster_gives_the_local_results(
    store: CityStore, cases: tuple[np.ndarray, Window], local_docs: list[dict[str, Any]]
) -> None:
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:  # fmt: skip
        engine, executor = _engine(store, cluster.scheduler_address)
        try:
            assert len(executor.workers()) == 2
            _assert_same(store.engine, engine, cases, local_docs)
        finally:
            executor.close()


def test_dask_scheduler_and_worker_processes_give_the_local_results(
    store: CityStore,
    cases: tuple[np.ndarray, Window],
    local_docs: list[dict[str, Any]],
    dask_processes: str,
) -> None:
    engine, executor = _engine(store, dask_processes)
    try:
        groups = executor.assign(engine.parts(RULE_SETS["vn-moh"]).specs)
        assert len(groups) == 2  # both workers get partitions
        _assert_same(store.engine, engine, cases, local_docs)
    finally:
        executor.close()


DAY = 18_876  # 2021-09-06 local
T = day_bounds(DAY)[0] + 9 * 3600


@pytest.fixture(scope="module")
def cli_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40 people at 6 venues over two days; the first day sealed, the second hot."""
    root = tmp_path_factory.mktemp("dask-cli") / "data"
    rng = np.random.default_rng(3)
    names = [f"09{k:08d}" for k in range(40)]
    with DataDir(root, sync=False) as data:
        registry = VenueRegistry(data.venues_path)
        for v in range(1, 7):
            registry.register(Venue(v, f"venue {v}", ward=v % 3 + 1, category=4, registered_at=0))
        registry.close()
        ids = Pseudonymiser(load_or_create_key(data.pseudonym_key_path)).person_ids(names)
        with PersonDirectory(data.people_path) as people:
            people.upsert_many(ids, names, np.arange(40) % 5 + 1)
        for day in (0, 1):
            n = 120
            t_in = T + day * 86_400 + rng.integers(0, 8 * 3600, n)
            person = rng.choice(ids, n)
            venue = rng.integers(1, 7, n)
            scans = make_scans(
                rng.integers(0, 256, (2 * n, 16), dtype=np.uint8),
                np.repeat(person, 2), np.repeat(venue, 2),
                np.stack([t_in, t_in + rng.integers(60, 5400, n)], 1).ravel(),
                direction=np.tile([0, 1], n), category=4,
            )  # fmt: skip
            data.hot.submit(scans).result()
            if day == 0:
                data.sealer.seal_day(DAY)
    return root


def test_cli_cluster_flag_prints_what_the_local_command_prints(
    cli_data: Path, dask_processes: str, tmp_path: Path
) -> None:
    env = {"QRTRACE_DASK_NUMBA_CACHE_DIR": NUMBA_CACHE}
    for person in ("0900000007",):
        args = (
            "trace", "--data-dir", str(cli_data), "--person", person, "--from",
            "2021-09-06", "--to", "2021-09-08", "--format", "json",
        )  # fmt: skip
        local = qrtrace(*args, cwd=tmp_path)
        remote = qrtrace(*args, "--cluster", dask_processes, cwd=tmp_path, env=env)
        assert local.returncode == 0, local.stderr
        assert remote.returncode == 0, remote.stderr
        assert json.loads(local.stdout)["contacts"]
        assert remote.stdout == local.stdout


def test_an_unreachable_scheduler_is_one_clear_line(cli_data: Path, tmp_path: Path) -> None:
    result = qrtrace(
        "trace", "--data-dir", str(cli_data), "--person", "0900000001", "--from", "2021-09-06",
        "--to", "2021-09-08", "--cluster", "tcp://127.0.0.1:9", cwd=tmp_path,
        env={"QRTRACE_DASK_CONNECT_TIMEOUT_S": "2"},
    )  # fmt: skip
    assert result.returncode == 2
    assert "dask scheduler 'tcp://127.0.0.1:9' unreachable" in result.stderr


def test_cluster_tracing_builds_engines_from_settings(
    store: CityStore, dask_processes: str
) -> None:
    from storage.settings import Settings  # noqa: PLC0415

    data = store.data
    source = IndexSource(data.hot, data.manifest, data.segment_dir)
    cluster = ClusterTracing.open(
        Settings(dask_scheduler=dask_processes, dask_numba_cache_dir=NUMBA_CACHE),
        source.snapshot, segment_dir=data.segment_dir, n_shards=data.manifest.n_shards,
    )  # fmt: skip
    try:
        engine = cluster.engine(store.venues, CityPeople(store.city))
        persons = np.unique(store.engine.parts()[0].person)[:5]
        window = Window(int(store.engine.parts()[0].t_in.min()), 2**31)
        rules = RULE_SETS["plain"]
        for p in persons.tolist():
            assert engine.trace_case(p, window, rules).to_json() == (
                store.engine.trace_case(p, window, rules).to_json()
            )
    finally:
        cluster.close()
