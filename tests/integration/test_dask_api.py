"""`qrtrace serve --dask`: the officer API traces on a Dask cluster and answers what it
answers locally (TraceCase with F2, Clusters, TraceCases), on a real node over loopback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from distributed import LocalCluster

from .api_support import REFS, NodeThread, build_world
from .test_dask_tracing import NUMBA_CACHE

pytestmark = pytest.mark.slow


def _requests(node: NodeThread, token: str, *, register: bool) -> list[dict[str, Any]]:
    """Two traces, then clusters over the registered cases (`register`: add one first)."""
    headers = {"authorization": f"Bearer {token}"}
    out = []
    with httpx.Client(base_url=node.http_base, timeout=60) as c:
        for body in (
            {"person": REFS[0], "sample_date": "2021-09-07", "f2": True},
            {"person": REFS[5], "start": "2021-09-06T08:00", "end": "2021-09-06T12:00"},
        ):
            r = c.post("/v1/trace/case", json=body, headers=headers)
            assert r.status_code == 200, r.text
            out.append(r.json())
        if register:
            case = {"person": REFS[0], "sample_date": "2021-09-07"}
            r = c.post("/v1/cases", json=case, headers=headers)
            assert r.status_code == 200, r.text
        r = c.post("/v1/clusters", json={}, headers=headers)
        assert r.status_code == 200, r.text
        out.append(r.json())
        labels = [comp["cases"][0] for comp in out[-1]["components"]]
        assert labels
        r = c.post("/v1/trace/cases", json={"case_ids": labels}, headers=headers)  # batch
        assert r.status_code == 200, r.text
        out.append(r.json())
        out[-1].pop("elapsed_ms")
    for doc in out:
        doc.pop("request_id", None)
    return out


def test_serve_dask_answers_what_the_local_node_answers(tmp_path: Path) -> None:
    world = build_world(tmp_path / "data")
    node = NodeThread(world.settings)
    try:
        local = _requests(node, world.tokens["admin"], register=True)
    finally:
        node.stop()
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:  # fmt: skip
        dask = {"dask_scheduler": cluster.scheduler_address, "dask_numba_cache_dir": NUMBA_CACHE}
        settings = world.settings.model_copy(update=dask)
        node = NodeThread(settings)
        try:
            assert node.servers is not None
            assert node.servers.ctx.cluster is not None
            remote = _requests(node, world.tokens["admin"], register=False)
        finally:
            node.stop()
    assert remote[0]["contacts"]
    assert remote == local
