"""Venue QR signatures: valid codes verify; forged, tampered, alg-confused, unknown-key don't."""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
from pathlib import Path

import pytest

from ingest.errors import QrCodeError
from ingest.qrcode import KeyRing, QrVerifier, parse_and_verify


@pytest.fixture
def ring(tmp_path: Path) -> KeyRing:
    return KeyRing.load_or_create(tmp_path / "keys.json")


def test_sign_verify_roundtrip_and_reload(ring: KeyRing, tmp_path: Path) -> None:
    code = ring.sign(1234)
    assert code.startswith("QRT1:k1:1234:")
    assert parse_and_verify(code, ring.verifying_keys()) == 1234
    again = KeyRing.load(tmp_path / "keys.json")
    assert parse_and_verify(code, again.verifying_keys()) == 1234
    assert (tmp_path / "keys.json").stat().st_mode & 0o777 == 0o600


def test_rotation_keeps_old_codes_until_retired(ring: KeyRing) -> None:
    old = ring.sign(7)
    kid = ring.rotate()
    new = ring.sign(7)
    assert kid in new
    assert parse_and_verify(old, ring.verifying_keys()) == 7
    assert parse_and_verify(new, ring.verifying_keys()) == 7
    ring.retire("k1")
    with pytest.raises(QrCodeError, match="unknown or retired key"):
        parse_and_verify(old, ring.verifying_keys())


def test_forged_and_confused_codes_are_rejected(ring: KeyRing, tmp_path: Path) -> None:
    keys = ring.verifying_keys()
    good = ring.sign(42)
    prefix, sig = good.rsplit(":", 1)
    other = KeyRing.load_or_create(tmp_path / "other.json").sign(42)
    public_raw = ring.key("k1").public.public_bytes_raw()
    hmac_sig = base64.urlsafe_b64encode(
        hmac.new(public_raw, b"QRT1:k1:42", hashlib.sha256).digest()
    ).rstrip(b"=")
    bad = [
        good.replace(":42:", ":43:"),  # tampered venue id
        other,  # signed by a key the city does not hold, same kid
        good.replace("QRT1:k1:", "QRT1:k9:"),  # unknown key id
        f"{prefix}:{hmac_sig.decode()}",  # alg confusion: HMAC keyed with the public key
        "HS256" + good[4:],  # other scheme
        good.replace(":42:", ":042:"),  # non-canonical venue id
        good + "A",
        "",
        f"QRT1:k1:42:{'A' * 86}",
    ]
    for code in bad:
        with pytest.raises(QrCodeError):
            parse_and_verify(code, keys)
    assert sig


def test_1000_mutated_payloads_are_all_rejected(ring: KeyRing) -> None:
    keys = ring.verifying_keys()
    rng = random.Random(5)
    alphabet = "QRT1:kA-_z0123456789abcdefghij"
    rejected = 0
    total = 0
    while total < 1000:
        code = ring.sign(rng.randint(1, 100_000))
        chars = list(code)
        for _ in range(rng.randint(1, 3)):
            op = rng.random()
            pos = rng.randrange(len(chars))
            if op < 0.5:
                chars[pos] = rng.choice(alphabet)
            elif op < 0.75:
                del chars[pos]
            else:
                chars.insert(pos, rng.choice(alphabet))
        mutated = "".join(chars)
        if mutated == code:
            continue
        total += 1
        try:
            parse_and_verify(mutated, keys)
        except QrCodeError:
            rejected += 1
    assert rejected == total == 1000


def test_verifier_caches_outcomes(ring: KeyRing) -> None:
    verifier = QrVerifier(ring.verifying_keys(), cache_size=2)
    codes = [ring.sign(1), "nonsense", ring.sign(2), ring.sign(1)]
    ids, bad, reasons = verifier.verify_many(codes)
    assert ids.tolist() == [1, 0, 2, 1]
    assert bad.tolist() == [False, True, False, False]
    assert "scheme" in reasons[1]
