"""Coalesced unary calls: concatenated columns and per-call outcomes line up exactly."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.pipeline import Outcome, Rejection
from ingest.unary import UnaryCoalescer, split_outcome
from ingest.validation import Columns, Verdict


def _to_columns(scans: list[int]) -> tuple[Columns, list[str]]:
    """The stand-in messages are ints (a scan number each)."""
    first = scans[0] if scans else 0
    columns = _columns(len(scans), ["x"], first)
    return columns, [""] * len(scans)


def _columns(n: int, codes: list[str], first: int) -> Columns:
    return Columns(
        scan_ids=np.arange(first, first + n, dtype="<u8").repeat(2).view("V16"),
        times_ms=np.full(n, first, np.int64),
        directions=np.zeros(n, np.uint8),
        venue_index=np.arange(n, dtype=np.uint32) % len(codes),
        venue_codes=codes,
        person_numbers=None,
        person_texts=[f"p{first + i}" for i in range(n)],
    )


def test_split_outcome_gives_each_call_its_own_indexes_and_counts() -> None:
    a, d, r = Verdict.ACCEPTED, Verdict.DUPLICATE, Verdict.UNKNOWN_VENUE
    verdicts = np.array([a, r, d, a, r, r], np.uint8)
    rejections = [Rejection(i, int(r), "venue_codes", f"why {i}") for i in (5, 1, 4)]
    parts = split_outcome(Outcome(verdicts, rejections, accepted=2, duplicate=1), [2, 1, 3])
    assert [p.verdicts.tolist() for p in parts] == [[a, r], [d], [a, r, r]]
    assert [[(x.index, x.reason) for x in p.rejections] for p in parts] == [
        [(1, "why 1")],
        [],
        [(1, "why 4"), (2, "why 5")],
    ]
    assert [(p.accepted, p.duplicate, p.rejected) for p in parts] == [
        (1, 0, 1),
        (0, 1, 0),
        (1, 0, 2),
    ]


class _Recorder:
    """Stands in for the Ingestor and the store: records batch sizes, holds each batch's
    durable future until the test releases it."""

    def __init__(self) -> None:
        self.batches: list[int] = []
        self.pending: list[asyncio.Future[Any]] = []

    def prepare(self, columns: Columns) -> Any:
        return columns

    def finish(self, prepared: Any, stored: Any) -> Outcome:
        n = len(prepared)
        return Outcome(np.full(n, Verdict.ACCEPTED, np.uint8), [], n, 0)

    async def start_batch(self, n: int, prepare: Any) -> tuple[Any, asyncio.Future[Any]]:
        self.batches.append(n)
        future = asyncio.get_running_loop().create_future()
        self.pending.append(future)
        return prepare(), future


async def _settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


def test_calls_arriving_while_the_store_is_busy_share_the_next_batch() -> None:
    async def go() -> tuple[list[int], list[int]]:
        rec = _Recorder()
        coalescer = UnaryCoalescer(
            rec,
            _to_columns,
            rec.start_batch,
            max_batches=1,  # type: ignore[arg-type]
        )
        first = asyncio.ensure_future(coalescer.submit([0]))
        await _settle()
        assert rec.batches == [1]  # flushed on the next loop turn, no linger
        later = [asyncio.ensure_future(coalescer.submit([10 + i])) for i in range(5)]
        await _settle()
        assert rec.batches == [1]  # one batch in flight: the others wait for its slot
        rec.pending[0].set_result(np.zeros(1, np.uint8))
        assert (await first).accepted == 1
        await _settle()
        rec.pending[1].set_result(np.zeros(5, np.uint8))
        outcomes = await asyncio.gather(*later)
        return rec.batches, [o.accepted for o in outcomes]

    batches, accepted = asyncio.run(go())
    assert batches == [1, 5]
    assert accepted == [1] * 5


def test_on_batch_sees_each_batch_once_before_its_calls_are_answered() -> None:
    """The metrics hook: one call per stored batch, with its whole outcome and call count."""

    async def go() -> list[tuple[int, int, int]]:
        rec = _Recorder()
        seen: list[tuple[int, int, int]] = []
        answered: list[int] = []

        def on_batch(outcome: Outcome, calls: int) -> None:
            seen.append((len(outcome.verdicts), outcome.accepted, calls))
            assert not answered  # counted before any call of the batch returns

        coalescer = UnaryCoalescer(
            rec,  # type: ignore[arg-type]
            _to_columns,
            rec.start_batch,
            on_batch=on_batch,
            max_batches=1,
        )
        calls = [asyncio.ensure_future(coalescer.submit([i] * (1 + i % 2))) for i in range(4)]
        for call in calls:
            call.add_done_callback(lambda _f: answered.append(1))
        await _settle()
        rec.pending[0].set_result(np.zeros(6, np.uint8))
        await asyncio.gather(*calls)
        return seen

    assert asyncio.run(go()) == [(6, 6, 4)]


@pytest.mark.parametrize("sizes", [[1, 1, 1], [0, 2, 1], [2, 0, 1]])
def test_split_of_plain_outcomes_fits_calls_of_any_size(sizes: list[int]) -> None:
    a, d = Verdict.ACCEPTED, Verdict.DUPLICATE
    verdicts = [a, d, a]
    outcome = Outcome(np.array(verdicts, np.uint8), [], accepted=2, duplicate=1)
    got = [(p.verdicts.tolist(), p.accepted, p.duplicate) for p in split_outcome(outcome, sizes)]
    want = [(v[:3], v.count(a), v.count(d)) for v in _parts(verdicts, sizes)]
    assert got == want


def _parts(values: list[int], sizes: list[int]) -> list[list[int]]:
    out, lo = [], 0
    for n in sizes:
        out.append(values[lo : lo + n])
        lo += n
    return out


def _split_oracle(verdicts: list[int], rejections: list[Rejection], sizes: list[int]) -> list[Any]:
    """Plain-Python split: each part's verdicts, rejections (re-indexed) and counts."""
    out, lo = [], 0
    for n in sizes:
        part = verdicts[lo : lo + n]
        mine = sorted((r.index - lo, r.reason) for r in rejections if lo <= r.index < lo + n)
        out.append((part, mine, part.count(Verdict.ACCEPTED), part.count(Verdict.DUPLICATE)))
        lo += n
    return out


@given(
    sizes=st.lists(st.integers(0, 6), min_size=1, max_size=12),
    data=st.data(),
)
@settings(max_examples=300, deadline=None)
def test_split_outcome_matches_the_oracle(sizes: list[int], data: st.DataObject) -> None:
    n = sum(sizes)
    verdicts = data.draw(
        st.lists(st.sampled_from([int(v) for v in Verdict]), min_size=n, max_size=n)
    )
    rejected = [i for i, v in enumerate(verdicts) if v not in (Verdict.ACCEPTED, Verdict.DUPLICATE)]
    rejections = [Rejection(i, verdicts[i], "f", f"why {i}") for i in reversed(rejected)]
    outcome = Outcome(
        np.array(verdicts, np.uint8),
        rejections,
        verdicts.count(Verdict.ACCEPTED),
        verdicts.count(Verdict.DUPLICATE),
    )
    got = [
        (
            p.verdicts.tolist(),
            sorted((r.index, r.reason) for r in p.rejections),
            p.accepted,
            p.duplicate,
        )
        for p in split_outcome(outcome, sizes)
    ]
    assert got == _split_oracle(verdicts, rejections, sizes)
