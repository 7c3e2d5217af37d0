"""Pseudonymous person ids: keyed BLAKE2b-64 of the normalised person reference.

A person reaches qrtrace as a reference (a phone number, a citizen-ID QR, or an importer's id).
Everything at rest and every kernel uses only `person_id = BLAKE2b-64(key, normalised ref)`:
without the key, a leaked segment cannot be joined back to phone numbers by hashing every
number in the country. The raw reference goes only to the access-controlled person directory.

Hashing is per unique reference (`np.unique` + inverse), because a batch of a million scans
holds far fewer people than scans, and Python's hashlib costs about a microsecond a call.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from storage.errors import InvalidIdentifierError

KEY_BYTES = 32
#: The longest reference we accept; anything longer is not an identifier but a payload.
MAX_REFERENCE_CHARS = 64
_PHONE_PUNCTUATION = re.compile(r"[\s\-.()]")
_VN_MOBILE = re.compile(r"^(?:\+?84|0)([35789]\d{8})$")
_ALLOWED = re.compile(r"^[0-9A-Za-z_:\-./@+]+$")

PersonIds = npt.NDArray[np.uint64]


def normalise_reference(reference: str | int, *, field: str = "person") -> str:
    """Canonical text of a person reference, so one person always hashes the same way.

    Vietnamese mobile numbers in any common spelling (`+84 912 345 678`, `84912345678`,
    `0912-345-678`) become `0912345678`; other references are stripped and kept as typed
    (case matters in citizen-ID payloads). Integers are their decimal text.
    """
    if isinstance(reference, bool):
        raise InvalidIdentifierError(field, "a boolean is not a person reference")
    if isinstance(reference, (int, np.integer)):
        if reference < 0:
            raise InvalidIdentifierError(field, f"negative number {reference}")
        return str(int(reference))
    if not isinstance(reference, str):
        raise InvalidIdentifierError(field, f"expected text or an integer, got {type(reference)}")
    text = reference.strip()
    if not text:
        raise InvalidIdentifierError(field, "empty")
    if len(text) > MAX_REFERENCE_CHARS:
        raise InvalidIdentifierError(
            field, f"{len(text)} characters; expected at most {MAX_REFERENCE_CHARS}"
        )
    compact = _PHONE_PUNCTUATION.sub("", text)
    phone = _VN_MOBILE.match(compact)
    if phone:
        return "0" + phone.group(1)
    if not _ALLOWED.match(text):
        raise InvalidIdentifierError(
            field, "contains characters outside letters, digits and _:-./@+"
        )
    return text


def load_or_create_key(path: Path) -> bytes:
    """Read the pseudonym key, creating a random one (mode 0600) on first use.

    Losing the key makes old pseudonyms unmatchable with new scans, so it is created once,
    atomically, and never rewritten.
    """
    path = Path(path)
    if path.exists():
        key = path.read_bytes()
        if len(key) != KEY_BYTES:
            raise InvalidIdentifierError(
                "pseudonym_key_file", f"{path} holds {len(key)} bytes; expected {KEY_BYTES}"
            )
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(KEY_BYTES)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, key)
        os.fsync(fd)
    finally:
        os.close(fd)
    return key


class Pseudonymiser:
    """Maps person references to 64-bit pseudonyms with one secret key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise InvalidIdentifierError("pseudonym key", f"{len(key)} bytes; expected >= 16")
        self._key = key[:64]

    def hash_normalised(self, normalised: str) -> int:
        """Pseudonym of an already normalised reference."""
        digest = hashlib.blake2b(normalised.encode(), digest_size=8, key=self._key).digest()
        return int.from_bytes(digest, "big")

    def person_id(self, reference: str | int, *, field: str = "person") -> int:
        """Pseudonym of one reference (InvalidIdentifierError names the field and reason)."""
        return self.hash_normalised(normalise_reference(reference, field=field))

    def person_ids(
        self, references: Sequence[str | int] | npt.NDArray[np.generic], *, field: str = "person"
    ) -> PersonIds:
        """Pseudonyms of many references, hashing each distinct value once.

        Raises InvalidIdentifierError for the first invalid reference; callers that must
        keep the good rows use `person_ids_or_invalid`.
        """
        ids, bad = self.person_ids_or_invalid(references, field=field)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            normalise_reference(_item(references, first), field=f"{field}[{first}]")
        return ids

    def person_ids_or_invalid(
        self, references: Sequence[str | int] | npt.NDArray[np.generic], *, field: str = "person"
    ) -> tuple[PersonIds, npt.NDArray[np.bool_]]:
        """(pseudonyms, invalid mask); invalid rows get pseudonym 0, which no reference has.

        A list is deduplicated with a dict, not `np.unique`: no array of Python strings, no
        sort (the unary path passes one or a few first-seen references per batch).
        """
        if not isinstance(references, list):
            values = np.asarray(references)
            references = values.reshape(-1).tolist() if values.ndim != 1 else values.tolist()
        memo: dict[object, int] = {}
        ids: list[int] = []
        for value in references:
            key = value if type(value) is str else (type(value), value)  # True == 1, not alike
            pid = memo.get(key)
            if pid is None:
                try:
                    pid = self.hash_normalised(normalise_reference(value, field=field))
                except InvalidIdentifierError:
                    pid = -1
                memo[key] = pid
            ids.append(pid)
        if -1 not in memo.values():
            return np.array(ids, dtype=np.uint64), np.zeros(len(ids), dtype=np.bool_)
        bad = np.array([pid == -1 for pid in ids], dtype=np.bool_)
        return np.array([max(pid, 0) for pid in ids], dtype=np.uint64), bad


def _item(references: Sequence[str | int] | npt.NDArray[np.generic], index: int) -> str | int:
    value = references[index]
    return value.item() if isinstance(value, np.generic) else value
