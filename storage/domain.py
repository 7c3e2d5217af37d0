"""City vocabulary shared by every tier: wards, venue categories and their dwell rules.

It lives at the bottom layer because ingest (validation), storage (check-out imputation),
tracing (category weights) and the synthetic city all speak it; keeping one table avoids
three slightly different copies of "how long does a karaoke visit last".

Figures are calibrated to Bien Hoa (Dong Nai, Vietnam) in 2021-22: 29 wards and one
commune (Long Hưng), 83,844 registered QR venues, about 740,000 adults.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import timedelta, timezone

#: Vietnam has no daylight saving time; UTC+7 all year.
LOCAL_TZ = timezone(timedelta(hours=7), name="ICT")
LOCAL_UTC_OFFSET_S = 7 * 3600

CITY_NAME = "Biên Hòa"
CITY_VENUES = 83_844
CITY_ADULTS = 740_000
CITY_APP_SHARE = 0.80


@dataclass(frozen=True, slots=True)
class Ward:
    """One ward (phường) or commune (xã); `code` is our dense 1-based id."""

    code: int
    name: str
    is_commune: bool
    #: relative adult population; normalised by users of the table
    population_weight: float

    @property
    def slug(self) -> str:
        return ascii_slug(self.name)


@dataclass(frozen=True, slots=True)
class VenueCategory:
    """A venue category with the dwell rules that imputation and the synthetic city use."""

    code: int
    slug: str
    name_vi: str
    name_en: str
    #: share of the city's registered venues in this category
    venue_share: float
    #: visits per venue per day relative to a shop (before Zipf popularity)
    visit_rate: float
    #: check-out imputed after this many minutes when the visitor never scanned out
    default_dwell_min: int
    #: median of the synthetic dwell distribution, minutes
    median_dwell_min: int
    #: local opening hours [open, close) in minutes after midnight
    opens_min: int
    closes_min: int


def ascii_slug(text: str) -> str:
    """Lower-case ASCII slug of a Vietnamese name: "Tân Hòa" -> "tan-hoa"."""
    text = text.replace("Đ", "D").replace("đ", "d")
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_only = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return "-".join(ascii_only.lower().split())


_WARD_ROWS: tuple[tuple[str, float], ...] = (
    # name, relative adult population (approximate, from 2019 census ward sizes)
    ("An Bình", 4.2),
    ("An Hòa", 2.2),
    ("Bình Đa", 2.0),
    ("Bửu Hòa", 2.4),
    ("Bửu Long", 3.0),
    ("Hiệp Hòa", 2.6),
    ("Hóa An", 2.9),
    ("Hòa Bình", 1.1),
    ("Hố Nai", 4.6),
    ("Long Bình", 8.5),
    ("Long Bình Tân", 4.1),
    ("Long Hưng", 1.3),
    ("Phước Tân", 4.9),
    ("Quang Vinh", 1.4),
    ("Quyết Thắng", 1.7),
    ("Tam Hiệp", 3.9),
    ("Tam Hòa", 2.3),
    ("Tam Phước", 6.8),
    ("Tân Biên", 3.8),
    ("Tân Hạnh", 1.8),
    ("Tân Hiệp", 3.6),
    ("Tân Hòa", 4.3),
    ("Tân Mai", 2.0),
    ("Tân Phong", 5.4),
    ("Tân Tiến", 2.1),
    ("Tân Vạn", 1.9),
    ("Thanh Bình", 0.9),
    ("Thống Nhất", 2.6),
    ("Trảng Dài", 7.8),
    ("Trung Dũng", 1.9),
)

WARDS: tuple[Ward, ...] = tuple(
    Ward(code=i + 1, name=name, is_commune=(name == "Long Hưng"), population_weight=weight)
    for i, (name, weight) in enumerate(_WARD_ROWS)
)
WARD_BY_CODE: dict[int, Ward] = {w.code: w for w in WARDS}

# fmt: off
CATEGORIES: tuple[VenueCategory, ...] = (
    # code slug           name_vi                   name_en                venue_share visit_rate
    #                                                        default_dwell median_dwell opens closes
    VenueCategory(1, "market", "Chợ", "Market", 0.010, 40.0, 60, 35, 5 * 60, 19 * 60),
    VenueCategory(2, "supermarket", "Siêu thị", "Supermarket", 0.008, 25.0, 60, 30, 7 * 60, 22 * 60),
    VenueCategory(3, "restaurant", "Nhà hàng / quán ăn", "Restaurant", 0.140, 2.0, 90, 45, 6 * 60, 22 * 60),
    VenueCategory(4, "cafe", "Quán cà phê", "Café", 0.120, 1.8, 90, 50, 6 * 60, 23 * 60),
    VenueCategory(5, "karaoke", "Karaoke", "Karaoke", 0.012, 2.5, 180, 120, 14 * 60, 24 * 60),
    VenueCategory(6, "shop", "Cửa hàng", "Shop", 0.330, 1.0, 30, 12, 7 * 60, 22 * 60),
    VenueCategory(7, "office", "Văn phòng", "Office", 0.090, 2.2, 480, 420, 7 * 60 + 30, 18 * 60),
    VenueCategory(8, "school", "Trường học", "School", 0.012, 12.0, 300, 270, 6 * 60 + 30, 17 * 60 + 30),
    VenueCategory(9, "hospital", "Bệnh viện / phòng khám", "Hospital / clinic", 0.020, 6.0, 120, 60, 0, 24 * 60),
    VenueCategory(10, "worship", "Chùa / nhà thờ", "Pagoda / church", 0.015, 3.0, 120, 60, 4 * 60 + 30, 21 * 60),
    # Biên Hòa's industrial parks: few venues, each with thousands of workers scanning daily
    VenueCategory(11, "factory", "Nhà máy / xí nghiệp", "Factory", 0.030, 15.0, 600, 480, 0, 24 * 60),
    VenueCategory(12, "pharmacy", "Nhà thuốc", "Pharmacy", 0.060, 1.2, 20, 8, 6 * 60 + 30, 22 * 60),
    VenueCategory(13, "salon", "Tiệm tóc / làm đẹp", "Hair / beauty salon", 0.060, 0.8, 90, 40, 7 * 60, 21 * 60),
    VenueCategory(14, "gym", "Phòng tập", "Gym", 0.010, 4.0, 120, 75, 5 * 60, 22 * 60),
    VenueCategory(15, "hotel", "Khách sạn / nhà nghỉ", "Hotel / guesthouse", 0.025, 1.5, 720, 600, 0, 24 * 60),
    VenueCategory(16, "government", "Cơ quan hành chính", "Government office", 0.008, 8.0, 60, 30, 7 * 60, 17 * 60),
    VenueCategory(17, "bank", "Ngân hàng", "Bank", 0.010, 4.0, 45, 20, 7 * 60 + 30, 16 * 60 + 30),
    VenueCategory(18, "transport", "Bến xe / nhà ga", "Bus / train station", 0.040, 3.0, 60, 25, 4 * 60, 22 * 60),
)
# fmt: on
CATEGORY_BY_CODE: dict[int, VenueCategory] = {c.code: c for c in CATEGORIES}
CATEGORY_BY_SLUG: dict[str, VenueCategory] = {c.slug: c for c in CATEGORIES}


def category_by_slug(slug: str) -> VenueCategory:
    """Look up a category by slug, naming the known ones when it is not found."""
    try:
        return CATEGORY_BY_SLUG[slug]
    except KeyError:
        known = ", ".join(sorted(CATEGORY_BY_SLUG))
        raise KeyError(f"unknown venue category {slug!r}; expected one of: {known}") from None
