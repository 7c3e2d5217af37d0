"""The read side of a hot store as a protocol: one process's `HotStore` or the merged view.

Readers, retention and the sealing scheduler only read the unsealed tail and drop expired
days, so they take this protocol; a single-process node passes its `HotStore` unchanged and
the multi-process supervisor passes `storage.multihot.MergedHot`.
"""

from __future__ import annotations

from typing import Protocol

from storage.hotstore import DroppedDays
from storage.records import ScanArray


class TailView(Protocol):
    """Unsealed scans per local day, versioned, and retention of whole days."""

    n_shards: int

    def tail_days(self) -> list[int]: ...

    def tail_version(self, day: int) -> int: ...

    def tail_scans(self, day: int) -> tuple[ScanArray, int, int]: ...

    def drop_days_before(self, day: int, *, include_unsealed: bool = False) -> DroppedDays: ...
