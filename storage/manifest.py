"""The manifest: the single source of truth for which sealed segments exist.

A segment file counts only once its entry is in a durable manifest; the manifest also
records, per local day, the highest hot-log sequence sealed so far. Restart logic follows:
scans in the hot log at or below that sequence are served from segments, newer ones from the
hot tail, so a scan is never counted twice, and a segment file that a crash left without a
manifest entry is an orphan to delete. The file is JSON (small, human-readable, diffable) and
is replaced atomically (`storage.fsutil.write_durably`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from storage.errors import ManifestError
from storage.fsutil import write_durably

FORMAT: Final = 1


@dataclass(frozen=True)
class SegmentEntry:
    """One sealed file: where it is, what it covers and how to verify it."""

    file: str  #: path relative to the segment directory
    day: int  #: local (UTC+7) day number
    shard: int  #: venue shard = venue % n_shards
    generation: int  #: seal number within the day (late scans make a later generation)
    rows: int  #: visits in the file
    scans: int  #: hot-log scans the file replaced
    t_min: int  #: smallest t_in (0 when rows == 0)
    t_max: int  #: largest t_out (0 when rows == 0)
    bytes: int  #: file size
    sha256: str  #: hex digest of the whole file


class Manifest:
    """In-memory view of `manifest.json`; `commit` makes a change durable before returning.

    `lock` is held while a seal publishes (manifest commit + hot tail trim) and while a
    reader takes its view, so a reader never sees a scan both sealed and in the tail.
    """

    def __init__(self, path: Path, n_shards: int) -> None:
        self.path = Path(path)
        self.n_shards = n_shards
        self.lock = threading.RLock()
        self.entries: list[SegmentEntry] = []
        self.sealed: dict[int, int] = {}
        if self.path.exists():
            self._load()

    def _load(self) -> None:
        try:
            doc: dict[str, Any] = json.loads(self.path.read_bytes())
            if doc["format"] != FORMAT:
                raise ManifestError(
                    f"manifest {self.path} has format {doc['format']}, expected {FORMAT}"
                )
            if doc["n_shards"] != self.n_shards:
                raise ManifestError(
                    f"manifest {self.path} was written with n_shards={doc['n_shards']}; "
                    f"expected {self.n_shards}"
                )
            self.entries = [SegmentEntry(**e) for e in doc["segments"]]
            self.sealed = {int(d): int(s) for d, s in doc["sealed"].items()}
        except (ValueError, KeyError, TypeError) as exc:
            raise ManifestError(f"manifest {self.path} is unreadable: {exc!r}") from exc

    def next_generation(self, day: int) -> int:
        """Generation number for the next seal of `day`."""
        return 1 + max((e.generation for e in self.entries if e.day == day), default=0)

    def files(self) -> set[str]:
        """Relative paths of every live segment."""
        return {e.file for e in self.entries}

    def commit(self, new_entries: Sequence[SegmentEntry], day: int, seq_hi: int) -> None:
        """Add entries and raise `day`'s sealed sequence to `seq_hi`, durably."""
        with self.lock:
            entries = [*self.entries, *new_entries]
            sealed = {**self.sealed, day: max(seq_hi, self.sealed.get(day, -1))}
            self._write(entries, sealed)

    def drop_days_before(self, day: int) -> list[SegmentEntry]:
        """Forget every day < `day` (retention), durably; return the entries removed.

        The files are deleted by the caller after this returns: a crash in between leaves
        files no entry names, which the next open removes as orphans.
        """
        with self.lock:
            gone = [e for e in self.entries if e.day < day]
            if not gone and all(d >= day for d in self.sealed):
                return []
            entries = [e for e in self.entries if e.day >= day]
            sealed = {d: s for d, s in self.sealed.items() if d >= day}
            self._write(entries, sealed)
            return gone

    def _write(self, entries: list[SegmentEntry], sealed: dict[int, int]) -> None:
        doc = {
            "format": FORMAT,
            "n_shards": self.n_shards,
            "sealed": {str(d): s for d, s in sorted(sealed.items())},
            "segments": [asdict(e) for e in entries],
        }
        write_durably(self.path, json.dumps(doc, indent=1).encode())
        self.entries = entries
        self.sealed = sealed
