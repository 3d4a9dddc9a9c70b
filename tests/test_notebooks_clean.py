"""Notebooks are committed without outputs, and each has the series' opening and ending."""
import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found in notebooks/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_no_outputs(path):
    nb = json.loads(path.read_text())
    dirty = [i for i, c in enumerate(nb["cells"])
             if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))]
    assert not dirty, f"{path.name}: code cells {dirty} carry outputs; clear them before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_opening_and_ending(path):
    nb = json.loads(path.read_text())
    markdown = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    first = "".join(nb["cells"][0]["source"])
    assert first.startswith("# "), f"{path.name}: the first cell must be the title"
    for heading in ("## Summary", "## Exercises", "## References"):
        assert heading in markdown, f"{path.name}: missing section {heading!r}"
    assert markdown.count("<details>") >= 3, f"{path.name}: needs >= 3 exercises with folded solutions"
    assert "minutes" in first.lower() or "time" in first.lower(), f"{path.name}: opening needs the estimated time"


# An assert that a wall-clock time is below a fixed bound fails on a busy machine (issue 13, item 14):
# notebooks print timings and assert only ratios with a wide margin, or counted work.
ABSOLUTE_TIME_ASSERT = re.compile(r"^\s*assert\s+\w*(second|seconds|_s|time|elapsed)\w*\s*<=?\s*[\d.]+\s*$", re.M)


def test_absolute_time_assert_pattern():
    assert ABSOLUTE_TIME_ASSERT.search("x = 1\nassert slider_seconds < 1.0\n")
    assert ABSOLUTE_TIME_ASSERT.search("    assert t_train_s <= 30\n")
    assert not ABSOLUTE_TIME_ASSERT.search("assert t_ddpm / t_ddim > 2\n")
    assert not ABSOLUTE_TIME_ASSERT.search("assert n_calls_ddim < n_calls_ddpm\n")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_absolute_time_asserts(path):
    nb = json.loads(path.read_text())
    bad = [m.group(0).strip() for c in nb["cells"] if c["cell_type"] == "code"
           for m in ABSOLUTE_TIME_ASSERT.finditer("".join(c["source"]))]
    assert not bad, f"{path.name}: asserts a fixed wall-clock bound: {bad}"
