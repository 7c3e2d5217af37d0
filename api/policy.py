"""Which role may call which operation, and how results are scoped — one table for both transports.

Operations are named after the gRPC methods (`TraceCase`, ...); every HTTP route names its
operation too, and the authorization-matrix test walks both (service descriptors and FastAPI
routes) against this table. Scoping beyond the role (a ward officer sees only the people who
live in their ward) is done where the rows are built (api/scope.py), because only there is
the home ward of each row known.
"""

from __future__ import annotations

from typing import Final

from api.auth import Identity, Role
from api.errors import PermissionDeniedError

_OFFICERS: Final = frozenset({Role.OFFICER, Role.ADMIN})
_ADMIN: Final = frozenset({Role.ADMIN})
_COUNTS: Final = frozenset({Role.OFFICER, Role.ADMIN, Role.REPORTING})

#: operation -> roles allowed; person-level operations never include REPORTING or DEVICE
ALLOWED: Final[dict[str, frozenset[Role]]] = {
    "TraceCase": _OFFICERS,
    "TraceExposure": _OFFICERS,
    "TraceCases": _ADMIN,
    "Clusters": _OFFICERS,
    "ExportTrace": _OFFICERS,
    "ListRuleSets": _OFFICERS,
    "RegisterCase": _OFFICERS,
    "ListCases": _OFFICERS,
    "SubmitPositiveResults": _ADMIN,
    "ListContacts": _OFFICERS,
    "SetFollowUp": _OFFICERS,
    "ScanTotals": _COUNTS,
    "VenueTotals": _COUNTS,
    "Summary": _COUNTS,
    "FollowUpReport": _COUNTS,
    "RegisterVenue": _ADMIN,
    "DeactivateVenue": _ADMIN,
    "IssueQr": _ADMIN,
}

#: operations that return or touch person-level data: audited even when they succeed
PERSON_LEVEL: Final = frozenset(
    {
        "TraceCase",
        "TraceExposure",
        "TraceCases",
        "Clusters",
        "ExportTrace",
        "RegisterCase",
        "ListCases",
        "SubmitPositiveResults",
        "ListContacts",
        "SetFollowUp",
    }
)


def authorize(identity: Identity, operation: str) -> None:
    """Raise PermissionDeniedError unless the identity's role may call the operation."""
    roles = ALLOWED.get(operation)
    if roles is None:
        raise PermissionDeniedError("operation", f"{operation} is not a known operation")
    if identity.role not in roles:
        allowed = ", ".join(sorted(r.value for r in roles))
        raise PermissionDeniedError(
            "operation", f"role {identity.role.value} may not call {operation}; needs {allowed}"
        )


def ward_scope(identity: Identity) -> int | None:
    """The only ward whose people this caller may see (None: every ward)."""
    return identity.ward if identity.role is Role.OFFICER else None


def require_ward(identity: Identity, ward: int, field: str) -> None:
    """A ward officer may act only on their own ward."""
    scope = ward_scope(identity)
    if scope is not None and ward != scope:
        raise PermissionDeniedError(field, f"ward {ward} is not your ward ({scope})")
