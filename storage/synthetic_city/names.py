"""Vietnamese names, phone numbers and venue names, generated vectorised.

Officers read F1 lists by name and phone, so the demo needs plausible ones: surnames follow
their real frequencies (Nguyễn ~ 38 %), and Biên Hòa being in the South, Huỳnh and Võ are
more common than their northern spellings Hoàng and Vũ. Phones are unique by construction
(an affine bijection over the number space), not by rejection sampling.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from storage.domain import CATEGORIES, WARDS

Strs = npt.NDArray[np.str_]

#: surname, relative frequency (southern Vietnam)
_SURNAMES: tuple[tuple[str, float], ...] = (
    ("Nguyễn", 38.0),
    ("Trần", 11.0),
    ("Lê", 9.5),
    ("Phạm", 7.0),
    ("Huỳnh", 4.0),
    ("Hoàng", 1.1),
    ("Phan", 4.5),
    ("Võ", 3.0),
    ("Vũ", 0.9),
    ("Đặng", 2.1),
    ("Bùi", 2.0),
    ("Đỗ", 1.4),
    ("Hồ", 1.3),
    ("Ngô", 1.3),
    ("Dương", 1.0),
    ("Lý", 0.5),
    ("Trương", 1.0),
    ("Đinh", 0.6),
)
_MIDDLE_MALE = ("Văn", "Minh", "Hữu", "Đức", "Quốc", "Thanh", "Hoàng", "Công", "Ngọc", "Tấn")
_MIDDLE_FEMALE = ("Thị", "Ngọc", "Thu", "Thanh", "Kim", "Mỹ", "Bảo", "Phương", "Hồng", "Thị")
_GIVEN_MALE = (
    "Anh",
    "Bình",
    "Cường",
    "Dũng",
    "Hải",
    "Hùng",
    "Huy",
    "Khang",
    "Khoa",
    "Long",
    "Minh",
    "Nam",
    "Phúc",
    "Quân",
    "Sơn",
    "Tài",
    "Thắng",
    "Thành",
    "Tuấn",
    "Việt",
    "Vinh",
    "Hiếu",
    "Phong",
    "Trung",
    "Lộc",
    "Tín",
    "Nhân",
    "Đạt",
)
_GIVEN_FEMALE = (
    "Anh",
    "Hà",
    "Hằng",
    "Hoa",
    "Hương",
    "Lan",
    "Linh",
    "Mai",
    "My",
    "Ngân",
    "Nhung",
    "Oanh",
    "Phương",
    "Quyên",
    "Thảo",
    "Trang",
    "Trinh",
    "Uyên",
    "Vy",
    "Yến",
    "Hạnh",
    "Loan",
    "Tuyết",
    "Châu",
    "Nhi",
    "Diễm",
    "Thư",
    "Giang",
)

#: mobile prefixes in use in 2021 (Viettel 03x/086/09x, Vinaphone 08x, Mobifone 07x/09x,
#: Vietnamobile 056/058, Gmobile 059)
_PHONE_PREFIXES = np.array(
    (32, 33, 34, 35, 36, 37, 38, 39, 56, 58, 59, 70, 76, 77, 78, 79,
     81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 93, 94, 96, 97, 98),
    dtype=np.int64,
)  # fmt: skip
PHONE_SPACE = len(_PHONE_PREFIXES) * 10**7

#: what a venue of each category is called on its QR poster
_VENUE_PREFIX: dict[str, str] = {
    "market": "Chợ",
    "supermarket": "Siêu thị",
    "restaurant": "Quán ăn",
    "cafe": "Cà phê",
    "karaoke": "Karaoke",
    "shop": "Tạp hóa",
    "office": "Công ty",
    "school": "Trường",
    "hospital": "Phòng khám",
    "worship": "Chùa",
    "factory": "Nhà máy",
    "pharmacy": "Nhà thuốc",
    "salon": "Tiệm tóc",
    "gym": "Phòng gym",
    "hotel": "Nhà nghỉ",
    "government": "UBND",
    "bank": "Ngân hàng",
    "transport": "Trạm xe",
}


#: App account numbers of synthetic people start here: 12 digits, never 0 (ingest reads a
#: zero person number as "unset"), and visibly not a phone number.
PERSON_REF_BASE = 10**11


def person_reference(person: npt.NDArray[np.integer[Any]]) -> npt.NDArray[np.uint64]:
    """The reference (app account number) a synthetic person scans with, by dense index.

    Every path that turns the city into scans (import, the scanner-fleet simulator, the demo)
    uses this one mapping, so a person registered in the directory and the same person's
    streamed scans share one pseudonym.
    """
    return np.asarray(person, dtype=np.uint64) + np.uint64(PERSON_REF_BASE)


def person_names(n: int, rng: np.random.Generator) -> Strs:
    """`n` full names "Surname Middle Given", sex-consistent middle and given names.

    All ~10k combinations are formatted once and gathered by index: far cheaper than
    concatenating 740k strings piece by piece.
    """
    surnames = [s for s, _ in _SURNAMES]
    weights = np.array([w for _, w in _SURNAMES])
    combos: list[str] = []
    for middles, givens in ((_MIDDLE_MALE, _GIVEN_MALE), (_MIDDLE_FEMALE, _GIVEN_FEMALE)):
        combos += [f"{s} {m} {g}" for s in surnames for m in middles for g in givens]
    n_male = len(surnames) * len(_MIDDLE_MALE) * len(_GIVEN_MALE)
    surname = rng.choice(len(surnames), size=n, p=weights / weights.sum())
    female = rng.random(n) < 0.5
    middle = np.where(
        female,
        rng.integers(0, len(_MIDDLE_FEMALE), n),
        rng.integers(0, len(_MIDDLE_MALE), n),
    )
    given = np.where(
        female,
        rng.integers(0, len(_GIVEN_FEMALE), n),
        rng.integers(0, len(_GIVEN_MALE), n),
    )
    male_code = (surname * len(_MIDDLE_MALE) + middle) * len(_GIVEN_MALE) + given
    female_code = n_male + (surname * len(_MIDDLE_FEMALE) + middle) * len(_GIVEN_FEMALE) + given
    return np.array(combos)[np.where(female, female_code, male_code)]


def phone_numbers(n: int, rng: np.random.Generator) -> Strs:
    """`n` distinct 10-digit mobile numbers ("0912345678"), deterministic for the rng.

    x -> (a*x + b) mod PHONE_SPACE with gcd(a, PHONE_SPACE) = 1 is a bijection, so numbers
    are unique without any set lookups; the prefix is x // 10**7, the subscriber x % 10**7.
    """
    if n > PHONE_SPACE:
        raise ValueError(f"at most {PHONE_SPACE} distinct phone numbers, asked for {n}")
    a = int(rng.integers(PHONE_SPACE // 3, PHONE_SPACE)) | 1  # PHONE_SPACE = 2**12 * 5**7
    while a % 5 == 0:
        a += 2
    b = int(rng.integers(0, PHONE_SPACE))
    x = (np.arange(n, dtype=np.int64) * a + b) % PHONE_SPACE
    number = _PHONE_PREFIXES[x // 10**7] * 10**7 + x % 10**7  # 9 significant digits
    return _digits(number, 10)


def venue_names(
    category_code: npt.NDArray[np.integer],
    ward_code: npt.NDArray[np.integer],
    serial: npt.NDArray[np.integer],
) -> Strs:
    """ "Cà phê Tân Hòa 123": category word, ward name, serial within (ward, category)."""
    prefix = np.array([""] + [_VENUE_PREFIX[c.slug] for c in CATEGORIES])
    ward = np.array([""] + [w.name for w in WARDS])
    out: Strs = np.strings.add(np.strings.add(prefix[category_code], " "), ward[ward_code])
    return np.strings.add(np.strings.add(out, " "), serial.astype(np.int64).astype(np.str_))


def birth_years(n: int, reference_year: int, rng: np.random.Generator) -> npt.NDArray[np.uint16]:
    """Adults 18..85, flat to 45 then thinning out, like Vietnam's young age pyramid."""
    ages = np.arange(18, 86)
    weight = np.where(ages <= 45, 1.0, 1.0 - 0.9 * (ages - 45) / 40.0)
    age = ages[rng.choice(len(ages), size=n, p=weight / weight.sum())]
    return (reference_year - age).astype(np.uint16)


def _digits(number: npt.NDArray[np.int64], width: int) -> Strs:
    """Zero-padded decimal strings, built as an ASCII byte matrix (no per-row formatting)."""
    out = np.empty((len(number), width), dtype=np.uint8)
    rest = number.copy()
    for k in range(width - 1, -1, -1):
        rest, digit = np.divmod(rest, 10)
        out[:, k] = digit + ord("0")
    return out.view(f"S{width}").ravel().astype(f"U{width}")
