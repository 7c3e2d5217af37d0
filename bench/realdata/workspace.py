"""A throw-away data directory the evaluation imports real data into and traces.

It is the product path end to end: `storage.importer` (what `qrtrace import` runs), sealing,
then `tracing.engine` over the sealed segments and the hot tail. Two choices keep the report
reproducible and quick:
- a fixed pseudonym key, so person ids, and hence the engine's last tie-break (person id),
  are the same on every run;
- one venue shard and unsynced writes: durability is not what is measured here, and 260 days
  × 16 shards of tiny segment files would dominate the run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from storage.datadir import DataDir
from storage.importer import Importer, ImportOptions, ImportSummary
from storage.lifecycle import Closing
from storage.pseudonym import Pseudonymiser
from storage.visits import DEFAULT_DWELL_S
from tracing.engine import TraceEngine, VenueInfo
from tracing.index import IndexPart, IndexSource

EVAL_KEY = hashlib.blake2b(b"qrtrace real-data evaluation", digest_size=32).digest()


class EvalStore(Closing):
    """Import -> seal -> trace, in one directory."""

    def __init__(self, root: Path, *, dwell_s: npt.NDArray[np.int64] = DEFAULT_DWELL_S) -> None:
        self.root = Path(root)
        self.data = DataDir(self.root, n_shards=1, sync=False, dwell_s=dwell_s)
        self.pseudonyms = Pseudonymiser(EVAL_KEY)
        self.dwell_s = dwell_s
        self._source = IndexSource(
            self.data.hot, self.data.manifest, self.data.segment_dir, dwell_s=dwell_s
        )

    def import_file(
        self,
        path: Path,
        options: ImportOptions,
        venue_category: npt.NDArray[np.uint8] | None = None,
    ) -> ImportSummary:
        """Import like `qrtrace import`, keeping every reject in the summary."""
        importer = Importer(
            self.data.hot,
            self.pseudonyms,
            options,
            venue_category=venue_category,
            keep_rejects=1_000_000,
        )
        return importer.run(path)

    def seal(self) -> int:
        """Seal every imported day; returns the visits written."""
        return sum(r.visits for r in self.data.seal_all())

    def engine(self, venues: VenueInfo | None = None) -> TraceEngine:
        return TraceEngine(self._source.parts, venues, dwell_s=self.dwell_s)

    def parts(self) -> Sequence[IndexPart]:
        return self._source.parts()

    def person_ids(self, references: Sequence[str | int]) -> npt.NDArray[np.uint64]:
        return self.pseudonyms.person_ids(references)

    def close(self) -> None:
        self.data.close()


def stored_visits(parts: Sequence[IndexPart]) -> dict[str, npt.NDArray[Any]]:
    """Every visit the engine sees (venue, t_in, t_out, person, flags), all parts together."""
    cols: dict[str, list[npt.NDArray[Any]]] = {
        k: [] for k in ("venue", "t_in", "t_out", "person", "flags")
    }
    for part in parts:
        if not len(part):
            continue
        cols["venue"].append(part.venue_of(np.arange(len(part))))
        cols["t_in"].append(part.t_in.astype(np.int64))
        cols["t_out"].append(part.t_out.astype(np.int64))
        cols["person"].append(part.person)
        cols["flags"].append(part.flags)
    return {k: np.concatenate(v) if v else np.zeros(0, dtype=np.int64) for k, v in cols.items()}
