"""The spilling exactly-once index: bucketed runs + a reused table vs sorted runs (baseline).

A script, not a timed test (figures vary by machine and load; nothing asserts them):

    python -m bench.bench_dedupe --groups 300 --group 16000 --rounds 2

Feeds `--groups` groups of `--group` unique random scans (4.8 M by default) to a fresh
`SpillingScanIdIndex` sized as the hot store sizes it by default (`hot_index_memory_mib`
48 MiB / 72 B ≈ 699 k scans active, filter designed for 4x that and grown from the runs),
then re-adds `--retries` of those groups (all DUPLICATE, most of them frozen in run files)
with 1 in 20 scans changed (CONFLICT). Reports µs per 1,000 scans over all adds (freezes
included: that is the amortised cost the writer thread pays), the worst single add, the
retry groups' cost, and the child's peak and final RSS. Times are wall clock and the
thread's CPU time (`time.thread_time`: less sensitive to neighbours on a shared machine;
the writes of run files count in it, page-cache work included).

Each configuration runs in a child process of its own (so RSS is its own and neither
inherits the other's heap), alternating old and new for `--rounds` rounds so that a noisy
neighbour hits both alike. The baseline is `storage/dedupe.py` and `storage/dedupe_spill.py`
as of `--baseline-rev` (before this change), loaded from git into a cache directory; the
verdicts of both are compared (a digest printed by each child).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from storage.records import ScanArray, empty_scans

ROOT = Path(__file__).resolve().parents[1]
#: main before the bucketed run files and the reused active table
BASELINE_REV = "15a2790ba61799f4bf78847ddbac8c768e7d4462"
#: what the hot store derives from the default `hot_index_memory_mib` (48)
ACTIVE_LIMIT = (48 << 20) // 72


def _baseline_module(rev: str) -> ModuleType:
    """The spilling index module as of `rev`, importing that revision's `storage.dedupe`."""
    where = Path(tempfile.gettempdir()) / f"qrtrace-bench-dedupe-{rev[:12]}"
    where.mkdir(exist_ok=True)

    def show(path: str) -> str:
        return subprocess.run(
            ["git", "show", f"{rev}:{path}"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout

    (where / "base_dedupe.py").write_text(show("storage/dedupe.py"))
    spill = show("storage/dedupe_spill.py").replace("from storage.dedupe ", "from base_dedupe ")
    (where / "base_dedupe_spill.py").write_text(spill)
    sys.path.insert(0, str(where))
    spec = importlib.util.spec_from_file_location(
        "base_dedupe_spill", where / "base_dedupe_spill.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _group(size: int, seed: int) -> ScanArray:
    """`size` random unique scans (deterministic per seed)."""
    rng = np.random.default_rng(seed)
    s = empty_scans(size)
    s["scan_id"] = np.frombuffer(rng.bytes(16 * size), "V16")
    s["person"] = rng.integers(1, 2**63, size, dtype=np.uint64)
    s["venue"] = rng.integers(1, 50_000, size, dtype=np.uint32)
    s["t"] = 1_790_000_000 + rng.integers(0, 86_400, size, dtype=np.uint32)
    return s


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _child(impl: str, args: argparse.Namespace) -> dict[str, Any]:
    """One configuration's figures (run in a child process)."""
    if impl == "old":
        index_class = _baseline_module(args.baseline_rev).SpillingScanIdIndex
    else:
        from storage.dedupe_spill import SpillingScanIdIndex  # noqa: PLC0415 - per child

        index_class = SpillingScanIdIndex
    rng = np.random.default_rng(args.seed)
    retries = []
    for i in rng.integers(0, args.groups, args.retries).tolist():
        r = _group(args.group, args.seed + i)  # the same scans as group i
        r["t"][rng.random(len(r)) < 0.05] += 1
        retries.append(r)
    digest = hashlib.sha256()
    with tempfile.TemporaryDirectory(dir=args.spill_dir) as tmp:
        warm = index_class(Path(tmp) / "warm", active_limit=1_000, capacity=1)
        for seed in (1, 2, 3, 1):  # compile / load the kernels; the last one probes a run
            warm.add(_group(1_000, 10**9 + seed))
        warm.close()
        index = index_class(Path(tmp) / "idx", active_limit=args.active_limit, capacity=1)
        rss_start = _rss_kib("VmRSS")
        ms = []
        cpu = 0.0
        for i in range(args.groups):
            g = _group(args.group, args.seed + i)  # made outside the timed call
            t, c = time.perf_counter(), time.thread_time()
            v = index.add(g)
            cpu += time.thread_time() - c
            ms.append((time.perf_counter() - t) * 1e3)
            digest.update(v.tobytes())
        retry_ms = []
        for g in retries:
            t = time.perf_counter()
            v = index.add(g)
            retry_ms.append((time.perf_counter() - t) * 1e3)
            digest.update(v.tobytes())
        runs = index.runs
        index.close()
    scans = args.groups * args.group
    return {
        "impl": impl,
        "us_per_1000": sum(ms) * 1e3 / (scans / 1000),
        "cpu_us_per_1000": cpu * 1e6 / (scans / 1000),
        "median_add_ms": statistics.median(ms),
        "worst_add_ms": max(ms),
        "retry_us_per_1000": sum(retry_ms) * 1e3 / (len(retries) * args.group / 1000),
        "runs": runs,
        "rss_growth_mib": (_rss_kib("VmRSS") - rss_start) / 1024,
        "peak_rss_mib": _rss_kib("VmHWM") / 1024,
        "digest": digest.hexdigest()[:16],
    }


def main() -> None:
    """Run both configurations in alternating child processes and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=300, help="groups of unique scans")
    parser.add_argument("--group", type=int, default=16_000, help="scans per group (add call)")
    parser.add_argument("--retries", type=int, default=20, help="groups re-added at the end")
    parser.add_argument("--active-limit", type=int, default=ACTIVE_LIMIT)
    parser.add_argument("--rounds", type=int, default=2, help="alternating old/new rounds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--baseline-rev", default=BASELINE_REV)
    parser.add_argument("--spill-dir", default=None, help="where run files go (default: tmp)")
    parser.add_argument("--child", choices=["old", "new"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child, args)))
        return

    forwarded = [a for a in sys.argv[1:] if a != "--child"]
    results: dict[str, list[dict[str, Any]]] = {"old": [], "new": []}
    for _ in range(args.rounds):
        for impl in ("old", "new"):
            out = subprocess.run(
                [sys.executable, "-m", "bench.bench_dedupe", *forwarded, "--child", impl],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            results[impl].append(json.loads(out.splitlines()[-1]))
    digests = {r["digest"] for rs in results.values() for r in rs}
    scans = args.groups * args.group
    print(
        f"{scans:,} unique scans in groups of {args.group:,}, active limit {args.active_limit:,}, "
        f"then {args.retries} retried groups; {args.rounds} rounds; verdicts "
        + ("identical" if len(digests) == 1 else f"DIFFER {sorted(digests)}")
    )
    names = {"old": f"sorted runs ({args.baseline_rev[:7]})", "new": "bucketed runs + reuse"}
    base = statistics.median(r["us_per_1000"] for r in results["old"])
    base_cpu = statistics.median(r["cpu_us_per_1000"] for r in results["old"])
    for impl, rs in results.items():
        us = statistics.median(r["us_per_1000"] for r in rs)
        cpu = statistics.median(r["cpu_us_per_1000"] for r in rs)
        print(
            f"  {names[impl]:<26} {us:6.1f} µs/1000 scans ({base / us:4.2f}x baseline speed), "
            f"CPU {cpu:6.1f} µs/1000 ({base_cpu / cpu:4.2f}x)  "
            f"median add {statistics.median(r['median_add_ms'] for r in rs):5.2f} ms  "
            f"worst add {max(r['worst_add_ms'] for r in rs):6.1f} ms  "
            f"retries {statistics.median(r['retry_us_per_1000'] for r in rs):6.1f} µs/1000  "
            f"runs {rs[0]['runs']}  RSS growth {max(r['rss_growth_mib'] for r in rs):5.1f} MiB  "
            f"peak {max(r['peak_rss_mib'] for r in rs):5.0f} MiB"
        )
        each = ", ".join(f"{r['us_per_1000']:.1f} ({r['cpu_us_per_1000']:.1f} CPU)" for r in rs)
        print(f"      per round µs/1000: {each}")


if __name__ == "__main__":
    main()
