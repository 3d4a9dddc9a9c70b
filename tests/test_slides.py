"""Every notebook is also a lecture deck: its sections carry RISE / nbconvert slide marks.

A heading cell (``#``/``##``) starts a slide, a ``###`` heading a sub-slide, and each widget panel is a
slide of its own, so ``jupyter nbconvert --to slides`` (or RISE in the classic notebook) gives one
slide per section instead of everything before the first panel on one long slide.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def slide_marks(nb) -> list[str]:
    return [c["metadata"]["slideshow"]["slide_type"] for c in nb["cells"] if "slideshow" in c.get("metadata", {})]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_sections_are_slides(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    marks = slide_marks(nb)
    assert sum(m in ("slide", "subslide") for m in marks) >= 5, f"{path.name}: only {len(marks)} slide marks"
    for cell in nb["cells"]:
        text = "".join(cell["source"]).lstrip()
        if cell["cell_type"] == "markdown" and text.startswith(("# ", "## ")):
            assert cell["metadata"].get("slideshow", {}).get("slide_type") == "slide", (
                f"{path.name}: the section {text.splitlines()[0]!r} does not start a slide")


@pytest.mark.parametrize("path", NOTEBOOKS[:1] + NOTEBOOKS[-1:], ids=lambda p: p.name)
def test_nbconvert_builds_the_deck(path, tmp_path):
    """nbconvert's own slides exporter (what ``jupyter nbconvert --to slides`` runs) builds a reveal.js deck."""
    import nbformat
    from nbconvert import SlidesExporter
    body, _ = SlidesExporter().from_notebook_node(nbformat.read(path, as_version=4))
    n_sections = body.count("<section")
    assert n_sections >= 5, f"{path.name}: the deck has {n_sections} sections"
