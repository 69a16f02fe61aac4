"""The house's layers, read from every import statement (function-local ones too): `protocol/` at
the bottom with no web framework, HTTP client or database; `webcore/` knowing nothing of either
app; `portal/` and `instance/` meeting only over the protocol, never importing each other nor the
`provlab` tool built on top of them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# package -> top-level packages none of its modules may import
FORBIDDEN = {
    "protocol": {
        "flask",
        "flask_sqlalchemy",
        "requests",
        "sqlalchemy",
        "webcore",
        "portal",
        "instance",
        "provlab",
    },
    "webcore": {"portal", "instance", "provlab"},
    "portal": {"instance", "provlab"},
    "instance": {"portal", "provlab"},
}


def imported_packages(path: Path) -> dict[str, int]:
    """Each top-level package ``path`` imports, with the line of its first import."""
    found: dict[str, int] = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue  # relative imports stay inside their own package
        for name in names:
            found.setdefault(name.split(".")[0], node.lineno)
    return found


def test_the_checker_sees_function_local_and_from_imports(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "import os.path\n\ndef f():\n    from provlab.servers import RunningPair\n"
        "    import portal.models as m\n    from . import sibling\n"
    )
    assert imported_packages(module) == {"os": 1, "provlab": 4, "portal": 5}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_module_imports_across_a_layer(package: str) -> None:
    modules = sorted((ROOT / package).rglob("*.py"))
    assert modules, package
    crossings = [
        f"{module.relative_to(ROOT)}:{line} imports {imported}"
        for module in modules
        for imported, line in imported_packages(module).items()
        if imported in FORBIDDEN[package]
    ]
    assert crossings == []
