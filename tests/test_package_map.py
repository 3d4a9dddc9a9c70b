"""The package map (``crystal_tutorial/__init__.py`` and the README) matches the files, and arrows point back.

The map in the package docstring is the source of truth: it lists every module in story order. A module
may import the shared utilities (``files``, ``checks``) and modules listed above it, never one below it,
so the map cannot rot: a new module, a moved one or a forward import fails here.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import crystal_tutorial

PKG = Path(crystal_tutorial.__file__).resolve().parent
README = PKG.parent / "README.md"
UTILITIES = ("files", "checks")


def map_modules() -> list[str]:
    """Module names in the order the package docstring lists them (the part of each bullet before its colon)."""
    names = []
    for bullet in re.split(r"\n- ", crystal_tutorial.__doc__)[1:]:
        head = re.split(r":\s", bullet, maxsplit=1)[0]
        names += re.findall(r"``([a-z_.]+)``", head)
    return names


def package_modules() -> set[str]:
    """Every module file of the package as a dotted name relative to it (``cli.main``), shims excluded."""
    out = set()
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG).with_suffix("")
        if rel.name in ("__init__", "__main__") or "site_template" in rel.parts:
            continue
        out.add(".".join(rel.parts))
    return out


def imports_of(module: str) -> set[str]:
    """Package modules that ``module`` imports (relative or absolute, at any depth of the file)."""
    path = PKG.joinpath(*module.split(".")).with_suffix(".py")
    package = module.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            elif node.module and node.module.startswith("crystal_tutorial."):
                target = node.module[len("crystal_tutorial."):]
            else:
                continue
            candidates = [target] + [f"{target}.{a.name}" for a in node.names]
            found |= {c for c in candidates if c in package_modules()}
        elif isinstance(node, ast.Import):
            found |= {
                a.name[len("crystal_tutorial.") :]
                for a in node.names
                if a.name.startswith("crystal_tutorial.") and a.name[len("crystal_tutorial.") :] in package_modules()
            }
    return found - {module}


def test_the_map_lists_every_module_once():
    listed = map_modules()
    assert len(listed) == len(set(listed)), f"listed twice: {sorted({m for m in listed if listed.count(m) > 1})}"
    missing, extra = package_modules() - set(listed), set(listed) - package_modules()
    assert not missing, f"modules missing from the package map in crystal_tutorial/__init__.py: {sorted(missing)}"
    assert not extra, f"the package map lists modules that do not exist: {sorted(extra)}"


def test_the_readme_lists_every_module():
    text = README.read_text()
    section = text[text.index("## The package") :]
    section = section[: section.index("\n## ", 4)]
    missing = [
        m
        for m in package_modules()
        if f"`{m}`" not in section and f"`{m}.py`" not in section and f"`{m.replace('.', '/')}.py`" not in section
    ]
    assert not missing, f"the README's package map misses {sorted(missing)}"


def test_imports_point_back_in_the_story():
    order = {m: k for k, m in enumerate(map_modules())}
    forward = []
    for module in package_modules():
        for target in imports_of(module):
            if target in UTILITIES and module not in UTILITIES:
                continue
            if order[target] >= order[module]:
                forward.append(f"{module} imports {target}, which the map lists after it")
    assert not forward, "\n".join(sorted(forward))


def test_the_map_test_sees_imports():
    """The checker itself: it finds relative, nested and absolute imports (a checker that finds none passes all)."""
    assert {"crystals", "pbc"} <= imports_of("physics")
    assert "runs" not in imports_of("cli.main") and "cli.runs" in imports_of("cli.main")
    assert "course.grading" in imports_of("cli.main")
