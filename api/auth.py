"""Who is calling: user tokens (officers, admins, reporting) and device tokens (scanners).

Users are kept in `<data_dir>/users.json` as SHA-256 digests of their tokens (a leaked file
admits nobody); `qrtrace users add` prints a token once. A user has a role and, for ward
officers, a ward. Scanner device tokens (`qrtrace devices add`) are recognised too, so a
scanner calling the officer API is refused as "device: ingest only" (and audited) instead of
looking like an unknown caller. Revoking keeps the row (the audit log names it) but the
token no longer matches.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
import time
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final

import orjson

from api.errors import UnauthenticatedError, UserStoreError
from ingest.auth import SCHEME, DeviceTokens, digest
from ingest.errors import AuthError
from storage.domain import WARD_BY_CODE

_NAME: Final = re.compile(r"[A-Za-z0-9_.@-]{1,64}")


class Role(StrEnum):
    """What a caller is allowed to do (README "Officer and reporting API" > Roles)."""

    DEVICE = "device"
    OFFICER = "officer"
    ADMIN = "admin"
    REPORTING = "reporting"


@dataclass(frozen=True, slots=True)
class Identity:
    """An authenticated caller; `ward` is set for ward officers only."""

    name: str
    role: Role
    ward: int | None = None


@dataclass(frozen=True, slots=True)
class UserRecord:
    """One row of the users file (never the token itself)."""

    name: str
    role: str
    ward: int | None
    digest: str
    created_at: int
    revoked_at: int | None = None


def users_path(data_dir: Path) -> Path:
    """Where a data directory keeps its users."""
    return Path(data_dir) / "users.json"


def _load(path: Path) -> dict[str, UserRecord]:
    if not path.exists():
        return {}
    try:
        raw = orjson.loads(path.read_bytes())["users"]
        return {name: UserRecord(**row) for name, row in raw.items()}
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise UserStoreError(
            f"users file {path} is damaged ({exc!r}); expected {{'users': {{name: row}}}}"
        ) from None


def _save(path: Path, users: dict[str, UserRecord]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        body = {"users": {n: asdict(u) for n, u in sorted(users.items())}}
        os.write(fd, orjson.dumps(body, option=orjson.OPT_INDENT_2))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def add_user(path: Path, name: str, role: Role, ward: int | None = None) -> str:
    """Create (or re-issue) a user's token; returns the token, stored only as a digest."""
    if not _NAME.fullmatch(name):
        raise UserStoreError(f"user name {name!r}: expected 1-64 of [A-Za-z0-9_.@-]")
    if role is Role.DEVICE:
        raise UserStoreError("role device: scanner tokens come from `qrtrace devices add`")
    if role is Role.OFFICER:
        if ward is None or ward not in WARD_BY_CODE:
            raise UserStoreError(f"ward {ward}: a ward officer needs a ward code 1..30")
    elif ward is not None:
        raise UserStoreError(f"ward {ward}: only ward officers have a ward")
    users = _load(path)
    token = secrets.token_urlsafe(32)
    users[name] = UserRecord(name, role.value, ward, digest(token), int(time.time()))
    _save(path, users)
    return token


def revoke_user(path: Path, name: str) -> UserRecord:
    """Revoke a user's token (the row stays for the audit trail)."""
    users = _load(path)
    if name not in users:
        raise UserStoreError(f"user {name!r} does not exist")
    row = users[name]
    users[name] = UserRecord(
        row.name, row.role, row.ward, row.digest, row.created_at, int(time.time())
    )
    _save(path, users)
    return users[name]


def list_users(path: Path) -> list[UserRecord]:
    """Every user row, by name."""
    return [u for _, u in sorted(_load(path).items())]


class Authenticator:
    """Resolves an `authorization` value to an Identity; reloads the users file on change."""

    def __init__(self, users_file: Path, devices: DeviceTokens) -> None:
        self._path = Path(users_file)
        self._devices = devices
        self._lock = threading.Lock()
        self._mtime: float | None = None
        self._by_digest: dict[str, Identity] = {}

    def _refresh(self) -> None:
        try:
            mtime = self._path.stat().st_mtime
        except FileNotFoundError:
            mtime = -1.0
        with self._lock:
            if mtime == self._mtime:
                return
            users = _load(self._path) if mtime >= 0 else {}
            self._by_digest = {
                u.digest: Identity(u.name, Role(u.role), u.ward)
                for u in users.values()
                if u.revoked_at is None
            }
            self._mtime = mtime

    def identify(self, value: str | None) -> Identity:
        """The caller of a `Bearer <token>` value, else UnauthenticatedError."""
        if not value:
            raise UnauthenticatedError("missing authorization; expected 'Bearer <user token>'")
        if not value.startswith(SCHEME):
            raise UnauthenticatedError("authorization is not of the form 'Bearer <user token>'")
        self._refresh()
        token = value[len(SCHEME) :].strip()
        found = self._by_digest.get(digest(token))
        if found is not None:
            return found
        try:
            device = self._devices.device_for(value)
        except AuthError:
            raise UnauthenticatedError("unknown or revoked user token") from None
        return Identity(device, Role.DEVICE)
