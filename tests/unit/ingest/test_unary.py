"""Coalesced unary calls: concatenated columns and per-call outcomes line up exactly."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np

from ingest.pipeline import Outcome, Rejection
from ingest.unary import UnaryCoalescer, concat_columns, split_outcome
from ingest.validation import Columns, Verdict


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


def test_concat_rebases_venue_indexes() -> None:
    a, b = _columns(2, ["x", "y"], 0), _columns(3, ["z"], 10)
    both = concat_columns([a, b])
    assert len(both) == 5
    assert [both.venue_codes[i] for i in both.venue_index.tolist()] == ["x", "y", "z", "z", "z"]
    assert both.person_texts == ["p0", "p1", "p10", "p11", "p12"]
    assert both.times_ms.tolist() == [0, 0, 10, 10, 10]


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
        coalescer = UnaryCoalescer(rec, rec.start_batch, max_batches=1)  # type: ignore[arg-type]
        first = asyncio.ensure_future(coalescer.submit(_columns(1, ["x"], 0), [""]))
        await _settle()
        assert rec.batches == [1]  # flushed on the next loop turn, no linger
        later = [
            asyncio.ensure_future(coalescer.submit(_columns(1, ["x"], 10 + i), [""]))
            for i in range(5)
        ]
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
