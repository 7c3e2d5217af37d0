"""Where venues sit: hand-placed approximate ward centres inside a Biên Hòa bounding box.

The tracing engine never reads coordinates; they exist so maps and hot-spot views in the
demo look like a city (venues clustered by ward, the centre denser than the outskirts).
Centres are approximate and hand-placed, not survey data.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from storage.domain import WARDS

#: (south, west, north, east) in degrees; covers Biên Hòa's 30 wards.
BBOX = (10.84, 106.76, 11.00, 106.96)

#: approximate centre (lat, lon) of each ward, by ward name
_CENTRES: dict[str, tuple[float, float]] = {
    "An Bình": (10.915, 106.855),
    "An Hòa": (10.885, 106.860),
    "Bình Đa": (10.935, 106.855),
    "Bửu Hòa": (10.925, 106.815),
    "Bửu Long": (10.955, 106.800),
    "Hiệp Hòa": (10.935, 106.830),
    "Hóa An": (10.940, 106.795),
    "Hòa Bình": (10.948, 106.815),
    "Hố Nai": (10.975, 106.880),
    "Long Bình": (10.935, 106.890),
    "Long Bình Tân": (10.900, 106.870),
    "Long Hưng": (10.875, 106.840),
    "Phước Tân": (10.890, 106.920),
    "Quang Vinh": (10.952, 106.822),
    "Quyết Thắng": (10.945, 106.825),
    "Tam Hiệp": (10.945, 106.860),
    "Tam Hòa": (10.952, 106.870),
    "Tam Phước": (10.860, 106.930),
    "Tân Biên": (10.975, 106.895),
    "Tân Hạnh": (10.950, 106.780),
    "Tân Hiệp": (10.965, 106.860),
    "Tân Hòa": (10.970, 106.910),
    "Tân Mai": (10.957, 106.845),
    "Tân Phong": (10.975, 106.835),
    "Tân Tiến": (10.962, 106.842),
    "Tân Vạn": (10.910, 106.810),
    "Thanh Bình": (10.947, 106.818),
    "Thống Nhất": (10.955, 106.835),
    "Trảng Dài": (10.988, 106.865),
    "Trung Dũng": (10.950, 106.828),
}

#: ward centre arrays indexed by ward code - 1
WARD_LAT = np.array([_CENTRES[w.name][0] for w in WARDS], dtype=np.float64)
WARD_LON = np.array([_CENTRES[w.name][1] for w in WARDS], dtype=np.float64)
#: spread (degrees, 1 sd) grows with the ward's population: big wards cover more ground
WARD_SPREAD = 0.004 * np.sqrt(np.array([w.population_weight for w in WARDS]) / 2.0)


def venue_coordinates(
    ward_index: npt.NDArray[np.integer], rng: np.random.Generator
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Normal scatter around each venue's ward centre, clipped to the bounding box."""
    n = len(ward_index)
    spread = WARD_SPREAD[ward_index]
    lat = WARD_LAT[ward_index] + rng.standard_normal(n) * spread
    lon = WARD_LON[ward_index] + rng.standard_normal(n) * spread
    south, west, north, east = BBOX
    return (
        np.clip(lat, south, north).astype(np.float32),
        np.clip(lon, west, east).astype(np.float32),
    )
