"""Venue names from public lists: one key per real venue, stable dense ids."""

from __future__ import annotations

import numpy as np
import pytest

from storage.adapters.venue_keys import dense_venue_ids, normalise_venue_name, venue_key


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Golden Era Plaza 金儷星", "golden era plaza"),
        ("Golden  Era   Plaza", "golden era plaza"),
        ("  GOLDEN ERA PLAZA, ", "golden era plaza"),
        ("Ｇｏｌｄｅｎ Era Plaza", "golden era plaza"),  # full-width Latin
        ("金儷星", ""),
        (None, ""),
        ("", ""),
        ("Māngere East", "māngere east"),  # macrons are letters, not CJK
    ],
)
def test_normalise_venue_name(text: str | None, expected: str) -> None:
    assert normalise_venue_name(text) == expected


def test_venue_key_joins_fields() -> None:
    assert venue_key("Shop  A", None, "Kwun Tong") == "shop a||kwun tong"


def test_dense_ids_follow_sorted_keys_and_never_collide() -> None:
    ids, keys = dense_venue_ids(["b", "a", "b", "c"])
    assert ids.dtype == np.uint32
    assert ids.tolist() == [2, 1, 2, 3]
    assert keys == ["a", "b", "c"]
    empty_ids, empty_keys = dense_venue_ids([])
    assert (len(empty_ids), empty_keys) == (0, [])
