"""Background visits, one day at a time, fully vectorised: the city's load generator.

One day is built in four array passes, no per-row Python:

1. *who*: each eligible app user (planted people excluded) draws a Poisson number of visits
   with mean proportional to their gamma-distributed activity, so a few people scan a lot;
   `np.repeat` gives rows already grouped by person;
2. *where*: the home ward with probability `home_ward_share`, otherwise another ward by its
   total popularity; then a venue inside that ward by Zipf popularity (grouped alias tables,
   venue ids being contiguous per ward);
3. *when / how long*: arrival minute from the category's opening-hours profile, stay from
   the category's lognormal dwell, plus a travel gap to the next venue;
4. *make it a day*: rows sorted by (person, arrival) and pushed so each visit starts after
   the previous one ended plus travel. The push is the recurrence
   ``start[j] = max(arrival[j], start[j-1] + step[j-1])``, solved in closed form as
   ``P[j] + max_{i<=j}(arrival[i] - P[i])`` (P = prefix sum of steps within the person) with
   one segmented `np.maximum.accumulate`. Visits pushed past closing time are dropped.

Dropping makes the count random, so step 1 over-samples slightly, a rare top-up round adds
rows when short, and a random surplus is removed to hit the day's target exactly; removing
whole visits keeps every person's day non-overlapping. Times leave this module as uint32
UTC epoch seconds; rows are sorted by `t_in` (ties by person).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import date, datetime, time

import numpy as np
import numpy.typing as npt

from storage.domain import LOCAL_TZ, WARDS
from storage.synthetic_city.city import City
from storage.synthetic_city.config import CityConfig
from storage.synthetic_city.errors import CityConfigError
from storage.synthetic_city.sampling import STREAM_DAYS, GroupedAlias, apportion, stream
from storage.synthetic_city.timeofday import (
    CLOSES_S,
    DAY_S,
    MIN_VISIT_S,
    arrival_sampler,
    sample_arrivals,
    sample_dwell,
    sample_travel,
)

I64 = npt.NDArray[np.int64]
U32 = npt.NDArray[np.uint32]

#: relative scan volume by weekday (Mon..Sun): weekends are quieter (offices, schools shut)
WEEKDAY_WEIGHT = (1.0, 1.0, 1.0, 1.0, 1.02, 0.92, 0.8)
#: first-round over-sampling; covers the ~18 % of visits (Biên Hòa calibration) pushed past
#: closing time by a long stay before them; any shortfall is topped up with fresh people
OVERSAMPLE = 1.22
_MAX_ROUNDS = 12


@dataclass(frozen=True, slots=True, eq=False)
class VisitBatch:
    """One local day of visits, sorted by `t_in`. Times are UTC epoch seconds.

    `t_out` is the true departure even where `has_checkout` is False: the visitor left then
    but never scanned out; writers turn those into nulls, evaluation keeps the truth.
    """

    day: date
    person: U32
    venue: U32
    t_in: U32
    t_out: U32
    has_checkout: npt.NDArray[np.bool_]
    category: npt.NDArray[np.uint8]

    def __len__(self) -> int:
        return len(self.person)


def local_midnight(day: date) -> int:
    """Epoch seconds of 00:00 local time (UTC+7) on `day`."""
    return int(datetime.combine(day, time(0), tzinfo=LOCAL_TZ).timestamp())


def day_targets(config: CityConfig, planted_per_day: list[int]) -> list[int]:
    """Scans per day (planted rows included), summing exactly to `config.scans`."""
    weights = [WEEKDAY_WEIGHT[d.weekday()] for d in config.dates]
    background = apportion(config.scans - sum(planted_per_day), weights)
    return [int(b) + p for b, p in zip(background, planted_per_day, strict=True)]


def iter_visit_batches(city: City, config: CityConfig) -> Iterator[VisitBatch]:
    """Yield one `VisitBatch` per day, in day order; planted outbreak rows included."""
    if city.config != config:
        raise CityConfigError(
            "config must be the one the city was built from (build_city(config)); got a"
            " different config"
        )
    model = _Model(city)
    planted = [city.outbreak.count_on(d) for d in range(config.days)]
    targets = day_targets(config, planted)
    for d, day in enumerate(config.dates):
        rng = stream(config.seed, STREAM_DAYS, d)
        yield _day(model, config, d=d, day=day, n_background=targets[d] - planted[d], rng=rng)


@dataclass(slots=True)
class _Rows:
    """Candidate visits of one day; times are seconds after local midnight."""

    person: I64
    venue: I64  # row index into venues (venue_id - 1)
    cat: I64  # category index (code - 1)
    t: I64  # arrival
    dwell: I64  # intended stay
    step: I64  # stay plus travel to the next venue

    def take(self, index: npt.NDArray[np.intp] | npt.NDArray[np.bool_]) -> _Rows:
        return _Rows(*(getattr(self, f.name)[index] for f in fields(self)))

    def concat(self, other: _Rows) -> _Rows:
        return _Rows(
            *(np.concatenate([getattr(self, f.name), getattr(other, f.name)]) for f in fields(self))
        )  # fmt: skip


class _Model:
    """Per-city lookup tables the daily generator reuses (built once, ~0.2 s at city size)."""

    def __init__(self, city: City) -> None:
        venues, people = city.venues, city.people
        ward_idx = venues.ward.astype(np.int64) - 1
        per_ward = np.bincount(ward_idx, minlength=len(WARDS))
        self.venue_alias = GroupedAlias.build(venues.popularity, np.r_[0, np.cumsum(per_ward)])
        ward_pop = np.bincount(ward_idx, venues.popularity, minlength=len(WARDS))
        self.ward_p = ward_pop / ward_pop.sum()
        self.ward_cdf = np.cumsum(self.ward_p)
        self.ward_start = self.ward_cdf - self.ward_p
        self.venue_cat = venues.category.astype(np.int64) - 1
        self.home_idx = people.home_ward.astype(np.int64) - 1
        eligible = people.app_user.copy()
        eligible[city.outbreak.reserved] = False
        self.eligible = np.flatnonzero(eligible).astype(np.int64)
        activity = people.activity[self.eligible]
        self.activity_p = activity / activity.sum()
        self.activity = people.activity
        self.n_people = len(people)
        self.activity_cdf = np.cumsum(self.activity_p)
        self.arrivals = arrival_sampler()
        self.venue_category = venues.category
        self.plan = city.outbreak

    def planted_arrays(self, day: int) -> tuple[I64, I64, I64, I64, npt.NDArray[np.bool_]]:
        """person, venue row, t_in, t_out (local seconds) and has_checkout of planted rows."""
        rows = self.plan.visits_on(day)
        return (
            np.array([v.person for v in rows], dtype=np.int64),
            np.array([v.venue - 1 for v in rows], dtype=np.int64),
            np.array([v.t_in_s for v in rows], dtype=np.int64),
            np.array([v.t_out_s for v in rows], dtype=np.int64),
            np.array([v.has_checkout for v in rows], dtype=bool),
        )

    def candidates(self, person: I64, home_share: float, rng: np.random.Generator) -> _Rows:
        """Venue, arrival and stay for each row of `person` (steps 2 and 3)."""
        m = len(person)
        ward = self.home_idx[person]
        away = np.flatnonzero(rng.random(m) >= home_share)
        if len(away):
            home = ward[away]
            # uniform over [0, 1) minus the home ward's slice of the ward CDF
            v = rng.random(len(away)) * (1.0 - self.ward_p[home])
            v += np.where(v >= self.ward_start[home], self.ward_p[home], 0.0)
            ward[away] = np.minimum(np.searchsorted(self.ward_cdf, v, side="right"), len(WARDS) - 1)
        venue = self.venue_alias.sample(ward, rng)
        cat = self.venue_cat[venue]
        t = sample_arrivals(self.arrivals, cat, rng)
        dwell = sample_dwell(cat, rng)
        return _Rows(person, venue, cat, t, dwell, dwell + sample_travel(m, rng))

    def absent_people(self, present: I64, m: int, rng: np.random.Generator) -> I64:
        """Up to `m` eligible people with no visit yet today, drawn by activity.

        Weighted sampling without replacement by Efraimidis-Spirakis keys log(u) / w: the
        `m` largest keys are the sample (one vectorised pass instead of m draws).
        """
        seen = np.zeros(self.n_people, dtype=bool)
        seen[present] = True
        absent = self.eligible[~seen[self.eligible]]
        if len(absent) <= m:
            return absent
        keys = np.log(rng.random(len(absent))) / self.activity[absent]
        picked: I64 = np.sort(absent[np.argpartition(-keys, m - 1)[:m]])
        return picked

    def top_up_people(self, m: int, attempt: int, rng: np.random.Generator) -> I64:
        """Extra visitors: by activity first; uniformly later so heavy users cannot jam it."""
        if attempt < 2:
            pick = np.searchsorted(self.activity_cdf, rng.random(m) * self.activity_cdf[-1])
            people: I64 = self.eligible[np.minimum(pick, len(self.eligible) - 1)]
        else:
            people = self.eligible[rng.integers(0, len(self.eligible), m)]
        return people


def _schedule(rows: _Rows) -> _Rows:
    """Sort by (person, arrival), push visits to be sequential, drop those past closing."""
    # rows arrive (nearly) grouped by person, so this stable sort is close to linear
    order = np.argsort(rows.person * DAY_S + rows.t, kind="stable")
    rows = rows.take(order)
    n = len(rows.t)
    if n == 0:
        return rows
    first = np.empty(n, dtype=bool)
    first[0] = True
    np.not_equal(rows.person[1:], rows.person[:-1], out=first[1:])
    group = np.cumsum(first) - 1
    before = np.cumsum(rows.step) - rows.step  # exclusive prefix sum over all rows
    group_start = np.flatnonzero(first)
    prefix = before - before[group_start][group]  # ... restarted at each person
    # segmented running max: offset each person's values above all earlier persons'
    span = int(prefix.max()) + DAY_S + 1
    lift = group * span
    start = np.maximum.accumulate(rows.t - prefix + lift) - lift + prefix
    rows.t = start
    return rows.take(start + MIN_VISIT_S <= CLOSES_S[rows.cat])


def _background(model: _Model, config: CityConfig, n: int, rng: np.random.Generator) -> _Rows:
    """Exactly `n` non-overlapping visits by eligible app users."""
    lam = model.activity_p * (n * OVERSAMPLE)
    person = np.repeat(model.eligible, rng.poisson(lam))
    rows = _schedule(model.candidates(person, config.home_ward_share, rng))
    attempt = 0
    while len(rows.t) < n:
        short = n - len(rows.t)
        fresh = model.absent_people(rows.person, short, rng)
        if len(fresh) == short:
            # a person's only visit of the day always fits: no re-scheduling needed
            rows = rows.concat(model.candidates(fresh, config.home_ward_share, rng))
            break
        if attempt == _MAX_ROUNDS:
            raise RuntimeError(f"could not schedule {n} visits in one day; raise adults or days")
        extra = model.top_up_people(short + short // 4 + 32, attempt, rng)
        rows = _schedule(rows.concat(model.candidates(extra, config.home_ward_share, rng)))
        attempt += 1
    surplus = len(rows.t) - n
    if surplus:
        keep = np.ones(len(rows.t), dtype=bool)
        keep[rng.choice(len(rows.t), surplus, replace=False)] = False
        rows = rows.take(keep)
    return rows


def _day(
    model: _Model,
    config: CityConfig,
    *,
    d: int,
    day: date,
    n_background: int,
    rng: np.random.Generator,
) -> VisitBatch:
    """Background rows plus the planted rows of day index `d`, as a sorted batch."""
    rows = _background(model, config, n_background, rng)
    t_out = np.minimum(rows.t + rows.dwell, CLOSES_S[rows.cat])
    has_checkout = rng.random(len(rows.t)) >= config.missing_checkout_share
    planted = model.planted_arrays(d)
    person = np.concatenate([rows.person, planted[0]])
    venue_idx = np.concatenate([rows.venue, planted[1]])
    t_in = np.concatenate([rows.t, planted[2]])
    t_out = np.concatenate([t_out, planted[3]])
    has_checkout = np.concatenate([has_checkout, planted[4]])
    n = len(t_in)
    # unique sort key: arrival, then row (rows are in person order, planted last)
    order = (np.sort(t_in * max(n, 1) + np.arange(n)) % max(n, 1)).astype(np.intp)
    midnight = local_midnight(day)
    venue_idx = venue_idx[order]
    return VisitBatch(
        day=day,
        person=person[order].astype(np.uint32),
        venue=(venue_idx + 1).astype(np.uint32),
        t_in=(t_in[order] + midnight).astype(np.uint32),
        t_out=(t_out[order] + midnight).astype(np.uint32),
        has_checkout=has_checkout[order],
        category=model.venue_category[venue_idx],
    )
