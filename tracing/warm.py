"""Warm the kernels a partition task calls, once per process (a Dask worker at start).

A cold numba compile of the match and case-lookup kernels costs seconds; loading them from
`NUMBA_CACHE_DIR` costs milliseconds. Either way it should happen before the first officer's
trace, not during it. The tiny world below touches every signature a task uses: serial and
parallel matching, the case look-up, and the NHS rule's cross-part next check-in.
"""

from __future__ import annotations

import numba
import numpy as np

from storage.visits import DEFAULT_DWELL_S, Visits
from tracing.index import IndexPart
from tracing.partition import CaseSet, case_rows, partial_of
from tracing.rules import RULE_SETS


def warm_partition_kernels(threads: int = 1) -> None:
    """Compile or load every partition-task kernel in this process; set its thread count."""
    most = int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]
    numba.set_num_threads(max(1, min(threads, most)))
    t0 = 1_700_000_000
    visits = Visits(
        np.array([1, 1, 2], np.uint32),
        np.array([t0, t0 + 60, t0 + 120], np.uint32),
        np.array([t0 + 600, t0 + 900, t0 + 700], np.uint32),
        np.array([1, 2, 1], np.uint64),
        np.zeros(3, np.uint8),
    )
    part = IndexPart.from_visits(visits)
    linked = part.with_peers([IndexPart.from_visits(visits)])
    persons = np.array([1, 2], np.uint64)
    lo = np.array([t0 - 3600, t0 - 3600], np.int64)
    hi = np.array([t0 + 3600, t0 + 3600], np.int64)
    vcat = np.zeros(4, np.uint8)
    for rules in (RULE_SETS["vn-moh"], RULE_SETS["nhs"]):
        target = linked if rules.name == "nhs" else part
        case_rows(target, persons, lo, hi, rules, kind=0, rank=0)
        for n in (1, 2):
            cases = CaseSet(
                persons[:n],
                hi[:n],
                np.arange(n + 1, dtype=np.int64),
                np.ones(n, np.int64),
                lo[:n],
                hi[:n],
            )
            partial_of(
                target, cases, rules, vcat=vcat, dwell_s=DEFAULT_DWELL_S, kind=0, rank=0,
                parallel=n > 1,
            )  # fmt: skip
