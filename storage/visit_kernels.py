"""Pure numba kernels that turn one local day's sorted scans into visits.

Arrays in, arrays out: no Arrow, no objects, no logging. `storage.visits` sorts, validates and
shapes; the rule itself is documented there and in `build_visits`.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from storage.jit import CACHE, NOGIL

# Keep in sync with storage.visits.VisitFlag (numba cannot read an IntEnum).
_OBSERVED = 0
_NEXT_SCAN = 1
_DEFAULT_DWELL = 2
_DAY_END = 3
_T_IN_IMPUTED = 4
_OUT = 1


@njit(cache=CACHE, nogil=NOGIL)
def _emit(  # noqa: PLR0917 - numba kernels take positional arrays
    k: int,
    venue: int,
    t_in: int,
    t_out: int,
    person: np.uint64,
    flags: int,
    o_venue: npt.NDArray[np.uint32],
    o_t_in: npt.NDArray[np.uint32],
    o_t_out: npt.NDArray[np.uint32],
    o_person: npt.NDArray[np.uint64],
    o_flags: npt.NDArray[np.uint8],
) -> int:  # pragma: no cover
    """Append one visit unless it is empty (t_out <= t_in); return the new count."""
    if t_out <= t_in:
        return k
    o_venue[k] = venue
    o_t_in[k] = t_in
    o_t_out[k] = t_out
    o_person[k] = person
    o_flags[k] = flags
    return k + 1


@njit(cache=CACHE, nogil=NOGIL)
def _build_visits(  # noqa: PLR0917 - numba kernels take positional arrays
    person: npt.NDArray[np.uint64],
    t: npt.NDArray[np.int64],
    direction: npt.NDArray[np.uint8],
    venue: npt.NDArray[np.uint32],
    dwell: npt.NDArray[np.int64],
    day_start: int,
    day_end: int,
    o_venue: npt.NDArray[np.uint32],
    o_t_in: npt.NDArray[np.uint32],
    o_t_out: npt.NDArray[np.uint32],
    o_person: npt.NDArray[np.uint64],
    o_flags: npt.NDArray[np.uint8],
) -> int:  # pragma: no cover
    """Visits of scans sorted by (person, t, OUT before IN, venue); returns the visit count.

    Outputs must hold len(person) rows: every scan yields at most one visit.
    """
    n = person.shape[0]
    k = 0
    i = 0
    while i < n:
        p = person[i]
        is_open = False
        ov = 0
        ot = 0
        od = 0
        prev_t = -1
        while i < n and person[i] == p:
            ti = t[i]
            vi = int(venue[i])
            handled = False
            if is_open:
                cap = min(ot + od, day_end)
                cap_flag = _DEFAULT_DWELL if ot + od <= day_end else _DAY_END
                if vi == ov:
                    if direction[i] == _OUT:
                        k = _emit(
                            k, ov, ot, ti, p, _OBSERVED, o_venue, o_t_in, o_t_out, o_person, o_flags
                        )
                        is_open = False
                        handled = True
                    elif ti < cap:
                        handled = True  # a repeated IN while still there: same visit
                    else:
                        k = _emit(
                            k, ov, ot, cap, p, cap_flag, o_venue, o_t_in, o_t_out, o_person, o_flags
                        )
                        is_open = False
                else:
                    if ti <= cap:
                        k = _emit(
                            k,
                            ov,
                            ot,
                            ti,
                            p,
                            _NEXT_SCAN,
                            o_venue,
                            o_t_in,
                            o_t_out,
                            o_person,
                            o_flags,
                        )
                    else:
                        k = _emit(
                            k, ov, ot, cap, p, cap_flag, o_venue, o_t_in, o_t_out, o_person, o_flags
                        )
                    is_open = False
            if not handled:
                if direction[i] == _OUT:
                    start = max(ti - dwell[i], day_start, prev_t)
                    k = _emit(
                        k,
                        vi,
                        start,
                        ti,
                        p,
                        _OBSERVED | _T_IN_IMPUTED,
                        o_venue,
                        o_t_in,
                        o_t_out,
                        o_person,
                        o_flags,
                    )
                else:
                    is_open = True
                    ov = vi
                    ot = ti
                    od = dwell[i]
            prev_t = ti
            i += 1
        if is_open:
            cap = min(ot + od, day_end)
            cap_flag = _DEFAULT_DWELL if ot + od <= day_end else _DAY_END
            k = _emit(k, ov, ot, cap, p, cap_flag, o_venue, o_t_in, o_t_out, o_person, o_flags)
    return k
