"""Numba flags for every storage kernel, in one place.

`CACHE` keeps a restarted process (the crash tests restart it many times) from recompiling;
`NOGIL` lets the hot store's writer thread run a kernel while the event loop and the gRPC
threads keep going.
"""

from __future__ import annotations

from typing import Final

CACHE: Final = True
NOGIL: Final = True
