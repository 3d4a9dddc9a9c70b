"""The README's command-line section works as typed, after the quick start's install.

Each ``bash`` block of "## Command line" runs in bash, line by line as written, in a fresh folder whose
``.venv`` is this test's own environment (so ``source .venv/bin/activate`` is the quick start's
activation); each ``python`` block runs in that environment. ``pip install -e ...`` lines are checked
instead of run (this environment must already hold the extra they install). Slow: it builds the site.
"""
from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from crystal_tutorial.course.site import SITE_EXTRA

ROOT = Path(__file__).resolve().parents[1]
EXTRA_MODULES = {"site": SITE_EXTRA}


def command_line_blocks():
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Command line"):]
    section = section[:section.index("\n## ", 4)]
    return re.findall(r"```(bash|python)\n(.*?)```", section, re.S)


def test_the_section_activates_the_environment_before_python():
    blocks = [body for kind, body in command_line_blocks() if kind == "bash"]
    assert blocks, "the README's command-line section has no bash block"
    for body in blocks:
        lines = [line for line in body.splitlines() if line.strip()]
        assert lines[0].startswith("source .venv/bin/activate"), f"a block runs python without the venv: {lines[0]!r}"


@pytest.mark.slow
def test_the_readme_commands_run_as_written(tmp_path):
    (tmp_path / ".venv").symlink_to(sys.prefix)          # the quick start's .venv is this environment
    assert (tmp_path / ".venv" / "bin" / "activate").is_file(), "tests must run inside a venv (the quick start's)"
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV",)}
    env["PATH"] = "/usr/bin:/bin"                          # no python of ours on PATH until the block activates it
    for kind, body in command_line_blocks():
        if kind == "python":
            run = subprocess.run([sys.executable, "-c", body], cwd=tmp_path, capture_output=True, text=True, env=env)
            assert run.returncode == 0, run.stderr
            continue
        for line in body.splitlines():
            command = line.split("  #")[0].strip()
            if not command:
                continue
            extra = re.fullmatch(r'pip install -e "\.\[(\w+)\]"', command)
            if extra:
                missing = [m for m in EXTRA_MODULES.get(extra.group(1), ()) if importlib.util.find_spec(m) is None]
                assert not missing, f"the README installs the {extra.group(1)} extra; this environment lacks {missing}"
                continue
            script = f"set -e\nsource .venv/bin/activate\n{command}\n" if not command.startswith("source ") else command
            run = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, env=env,
                                 timeout=1800)
            assert run.returncode == 0, f"README command failed: {command}\n{run.stderr[-2000:]}"
            assert "Traceback" not in run.stderr, f"{command} printed a traceback:\n{run.stderr[-2000:]}"
    for out in ("demo_run", "fcc_run", "class_notebooks", "perov_run", "site-build"):
        assert (tmp_path / out).is_dir(), f"the README's commands did not write {out}/"
