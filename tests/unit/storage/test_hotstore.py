"""HotStore on real RocksDB files: durability, verdicts, group commit, rebuild, pitfalls."""

from __future__ import annotations

import asyncio
import gc
import threading
from pathlib import Path

import numpy as np
import pytest
from rocksdict import Options, Rdict, WriteOptions

from storage.dedupe import Verdict
from storage.errors import CorruptBatchError, StoreClosedError, StoreLayoutError
from storage.hotstore import HotStore, batch_key, parse_batch_key
from storage.records import local_day

from .scan_factory import DAY, random_scans


def test_acked_scans_survive_reopen_once(tmp_path: Path) -> None:
    scans = random_scans(5_000, seed=1)
    with HotStore(tmp_path / "hot", n_shards=4) as hot:
        futures = [hot.submit(scans[i : i + 500]) for i in range(0, 5_000, 500)]
        assert all((f.result() == Verdict.ACCEPTED).all() for f in futures)
    with HotStore(tmp_path / "hot", n_shards=4) as hot:
        tail, seq_hi, _ = hot.tail_scans(DAY)
        assert sorted(tail.tobytes()[i : i + 36] for i in range(0, len(tail) * 36, 36)) == sorted(
            scans.tobytes()[i : i + 36] for i in range(0, len(scans) * 36, 36)
        )
        assert seq_hi >= 0
        # the rebuilt index still knows every scan
        assert (hot.submit(scans).result() == Verdict.DUPLICATE).all()


def test_retry_verdicts_duplicate_and_conflict(tmp_path: Path) -> None:
    scans = random_scans(10)
    with HotStore(tmp_path / "hot") as hot:
        hot.submit(scans).result()
        retry = scans.copy()
        retry["venue"][3] += 1
        verdicts = hot.submit(retry).result()
        assert verdicts.dtype == np.uint8
        assert verdicts[3] == Verdict.CONFLICT
        assert (np.delete(verdicts, 3) == Verdict.DUPLICATE).all()
        assert hot.stats().scans_written == 10


def test_keys_are_day_shard_sequence_and_one_value_per_shard(tmp_path: Path) -> None:
    scans = random_scans(1_000)
    with HotStore(tmp_path / "hot", n_shards=8) as hot:
        hot.submit(scans).result()
    db = Rdict(str(tmp_path / "hot"), Options(raw_mode=True))
    try:
        keys = [parse_batch_key(k) for k, _ in db.items() if not k.startswith(b"\xff" * 4)]
    finally:
        db.close()
    assert [k[0] for k in keys] == [DAY] * 8
    assert sorted(k[1] for k in keys) == list(range(8))
    assert batch_key(1, 2, 3) < batch_key(1, 3, 0) < batch_key(2, 0, 0)


def test_group_commit_covers_many_batches_per_fsync(tmp_path: Path) -> None:
    with HotStore(tmp_path / "hot", queue_size=4096) as hot:
        futures = [hot.submit(random_scans(100, seed=s)) for s in range(300)]
        for f in futures:
            f.result()
        stats = hot.stats()
    assert stats.requests == 300
    assert stats.commits < 300
    assert int(stats.group_scans.sum()) == stats.scans_written == 30_000


def test_submit_async(tmp_path: Path) -> None:
    async def go(hot: HotStore) -> np.ndarray:
        return await hot.submit_async(random_scans(20))

    with HotStore(tmp_path / "hot") as hot:
        assert (asyncio.run(go(hot)) == Verdict.ACCEPTED).all()


def test_closed_store_refuses_writes(tmp_path: Path) -> None:
    hot = HotStore(tmp_path / "hot")
    hot.close()
    with pytest.raises(StoreClosedError, match="closed"):
        hot.submit(random_scans(1))


def test_shard_count_is_checked_at_open(tmp_path: Path) -> None:
    HotStore(tmp_path / "hot", n_shards=4).close()
    with pytest.raises(StoreLayoutError, match="n_shards=4"):
        HotStore(tmp_path / "hot", n_shards=8)


def test_sealed_sequences_stay_out_of_the_tail(tmp_path: Path) -> None:
    with HotStore(tmp_path / "hot") as hot:
        hot.submit(random_scans(100, seed=1)).result()
        _, seq_hi, _ = hot.tail_scans(DAY)
        hot.submit(random_scans(50, seed=2)).result()
    with HotStore(tmp_path / "hot", sealed={DAY: seq_hi}) as hot:
        tail, _, _ = hot.tail_scans(DAY)
        assert len(tail) == 50
        # sealed scans are still de-duplicated
        assert (hot.submit(random_scans(100, seed=1)).result() == Verdict.DUPLICATE).all()
        hot.mark_sealed(DAY, 10**9)
        assert hot.tail_days() == []


def test_drop_days_before_forgets_old_days(tmp_path: Path) -> None:
    old = random_scans(100, seed=1, day=DAY - 1)
    with HotStore(tmp_path / "hot") as hot:
        hot.submit(old).result()
        hot.submit(random_scans(100, seed=2)).result()
        with pytest.raises(ValueError, match="unsealed"):
            hot.drop_days_before(DAY)
        hot.mark_sealed(DAY - 1, 10**9)
        hot.drop_days_before(DAY)
        assert hot.stats().index_entries == 100
    with HotStore(tmp_path / "hot") as hot:
        assert set(local_day(hot.tail_scans(DAY)[0]["t"]).tolist()) == {DAY}
        assert hot.tail_days() == [DAY]


def test_corrupt_value_fails_open_naming_the_key(tmp_path: Path) -> None:
    HotStore(tmp_path / "hot").close()
    db = Rdict(str(tmp_path / "hot"), Options(raw_mode=True))
    db.put(batch_key(DAY, 0, 0), b"QS\x01\x00garbage")
    db.close()
    with pytest.raises(CorruptBatchError, match=batch_key(DAY, 0, 0).hex()):
        HotStore(tmp_path / "hot")


# ---- rocksdict pitfalls (DESIGN §5): if one of these starts failing, rocksdict changed and
# ---- the workaround in storage/ may be reconsidered.


def test_pitfall_snapshot_iteration_ignores_the_snapshot(tmp_path: Path) -> None:
    db = Rdict(str(tmp_path / "db"), Options(raw_mode=True))
    try:
        db[b"a"] = b"1"
        snapshot = db.snapshot()
        db[b"b"] = b"2"
        assert [k for k, _ in snapshot.items()] == [b"a", b"b"]  # sees the later write
        del snapshot
    finally:
        db.close()


def test_pitfall_write_options_sync_is_an_attribute() -> None:
    with pytest.raises(TypeError):
        WriteOptions(sync=True)  # type: ignore[call-arg]
    opts = WriteOptions()
    opts.sync = True
    assert opts.sync is True


def test_pitfall_column_family_handle_keeps_db_locked_after_close(tmp_path: Path) -> None:
    path = str(tmp_path / "db")
    db = Rdict(path, Options(raw_mode=True))
    cf = db.create_column_family("x", Options(raw_mode=True))
    db.close()
    with pytest.raises(Exception, match="lock"):
        Rdict(path, Options(raw_mode=True))
    del cf
    gc.collect()
    Rdict(path, Options(raw_mode=True), column_families={"x": Options(raw_mode=True)}).close()


def test_drop_days_before_keeps_scans_acked_during_the_index_rebuild(tmp_path: Path) -> None:
    """A scan committed while the index is rebuilt must still be a DUPLICATE on retry."""
    with HotStore(tmp_path / "hot", n_shards=4) as hot:
        for seed in range(20):  # a log big enough that the rebuild takes a while
            hot.submit(random_scans(5_000, seed=100 + seed)).result()
        hot.submit(random_scans(500, seed=1, day=DAY - 3)).result()
        acked: list[np.ndarray] = []
        stop = threading.Event()

        def writer() -> None:
            seed = 1_000
            while not stop.is_set():
                batch = random_scans(200, seed=seed)
                assert (hot.submit(batch).result() == Verdict.ACCEPTED).all()
                acked.append(batch)
                seed += 1

        thread = threading.Thread(target=writer)
        thread.start()
        try:
            dropped = hot.drop_days_before(DAY - 1, include_unsealed=True)
        finally:
            stop.set()
            thread.join()
        assert dropped.scans == 500
        assert len(acked) > 0
        for batch in acked:
            assert (hot.submit(batch).result() == Verdict.DUPLICATE).all()
        assert hot.stats().index_entries == 100_000 + 200 * len(acked)


def test_tail_past_its_memory_budget_is_read_back_from_the_log(tmp_path: Path) -> None:
    """Only the newest values stay in memory; readers get every scan, in log order."""
    batches = [random_scans(1_000, seed=s) for s in range(6)]
    with HotStore(tmp_path / "hot", n_shards=2, tail_memory_bytes=60_000) as hot:
        for b in batches:
            hot.submit(b).result()
        assert hot._tail.resident_bytes <= 60_000
        tail, _, _ = hot.tail_scans(DAY)
        assert hot.stats().tail_scans == 6_000
        expected = np.sort(np.concatenate(batches)["scan_id"].view("S16"))
        assert np.array_equal(np.sort(tail["scan_id"].view("S16")), expected)
        hot.mark_sealed(DAY, 5)  # the first values sealed: out of the tail, resident or not
        rest, _, _ = hot.tail_scans(DAY)
        assert len(rest) == hot.stats().tail_scans < 6_000
    with HotStore(tmp_path / "hot", n_shards=2, tail_memory_bytes=0, sealed={DAY: 5}) as hot:
        again, _, _ = hot.tail_scans(DAY)  # rebuilt at open with nothing resident
        assert hot._tail.resident_bytes == 0
        assert np.array_equal(np.sort(again.view("S36")), np.sort(rest.view("S36")))
