"""House rules that keep the core pure and the public API tidy."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import creditcommit

SRC = Path(creditcommit.__file__).parent

# Modules of the shell: the only places allowed to do I/O or read the clock.
SHELL = {
    "cli",
    "__main__",
    "_demo",
    "service",
    "plugins",
    "hookspecs",
    "testing",
    "builtin",
    "delivery",
    "config",
}

# Third-party network and database clients never belong in the core package: they live
# in the adapter distributions under adapters/.
FORBIDDEN_EVERYWHERE = {
    "httpx",
    "requests",
    "urllib3",
    "aiohttp",
    "psycopg",
    "psycopg2",
    "asyncpg",
    "pymysql",
    "MySQLdb",
    "sqlalchemy",
    "redis",
}
# Standard-library modules that mean I/O, time or chance: not in the pure core.
FORBIDDEN_IN_CORE = {
    "sqlite3",
    "socket",
    "http",
    "urllib",
    "random",
    "secrets",
    "time",
    "subprocess",
    "threading",
    "asyncio",
}
CLOCK_CALLS = {"today", "now", "utcnow", "time", "monotonic", "perf_counter"}


def modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "__pycache__" not in p.parts)


def is_core(path: Path) -> bool:
    parts = path.relative_to(SRC).with_suffix("").parts
    # The package's __init__ is the public facade: it re-exports the shell (Approvals) too.
    return parts[0] not in SHELL and parts != ("__init__",)


def imported_roots(tree: ast.AST) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_no_network_or_database_clients(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert not imported_roots(tree) & FORBIDDEN_EVERYWHERE


@pytest.mark.parametrize(
    "path", [p for p in modules() if is_core(p)], ids=lambda p: str(p.relative_to(SRC))
)
def test_core_is_pure(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert not imported_roots(tree) & FORBIDDEN_IN_CORE
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            assert node.func.attr not in CLOCK_CALLS, (
                f"{path.name}:{node.lineno} reads the clock ({node.func.attr}())"
            )


@pytest.mark.parametrize(
    "path", [p for p in modules() if is_core(p)], ids=lambda p: str(p.relative_to(SRC))
)
def test_core_never_imports_the_shell(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            parts = node.module.split(".")
            assert not (parts[0] == "creditcommit" and len(parts) > 1 and parts[1] in SHELL), (
                f"{path.name}:{node.lineno} imports the shell module {node.module}"
            )


def test_all_is_sorted_and_complete() -> None:
    names = creditcommit.__all__
    assert list(names) == sorted(names)
    assert len(set(names)) == len(names)
    for name in names:
        assert hasattr(creditcommit, name), name
    public = {
        name
        for name, value in vars(creditcommit).items()
        if not name.startswith("_") and getattr(value, "__module__", "").startswith("creditcommit")
    }
    assert public <= set(names), f"exported but not in __all__: {public - set(names)}"


@pytest.mark.parametrize(
    "name",
    [
        m.name
        for m in pkgutil.walk_packages(creditcommit.__path__, "creditcommit.")
        if not m.name.split(".")[-1].startswith("_")
    ],
)
def test_public_modules_have_sorted_all(name: str) -> None:
    module = importlib.import_module(name)
    names = getattr(module, "__all__", None)
    assert names is not None, f"{name} has no __all__"
    assert list(names) == sorted(names), f"{name}.__all__ is not sorted"
    for attr in names:
        assert hasattr(module, attr), f"{name}.__all__ names missing {attr}"
