"""The planted outbreak: F0 cases with hand-placed contacts, the tests' known answers.

Random background visits make realistic load but no test can say who *should* be an F1.
So each F0 gets two visits on known days (templates such as a café then a karaoke room, a
market then an office) and, around them, contacts placed on purpose to probe every edge of
the tracing rules:

* ``long_overlap`` – arrives just after the F0, leaves after (a clear F1);
* ``no_checkout`` – long overlap but the check-out was never scanned (tests imputation);
* ``short_overlap`` / ``short_before`` – overlaps of 8 and 5 minutes ("possible" tier);
* ``touch_after`` / ``touch_before`` – arrives exactly when the F0 leaves, or leaves exactly
  when the F0 arrives: zero overlap under half-open ``[t_in, t_out)``, never a contact;
* ``other_ward`` – a long overlap by someone living in another ward (ward scoping);
* ``chain_f1`` / ``f2`` – case 0's long-overlap contact later shares a restaurant with a
  third person: the F0 → F1 → F2 chain.

Planted people are reserved: they get no background visits, so their whole history is the
one written here. The plan only decides *who, where, when*; `truth.py` later computes the
expected contacts by brute force over all visits, background included.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from storage.domain import CATEGORY_BY_SLUG
from storage.synthetic_city.config import CityConfig

if TYPE_CHECKING:  # city.py imports this module; the types are only for annotations
    from storage.synthetic_city.city import People, Venues

MIN = 60

#: per case kind: ((category, start minute, stay minutes) of visit A, then of visit B);
#: A and B never overlap, so both fit on one day when the city has a single day
_TEMPLATES: tuple[tuple[tuple[str, int, int], tuple[str, int, int]], ...] = (
    (("cafe", 7 * 60 + 30, 75), ("karaoke", 20 * 60, 150)),
    (("market", 6 * 60 + 15, 45), ("office", 8 * 60, 540)),
    (("restaurant", 11 * 60 + 45, 60), ("supermarket", 18 * 60, 45)),
)
#: the chain visit: F1 at a restaurant from about 18:30 for an hour, F2 overlapping 50 min
_CHAIN_CATEGORY = "restaurant"
_CHAIN_START_MIN = 18 * 60 + 30


@dataclass(frozen=True, slots=True)
class PlantedVisit:
    """One planted row; times are seconds after local midnight of day `day`."""

    person: int
    venue: int  # venue_id
    day: int  # day index from config.start_date
    t_in_s: int
    t_out_s: int
    has_checkout: bool
    role: str
    case: int


@dataclass(frozen=True, slots=True)
class PlantedCase:
    """An F0: who, when sampled, when symptoms began (None: asymptomatic), its visits."""

    index: int
    person: int
    home_ward: int
    sample_day: int  # day index; may lie after the generated days
    onset_day: int | None
    visits: tuple[PlantedVisit, ...]


@dataclass(frozen=True, slots=True)
class PlantedChain:
    """F0 → F1 → F2: `f1` met case `case`'s F0, then shared `f1_visit`'s venue with `f2`."""

    case: int
    f0: int
    f1: int
    f2: int
    f1_visit: PlantedVisit
    f2_visit: PlantedVisit


@dataclass(frozen=True, slots=True, eq=False)
class OutbreakPlan:
    """All planted rows and the people reserved for them."""

    cases: tuple[PlantedCase, ...]
    chain: PlantedChain | None
    visits: tuple[PlantedVisit, ...]
    reserved: npt.NDArray[np.uint32]

    def visits_on(self, day: int) -> list[PlantedVisit]:
        """Planted rows of one day index."""
        return [v for v in self.visits if v.day == day]

    def count_on(self, day: int) -> int:
        return sum(1 for v in self.visits if v.day == day)


def plant_outbreak(
    venues: Venues, people: People, config: CityConfig, rng: np.random.Generator
) -> OutbreakPlan:
    """Choose F0s, contacts, venues and times for `config.outbreak_cases` cases."""
    if config.outbreak_cases == 0:
        return OutbreakPlan((), None, (), np.zeros(0, dtype=np.uint32))
    home_ward = people.home_ward
    picker = _Picker(home_ward, people.app_user, venues.ward, venues.category, rng)
    cases: list[PlantedCase] = []
    visits: list[PlantedVisit] = []
    chain: PlantedChain | None = None
    for k in range(config.outbreak_cases):
        anchor = 0 if config.days == 1 else 1 + k * (config.days - 1) // config.outbreak_cases
        f0 = picker.person()
        ward = int(home_ward[f0])
        (cat_a, start_a, stay_a), (cat_b, start_b, stay_b) = _TEMPLATES[k % len(_TEMPLATES)]
        day_a = max(anchor - 1, 0)
        venue_a, venue_b = picker.venue(cat_a, ward), picker.venue(cat_b, None)
        a = picker.visit(f0, venue_a, day_a, start_min=start_a, stay_min=stay_a, role="f0", case=k)
        b = picker.visit(f0, venue_b, anchor, start_min=start_b, stay_min=stay_b, role="f0", case=k)
        case_rows = [a, b]
        s, e = a.t_in_s, a.t_out_s
        long_person = picker.person(ward)
        case_rows += [
            _at(a, long_person, s + 5 * MIN, e + 10 * MIN, "long_overlap"),
            _at(
                a, picker.person(ward), s - 10 * MIN, e - 5 * MIN, "no_checkout", has_checkout=False
            ),
            _at(a, picker.person(ward), e - 8 * MIN, e + 30 * MIN, "short_overlap"),
            _at(a, picker.person(ward), e, e + 20 * MIN, "touch_after"),
        ]
        s, e = b.t_in_s, b.t_out_s
        case_rows += [
            _at(b, picker.person(ward, other_ward=True), s + 10 * MIN, e, "other_ward"),
            _at(b, picker.person(ward), s - 30 * MIN, s + 5 * MIN, "short_before"),
            _at(b, picker.person(ward), s - 25 * MIN, s, "touch_before"),
        ]
        if k == 0:
            chain_day = min(day_a + 1, config.days - 1)
            venue = picker.venue(_CHAIN_CATEGORY, int(home_ward[long_person]))
            f1_visit = picker.visit(
                long_person,
                venue,
                chain_day,
                start_min=_CHAIN_START_MIN,
                stay_min=60,
                role="chain_f1",
                case=k,
            )
            f2 = picker.person()
            t = f1_visit.t_in_s
            f2_visit = PlantedVisit(f2, venue, chain_day, t + 10 * MIN, t + 70 * MIN, True, "f2", k)
            chain = PlantedChain(k, f0, long_person, f2, f1_visit, f2_visit)
            case_rows += [f1_visit, f2_visit]
        onset = anchor if k % 3 != 2 else None  # every third case is asymptomatic
        cases.append(PlantedCase(k, f0, ward, anchor + 1, onset, (a, b)))
        visits += case_rows
    reserved = np.array(sorted(picker.taken), dtype=np.uint32)
    return OutbreakPlan(tuple(cases), chain, tuple(visits), reserved)


def _at(
    f0_visit: PlantedVisit,
    person: int,
    t_in: int,
    t_out: int,
    role: str,
    *,
    has_checkout: bool = True,
) -> PlantedVisit:
    """A contact's visit at the same venue and day as `f0_visit`."""
    return PlantedVisit(
        person, f0_visit.venue, f0_visit.day, t_in, t_out, has_checkout, role, f0_visit.case
    )


class _Picker:
    """Draws distinct planted people and (preferably unused) venues."""

    def __init__(
        self,
        home_ward: npt.NDArray[np.uint8],
        app_user: npt.NDArray[np.bool_],
        venue_ward: npt.NDArray[np.uint8],
        venue_category: npt.NDArray[np.uint8],
        rng: np.random.Generator,
    ) -> None:
        self.home_ward = home_ward
        self.free = app_user.copy()
        self.venue_ward = venue_ward
        self.venue_category = venue_category
        self.venue_free = np.ones(len(venue_ward), dtype=bool)
        self.rng = rng
        self.taken: set[int] = set()

    def person(self, ward: int | None = None, other_ward: bool = False) -> int:
        """A free app user, from `ward` (or from any other ward) when one is left."""
        candidates = self.free
        if ward is not None:
            in_ward = self.home_ward == ward
            preferred = self.free & (~in_ward if other_ward else in_ward)
            if preferred.any() or other_ward:
                candidates = preferred
        idx = np.flatnonzero(candidates)
        if len(idx) == 0:
            wanted = f"outside ward {ward}" if other_ward else "free"
            raise ValueError(f"no {wanted} app user left to plant (raise adults)")
        person = int(idx[self.rng.integers(len(idx))])
        self.free[person] = False
        self.taken.add(person)
        return person

    def venue(self, slug: str, ward: int | None) -> int:
        """venue_id of a category venue, in `ward` when possible, unused when possible."""
        code = CATEGORY_BY_SLUG[slug].code
        of_cat = self.venue_category == code
        for mask in (
            of_cat & self.venue_free & (self.venue_ward == ward if ward else of_cat),
            of_cat & self.venue_free,
            of_cat,
        ):
            idx = np.flatnonzero(mask)
            if len(idx):
                row = int(idx[self.rng.integers(len(idx))])
                self.venue_free[row] = False
                return row + 1
        raise ValueError(f"the city has no {slug} venue")  # unreachable: min 1 per category

    def visit(
        self,
        person: int,
        venue: int,
        day: int,
        *,
        start_min: int,
        stay_min: int,
        role: str,
        case: int,
    ) -> PlantedVisit:
        """A visit starting 0-15 min after `start_min`, staying `stay_min` + 0-10 min."""
        t_in = start_min * MIN + int(self.rng.integers(0, 15 * MIN))
        t_out = t_in + stay_min * MIN + int(self.rng.integers(0, 10 * MIN))
        return PlantedVisit(person, venue, day, t_in, t_out, True, role, case)
