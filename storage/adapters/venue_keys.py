"""Venue identity for sources that name venues instead of numbering them.

Public case lists spell one venue several ways across versions ("Golden Era Plaza" vs
"Golden Era Plaza 金儷星", double spaces, case). A venue key is the normalised text; dense
venue ids are then assigned in sorted key order, so the same input always yields the same
ids (a report built on them is reproducible) and no two keys can ever share an id (a hash
into 32 bits could collide silently).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

# CJK ideographs, CJK punctuation, full-width forms: the appended Chinese shop names.
_CJK: Final = re.compile(
    "[\u2e80-\u2fff\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]+"
)
_SPACE: Final = re.compile(r"\s+")
_EDGE_PUNCT: Final = " ,;:-/"


def normalise_venue_name(text: str | None) -> str:
    """Canonical form of a venue name: NFKC, CJK removed, whitespace collapsed, case-folded.

    Returns "" for a missing or all-CJK name (callers decide whether that is a reject).
    """
    if not text:
        return ""
    folded = unicodedata.normalize("NFKC", text)
    # NFKC maps full-width Latin to ASCII first, so only real ideographs are removed
    folded = _CJK.sub(" ", folded)
    return _SPACE.sub(" ", folded).strip(_EDGE_PUNCT).casefold()


def venue_key(*parts: str | None) -> str:
    """One key from several normalised fields (name, address, district...), '|'-joined."""
    return "|".join(normalise_venue_name(p) for p in parts)


def dense_venue_ids(keys: Sequence[str]) -> tuple[npt.NDArray[np.uint32], list[str]]:
    """(venue id per key, 1-based in sorted key order; the distinct keys, index = id - 1)."""
    uniques, inverse = np.unique(np.asarray(list(keys), dtype=object), return_inverse=True)
    return (inverse.reshape(-1) + 1).astype(np.uint32), [str(k) for k in uniques.tolist()]
