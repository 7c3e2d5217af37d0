"""Transport-free errors of the ingest tier.

The servicer (`ingest/server.py`) maps them to gRPC status codes in one table; per-scan
problems are never exceptions but verdicts (`ingest.validation`).
"""

from __future__ import annotations

from storage.errors import ConfigError, QrtraceError


class IngestError(QrtraceError):
    """Base of errors raised by the ingest tier."""


class QrCodeError(IngestError):
    """A venue QR payload is not a valid city signature (forged, tampered, unknown key)."""


class KeyRingError(IngestError):
    """The venue QR key ring file is unreadable, inconsistent or lacks the requested key."""


class AuthError(IngestError):
    """A call carries no device token, or one that is not in the tokens file."""


class OverloadedError(IngestError):
    """The server's in-flight budget stayed exhausted; the client should back off and retry."""


class ShuttingDownError(IngestError):
    """The server is draining for shutdown and takes no new batches."""


class IngestConfigError(ConfigError):
    """An ingest setting (TLS files, tokens file, bind address) is invalid or unsafe."""


class MalformedBatchError(IngestError):
    """A batch as a whole cannot be read (columns of different lengths, too many scans)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
