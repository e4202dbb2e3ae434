"""The package's layout is its architecture: imports only point down the layers, no module
imports another's private names, and tests mirror the folders."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "iszones"
# Lowest first: a module may import only from its own layer or those before it.
LAYERS = (
    ("errors", "schema"),
    ("geo",),
    ("inputs",),
    ("data",),
    ("check",),
    ("render",),
    ("web", "cli"),
)
RANK = {part: rank for rank, parts in enumerate(LAYERS) for part in parts}


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def _imports() -> list[tuple[str, str, list[str]]]:
    """(importing module, imported module, names) for every iszones import in the package."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                raise AssertionError(f"{module}: relative import; use iszones.… absolute imports")
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("iszones"):
                found.append((module, node.module or "", [a.name for a in node.names]))
            elif isinstance(node, ast.Import):
                found += [(module, a.name, []) for a in node.names if a.name.startswith("iszones")]
    return found


def test_imports_only_point_down_the_layers():
    upward = []
    for module, target, names in _imports():
        here, there = _layer(module), _layer(target)
        if here is None or there is None or here == there:
            continue
        # "from iszones import x" names a subpackage or module: that is what is imported
        if target == "iszones":
            there = names[0] if names else there
        if there in RANK and here in RANK and RANK[there] > RANK[here]:
            upward.append(f"{module} imports {target}")
    assert upward == []


def test_no_module_imports_another_modules_private_names():
    private = [
        f"{module} imports {target}.{name}"
        for module, target, names in _imports()
        for name in names
        if name.startswith("_") and not name.startswith("__")
    ]
    assert private == []


def test_every_layer_is_a_folder_and_tests_mirror_them():
    for parts in LAYERS:
        for part in parts:
            folder = PACKAGE / part
            assert folder.is_dir() or (PACKAGE / f"{part}.py").is_file(), part
            if folder.is_dir():
                assert (ROOT / "tests" / part).is_dir(), f"tests/{part} mirrors iszones/{part}"
