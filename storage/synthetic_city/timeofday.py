"""When visits happen and how long they last, per venue category.

Arrival times follow a per-category profile over the 1,440 minutes of the local day: a
small flat base plus Gaussian peaks (breakfast café, lunch and dinner at restaurants, shift
starts at factories, evenings at karaoke), masked to the category's opening hours. Dwell is
lognormal around the category's `median_dwell_min` from `storage.domain`, tight for shift
work (offices, schools, factories) and wide for errands.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from storage.domain import CATEGORIES
from storage.synthetic_city.sampling import GroupedAlias

MINUTES_PER_DAY = 24 * 60
DAY_S = 24 * 3600
#: arrivals are drawn no later than this before closing, so every visit can last a while
LAST_ENTRY_BEFORE_CLOSE_MIN = 5
#: shortest visit the generator keeps (a scan in and straight out is still >= 2 minutes)
MIN_VISIT_S = 120

#: slug -> (flat base weight, ((peak hour, sd hours, weight), ...))
_PROFILES: dict[str, tuple[float, tuple[tuple[float, float, float], ...]]] = {
    "market": (0.3, ((6.5, 1.0, 3.0), (16.5, 1.0, 1.0))),
    "supermarket": (0.5, ((11.0, 1.5, 1.0), (18.5, 1.5, 2.0))),
    "restaurant": (0.3, ((7.0, 0.8, 1.2), (12.0, 0.8, 3.0), (18.75, 1.0, 3.0))),
    "cafe": (0.4, ((7.25, 1.0, 3.0), (15.0, 1.5, 1.2), (20.0, 1.2, 1.5))),
    "karaoke": (0.3, ((20.5, 1.5, 3.0),)),
    "shop": (0.6, ((10.0, 2.0, 1.0), (18.0, 1.5, 1.5))),
    "office": (0.1, ((7.75, 0.5, 6.0), (13.0, 0.5, 1.0))),
    "school": (0.1, ((6.75, 0.4, 6.0), (13.25, 0.5, 2.0))),
    "hospital": (0.2, ((8.5, 1.5, 3.0), (14.0, 1.5, 1.5))),
    "worship": (0.3, ((5.5, 0.7, 2.0), (18.5, 1.0, 2.0))),
    "factory": (0.05, ((6.5, 0.5, 4.0), (14.5, 0.5, 3.0), (22.5, 0.5, 2.0))),
    "pharmacy": (0.6, ((9.0, 2.0, 1.0), (19.0, 1.5, 1.2))),
    "salon": (0.5, ((10.0, 2.0, 1.0), (16.0, 2.0, 1.0))),
    "gym": (0.3, ((6.0, 0.8, 2.0), (18.0, 1.2, 2.5))),
    "hotel": (0.3, ((14.0, 2.0, 1.0), (21.0, 2.0, 2.0))),
    "government": (0.4, ((8.0, 1.0, 2.0), (14.0, 1.0, 1.5))),
    "bank": (0.5, ((9.0, 1.5, 2.0), (14.0, 1.2, 1.5))),
    "transport": (0.5, ((6.5, 1.2, 2.0), (17.0, 1.5, 2.0))),
}

#: lognormal sigma of dwell: shift work is regular, errands vary a lot
_TIGHT = {"office": 0.2, "school": 0.2, "factory": 0.2, "hotel": 0.4}
_DEFAULT_SIGMA = 0.55

#: arrays indexed by category index (code - 1)
OPENS_S = np.array([c.opens_min * 60 for c in CATEGORIES], dtype=np.int64)
CLOSES_S = np.array([min(c.closes_min, MINUTES_PER_DAY) * 60 for c in CATEGORIES], dtype=np.int64)
MEDIAN_DWELL_S = np.array([c.median_dwell_min * 60 for c in CATEGORIES], dtype=np.float64)
DWELL_SIGMA = np.array([_TIGHT.get(c.slug, _DEFAULT_SIGMA) for c in CATEGORIES])
#: cap at 4x the median (and 30 min at least): nobody spends a day at a pharmacy
MAX_DWELL_S = np.maximum(4.0 * MEDIAN_DWELL_S, 1800.0)


def minute_weights() -> npt.NDArray[np.float64]:
    """(categories, 1440) arrival weight per local minute, zero outside opening hours."""
    minutes = np.arange(MINUTES_PER_DAY, dtype=np.float64)
    hours = minutes / 60.0
    # people sleep: every category is quieter from 23:00 to 05:00
    night = np.where((hours < 5.0) | (hours >= 23.0), 0.15, 1.0)
    out = np.zeros((len(CATEGORIES), MINUTES_PER_DAY))
    for i, cat in enumerate(CATEGORIES):
        base, peaks = _PROFILES[cat.slug]
        w = np.full(MINUTES_PER_DAY, base)
        for centre, sd, weight in peaks:
            w += weight * np.exp(-0.5 * ((hours - centre) / sd) ** 2)
        last_entry = min(cat.closes_min, MINUTES_PER_DAY) - LAST_ENTRY_BEFORE_CLOSE_MIN
        w[(minutes < cat.opens_min) | (minutes >= last_entry)] = 0.0
        out[i] = w * night
    return out


def arrival_sampler() -> GroupedAlias:
    """Alias tables over minutes, one group per category (group = category index)."""
    weights = minute_weights()
    offsets = np.arange(len(CATEGORIES) + 1, dtype=np.int64) * MINUTES_PER_DAY
    return GroupedAlias.build(weights.ravel(), offsets)


def sample_arrivals(
    sampler: GroupedAlias, cat_index: npt.NDArray[np.integer], rng: np.random.Generator
) -> npt.NDArray[np.int64]:
    """Arrival second of the local day for each visit, inside its category's opening hours."""
    slot = sampler.sample(cat_index, rng)
    minute = slot - cat_index.astype(np.int64) * MINUTES_PER_DAY
    return minute * 60 + rng.integers(0, 60, len(slot), dtype=np.int64)


def sample_dwell(
    cat_index: npt.NDArray[np.integer], rng: np.random.Generator
) -> npt.NDArray[np.int64]:
    """Intended stay in seconds: lognormal around the category median, clipped to a range."""
    z = rng.standard_normal(len(cat_index))
    dwell = MEDIAN_DWELL_S[cat_index] * np.exp(DWELL_SIGMA[cat_index] * z)
    out: npt.NDArray[np.int64] = np.clip(dwell, MIN_VISIT_S, MAX_DWELL_S[cat_index]).astype(
        np.int64
    )
    return out


def sample_travel(n: int, rng: np.random.Generator) -> npt.NDArray[np.int64]:
    """Seconds between leaving one venue and scanning in at the next: 3 min + Exp(10 min)."""
    return (180.0 + rng.exponential(600.0, n)).astype(np.int64)
