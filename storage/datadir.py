"""One data directory: hot log, segments and manifest opened together, recovery included.

Layout: `hot/` (RocksDB), `segments/day=D/gGGGG-sSSSSS.arrow`, `manifest.json`, and beside
them the stores other tiers open by path: `venues/` (VenueRegistry), `people/`
(PersonDirectory), `pseudonym.key` (storage.pseudonym). Opening
loads the manifest first, deletes segment files it does not name (a seal interrupted before
its manifest commit), then opens the hot store with the manifest's sealed sequences so the
tail holds exactly the scans no segment has.
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
from storage.reader import StorageReader
from storage.retention import PurgeReport, purge_before
from storage.sealing import Sealer, SealResult, last_tail_end, remove_orphans, seal_due_days
from storage.segments import DEFAULT_COMPRESSION, Compression, compression_of
from storage.settings import Settings
from storage.totals import ScanTotals
from storage.visits import DEFAULT_DWELL_S


class DataDir(Closing):
    """The storage tier of one node, built from explicit parameters."""

    def __init__(
        self,
        root: Path,
        *,
        n_shards: int = 16,
        dwell_s: npt.NDArray[np.int64] = DEFAULT_DWELL_S,
        compression: Compression = DEFAULT_COMPRESSION,
        queue_size: int = 1024,
        sync: bool = True,
        index_capacity: int = 0,
        tail_memory_bytes: int = 32 << 20,
        index_memory_bytes: int = 0,
    ) -> None:
        self.root = Path(root)
        self.segment_dir = self.root / "segments"
        self.venues_path = self.root / "venues"
        self.people_path = self.root / "people"
        self.pseudonym_key_path = self.root / "pseudonym.key"
        self.segment_dir.mkdir(parents=True, exist_ok=True)
        self.manifest = Manifest(self.root / "manifest.json", n_shards)
        self.orphans_removed = remove_orphans(self.segment_dir, self.manifest)
        self.hot = HotStore(
            self.root / "hot",
            n_shards=n_shards,
            sealed=self.manifest.sealed,
            queue_size=queue_size,
            sync=sync,
            index_capacity=index_capacity,
            tail_memory_bytes=tail_memory_bytes,
            index_memory_bytes=index_memory_bytes,
            spill_dir=self.root / "index-runs",
        )
        self.sealer = Sealer(
            self.hot, self.manifest, self.segment_dir, dwell_s=dwell_s, compression=compression
        )
        self.reader = StorageReader(self.hot, self.manifest, self.segment_dir, dwell_s=dwell_s)

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> Self:
        """Open `settings.data_dir` with the settings' segment compression."""
        compression = compression_of(settings)
        return cls(settings.data_dir, **{"compression": compression, **overrides})

    @property
    def totals(self) -> ScanTotals:
        """Accepted-scan counters per day × venue × category (storage.totals)."""
        return self.hot.totals

    def seal_due(self, now: int, grace_s: int) -> list[SealResult]:
        """Seal every day whose local end is at least `grace_s` before `now`."""
        return seal_due_days(self.hot, self.sealer.seal_day, now, grace_s)

    def seal_all(self) -> list[SealResult]:
        """Seal every day with unsealed scans now, today included (import, shutdown)."""
        return self.seal_due(last_tail_end(self.hot), 0)

    def purge_before(self, day: int, directory: PersonDirectory | None = None) -> PurgeReport:
        """Retention: remove every day < `day` from every store (storage.retention)."""
        return purge_before(
            day,
            hot=self.hot,
            manifest=self.manifest,
            segment_dir=self.segment_dir,
            directory=directory,
            forget_segment=self.reader.forget,
        )

    def close(self) -> None:
        """Drain and close the hot store (segments need no closing)."""
        self.hot.close()
