import stat
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage.errors import InvalidIdentifierError
from storage.pseudonym import (
    KEY_BYTES,
    Pseudonymiser,
    load_or_create_key,
    normalise_reference,
)

KEY = bytes(range(32))


@pytest.mark.parametrize(
    "spelling", ["0912345678", "+84912345678", "84912345678", "+84 912 345 678", "0912-345-678"]
)
def test_vietnamese_mobile_spellings_are_one_person(spelling: str) -> None:
    assert normalise_reference(spelling) == "0912345678"


def test_integers_are_their_decimal_text() -> None:
    assert normalise_reference(379351) == "379351"
    assert normalise_reference(np.uint32(7)) == "7"


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("x" * 65, "65 characters"),
        ("a;b", "characters"),
        (-1, "negative"),
        (True, "boolean"),
        (1.5, "expected text"),
    ],
)
def test_invalid_references_name_field_and_reason(bad: object, reason: str) -> None:
    with pytest.raises(InvalidIdentifierError, match=reason) as info:
        normalise_reference(bad, field="scans[3].person")  # type: ignore[arg-type]
    assert info.value.field == "scans[3].person"


def test_pseudonym_depends_on_key_and_is_stable() -> None:
    a, b = Pseudonymiser(KEY), Pseudonymiser(bytes(32))
    assert a.person_id("0912345678") == a.person_id("+84 912 345 678")
    assert a.person_id("0912345678") != b.person_id("0912345678")
    assert 0 < a.person_id("x") < 2**64


@given(
    st.lists(
        st.one_of(st.integers(0, 10**12), st.from_regex(r"[0-9A-Za-z]{1,20}", fullmatch=True)),
        max_size=60,
    )
)
def test_vectorised_equals_one_by_one(refs: list[object]) -> None:
    p = Pseudonymiser(KEY)
    texts = [str(r) for r in refs]
    assert p.person_ids(texts).tolist() == [p.person_id(t) for t in texts]


@given(
    st.lists(
        st.one_of(
            st.integers(-5, 10**12),
            st.booleans(),
            st.floats(allow_nan=False),
            st.from_regex(r"[0-9A-Za-z;+ ]{0,12}", fullmatch=True),
        ),
        max_size=40,
    )
)
def test_masked_batch_equals_one_by_one(refs: list[object]) -> None:
    """Any mix of values: each row is its own pseudonym, or masked where that one raises."""
    p = Pseudonymiser(KEY)
    expected: list[int | None] = []
    for ref in refs:
        try:
            expected.append(p.person_id(ref))  # type: ignore[arg-type]
        except InvalidIdentifierError:
            expected.append(None)
    ids, bad = p.person_ids_or_invalid(refs)  # type: ignore[arg-type]
    assert bad.tolist() == [e is None for e in expected]
    assert ids.tolist() == [0 if e is None else e for e in expected]


def test_invalid_rows_are_masked_not_fatal() -> None:
    p = Pseudonymiser(KEY)
    ids, bad = p.person_ids_or_invalid(["0912345678", "", "ok-1", "a;b"])
    assert bad.tolist() == [False, True, False, True]
    assert ids[1] == ids[3] == 0
    assert ids[0] == p.person_id("0912345678")
    with pytest.raises(InvalidIdentifierError, match=r"person\[1\]"):
        p.person_ids(["0912345678", ""])


def test_key_is_created_once_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "pseudonym.key"
    key = load_or_create_key(path)
    assert len(key) == KEY_BYTES
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(path) == key


def test_truncated_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "k"
    path.write_bytes(b"short")
    with pytest.raises(InvalidIdentifierError, match="5 bytes"):
        load_or_create_key(path)
