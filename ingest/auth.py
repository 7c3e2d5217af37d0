"""Device tokens: who may submit scans.

Every scanner app or gateway presents `authorization: Bearer <token>` in call metadata. The
tokens file stores only SHA-256 digests (a leaked file admits nobody) by device id; the token
itself is shown once, when `qrtrace devices add` creates it. Lookups hash the presented token
and probe a dict, so a check costs the same whether or not the token exists.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from pathlib import Path
from typing import Final

import orjson

from ingest.errors import AuthError, IngestConfigError

_DEVICE_ID: Final = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
METADATA_KEY: Final = "authorization"
SCHEME: Final = "Bearer "


def digest(token: str) -> str:
    """Hex SHA-256 of a token, as stored in the tokens file."""
    return hashlib.sha256(token.encode()).hexdigest()


class DeviceTokens:
    """Token digest -> device id, loaded from (and saved to) the tokens JSON file."""

    #: accepted header values remembered (then forgotten all at once): a scanner sends the
    #: same header on every call, and hashing it each time was ~2 % of a unary call's time
    SEEN_MAX = 4096

    def __init__(self, by_digest: dict[str, str]) -> None:
        self._by_digest = dict(by_digest)
        self._seen: dict[str, str] = {}

    @classmethod
    def load(cls, path: Path) -> DeviceTokens:
        """Read the tokens file; a missing file means no device may submit yet."""
        path = Path(path)
        if not path.exists():
            return cls({})
        try:
            devices = orjson.loads(path.read_bytes())["devices"]
            by_digest = {str(d): str(device) for device, d in devices.items()}
        except (orjson.JSONDecodeError, KeyError, AttributeError, TypeError) as exc:
            raise IngestConfigError(
                f"tokens file {path} is damaged ({exc!r}); expected {{'devices': {{id: sha256}}}}"
            ) from None
        return cls(by_digest)

    def __len__(self) -> int:
        return len(self._by_digest)

    def device_for(self, metadata_value: str | None) -> str:
        """The device id of an `authorization` header value, else AuthError."""
        if metadata_value is not None:
            device = self._seen.get(metadata_value)
            if device is not None:
                return device
        if not metadata_value:
            raise AuthError("missing authorization metadata; expected 'Bearer <device token>'")
        if not metadata_value.startswith(SCHEME):
            raise AuthError("authorization metadata is not of the form 'Bearer <device token>'")
        device = self._by_digest.get(digest(metadata_value[len(SCHEME) :].strip()))
        if device is None:
            raise AuthError("unknown device token")
        if len(self._seen) >= self.SEEN_MAX:
            self._seen.clear()
        self._seen[metadata_value] = device
        return device


def add_device(path: Path, device_id: str) -> str:
    """Create (or replace) `device_id`'s token; returns the token (stored only as a digest)."""
    if not _DEVICE_ID.fullmatch(device_id):
        raise IngestConfigError(f"device id {device_id!r}: expected 1-64 of [A-Za-z0-9_.:-]")
    path = Path(path)
    devices: dict[str, str] = {}
    if path.exists():
        DeviceTokens.load(path)  # validates the file
        devices = dict(orjson.loads(path.read_bytes())["devices"])
    token = secrets.token_urlsafe(32)
    devices[device_id] = digest(token)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, orjson.dumps({"devices": devices}, option=orjson.OPT_INDENT_2))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    return token
