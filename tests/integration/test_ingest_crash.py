"""kill -9 the ingest server at random points while clients stream; retries lose nothing.

QRTRACE_INGEST_CRASH_ROUNDS sets the number of kills (default 50, the CI size). Longer runs:
`python -m tests.integration.ingest_crash --rounds 500 DIR`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .ingest_crash import crash_rounds
from .ingest_support import env_int

ROUNDS = env_int("QRTRACE_INGEST_CRASH_ROUNDS", 50)


@pytest.mark.slow
def test_kill_9_during_streaming_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    report = crash_rounds(tmp_path, ROUNDS, seed=7)
    assert report.stored_scans == report.acked_scans > 0
    assert report.retried_batches > 0
    assert report.duplicates_answered > 0  # some kills landed between durable write and ack
