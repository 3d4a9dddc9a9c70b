"""Every notebook's exercises are tagged cells; the student edition drops exactly the solutions.

The rule (crystal_tutorial/course/teaching.py): an exercise is a prompt and answer cell(s) tagged
``exercise``, check cell(s) tagged ``check`` and one ``solution`` cell holding only a folded
``<details>`` block whose python code sets ``answer``. These tests cover every notebook in
notebooks/, present and future.
"""
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from crystal_tutorial.course import teaching
from crystal_tutorial.course.teaching import (
    RUN_FROM_THE_TOP,
    cell_text,
    colab_cell_source,
    exercises,
    solution_body,
    solution_code,
    student_notebook,
    tags,
    write_student_edition,
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
        assert ex.name.startswith(path.name[:2] + "."), f"{path.name}: check name {ex.name!r} must start with its number"
        assert ex.answer, f"{path.name} {ex.name}: needs an answer cell (code tagged 'exercise')"
        assert len(ex.solution) == 1, f"{path.name} {ex.name}: needs exactly one solution cell"
        assert ex.prompt[-1] < ex.answer[0] < ex.check[0] < ex.solution[0], f"{path.name} {ex.name}: cell order"
        answer_cells = "\n".join(cell_text(nb["cells"][i]) for i in ex.answer)
        assert re.search(r"^answer\s*=\s*None", answer_cells, re.M), f"{path.name} {ex.name}: answer cell starts unanswered"
        code = solution_code(cell_text(nb["cells"][ex.solution[0]]))
        assert re.search(r"^answer\s*=", code, re.M), f"{path.name} {ex.name}: the solution's python block sets answer"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_opening_says_run_from_the_top_and_installs_in_colab(path):
    nb = load(path)
    assert RUN_FROM_THE_TOP.strip() in cell_text(nb["cells"][0]), f"{path.name}: the first cell says to run from the top"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert cell_text(code[0]) == colab_cell_source(), (
        f"{path.name}: the first code cell is the Colab cell (teaching.write_colab_cells() rewrites it)")
    assert f'explain_missing_names("{path.name}")' in cell_text(code[1]), (
        f"{path.name}: the setup cell (second code cell) calls explain_missing_names with its own file name")


def test_colab_cell_does_nothing_outside_colab():
    for repository in (None, "https://github.com/someone/crystal"):
        exec(colab_cell_source(repository), {})   # would pip install or import google.colab if it misread the test
    with pytest.raises(ValueError, match="repository"):
        colab_cell_source("github.com/no-scheme")


def _fake_colab(monkeypatch, calls):
    import types
    colab = types.ModuleType("google.colab")
    colab.output = types.SimpleNamespace(enable_custom_widget_manager=lambda: calls.append("widgets"))
    monkeypatch.setitem(sys.modules, "google", types.ModuleType("google"))
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setattr(subprocess, "run", lambda cmd, check: calls.append(cmd))
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)   # as if not installed yet


def test_colab_cell_installs_from_the_repository_in_colab(monkeypatch):
    """In Colab (google.colab imported) the cell pip-installs from REPOSITORY unless the package is there."""
    calls = []
    _fake_colab(monkeypatch, calls)
    exec(colab_cell_source("https://github.com/someone/crystal"), {})
    assert calls == [[sys.executable, "-m", "pip", "install", "-q", "git+https://github.com/someone/crystal"], "widgets"]


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
    """A placeholder (YOUR-ACCOUNT, YOUR-NAME, <your-repo>) never reaches a learner's notebook or the site built from it."""
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"YOUR-[A-Z]+|<your[-_ ][a-z-]+>", text), f"{path.name} shows a placeholder"


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    out = tmp_path_factory.mktemp("edition") / "students"
    write_student_edition(out)
    return out


def test_student_edition_drops_exactly_the_solution_cells(edition):
    assert sorted(p.name for p in edition.glob("*.ipynb")) == [p.name for p in NOTEBOOKS]
    assert sorted(p.name for p in edition.iterdir()) == sorted([p.name for p in NOTEBOOKS] + ["answer-key.md", "run.json"])
    for path in NOTEBOOKS:
        text = path.read_text(encoding="utf-8")
        original = json.loads(text)
        # the repository's format is nbformat's, so removing cells changes nothing else, byte for byte
        assert json.dumps(original, sort_keys=True, indent=1, ensure_ascii=False) + "\n" == text
        student = (edition / path.name).read_text(encoding="utf-8")
        expected = dict(original, cells=[c for c in original["cells"] if "solution" not in tags(c)])
        assert student == json.dumps(expected, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
        assert student == student_notebook(text)
        nbformat.validate(nbformat.reads(student, as_version=4))


def test_student_edition_contains_no_solution_text(edition):
    key = (edition / "answer-key.md").read_text(encoding="utf-8")
    for path in NOTEBOOKS:
        nb = load(path)
        student = (edition / path.name).read_text(encoding="utf-8")
        assert "<details" not in student and "Solution</summary>" not in student, path.name
        elsewhere = "\n".join(cell_text(c) for c in nb["cells"] if "solution" not in tags(c))
        for ex in exercises(nb):
            for i in ex.solution:
                body = solution_body(cell_text(nb["cells"][i]))
                for line in body.splitlines():   # no line of a solution survives in the student edition ...
                    if len(line.strip()) > 20 and line.strip() not in elsewhere:   # (a template's lines may repeat)
                        assert json.dumps(line.strip())[1:-1] not in student, f"{path.name}: {line!r}"
                assert body.strip() in key   # ... and every solution is in the key, under its exercise's name
            assert f"### {ex.name}" in key


def test_answer_key_is_ordered_by_notebook_and_exercise(edition):
    key = (edition / "answer-key.md").read_text(encoding="utf-8")
    headings = re.findall(r"^### (\d\d\.\d+)", key, re.M)
    assert headings == sorted(headings, key=lambda h: (h[:2], int(h[3:]))) and len(headings) >= 27
    assert [p.name for p in NOTEBOOKS if f"(`{p.name}`)" in key] == [p.name for p in NOTEBOOKS]


def test_student_edition_follows_the_run_folder_rules(tmp_path):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("my notes")
    for overwrite in (False, True):   # never deletes files it did not write
        with pytest.raises(ValueError, match="not a finished run"):
            write_student_edition(foreign, overwrite=overwrite)
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]   # untouched

    out = tmp_path / "edition"
    write_student_edition(out)
    with pytest.raises(ValueError, match="--overwrite"):         # an earlier edition: only on request ...
        write_student_edition(out)
    (out / "answer-key.md").write_text("stale")
    write_student_edition(out, overwrite=True)                   # ... and then replaced as a whole
    assert (out / "answer-key.md").read_text(encoding="utf-8").startswith("# Answer key")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no temporary folders are left behind"
    (tmp_path / "afile").write_text("x")
    for bad in ("", tmp_path / "afile"):
        with pytest.raises(ValueError):
            write_student_edition(bad)
    with pytest.raises(FileNotFoundError, match="no notebooks"):
        write_student_edition(tmp_path / "x", notebooks=tmp_path / "empty")


def test_student_edition_command(tmp_path):
    out = tmp_path / "class"
    run = subprocess.run([sys.executable, "-m", "crystal_tutorial", "student-edition", str(out)],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert run.returncode == 0, run.stderr
    assert (out / "answer-key.md").is_file() and len(list(out.glob("*.ipynb"))) == len(NOTEBOOKS)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    run = subprocess.run([sys.executable, "-m", "crystal_tutorial", "student-edition", str(tmp_path / "full")],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert run.returncode == 2 and "not a finished run" in run.stderr and "Traceback" not in run.stderr
    run = subprocess.run([sys.executable, "-m", "crystal_tutorial", "student-edition", str(out), "--overwrite"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert run.returncode == 0, run.stderr


# ---- running the student edition: unanswered, and with the key's solutions pasted in ----
# They run under nbval in a pytest subprocess, as the notebooks of the normal test run do. A cell
# added after the setup cell makes every check(...) assert its verdict, so nbval fails on a wrong one.

STRICT_CHECK = """_check_as_given = check

def check(*args, **kwargs):   # added by tests/test_teaching.py: every verdict must be {expected}
    verdict = _check_as_given(*args, **kwargs)
    assert verdict.ok is {expected}, verdict
    return verdict"""


def paste_solutions(student_text, original):
    """The student notebook with each solution's code pasted in a new cell below the exercise's answer cells."""
    nb = nbformat.reads(student_text, as_version=4)
    pasted = 0
    for ex in reversed(exercises(original)):
        if not (ex.check and ex.solution):
            continue
        code = solution_code(cell_text(original["cells"][ex.solution[0]]))
        answer_id = original["cells"][ex.answer[-1]]["id"]
        k = next(i for i, c in enumerate(nb.cells) if c.get("id") == answer_id)
        nb.cells.insert(k + 1, nbformat.v4.new_code_cell(code))
        pasted += 1
    return nb, pasted


def run_with_nbval(nb, path, expected):
    """Run ``nb`` under nbval with every check asserting ``verdict.ok is expected``; the pytest summary."""
    setup = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"][1]
    nb.cells.insert(setup + 1, nbformat.v4.new_code_cell(STRICT_CHECK.format(expected=expected)))
    path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
    (path.parent / "pytest.ini").write_text("[pytest]\n")
    run = subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-cell-timeout=300", "-q",
                          "-p", "no:cacheprovider", path.name], cwd=path.parent, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    return run.stdout


FAST = {"02_forward_diffusion.ipynb", "03_mlp_and_adam.ipynb"}   # the others: pytest -m slow


@pytest.mark.parametrize("path", [pytest.param(p, marks=() if p.name in FAST else pytest.mark.slow) for p in NOTEBOOKS],
                         ids=lambda p: p.name)
def test_pasting_the_key_into_the_student_edition_makes_every_check_correct(path, edition, tmp_path):
    nb, pasted = paste_solutions((edition / path.name).read_text(encoding="utf-8"), load(path))
    assert pasted >= 3
    run_with_nbval(nb, tmp_path / path.name, expected=True)


def test_student_edition_runs_unanswered(edition, tmp_path):
    """Without answers every check says "not attempted" and the notebook runs to the end under nbval."""
    path = NOTEBOOKS[0]
    run_with_nbval(nbformat.read(edition / path.name, as_version=4), tmp_path / path.name, expected=None)


def test_the_strict_check_cell_can_fail(tmp_path):
    """The two tests above can fail: an unanswered exercise does not pass as "correct"."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in (
        "x = 1", "from crystal_tutorial.course.exercises import check", "check('01.1 a test', None, expected=1.0)")])
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
