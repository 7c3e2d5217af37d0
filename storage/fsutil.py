"""Durable file replacement: the one way sealing and the manifest put bytes on disk.

A rename is only durable once the directory entry is: write a temp file, fsync it, rename it
over the target, then fsync the directory. A crash at any point leaves either the old file or
the complete new one, plus at worst a stray `*.tmp` that `remove_temp_files` clears.
"""

from __future__ import annotations

import os
from pathlib import Path

TEMP_SUFFIX = ".tmp"


def fsync_dir(path: Path) -> None:
    """fsync a directory so renames and creations in it survive a power cut."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durably(path: Path, data: bytes | memoryview) -> None:
    """Atomically replace `path` with `data` (temp file, fsync, rename, fsync dir)."""
    tmp = path.with_name(path.name + TEMP_SUFFIX)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def remove_temp_files(directory: Path) -> list[Path]:
    """Delete leftover `*.tmp` files under `directory` (a crash mid-write); return them."""
    removed = sorted(directory.rglob("*" + TEMP_SUFFIX)) if directory.exists() else []
    for path in removed:
        path.unlink()
    return removed
