"""One synthetic city written through storage, shared by the engine tests of a session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .city_data import CityStore, build_store


@pytest.fixture(scope="session")
def city_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CityStore]:
    store = build_store(tmp_path_factory.mktemp("tracing-city"))
    yield store
    store.data.close()
