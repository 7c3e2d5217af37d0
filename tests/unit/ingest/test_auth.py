"""Device tokens: accepted header values are remembered, everything else still refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.auth import DeviceTokens, add_device
from ingest.errors import AuthError


def test_a_known_token_is_remembered_and_unknown_ones_still_fail(tmp_path: Path) -> None:
    token = add_device(tmp_path / "tokens.json", "gateway-1")
    tokens = DeviceTokens.load(tmp_path / "tokens.json")
    header = f"Bearer {token}"
    assert tokens.device_for(header) == "gateway-1"
    assert tokens.device_for(header) == "gateway-1"  # from the remembered headers
    for bad in (None, "", token, "Bearer nope", f"Bearer {token}x"):
        with pytest.raises(AuthError):
            tokens.device_for(bad)


def test_remembered_headers_are_bounded(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    headers = [f"Bearer {add_device(path, f'd{i}')}" for i in range(3)]
    tokens = DeviceTokens.load(path)
    tokens.SEEN_MAX = 2
    for header in headers * 3:
        tokens.device_for(header)
        assert len(tokens._seen) <= 2
    assert [tokens.device_for(h) for h in headers] == ["d0", "d1", "d2"]
