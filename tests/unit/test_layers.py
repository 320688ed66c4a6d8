"""Imports point down the flow (DESIGN.md): the pure parts import no I/O library, and
store/ imports nothing from the parts above it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "qtinfra"
IO_LIBRARIES = {"quickfix", "sqlalchemy", "psycopg", "fastapi", "uvicorn", "http", "socket"}


def imports(package: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for path in (SRC / package).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
        out[str(path.relative_to(SRC))] = names
    return out


@pytest.mark.parametrize("package", ["domain", "risk", "routing"])
def test_pure_parts_import_no_io_library(package: str) -> None:
    for module, names in imports(package).items():
        bad = {n for n in names if n.split(".")[0] in IO_LIBRARIES}
        assert not bad, f"{module} imports {bad}"


def test_store_imports_nothing_above_it() -> None:
    above = ("qtinfra.oms", "qtinfra.ops", "qtinfra.fix", "qtinfra.gateway", "qtinfra.reports")
    for module, names in imports("store").items():
        bad = {n for n in names if n.startswith(above)}
        assert not bad, f"{module} imports {bad}"
