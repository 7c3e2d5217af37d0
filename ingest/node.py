"""The stores one ingest server writes through, opened together from the settings.

Layout under `data_dir` (shared with `storage.datadir.DataDir`): `hot/`, `segments/`,
`manifest.json` (DataDir), `venues/` (VenueRegistry), `people/` (PersonDirectory),
`pseudonym.key`, `venue-keys.json` (the city's venue-QR signing keys) and `tokens.json`
(device token digests, unless `ingest_tokens_file` says otherwise). RocksDB admits one
process per database, so the CLI commands that change venues run while the server is down.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from ingest.auth import DeviceTokens
from ingest.memory import bound_malloc_retention
from ingest.pipeline import ContactSink, Ingestor, VenueSource
from ingest.pseudocache import DirectoryFeed, DirectorySink, PseudonymCache
from ingest.qrcode import KeyRing, QrVerifier
from storage.datadir import DataDir
from storage.directory import PersonDirectory
from storage.hotstore import HotStore
from storage.lifecycle import Closing
from storage.pseudonym import Pseudonymiser, load_or_create_key
from storage.settings import Settings
from storage.venues import VenueRegistry


def venue_keys_path(data_dir: Path) -> Path:
    """Where the venue-QR key ring of a data directory lives."""
    return Path(data_dir) / "venue-keys.json"


def tokens_path(settings: Settings) -> Path:
    """The device tokens file the settings select."""
    return settings.ingest_tokens_file or settings.data_dir / "tokens.json"


def build_ingestor(
    settings: Settings,
    hot: HotStore,
    venues: VenueSource,
    keyring: KeyRing,
    people: DirectorySink | None,
    *,
    clock: Callable[[], float] = time.time,
    directory: PersonDirectory | None = None,
    contacts: ContactSink | None = None,
) -> Ingestor:
    """The pipeline over one hot store, wired the same way for the single-process node and
    each process of a multi-process one (`ingest.process`): they differ only in where
    first-seen people and contact phones go."""
    pseudonyms = PseudonymCache(
        Pseudonymiser(load_or_create_key(Path(settings.data_dir) / "pseudonym.key")), people
    )
    return Ingestor(
        hot,
        venues,
        QrVerifier(keyring.verifying_keys()),
        pseudonyms,
        skew_s=settings.ingest_clock_skew_s,
        retention_days=settings.retention_days,
        clock=clock,
        directory=directory,
        contacts=contacts,
    )


class IngestNode(Closing):
    """Data directory, venue registry, person directory, keys and the `Ingestor` over them."""

    def __init__(
        self,
        settings: Settings,
        *,
        sync: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        root = Path(settings.data_dir)
        self.settings = settings
        bound_malloc_retention()  # a server process: freed arrays go back to the OS
        self.data = DataDir(
            root,
            sync=sync,
            index_capacity=settings.hot_index_capacity,
            tail_memory_bytes=settings.hot_tail_memory_mib << 20,
            index_memory_bytes=settings.hot_index_memory_mib << 20,
        )
        self.venues = VenueRegistry(root / "venues")
        self.people = PersonDirectory(root / "people")
        self.keyring = KeyRing.load_or_create(venue_keys_path(root))
        self.tokens = DeviceTokens.load(tokens_path(settings))
        self.feed = DirectoryFeed(self.people)
        self.ingestor = build_ingestor(
            settings, self.data.hot, self.venues, self.keyring, self.feed,
            clock=clock, directory=self.people,
        )  # fmt: skip

    def close(self) -> None:
        """Finish queued writes (scans first), then close every store."""
        self.data.close()
        self.feed.close()
        self.people.close()
        self.venues.close()
