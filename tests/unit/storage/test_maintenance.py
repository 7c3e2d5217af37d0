"""The maintenance scheduler seals due days and purges expired ones, once or in the background."""

from __future__ import annotations

import time
from pathlib import Path

from storage.datadir import DataDir
from storage.maintenance import Maintenance, MaintenancePolicy
from storage.records import day_bounds
from storage.settings import load_settings

from .scan_factory import DAY, random_scans


def test_run_once_seals_after_grace_and_purges_after_retention(tmp_path: Path) -> None:
    policy = MaintenancePolicy(seal_grace_s=3600, retention_days=2)
    with DataDir(tmp_path, n_shards=2) as data:
        data.hot.submit(random_scans(300, seed=1, day=DAY - 2)).result()
        data.hot.submit(random_scans(300, seed=2, day=DAY)).result()
        jobs = Maintenance(data, policy)
        end = day_bounds(DAY)[1]
        first = jobs.run_once(end + 3599)  # DAY not yet due; DAY - 2 expired
        assert [r.day for r in first.sealed] == []
        assert first.purge is not None
        assert first.purge.days == (DAY - 2,)
        second = jobs.run_once(end + 3600)
        assert [r.day for r in second.sealed] == [DAY]
        assert data.hot.tail_days() == []
        assert data.totals.days() == [DAY]


def test_background_thread_seals_and_stops(tmp_path: Path) -> None:
    policy = MaintenancePolicy(seal_grace_s=0, seal_interval_s=0.01, purge_interval_s=0.05)
    now = day_bounds(DAY + 1)[0]
    with DataDir(tmp_path, n_shards=2) as data, Maintenance(data, policy, clock=lambda: now) as m:
        data.hot.submit(random_scans(100, seed=3)).result()
        m.start()
        deadline = time.monotonic() + 10
        while data.hot.tail_days() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert data.hot.tail_days() == []
        assert m.last_error is None
        m.stop()
        assert m.rounds >= 1


def test_policy_and_datadir_from_settings(tmp_path: Path) -> None:
    settings = load_settings(
        data_dir=tmp_path, seal_grace_minutes=5, retention_days=3, segment_compression="none"
    )
    policy = MaintenancePolicy.from_settings(settings)
    assert (policy.seal_grace_s, policy.retention_days) == (300, 3)
    with DataDir.from_settings(settings, n_shards=2) as data:
        assert data.sealer.compression is None
