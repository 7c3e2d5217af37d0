"""Transport-free errors of the officer and reporting API.

`api/error_map.py` turns these (and every other tier's errors) into gRPC status and HTTP codes
in one table; nothing here imports a transport.
"""

from __future__ import annotations

from storage.errors import QrtraceError


class ApiError(QrtraceError):
    """Base of errors raised by the officer and reporting API."""


class UnauthenticatedError(ApiError):
    """A call carries no user token, or one that is unknown or revoked."""


class PermissionDeniedError(ApiError):
    """The caller's role or ward does not allow this operation or this record."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class NotFoundError(ApiError):
    """A case, venue or person named in a request does not exist."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class AuditWriteError(ApiError):
    """The audit entry could not be written durably, so the data is not returned."""


class AuditVerifyError(ApiError):
    """The audit log fails verification: an entry was edited, deleted or reordered."""


class UserStoreError(ApiError):
    """The users file is unreadable, or a user command was given inconsistent values."""
