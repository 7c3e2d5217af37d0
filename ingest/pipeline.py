"""From decoded columns to per-scan verdicts: check, pseudonymise, store, explain.

Transport-free on purpose: the gRPC servicer only decodes, awaits the store's future and
encodes; unit tests drive the same path without a network. The three steps are split so the
servicer can keep several batches in flight per stream (read ahead while earlier batches wait
for their group commit):

- `prepare` (event-loop thread; the caches are not thread-safe): venue signatures for the
  batch's distinct codes, person pseudonyms for the batch, the vectorised checks, and the
  storage records of the rows that passed;
- `submit`: hand those rows to the hot store's bounded queue (never blocks);
- `finish`: merge the store's ACCEPTED / DUPLICATE / CONFLICT with the check verdicts and
  format a field + reason for every rejected row.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Final, Protocol

import numpy as np
import numpy.typing as npt

from ingest.kernels import _pack, _settle
from ingest.pseudocache import PseudonymCache
from ingest.qrcode import QrVerifier
from ingest.validation import (
    WHY_VERDICT,
    Checked,
    Columns,
    Explainer,
    VenueFacts,
    Verdict,
    Why,
    check_scans,
)
from storage.directory import PersonDirectory
from storage.errors import InvalidIdentifierError
from storage.hotstore import HotStore
from storage.pseudonym import normalise_reference
from storage.records import RECORD_SIZE, ScanArray, empty_scans
from storage.venues import VenueArrays

U8 = npt.NDArray[np.uint8]
#: storage.dedupe.Verdict (ACCEPTED 0, DUPLICATE 1, CONFLICT 2) -> checkin.v1 Verdict
_FROM_STORE: Final = np.array(
    [Verdict.ACCEPTED, Verdict.DUPLICATE, Verdict.CONFLICT], dtype=np.uint8
)


_STORED: Final = (Verdict.ACCEPTED, Verdict.DUPLICATE)
_NO_ROWS: Final = np.zeros(0, np.intp)
_NO_STORE: Final = np.zeros(0, np.uint8)


class VenueSource(Protocol):
    """The part of `storage.venues.VenueRegistry` ingest reads."""

    def arrays(self) -> VenueArrays: ...


class ContactSink(Protocol):
    """Where contact phones go when this process does not own the person directory
    (an ingest process under the multi-process supervisor, `ingest.process`)."""

    def add_contacts(
        self, person_ids: npt.NDArray[np.uint64], references: list[str], phones: list[str]
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class Rejection:
    """One rejected row: index in its batch, verdict, field and reason."""

    index: int
    verdict: int
    field: str
    reason: str


@dataclass(slots=True)
class Outcome:
    """Per-scan verdicts of one batch plus counts and the rejected rows explained."""

    verdicts: U8
    rejections: list[Rejection]
    accepted: int
    duplicate: int

    @property
    def rejected(self) -> int:
        return len(self.verdicts) - self.accepted - self.duplicate


@dataclass(slots=True)
class Prepared:
    """A checked batch: the rows to store and what is needed to explain the others."""

    columns: Columns
    checked: Checked
    explain: Explainer
    rows: npt.NDArray[np.intp]
    scans: ScanArray


class Ingestor:
    """Validates and stores batches; one per server, used from the event-loop thread."""

    def __init__(
        self,
        hot: HotStore,
        venues: VenueSource,
        verifier: QrVerifier,
        pseudonyms: PseudonymCache,
        *,
        skew_s: int = 300,
        retention_days: int = 21,
        clock: Callable[[], float] = time.time,
        directory: PersonDirectory | None = None,
        contacts: ContactSink | None = None,
    ) -> None:
        self.hot = hot
        self._directory = directory
        self._contacts = contacts
        self._venues = venues
        self._verifier = verifier
        self._pseudonyms = pseudonyms
        self._skew_s = skew_s
        self._retention_days = retention_days
        self._clock = clock
        self._facts_of: tuple[VenueArrays, VenueFacts] | None = None

    def _facts(self) -> VenueFacts:
        arrays = self._venues.arrays()
        if self._facts_of is None or self._facts_of[0] is not arrays:
            facts = VenueFacts(arrays.registered, arrays.closed_at, arrays.category)
            self._facts_of = (arrays, facts)
        return self._facts_of[1]

    def prepare(self, columns: Columns) -> Prepared:
        """Check every row and build the storage records of those that passed."""
        code_venue, code_bad, code_reasons = self._verifier.verify_many(columns.venue_codes)
        if columns.person_numbers is not None:
            person, person_bad = self._pseudonyms.numbers(columns.person_numbers)
        else:
            person, person_bad = self._pseudonyms.texts(columns.person_texts or [])
        now_s = int(self._clock())
        checked = check_scans(
            columns,
            code_venue=code_venue,
            code_bad=code_bad,
            person_bad=person_bad,
            venues=self._facts(),
            now_s=now_s,
            skew_s=self._skew_s,
            retention_s=self._retention_days * 86_400,
        )
        rows, scans = _records(columns, checked, person)
        explain = Explainer(
            columns=columns,
            checked=checked,
            code_reasons=code_reasons,
            # only rows with `person_bad` can be Why.PERSON (ingest.kernels): skip the scan
            person_reasons=_person_reasons(columns, checked) if person_bad.any() else {},
            now_s=now_s,
            skew_s=self._skew_s,
            retention_days=self._retention_days,
        )
        return Prepared(columns, checked, explain, rows, scans)

    def submit(self, prepared: Prepared) -> Future[U8] | None:
        """Queue the passing rows (StoreOverloadedError when the queue is full); None if none."""
        if len(prepared.rows) == 0:
            return None
        return self.hot.submit(prepared.scans, timeout=0, copy=False)

    def finish(self, prepared: Prepared, stored: U8 | None) -> Outcome:
        """Final verdicts once the store answered (`stored` is None when nothing was stored)."""
        why = prepared.checked.why
        verdicts = np.empty(len(why), np.uint8)
        rows, store = (prepared.rows, stored) if stored is not None else (_NO_ROWS, _NO_STORE)
        accepted, duplicate = _settle(
            why,
            WHY_VERDICT,
            rows,
            store,
            _FROM_STORE,
            int(Why.CONFLICT),
            int(Verdict.ACCEPTED),
            int(Verdict.DUPLICATE),
            verdicts,
        )
        rejections = []
        if accepted + duplicate < len(verdicts):
            for i in np.flatnonzero(why != Why.OK).tolist():
                field, reason = prepared.explain(i, int(why[i]))
                rejections.append(Rejection(i, int(verdicts[i]), field, reason))
        return Outcome(verdicts, rejections, accepted, duplicate)

    async def record_contacts(
        self, prepared: Prepared, outcome: Outcome, phones: list[str]
    ) -> None:
        """Store contact phones of stored scans in the person directory (and nowhere else):
        written here, or handed to the supervisor that owns the directory (`ContactSink`).

        An unparseable phone is dropped (the scan itself stands); the person's home ward and
        name already in the directory are kept.
        """
        if self._directory is None and self._contacts is None:
            return
        directory = self._directory
        stored = {int(r): k for k, r in enumerate(prepared.rows.tolist())}
        people: dict[int, tuple[str, str]] = {}
        texts = prepared.columns.person_texts or []
        for i, phone in enumerate(phones):
            k = stored.get(i)
            if not phone or k is None or outcome.verdicts[i] not in _STORED:
                continue
            try:
                normal_phone = normalise_reference(phone, field="contact_phone")
                reference = normalise_reference(texts[i])
            except InvalidIdentifierError:
                continue
            people[int(prepared.scans["person"][k])] = (reference, normal_phone)
        if not people:
            return

        ids = np.fromiter(people, dtype=np.uint64, count=len(people))
        references = [people[p][0] for p in ids.tolist()]
        normal_phones = [people[p][1] for p in ids.tolist()]
        if directory is None:
            assert self._contacts is not None
            self._contacts.add_contacts(ids, references, normal_phones)
            return
        await asyncio.to_thread(directory.upsert_contacts, ids, references, normal_phones)

    def ingest_sync(self, columns: Columns) -> Outcome:
        """prepare + submit + wait + finish, for callers without an event loop (tests, tools)."""
        prepared = self.prepare(columns)
        future = self.submit(prepared)
        return self.finish(prepared, None if future is None else future.result())


def _records(
    columns: Columns, checked: Checked, person: npt.NDArray[np.uint64]
) -> tuple[npt.NDArray[np.intp], ScanArray]:
    """(rows that passed, their storage records), in one kernel pass (`ingest.kernels`)."""
    n = len(columns)
    rows = np.empty(n, np.intp)
    ok = int(np.count_nonzero(checked.why == Why.OK))
    scans = empty_scans(ok)
    if ok:
        _pack(
            checked.why,
            columns.scan_ids.view("<u8").reshape(n, 2),
            np.ascontiguousarray(person, dtype=np.uint64),
            checked.venue,
            checked.t,
            np.ascontiguousarray(columns.directions, dtype=np.uint8),
            checked.category,
            rows,
            scans.view(np.uint32).reshape(ok, RECORD_SIZE // 4),
        )
    return rows[:ok], scans


def _person_reasons(columns: Columns, checked: Checked) -> dict[int, str]:
    rows = np.flatnonzero(checked.why == Why.PERSON)
    reasons: dict[int, str] = {}
    for i in rows[:64].tolist():  # a hostile batch should not make us format 10,000 reasons
        value: str | int
        if columns.person_numbers is not None:
            value = int(columns.person_numbers[i])
            if value == 0:
                reasons[i] = "0 is not a person reference; expected a positive number"
                continue
            value = str(value)
        else:
            value = (columns.person_texts or [])[i]
        try:
            normalise_reference(value, field=columns.person_field)
            reasons[i] = "invalid person reference"
        except InvalidIdentifierError as exc:
            reasons[i] = exc.reason
    return reasons
