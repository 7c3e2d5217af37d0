"""Python's cyclic GC in a long-running ingest server: no stop-the-loop pauses in acks.

Measured on the unary path (one-scan calls at ~1,000/s): the collector ran ~700 times a
second at its default thresholds, and each full (gen 2) collection walked every object the
server had imported and built at start-up (numba/llvmlite, grpc, pydantic, protobuf
descriptors: hundreds of thousands), stopping the event loop for 50-150 ms. Every call in
flight then waited: those pauses were the p99 ack latency.

`calm_gc` collects once, then `gc.freeze()`s what survived start-up (moved to a permanent
generation the collector never walks again), and raises the young-generation threshold a
little. Memory is not at stake: the server's per-call objects are freed by reference
counting; the collector only finds cycles.

One cycle a call remains, inside grpc.aio itself (`_find_method_handler` keeps a closure that
refers to its own scope: 6 objects a unary call), so the young generation does fill with
garbage and each pass stops the loop for as long as it takes to walk it. Timed on the unary
path at 2,500 calls/s (2 cores): at a gen-0 threshold of 20,000 a pass collected ~14,000
objects and took 7.7 ms (up to 16 ms; a gen-1 pass 18-32 ms), once a second; at 3,000 it
takes 0.7 ms (at most 1.2 ms; gen 1: 2 ms), seven times as often for the same total. Three
`bench.bench_ingest --only unary` runs each: p99 at half capacity 13.6-15.5 ms instead of
20.1-22.6, capacity within the noise (6,253-6,780 against 6,326-7,012 calls/s). The default
700 cost capacity (4,919-4,938 against 5,797-5,809 calls/s at 20,000): each pass also walks
the objects of the calls in flight, and there are more passes.
"""

from __future__ import annotations

import gc
from typing import Final

#: allocations (net of frees) between young-generation collections (default 700)
GEN0_THRESHOLD: Final = 3_000


def settle_gc() -> None:
    """Collect, then freeze again: what the first batches loaded leaves the collector's walks.

    The numba kernels are loaded from their cache on their first call, after `calm_gc`:
    ~50,000 objects of typing machinery (measured after the first unary calls: 51,781 in the
    oldest generation, against ~0 from our own data), walked by every full pass since
    (one every ~20 s at 2,500 unary calls/s, ~20 ms each). Once, after the first durable
    commit: the collection first, so no garbage is frozen with them.
    """
    gc.collect()
    gc.freeze()


def calm_gc(gen0: int = GEN0_THRESHOLD) -> None:
    """Freeze the start-up heap out of the collector's walks and raise its gen-0 threshold."""
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(gen0, gen1, gen2)
