"""The hexagon's rules: domain/ imports only the standard library; use cases only the domain and
the ports. A violation fails here rather than in review."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "pixelpress"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("path", sorted((SRC / "domain").glob("*.py")), ids=lambda p: p.name)
def test_domain_uses_only_the_standard_library(path: Path) -> None:
    for module in imported_modules(path):
        top = module.split(".")[0]
        assert top in sys.stdlib_module_names or module.startswith("pixelpress.domain"), module


@pytest.mark.parametrize("path", sorted((SRC / "usecases").glob("*.py")), ids=lambda p: p.name)
def test_usecases_use_only_domain_and_ports(path: Path) -> None:
    allowed = ("pixelpress.domain", "pixelpress.ports", "pixelpress.usecases")
    for module in imported_modules(path):
        top = module.split(".")[0]
        assert top in sys.stdlib_module_names or module.startswith(allowed), module


API_FILES = sorted((SRC / "api").rglob("*.py"))


@pytest.mark.parametrize("path", API_FILES, ids=lambda p: str(p.relative_to(SRC)))
def test_the_api_reads_no_settings_and_imports_no_adapter(path: Path) -> None:
    """Routes, dependencies and middleware get what they need from the root (the services and
    an ApiConfig); only the app factory, which `pixelpress serve` calls with Settings, starts
    the root."""
    entry = path == SRC / "api" / "app.py"
    for module in imported_modules(path):
        assert not module.startswith("pixelpress.adapters"), module
        if not entry:
            assert not module.startswith(("pixelpress.settings", "pixelpress.bootstrap")), module
