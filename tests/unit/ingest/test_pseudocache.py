"""PseudonymCache: exact agreement with a plain-dict oracle over the real Pseudonymiser.

The oracle hashes each reference one at a time with `Pseudonymiser.person_id` and keeps a
dict; the cache under test probes its numba table and hashes misses in one vectorised call.
Ids, bad masks, sizes and the people offered to the directory sink must match exactly,
through repeats, zeros, growth past the initial table and the `max_entries` reset.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.pseudocache import PseudonymCache
from storage.errors import InvalidIdentifierError
from storage.pseudonym import Pseudonymiser

KEY = bytes(range(32))
U64 = npt.NDArray[np.uint64]
Offer = tuple[list[int], list[str]]


class RejectingPseudonymiser(Pseudonymiser):
    """The real pseudonymiser, but references ending in 7 are invalid (no u64 is otherwise)."""

    def hash_normalised(self, normalised: str) -> int:
        if normalised.endswith("7"):
            raise InvalidIdentifierError("person", "ends in 7 (test rule)")
        return super().hash_normalised(normalised)


@dataclass
class Sink:
    """Records what the cache offers the person directory."""

    offers: list[Offer] = field(default_factory=list)

    def add(self, person_ids: U64, references: list[str]) -> None:
        assert person_ids.dtype == np.uint64
        self.offers.append((person_ids.tolist(), list(references)))


@dataclass
class Oracle:
    """reference -> person id in a dict, one `person_id` call per distinct new reference."""

    p: Pseudonymiser
    max_entries: int
    cache: dict[int, int] = field(default_factory=dict)
    offers: list[Offer] = field(default_factory=list)

    def numbers(self, refs: list[int]) -> tuple[list[int], list[bool]]:
        fresh: dict[int, int | None] = {}
        for ref in sorted({r for r in refs if r != 0 and r not in self.cache}):
            try:
                fresh[ref] = self.p.person_id(str(ref))
            except InvalidIdentifierError:
                fresh[ref] = None
        good = [(r, pid) for r, pid in fresh.items() if pid is not None]
        if good:
            self.offers.append(([pid for _, pid in good], [str(r) for r, _ in good]))
        batch = {**self.cache, **fresh}
        if len(self.cache) + len(good) > self.max_entries:
            self.cache.clear()  # start over empty; keep the first max_entries new ones
        self.cache.update(good[: self.max_entries - len(self.cache)])
        ids = [0 if r == 0 else batch[r] or 0 for r in refs]
        return ids, [pid == 0 for pid in ids]


def check(cache: PseudonymCache, oracle: Oracle, sink: Sink, batches: list[list[int]]) -> None:
    for refs in batches:
        ids, bad = cache.numbers(np.array(refs, dtype=np.uint64))
        want_ids, want_bad = oracle.numbers(refs)
        assert ids.dtype == np.uint64
        assert bad.dtype == np.bool_
        assert ids.tolist() == want_ids
        assert bad.tolist() == want_bad
        assert len(cache) == len(oracle.cache)
    assert sink.offers == oracle.offers


def make(
    max_entries: int = 4_000_000, capacity: int = 0, *, rejecting: bool = False
) -> tuple[PseudonymCache, Oracle, Sink]:
    p = RejectingPseudonymiser(KEY) if rejecting else Pseudonymiser(KEY)
    sink = Sink()
    return (
        PseudonymCache(p, sink, max_entries=max_entries, capacity=capacity),
        Oracle(p, max_entries),
        sink,
    )


#: a few distinct references (so batches repeat people), zero, and the u64 extremes
REFS = st.one_of(
    st.integers(0, 40),
    st.sampled_from([84_912_345_678, 912_345_678, 2**63, 2**64 - 1]),
    st.integers(0, 2**64 - 1),
)


@settings(max_examples=200, deadline=None)
@given(
    batches=st.lists(st.lists(REFS, max_size=60), max_size=12),
    max_entries=st.integers(1, 60),
    rejecting=st.booleans(),
)
def test_small_batches_match_the_oracle(
    batches: list[list[int]], max_entries: int, rejecting: bool
) -> None:
    check(*make(max_entries, rejecting=rejecting), batches)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    shape=st.tuples(st.integers(1, 12_000), st.integers(1, 3_000), st.integers(1, 8)),
    max_entries=st.sampled_from([500, 2_500, 5_000, 4_000_000]),
    zeros=st.floats(0, 0.2),
)
def test_large_batches_grow_reset_and_match_the_oracle(
    seed: int, shape: tuple[int, int, int], max_entries: int, zeros: float
) -> None:
    """Pools past the initial table (2,048 entries), so the table grows by rehash."""
    pool, batch, n_batches = shape
    rng = np.random.default_rng(seed)
    people = rng.choice(10**11, pool, replace=False).astype(np.uint64) + np.uint64(1)
    batches = []
    for _ in range(n_batches):
        refs = rng.choice(people, batch)
        refs[rng.random(batch) < zeros] = 0
        batches.append([int(r) for r in refs])
    check(*make(max_entries, capacity=4, rejecting=bool(seed & 1)), batches)


def test_growth_keeps_every_person_and_hits_skip_the_sink() -> None:
    cache, oracle, sink = make(capacity=1)
    people = np.arange(1, 20_001, dtype=np.uint64) * np.uint64(7_919)  # far past 2,048
    first, first_bad = cache.numbers(people)
    assert not first_bad.any()
    assert len(cache) == len(people)
    again, again_bad = cache.numbers(people[::-1].copy())
    assert again.tolist() == first[::-1].tolist()
    assert not again_bad.any()
    assert [len(refs) for _, refs in sink.offers] == [len(people)]
    assert oracle.numbers(people.tolist())[0] == first.tolist()


def test_zero_and_rejected_references_are_bad_and_never_cached() -> None:
    cache, _, sink = make(rejecting=True)
    ids, bad = cache.numbers(np.array([0, 17, 18, 0, 17], dtype=np.uint64))
    assert bad.tolist() == [True, True, False, True, True]
    assert ids.tolist() == [0, 0, Pseudonymiser(KEY).person_id("18"), 0, 0]
    assert len(cache) == 1
    assert sink.offers == [([int(ids[2])], ["18"])]
    cache.numbers(np.array([17, 18], dtype=np.uint64))  # 17 is re-tried, 18 is a hit
    assert len(sink.offers) == 1


def test_the_bound_starts_over_and_re_offers_people() -> None:
    cache, oracle, sink = make(max_entries=3)
    check(cache, oracle, sink, [[1, 2, 3], [1, 2, 3], [4], [1], [5, 6, 7, 8, 9]])
    assert len(cache) <= 3
    assert [refs for _, refs in sink.offers] == [
        ["1", "2", "3"],
        ["4"],
        ["1"],
        ["5", "6", "7", "8", "9"],
    ]


def test_number_spellings_hash_as_their_text() -> None:
    """84912345678 is the Vietnamese mobile 0912345678, as a phone app would send it."""
    cache, _, _ = make()
    ids, _ = cache.numbers(np.array([84_912_345_678, 912_345_678], dtype=np.uint64))
    p = Pseudonymiser(KEY)
    assert ids.tolist() == [p.person_id("0912345678"), p.person_id("912345678")]


def test_any_integer_array_is_accepted() -> None:
    cache, _, _ = make()
    strided = np.arange(10, dtype=np.int64)[::2]
    ids, bad = cache.numbers(strided)  # type: ignore[arg-type]
    assert bad.tolist() == [True, False, False, False, False]
    assert ids[1:].tolist() == [Pseudonymiser(KEY).person_id(str(i)) for i in (2, 4, 6, 8)]
    assert cache.numbers(np.zeros(0, dtype=np.uint64))[0].shape == (0,)


def test_texts_hash_once_and_offer_new_people_once() -> None:
    cache, _, sink = make()
    p = Pseudonymiser(KEY)
    ids, bad = cache.texts(["0912-345-678", "", "CCCD:1", "CCCD:1"])
    assert bad.tolist() == [False, True, False, False]
    cccd = p.person_id("CCCD:1")
    assert ids.tolist() == [p.person_id("0912345678"), 0, cccd, cccd]
    assert len(cache) == 2
    cache.texts(["CCCD:1"])
    assert [refs for _, refs in sink.offers] == [["0912-345-678", "CCCD:1"]]
