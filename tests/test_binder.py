"""Binder and the constraints file stay in step with environment.yml and pyproject.toml."""
from __future__ import annotations

import os
import re
from pathlib import Path

import tomllib

REPO = Path(__file__).resolve().parents[1]


def _deps(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines()
            if line.strip().startswith("- ") and not line.lstrip().startswith("#")]


def test_binder_environment_is_environment_yml_without_the_editable_install():
    root = [d for d in _deps(REPO / "environment.yml") if d != "- -e ."]
    assert _deps(REPO / "binder" / "environment.yml") == root
    assert "- -e ." not in _deps(REPO / "binder" / "environment.yml")  # repo2docker has no repository yet


def test_binder_post_build_installs_the_package():
    post = REPO / "binder" / "postBuild"
    assert os.access(post, os.X_OK)
    assert re.search(r"pip install .*-e \.", post.read_text())


def test_constraints_pin_every_dependency_exactly_and_leave_the_package_out():
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not an exact pin"
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    assert "crystal-tutorial" not in pins
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"])
    for extra in ("test", "lab", "site", "browser", "nbgrader", "hub"):
        wanted += project["optional-dependencies"].get(extra, [])
    for requirement in wanted:
        name = re.sub(r"[-_.]+", "-", re.split(r"[<>=!~\[; ]", requirement)[0]).lower()
        assert name in pins, f"constraints.txt has no pin for {name}"
