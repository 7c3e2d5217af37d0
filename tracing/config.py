"""Numba flags for every tracing kernel, in one place (the stumpy `config.py` habit).

`CACHE` keeps a restarted process from recompiling (a cold compile of the kernels costs
seconds, a cached load milliseconds). `FASTMATH` stays off: every kernel is integer
arithmetic and must equal its plain-Python oracle exactly. `NOGIL` lets a server thread run
a trace while others keep serving. The thread count for batch tracing is owned by the
orchestrator (`tracing.engine`), not set at import.
"""

from __future__ import annotations

from typing import Final

CACHE: Final = True
NOGIL: Final = True
FASTMATH: Final = False
