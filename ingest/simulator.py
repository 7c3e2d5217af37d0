"""Scanner-fleet simulator: the synthetic city's day replayed as many scanner apps would.

Venue gateways (`streams`) each own a slice of the venues and send `ScanBatch`es over one
long-lived StreamScans call; phones send one-scan SubmitScans calls (`unary_share` of the
scans). Scans come from `storage.synthetic_city` (an IN per visit, an OUT where the visitor
scanned out), shifted so the day ends now (the server rejects times older than retention or
in the future). The fleet paces itself to `rate` scans/s and measures ack latency per batch
or call; the summary says how many scans were sent, accepted, duplicate, rejected or refused
and the p50/p99 ack latency.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import cast

import grpc
import numpy as np
import numpy.typing as npt

from api.protos.checkin.v1 import ingest_pb2 as pb
from ingest.client import auth_metadata, encode_batch, open_channel, stub
from ingest.validation import Verdict
from storage.records import SECONDS_PER_DAY
from storage.synthetic_city import CityConfig, build_city, iter_visit_batches, person_reference


@dataclass(frozen=True, slots=True)
class FleetScans:
    """One day of scans as columns, times already shifted to end just before now."""

    venue: npt.NDArray[np.uint32]
    person: npt.NDArray[np.uint64]
    t_ms: npt.NDArray[np.int64]
    direction: npt.NDArray[np.uint8]

    def __len__(self) -> int:
        return len(self.venue)


def city_scans(config: CityConfig, *, now: float | None = None) -> FleetScans:
    """The first day of `config`'s city as IN (+ OUT) scans, in time order, ending now."""
    city = build_city(config)
    day = next(iter_visit_batches(city, config))
    outs = day.has_checkout
    venue = np.concatenate([day.venue, day.venue[outs]])
    person = person_reference(np.concatenate([day.person, day.person[outs]]))
    t = np.concatenate([day.t_in, day.t_out[outs]]).astype(np.int64)
    direction = np.concatenate([np.zeros(len(day), np.uint8), np.ones(int(outs.sum()), np.uint8)])
    order = np.argsort(t, kind="stable")
    shift = int(now if now is not None else time.time()) - 60 - int(t.max())
    shift -= shift % SECONDS_PER_DAY  # keep the time of day
    if int(t.max()) + shift > time.time():
        shift -= SECONDS_PER_DAY
    t_ms = (t[order] + shift) * 1000
    return FleetScans(venue[order].astype(np.uint32), person[order], t_ms, direction[order])


@dataclass
class FleetSummary:
    """What the fleet sent and what the server answered."""

    sent: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    refused: int = 0
    elapsed_s: float = 0.0
    latencies_s: list[float] = field(default_factory=list)

    def add(self, verdicts: npt.NDArray[np.uint8], latency_s: float) -> None:
        self.accepted += int(np.count_nonzero(verdicts == Verdict.ACCEPTED))
        self.duplicate += int(np.count_nonzero(verdicts == Verdict.DUPLICATE))
        self.rejected += len(verdicts) - int(
            np.count_nonzero((verdicts == Verdict.ACCEPTED) | (verdicts == Verdict.DUPLICATE))
        )
        self.latencies_s.append(latency_s)

    def percentile_ms(self, q: float) -> float:
        if not self.latencies_s:
            return float("nan")
        return float(np.percentile(np.array(self.latencies_s), q) * 1000)


@dataclass(frozen=True)
class FleetConfig:
    """How the fleet behaves."""

    target: str
    token: str
    rate: float
    duration_s: float
    streams: int = 4
    batch_scans: int = 1000
    unary_share: float = 0.1
    phones: int = 16
    seed: int = 1


async def run_fleet(
    config: FleetConfig,
    scans: FleetScans,
    sign: Callable[[int], str],
    progress: Callable[[FleetSummary], None] | None = None,
) -> FleetSummary:
    """Send scans at `config.rate` for `config.duration_s` (or until the day runs out)."""
    summary = FleetSummary()
    rng = np.random.default_rng(config.seed)
    # a small city replays its day again (with fresh scan ids) to fill a long run
    total = int(config.rate * config.duration_s)
    if total > len(scans):
        cycle = np.arange(total) % len(scans)
        scans = FleetScans(
            scans.venue[cycle], scans.person[cycle], scans.t_ms[cycle], scans.direction[cycle]
        )
    unary = rng.random(total) < config.unary_share
    gateway = scans.venue[:total] % config.streams
    codes: dict[int, str] = {}

    def code(venue: int) -> str:
        if venue not in codes:
            codes[venue] = sign(venue)
        return codes[venue]

    started = time.perf_counter()
    metadata = auth_metadata(config.token)
    stream_rate = config.rate * (1 - config.unary_share) / config.streams
    phone_rate = config.rate * config.unary_share / max(config.phones, 1)

    async def gateway_loop(g: int, channel: grpc.aio.Channel) -> None:
        rows = np.flatnonzero(~unary & (gateway == g))
        sent_at: dict[int, tuple[float, int]] = {}

        async def requests() -> AsyncIterator[pb.ScanBatch]:
            for k, lo in enumerate(range(0, len(rows), config.batch_scans)):
                part = rows[lo : lo + config.batch_scans]
                due = started + lo / max(stream_rate, 1e-9)
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                venues, index = np.unique(scans.venue[part], return_inverse=True)
                ids = rng.integers(0, 256, (len(part), 16), dtype=np.uint8)
                ids[:, 0] |= 1
                batch = encode_batch(
                    k,
                    scan_ids=ids,
                    times_ms=scans.t_ms[part],
                    directions=scans.direction[part],
                    venue_codes=[code(int(v)) for v in venues],
                    venue_index=index,
                    person_numbers=scans.person[part],
                )
                sent_at[k] = (time.perf_counter(), len(part))
                summary.sent += len(part)
                yield batch

        try:
            async for ack in stub(channel).StreamScans(requests(), metadata=metadata):
                t0, _n = sent_at.pop(ack.batch_id)
                summary.add(np.frombuffer(ack.verdicts, np.uint8), time.perf_counter() - t0)
        except grpc.aio.AioRpcError:
            summary.refused += sum(n for _t, n in sent_at.values())

    async def phone_loop(p: int, channel: grpc.aio.Channel) -> None:
        """Open loop: each phone's calls start on schedule, however slow earlier answers are."""
        rows = np.flatnonzero(unary)[p :: max(config.phones, 1)]
        call = stub(channel).SubmitScans
        outstanding = asyncio.Semaphore(64)

        async def one(i: int) -> None:
            scan = pb.Scan(
                scan_id=rng.integers(1, 256, 16, dtype=np.uint8).tobytes(),
                person_ref=str(int(scans.person[i])),
                venue_code=code(int(scans.venue[i])),
                time_ms=int(scans.t_ms[i]),
                direction=cast(pb.Direction, int(scans.direction[i])),
            )
            summary.sent += 1
            t0 = time.perf_counter()
            try:
                reply = await call(pb.SubmitScansRequest(scans=[scan]), metadata=metadata)
            except grpc.aio.AioRpcError:
                summary.refused += 1
            else:
                summary.add(np.array(reply.verdicts, np.uint8), time.perf_counter() - t0)
            finally:
                outstanding.release()

        tasks = set()
        for k, i in enumerate(rows.tolist()):
            due = started + k / max(phone_rate, 1e-9)
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            await outstanding.acquire()
            task = asyncio.create_task(one(i))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)

    async def report() -> None:
        while progress is not None:
            await asyncio.sleep(0.5)
            summary.elapsed_s = time.perf_counter() - started
            progress(summary)

    async with open_channel(config.target) as channel:
        reporter = asyncio.create_task(report())
        await asyncio.gather(
            *(gateway_loop(g, channel) for g in range(config.streams)),
            *(phone_loop(p, channel) for p in range(config.phones if config.unary_share else 0)),
        )
        reporter.cancel()
    summary.elapsed_s = time.perf_counter() - started
    return summary


def default_city(scans: int, seed: int, venues: int, adults: int) -> CityConfig:
    """The city the simulator replays (and `qrtrace venues import-city` registers)."""
    return CityConfig(
        scans=scans, days=1, seed=seed, start_date=date(2021, 9, 6), venues=venues, adults=adults
    )
