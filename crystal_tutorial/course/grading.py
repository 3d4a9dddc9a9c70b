"""nbgrader: the notebooks as nbgrader source notebooks, a course folder, and the students' copy.

Every exercise is a run of tagged cells (:mod:`.teaching`); its cells also carry nbgrader's metadata
(``cell.metadata.nbgrader``, schema 3), so that ``notebooks/`` are nbgrader *source* notebooks:

- the ``check`` cell is a locked autograded test cell (``grade: true``, 1 point, ``grade_id`` the exercise
  id: ``ex_01_1`` for 01.1); its code sits between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``,
  so a student's copy has neither the expected value nor the test, and nbgrader puts them back to grade;
- the folded ``solution`` cell is locked, its ``<details>`` block between ``<!-- BEGIN MARK SCHEME -->``
  and ``<!-- END MARK SCHEME -->``: nbgrader's ``ClearMarkScheme`` removes it from the students' copy
  (the HTML comments are invisible in Jupyter; the course's config lets it do so outside task cells);
- the prompt is a locked read-only cell; an open exercise's prompt (no check) is a manually graded task;
- the answer cells (``answer = None``) carry nothing in the repository; in the course's source notebook
  (:func:`key_into_answer_cells`) the last one is nbgrader's autograded answer cell holding the key's
  code between ``### BEGIN SOLUTION`` and ``### END SOLUTION``, so the source runs as the answer key.

A learner who never uses nbgrader runs the same cells: the markers are comments, ``check`` prints
"correct" or "not yet" with a hint. Under ``nbgrader autograde`` (``NBGRADER_EXECUTION=autograde``) a
verdict that is not "correct" raises, so the test cell scores 0 and the feedback shows the verdict and
its hint.

    mark_notebook(nb)                 # adds the metadata and markers (idempotent)
    write_course("course")            # nbgrader_config.py + source/NN_name/NN_name.ipynb
    release("course", "02_forward_diffusion")                  # nbgrader generate_assignment
    submit("course", "02_forward_diffusion", "ada", "key")     # a submission: the release, answered
    autograde("course", "02_forward_diffusion", "ada")         # {grade_id: (score, max_score)}
    write_student_edition("class")    # nbgrader's release step; the key goes beside it, not into it
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

HIDDEN_NOTE = "# nbgrader hides the lines between the markers from students and runs them when it grades."
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
SCHEME_BEGIN, SCHEME_END = "<!-- BEGIN MARK SCHEME -->", "<!-- END MARK SCHEME -->"
SOLUTION_BEGIN, SOLUTION_END = "### BEGIN SOLUTION", "### END SOLUTION"
CODE_STUB = "# YOUR CODE HERE"
POINTS = 1         # per checked exercise (one check cell)
OPEN_POINTS = 2    # per open exercise, graded by hand

# The course's nbgrader settings: written into nbgrader_config.py and used by write_student_edition.
SETTINGS = {
    "CourseDirectory": {"course_id": "crystal-diffusion"},
    "ClearMarkScheme": {"enforce_metadata": False},   # a locked solution cell holds the mark scheme
    "Execute": {"timeout": 600},                      # seconds per cell; training cells take tens of seconds
    "OverwriteCells": {"add_missing_cells": True},    # a deleted check cell is put back (and said so) and run
    "ClearSolutions": {"code_stub": {"python": CODE_STUB}},   # no `raise NotImplementedError`: Run All goes on
}


def grade_id(name: str) -> str:
    """nbgrader's id of an exercise: "01.1 density of BCC iron" -> "ex_01_1"."""
    match = re.search(r"\b(\d\d)\.(\d+)", name)
    if match is None:
        raise ValueError(f"an exercise name holds its id NN.K, got {name!r}")
    return f"ex_{match.group(1)}_{match.group(2)}"


def _meta(gid: str, *, grade=False, solution=False, locked=True, points=None, task=False) -> dict:
    meta = {"grade": grade, "grade_id": gid, "locked": locked, "schema_version": 3, "solution": solution}
    if points is not None:
        meta["points"] = points
    if task:
        meta["task"] = True
    return meta


def _wrap(source: str, begin: str, end: str, note: str = "") -> str:
    if begin in source:
        return source
    head = f"{note}\n" if note else ""
    return f"{head}{begin}\n{source.strip()}\n{end}"


def _set_source(cell, text: str) -> None:
    """Set a cell's source only if its text changes (a marked cell keeps nbformat's list of lines)."""
    from .teaching import cell_text
    if cell_text(cell) != text:
        cell["source"] = text


def mark_notebook(nb) -> list[str]:
    """Give every exercise of ``nb`` (a notebook dict, changed in place) nbgrader's metadata and markers.

    Idempotent: a marked notebook stays as it is. Returns the grade ids of the graded cells, in order.
    """
    from .teaching import cell_text, exercises
    graded = []
    for ex in exercises(nb):
        gid = grade_id(ex.name)
        cells = nb["cells"]
        for k, i in enumerate(ex.prompt):
            suffix = "" if k == 0 else f"_{k + 1}"
            if ex.check:
                cells[i]["metadata"]["nbgrader"] = _meta(f"{gid}_prompt{suffix}")
            else:   # an open exercise: graded by hand as an nbgrader task
                cells[i]["metadata"]["nbgrader"] = _meta(gid + suffix, points=OPEN_POINTS, task=True)
                graded.append(gid + suffix)
        for k, i in enumerate(ex.check):
            gid_k = gid if k == 0 else f"{gid}_{k + 1}"
            cells[i]["metadata"]["nbgrader"] = _meta(gid_k, grade=True, points=POINTS)
            _set_source(cells[i], _wrap(cell_text(cells[i]), HIDDEN_BEGIN, HIDDEN_END, HIDDEN_NOTE))
            graded.append(gid_k)
        for k, i in enumerate(ex.solution):
            suffix = "" if k == 0 else f"_{k + 1}"
            cells[i]["metadata"]["nbgrader"] = _meta(f"{gid}_solution{suffix}")
            _set_source(cells[i], _wrap(cell_text(cells[i]), SCHEME_BEGIN, SCHEME_END))
    return graded


def key_into_answer_cells(nb) -> None:
    """The course's source notebook from a marked notebook (a dict, changed in place): each checked
    exercise's last answer cell becomes nbgrader's autograded answer cell and gets the answer key's code
    between ``### BEGIN SOLUTION`` and ``### END SOLUTION``, so that the source runs as the key and the
    release holds ``answer = None`` and ``# YOUR CODE HERE`` instead."""
    from .teaching import cell_text, exercises, solution_code
    for ex in exercises(nb):
        if not (ex.check and ex.solution and ex.answer):
            continue
        cell = nb["cells"][ex.answer[-1]]
        cell["metadata"]["nbgrader"] = _meta(f"{grade_id(ex.name)}_answer", solution=True, locked=False)
        code = solution_code(cell_text(nb["cells"][ex.solution[0]]))
        if SOLUTION_BEGIN not in cell_text(cell):
            cell["source"] = f"{cell_text(cell).rstrip()}\n{SOLUTION_BEGIN}\n{code.strip()}\n{SOLUTION_END}"


def config_text() -> str:
    """The course's ``nbgrader_config.py`` (from :data:`SETTINGS`)."""
    lines = ["# nbgrader's settings for this course, written by `python -m crystal_tutorial course`.",
             "# See the instructor guide (teaching/instructor-guide.md, 'Assignments with nbgrader').",
             "c = get_config()  # noqa: F821", ""]
    for section, values in SETTINGS.items():
        lines += [f"c.{section}.{key} = {value!r}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def _config(root):
    from traitlets.config import Config
    cfg = Config()
    for section, values in SETTINGS.items():
        for key, value in values.items():
            setattr(getattr(cfg, section), key, value)
    cfg.CourseDirectory.root = str(root)
    return cfg


# ---- the course folder and nbgrader's release ----

def _notebook_paths(notebooks=None) -> list[Path]:
    from .teaching import NOTEBOOKS
    source = Path(notebooks) if notebooks is not None else NOTEBOOKS
    paths = sorted(source.glob("[0-9][0-9]_*.ipynb"))
    if not paths:
        raise FileNotFoundError(f"no notebooks (NN_name.ipynb) in {source}")
    return paths


def _notebook_text(nb) -> str:
    """A notebook dict as the repository writes notebooks (nbformat's format)."""
    import nbformat
    return nbformat.writes(nbformat.from_dict(nb)) + "\n"


def _write_course_files(root: Path, paths) -> list[Path]:
    """nbgrader_config.py and source/NN_name/NN_name.ipynb (with every exercise marked) under ``root``."""
    from ..files import atomic_write_text
    written = [root / "nbgrader_config.py"]
    atomic_write_text(written[0], config_text())
    for path in paths:
        nb = json.loads(path.read_text(encoding="utf-8"))
        mark_notebook(nb)   # the repository's notebooks are marked already (tests/test_grading.py); a copy may not be
        key_into_answer_cells(nb)
        target = root / "source" / path.stem / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(target, _notebook_text(nb))
        written.append(target)
    return written


def write_course(out, notebooks=None) -> list[Path]:
    """Write an nbgrader course folder to ``out`` (new or empty): ``nbgrader_config.py`` and, for every
    notebook, ``source/NN_name/NN_name.ipynb`` (one assignment per notebook). The notebooks read no data
    files of their own (the package ships its data), so a source folder holds the notebook alone.

    Then, in ``out``: ``nbgrader generate_assignment 01_crystals_and_pbc``, collect the students' work into
    ``submitted/STUDENT/01_crystals_and_pbc/``, ``nbgrader autograde 01_crystals_and_pbc`` and
    ``nbgrader generate_feedback 01_crystals_and_pbc`` (teaching/instructor-guide.md walks through it).
    An existing course is never overwritten: its gradebook and the students' work live there.
    """
    from ..cli.runs import RunFolder
    paths = _notebook_paths(notebooks)
    with RunFolder(out, "course") as run:
        written = _write_course_files(run.tmp, paths)
    return [run.out / p.relative_to(run.tmp) for p in written]


@contextlib.contextmanager
def _tools_on_path():
    """nbgrader runs ``alembic`` (its gradebook's migrations) as a command: put this Python's scripts first.

    While nbgrader runs, its ``Execute`` preprocessor also gets ``course.site.ReliableKernelManager``
    instead of jupyter_client's ``AsyncKernelManager``: the stock client can miss a zmq wake-up and wait
    out the whole cell timeout (600 s) on a cell that finished long ago (README, "Head-less runs";
    measured here: single autogrades of 756-773 s against a median of 200 s). nbgrader passes the class
    as a keyword argument, which overrides its configuration, so it is swapped in its module instead.
    """
    from nbgrader.preprocessors import execute

    from .site import ReliableKernelManager
    old, manager = os.environ.get("PATH", ""), execute.AsyncKernelManager
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{old}"
    execute.AsyncKernelManager = ReliableKernelManager
    try:
        yield
    finally:
        os.environ["PATH"] = old
        execute.AsyncKernelManager = manager


def nbgrader_api(root):
    """nbgrader's Python API (``NbGraderAPI``) for the course folder ``root``, with :data:`SETTINGS`."""
    try:
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory
    except ImportError as exc:
        raise RuntimeError(f'nbgrader is not installed ({exc}): pip install -e ".[nbgrader]"') from None
    config = _config(root)
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


def release(root, assignment: str) -> Path:
    """``nbgrader generate_assignment``: the students' copy of ``assignment`` in ``root/release/``."""
    with _tools_on_path():
        result = nbgrader_api(root).generate_assignment(assignment, force=True)
    if not result["success"]:
        raise RuntimeError(f"nbgrader generate_assignment {assignment} failed:\n{result.get('error', '')}"
                           f"\n{result.get('log', '')}")
    return Path(root) / "release" / assignment / f"{assignment}.ipynb"


# ---- submissions, autograde and feedback (what tests, the class benchmark and a teacher's trial use) ----

WRONG = "answer = -12345.0   # a wrong answer (crystal_tutorial.course.grading.fill_in)"


def fill_in(student_nb, source_nb, answers="key"):
    """The students' copy ``student_nb`` (a notebook dict, changed in place) answered as a student would:
    below each checked exercise's answer cells a new cell with the answer key's code (``"key"``), a wrong
    answer (``"wrong"``), or nothing (``"none"``). ``answers`` is one of these for every exercise, or a dict
    {grade_id: mode} (exercises not in it stay unanswered). ``source_nb`` is the source notebook (it holds
    the key). Returns the number of cells added."""
    import nbformat

    from .teaching import cell_text, exercises, solution_code
    modes = ("key", "wrong", "none")
    if not (answers in modes or isinstance(answers, dict) and set(answers.values()) <= set(modes)):
        raise ValueError(f"answers must be one of {modes} or a dict grade_id -> one of them, got {answers!r}")
    added = 0
    for ex in reversed(exercises(source_nb)):
        if not (ex.check and ex.solution):
            continue
        mode = answers if isinstance(answers, str) else answers.get(grade_id(ex.name), "none")
        if mode == "none":
            continue
        code = solution_code(cell_text(source_nb["cells"][ex.solution[0]])) if mode == "key" else WRONG
        answer_id = source_nb["cells"][ex.answer[-1]]["id"]
        k = next(i for i, c in enumerate(student_nb["cells"]) if c.get("id") == answer_id)
        student_nb["cells"].insert(k + 1, nbformat.v4.new_code_cell(code))
        added += 1
    return added


def submit(root, assignment: str, student: str, answers="key") -> Path:
    """Put a submission of ``student`` into ``root/submitted/``: the released notebook, filled in by
    :func:`fill_in`. Returns its path."""
    from ..files import atomic_write_text
    root = Path(root)
    released = json.loads((root / "release" / assignment / f"{assignment}.ipynb").read_text(encoding="utf-8"))
    source = json.loads((root / "source" / assignment / f"{assignment}.ipynb").read_text(encoding="utf-8"))
    fill_in(released, source, answers)
    path = root / "submitted" / student / assignment / f"{assignment}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, _notebook_text(released))
    return path


def autograde(root, assignment: str, student: str, log: list | None = None) -> dict[str, tuple[float, float]]:
    """``nbgrader autograde`` of one submission; returns {grade_id: (score, max_score)} from the gradebook.
    nbgrader's log (its warnings about changed or missing cells) is appended to ``log`` if given."""
    from nbgrader.api import Gradebook
    with _tools_on_path():
        result = nbgrader_api(root).autograde(assignment, student, force=True, create=True)
    if log is not None:
        log.append(result.get("log", ""))
    if not result["success"]:
        raise RuntimeError(f"nbgrader autograde {assignment} {student} failed:\n{result.get('error', '')}")
    with Gradebook(f"sqlite:///{Path(root).resolve() / 'gradebook.db'}") as gb:
        notebook = gb.find_submission_notebook(assignment, assignment, student)
        return {g.name: (g.score, g.max_score) for g in notebook.grades}


def feedback(root, assignment: str, student: str) -> Path:
    """``nbgrader generate_feedback``: the HTML a student gets back (scores, hidden checks' verdicts)."""
    with _tools_on_path():
        result = nbgrader_api(root).generate_feedback(assignment, student, force=True)
    if not result["success"]:
        raise RuntimeError(f"nbgrader generate_feedback {assignment} failed:\n{result.get('error', '')}")
    return Path(root) / "feedback" / student / assignment / f"{assignment}.html"


# ---- the student edition: nbgrader's release, for teachers who hand out files ----

def key_folder(out) -> Path:
    """Where ``student-edition OUT`` writes the answer key: beside OUT, never inside it."""
    out = Path(out)
    return out.parent / f"{out.name}-answer-key"


def write_student_edition(out, notebooks=None, overwrite: bool = False, key=None) -> list[Path]:
    """Write the students' copy of every notebook to ``out`` and the answer key to ``key`` (default
    :func:`key_folder`: ``OUT-answer-key/answer-key.md``, beside OUT, with a ``.gitignore`` that keeps it
    out of git). The copies are nbgrader's release (``generate_assignment`` in a temporary course): no
    folded solution, no expected value, no hidden check. ``out`` follows the run-folder rules
    (:mod:`crystal_tutorial.runs`). Returns the notebooks' paths, then the key's."""
    from ..cli.runs import RunFolder
    from ..files import atomic_write_text
    from .teaching import answer_key, notebook_json
    paths = _notebook_paths(notebooks)
    for path in paths:   # issue 27.7: a file that is not a notebook is an error naming it, before any work
        notebook_json(path)
    source = paths[0].parent.resolve()
    if str(out).strip() and (Path(out).resolve() == source or source in Path(out).resolve().parents):
        raise ValueError(f"OUT: {out} lies inside the notebooks folder {paths[0].parent}; the students' copies "
                         "there would be run as tests beside the originals; choose a folder outside it")
    key = Path(key) if key is not None else key_folder(out)
    if key.resolve() == Path(out).resolve() or Path(out).resolve() in key.resolve().parents:
        raise ValueError(f"key must be outside the students' folder {str(out)!r}, got {str(key)!r}")
    if (key / "answer-key.md").exists() and not overwrite:
        raise ValueError(f"{key / 'answer-key.md'} exists; pass --overwrite to replace it")
    with RunFolder(out, "student-edition", overwrite=overwrite, option="OUT") as run, \
            tempfile.TemporaryDirectory(prefix=".course-", dir=run.tmp.parent) as course:
        _write_course_files(Path(course), paths)
        for path in paths:
            shutil.copyfile(release(course, path.stem), run.tmp / path.name)
    key.mkdir(parents=True, exist_ok=True)
    atomic_write_text(key / ".gitignore", "# the answer key: never commit it, never hand it out\n*\n")
    atomic_write_text(key / "answer-key.md", answer_key(paths))
    return [run.out / p.name for p in paths] + [key / "answer-key.md"]


# ---- the command line: `course DIR` and `student-edition OUT` ----

def add_course_arguments(parser) -> None:
    """The ``course`` subcommand's arguments (registered by :mod:`crystal_tutorial.cli.main`)."""
    parser.add_argument("out", help="new or empty folder for the nbgrader course (nbgrader_config.py, source/)")
    parser.add_argument("--notebooks", default=None, help="folder of the notebooks (default: the repository's)")


def run_course(args) -> int:
    written = write_course(args.out, args.notebooks)
    print(f"Wrote an nbgrader course with {len(written) - 1} assignments to {args.out}/; next: cd {args.out} && "
          f"nbgrader generate_assignment {Path(written[1]).stem}")
    return 0


def add_student_edition_arguments(parser) -> None:
    """The ``student-edition`` subcommand's arguments (registered by :mod:`crystal_tutorial.cli.main`)."""
    parser.add_argument("out", help="new or empty folder for the students' notebooks")
    parser.add_argument("--notebooks", default=None, help="folder of the notebooks (default: the repository's)")
    parser.add_argument("--key", default=None,
                        help="folder for answer-key.md, outside OUT (default: OUT-answer-key beside OUT)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an earlier student edition in OUT as a whole (never other files), and its key")


def run_student_edition(args) -> int:
    written = write_student_edition(args.out, args.notebooks, overwrite=args.overwrite, key=args.key)
    print(f"Wrote {len(written) - 1} student notebooks (nbgrader's release: no solutions, no checks) to {args.out}/ "
          f"and the answer key to {written[-1]} (keep it away from students)")
    return 0
