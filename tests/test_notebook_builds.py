"""Notebooks 08-10 build their models in cells: they do not read the package's source instead.

A printed function is reading, not building. Where reading the package's code is the point, a
notebook may print one function whole (``print(inspect.getsource(name))``); it never slices a
source text, and no notebook reaches into the package's private names (``module._helper``).
"""
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
BUILDERS = [p for p in NOTEBOOKS if p.name[:2] in ("08", "09", "10")]
WHOLE_PRINT = re.compile(r"^print\(inspect\.getsource\([\w.]+\)\)$")
PRIVATE = re.compile(r"\b[A-Za-z]\w*\._[A-Za-z]\w*")   # name._private (not dunders: __init__ has two)


def code_lines(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [line.strip() for c in cells if c["cell_type"] == "code" for line in "".join(c["source"]).splitlines()]


def test_the_notebooks_that_build_are_found():
    assert [p.name[:2] for p in BUILDERS] == ["08", "09", "10"]


@pytest.mark.parametrize("path", BUILDERS, ids=lambda p: p.name)
def test_at_most_one_printed_function(path):
    uses = [line for line in code_lines(path) if "getsource" in line]
    assert len(uses) <= 1, f"{path.name} prints source {len(uses)} times (at most 1): {uses}"
    for line in uses:   # a whole function, printed: no slices of a source text
        assert WHOLE_PRINT.match(line.split("#")[0].strip()), f"{path.name}: {line!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_private_names_of_the_package(path):
    private = [m for line in code_lines(path) for m in PRIVATE.findall(line.split("#")[0])]
    assert not private, f"{path.name} uses private names {private}: use the public function or write it in a cell"


def test_the_rules_catch_what_they_forbid(tmp_path):
    """The patterns above would find the old habits (a slice of a source, a private helper)."""
    assert not WHOLE_PRINT.match('print(src[src.index("    with"):src.index("losses")])')
    assert not WHOLE_PRINT.match("print(inspect.getsource(train_csp)[100:])")
    assert WHOLE_PRINT.match("print(inspect.getsource(PairwiseDenoiser.backward))")
    assert PRIVATE.findall("x = sorted(z, key=B._electronegativity)") == ["B._electronegativity"]
    assert PRIVATE.findall("model.__class__; model.forward(x)") == []
