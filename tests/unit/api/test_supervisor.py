"""The supervisor's pieces that need no child process: port reservation and its metrics."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from api.cli.serve import refuse_leftover_stores
from api.merged_node import MergedNode
from api.supervisor import Supervisor, reserve_port, start_supervised, supervisor_registry
from ingest.errors import IngestConfigError
from storage.hotstore import HotStore
from storage.multihot import hot_dir
from storage.records import make_scans
from storage.settings import load_settings


def test_reserved_port_can_be_bound_again_by_every_process() -> None:
    first = reserve_port("127.0.0.1", 0)
    port = first.getsockname()[1]
    try:
        assert port > 0
        again = reserve_port("127.0.0.1", port)  # what each ingest process does (gRPC)
        again.close()
    finally:
        first.close()


def test_metrics_count_cross_process_duplicates_and_restarts(tmp_path: Path) -> None:
    settings = load_settings(None, data_dir=tmp_path, ingest_processes=2)
    scans = make_scans(np.arange(32, dtype=np.uint8).reshape(2, 16), 7, 1, 1_700_000_000)
    for k in (0, 1):
        with HotStore(hot_dir(tmp_path, k)) as hot:
            hot.submit(scans).result()
    with MergedNode(settings) as node:
        supervisor = Supervisor(settings, node)
        supervisor.restarts = 3
        registry = supervisor_registry(supervisor, node)
        assert registry.get_sample_value("qrtrace_ingest_merge_duplicates_total") == 2
        assert registry.get_sample_value("qrtrace_ingest_merge_conflicts_total") == 0
        assert registry.get_sample_value("qrtrace_ingest_process_restarts_total") == 3
        assert registry.get_sample_value("qrtrace_ingest_merged_tail_scans") == 2


def test_one_process_refuses_stores_a_multi_process_run_left(tmp_path: Path) -> None:
    settings = load_settings(None, data_dir=tmp_path)
    refuse_leftover_stores(settings)  # nothing left: fine
    HotStore(hot_dir(tmp_path, 2)).close()
    refuse_leftover_stores(settings)  # an empty store (retention emptied it) is removed
    assert not hot_dir(tmp_path, 2).exists()
    with HotStore(hot_dir(tmp_path, 1)) as hot:
        hot.submit(make_scans(np.ones((1, 16), np.uint8), 7, 1, 1_700_000_000)).result()
    with pytest.raises(IngestConfigError, match="ingest processes \\[1\\]"):
        refuse_leftover_stores(settings)


def test_plaintext_off_loopback_is_refused_before_any_process_starts(tmp_path: Path) -> None:
    settings = load_settings(None, data_dir=tmp_path, ingest_processes=2, ingest_host="0.0.0.0")
    with pytest.raises(IngestConfigError, match="no TLS is configured"):
        asyncio.run(start_supervised(settings))
    assert not (tmp_path / "hot-p1").exists()
