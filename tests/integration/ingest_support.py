"""Shared set-up for the ingest integration tests: a prepared data dir and a live server.

`prepare_data_dir` registers venues, creates the venue key ring and a device token the way
an operator would (same modules the CLI uses); `ServerThread` runs the real grpc.aio server
on 127.0.0.1 port 0 in a background thread with its own event loop.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ingest.auth import add_device
from ingest.client import encode_batch
from ingest.loop import loop_factory
from ingest.node import tokens_path, venue_keys_path
from ingest.qrcode import KeyRing
from ingest.server import IngestServer, create_server
from storage.settings import Settings, load_settings
from storage.venues import Venue, VenueRegistry

CLOSED_VENUE = 3


@dataclass(frozen=True)
class Prepared:
    """A data dir ready to serve: settings, a device token, and signed codes by venue id."""

    settings: Settings
    token: str
    codes: dict[int, str]


def prepare_data_dir(root: Path, *, venues: int = 20, **overrides: Any) -> Prepared:
    """Register `venues` venues (venue 3 closed an hour ago), keys and one device token."""
    settings = load_settings(None, data_dir=root, ingest_port=0, **overrides)
    now = int(time.time())
    with VenueRegistry(root / "venues") as registry:
        registry.register_many(
            [
                Venue(v, f"venue {v}", 1 + v % 30, 1 + v % 18, now - 86_400)
                for v in range(1, venues + 1)
            ]
        )
        registry.deactivate(CLOSED_VENUE, now - 3600)
    ring = KeyRing.load_or_create(venue_keys_path(root))
    codes = {v: ring.sign(v) for v in range(1, venues + 2)}  # venues + 1 is unregistered
    token = add_device(tokens_path(settings), "gateway-1")
    return Prepared(settings, token, codes)


class ServerThread:
    """The real server in a thread with its own loop; `stop()` shuts it down gracefully."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._ready = threading.Event()
        self._loop = loop_factory(settings.event_loop)()  # the loop `qrtrace serve` runs
        self.server: IngestServer | None = None
        self.port = 0
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(60):
            raise TimeoutError("ingest server did not start")
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._start())
        except BaseException as exc:
            self.error = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()

    async def _start(self) -> None:
        self.server, self.port = create_server(self._settings)
        await self.server.start()

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def call(self, coro: Any, timeout: float = 60) -> Any:
        """Run a coroutine on the server's loop (e.g. shutdown) and wait for it."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def stop(self) -> None:
        if self.server is not None:
            self.call(self.server.shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)


def random_ids(n: int, rng: np.random.Generator) -> np.ndarray:
    """n random 16-byte scan ids (never all-zero)."""
    ids = rng.integers(0, 256, (n, 16), dtype=np.uint8)
    ids[:, 0] |= 1
    return ids


def good_batch(
    prepared: Prepared,
    batch_id: int,
    n: int,
    rng: np.random.Generator,
    *,
    venues: tuple[int, ...] = (1, 2, 4, 5),
) -> Any:
    """A batch of n valid scans from the last hour (numeric person references)."""
    now_ms = int(time.time() * 1000)
    idx = rng.integers(0, len(venues), n)
    return encode_batch(
        batch_id,
        scan_ids=random_ids(n, rng),
        times_ms=now_ms - rng.integers(0, 3_600_000, n),
        directions=rng.integers(0, 2, n),
        venue_codes=[prepared.codes[v] for v in venues],
        venue_index=idx,
        person_numbers=rng.integers(1, 10**11, n, dtype=np.uint64),
    )


def env_int(name: str, default: int) -> int:
    """An integer from the environment (test sizes)."""
    return int(os.environ.get(name, str(default)))
