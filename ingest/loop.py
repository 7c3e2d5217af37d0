"""The event loop the serving processes run on: uvloop unless the settings say asyncio.

Why: a one-scan SubmitScans call spends most of its server time in event-loop machinery
(gRPC's asyncio server wakes the loop for each of a call's four completions, each a
callback, a future and a task step), not in our checks. uvloop runs that machinery in C.
Measured on the 2-core bench machine with the native client (`bench.bench_ingest`), same
server otherwise: ~4,100 -> ~5,300 one-scan calls/s. `event_loop = "asyncio"` keeps the
standard loop (a platform without uvloop wheels, or to rule the loop out when debugging).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from storage.settings import EventLoop

T = TypeVar("T")


def loop_factory(name: EventLoop) -> Callable[[], asyncio.AbstractEventLoop]:
    """A constructor of the named event loop."""
    if name == "uvloop":
        import uvloop  # noqa: PLC0415 - optional at import time: only serving needs it

        return uvloop.new_event_loop
    return asyncio.new_event_loop


def run(main: Coroutine[Any, Any, T], name: EventLoop) -> T:
    """`asyncio.run(main)` on the named event loop."""
    with asyncio.Runner(loop_factory=loop_factory(name)) as runner:
        return runner.run(main)
