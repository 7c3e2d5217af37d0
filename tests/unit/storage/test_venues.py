from pathlib import Path

import numpy as np
import pytest

from storage.errors import InvalidInputError
from storage.venues import Venue, VenueRegistry


def _venue(venue_id: int = 1, **changes: object) -> Venue:
    fields: dict[str, object] = {
        "venue_id": venue_id,
        "name": f"Cà phê {venue_id}",
        "ward": 3,
        "category": 4,
        "registered_at": 1_630_000_000,
    }
    fields.update(changes)
    return Venue(**fields)  # type: ignore[arg-type]


def test_register_survives_reopen_and_arrays_follow(tmp_path: Path) -> None:
    with VenueRegistry(tmp_path / "v") as reg:
        reg.register_many([_venue(1), _venue(5, ward=30, category=5)])
    with VenueRegistry(tmp_path / "v") as reg:
        assert reg.get(5) == _venue(5, ward=30, category=5)
        arrays = reg.arrays()
        assert arrays.ward.tolist() == [0, 3, 0, 0, 0, 30]
        assert arrays.category[5] == 5
        assert arrays.registered.tolist() == [False, True, False, False, False, True]
        assert len(reg) == 2


def test_deactivate_records_time_and_keeps_row(tmp_path: Path) -> None:
    with VenueRegistry(tmp_path / "v") as reg:
        reg.register(_venue(2))
        closed = reg.deactivate(2, at=1_700_000_000)
        assert not closed.active
        assert reg.arrays().closed_at[2] == 1_700_000_000
        assert reg.active_count() == 0
        with pytest.raises(InvalidInputError, match="venue 9 is not registered"):
            reg.deactivate(9, at=1)


def test_register_new_allocates_next_id(tmp_path: Path) -> None:
    with VenueRegistry(tmp_path / "v") as reg:
        reg.register(_venue(41))
        made = reg.register_new(name="Chợ Tân Hòa", ward=22, category=1, registered_at=1)
        assert made.venue_id == 42


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"ward": 31}, "ward"),
        ({"category": 99}, "category"),
        ({"name": " "}, "name"),
        ({"lat": 91.0}, "lat"),
        ({"venue_id": 0}, "venue_id"),
        ({"capacity": -1}, "capacity"),
    ],
)
def test_invalid_venue_names_the_field(
    tmp_path: Path, changes: dict[str, object], field: str
) -> None:
    with VenueRegistry(tmp_path / "v") as reg:
        with pytest.raises(InvalidInputError) as info:
            reg.register(_venue(**changes))
        assert info.value.field == field
        assert len(reg) == 0


def test_lookup_maps_unknown_ids_to_zero(tmp_path: Path) -> None:
    with VenueRegistry(tmp_path / "v") as reg:
        reg.register(_venue(3))
        arrays = reg.arrays()
        idx = arrays.lookup(np.array([3, 0, 4_000_000_000, 2], dtype=np.uint32))
        assert arrays.registered[idx].tolist() == [True, False, False, False]


def test_a_secondary_follows_the_owner_after_refresh(tmp_path: Path) -> None:
    with VenueRegistry(tmp_path / "venues") as owner:
        owner.register_new(name="Cho", ward=1, category=1, registered_at=0)
        follower = VenueRegistry(tmp_path / "venues", secondary=tmp_path / "follower")
        with follower:
            assert len(follower) == 1
            assert not follower.refresh()
            new = owner.register_new(name="Quan", ward=2, category=2, registered_at=0)
            assert follower.refresh()
            assert follower.arrays().registered[new.venue_id]
