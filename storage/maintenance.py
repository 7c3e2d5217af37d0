"""Background sealing and retention for a running node: one thread, two cadences.

The server (and `qrtrace seal` / `qrtrace purge` once) needs the same two chores: seal the
days that are over plus a grace period for late uploads, and purge the days past retention.
`Maintenance.run_once` does both for a given clock reading and is what the CLI and tests
call; `start()` runs it on a daemon thread every `seal_interval_s` (purging at most every
`purge_interval_s`, and once at start so a purge a crash interrupted is completed). A
failing round is logged and retried next round, never fatal: ingest must keep acking while
sealing is degraded; the last error is exposed for health checks and metrics.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

from storage.datadir import DataDir
from storage.directory import PersonDirectory
from storage.multidata import MultiDataDir
from storage.retention import PurgeReport, cutoff_day
from storage.sealing import SealResult
from storage.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MaintenancePolicy:
    """The knobs, from settings or explicit (tests)."""

    seal_grace_s: int = 3600
    retention_days: int = 21
    seal_interval_s: float = 60.0
    purge_interval_s: float = 3600.0

    @classmethod
    def from_settings(cls, settings: Settings) -> MaintenancePolicy:
        return cls(
            seal_grace_s=settings.seal_grace_minutes * 60,
            retention_days=settings.retention_days,
            seal_interval_s=settings.seal_interval_s,
            purge_interval_s=settings.purge_interval_s,
        )


@dataclass
class MaintenanceRound:
    """What one round did."""

    sealed: list[SealResult] = field(default_factory=list)
    purge: PurgeReport | None = None


class Maintenance:
    """Seals due days and purges expired ones for one data directory."""

    def __init__(
        self,
        data: DataDir | MultiDataDir,
        policy: MaintenancePolicy,
        *,
        directory: PersonDirectory | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.data = data
        self.policy = policy
        self.directory = directory
        self.clock = clock
        self.rounds = 0
        self.last_error: BaseException | None = None
        self._last_purge: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._round_lock = threading.Lock()

    def seal_due(self, now: int | None = None) -> list[SealResult]:
        """Seal every day due at `now` (default: the clock)."""
        now = int(self.clock()) if now is None else now
        with self._round_lock:
            return self.data.seal_due(now, self.policy.seal_grace_s)

    def purge(self, now: int | None = None) -> PurgeReport:
        """Purge every day past retention at `now` (default: the clock)."""
        now = int(self.clock()) if now is None else now
        with self._round_lock:
            cutoff = cutoff_day(now, self.policy.retention_days)
            return self.data.purge_before(cutoff, directory=self.directory)

    def run_once(self, now: int | None = None, *, purge: bool = True) -> MaintenanceRound:
        """Purge (when asked) then seal: purging first never seals a day about to go."""
        done = MaintenanceRound()
        if purge:
            done.purge = self.purge(now)
        done.sealed = self.seal_due(now)
        self.rounds += 1
        return done

    # ------------------------------------------------------------ background thread

    def start(self) -> None:
        """Run rounds on a daemon thread until `stop()`."""
        if self._thread is not None:
            raise RuntimeError("maintenance already started")
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="maintenance", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            monotonic = time.monotonic()
            due_purge = (
                self._last_purge is None
                or monotonic - self._last_purge >= self.policy.purge_interval_s
            )
            try:
                done = self.run_once(purge=due_purge)
                if due_purge:
                    self._last_purge = monotonic
                self.last_error = None
                if done.sealed or (done.purge and done.purge.days):
                    log.info(
                        "maintenance round",
                        extra={
                            "sealed_days": [r.day for r in done.sealed],
                            "sealed_scans": sum(r.scans for r in done.sealed),
                            "purged_days": list(done.purge.days) if done.purge else [],
                        },
                    )
            except Exception as exc:
                self.last_error = exc
                log.exception("maintenance round failed; retrying next round")
            self._stop.wait(self.policy.seal_interval_s)

    def stop(self, timeout: float | None = None) -> None:
        """Stop the thread after its current round."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
