"""The serving event loop: uvloop by default, asyncio's own by setting."""

from __future__ import annotations

import asyncio

import pytest
import uvloop

from ingest.loop import run
from storage.settings import load_settings


async def _loop_type() -> type:
    await asyncio.sleep(0)
    return type(asyncio.get_running_loop())


def test_uvloop_is_the_default() -> None:
    assert load_settings(None).event_loop == "uvloop"
    assert issubclass(run(_loop_type(), "uvloop"), uvloop.Loop)


@pytest.mark.parametrize("name", ["asyncio"])
def test_asyncio_loop_by_setting(name: str) -> None:
    loop_type = run(_loop_type(), name)  # type: ignore[arg-type]
    assert not issubclass(loop_type, uvloop.Loop)
    assert issubclass(loop_type, asyncio.AbstractEventLoop)
