"""The manifest: the single source of truth for which sealed segments exist.

A segment file counts only once its entry is in a durable manifest; the manifest also
records, per local day, the highest hot-log sequence sealed so far (per ingest process when
several share the node: `sealed` is process 0's `hot/`, `processes[k]` process k's
`hot-pk/`; each process numbers its own log). Restart logic follows:
scans in the hot log at or below that sequence are served from segments, newer ones from the
hot tail, so a scan is never counted twice, and a segment file that a crash left without a
manifest entry is an orphan to delete. The file is JSON (small, human-readable, diffable) and
is replaced atomically (`storage.fsutil.write_durably`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
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
        #: process k >= 1 -> day -> highest sealed sequence of that process's hot log
        self.processes: dict[int, dict[int, int]] = {}
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
            self.processes = {
                int(k): {int(d): int(s) for d, s in days.items()}
                for k, days in doc.get("sealed_processes", {}).items()
            }
        except (ValueError, KeyError, TypeError) as exc:
            raise ManifestError(f"manifest {self.path} is unreadable: {exc!r}") from exc

    def next_generation(self, day: int) -> int:
        """Generation number for the next seal of `day`."""
        return 1 + max((e.generation for e in self.entries if e.day == day), default=0)

    def files(self) -> set[str]:
        """Relative paths of every live segment."""
        return {e.file for e in self.entries}

    def sealed_of(self, process: int) -> dict[int, int]:
        """Copy of day -> highest sealed sequence of ingest process `process`'s hot log."""
        with self.lock:
            return dict(self.sealed if process == 0 else self.processes.get(process, {}))

    def commit(self, new_entries: Sequence[SegmentEntry], day: int, seq_hi: int) -> None:
        """Add entries and raise `day`'s sealed sequence to `seq_hi`, durably."""
        self.commit_processes(new_entries, day, {0: seq_hi})

    def commit_processes(
        self, new_entries: Sequence[SegmentEntry], day: int, seq_hi: Mapping[int, int]
    ) -> None:
        """Add entries and raise `day`'s sealed sequence of each process, in one durable write.

        One write for every process: a crash leaves either all of a merged seal's sequences
        recorded with its segments, or none of them (and the segments are orphans).
        """
        with self.lock:
            entries = [*self.entries, *new_entries]
            sealed = dict(self.sealed)
            processes = {k: dict(v) for k, v in self.processes.items()}
            for process, seq in seq_hi.items():
                if seq < 0:
                    continue
                marks = sealed if process == 0 else processes.setdefault(process, {})
                marks[day] = max(seq, marks.get(day, -1))
            self._write(entries, sealed, processes)

    def drop_days_before(self, day: int) -> list[SegmentEntry]:
        """Forget every day < `day` (retention), durably; return the entries removed.

        The files are deleted by the caller after this returns: a crash in between leaves
        files no entry names, which the next open removes as orphans.
        """
        with self.lock:
            gone = [e for e in self.entries if e.day < day]
            marks = [self.sealed, *self.processes.values()]
            if not gone and all(d >= day for m in marks for d in m):
                return []
            entries = [e for e in self.entries if e.day >= day]
            sealed = {d: s for d, s in self.sealed.items() if d >= day}
            processes = {
                k: {d: s for d, s in v.items() if d >= day} for k, v in self.processes.items()
            }
            self._write(entries, sealed, processes)
            return gone

    def _write(
        self,
        entries: list[SegmentEntry],
        sealed: dict[int, int],
        processes: dict[int, dict[int, int]] | None = None,
    ) -> None:
        processes = self.processes if processes is None else processes
        doc: dict[str, Any] = {
            "format": FORMAT,
            "n_shards": self.n_shards,
            "sealed": {str(d): s for d, s in sorted(sealed.items())},
            "segments": [asdict(e) for e in entries],
        }
        if processes:
            doc["sealed_processes"] = {
                str(k): {str(d): s for d, s in sorted(v.items())}
                for k, v in sorted(processes.items())
            }
        write_durably(self.path, json.dumps(doc, indent=1).encode())
        self.entries = entries
        self.sealed = sealed
        self.processes = processes
