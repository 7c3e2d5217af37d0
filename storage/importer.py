"""Bulk import of historical visits (CSV or Parquet) into the hot store, exactly once.

This is the migration path: a city's old check-in exports, the synthetic city, public data
sets. Files are streamed in record batches (pyarrow.csv.open_csv / pyarrow.dataset) and
every step is vectorised (storage.import_parse); a row becomes an IN scan, plus an OUT scan
when the row has a `t_out` (or `assume_dwell_min` supplies one), and goes through the same
durable, de-duplicating `HotStore.submit` as live scans.

Exactly once without a client: scan ids are derived from the row's content (keyed person
pseudonym, venue, t_in, t_out as given, category), so importing a file twice, or resuming
an import that crashed half-way, answers DUPLICATE for what is already stored and never
doubles a visit. Two identical rows in one file are one visit.

Point check-ins (`assume_dwell_min`, `--assume-dwell`): a row without t_out stays
`assume_dwell_min`, capped at the local day's end, and, with `cap_at_next_checkin`
(`--cap-at-next-checkin`), at the person's next later check-in anywhere in the same file.
Without that cap one person's assumed stays overlap whenever check-ins are closer than the
dwell, and the visit builder then re-pairs the scans (the late OUT becomes a visit of its
own with an imputed check-in). The cap needs the whole file, so such an import reads the
source twice: a first pass collects every good row's (person, t_in), 8 bytes per row held
for the import, then rows are imported as usual. The cap depends only on the file's
content, never on batch boundaries, so a re-import (or a resumed one) writes the same
scans; the OUT scan id does not include the assumed t_out either way, so importing the
same rows from another file, where their next check-in differs, answers CONFLICT for the
OUT scans whose time would differ.

Row numbers in rejects: for CSV the physical line number (the header is line 1; exact unless
a quoted field spans lines), for Parquet the 1-based row across the files in path order.
"""

from __future__ import annotations

import csv
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.dataset as pds

from storage.dedupe import Verdict
from storage.errors import InvalidInputError
from storage.hotstore import HotStore
from storage.import_parse import (
    U32_MAX,
    Problems,
    TimeUnit,
    parse_category,
    parse_int,
    parse_time,
)
from storage.pseudonym import Pseudonymiser
from storage.records import ScanArray, day_bounds, local_day, make_scans, visits_as_scans

FIELDS: Final = ("person", "venue", "t_in", "t_out", "category")
REQUIRED: Final = ("person", "venue", "t_in")
_SEEDS: Final = {
    "in": (0x243F6A8885A308D3, 0x13198A2E03707344),
    "out": (0xA4093822299F31D0, 0x082EFA98EC4E6C89),
}
_NO_T_OUT: Final = np.uint64(1 << 40)  # a t_out the file did not give (not a real time)
U64 = npt.NDArray[np.uint64]


@dataclass(frozen=True)
class ImportOptions:
    """How to read a file: column names, time unit, assumed dwell."""

    columns: Mapping[str, str] = field(default_factory=dict)  #: logical name -> file column
    time_unit: TimeUnit = "s"
    #: epoch seconds added to every time (for unit "min" exports counting from an origin)
    time_origin: int = 0
    #: t_out = t_in + this many minutes (capped at the local day's end) where t_out is absent
    assume_dwell_min: int | None = None
    #: and capped at the person's next check-in in the same file (see the module docstring)
    cap_at_next_checkin: bool = False
    batch_rows: int = 65_536
    max_in_flight: int = 4

    def column(self, name: str) -> str:
        return self.columns.get(name, name)


@dataclass(frozen=True)
class Reject:
    """One rejected row: where, which field, why."""

    row: int
    field: str
    reason: str


@dataclass
class ImportSummary:
    """Totals of an import, in rows (a row is one visit) and in scans written."""

    source: str
    row_label: str  #: "line" (CSV) or "row" (Parquet)
    rows: int = 0
    loaded: int = 0
    duplicate: int = 0
    conflict: int = 0
    rejected: int = 0
    scans_accepted: int = 0
    seconds: float = 0.0
    first_rejects: list[Reject] = field(default_factory=list)


def _mix(x: U64) -> U64:
    """splitmix64 finaliser over arrays (uint64 arithmetic wraps)."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def row_scan_ids(fields: list[U64], kind: str) -> npt.NDArray[np.uint8]:
    """(n, 16) scan ids from row content: two independently seeded 64-bit lanes."""
    lanes = []
    for seed in _SEEDS[kind]:
        h = np.full(len(fields[0]), np.uint64(seed), dtype=np.uint64)
        for k, values in enumerate(fields):
            h = _mix(h ^ _mix(values + np.uint64(0x9E3779B97F4A7C15 * (k + 1) % 2**64)))
        lanes.append(h)
    return np.ascontiguousarray(np.stack(lanes, axis=1).astype("<u8")).view(np.uint8)


@dataclass(frozen=True)
class _Parsed:
    """One batch's fields as arrays, and what was wrong with which row."""

    person: U64
    venue: npt.NDArray[np.int64]
    t_in: npt.NDArray[np.int64]
    t_out: npt.NDArray[np.int64]
    has_out: npt.NDArray[np.bool_]
    category: npt.NDArray[np.uint8]
    problems: Problems


class _NextCheckIn:
    """Each person's check-in times in one file; `after` gives the next later one."""

    def __init__(self, person: U64, t_in: npt.NDArray[np.int64]) -> None:
        self.people, dense = np.unique(person, return_inverse=True)
        # one sortable u64 per check-in: dense person index above the 32-bit time
        self.keys = np.unique((dense.astype(np.uint64) << np.uint64(32)) | t_in.astype(np.uint64))

    def after(self, person: U64, t: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Next check-in of `person` strictly after `t` (a huge time where there is none)."""
        none = np.full(len(person), np.iinfo(np.int64).max, dtype=np.int64)
        if not len(self.keys):
            return none
        at = np.searchsorted(self.people, person)
        known = (at < len(self.people)) & (
            self.people[np.minimum(at, len(self.people) - 1)] == person
        )
        dense = np.where(known, at, 0).astype(np.uint64)
        query = (dense << np.uint64(32)) | np.clip(t, 0, U32_MAX).astype(np.uint64)
        pos = np.searchsorted(self.keys, query, side="right")
        found = known & (pos < len(self.keys))
        nxt = self.keys[np.minimum(pos, len(self.keys) - 1)]
        found &= (nxt >> np.uint64(32)) == dense
        return np.where(found, (nxt & np.uint64(U32_MAX)).astype(np.int64), none)


class _CountingFile:
    """A read-only file that counts the bytes handed to pyarrow (CSV progress)."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self.done = 0
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        self.done += len(data)
        return data

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self.closed = True


def _csv_batches(
    path: Path, wanted: list[str], options: ImportOptions, invalid: list[int]
) -> Iterator[tuple[pa.RecordBatch, Callable[[], int]]]:
    def on_invalid(row: pcsv.InvalidRow) -> str:
        invalid.append(int(row.number or 0))
        return "skip"

    with path.open("rb") as handle:
        counting = _CountingFile(handle)
        header = pcsv.open_csv(
            pa.PythonFile(counting, mode="r"),
            read_options=pcsv.ReadOptions(use_threads=False, block_size=1 << 20),
            parse_options=pcsv.ParseOptions(invalid_row_handler=on_invalid),
            convert_options=pcsv.ConvertOptions(
                include_columns=wanted,
                column_types=dict.fromkeys(wanted, pa.string()),
                strings_can_be_null=True,
            ),
        )
        for batch in header:
            yield batch, lambda: counting.done


def _missing_columns(present: list[str], options: ImportOptions, source: Path) -> list[str]:
    wanted = [options.column(f) for f in FIELDS if options.column(f) in present]
    for name in REQUIRED:
        if options.column(name) not in present:
            raise InvalidInputError(
                name,
                f"column {options.column(name)!r} not found in {source} (columns: "
                f"{', '.join(present)}); expected it, or --map {name}=COLUMN",
            )
    return wanted


def _csv_header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return [name.strip() for name in next(csv.reader(handle), [])]


class Importer:
    """Streams one source into a hot store; `run` returns the summary."""

    def __init__(
        self,
        hot: HotStore,
        pseudonymiser: Pseudonymiser,
        options: ImportOptions,
        *,
        venue_category: npt.NDArray[np.uint8] | None = None,
        progress: Callable[[int, int], None] | None = None,
        on_rejects: Callable[[list[Reject]], None] | None = None,
        keep_rejects: int = 1_000,
    ) -> None:
        for name in options.columns:
            if name not in FIELDS:
                raise InvalidInputError(
                    "--map", f"unknown field {name!r}; expected one of {', '.join(FIELDS)}"
                )
        if options.assume_dwell_min is not None and options.assume_dwell_min <= 0:
            raise InvalidInputError("--assume-dwell", "must be a positive number of minutes")
        self.hot = hot
        self.pseudonymiser = pseudonymiser
        self.options = options
        self.venue_category = venue_category
        self.progress = progress
        self.on_rejects = on_rejects
        self.keep_rejects = keep_rejects

    # ------------------------------------------------------------ sources

    def _source(
        self, source: Path, summary: ImportSummary, *, quiet: bool = False
    ) -> Iterator[tuple[pa.RecordBatch, npt.NDArray[np.int64]]]:
        """Record batches with the row number of every row (`quiet`: no progress, no rejects)."""
        progress = None if quiet else self.progress
        if not source.exists():
            raise InvalidInputError("FILE", f"{source} does not exist")
        if source.is_file() and source.suffix.lower() in {".csv", ".txt", ".tsv"}:
            summary.row_label = "line"
            wanted = _missing_columns(_csv_header(source), self.options, source)
            total = source.stat().st_size
            invalid: list[int] = []
            valid_before = 0
            for batch, done in _csv_batches(source, wanted, self.options, invalid):
                lines = self._csv_lines(valid_before, batch.num_rows, invalid)
                valid_before += batch.num_rows
                if progress:
                    progress(min(done(), total), total)
                yield batch, lines
            if not quiet:
                self._report_malformed(invalid, summary)
            if progress:
                progress(total, total)
            return
        dataset = pds.dataset(source, format="parquet", partitioning="hive")
        wanted = _missing_columns(dataset.schema.names, self.options, source)
        total = dataset.count_rows()
        row = 0
        for fragment in sorted(dataset.get_fragments(), key=lambda f: str(f.path)):
            for batch in fragment.to_batches(columns=wanted, batch_size=self.options.batch_rows):
                rows = np.arange(row + 1, row + 1 + batch.num_rows, dtype=np.int64)
                row += batch.num_rows
                if progress:
                    progress(row, total)
                yield batch, rows

    @staticmethod
    def _csv_lines(valid_before: int, n: int, invalid: list[int]) -> npt.NDArray[np.int64]:
        """File line of each valid record, skipping the malformed lines seen so far."""
        k = np.arange(valid_before, valid_before + n, dtype=np.int64)
        bad = np.sort(np.asarray(invalid, dtype=np.int64))
        adjusted = bad - 2 - np.arange(len(bad))
        return 2 + k + np.searchsorted(adjusted, k, side="right")

    def _report_malformed(self, invalid: list[int], summary: ImportSummary) -> None:
        rejects = [Reject(line, "row", "wrong number of columns") for line in invalid]
        summary.rows += len(rejects)
        self._reject(rejects, summary)

    def _reject(self, rejects: list[Reject], summary: ImportSummary) -> None:
        if not rejects:
            return
        summary.rejected += len(rejects)
        room = self.keep_rejects - len(summary.first_rejects)
        summary.first_rejects.extend(rejects[: max(room, 0)])
        if self.on_rejects:
            self.on_rejects(rejects)

    # ------------------------------------------------------------ one batch

    def _parse(self, batch: pa.RecordBatch) -> _Parsed:
        """Every field of a batch parsed, with the problems found per row."""
        opts = self.options
        n = batch.num_rows
        problems = Problems(n)
        names = batch.schema.names

        def col(name: str) -> pa.Array | None:
            source = opts.column(name)
            return batch.column(names.index(source)) if source in names else None

        person_col = col("person")
        assert person_col is not None
        missing_person = np.asarray(person_col.is_null().to_numpy(zero_copy_only=False))
        problems.add(missing_person, "person", "missing")
        refs = person_col.fill_null("" if pa.types.is_string(person_col.type) else 0)
        person, invalid = self.pseudonymiser.person_ids_or_invalid(
            refs.to_numpy(zero_copy_only=False)
        )
        problems.add(invalid, "person", "not a valid person reference (phone, id or number)")
        venue_col = col("venue")
        assert venue_col is not None
        venue = parse_int(venue_col, "venue", problems)
        problems.add(
            ~problems.bad & ((venue < 1) | (venue > U32_MAX)),
            "venue",
            "outside 1..4294967295",
        )
        t_in_col = col("t_in")
        assert t_in_col is not None
        t_in = parse_time(t_in_col, "t_in", opts.time_unit, opts.time_origin, problems)
        t_out_col = col("t_out")
        has_out = np.zeros(n, dtype=np.bool_)
        t_out = np.zeros(n, dtype=np.int64)
        if t_out_col is not None:
            given = ~np.asarray(t_out_col.is_null().to_numpy(zero_copy_only=False))
            sub = Problems(n)
            t_out = parse_time(t_out_col, "t_out", opts.time_unit, opts.time_origin, sub)
            problems.add(
                given & sub.bad,
                "t_out",
                [sub.reasons[r][1] for r in np.flatnonzero(given & sub.bad).tolist()],
            )
            has_out = given & ~sub.bad
            problems.add(has_out & (t_out < t_in), "t_out", "before t_in")
        category_col = col("category")
        if category_col is not None:
            category = parse_category(category_col, problems)
        elif self.venue_category is not None:
            known = venue < len(self.venue_category)
            category = np.zeros(n, dtype=np.uint8)
            category[known] = self.venue_category[venue[known]]
        else:
            category = np.zeros(n, dtype=np.uint8)

        return _Parsed(person, venue, t_in, t_out, has_out, category, problems)

    def _scans(
        self,
        batch: pa.RecordBatch,
        rows: npt.NDArray[np.int64],
        summary: ImportSummary,
        next_checkin: _NextCheckIn | None,
    ) -> tuple[ScanArray, npt.NDArray[np.intp]]:
        """Scans of a batch's good rows, and the index of each good row's IN scan."""
        opts = self.options
        parsed = self._parse(batch)
        person, venue, t_in, t_out = parsed.person, parsed.venue, parsed.t_in, parsed.t_out
        has_out, category, problems = parsed.has_out, parsed.category, parsed.problems
        n = batch.num_rows
        if problems.reasons:
            self._reject(
                [Reject(int(rows[r]), *problems.reasons[r]) for r in sorted(problems.reasons)],
                summary,
            )
        good = ~problems.bad
        identity_out = np.where(has_out, t_out, 0).astype(np.uint64)
        identity_out[~has_out] = _NO_T_OUT
        if opts.assume_dwell_min is not None:
            day_end = day_bounds(0)[1] + local_day(t_in.astype(np.uint32)).astype(np.int64) * 86_400
            assumed = np.minimum(t_in + opts.assume_dwell_min * 60, day_end - 1)
            if next_checkin is not None:
                assumed = np.minimum(assumed, next_checkin.after(person, t_in))
            t_out = np.where(has_out, t_out, assumed)
            has_out = np.ones(n, dtype=np.bool_)
        fields = [
            person.astype(np.uint64),
            venue.astype(np.uint64),
            t_in.astype(np.uint64),
            identity_out,
            category.astype(np.uint64),
        ]
        ids_in = row_scan_ids(fields, "in")
        ids_out = row_scan_ids(fields, "out")
        pair = good & has_out
        single = good & ~has_out
        pairs = visits_as_scans(
            scan_id_in=ids_in[pair],
            scan_id_out=ids_out[pair],
            person=person[pair],
            venue=venue[pair],
            t_in=t_in[pair],
            t_out=t_out[pair],
            category=category[pair],
        )
        singles = make_scans(
            ids_in[single], person[single], venue[single], t_in[single], category=category[single]
        )
        in_index = np.concatenate(
            [np.arange(0, len(pairs), 2), len(pairs) + np.arange(len(singles))]
        ).astype(np.intp)
        return np.concatenate([pairs, singles]), in_index

    def _check_ins(self, source: Path) -> _NextCheckIn:
        """First pass: (person, t_in) of every row that will load."""
        scratch = ImportSummary(source=str(source), row_label="row")
        person, t_in = [], []
        for batch, _rows in self._source(source, scratch, quiet=True):
            parsed = self._parse(batch)
            good = ~parsed.problems.bad
            person.append(parsed.person[good].astype(np.uint64))
            t_in.append(parsed.t_in[good].astype(np.int64))
        return _NextCheckIn(np.concatenate(person or [np.zeros(0, np.uint64)]),
                            np.concatenate(t_in or [np.zeros(0, np.int64)]))  # fmt: skip

    # ------------------------------------------------------------ run

    def run(self, source: Path) -> ImportSummary:
        """Import every row of `source` (a CSV file, a Parquet file or a Parquet directory)."""
        started = time.perf_counter()
        summary = ImportSummary(source=str(source), row_label="row")
        in_flight: deque[tuple[Future[npt.NDArray[np.uint8]], npt.NDArray[np.intp]]] = deque()
        next_checkin = None
        if self.options.assume_dwell_min is not None and self.options.cap_at_next_checkin:
            next_checkin = self._check_ins(Path(source))

        def settle(future: Future[npt.NDArray[np.uint8]], in_index: npt.NDArray[np.intp]) -> None:
            verdicts = future.result()
            row_verdicts = verdicts[in_index]
            summary.loaded += int(np.count_nonzero(row_verdicts == Verdict.ACCEPTED))
            summary.duplicate += int(np.count_nonzero(row_verdicts == Verdict.DUPLICATE))
            summary.conflict += int(np.count_nonzero(row_verdicts == Verdict.CONFLICT))
            summary.scans_accepted += int(np.count_nonzero(verdicts == Verdict.ACCEPTED))

        for batch, rows in self._source(Path(source), summary):
            summary.rows += batch.num_rows
            scans, in_index = self._scans(batch, rows, summary, next_checkin)
            if len(scans):
                in_flight.append((self.hot.submit(scans), in_index))
            while len(in_flight) > self.options.max_in_flight:
                settle(*in_flight.popleft())
        while in_flight:
            settle(*in_flight.popleft())
        summary.seconds = time.perf_counter() - started
        return summary
