"""Every notebook's exercises are tagged cells; the answer key holds every solution and makes every check pass.

The rule (crystal_tutorial/course/teaching.py): an exercise is a prompt and answer cell(s) tagged
``exercise``, check cell(s) tagged ``check`` and one ``solution`` cell holding only a folded
``<details>`` block whose python code sets ``answer``. These tests cover every notebook in
notebooks/, present and future. The students' copies (nbgrader's release) are tested in test_grading.py.
"""
import copy
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from crystal_tutorial.course import teaching
from crystal_tutorial.course.grading import fill_in
from crystal_tutorial.course.teaching import (
    RUN_FROM_THE_TOP,
    answer_key,
    cell_text,
    colab_cell_source,
    exercises,
    solution_body,
    solution_code,
    tags,
)

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CHECK_CALL = re.compile(r"(^|[^\w.])check\(", re.M)


def load(path):
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_exercise_cells_are_tagged_and_never_mixed(path):
    nb = load(path)
    for i, cell in enumerate(nb["cells"]):
        text, cell_tags, where = cell_text(cell), tags(cell), f"{path.name} cell {i}"
        assert len(cell_tags) <= 1, f"{where} mixes the tags {cell_tags}"
        if "<details" in text:
            assert cell_tags == ["solution"], f"{where} folds a <details> block but is not tagged 'solution'"
        if cell["cell_type"] == "code" and CHECK_CALL.search(text):
            assert cell_tags == ["check"], f"{where} calls check(...) but is not tagged 'check'"
        if cell_tags == ["solution"]:
            assert cell["cell_type"] == "markdown", f"{where}: a solution cell is markdown"
            solution_body(text)   # raises if the cell holds anything but one <details> block
        if cell_tags == ["check"]:
            assert cell["cell_type"] == "code" and CHECK_CALL.search(text), f"{where}: a check cell calls check(...)"
            assert not re.search(r"^answer\s*=", text, re.M), f"{where}: a check cell must not set answer"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_exercise_has_prompt_answer_check_and_solution(path):
    nb = load(path)
    found = exercises(nb)
    checked = [ex for ex in found if ex.check]
    assert len(checked) >= 3, f"{path.name}: needs at least 3 checkable exercises, found {len(checked)}"
    names = [ex.name for ex in found]
    assert len(set(names)) == len(names), f"{path.name}: exercise names repeat: {names}"
    for ex in found:
        assert ex.prompt, f"{path.name} {ex.name}: the prompt is a markdown cell tagged 'exercise'"
        if not ex.check:
            continue   # an open exercise: a prompt, maybe a solution, nothing to check
        assert ex.name.startswith(path.name[:2] + "."), (
            f"{path.name}: check name {ex.name!r} must start with its number"
        )
        assert ex.answer, f"{path.name} {ex.name}: needs an answer cell (code tagged 'exercise')"
        assert len(ex.solution) == 1, f"{path.name} {ex.name}: needs exactly one solution cell"
        assert ex.prompt[-1] < ex.answer[0] < ex.check[0] < ex.solution[0], f"{path.name} {ex.name}: cell order"
        answer_cells = "\n".join(cell_text(nb["cells"][i]) for i in ex.answer)
        assert re.search(r"^answer\s*=\s*None", answer_cells, re.M), (
            f"{path.name} {ex.name}: answer cell starts unanswered"
        )
        code = solution_code(cell_text(nb["cells"][ex.solution[0]]))
        assert re.search(r"^answer\s*=", code, re.M), f"{path.name} {ex.name}: the solution's python block sets answer"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_opening_says_run_from_the_top_and_installs_in_colab(path):
    nb = load(path)
    assert RUN_FROM_THE_TOP.strip() in cell_text(nb["cells"][0]), (
        f"{path.name}: the first cell says to run from the top"
    )
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert cell_text(code[0]) == colab_cell_source(), (
        f"{path.name}: the first code cell is the Colab cell (teaching.write_colab_cells() rewrites it)"
    )
    assert f'explain_missing_names("{path.name}")' in cell_text(code[1]), (
        f"{path.name}: the setup cell (second code cell) calls explain_missing_names with its own file name"
    )


def test_colab_cell_does_nothing_outside_colab():
    for repository in (None, "https://github.com/someone/crystal"):
        exec(colab_cell_source(repository), {})  # would pip install or import google.colab if it misread the test
    with pytest.raises(ValueError, match="repository"):
        colab_cell_source("github.com/no-scheme")


def _fake_colab(monkeypatch, calls):
    import types

    colab = types.ModuleType("google.colab")
    colab.output = types.SimpleNamespace(enable_custom_widget_manager=lambda: calls.append("widgets"))
    monkeypatch.setitem(sys.modules, "google", types.ModuleType("google"))
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setattr(subprocess, "run", lambda cmd, check: calls.append(cmd))
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)  # as if not installed yet


def test_colab_cell_installs_from_the_repository_in_colab(monkeypatch):
    """In Colab (google.colab imported) the cell pip-installs from REPOSITORY unless the package is there."""
    calls = []
    _fake_colab(monkeypatch, calls)
    exec(colab_cell_source("https://github.com/someone/crystal"), {})
    assert calls == [
        [sys.executable, "-m", "pip", "install", "-q", "git+https://github.com/someone/crystal"],
        "widgets",
    ]


def test_colab_cell_without_an_address_says_what_to_do(monkeypatch):
    """No public address yet: one clear sentence in Colab, and no placeholder address anywhere in the cell."""
    calls = []
    _fake_colab(monkeypatch, calls)
    with pytest.raises(RuntimeError, match="no public address.*upload"):
        exec(colab_cell_source(None), {})
    assert calls == []
    assert not re.search(r"YOUR|EXAMPLE|<[a-z-]+>|github\.com/[A-Z]", colab_cell_source(None))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_placeholder_reaches_a_notebook(path):
    """A placeholder (YOUR-ACCOUNT, YOUR-NAME, <your-repo>) never reaches a learner's notebook or the site
    built from it."""
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"YOUR-[A-Z]+|<your[-_ ][a-z-]+>", text), f"{path.name} shows a placeholder"


def test_answer_key_holds_every_solution_in_order():
    key = answer_key(NOTEBOOKS)
    headings = re.findall(r"^### (\d\d\.\d+)", key, re.M)
    assert headings == sorted(headings, key=lambda h: (h[:2], int(h[3:]))) and len(headings) >= 27
    assert [p.name for p in NOTEBOOKS if f"(`{p.name}`)" in key] == [p.name for p in NOTEBOOKS]
    for path in NOTEBOOKS:
        nb = load(path)
        for ex in exercises(nb):
            assert f"### {ex.name}" in key
            for i in ex.solution:  # every solution, under its exercise's name, without nbgrader's markers
                body = solution_body(cell_text(nb["cells"][i]))
                assert body.strip() in key and "<!--" not in body


def test_solution_body_ignores_html_comments_only():
    body = solution_body(
        "<!-- BEGIN MARK SCHEME -->\n<details><summary>Solution</summary>\nx\n</details>\n<!-- END -->"
    )
    assert body == "x"
    with pytest.raises(ValueError, match="details"):
        solution_body("<!-- a -->\nanswer = 1\n<details><summary>Solution</summary>x</details>")


# ---- running the notebooks: unanswered, and with the key's solutions pasted in ----
# They run under nbval in a pytest subprocess, as the notebooks of the normal test run do. A cell
# added after the setup cell makes every check(...) assert its verdict, so nbval fails on a wrong one.

STRICT_CHECK = """_check_as_given = check

def check(*args, **kwargs):   # added by tests/test_teaching.py: every verdict must be {expected}
    verdict = _check_as_given(*args, **kwargs)
    assert verdict.ok is {expected}, verdict
    return verdict"""


def run_with_nbval(nb, path, expected):
    """Run ``nb`` under nbval with every check asserting ``verdict.ok is expected``; the pytest summary."""
    setup = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"][1]
    nb.cells.insert(setup + 1, nbformat.v4.new_code_cell(STRICT_CHECK.format(expected=expected)))
    path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
    (path.parent / "pytest.ini").write_text("[pytest]\n")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval-lax",
            "--nbval-cell-timeout=300",
            "-q",
            "-p",
            "no:cacheprovider",
            path.name,
        ],
        cwd=path.parent,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    return run.stdout


FAST = {"02_forward_diffusion.ipynb", "03_mlp_and_adam.ipynb"}  # the others: pytest -m slow


@pytest.mark.parametrize(
    "path", [pytest.param(p, marks=() if p.name in FAST else pytest.mark.slow) for p in NOTEBOOKS], ids=lambda p: p.name
)
def test_pasting_the_key_into_the_notebook_makes_every_check_correct(path, tmp_path):
    """The key's code pasted below each answer cell (as a learner would) makes every check say "correct".
    (The students' copies have no checks: tests/test_grading.py autogrades them instead.)"""
    nb = load(path)
    assert fill_in(nb, copy.deepcopy(nb), "key") >= 3
    run_with_nbval(nbformat.from_dict(nb), tmp_path / path.name, expected=True)


def test_notebook_runs_unanswered(tmp_path):
    """Without answers every check says "not attempted" and the notebook runs to the end under nbval."""
    path = NOTEBOOKS[0]
    run_with_nbval(nbformat.read(path, as_version=4), tmp_path / path.name, expected=None)


def test_the_strict_check_cell_can_fail(tmp_path):
    """The two tests above can fail: an unanswered exercise does not pass as "correct"."""
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(s)
            for s in (
                "x = 1",
                "from crystal_tutorial.course.exercises import check",
                "check('01.1 a test', None, expected=1.0)",
            )
        ]
    )
    with pytest.raises(AssertionError, match="not attempted"):
        run_with_nbval(nb, tmp_path / "strict.ipynb", expected=True)


def test_write_colab_cells_changes_only_the_colab_cell(tmp_path):
    for path in NOTEBOOKS[:2]:
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    changed = teaching.write_colab_cells("https://github.com/someone/crystal", notebooks=tmp_path)
    assert [p.name for p in changed] == [p.name for p in NOTEBOOKS[:2]]
    for path in NOTEBOOKS[:2]:
        before, after = load(path)["cells"], load(tmp_path / path.name)["cells"]
        differ = [i for i, (a, b) in enumerate(zip(before, after)) if a != b]
        assert len(before) == len(after) and differ == [1]
        assert 'REPOSITORY = "https://github.com/someone/crystal"' in cell_text(after[1])
    assert teaching.write_colab_cells("https://github.com/someone/crystal", notebooks=tmp_path) == []
