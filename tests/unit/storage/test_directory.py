from pathlib import Path

import numpy as np
import pytest

from storage.directory import PersonDirectory
from storage.errors import InvalidInputError


def test_home_wards_vectorised_and_durable(tmp_path: Path) -> None:
    ids = np.array([30, 10, 20], dtype=np.uint64)
    with PersonDirectory(tmp_path / "d") as d:
        d.upsert_many(ids, ["a", "b", "c"], np.array([3, 1, 2]), phones=["0912345678", None, None])
    with PersonDirectory(tmp_path / "d") as d:
        query = np.array([10, 11, 30, 20, 2**63], dtype=np.uint64)
        assert d.home_wards(query).tolist() == [1, 0, 3, 2, 0]
        record = d.lookup(30)
        assert record is not None
        assert (record.reference, record.home_ward, record.phone) == ("a", 3, "0912345678")
        assert d.lookup(11) is None


def test_last_write_wins(tmp_path: Path) -> None:
    with PersonDirectory(tmp_path / "d") as d:
        d.upsert_many(np.array([5], dtype=np.uint64), ["x"], np.array([4]))
        d.upsert_many(np.array([5, 5], dtype=np.uint64), ["y", "z"], np.array([6, 7]))
        assert d.home_wards(np.array([5], dtype=np.uint64)).tolist() == [7]
        assert len(d) == 1


def test_forget_removes_rows(tmp_path: Path) -> None:
    with PersonDirectory(tmp_path / "d") as d:
        d.upsert_many(np.array([1, 2, 3], dtype=np.uint64), ["a", "b", "c"], np.array([1, 2, 3]))
        assert d.forget(np.array([2, 9], dtype=np.uint64)) == 1
        d.compact()
        assert d.person_ids().tolist() == [1, 3]
        assert d.lookup(2) is None
    with PersonDirectory(tmp_path / "d") as d:
        assert d.person_ids().tolist() == [1, 3]


def test_bad_ward_is_refused_with_index(tmp_path: Path) -> None:
    with PersonDirectory(tmp_path / "d") as d:
        with pytest.raises(InvalidInputError, match=r"home_wards\[1\]"):
            d.upsert_many(np.array([1, 2], dtype=np.uint64), ["a", "b"], np.array([1, 77]))
        assert len(d) == 0
