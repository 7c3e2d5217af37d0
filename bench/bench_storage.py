"""Storage tier benchmark: hot-store write and bulk-import rates vs raw rocksdict puts, seal
rate, bytes/scan on disk (zstd default, lz4, uncompressed) and resident for tracing.

A script, not a timed test (figures vary by disk; nothing asserts them):

    python -m bench.bench_storage --scans 2000000 --batch 1000

Baselines measured in the same run on the same disk: raw rocksdict single puts (one key per
scan, unsynced, the DESIGN §9 "~250 k puts/s" figure) and synced 1,000-key WriteBatches
("~480 k keys/s"). The hot store is measured synced, as it runs in production.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from rocksdict import Options, Rdict, WriteBatch, WriteOptions

from storage.datadir import DataDir
from storage.importer import Importer, ImportOptions
from storage.pseudonym import Pseudonymiser
from storage.records import IN, OUT, ScanArray, day_bounds, make_scans
from storage.segments import Segment
from storage.visits import build_visits

DAY = 19_700


def city_day(n: int, seed: int = 0, out_share: float = 0.5) -> ScanArray:
    """n scans of one day: 200 k persons, 80 k venues, a share of visits with an OUT."""
    rng = np.random.default_rng(seed)
    start, _ = day_bounds(DAY)
    n_visits = int(n / (1 + out_share))
    person = rng.integers(1, 2**63, 200_000, dtype=np.uint64)[rng.integers(0, 200_000, n_visits)]
    venue = rng.integers(1, 80_000, n_visits, dtype=np.uint32)
    t_in = start + rng.integers(6 * 3600, 20 * 3600, n_visits)
    has_out = rng.random(n_visits) < out_share
    t_out = t_in + rng.integers(300, 3 * 3600, n_visits)
    category = rng.integers(1, 19, n_visits, dtype=np.uint8)
    ins = make_scans(
        rng.integers(0, 256, (n_visits, 16), dtype=np.uint8),
        person,
        venue,
        t_in,
        direction=IN,
        category=category,
    )
    k = int(has_out.sum())
    outs = make_scans(
        rng.integers(0, 256, (k, 16), dtype=np.uint8),
        person[has_out],
        venue[has_out],
        t_out[has_out],
        direction=OUT,
        category=category[has_out],
    )
    scans = np.concatenate([ins, outs])
    return scans[np.argsort(scans["t"], kind="stable")][:n]


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def raw_puts(root: Path, scans: ScanArray, limit: int) -> float:
    """Single unsynced puts, key = scan_id, value = the record: the per-key baseline."""
    db = Rdict(str(root / "raw"), Options(raw_mode=True))
    raw = scans[:limit].tobytes()
    ids = scans["scan_id"][:limit].tolist()
    started = time.perf_counter()
    for i, key in enumerate(ids):
        db.put(bytes(key), raw[i * 36 : (i + 1) * 36])
    rate = limit / (time.perf_counter() - started)
    db.close()
    return rate


def raw_batches(root: Path, scans: ScanArray, limit: int, batch: int) -> float:
    """Synced WriteBatches of `batch` per-scan keys: the per-key group-commit baseline."""
    db = Rdict(str(root / "rawb"), Options(raw_mode=True))
    opts = WriteOptions()
    opts.sync = True
    raw = scans[:limit].tobytes()
    ids = scans["scan_id"][:limit].tolist()
    started = time.perf_counter()
    for lo in range(0, limit, batch):
        wb = WriteBatch(raw_mode=True)
        for i in range(lo, min(lo + batch, limit)):
            wb.put(bytes(ids[i]), raw[i * 36 : (i + 1) * 36])
        db.write(wb, opts)
    rate = limit / (time.perf_counter() - started)
    db.close()
    return rate


def import_file(root: Path, n_rows: int, seed: int = 1) -> Path:
    """A Parquet export of n visits (integer person references, 60% with a t_out)."""
    rng = np.random.default_rng(seed)
    start, _ = day_bounds(DAY)
    t_in = start + rng.integers(6 * 3600, 20 * 3600, n_rows)
    has_out = rng.random(n_rows) < 0.6
    table = pa.table(
        {
            "person": rng.integers(0, 200_000, n_rows),
            "venue": rng.integers(1, 80_000, n_rows).astype(np.uint32),
            "t_in": t_in,
            "t_out": pa.array(t_in + rng.integers(300, 3 * 3600, n_rows), mask=~has_out),
            "category": rng.integers(1, 19, n_rows).astype(np.uint8),
        }
    )
    path = root / "export.parquet"
    pq.write_table(table, path)
    return path


def bulk_import(root: Path, n_rows: int) -> tuple[float, float]:
    """(rows/s, scans/s) of `Importer` into a fresh synced data directory."""
    source = import_file(root, n_rows)
    with DataDir(root / "import", n_shards=16) as data:
        importer = Importer(data.hot, Pseudonymiser(b"k" * 32), ImportOptions())
        summary = importer.run(source)
    return summary.rows / summary.seconds, summary.scans_accepted / summary.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scans", type=int, default=2_000_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--baseline-scans", type=int, default=300_000)
    parser.add_argument("--import-rows", type=int, default=500_000)
    parser.add_argument("--dir", type=Path, default=None, help="scratch dir (default: tmp)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(dir=args.dir))
    try:
        scans = city_day(args.scans)
        build_visits(scans[:10], DAY)  # JIT warm-up
        put_rate = raw_puts(root, scans, min(args.baseline_scans, len(scans)))
        batch_rate = raw_batches(root, scans, min(args.baseline_scans, len(scans)), args.batch)

        with DataDir(root / "data", n_shards=16) as data:
            batches = [scans[i : i + args.batch] for i in range(0, len(scans), args.batch)]
            started = time.perf_counter()
            futures = [data.hot.submit(b) for b in batches]
            for f in futures:
                f.result()
            write_s = time.perf_counter() - started
            stats = data.hot.stats()
            hot_bytes = dir_bytes(root / "data" / "hot")
            result = data.sealer.seal_day(DAY)
            assert result is not None
            seg_bytes = sum(e.bytes for e in result.entries)
            resident = 0
            for entry in result.entries:
                seg = Segment.open(data.segment_dir, entry)
                v = seg.visits
                resident += seg.person_order.nbytes + sum(
                    a.nbytes for a in (v.venue, v.t_in, v.t_out, v.person, v.flags)
                )
        other: dict[str, float] = {}
        for name, compression in (("lz4", "lz4"), ("none", None)):
            with DataDir(root / name, n_shards=16, compression=compression) as zdata:  # type: ignore[arg-type]
                zdata.hot.submit(scans).result()
                zresult = zdata.sealer.seal_day(DAY)
                assert zresult is not None
                other[name] = sum(e.bytes for e in zresult.entries) / len(scans)
        import_rows, import_scans = bulk_import(root, args.import_rows)

        n = len(scans)
        hot_rate = n / write_s
        print(f"scans: {n:,} in batches of {args.batch:,}; visits after sealing: {result.visits:,}")
        print(f"raw rocksdict single puts (unsynced):   {put_rate:12,.0f} scans/s")
        print(f"raw rocksdict {args.batch}-key synced batches: {batch_rate:12,.0f} scans/s")
        print(
            f"hot store synced (group commit):        {hot_rate:12,.0f} scans/s  "
            f"= {hot_rate / put_rate:.1f}x single puts, {hot_rate / batch_rate:.1f}x key batches"
        )
        group = stats.group_scans
        print(
            f"  fsyncs: {stats.commits:,}; scans per fsync p50 {np.median(group):,.0f}, "
            f"max {group.max():,}; hot log on disk {hot_bytes / n:.1f} B/scan"
        )
        print(
            f"seal: {result.seconds:.2f} s = {result.scans / result.seconds:,.0f} scans/s "
            f"({len(result.entries)} files)"
        )
        print(
            f"bulk import (Parquet, synced):          {import_scans:12,.0f} scans/s "
            f"({import_rows:,.0f} rows/s) = {import_scans / put_rate:.1f}x single puts"
        )
        print(f"sealed on disk, zstd (default):      {seg_bytes / n:.2f} B/scan")
        print(f"sealed on disk, lz4:                 {other['lz4']:.2f} B/scan")
        print(f"sealed on disk, uncompressed (mmap): {other['none']:.2f} B/scan")
        print(f"resident for tracing (decoded columns):  {resident / n:.2f} B/scan")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
