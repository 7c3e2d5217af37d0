"""Dask distributed glue: connect to a scheduler, prepare workers, run partition groups.

Kept apart from `tracing.distributed` so that unpickling the worker plugin on a worker imports
nothing that compiles or loads numba kernels: the plugin must set `NUMBA_CACHE_DIR` *before*
`tracing.kernels` is imported in that process (numba fixes a function's cache location when
the module defining it is imported), then warms every kernel once so the first real task
does not pay seconds of compilation.

Production: `dask scheduler` on one host, `dask worker tcp://HOST:8786 --nworkers N
--nthreads 1` on each tracing host, every worker able to read the node's segment directory
(shared disk, or an object store URI, `Settings.dask_segments`). The client is the node
(`qrtrace serve --dask`) or the CLI (`qrtrace trace --cluster`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from distributed import Client, WorkerPlugin

from storage.settings import Settings
from tracing.errors import ClusterUnavailableError

if TYPE_CHECKING:
    import pyarrow as pa

    from storage.manifest import SegmentEntry
    from tracing.distributed import DistributedEngine, Job, PartitionSpec
    from tracing.engine import PersonLookup, VenueInfo
    from tracing.index import IndexPart

PLUGIN_NAME = "qrtrace-tracing"


class TracingWorkerPlugin(WorkerPlugin):
    """Per worker process: numba cache directory and thread count, kernels warmed, cache size."""

    name = PLUGIN_NAME

    def __init__(self, numba_cache_dir: str = "", numba_threads: int = 1) -> None:
        self.numba_cache_dir = numba_cache_dir
        self.numba_threads = numba_threads

    def setup(self, worker: Any) -> None:
        if self.numba_cache_dir:
            os.environ["NUMBA_CACHE_DIR"] = self.numba_cache_dir
            import numba.core.config  # noqa: PLC0415 - after the variable, on purpose

            numba.core.config.reload_config()
        from tracing.warm import warm_partition_kernels  # noqa: PLC0415 - see module doc

        warm_partition_kernels(self.numba_threads)


def connect(
    address: str,
    *,
    numba_cache_dir: str = "",
    numba_threads: int = 1,
    timeout_s: float = 30.0,
) -> Client:
    """A client of the scheduler at `address` with the tracing plugin on every worker."""
    client = Client(address, timeout=timeout_s, set_as_default=False)
    try:
        client.register_plugin(TracingWorkerPlugin(numba_cache_dir, numba_threads))
    except BaseException:
        client.close()
        raise
    return client


class DaskExecutor:
    """Runs partition groups on a Dask cluster: one task per worker per round.

    For an unchanged worker set a partition always lands on the worker that cached it;
    `allow_other_workers` lets the scheduler move a group when its worker is gone.
    """

    def __init__(self, client: Client, *, wait_s: float = 60.0) -> None:
        self.client = client
        self.wait_s = wait_s

    def workers(self) -> list[str]:
        return sorted(self.client.scheduler_info(n_workers=-1)["workers"])

    def assign(self, specs: Sequence[PartitionSpec]) -> dict[str, list[PartitionSpec]]:
        """Worker address -> its group: shard-day partitions by shard, whole days (NHS) by
        day, the hot tail to the first worker. A seal adds partitions to the groups the
        workers already hold, so each grows its cached part instead of rebuilding it."""
        workers = self.workers()
        if not workers:  # none yet (cluster starting, workers restarting): wait for one
            self.client.wait_for_workers(1, timeout=self.wait_s)
            workers = self.workers()
        groups: dict[str, list[PartitionSpec]] = {}
        for spec in specs:
            slot = spec.shard if spec.shard >= 0 else max(spec.day, 0)
            groups.setdefault(workers[slot % len(workers)], []).append(spec)
        return groups

    def run(self, specs: Sequence[PartitionSpec], job: Job) -> list[pa.Table]:
        from tracing.distributed import run_group  # noqa: PLC0415 - see module doc

        futures = [
            self.client.submit(
                run_group,
                group,
                job,
                workers=[w],
                allow_other_workers=True,
                pure=False,
            )
            for w, group in self.assign(specs).items()
        ]
        return list(self.client.gather(futures))

    def close(self) -> None:
        self.client.close()


class ClusterTracing:
    """One node's (or CLI run's) connection to a Dask cluster; builds engines that trace on it.

    `snapshot` is the node's `IndexSource.snapshot` (manifest entries + hot tail, taken
    together); workers read the entries' files under `segment_root`.
    """

    def __init__(
        self,
        executor: DaskExecutor,
        snapshot: Callable[[], tuple[tuple[SegmentEntry, ...], IndexPart]],
        *,
        segment_root: str,
        n_shards: int,
    ) -> None:
        self.executor = executor
        self.snapshot = snapshot
        self.segment_root = segment_root
        self.n_shards = n_shards

    @classmethod
    def open(
        cls,
        settings: Settings,
        snapshot: Callable[[], tuple[tuple[SegmentEntry, ...], IndexPart]],
        *,
        segment_dir: Path,
        n_shards: int,
    ) -> ClusterTracing:
        """Connect to `settings.dask_scheduler`; ClusterUnavailableError names it if down."""
        try:
            client = connect(
                settings.dask_scheduler,
                numba_cache_dir=settings.dask_numba_cache_dir,
                timeout_s=settings.dask_connect_timeout_s,
            )
        except (OSError, TimeoutError, ValueError) as exc:
            raise ClusterUnavailableError(
                f"dask scheduler {settings.dask_scheduler!r} unreachable ({exc}); expected a "
                "running `dask scheduler` at tcp://HOST:PORT (setting dask_scheduler)"
            ) from None
        root = settings.dask_segments or str(Path(segment_dir).resolve())
        return cls(DaskExecutor(client), snapshot, segment_root=root, n_shards=n_shards)

    def engine(
        self, venues: VenueInfo | None = None, people: PersonLookup | None = None
    ) -> DistributedEngine:
        from tracing.distributed import DistributedEngine  # noqa: PLC0415 - see module doc

        return DistributedEngine(
            self.snapshot, self.executor, segment_root=self.segment_root,
            n_shards=self.n_shards, venues=venues, people=people,
        )  # fmt: skip

    def close(self) -> None:
        self.executor.close()
