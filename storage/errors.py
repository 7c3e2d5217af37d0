"""Transport-free errors of the storage tier (and the settings/domain it hosts).

The edges (`ingest/` and `api/` servicers, the CLI) map these to gRPC status, HTTP codes or
exit codes in one table each; nothing here imports grpc or an HTTP framework.
"""

from __future__ import annotations


class QrtraceError(Exception):
    """Base of every domain error qrtrace raises on purpose."""


class ConfigError(QrtraceError):
    """A setting, config file or command-line value is invalid."""


class StorageError(QrtraceError):
    """Base of errors raised by the storage tier."""


class CorruptBatchError(StorageError):
    """A packed hot-log batch failed its size, header or checksum check."""


class StoreClosedError(StorageError):
    """The hot store is closed (or failed) and accepts no more writes."""


class StoreOverloadedError(StorageError):
    """The hot store's bounded write queue stayed full past the caller's timeout."""


class StoreLayoutError(StorageError):
    """A data directory was written with a different shard layout than the one requested."""


class CorruptSegmentError(StorageError):
    """A sealed segment's size, sha256 or schema disagrees with the manifest."""


class ManifestError(StorageError):
    """The segment manifest is unreadable or inconsistent."""


class InvalidInputError(QrtraceError):
    """A value from outside (a scan, a file row, a request) is invalid; names field and reason."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class InvalidIdentifierError(InvalidInputError):
    """A person reference cannot be normalised into an identifier."""


class UnknownVenueError(InvalidInputError):
    """A venue id is not registered (or was closed) where a registered one is required."""


class RegistryError(StorageError):
    """The venue registry or person directory is unreadable or was asked something inconsistent."""
