"""WalSync: the GIL-free replacement for rocksdict's synced write (storage.walsync)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from rocksdict import Options, Rdict, WriteOptions

from storage.dedupe import Verdict
from storage.hotstore import HotStore
from storage.walsync import WalSync

from .scan_factory import random_scans


def _db(path: Path) -> Rdict:
    options = Options(raw_mode=True)
    options.create_if_missing(True)
    return Rdict(str(path), options)


def _unsynced() -> WriteOptions:
    opts = WriteOptions()
    opts.sync = False
    return opts


def test_syncs_every_live_log_oldest_first_and_the_dir_once_per_new_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = _db(tmp_path / "db")
    synced: list[str] = []
    dirs: list[Path] = []
    real = os.fdatasync

    def spy(fd: int) -> None:
        synced.append(os.path.basename(os.readlink(f"/proc/self/fd/{fd}")))
        real(fd)

    monkeypatch.setattr(os, "fdatasync", spy)
    monkeypatch.setattr("storage.walsync.fsync_dir", dirs.append)
    wal = WalSync(tmp_path / "db")
    try:
        db.put(b"k1", b"v1", _unsynced())
        wal.sync()
        logs = sorted(n for n in os.listdir(tmp_path / "db") if n.endswith(".log"))
        assert logs
        assert synced == logs
        assert dirs == [tmp_path / "db"]
        db.flush(True)  # switches to a new log file
        db.put(b"k2", b"v2", _unsynced())
        synced.clear()
        wal.sync()
        now = sorted(n for n in os.listdir(tmp_path / "db") if n.endswith(".log"))
        assert synced == now
        assert len(dirs) == (2 if set(now) - set(logs) else 1)
        assert wal.syncs == 2
    finally:
        wal.close()
        db.close()


def test_hot_store_acks_only_after_the_log_sync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ack (future) and the reader-visible tail wait for the sync; the write does not."""
    inside = threading.Event()
    release = threading.Event()
    real = WalSync.sync

    def held(self: WalSync) -> None:
        inside.set()
        release.wait(10)
        real(self)

    monkeypatch.setattr(WalSync, "sync", held)
    with HotStore(tmp_path / "hot") as hot:
        future = hot.submit(random_scans(50))
        assert inside.wait(10)
        time.sleep(0.1)
        assert not future.done()
        assert hot.tail_days() == []
        assert hot.stats().scans_written == 0
        release.set()
        assert (future.result(10) == Verdict.ACCEPTED).all()
        assert hot.stats().scans_written == 50
