"""Imports go one way: api -> ingest/tracing -> storage; api.protos is a leaf anyone may use."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TIERS = ("api", "ingest", "tracing", "storage")
SHARED_LEAF = "api.protos"
ALLOWED: dict[str, set[str]] = {
    "api": {"api", "ingest", "tracing", "storage"},
    "ingest": {"ingest", "storage"},
    "tracing": {"tracing", "storage"},
    "storage": {"storage"},
}


def _imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def layer_violations(root: Path) -> list[str]:
    """Every import of a tier that its layer may not depend on, as 'file:line: a -> b'."""
    problems: list[str] = []
    for tier in TIERS:
        for path in sorted((root / tier).rglob("*.py")):
            if SHARED_LEAF.replace(".", "/") in path.relative_to(root).as_posix():
                continue
            for lineno, module in _imported_modules(path):
                top = module.split(".")[0]
                if top not in TIERS or module.startswith(SHARED_LEAF):
                    continue
                if top not in ALLOWED[tier]:
                    rel = path.relative_to(root)
                    problems.append(f"{rel}:{lineno}: {tier} -> {module}")
    return problems


def test_no_import_against_the_layering() -> None:
    assert layer_violations(ROOT) == []


@pytest.mark.parametrize(
    ("tier", "statement"),
    [
        ("storage", "from tracing import engine"),
        ("storage", "import api.cli"),
        ("tracing", "from ingest.server import create_server"),
        ("ingest", "import tracing.kernels"),
    ],
)
def test_checker_catches_a_reverse_edge(tmp_path: Path, tier: str, statement: str) -> None:
    for name in TIERS:
        (tmp_path / name).mkdir()
    (tmp_path / tier / "bad.py").write_text(statement + "\n")
    assert layer_violations(tmp_path) == [f"{tier}/bad.py:1: {tier} -> {statement.split()[1]}"]


def test_protos_are_a_shared_leaf(tmp_path: Path) -> None:
    for name in TIERS:
        (tmp_path / name).mkdir()
    (tmp_path / "storage" / "ok.py").write_text("from api.protos.checkin.v1 import scan_pb2\n")
    assert layer_violations(tmp_path) == []
