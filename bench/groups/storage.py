"""Storage group: hot-store write, seal, bytes/scan on disk and resident, beside raw rocksdict.

One synthetic day of scans (`bench.bench_storage.city_day`) goes through the hot store in
1,000-scan synced group commits and is sealed into Arrow segments, as in production.
Baselines in the same run on the same disk: raw rocksdict single puts (one key per scan) and
synced 1,000-key WriteBatches (`bench.bench_storage.raw_puts` / `raw_batches`) for the write
rate and the bytes a per-key store needs; an Arrow IPC write of the raw scan columns (zstd,
no visit building) as the floor for sealing; the 36-byte scan record for resident bytes.
Checks: every scan is accepted once, and the sealed visits account for every scan.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
from pyarrow import ipc

from bench.bench_storage import DAY, city_day, dir_bytes, raw_batches, raw_puts
from bench.results import Check, Report, Row, Stat
from bench.sizes import Size
from storage.datadir import DataDir
from storage.dedupe import Verdict
from storage.records import SCAN_DTYPE, ScanArray
from storage.segments import Segment
from storage.visits import build_visits

GROUP = "storage"
BATCH = 1_000


def _arrow_floor(root: Path, scans: ScanArray) -> float:
    """Seconds to write the scans' columns as one zstd Arrow IPC file and fsync it."""
    table = pa.table({name: scans[name] for name in ("venue", "t", "person", "direction")})
    path = root / "floor.arrow"
    t = time.perf_counter()
    with pa.OSFile(str(path), "wb") as sink:
        opts = ipc.IpcWriteOptions(compression="zstd")
        with ipc.new_file(sink, table.schema, options=opts) as writer:
            writer.write_table(table)
    with open(path, "rb+") as f:
        os.fsync(f.fileno())
    return time.perf_counter() - t


def run_storage(size: Size, report: Report, progress: Callable[[str], None]) -> None:
    """Write, seal and size one day of scans; add rows and checks to `report`."""
    root = Path(tempfile.mkdtemp(prefix="bench-storage-"))
    try:
        scans = city_day(size.storage_scans)
        n = len(scans)
        build_visits(scans[:10], DAY)  # JIT warm-up
        k = min(size.storage_baseline_scans, n)
        progress(f"storage: raw rocksdict baselines on {k:,} scans")
        put_rate = raw_puts(root, scans, k)
        raw_bytes = dir_bytes(root / "raw") / k
        batch_rate = raw_batches(root, scans, k, BATCH)
        progress(f"storage: hot store write and seal of {n:,} scans")
        with DataDir(root / "data", n_shards=16) as data:
            batches = [scans[i : i + BATCH] for i in range(0, n, BATCH)]
            t = time.perf_counter()
            futures = [data.hot.submit(b) for b in batches]
            results = [f.result() for f in futures]
            write_s = time.perf_counter() - t
            accepted = sum(int(np.count_nonzero(r == Verdict.ACCEPTED)) for r in results)
            sealed = data.sealer.seal_day(DAY)
            assert sealed is not None
            disk = sum(e.bytes for e in sealed.entries)
            resident = 0
            for entry in sealed.entries:
                seg = Segment.open(data.segment_dir, entry)
                v = seg.visits
                resident += seg.person_order.nbytes + sum(
                    a.nbytes for a in (v.venue, v.t_in, v.t_out, v.person, v.flags)
                )
        floor_s = _arrow_floor(root, scans)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    hot = Stat.one(n / write_s)
    report.rows += [
        Row(GROUP, "hot store write, synced 1,000-scan group commits", "scans/s", hot,
            "raw rocksdict single puts (unsynced)", Stat.one(put_rate), "higher", n),
        Row(GROUP, "hot store write vs synced key batches", "scans/s", hot,
            "raw rocksdict synced 1,000-key batches", Stat.one(batch_rate), "higher", n),
        Row(GROUP, "seal (visits built, per-shard Arrow files)", "scans/s",
            Stat.one(sealed.scans / sealed.seconds), "Arrow IPC write of raw columns",
            Stat.one(n / floor_s), "higher", n),
        Row(GROUP, "sealed bytes/scan on disk (zstd)", "B/scan", Stat.one(disk / n),
            "raw rocksdict, one key per scan", Stat.one(raw_bytes), "lower", n),
        Row(GROUP, "resident bytes/scan for tracing", "B/scan", Stat.one(resident / n),
            "scan record (SCAN_DTYPE)", Stat.one(SCAN_DTYPE.itemsize), "lower", n),
    ]  # fmt: skip
    report.checks.append(
        Check("storage: every scan accepted once and sealed", accepted == sealed.scans == n,
              f"{n:,} submitted, {accepted:,} accepted, {sealed.scans:,} sealed into "
              f"{sealed.visits:,} visits")
    )  # fmt: skip
