"""pytest-xdist keeps a notebook's cells together (issue 13, item 13), and CI runs the README's command."""
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import tomllib

ROOT = Path(__file__).resolve().parents[1]


def test_config_keeps_each_notebook_on_one_worker():
    addopts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["addopts"]
    assert re.search(r"--dist[ =](loadscope|loadfile)\b", addopts), addopts


def test_ci_runs_the_readme_test_command_verbatim():
    readme = (ROOT / "README.md").read_text()
    commands = [line for line in readme.splitlines() if line.startswith("python -m venv") and "pytest" in line]
    assert len(commands) == 1, commands                         # one command runs every test
    assert commands[0] in (ROOT / ".ci" / "run").read_text()


def test_two_workers_run_a_notebook_in_order(tmp_path):
    """Cells that depend on earlier cells pass under -n 2: the whole notebook runs on one worker."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("y = x + 1"),
                nbformat.v4.new_code_cell("assert y == 2"), nbformat.v4.new_code_cell("assert x + y == 3")]
    nbformat.write(nb, tmp_path / "dependent.ipynb")
    (tmp_path / "test_other.py").write_text("def test_a():\n    pass\n\ndef test_b():\n    pass\n")
    result = subprocess.run([sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"), "--rootdir",
                             str(tmp_path), "-n", "2", "-q", str(tmp_path)],
                            capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "6 passed" in result.stdout, result.stdout[-2000:]
