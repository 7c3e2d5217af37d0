from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.directory import PersonDirectory
from storage.domain import WARD_BY_CODE
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


def test_contains_and_missing_are_vectorised_membership(tmp_path: Path) -> None:
    with PersonDirectory(tmp_path / "people") as d:
        d.upsert_many(np.array([5, 1, 9], np.uint64), ["a", "b", "c"], np.zeros(3, np.uint8))
        query = np.array([9, 2, 5, 5, 0, 1, 7], np.uint64)
        assert d.contains(query).tolist() == [True, False, True, True, False, True, False]
        assert d.missing(query).tolist() == [0, 2, 7]
        assert d.missing(np.empty(0, np.uint64)).tolist() == []


@settings(max_examples=40, deadline=None)
@given(
    writes=st.lists(
        st.lists(st.tuples(st.integers(1, 60), st.sampled_from([0, 1, 2])), max_size=30),
        max_size=12,
    ),
    forgotten=st.lists(st.integers(1, 60), max_size=10),
)
def test_incremental_merge_agrees_with_a_dict(
    tmp_path_factory: pytest.TempPathFactory,
    writes: list[list[tuple[int, int]]],
    forgotten: list[int],
) -> None:
    """Many small writes (delta, folds), then forget: wards and membership as a dict says."""
    wards = sorted(WARD_BY_CODE)[:2]
    expected: dict[int, int] = {}
    path = tmp_path_factory.mktemp("dir") / "people"
    with PersonDirectory(path) as d:
        d._fold_at = 4  # fold often so both tiers are exercised
        for batch in writes:
            ids = np.array([p for p, _ in batch], np.uint64)
            ward = np.array([0 if w == 0 else wards[w - 1] for _, w in batch], np.uint8)
            d.upsert_many(ids, [f"r{p}" for p, _ in batch], ward)
            for p, w in zip(ids.tolist(), ward.tolist(), strict=True):
                expected[p] = w
        probe = np.arange(0, 62, dtype=np.uint64)
        want = [expected.get(p, 0) for p in range(62)]
        assert d.home_wards(probe).tolist() == want
        assert d.contains(probe).tolist() == [p in expected for p in range(62)]
        d.forget(np.array(forgotten, np.uint64))
        for p in forgotten:
            expected.pop(p, None)
        assert d.person_ids().tolist() == sorted(expected)
        assert d.missing(probe).tolist() == [p for p in range(62) if p not in expected]
    with PersonDirectory(path) as again:  # the durable rows agree with the memory view
        assert again.home_wards(probe).tolist() == [expected.get(p, 0) for p in range(62)]
