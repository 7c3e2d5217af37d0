"""A data directory with a small planted world and the whole node serving it on loopback.

World (2021-09-06, city time): 30 people, person i lives in ward 1 + i % 3; 6 venues, venue v
in ward 1 + v % 3. The F0 (person 0, ward 1) sits at venue 1 from 09:00 to 10:00; persons
1..29 visit venue 1 for overlapping stays, so contacts live in wards 1, 2 and 3. Users: an
admin, ward officers of wards 1 and 2, a reporting identity, and a scanner device.
`NodeThread` runs `api.server.start_node` in a thread with its own event loop.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from api.auth import Role, add_user, users_path
from api.server import NodeServers, start_node
from ingest.auth import add_device
from ingest.node import tokens_path
from storage.datadir import DataDir
from storage.directory import PersonDirectory
from storage.pseudonym import Pseudonymiser, load_or_create_key
from storage.records import day_bounds, make_scans
from storage.settings import Settings, load_settings
from storage.venues import Venue, VenueRegistry

DAY = 18_876  # 2021-09-06 local
T = day_bounds(DAY)[0] + 9 * 3600
N_PEOPLE = 30
REFS = [f"09{i:08d}" for i in range(N_PEOPLE)]
NAMES = ["Nguyễn Văn A", '=HYPERLINK("http://x")', "+cmd", "@SUM(1)", "-2+3"] + [
    f"Trần Thị {i}" for i in range(5, N_PEOPLE)
]


def home_ward(i: int) -> int:
    return 1 + i % 3


@dataclass(frozen=True)
class World:
    settings: Settings
    tokens: dict[str, str]  # role key -> token
    refs_by_ward: dict[int, set[str]]


def build_world(root: Path) -> World:
    settings = load_settings(None, data_dir=root, ingest_port=0, api_grpc_port=0, api_http_port=0)
    with DataDir(root, sync=False) as data:
        with VenueRegistry(data.venues_path) as registry:
            registry.register_many(
                [Venue(v, f"Quán {v}", 1 + v % 3, 4, T - 86_400) for v in range(1, 7)]
            )
        ids = Pseudonymiser(load_or_create_key(data.pseudonym_key_path)).person_ids(REFS)
        with PersonDirectory(data.people_path) as people:
            people.upsert_many(
                ids,
                REFS,
                np.array([home_ward(i) for i in range(N_PEOPLE)]),
                phones=[f"+84 9{i:08d}" for i in range(N_PEOPLE)],
                names=NAMES,
            )
        persons, venues, times, dirs = [ids[0], ids[0]], [1, 1], [T, T + 3600], [0, 1]
        for i in range(1, N_PEOPLE):
            start = T - 600 + i * 60
            persons += [ids[i], ids[i]]
            venues += [1, 1]
            times += [start, start + 900 + 60 * i]
            dirs += [0, 1]
        n = len(persons)
        scan_ids = np.arange(n * 16, dtype=np.uint8).reshape(n, 16) ^ np.uint8(0x5A)
        scan_ids[:, 0] = np.arange(n, dtype=np.uint8)
        scans = make_scans(scan_ids, persons, venues, times, direction=dirs, category=4)
        data.hot.submit(scans).result()
    upath = users_path(root)
    tokens = {
        "admin": add_user(upath, "admin", Role.ADMIN),
        "officer1": add_user(upath, "officer-w1", Role.OFFICER, 1),
        "officer2": add_user(upath, "officer-w2", Role.OFFICER, 2),
        "reporting": add_user(upath, "reporting", Role.REPORTING),
        "device": add_device(tokens_path(settings), "scanner-1"),
    }
    refs_by_ward: dict[int, set[str]] = {}
    for i, ref in enumerate(REFS):
        refs_by_ward.setdefault(home_ward(i), set()).add(ref)
    return World(settings, tokens, refs_by_ward)


class NodeThread:
    """The whole node in a thread with its own event loop."""

    def __init__(self, settings: Settings, *, worker: bool = False) -> None:
        self._loop = asyncio.new_event_loop()
        self.servers: NodeServers | None = None
        self.error: BaseException | None = None
        self._ready = threading.Event()
        self._settings = settings
        self._worker = worker
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(60):
            raise TimeoutError("node did not start")
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self.servers = self._loop.run_until_complete(
                start_node(self._settings, maintenance=False, worker=self._worker)
            )
        except BaseException as exc:
            self.error = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()

    @property
    def grpc_target(self) -> str:
        assert self.servers is not None
        return f"127.0.0.1:{self.servers.api_grpc_port}"

    @property
    def http_base(self) -> str:
        assert self.servers is not None
        return f"http://127.0.0.1:{self.servers.http_port}"

    def call(self, coro: Any, timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def stop(self) -> None:
        if self.servers is not None:
            self.call(self.servers.shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)
