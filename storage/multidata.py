"""The supervisor's data directory when several ingest processes share the node.

Same layout as `storage.datadir.DataDir` (segments, manifest, venues, people, pseudonym key)
except that the scans come from N hot stores, `hot/` and `hot-p<k>/`, each owned (written)
by one ingest process. The supervisor never writes them: it reads them through
`storage.multihot.MergedHot`, seals the merged days (`storage.multiseal`) and keeps the
segments, manifest and retention for the node. Each ingest process purges its own log's
expired days (`ingest.process`), because only a RocksDB primary can delete.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Self

import numpy as np
import numpy.typing as npt

from storage.directory import PersonDirectory
from storage.hotstore import HotStore
from storage.lifecycle import Closing
from storage.manifest import Manifest
from storage.multihot import MergedHot, process_dirs
from storage.multiseal import MergedSealer
from storage.reader import StorageReader
from storage.retention import PurgeReport, purge_before
from storage.sealing import SealResult, last_tail_end, remove_orphans, seal_due_days
from storage.segments import DEFAULT_COMPRESSION, Compression, compression_of
from storage.settings import Settings
from storage.totals import ScanTotals
from storage.visits import DEFAULT_DWELL_S


def ensure_hot_stores(root: Path, processes: int, n_shards: int = 16) -> dict[int, Path]:
    """Create the missing hot stores of processes 0..N-1 (a secondary needs an existing DB)."""
    dirs = process_dirs(root, processes)
    for path in dirs.values():
        if not (path / "CURRENT").exists():
            HotStore(path, n_shards=n_shards).close()
    return dirs


class MultiDataDir(Closing):
    """Segments + manifest + the merged hot view of every ingest process's store."""

    def __init__(
        self,
        root: Path,
        processes: int,
        *,
        n_shards: int = 16,
        dwell_s: npt.NDArray[np.int64] = DEFAULT_DWELL_S,
        compression: Compression = DEFAULT_COMPRESSION,
        index_memory_bytes: int = 0,
        offline: bool = False,
    ) -> None:
        self.root = Path(root)
        self.segment_dir = self.root / "segments"
        self.venues_path = self.root / "venues"
        self.people_path = self.root / "people"
        self.pseudonym_key_path = self.root / "pseudonym.key"
        self.segment_dir.mkdir(parents=True, exist_ok=True)
        self.manifest = Manifest(self.root / "manifest.json", n_shards)
        self.orphans_removed = remove_orphans(self.segment_dir, self.manifest)
        self.processes = processes
        self.stores = stores = ensure_hot_stores(self.root, processes, n_shards)
        #: offline (`qrtrace seal` / `purge` with no server): every store opened as a primary,
        #: which both locks out a running node and lets retention delete from each log
        self.owned: dict[int, HotStore] = {}
        try:
            for process, path in stores.items() if offline else ():
                self.owned[process] = HotStore(
                    path, n_shards=n_shards, sealed=self.manifest.sealed_of(process)
                )
        except BaseException:
            self._close_owned()
            raise
        self.hot = MergedHot(
            stores,
            self.root / "ingest" / "secondary",
            n_shards=n_shards,
            sealed={k: self.manifest.sealed_of(k) for k in stores},
            index_memory_bytes=index_memory_bytes,
            spill_dir=self.root / "ingest" / "index-runs",
        )
        self.sealer = MergedSealer(
            self.hot, self.manifest, self.segment_dir, dwell_s=dwell_s, compression=compression
        )
        self.reader = StorageReader(self.hot, self.manifest, self.segment_dir, dwell_s=dwell_s)

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> Self:
        """Open `settings.data_dir` for `settings.ingest_processes` processes."""
        compression = compression_of(settings)
        return cls(
            settings.data_dir,
            settings.ingest_processes,
            **{
                "compression": compression,
                "index_memory_bytes": settings.hot_index_memory_mib << 20,
                **overrides,
            },
        )

    @property
    def totals(self) -> ScanTotals:
        """Accepted-scan counters over every process, each unique scan once."""
        return self.hot.totals

    def seal_due(self, now: int, grace_s: int) -> list[SealResult]:
        """Seal every day whose local end is at least `grace_s` before `now`."""
        self.hot.refresh()
        return seal_due_days(self.hot, self.sealer.seal_day, now, grace_s)

    def seal_all(self) -> list[SealResult]:
        """Seal every day with unsealed scans now, today included."""
        self.hot.refresh()
        return self.seal_due(last_tail_end(self.hot), 0)

    def purge_before(self, day: int, directory: PersonDirectory | None = None) -> PurgeReport:
        """Retention for segments, manifest, directory and the view.

        Each running process purges its own log; a store left by an earlier, larger N has no
        process, so it is purged here (nobody else holds it open as a primary), and so is
        every store when opened `offline`.
        """
        report = purge_before(
            day,
            hot=self.hot,
            manifest=self.manifest,
            segment_dir=self.segment_dir,
            directory=directory,
            forget_segment=self.reader.forget,
        )
        for process, path in self.stores.items():
            if process in self.owned:
                self.owned[process].drop_days_before(day, include_unsealed=True)
            elif process >= self.processes:
                with HotStore(path, n_shards=self.hot.n_shards) as orphan:
                    orphan.drop_days_before(day, include_unsealed=True)
        return report

    def _close_owned(self) -> None:
        for store in self.owned.values():
            store.close()
        self.owned.clear()

    def close(self) -> None:
        """Close the secondary instances and the merged index (and offline, the primaries)."""
        self.hot.close()
        self._close_owned()
