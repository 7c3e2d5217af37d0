"""The supervisor's stores when several ingest processes share the node (`ingest_processes`).

The officer API needs what `ingest.node.IngestNode` gives a single process (data directory,
venues, people, keys, tokens) but no ingest pipeline: the scans are written by the ingest
processes, each into its own hot store, and read here through the merged view
(`storage.multidata.MultiDataDir`). The supervisor owns the venue registry and the person
directory (RocksDB admits one writer); the processes follow the registry as secondaries and
send first-seen people here (`feed`).
"""

from __future__ import annotations

from pathlib import Path

from ingest.auth import DeviceTokens
from ingest.node import tokens_path, venue_keys_path
from ingest.pseudocache import DirectoryFeed
from ingest.qrcode import KeyRing
from storage.directory import PersonDirectory
from storage.lifecycle import Closing
from storage.multidata import MultiDataDir
from storage.pseudonym import load_or_create_key
from storage.settings import Settings
from storage.venues import VenueRegistry


class MergedNode(Closing):
    """Segments, manifest and every process's hot tail merged; venues, people, keys."""

    def __init__(self, settings: Settings) -> None:
        root = Path(settings.data_dir)
        self.settings = settings
        self.data = MultiDataDir.from_settings(settings)
        self.venues = VenueRegistry(root / "venues")
        self.people = PersonDirectory(root / "people")
        self.keyring = KeyRing.load_or_create(venue_keys_path(root))
        self.tokens = DeviceTokens.load(tokens_path(settings))
        self.feed = DirectoryFeed(self.people)
        load_or_create_key(root / "pseudonym.key")  # before any process needs it

    def close(self) -> None:
        """Write the queued people, then close every store."""
        self.feed.close()
        self.data.close()
        self.people.close()
        self.venues.close()
