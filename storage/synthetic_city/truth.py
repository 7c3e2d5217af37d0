"""Ground truth of the planted outbreak, computed by brute force over every visit.

The plan says who was *placed* near each F0, but random background visitors can overlap an
F0 too, and a tracing engine must find them as well. So the expected contacts are not read
from the plan: `TruthCollector` sees every generated batch and, for each F0 visit, scans all
rows at that venue on that day for a positive overlap of half-open intervals
``[t_in, t_out)`` (true departures, also where the check-out was never scanned). Touching
intervals (``t_in == other.t_out``) overlap by zero and are therefore not contacts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np

from storage.synthetic_city.city import City
from storage.synthetic_city.config import GENERATOR_VERSION
from storage.synthetic_city.outbreak import PlantedVisit
from storage.synthetic_city.visits import VisitBatch, local_midnight


@dataclass(frozen=True, slots=True)
class TruthVisit:
    """A visit in absolute time (UTC epoch seconds); `t_out` is the true departure."""

    venue: int
    day: date
    t_in: int
    t_out: int
    has_checkout: bool


@dataclass(frozen=True, slots=True)
class SharedVisit:
    """One contact visit overlapping one F0 visit, with the overlap `[start, end)`."""

    venue: int
    day: date
    t_in: int
    t_out: int
    has_checkout: bool
    overlap_start: int
    overlap_end: int
    overlap_s: int


@dataclass(frozen=True, slots=True)
class Contact:
    """Someone who overlapped the F0; `role` names the planted intent (None: background)."""

    person: int
    home_ward: int
    planted: bool
    role: str | None
    total_overlap_s: int
    visits: list[SharedVisit]


@dataclass(frozen=True, slots=True)
class CaseTruth:
    """One F0 and its expected contacts, sorted by total overlap desc, then person."""

    person: int
    home_ward: int
    sample_date: date
    onset_date: date | None
    visits: list[TruthVisit]
    contacts: list[Contact]
    #: planted people placed next to the F0 who must NOT be contacts (touching intervals)
    non_contacts: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ChainTruth:
    """F0 → F1 → F2: the F1's later visit and everyone who overlapped it there."""

    case: int
    f0: int
    f1: int
    f2: int
    f1_visit: TruthVisit
    co_visitors: list[Contact]


@dataclass(frozen=True, slots=True)
class OutbreakTruth:
    """What a correct tracing engine must report for the planted cases."""

    generator_version: str
    seed: int
    cases: list[CaseTruth]
    chain: ChainTruth | None

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types: dates as ISO strings, person ids as ints."""
        return _jsonable(asdict(self))  # type: ignore[no-any-return]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OutbreakTruth:
        """Inverse of `to_json`."""
        chain = data["chain"]
        return cls(
            generator_version=data["generator_version"],
            seed=data["seed"],
            cases=[
                CaseTruth(
                    person=c["person"],
                    home_ward=c["home_ward"],
                    sample_date=date.fromisoformat(c["sample_date"]),
                    onset_date=date.fromisoformat(c["onset_date"]) if c["onset_date"] else None,
                    visits=[_visit(v) for v in c["visits"]],
                    contacts=[_contact(x) for x in c["contacts"]],
                    non_contacts={int(k): v for k, v in c["non_contacts"].items()},
                )
                for c in data["cases"]
            ],
            chain=None
            if chain is None
            else ChainTruth(
                case=chain["case"],
                f0=chain["f0"],
                f1=chain["f1"],
                f2=chain["f2"],
                f1_visit=_visit(chain["f1_visit"]),
                co_visitors=[_contact(x) for x in chain["co_visitors"]],
            ),
        )


class TruthCollector:
    """Feed it every `VisitBatch` of a city (any order); `finish()` gives the truth."""

    def __init__(self, city: City) -> None:
        self.city = city
        self.start = city.config.start_date
        plan = city.outbreak
        self.targets: list[tuple[int, TruthVisit]] = []  # (owner key, interval to probe)
        for case in plan.cases:
            self.targets += [(case.index, self._absolute(v)) for v in case.visits]
        if plan.chain is not None:
            self.targets.append((-1, self._absolute(plan.chain.f1_visit)))
        self.owner_person = {c.index: c.person for c in plan.cases}
        if plan.chain is not None:
            self.owner_person[-1] = plan.chain.f1
        self.found: dict[int, list[tuple[int, SharedVisit]]] = {k: [] for k in self.owner_person}
        self.roles = {(v.person, v.venue, v.day): v.role for v in plan.visits}
        self.reserved = set(plan.reserved.tolist())

    def _absolute(self, v: PlantedVisit) -> TruthVisit:
        midnight = local_midnight(self.start + timedelta(days=v.day))
        return TruthVisit(
            v.venue,
            self.start + timedelta(days=v.day),
            midnight + v.t_in_s,
            midnight + v.t_out_s,
            v.has_checkout,
        )

    def observe(self, batch: VisitBatch) -> None:
        """Record every row of `batch` overlapping a probed interval (vectorised per probe)."""
        for owner, probe in self.targets:
            if probe.day != batch.day:
                continue
            at = np.flatnonzero(batch.venue == probe.venue)
            t_in = batch.t_in[at].astype(np.int64)
            t_out = batch.t_out[at].astype(np.int64)
            start = np.maximum(t_in, probe.t_in)
            end = np.minimum(t_out, probe.t_out)
            hit = (end > start) & (batch.person[at] != self.owner_person[owner])
            for i in np.flatnonzero(hit):
                row = int(at[i])
                self.found[owner].append(
                    (
                        int(batch.person[row]),
                        SharedVisit(
                            venue=probe.venue,
                            day=batch.day,
                            t_in=int(t_in[i]),
                            t_out=int(t_out[i]),
                            has_checkout=bool(batch.has_checkout[row]),
                            overlap_start=int(start[i]),
                            overlap_end=int(end[i]),
                            overlap_s=int(end[i] - start[i]),
                        ),
                    )
                )

    def _contacts(self, owner: int) -> list[Contact]:
        by_person: dict[int, list[SharedVisit]] = {}
        for person, one in self.found[owner]:
            by_person.setdefault(person, []).append(one)
        out = []
        for person, shared in by_person.items():
            shared.sort(key=lambda s: (s.t_in, s.venue))
            first = shared[0]
            role = self.roles.get((person, first.venue, (first.day - self.start).days))
            out.append(
                Contact(
                    person=person,
                    home_ward=int(self.city.people.home_ward[person]),
                    planted=person in self.reserved,
                    role=role,
                    total_overlap_s=sum(s.overlap_s for s in shared),
                    visits=shared,
                )
            )
        out.sort(key=lambda c: (-c.total_overlap_s, c.person))
        return out

    def finish(self) -> OutbreakTruth:
        """The truth, once every batch has been observed."""
        plan = self.city.outbreak
        cases = []
        for case in plan.cases:
            contacts = self._contacts(case.index)
            found = {c.person for c in contacts}
            visit_keys = {(v.venue, v.day) for v in case.visits}
            non_contacts = {
                v.person: v.role
                for v in plan.visits
                if v.case == case.index
                and (v.venue, v.day) in visit_keys
                and v.role != "f0"
                and v.person not in found
            }
            cases.append(
                CaseTruth(
                    person=case.person,
                    home_ward=case.home_ward,
                    sample_date=self.start + timedelta(days=case.sample_day),
                    onset_date=None
                    if case.onset_day is None
                    else self.start + timedelta(days=case.onset_day),
                    visits=[self._absolute(v) for v in case.visits],
                    contacts=contacts,
                    non_contacts=dict(sorted(non_contacts.items())),
                )
            )
        chain = None
        if plan.chain is not None:
            c = plan.chain
            chain = ChainTruth(
                c.case, c.f0, c.f1, c.f2, self._absolute(c.f1_visit), self._contacts(-1)
            )
        return OutbreakTruth(GENERATOR_VERSION, self.city.config.seed, cases, chain)


def _jsonable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _visit(v: dict[str, Any]) -> TruthVisit:
    return TruthVisit(
        v["venue"], date.fromisoformat(v["day"]), v["t_in"], v["t_out"], v["has_checkout"]
    )


def _contact(c: dict[str, Any]) -> Contact:
    shared = [SharedVisit(**{**s, "day": date.fromisoformat(s["day"])}) for s in c["visits"]]
    return Contact(
        c["person"], c["home_ward"], c["planted"], c["role"], c["total_overlap_s"], shared
    )
