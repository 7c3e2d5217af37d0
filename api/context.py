"""Everything the officer services share, built once over the ingest node's open stores.

`qrtrace serve` opens the data directory once (RocksDB admits one process), so the API reuses
the ingest node's DataDir, venue registry, person directory and venue key ring, and adds its
own pieces: the tracing index over the same hot store and segments, the case store (SQLite),
the audit log and the authenticator. `ApiContext.audited` is the one path by which an
operation records its audit entry before its data leaves the process.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from api.audit import AuditEntry, AuditLog
from api.auth import Authenticator, Identity, users_path
from api.casestore import CaseStore
from api.errors import PermissionDeniedError
from api.merged_node import MergedNode
from api.policy import PERSON_LEVEL, authorize
from ingest.node import IngestNode
from storage.errors import QrtraceError
from storage.pseudonym import Pseudonymiser, load_or_create_key
from tracing.dask_cluster import ClusterTracing
from tracing.engine import PersonLookup, TraceEngine, VenueInfo
from tracing.index import IndexSource

T = TypeVar("T")


class DirectoryPeople(PersonLookup):
    """References and home wards from the person directory (for result documents)."""

    def __init__(self, node: IngestNode | MergedNode) -> None:
        self._people = node.people

    def home_wards(self, person_ids: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint8]:
        return self._people.home_wards(np.asarray(person_ids, dtype=np.uint64))

    def references(self, person_ids: npt.NDArray[np.uint64]) -> list[str | None]:
        out: list[str | None] = []
        for p in np.asarray(person_ids).tolist():
            record = self._people.lookup(int(p))
            out.append(None if record is None else record.reference)
        return out


def new_request_id() -> str:
    """A request id for the audit log and error bodies (clients may send their own)."""
    return uuid.uuid4().hex[:16]


class ApiContext:
    """The node's stores plus the API's own: index, cases, audit, users."""

    def __init__(self, node: IngestNode | MergedNode) -> None:
        root = Path(node.settings.data_dir)
        self.node = node
        self.settings = node.settings
        # one process's HotStore or the multi-process merged view: both are a TailView
        self.index = IndexSource(node.data.hot, node.data.manifest, node.data.segment_dir)
        self.people = DirectoryPeople(node)
        self.pseudonyms = Pseudonymiser(load_or_create_key(node.data.pseudonym_key_path))
        self.cases = CaseStore(root / "api" / "cases.sqlite")
        self.audit = AuditLog(root / "audit")
        self.auth = Authenticator(users_path(root), node.tokens)
        #: traces run on this Dask cluster when `dask_scheduler` is set (tracing.distributed)
        self.cluster = (
            ClusterTracing.open(
                self.settings, self.index.snapshot, segment_dir=node.data.segment_dir,
                n_shards=node.data.manifest.n_shards,
            )
            if self.settings.dask_scheduler
            else None
        )  # fmt: skip

    def engine(self) -> TraceEngine:
        """A trace engine over the current venues and index parts (cheap: caches live below)."""
        arrays = self.node.venues.arrays()
        venues = VenueInfo(arrays.ward, arrays.category)
        if self.cluster is not None:
            return self.cluster.engine(venues, self.people)
        return TraceEngine(self.index.parts, venues, self.people)

    def audited(
        self,
        identity: Identity,
        operation: str,
        request_id: str,
        purpose: str,
        run: Callable[[], tuple[T, int, str | None]],
    ) -> T:
        """Authorize, run, then append the audit entry, and only then return the result.

        `run` returns (result, rows returned, case). Refusals and domain errors of
        person-level operations are audited too; a failed audit write fails the call.
        """
        base = {
            "officer": identity.name,
            "role": identity.role.value,
            "ward": identity.ward,
            "operation": operation,
            "purpose": purpose or "unspecified",
            "request_id": request_id,
        }
        try:
            authorize(identity, operation)
            result, rows, case = run()
        except QrtraceError as exc:
            denied = isinstance(exc, PermissionDeniedError)
            if denied or operation in PERSON_LEVEL:
                self.audit.append(
                    AuditEntry(
                        **base,  # type: ignore[arg-type]
                        case=None,
                        rows=0,
                        outcome="denied" if denied else "error",
                        detail=str(exc)[:300],
                    )
                )
            raise
        if operation in PERSON_LEVEL:
            self.audit.append(AuditEntry(**base, case=case, rows=rows))  # type: ignore[arg-type]
        return result

    def refuse_unauthenticated(self, operation: str, request_id: str, reason: str) -> None:
        """Record an unauthenticated attempt (who is unknown, so the officer is '-')."""
        self.audit.append(
            AuditEntry(
                officer="-",
                role="-",
                ward=None,
                operation=operation,
                case=None,
                purpose="-",
                rows=0,
                request_id=request_id,
                outcome="denied",
                detail=reason[:300],
            )
        )

    def close(self) -> None:
        if self.cluster is not None:
            self.cluster.close()
        self.cases.close()
        self.audit.close()
