"""One data directory: hot log, segments and manifest opened together, recovery included.

Layout: `hot/` (RocksDB), `segments/day=D/gGGGG-sSSSSS.arrow`, `manifest.json`. Opening
loads the manifest first, deletes segment files it does not name (a seal interrupted before
its manifest commit), then opens the hot store with the manifest's sealed sequences so the
tail holds exactly the scans no segment has.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Self

import numpy as np
import numpy.typing as npt

from storage.hotstore import HotStore
from storage.manifest import Manifest
from storage.reader import StorageReader
from storage.sealing import Sealer, remove_orphans
from storage.segments import Compression
from storage.visits import DEFAULT_DWELL_S


class DataDir:
    """The storage tier of one node, built from explicit parameters."""

    def __init__(
        self,
        root: Path,
        *,
        n_shards: int = 16,
        dwell_s: npt.NDArray[np.int64] = DEFAULT_DWELL_S,
        compression: Compression = None,
        queue_size: int = 1024,
        sync: bool = True,
    ) -> None:
        self.root = Path(root)
        self.segment_dir = self.root / "segments"
        self.segment_dir.mkdir(parents=True, exist_ok=True)
        self.manifest = Manifest(self.root / "manifest.json", n_shards)
        self.orphans_removed = remove_orphans(self.segment_dir, self.manifest)
        self.hot = HotStore(
            self.root / "hot",
            n_shards=n_shards,
            sealed=self.manifest.sealed,
            queue_size=queue_size,
            sync=sync,
        )
        self.sealer = Sealer(
            self.hot, self.manifest, self.segment_dir, dwell_s=dwell_s, compression=compression
        )
        self.reader = StorageReader(self.hot, self.manifest, self.segment_dir, dwell_s=dwell_s)

    def close(self) -> None:
        """Drain and close the hot store (segments need no closing)."""
        self.hot.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
