"""Scan record layout and the packed batch format."""

from __future__ import annotations

import numpy as np
import pytest

from storage.errors import CorruptBatchError
from storage.records import (
    HEADER_SIZE,
    IN,
    OUT,
    RECORD_SIZE,
    day_bounds,
    local_day,
    make_scans,
    pack,
    unpack,
    visits_as_scans,
)

from .scan_factory import random_scans


def test_record_is_36_bytes_and_packs_round_trip() -> None:
    scans = random_scans(1000)
    assert RECORD_SIZE == 36
    value = pack(scans)
    assert len(value) == HEADER_SIZE + 1000 * RECORD_SIZE
    back = unpack(value)
    assert back.tobytes() == scans.tobytes()
    assert unpack(pack(scans[:0])).shape == (0,)


@pytest.mark.parametrize("damage", ["flip", "truncate", "magic"])
def test_damaged_batch_is_refused_naming_it(damage: str) -> None:
    value = bytearray(pack(random_scans(10)))
    if damage == "flip":
        value[HEADER_SIZE + 5] ^= 0x01
    elif damage == "truncate":
        del value[-3:]
    else:
        value[0:2] = b"XX"
    with pytest.raises(CorruptBatchError, match="key 00ff"):
        unpack(bytes(value), where="key 00ff")


def test_imported_visit_becomes_in_out_pair() -> None:
    ids = np.arange(32, dtype=np.uint8).reshape(2, 16)
    scans = visits_as_scans(
        scan_id_in=ids[:1], scan_id_out=ids[1:], person=7, venue=3, t_in=100, t_out=900
    )
    assert scans["direction"].tolist() == [IN, OUT]
    assert scans["t"].tolist() == [100, 900]
    assert scans["reserved"].tolist() == [0, 0]


def test_local_day_is_utc_plus_7() -> None:
    start, end = day_bounds(19_700)
    t = np.array([start, end - 1, end], dtype=np.uint32)
    assert local_day(t).tolist() == [19_700, 19_700, 19_701]
    assert (start + 7 * 3600) % 86_400 == 0


def test_scan_id_must_be_16_bytes() -> None:
    with pytest.raises(ValueError, match=r"\(n, 16\)"):
        make_scans(np.zeros((2, 8), np.uint8), 1, 1, 1)
