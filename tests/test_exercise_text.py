"""Exercise prompts say what their checks say, and nothing that a student copy makes false."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def cells(path):
    return [(c["cell_type"], c.get("metadata", {}).get("tags", []), "".join(c["source"]))
            for c in json.loads(path.read_text(encoding="utf-8"))["cells"]]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_prompts_are_numbered_as_their_checks(path):
    """Each check ``check("NN.k ...")`` follows a prompt headed ``**Exercise NN.k.**`` (not "1.", "2.")."""
    prompt = None
    for kind, tags, text in cells(path):
        head = re.match(r"\*\*Exercise (\d\d\.\d+)\.", text)
        if kind == "markdown" and "exercise" in tags:
            assert head or not re.match(r"\*\*\d+\.", text), (
                f"{path.name}: prompt numbered without its notebook: {text[:40]!r}"
            )
            prompt = head.group(1) if head else prompt
        for exercise in (
            re.findall(r"""\bcheck\(\s*["'](\d\d\.\d+)""", text) if kind == "code" and "check" in tags else []
        ):
            assert exercise == prompt, f"{path.name}: check {exercise} follows the prompt of exercise {prompt}"
            assert exercise.startswith(path.name[:2] + "."), (
                f"{path.name}: check {exercise} has another notebook's number"
            )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_promise_of_folded_solutions(path):
    """The student edition removes the solutions: the notebooks do not promise that they are folded below."""
    for kind, _, text in cells(path):
        assert "folded away: try first" not in text, f"{path.name} promises folded solutions"
