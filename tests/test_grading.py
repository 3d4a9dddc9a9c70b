"""The notebooks as nbgrader source notebooks: metadata, the students' copy, autograde and feedback.

The students' copies are nbgrader's own release (``generate_assignment``), made once per test session in
a temporary course. The autograde tests execute notebooks and are ``slow`` except for one notebook.
"""
import ast
import json
import os
import re
import subprocess
import sys
from html import unescape
from pathlib import Path

import pytest

nbgrader = pytest.importorskip("nbgrader")

from crystal_tutorial.course import grading  # noqa: E402
from crystal_tutorial.course.grading import HIDDEN_BEGIN, HIDDEN_END, SCHEME_BEGIN, SCHEME_END, grade_id, mark_notebook  # noqa: E402
from crystal_tutorial.course.teaching import cell_text, exercises, solution_body, solution_code  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def load(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def hidden_code(source: str) -> str:
    """The lines of a check cell between the hidden-test markers."""
    inside, lines = False, []
    for line in source.splitlines():
        if HIDDEN_BEGIN in line:
            inside = True
        elif HIDDEN_END in line:
            inside = False
        elif inside:
            lines.append(line)
    return "\n".join(lines)


def literal(source: str):
    """The value of a literal written over several lines (implicit string concatenation)."""
    return ast.literal_eval(f"({source})")


def check_arguments(code: str) -> dict:
    """The source text of the keyword arguments of the check(...) calls in ``code`` (expected=, hint=)."""
    found = {}
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "check":
            for keyword in node.keywords:
                found.setdefault(keyword.arg, []).append(ast.get_source_segment(code, keyword.value))
    return found


# ---- the source notebooks ----

@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_exercise_carries_nbgrader_metadata(path):
    nb = load(path)
    before = json.dumps(nb, sort_keys=True)
    mark_notebook(nb)
    assert json.dumps(nb, sort_keys=True) == before, (
        f"{path.name}: an exercise lacks nbgrader's metadata; run crystal_tutorial.course.grading.mark_notebook on it")
    from nbgrader.nbgraderformat import MetadataValidator
    MetadataValidator().validate_nb(nbgrader_node(nb))   # nbgrader's own rules: ids, points, cell types
    for ex in exercises(nb):
        cells, gid = nb["cells"], grade_id(ex.name)
        for i in ex.prompt:
            assert cells[i]["metadata"]["nbgrader"]["locked"], f"{path.name} {ex.name}: the prompt is read-only"
        if not ex.check:   # an open exercise: a task graded by hand
            meta = cells[ex.prompt[0]]["metadata"]["nbgrader"]
            assert meta["task"] and meta["points"] > 0 and meta["grade_id"] == gid
            continue
        check = cells[ex.check[0]]
        assert check["metadata"]["nbgrader"] == {"grade": True, "grade_id": gid, "locked": True, "points": 1,
                                                 "schema_version": 3, "solution": False}
        text = cell_text(check)
        assert "check(" in hidden_code(text) and not text.split(HIDDEN_BEGIN)[0].count("check("), (
            f"{path.name} {ex.name}: the whole check sits between the hidden-test markers")
        solution = cells[ex.solution[0]]
        assert solution["metadata"]["nbgrader"]["locked"]
        assert cell_text(solution).startswith(SCHEME_BEGIN) and cell_text(solution).endswith(SCHEME_END)
        for i in ex.answer:   # the student's cells: nbgrader keeps what the student wrote
            assert "nbgrader" not in cells[i]["metadata"], f"{path.name} {ex.name}: answer cells stay editable"


def nbgrader_node(nb):
    import nbformat
    return nbformat.from_dict(nb)


def test_grade_ids_name_the_exercise():
    assert grade_id("01.1 density of BCC iron") == "ex_01_1"
    assert grade_id("09.4. (Open) More guidance") == "ex_09_4"
    assert grade_id("Exercise 09.5. (Open) More guidance") == "ex_09_5"
    with pytest.raises(ValueError, match="NN.K"):
        grade_id("density")


def test_hints_are_not_solution_code():
    """A hint says what to do in words; it is never the solution's code (08.2 and 08.3 once were)."""
    for path in NOTEBOOKS:
        nb = load(path)
        for ex in exercises(nb):
            if not (ex.check and ex.solution):
                continue
            own = set(ex.check) | set(ex.solution)
            shown = "\n".join(cell_text(c) for i, c in enumerate(nb["cells"]) if i not in own)   # the prompt too
            hints = check_arguments(hidden_code(cell_text(nb["cells"][ex.check[0]]))).get("hint", [])
            code = solution_code(cell_text(nb["cells"][ex.solution[0]]))
            for hint in hints:
                text = literal(hint).replace("'", '"')
                for line in code.splitlines():
                    line = line.split("#")[0].strip()
                    if len(line) > 15 and "=" in line and line not in shown:
                        assert line.split("=", 1)[1].strip() not in text, f"{path.name} {ex.name}: hint holds {line!r}"


# ---- the students' copies: nbgrader's release and the student edition ----

@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("course") / "course"
    grading.write_course(root)
    for path in NOTEBOOKS:
        grading.release(root, path.stem)
    return root


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    out = tmp_path_factory.mktemp("edition") / "students"
    written = grading.write_student_edition(out)
    return out, written[-1]


def secrets(nb, ex) -> list[str]:
    """What a student copy must not contain: the expected expressions, the hidden checks' lines and the
    solution's lines, except lines the notebook shows anyway outside this exercise's check and solution."""
    own = set(ex.check) | set(ex.solution)
    shown = "\n".join(cell_text(c) for i, c in enumerate(nb["cells"]) if i not in own)
    found = []
    for i in ex.check:
        code = hidden_code(cell_text(nb["cells"][i]))
        found += check_arguments(code).get("expected", [])
        found += [line.strip() for line in code.splitlines() if len(line.strip()) >= 12]
    for i in ex.solution:
        found += [line.strip() for line in solution_body(cell_text(nb["cells"][i])).splitlines()
                  if len(line.strip()) >= 12]
    return [s for s in found if s not in shown]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_student_copy_holds_a_solution_or_an_expected_value(path, course, edition):
    nb = load(path)
    copies = {"nbgrader release": course / "release" / path.stem / path.name, "student edition": edition[0] / path.name}
    for kind, copy in copies.items():
        student = load(copy)
        text = "\n".join(cell_text(c) for c in student["cells"])
        assert "<details" not in text and HIDDEN_BEGIN not in text and SCHEME_BEGIN not in text, f"{kind} {path.name}"
        checked = 0
        for ex in exercises(nb):
            for secret in secrets(nb, ex):
                assert secret not in text, f"{kind} {path.name} {ex.name}: {secret!r} is readable"
                checked += 1
        assert checked >= 3, f"{path.name}: the scan found too little to check ({checked} strings)"
        # the copy still has every cell (ids kept), the prompts and the unanswered answer cells
        assert [c["id"] for c in student["cells"]] == [c["id"] for c in nb["cells"]]
        for ex in exercises(nb):   # the answer cells as they were, with nbgrader's stub after the last one
            for i in ex.answer:
                assert cell_text(student["cells"][i]).startswith(cell_text(nb["cells"][i]).rstrip())
            if ex.check and ex.solution:
                assert cell_text(student["cells"][ex.answer[-1]]).endswith(grading.CODE_STUB)


def test_the_scan_finds_a_leak(course, tmp_path):
    """The scan above can fail: a check cell left in a copy is found."""
    path = NOTEBOOKS[0]
    nb = load(path)
    ex = next(e for e in exercises(nb) if e.check)
    text = "\n".join(cell_text(c) for c in load(course / "release" / path.stem / path.name)["cells"])
    text += "\n" + cell_text(nb["cells"][ex.check[0]])
    assert any(secret in text for secret in secrets(nb, ex))


def test_the_student_edition_is_nbgraders_release(course, edition):
    out, key = edition
    assert sorted(p.name for p in out.iterdir()) == sorted([p.name for p in NOTEBOOKS] + ["run.json"])
    for path in NOTEBOOKS:
        ours, theirs = load(out / path.name), load(course / "release" / path.stem / path.name)
        assert [cell_text(c) for c in ours["cells"]] == [cell_text(c) for c in theirs["cells"]]
    # the key: outside the students' folder, in a folder git ignores as a whole
    assert key == out.parent / "students-answer-key" / "answer-key.md" and key.is_file()
    assert (key.parent / ".gitignore").read_text(encoding="utf-8").splitlines()[-1] == "*"
    run = subprocess.run(["git", "check-ignore", "-q", str(key)], cwd=key.parent, capture_output=True)
    assert run.returncode in (0, 128)   # ignored (0), or not inside any git repository (128)


def test_write_student_edition_refuses_a_key_inside_the_students_folder(tmp_path):
    with pytest.raises(ValueError, match="outside"):
        grading.write_student_edition(tmp_path / "class", key=tmp_path / "class" / "key")


# ---- the course folder ----

def test_course_folder_has_the_config_and_one_assignment_per_notebook(tmp_path):
    root = tmp_path / "course"
    written = grading.write_course(root)
    assert root / "nbgrader_config.py" in written
    config = (root / "nbgrader_config.py").read_text(encoding="utf-8")
    namespace = {"get_config": lambda: __import__("traitlets.config", fromlist=["Config"]).Config()}
    exec(config, namespace)
    assert namespace["c"].ClearMarkScheme.enforce_metadata is False
    for path in NOTEBOOKS:   # the notebook with the key's code in each last answer cell, between nbgrader's markers
        nb = load(path)
        grading.key_into_answer_cells(nb)
        source = load(root / "source" / path.stem / path.name)
        cells = [(cell_text(c), c["metadata"]) for c in nb["cells"]]
        assert [(cell_text(c), c["metadata"]) for c in source["cells"]] == cells
        for ex in exercises(nb):
            if ex.check and ex.solution:
                answer = cell_text(source["cells"][ex.answer[-1]])
                assert solution_code(cell_text(nb["cells"][ex.solution[0]])).strip() in answer
                assert source["cells"][ex.answer[-1]]["metadata"]["nbgrader"]["solution"] is True
    with pytest.raises(ValueError):
        grading.write_course(root)   # an existing course (its gradebook, the students' work) is never replaced


def test_nbgrader_command_line_releases_from_the_course_folder(tmp_path):
    """`nbgrader generate_assignment` as the instructor guide says, from the folder `course` wrote."""
    root = tmp_path / "course"
    run = subprocess.run([sys.executable, "-m", "crystal_tutorial", "course", str(root)], capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    nbgrader_cli = Path(sys.executable).parent / "nbgrader"
    env = dict(os.environ, PATH=f"{nbgrader_cli.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    run = subprocess.run([str(nbgrader_cli), "generate_assignment", "02_forward_diffusion"], cwd=root,
                         capture_output=True, text=True, timeout=600, env=env)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert (root / "release" / "02_forward_diffusion" / "02_forward_diffusion.ipynb").is_file()


# ---- autograde and feedback ----

FAST = "02_forward_diffusion"


def graded_ids(path) -> list[str]:
    return [grade_id(ex.name) for ex in exercises(load(path)) if ex.check]


def hints(path) -> dict[str, list[str]]:
    nb = load(path)
    return {grade_id(ex.name): [literal(h) for h in
                                check_arguments(hidden_code(cell_text(nb["cells"][ex.check[0]]))).get("hint", [])]
            for ex in exercises(nb) if ex.check}


def test_autograde_scores_untouched_key_and_wrong_submissions(course):
    """(a) the release untouched: 0 points; (b) the answer key: full points; (c) wrong answers: 0 points
    for those, and the feedback shows each wrong exercise's hint."""
    ids = graded_ids(ROOT / "notebooks" / f"{FAST}.ipynb")
    wrong = {gid: ("wrong" if k % 2 else "key") for k, gid in enumerate(ids)}
    expect = {"untouched": dict.fromkeys(ids, 0.0), "key": dict.fromkeys(ids, 1.0),
              "mixed": {gid: 0.0 if mode == "wrong" else 1.0 for gid, mode in wrong.items()}}
    for student, answers in (("untouched", "none"), ("key", "key"), ("mixed", wrong)):
        grading.submit(course, FAST, student, answers)
        scores = grading.autograde(course, FAST, student)
        assert {gid: s for gid, (s, _) in scores.items()} == expect[student], student
    html = unescape(grading.feedback(course, FAST, "mixed").read_text(encoding="utf-8"))
    for gid, mode in wrong.items():
        if mode == "wrong":
            for hint in hints(ROOT / "notebooks" / f"{FAST}.ipynb")[gid]:
                assert hint[:40] in html, (gid, hint)
    assert "not yet" in html


def test_autograde_flags_a_deleted_check_and_an_edited_locked_cell(course):
    """A student who deletes a check cell or edits a locked one does not escape it: nbgrader puts the
    check back (and says so in the graded notebook) and restores the locked cell, with a warning."""
    path = ROOT / "notebooks" / f"{FAST}.ipynb"
    nb = load(path)
    first, second = [ex for ex in exercises(nb) if ex.check][:2]
    submitted = grading.submit(course, FAST, "tamper", "none")
    student = load(submitted)
    check_id = nb["cells"][first.check[0]]["id"]
    prompt_id = nb["cells"][second.prompt[0]]["id"]
    student["cells"] = [c for c in student["cells"] if c["id"] != check_id]
    for c in student["cells"]:
        if c["id"] == prompt_id:
            c["source"] = "I changed the question."
    submitted.write_text(json.dumps(student), encoding="utf-8")
    log = []
    scores = grading.autograde(course, FAST, "tamper", log=log)
    assert scores[grade_id(first.name)] == (0.0, 1.0)   # the deleted check was put back and run
    graded = load(course / "autograded" / "tamper" / FAST / f"{FAST}.ipynb")
    text = "\n".join(cell_text(c) for c in graded["cells"])
    assert "was missing from the submission" in text and "I changed the question." not in text
    # the prompt has no hidden part, so a changed checksum (or source) of it is the edit, flagged by nbgrader
    assert re.search(r"Attribute '(source|checksum)' for cell \S+_prompt has changed", log[0]), log[0][-2000:]


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_autograde_every_notebook(path, course):
    """Every notebook, one submission: the first checked exercise answered from the key, the second
    wrong, the rest untouched -> full points, 0 with the hint in the feedback, 0."""
    ids = graded_ids(path)
    answers = {ids[0]: "key", ids[1]: "wrong"}
    grading.submit(course, path.stem, "mixed", answers)
    scores = grading.autograde(course, path.stem, "mixed")
    assert {gid: s for gid, (s, _) in scores.items() if gid in ids} == {
        gid: 1.0 if answers.get(gid) == "key" else 0.0 for gid in ids}
    html = grading.feedback(course, path.stem, "mixed").read_text(encoding="utf-8")
    html = unescape(html)
    for hint in hints(path)[ids[1]]:
        assert hint[:40] in html, (ids[1], hint)
