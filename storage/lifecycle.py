"""`with store:` for every store that must be closed: one definition instead of one per class.

RocksDB admits one process per database and a hot store must drain its writer before its
files are closed, so every store is used as a context manager in tests, CLI commands and
the server; they share this small base class.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self


class Closing(ABC):
    """Base for objects that own files or threads: `with obj:` calls `obj.close()` on exit."""

    @abstractmethod
    def close(self) -> None:
        """Release what the object holds; safe to call once the object is no longer used."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
