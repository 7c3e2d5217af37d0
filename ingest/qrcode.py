"""Signed venue QR codes: the city signs each venue's id, scanners present the payload.

Why signatures: a venue id alone is guessable, so anyone could print a QR that checks people
into a venue they never visited (or flood a venue with fake visits). The city signs

    QRT1:<kid>:<venue_id>:<sig>

where `sig` is the unpadded base64url Ed25519 signature of the ASCII text `QRT1:<kid>:<venue_id>`
and `kid` names the key, so keys can rotate: new posters are signed with the current key
while codes signed with older, not yet retired keys keep verifying.

The scheme tag fixes the algorithm: nothing in the payload can pick another one (the JWT
`alg` confusion), only Ed25519 public keys are ever consulted, and parsing is strict and
canonical (one spelling per venue id and signature) so a tampered code never maps to a
valid one. Verification costs ~50 µs, so `QrVerifier` caches outcomes by payload: a venue's
poster is verified once, not once per scan.
"""

from __future__ import annotations

import base64
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ingest.errors import KeyRingError, QrCodeError

SCHEME: Final = "QRT1"
MAX_PAYLOAD_CHARS: Final = 128
MAX_VENUE_ID: Final = 0xFFFF_FFFF
_SIG_CHARS: Final = 86  # 64 bytes, unpadded base64url
_PAYLOAD: Final = re.compile(
    r"QRT1:(?P<kid>[a-z0-9]{1,16}):(?P<venue>[1-9][0-9]{0,9}):(?P<sig>[A-Za-z0-9_-]{86})"
)
_KID: Final = re.compile(r"[a-z0-9]{1,16}")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def signed_text(kid: str, venue_id: int) -> bytes:
    """The bytes a signature covers."""
    return f"{SCHEME}:{kid}:{venue_id}".encode()


@dataclass(frozen=True, slots=True)
class SigningKey:
    """One Ed25519 key of the ring; `retired_at` set means it no longer verifies."""

    kid: str
    private: Ed25519PrivateKey
    created_at: int
    retired_at: int | None = None

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()


class KeyRing:
    """The city's venue-QR keys in one JSON file (mode 0600): current key plus older ones."""

    def __init__(self, path: Path, keys: list[SigningKey], current: str) -> None:
        self.path = Path(path)
        self._keys = {k.kid: k for k in keys}
        self.current = current

    # ------------------------------------------------------------ file

    @classmethod
    def load_or_create(cls, path: Path) -> KeyRing:
        """Read the ring, creating it with one fresh key on first use."""
        path = Path(path)
        if not path.exists():
            first = SigningKey("k1", Ed25519PrivateKey.generate(), int(time.time()))
            ring = cls(path, [first], "k1")
            ring.save()
            return ring
        return cls.load(path)

    @classmethod
    def load(cls, path: Path) -> KeyRing:
        """Read an existing ring; a damaged file names what is wrong."""
        try:
            data = orjson.loads(Path(path).read_bytes())
            keys = [
                SigningKey(
                    kid=row["kid"],
                    private=Ed25519PrivateKey.from_private_bytes(_unb64url(row["private"])),
                    created_at=int(row["created_at"]),
                    retired_at=row.get("retired_at"),
                )
                for row in data["keys"]
            ]
            current = str(data["current"])
        except FileNotFoundError:
            raise KeyRingError(f"venue key ring {path} does not exist") from None
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise KeyRingError(
                f"venue key ring {path} is damaged ({exc!r}); expected JSON with 'current' and"
                " 'keys' [{kid, private, created_at}]"
            ) from None
        if current not in {k.kid for k in keys}:
            raise KeyRingError(f"venue key ring {path}: current key {current!r} is not in it")
        return cls(path, keys, current)

    def save(self) -> None:
        """Write atomically (temp file, fsync, rename) with owner-only permissions."""
        rows = [
            {
                "kid": k.kid,
                "private": _b64url(k.private.private_bytes_raw()),
                "created_at": k.created_at,
                "retired_at": k.retired_at,
            }
            for k in self._keys.values()
        ]
        body = orjson.dumps({"current": self.current, "keys": rows}, option=orjson.OPT_INDENT_2)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, body)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)

    # ------------------------------------------------------------ keys

    def kids(self) -> list[str]:
        """Every key id, oldest first."""
        return sorted(self._keys, key=lambda kid: self._keys[kid].created_at)

    def key(self, kid: str) -> SigningKey:
        """The key `kid`, or KeyRingError."""
        try:
            return self._keys[kid]
        except KeyError:
            raise KeyRingError(f"no venue key {kid!r}; expected one of {self.kids()}") from None

    def rotate(self, kid: str | None = None) -> str:
        """Add a fresh key and make it current (older keys keep verifying); returns its id."""
        if kid is None:
            n = len(self._keys) + 1
            while f"k{n}" in self._keys:
                n += 1
            kid = f"k{n}"
        if not _KID.fullmatch(kid) or kid in self._keys:
            raise KeyRingError(f"key id {kid!r} is taken or not 1-16 of [a-z0-9]")
        self._keys[kid] = SigningKey(kid, Ed25519PrivateKey.generate(), int(time.time()))
        self.current = kid
        self.save()
        return kid

    def retire(self, kid: str) -> None:
        """Stop accepting codes signed with `kid` (not the current key)."""
        key = self.key(kid)
        if kid == self.current:
            raise KeyRingError(f"key {kid!r} is current; rotate to a new key before retiring it")
        self._keys[kid] = SigningKey(key.kid, key.private, key.created_at, int(time.time()))
        self.save()

    def verifying_keys(self) -> dict[str, Ed25519PublicKey]:
        """Public keys that still verify, by id."""
        return {k.kid: k.public for k in self._keys.values() if k.retired_at is None}

    # ------------------------------------------------------------ signing

    def sign(self, venue_id: int, kid: str | None = None) -> str:
        """The QR payload of `venue_id`, signed with the current (or the named) key."""
        if not 1 <= venue_id <= MAX_VENUE_ID:
            raise KeyRingError(f"venue id {venue_id} outside [1, {MAX_VENUE_ID}]")
        key = self.key(kid or self.current)
        sig = key.private.sign(signed_text(key.kid, venue_id))
        return f"{SCHEME}:{key.kid}:{venue_id}:{_b64url(sig)}"


def parse_and_verify(payload: str, keys: dict[str, Ed25519PublicKey]) -> int:
    """The venue id of a valid payload; QrCodeError (with the reason) for anything else."""
    if len(payload) > MAX_PAYLOAD_CHARS:
        raise QrCodeError(f"{len(payload)} characters; expected at most {MAX_PAYLOAD_CHARS}")
    match = _PAYLOAD.fullmatch(payload)
    if match is None:
        if not payload.startswith(SCHEME + ":"):
            raise QrCodeError(f"unknown scheme; expected a payload starting with {SCHEME}:")
        raise QrCodeError(f"not of the form {SCHEME}:<kid>:<venue_id>:<86-char signature>")
    kid, venue_text, sig_text = match["kid"], match["venue"], match["sig"]
    venue_id = int(venue_text)
    if venue_id > MAX_VENUE_ID:
        raise QrCodeError(f"venue id {venue_id} outside [1, {MAX_VENUE_ID}]")
    public = keys.get(kid)
    if public is None:
        raise QrCodeError(f"unknown or retired key id {kid!r}")
    sig = _unb64url(sig_text)
    if _b64url(sig) != sig_text:  # non-canonical trailing bits: a second spelling
        raise QrCodeError("signature is not canonical base64url")
    try:
        public.verify(sig, signed_text(kid, venue_id))
    except InvalidSignature:
        raise QrCodeError(f"signature does not match venue {venue_id} and key {kid!r}") from None
    return venue_id


class QrVerifier:
    """Verifies payloads with a bounded cache of outcomes (good and bad) by payload text."""

    def __init__(self, keys: dict[str, Ed25519PublicKey], *, cache_size: int = 262_144) -> None:
        self._keys = dict(keys)
        self._cache_size = cache_size
        self._cache: dict[str, int | str] = {}

    def verify(self, payload: str) -> int:
        """Venue id of a valid payload, else QrCodeError."""
        outcome = self._outcome(payload)
        if isinstance(outcome, str):
            raise QrCodeError(outcome)
        return outcome

    def _outcome(self, payload: str) -> int | str:
        outcome = self._cache.get(payload)
        if outcome is None:
            try:
                outcome = parse_and_verify(payload, self._keys)
            except QrCodeError as exc:
                outcome = str(exc)
            if len(self._cache) >= self._cache_size:
                self._cache.clear()  # crude but bounded; a real poster re-verifies once
            self._cache[payload] = outcome
        return outcome

    def verify_many(
        self, payloads: list[str]
    ) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.bool_], dict[int, str]]:
        """(venue id per payload (0 where bad), bad mask, reason per bad payload index)."""
        ids = np.zeros(len(payloads), dtype=np.uint32)
        bad = np.zeros(len(payloads), dtype=np.bool_)
        reasons: dict[int, str] = {}
        for i, payload in enumerate(payloads):
            outcome = self._outcome(payload)
            if isinstance(outcome, str):
                bad[i] = True
                reasons[i] = outcome
            else:
                ids[i] = outcome
        return ids, bad, reasons
