"""SocioPatterns face-to-face contacts -> true contact time per pair, and co-location visits.

The contact files are person-person proximity (~1.5 m) in 20-second windows, not check-ins,
so two things are derived from them (each data folder's README allows both):
- the truth: a pair's cumulative face-to-face seconds (20 s per row; rows are unique);
- visits a QR system could have recorded, in two venue models:
  - `presence`: one venue (the ward / the conference); a person checks in at the start of
    their first contact and out at the end of their last, a new stay starting after a gap of
    at least `gap_s` without any contact (a shift, a conference session);
  - `rooms`: one venue per connected group of the contact graph in each `window_s` slice of
    time (a "room" that exists for one slice); a person stays from their first to their last
    contact in that slice. These rooms are cut out of the contacts themselves, so this model
    is an optimistic bound of what room-level QR codes could give, not an independent test.
Stays are split at storage's local (UTC+7) midnight into [a, midnight - 1) and [midnight, b),
because a check-out on the next local day would be filed apart from its check-in (storage
pairs scans per local day); the second lost per split is lost on both sides of the
engine-vs-brute-force comparison, and is below the 20-s resolution of the truth.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from storage.records import day_bounds, local_day

WINDOW_S: Final = 20
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Contacts:
    """Contact windows [t - 20 s, t): end time t (epoch s), persons i < j (data set ids)."""

    t: I64
    i: I64
    j: I64

    def __len__(self) -> int:
        return len(self.t)

    @classmethod
    def of(cls, t: I64, i: I64, j: I64) -> Contacts:
        """Pairs made unordered, self-contacts and repeated rows dropped, sorted by time."""
        t, i, j = (np.asarray(x, dtype=np.int64) for x in (t, i, j))
        keep = i != j
        lo, hi = np.minimum(i, j)[keep], np.maximum(i, j)[keep]
        rows = np.unique(np.stack([t[keep], lo, hi], axis=1), axis=0)
        return cls(rows[:, 0].copy(), rows[:, 1].copy(), rows[:, 2].copy())

    def people(self) -> I64:
        return np.unique(np.concatenate([self.i, self.j]))


def read_hospital(path: Path, origin: int) -> Contacts:
    """`t i j Si Sj` with a header; t = end of the 20-s window, seconds after `origin`."""
    rows = np.loadtxt(path, skiprows=1, usecols=(0, 1, 2), dtype=np.int64, ndmin=2)
    return Contacts.of(origin + rows[:, 0], rows[:, 1], rows[:, 2])


def read_steps(path: Path, origin: int) -> Contacts:
    """`i j step`, no header; step k = the window [origin + 20 k, origin + 20 k + 20)."""
    rows = np.loadtxt(path, dtype=np.int64, ndmin=2)
    return Contacts.of(origin + WINDOW_S * (rows[:, 2] + 1), rows[:, 0], rows[:, 1])


def true_seconds(contacts: Contacts) -> dict[tuple[int, int], int]:
    """(i, j) with i < j -> cumulative face-to-face seconds."""
    both = np.stack([contacts.i, contacts.j], axis=1)
    pairs, counts = np.unique(both, axis=0, return_counts=True)
    return {(int(a), int(b)): WINDOW_S * int(n) for (a, b), n in zip(pairs, counts, strict=True)}


@dataclass(frozen=True)
class Visits:
    """Visit rows to import: person (data set id), venue (1..), [t_in, t_out) epoch seconds."""

    person: I64
    venue: I64
    t_in: I64
    t_out: I64

    def __len__(self) -> int:
        return len(self.person)


def _both_sides(contacts: Contacts) -> tuple[I64, I64]:
    """(person, window end) of every contact, once per side, sorted by person then time."""
    person = np.concatenate([contacts.i, contacts.j])
    t = np.concatenate([contacts.t, contacts.t])
    order = np.lexsort((t, person))
    return person[order], t[order]


def _stays(person: I64, t: I64, new: npt.NDArray[np.bool_]) -> tuple[I64, I64, I64]:
    """Group sorted (person, t) rows where `new` starts a group: (person, first t, last t)."""
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], len(person))[: len(starts)] - 1
    return person[starts], t[starts], t[ends]


def presence(contacts: Contacts, gap_s: int) -> Visits:
    """One venue; a stay per run of contacts without a gap of `gap_s` or more."""
    person, t = _both_sides(contacts)
    new = np.ones(len(person), dtype=np.bool_)
    # a gap is the time between one window's end and the next window's start
    new[1:] = (person[1:] != person[:-1]) | (t[1:] - WINDOW_S - t[:-1] >= gap_s)
    p, first, last = _stays(person, t, new)
    return split_at_midnight(Visits(p, np.ones(len(p), np.int64), first - WINDOW_S, last))


def _components(n: int, a: I64, b: I64) -> I64:
    """Connected-component label (smallest member) of nodes 0..n-1 given edges a-b."""
    label = np.arange(n, dtype=np.int64)
    while True:  # min-label propagation; contact graphs of one slice are tiny and shallow
        low = np.minimum(label[a], label[b])
        nxt = label.copy()
        np.minimum.at(nxt, a, low)
        np.minimum.at(nxt, b, low)
        nxt = nxt[nxt]
        if np.array_equal(nxt, label):
            return label
        label = nxt


def rooms(contacts: Contacts, window_s: int) -> Visits:
    """A venue per connected group of each `window_s` slice; a stay per (person, slice).

    `window_s` is a multiple of 20 s and slices start at multiples of it (epoch time), so a
    20-s contact window never straddles two slices.
    """
    people = contacts.people()
    if not len(contacts):
        return split_at_midnight(Visits(people, people, people, people))
    slot = (contacts.t - WINDOW_S) // window_s
    room_of: dict[tuple[int, int], tuple[int, int]] = {}  # (person, slice) -> (slice, group)
    bounds = np.flatnonzero(np.r_[True, slot[1:] != slot[:-1], True])
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        a = np.searchsorted(people, contacts.i[lo:hi])
        b = np.searchsorted(people, contacts.j[lo:hi])
        label = _components(len(people), a, b)
        s = int(slot[lo])
        for m in np.unique(np.concatenate([a, b])).tolist():
            room_of[(int(people[m]), s)] = (s, int(label[m]))
    dense = {room: k + 1 for k, room in enumerate(sorted(set(room_of.values())))}
    person, t = _both_sides(contacts)
    t_slot = (t - WINDOW_S) // window_s
    new = np.ones(len(person), dtype=np.bool_)
    new[1:] = (person[1:] != person[:-1]) | (t_slot[1:] != t_slot[:-1])
    p, first, last = _stays(person, t, new)
    venue = [dense[room_of[(x, s)]] for x, s in zip(p.tolist(), t_slot[new].tolist(), strict=True)]
    return split_at_midnight(Visits(p, np.asarray(venue, np.int64), first - WINDOW_S, last))


def split_at_midnight(visits: Visits) -> Visits:
    """Every stay cut into [a, midnight - 1) and [midnight, b) at each local midnight."""
    out = list(_split_rows(visits))
    if not out:
        z = np.zeros(0, np.int64)
        return Visits(z, z, z, z)
    arr = np.asarray(out, dtype=np.int64)
    keep = arr[:, 3] > arr[:, 2]
    arr = arr[keep]
    return Visits(arr[:, 0].copy(), arr[:, 1].copy(), arr[:, 2].copy(), arr[:, 3].copy())


def _split_rows(visits: Visits) -> Iterator[tuple[int, int, int, int]]:
    first_day = local_day(visits.t_in.astype(np.uint32))
    last_day = local_day(visits.t_out.astype(np.uint32))  # the check-out's day counts
    rows = zip(
        visits.person.tolist(),
        visits.venue.tolist(),
        visits.t_in.tolist(),
        visits.t_out.tolist(),
        first_day.tolist(),
        last_day.tolist(),
        strict=True,
    )
    for p, v, a, b, d0, d1 in rows:
        for day in range(d0, d1 + 1):
            start, end = day_bounds(day)
            yield p, v, max(a, start), min(b, end - 1) if day < d1 else b
