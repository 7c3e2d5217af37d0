"""The one table from domain errors to gRPC status codes and HTTP status codes.

Both transports (api/grpc_services.py, api/http_app.py) call `describe(exc)` and get the same
(code, HTTP status, field, reason), so a client sees the same error whichever way it came.
The most specific class in an exception's MRO wins; an error no row names is a 500 / INTERNAL
(a bug, logged with its traceback), never a silent 200.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import grpc

from api.errors import (
    AuditWriteError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
)
from ingest.errors import AuthError, OverloadedError, QrCodeError, ShuttingDownError
from storage.errors import (
    ConfigError,
    InvalidInputError,
    QrtraceError,
    StoreClosedError,
    StoreOverloadedError,
)
from tracing.errors import TracingError, UnknownPersonError

#: (gRPC status, HTTP status) per domain error class — the README error table mirrors it
ERROR_TABLE: Final[dict[type[BaseException], tuple[grpc.StatusCode, int]]] = {
    UnauthenticatedError: (grpc.StatusCode.UNAUTHENTICATED, 401),
    AuthError: (grpc.StatusCode.UNAUTHENTICATED, 401),
    PermissionDeniedError: (grpc.StatusCode.PERMISSION_DENIED, 403),
    NotFoundError: (grpc.StatusCode.NOT_FOUND, 404),
    UnknownPersonError: (grpc.StatusCode.NOT_FOUND, 404),
    InvalidInputError: (grpc.StatusCode.INVALID_ARGUMENT, 400),
    TracingError: (grpc.StatusCode.INVALID_ARGUMENT, 400),
    ConfigError: (grpc.StatusCode.INVALID_ARGUMENT, 400),
    QrCodeError: (grpc.StatusCode.INVALID_ARGUMENT, 400),
    OverloadedError: (grpc.StatusCode.RESOURCE_EXHAUSTED, 429),
    StoreOverloadedError: (grpc.StatusCode.RESOURCE_EXHAUSTED, 429),
    ShuttingDownError: (grpc.StatusCode.UNAVAILABLE, 503),
    StoreClosedError: (grpc.StatusCode.UNAVAILABLE, 503),
    AuditWriteError: (grpc.StatusCode.UNAVAILABLE, 503),
    QrtraceError: (grpc.StatusCode.FAILED_PRECONDITION, 409),
}
INTERNAL: Final = (grpc.StatusCode.INTERNAL, 500)


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """What both transports send back for one error."""

    code: grpc.StatusCode
    http_status: int
    field: str | None
    reason: str

    def body(self, request_id: str) -> dict[str, str | None]:
        """The HTTP JSON error body (also the gRPC details text, as `field: reason`)."""
        return {
            "error": self.code.name.lower(),
            "field": self.field,
            "reason": self.reason,
            "request_id": request_id,
        }

    @property
    def details(self) -> str:
        return f"{self.field}: {self.reason}" if self.field else self.reason


def describe(exc: BaseException) -> ErrorInfo:
    """Status codes, field and reason of an exception (INTERNAL for non-domain errors)."""
    code, http = INTERNAL
    for cls in type(exc).__mro__:
        if cls in ERROR_TABLE:
            code, http = ERROR_TABLE[cls]
            break
    field = getattr(exc, "field", None)
    reason = getattr(exc, "reason", None)
    if (code, http) == INTERNAL:
        return ErrorInfo(code, http, None, "internal error; see the server log")
    return ErrorInfo(code, http, field, str(reason if reason is not None else exc))
