"""Syncing RocksDB's write-ahead log without holding Python's GIL.

rocksdict holds the GIL for the whole of `Rdict.write`, fsync included (measured: a synced
1.5 ms write stalls every other Python thread for those 1.5 ms). In the ingest server that
froze the event loop, the gRPC polling and the decoding for every group commit, several
hundred times a second. So the hot store writes with `sync=False` and then makes the log
durable itself:

- RocksDB appends each unsynced write's WAL record to the OS before `write` returns (the
  log writer flushes its buffer per write unless `manual_wal_flush` is set; RocksDB
  documents that such writes survive a process crash), so an `fdatasync` of the live log
  file afterwards is exactly RocksDB's own `SyncWAL()`: the write is then on disk.
- `os.fdatasync` releases the GIL: the loop keeps serving while the disk works.
- Every live `*.log` file is synced, oldest first, so a log switch between the write and
  the sync leaves no unsynced record behind an acknowledged one. A log that vanished
  meanwhile was obsolete: its records are in a table file RocksDB synced before deleting it.
- When a new log file appears, the directory is synced too, so its entry survives a power
  cut (RocksDB does the same for synced writes).

An ack is still sent only after this sync returns: "acknowledged" keeps meaning "on disk".
"""

from __future__ import annotations

import os
from pathlib import Path

from storage.fsutil import fsync_dir

LOG_SUFFIX = ".log"


def _log_number(name: str) -> tuple[int, str]:
    stem = name[: -len(LOG_SUFFIX)]
    return (int(stem), name) if stem.isdigit() else (-1, name)


class WalSync:
    """fdatasync of a RocksDB directory's live write-ahead logs (one owner thread)."""

    def __init__(self, db_dir: Path) -> None:
        self._dir = Path(db_dir)
        self._fds: dict[str, int] = {}
        self.syncs = 0

    def sync(self) -> None:
        """Make every write that returned before this call durable."""
        names = sorted(
            (n for n in os.listdir(self._dir) if n.endswith(LOG_SUFFIX)), key=_log_number
        )
        new = False
        for name in [n for n in self._fds if n not in names]:
            os.close(self._fds.pop(name))
        for name in names:
            fd = self._fds.get(name)
            if fd is None:
                try:
                    fd = os.open(self._dir / name, os.O_RDONLY)
                except FileNotFoundError:  # obsolete and deleted since the listing
                    continue
                self._fds[name] = fd
                new = True
            os.fdatasync(fd)
        if new:
            fsync_dir(self._dir)
        self.syncs += 1

    def close(self) -> None:
        """Close the cached log descriptors."""
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
