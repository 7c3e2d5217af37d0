"""Prometheus metrics of one ingest server, in its own registry.

A registry per server (not the process-global default) so tests can run several servers in
one process and read each one's numbers. `qrtrace serve` exposes it on `ingest_metrics_port`.
Label values are verdict names and call kinds only, never anything about a person.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from ingest.validation import Verdict

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_GROUP_BUCKETS = (1, 10, 100, 1_000, 10_000, 100_000, 1_000_000)


class IngestMetrics:
    """The ingest counters, gauges and histograms."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.scans = Counter(
            "qrtrace_ingest_scans", "Scans answered, by verdict.", ["verdict"], registry=r
        )
        self._by_verdict = [self.scans.labels(v.name.lower()) for v in Verdict]
        self.batches = Counter(
            "qrtrace_ingest_batches",
            "Batches (stream) or requests (unary) answered.",
            ["rpc"],
            registry=r,
        )
        self.refused = Counter(
            "qrtrace_ingest_refused_calls",
            "Calls refused with a gRPC status (overload, auth, shutdown).",
            ["code"],
            registry=r,
        )
        self.queue_depth = Gauge(
            "qrtrace_ingest_queue_depth_scans",
            "Scans admitted and waiting for their durable write (bounded by"
            " ingest_max_inflight_scans).",
            registry=r,
        )
        self.open_streams = Gauge(
            "qrtrace_ingest_open_streams", "Open StreamScans calls.", registry=r
        )
        self.ack_latency = Histogram(
            "qrtrace_ingest_ack_latency_seconds",
            "From a batch's arrival to its ack (durable).",
            ["rpc"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.fsync_batch = Histogram(
            "qrtrace_store_fsync_batch_scans",
            "Scans written per synced group commit of the hot store.",
            buckets=_GROUP_BUCKETS,
            registry=r,
        )

    def count_verdicts(
        self, verdicts: npt.NDArray[np.uint8], *, accepted: int = -1, duplicate: int = 0
    ) -> None:
        """Add one batch's verdicts to the per-verdict counters.

        With the batch's `accepted` and `duplicate` counts and nothing rejected (the common
        case), two increments replace the bincount (~5 µs a batch on the event loop).
        """
        if accepted >= 0 and accepted + duplicate == len(verdicts):
            if accepted:
                self._by_verdict[Verdict.ACCEPTED].inc(accepted)
            if duplicate:
                self._by_verdict[Verdict.DUPLICATE].inc(duplicate)
            return
        counts = np.bincount(verdicts, minlength=len(self._by_verdict))
        for value in np.flatnonzero(counts[: len(self._by_verdict)]).tolist():
            self._by_verdict[value].inc(int(counts[value]))

    def value(self, name: str, labels: dict[str, str] | None = None) -> float:
        """Current value of a sample (tests, the simulator's summary)."""
        got = self.registry.get_sample_value(name, labels or {})
        return 0.0 if got is None else float(got)
