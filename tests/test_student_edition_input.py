"""Issue 27.7: ``student-edition`` given notebooks that are not what it expects: a clear error naming
the file (and the cell), never a KeyError / TypeError traceback, and never a solution left in."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crystal_tutorial.course.grading import write_student_edition
from crystal_tutorial.course.teaching import notebook_json, tags

ROOT = Path(__file__).resolve().parents[1]


def notebook(*cells):
    return {"cells": list(cells), "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def cell(kind="markdown", source="text", tags=None):
    c = {"cell_type": kind, "metadata": {} if tags is None else {"tags": tags}, "source": source}
    if kind == "code":
        c.update(outputs=[], execution_count=None)
    return c


def folder_with(tmp_path, content, name="01_bad.ipynb"):
    folder = tmp_path / "nb"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_bytes(content if isinstance(content, bytes) else
                     (content if isinstance(content, str) else json.dumps(content)).encode())
    return folder


BAD = [
    (notebook(cell(tags="solution")), "cell 1 of 1", "metadata.tags must be a list"),
    ({"metadata": {}, "nbformat": 4}, "needs a 'cells' list"),
    ([1, 2, 3], "got a JSON list"),
    (notebook({"cell_type": "code", "metadata": {}}), "cell 1 of 1 has no 'source'"),
    (notebook(cell(), "not a cell"), "cell 2 of 2 is a JSON str"),
    ('{"cells": [', "not valid JSON", "line 1"),
    (b'{"cells": [], "x": "\xff"}', "not UTF-8"),
]


@pytest.mark.parametrize("case", BAD)
def test_a_bad_notebook_is_a_value_error_naming_the_file(tmp_path, case):
    content, *needles = case
    folder = folder_with(tmp_path, content)
    with pytest.raises(ValueError) as info:
        write_student_edition(tmp_path / "out", folder)
    assert "01_bad.ipynb" in str(info.value), str(info.value)
    for needle in needles:
        assert needle in str(info.value), str(info.value)
    assert not (tmp_path / "out").exists() and [p.name for p in tmp_path.iterdir()] == ["nb"]


def test_on_the_command_line_it_is_one_line_with_exit_2(tmp_path):
    folder = folder_with(tmp_path, notebook({"cell_type": "code", "metadata": {}}))
    result = subprocess.run([sys.executable, "-m", "crystal_tutorial", "student-edition", str(tmp_path / "out"),
                             "--notebooks", str(folder)], capture_output=True, text=True, timeout=120,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "01_bad.ipynb" in result.stderr


def test_tags_as_a_string_never_keep_a_solution():
    """The tags "solution" as a string were iterated letter by letter: the solution stayed in."""
    text = json.dumps(notebook(cell(tags=["exercise"]), cell(source="<details>answer</details>", tags="solution")))
    with pytest.raises(ValueError, match="05_x.ipynb: cell 2 of 2: a cell's metadata.tags must be a list"):
        notebook_json("05_x.ipynb", text)
    with pytest.raises(ValueError, match="tags must be a list"):
        tags(cell(tags="solution"))
    assert tags(cell(tags=["solution", "other"])) == ["solution"]


def test_a_good_notebook_passes_unchanged():
    nb = notebook(cell(), cell("code", ["x = 1\n", "y = 2"], tags=["check"]))
    assert notebook_json("a.ipynb", json.dumps(nb)) == nb


@pytest.mark.parametrize("inside", ["", "class", "deeper/class"])
def test_out_inside_the_notebooks_folder_is_refused(tmp_path, inside):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    (folder / "01_a.ipynb").write_text(json.dumps(notebook(cell())))
    with pytest.raises(ValueError, match="inside the notebooks folder"):
        write_student_edition(folder / inside if inside else folder, folder)
    assert sorted(p.name for p in folder.iterdir()) == ["01_a.ipynb"]
