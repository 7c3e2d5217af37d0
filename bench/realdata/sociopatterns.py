"""SocioPatterns contacts as a reference ranking: does venue co-presence rank face-to-face time?

Truth: each pair's cumulative face-to-face seconds (bench.realdata.contacts). The contacts
are turned into visits in two venue models (one venue with stays; contact-group "rooms" per
time slice), imported through `storage.importer` (what `qrtrace import` runs with
`--map person=person,venue=venue,t_in=t_in,t_out=t_out`), sealed, and every person is traced
as a case with `plain` (`checkout=stored`: overlap seconds of the stored stays) over the
whole data span. Each person's ranked list is compared with the truth ranking
(bench.realdata.ranking), and the engine's overlap per contact with a brute force over the
stored visits (exactness).

Clock: the wall-clock times are kept and placed in the city's zone (UTC+7), so storage's
local day is the ward's or the conference's day; only durations and order matter here.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bench.realdata.contacts import Contacts, Visits, presence, read_hospital, read_steps, rooms
from bench.realdata.contacts import true_seconds as truth_of
from bench.realdata.pairs import overlapping_pairs
from bench.realdata.ranking import Agreement, agreement
from bench.realdata.report import Section, ms_percentiles, pct
from bench.realdata.workspace import EvalStore, stored_visits
from storage.importer import ImportOptions
from tracing.engine import Window
from tracing.rules import get_rule_set

HOSPITAL_ORIGIN: Final = 1_291_615_200  # 2010-12-06T13:00 wall clock, at UTC+7
HT09_ORIGIN: Final = 1_246_237_200  # 2009-06-29T08:00 wall clock, at UTC+7 (copy has no clock)
STORED: Final[dict[str, str | int | float]] = {"checkout": "stored"}
KS: Final = (1, 5, 10)
Model = tuple[str, Callable[[Contacts, int], Visits], int]
MODELS: Final[tuple[Model, ...]] = (
    ("one venue, stays split after >= 15 min without contact", presence, 900),
    ("one venue, stays split after >= 2 h without contact (shifts)", presence, 7200),
    ("rooms = contact groups per 60-min slice", rooms, 3600),
    ("rooms = contact groups per 15-min slice", rooms, 900),
)


def _mean(values: list[float]) -> str:
    return f"{statistics.fmean(values):.2f}" if values else "n/a"


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}" if values else "n/a"


def _brute_overlap(cols: dict[str, np.ndarray]) -> dict[int, dict[int, int]]:
    """person -> contact -> overlap seconds over the stored visits (independent of the engine)."""
    i, j = overlapping_pairs(cols["venue"], cols["t_in"], cols["t_out"], cols["person"])
    overlap = np.minimum(cols["t_out"][i], cols["t_out"][j]) - np.maximum(
        cols["t_in"][i], cols["t_in"][j]
    )
    out: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for a, b, s in zip(
        cols["person"][i].tolist(), cols["person"][j].tolist(), overlap.tolist(), strict=True
    ):
        out[a][b] += s
        out[b][a] += s
    return {p: dict(c) for p, c in out.items()}


def evaluate(
    contacts: Contacts,
    visits: Visits,
    prefix: str,
    work: Path,
    latencies: list[float],
) -> tuple[list[Agreement], bool, int]:
    """Import `visits`, trace everybody; (agreement per person, engine = brute force, stored)."""
    people = contacts.people().tolist()
    refs = [f"{prefix}{p}" for p in visits.person.tolist()]
    path = work / "visits.parquet"
    pq.write_table(
        pa.table({
            "person": pa.array(refs, pa.string()),
            "venue": pa.array(visits.venue, pa.uint32()),
            "t_in": pa.array(visits.t_in, pa.int64()),
            "t_out": pa.array(visits.t_out, pa.int64()),
        }),
        path,
    )  # fmt: skip
    truth: dict[int, dict[int, int]] = defaultdict(dict)
    for (a, b), s in truth_of(contacts).items():
        truth[a][b] = s
        truth[b][a] = s
    with EvalStore(work / "store") as store:
        summary = store.import_file(path, ImportOptions(time_unit="s"))
        assert summary.rejected == 0, summary.first_rejects[:3]
        store.seal()
        cols = stored_visits(store.parts())
        brute = _brute_overlap(cols)
        ids = store.person_ids([f"{prefix}{p}" for p in people]).tolist()
        back = dict(zip(ids, people, strict=True))
        engine = store.engine()
        rules = get_rule_set("plain", STORED)
        window = Window(int(visits.t_in.min()), int(visits.t_out.max()) + 1)
        engine.trace_case(ids[0], window, rules)  # JIT and index build outside the timings
        results, exact = [], True
        for pid, person in zip(ids, people, strict=True):
            started = time.perf_counter()
            table = engine.trace_case(pid, window, rules).table
            latencies.append(time.perf_counter() - started)
            listed = [back[c] for c in table.person.tolist()]
            overlap = table.overlap_s.tolist()
            exact &= dict(zip(table.person.tolist(), overlap, strict=True)) == brute.get(pid, {})
            results.append(
                agreement(truth[person], listed, overlap, population=len(people) - 1, ks=KS)
            )
    return results, exact, len(cols["person"])


def run_contacts(title: str, source: str, contacts: Contacts, prefix: str, work: Path) -> Section:
    section = Section(title)
    people = contacts.people()
    pairs = truth_of(contacts)
    per_person = np.bincount(
        np.searchsorted(people, np.array(list(pairs)).reshape(-1)), minlength=len(people)
    )
    span_h = (int(contacts.t.max()) - int(contacts.t.min()) + 20) / 3600
    section.add(
        f"Source: {source}: {len(contacts):,} contact windows of 20 s, {len(people)} people, "
        f"{len(pairs):,} pairs in contact over {span_h:.0f} h; true contacts per person: median "
        f"{statistics.median(per_person.tolist()):g} of {len(people) - 1} others.",
        "",
        "Truth = each pair's cumulative face-to-face seconds. Visits derived from the contacts "
        "(bench/realdata/contacts.py): *one venue*, check-in at a person's first contact and "
        "check-out at their last, a new stay after a gap without contact; *rooms*, one venue "
        "per connected contact group in each time slice, a stay from a person's first to last "
        "contact in it (rooms come from the contacts themselves: an optimistic bound of "
        "room-level QR codes, not an independent test). Imported, sealed, every person traced "
        "with `plain` (`checkout=stored`), ranked by overlap seconds; mean over the "
        f"{len(people)} people (chance = the same recall from a random order of everybody):",
        "",
    )
    rows = []
    latencies: list[float] = []
    for name, model, parameter in MODELS:
        started = time.perf_counter()
        visits = model(contacts, parameter)
        folder = work / f"{model.__name__}-{parameter}"
        folder.mkdir()
        results, exact, stored = evaluate(contacts, visits, prefix, folder, latencies)
        rho = [r.rho for r in results if r.rho is not None]
        tau = [r.tau for r in results if r.tau is not None]
        listed_true = sum(r.listed_true for r in results)
        true_total = sum(r.true_contacts for r in results)
        recall = {k: [r.recall[k] for r in results if k in r.recall] for k in KS}
        chance = {k: [r.chance[k] for r in results if k in r.chance] for k in KS}
        rows.append(
            [
                name,
                f"{stored:,}",
                f"{statistics.median([r.listed for r in results]):g}",
                pct(listed_true, true_total),
                f"{_mean(rho)} / {_median(rho)}",
                f"{_mean(tau)} / {_median(tau)}",
                *[f"{_mean(recall[k])} ({_mean(chance[k])})" for k in KS],
                "**yes**" if exact else "**NO**",
            ]
        )
        section.figures[f"{model.__name__}_{parameter}"] = {
            "rho_mean": statistics.fmean(rho) if rho else None,
            "recall": {k: statistics.fmean(v) for k, v in recall.items() if v},
            "exact": exact,
        }
        section.timings.append(
            f"{name}: build + import + seal + trace {time.perf_counter() - started:.2f} s"
        )
    section.table(
        [
            "visits from contacts",
            "visits stored",
            "listed contacts (median)",
            "true contacts listed",
            "Spearman rho mean / median",
            "Kendall tau-b mean / median",
            *[f"recall@{k} (chance)" for k in KS],
            "engine = brute force",
        ],
        rows,
    )
    section.add(
        "Limits: the truth is badge proximity (~1.5 m, facing), not sharing a room's air, so "
        "a venue model rightly lists more people, and ranks them by how long both were "
        "present rather than by face time; one-venue stays are guessed from when contacts "
        "happened (nobody scanned anything), so they miss presence between contacts; rooms "
        "are derived from the truth, and a slice's group joins everyone linked by a chain of "
        "contacts. "
        "rho and tau are over the union of true and listed contacts (0 where absent), "
        "undefined (left out) for a person with a single candidate."
    )
    section.timings.append(f"trace of each person as a case: {ms_percentiles(latencies)}")
    return section


def run_hospital(folder: Path, work: Path) -> Section:
    contacts = read_hospital(folder / "hospital-lyon-contacts.tsv", HOSPITAL_ORIGIN)
    return run_contacts(
        "SocioPatterns hospital ward (Lyon): venue co-presence vs face-to-face time",
        f"`{folder.name}/hospital-lyon-contacts.tsv` (ids re-indexed 0..74 by the copy)",
        contacts,
        "lyon-",
        work,
    )


def run_ht09(folder: Path, work: Path) -> Section:
    contacts = read_steps(folder / "ht09-contacts-steps.tsv", HT09_ORIGIN)
    return run_contacts(
        "SocioPatterns Hypertext 2009 conference: venue co-presence vs face-to-face time",
        f"`{folder.name}/ht09-contacts-steps.tsv` (20-s steps; step 0 placed at "
        "2009-06-29 08:00, the copy keeps no clock)",
        contacts,
        "ht09-",
        work,
    )
