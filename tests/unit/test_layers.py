"""The hexagon's rules, read from the source: domain/ imports only the standard library; ports
the domain; use cases the domain and the ports (no adapter, no web framework); the API no adapter;
and the import graph of src/ has no cycle. A violation fails here rather than in review."""

from __future__ import annotations

import ast
import graphlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "pixelpress"
MAX_LINES = 320
"""Design.md's "a module that passes ~400 lines is asking to be split", as the issue set it:
about 300."""


def module_of(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_of(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node, except what sits under `if TYPE_CHECKING:` (imported for annotations only)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for child in node.orelse for n in ast.walk(child))
            continue
        yield node
        yield from _runtime_nodes(node)


def imports_of(path: Path, known: set[str]) -> set[str]:
    """What `path` imports at run time (lazy imports in functions included), each resolved to
    the module it names: `from pixelpress.x import y` is `pixelpress.x.y` when that is a
    module, else `pixelpress.x`."""
    here = module_of(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                child = f"{base}.{alias.name}"
                found.add(child if child in known else base)
    return found


def third_party(module: str) -> bool:
    top = module.split(".")[0]
    return top not in sys.stdlib_module_names and top != "pixelpress"


def layer(name: str) -> list[tuple[str, Path]]:
    return [(m, p) for m, p in modules().items() if m == name or m.startswith(name + ".")]


def check(name: str, allowed: tuple[str, ...], *, libraries: bool) -> None:
    known = set(modules())
    for module, path in layer(name):
        for imported in imports_of(path, known):
            if third_party(imported):
                assert libraries, f"{module} imports {imported}"
                continue
            if imported.startswith("pixelpress"):
                assert imported.startswith(allowed), f"{module} imports {imported}"


def test_the_domain_imports_only_the_standard_library() -> None:
    check("pixelpress.domain", ("pixelpress.domain",), libraries=False)


def test_the_ports_speak_the_domain() -> None:
    check("pixelpress.ports", ("pixelpress.domain", "pixelpress.ports"), libraries=False)


def test_use_cases_import_no_adapter_and_no_web_framework() -> None:
    allowed = ("pixelpress.domain", "pixelpress.ports", "pixelpress.usecases")
    check("pixelpress.usecases", allowed, libraries=False)


def test_the_api_reads_no_settings_and_imports_no_adapter() -> None:
    """Routes, dependencies and middleware get what they need from the root (the services and
    an ApiConfig); only the app factory, which `pixelpress serve` calls with Settings, starts
    the root."""
    known = set(modules())
    for module, path in layer("pixelpress.api"):
        for imported in imports_of(path, known):
            assert not imported.startswith("pixelpress.adapters"), f"{module} imports {imported}"
            if module != "pixelpress.api.app":
                assert not imported.startswith(("pixelpress.settings", "pixelpress.bootstrap")), (
                    f"{module} imports {imported}"
                )


def test_the_import_graph_has_no_cycle() -> None:
    known = set(modules())
    graph = {
        module: {i for i in imports_of(path, known) if i in known and i != module}
        for module, path in modules().items()
    }
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        pytest.fail(f"an import cycle: {' -> '.join(exc.args[1])}")


def test_no_module_is_too_long() -> None:
    long = {
        m: n for m, p in modules().items() if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"split these (more than {MAX_LINES} lines): {long}"
