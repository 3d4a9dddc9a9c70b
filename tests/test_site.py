"""crystal_tutorial.course.site without a kernel: static widget panels, plotly outputs, the output folder.

The full build (every notebook executed and rendered) runs in the browser step of CI
(tests/browser/test_site_browser.py); head-less reliability in benchmarks/bench_headless.py.
"""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

site = pytest.importorskip("crystal_tutorial.course.site")


def _widget(model, **state):
    return {"model_name": model, "model_module": "@jupyter-widgets/controls", "state": state}


def _notebook_with_panel():
    """What nbclient stores for ``display(VBox([HBox([IntSlider, Button]), Output]))``."""
    plot = {"data": [{"type": "scatter", "x": [0, 1], "y": [1, 0]}], "layout": {}}
    state = {
        "box": _widget("VBoxModel", children=["IPY_MODEL_row", "IPY_MODEL_out"]),
        "row": _widget("HBoxModel", children=["IPY_MODEL_slider", "IPY_MODEL_button"]),
        "slider": _widget("IntSliderModel", value=7, min=0, max=10, step=1, description="step"),
        "button": _widget("ButtonModel", description="train"),
        "out": {"model_name": "OutputModel", "state": {"outputs": [
            {"output_type": "display_data", "metadata": {},
             "data": {"application/vnd.plotly.v1+json": plot, "text/html": "<div>cdn</div>"}},
            {"output_type": "stream", "name": "stdout", "text": "loss 0.12\n"}]}},
    }
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("display(panel)")
    cell.outputs = [nbformat.from_dict({"output_type": "display_data", "metadata": {}, "data": {
        "application/vnd.jupyter.widget-view+json": {"model_id": "box", "version_major": 2, "version_minor": 0},
        "text/plain": "VBox(...)"}})]
    nb.cells = [cell]
    nb.metadata["widgets"] = {site.WIDGET_STATE: {"state": state, "version_major": 2, "version_minor": 0}}
    return nb


def test_widget_panel_becomes_static_html_with_the_note():
    nb = _notebook_with_panel()
    static = site.StaticWidgets(nb)
    static.apply(nb)
    outs = nb.cells[0].outputs
    html = "".join(o.get("data", {}).get("text/html", "") for o in outs)
    assert site.SLIDER_NOTE.split(":")[0] in html
    assert 'type="range" disabled min="0" max="10" step="1" value="7"' in html
    assert "<button class=\"ct-button\" disabled>train</button>" in html
    assert "Plotly.newPlot" in html and "cdn" not in html          # plotly.js call, not the CDN fallback
    assert any(o.output_type == "stream" and "loss 0.12" in o.text for o in outs)
    assert "widgets" not in nb.metadata                             # no widget manager needed
    assert not any(site.WIDGET_VIEW in o.get("data", {}) for o in outs)
    assert (static.n_panels, static.n_plots) == (1, 1)


def test_a_widget_missing_from_the_state_gives_only_the_note():
    nb = _notebook_with_panel()
    nb.metadata["widgets"][site.WIDGET_STATE]["state"] = {}
    site.StaticWidgets(nb).apply(nb)
    assert len(nb.cells[0].outputs) == 1


def _notebooks(folder):
    folder.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# One\n\n## A section"), nbformat.v4.new_code_cell("x = 1")]
    nbformat.write(nb, folder / "01_one.ipynb")
    return folder


def _unexecuted(path, **kwargs):
    return site.read_notebook(path), {"notebook": path.name, "timeouts": 0, "seconds": 0.0, "cells": [],
                                      "sections": [], "stalls": []}


def test_out_refuses_a_folder_that_is_not_a_site(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    with pytest.raises(ValueError, match="mine.txt"):
        site.build_site(out, _notebooks(tmp_path / "nb"))
    assert (out / "mine.txt").read_text() == "keep me"


def test_a_new_site_replaces_the_old_one_as_a_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(site, "execute_notebook", _unexecuted)
    out, notebooks = tmp_path / "site", _notebooks(tmp_path / "nb")
    site.build_site(out, notebooks, log=lambda *a: None)
    (notebooks / "01_one.ipynb").rename(notebooks / "02_two.ipynb")
    site.build_site(out, notebooks, log=lambda *a: None)
    assert "02_two.html" in {p.name for p in out.iterdir()} and "01_one.html" not in {p.name for p in out.iterdir()}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nb", "site"]   # no temporary folder left behind
    (out / "notes.txt").write_text("mine")                                 # a file the site did not write
    with pytest.raises(ValueError, match="notes.txt"):
        site.build_site(out, notebooks, log=lambda *a: None)
    assert (out / "notes.txt").read_text() == "mine"


def test_execute_notebook_validates_its_arguments(tmp_path):
    with pytest.raises(FileNotFoundError, match="path"):
        site.execute_notebook(tmp_path / "missing.ipynb")
    nb = tmp_path / "a.ipynb"
    nb.write_text(json.dumps(nbformat.v4.new_notebook()))
    with pytest.raises(ValueError, match="timeout"):
        site.execute_notebook(nb, timeout=0)


def test_reliable_manager_hands_out_the_reliable_client():
    km = site.ReliableKernelManager(kernel_name="python3")
    kc = km.client()
    assert isinstance(kc, site.ReliableKernelClient)
    assert issubclass(kc.shell_channel_class, site._SlicedChannel)
    assert issubclass(kc.iopub_channel_class, site._SlicedChannel)


def test_projector_cells_are_marked_as_slides():
    """Cells that build a widget panel are slides of their own (jupyterlab-rise); the other slide marks are the
    section headings of tests/test_slides.py (markdown), never another code cell."""
    import re
    from pathlib import Path
    build = re.compile(r"\b(panel|button_panel|play_slider)\(|W\.(FloatSlider|IntSlider|FloatLogSlider|SelectionSlider)\(")  # noqa: E501
    notebooks = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert notebooks
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        slides = [
            c
            for c in nb.cells
            if c.metadata.get("slideshow", {}).get("slide_type") == "slide" and c.cell_type == "code"
        ]
        for cell in slides:
            body = "\n".join(l for l in cell.source.splitlines() if not re.match(r"\s*(from|import)\s", l))
            assert cell.cell_type == "code" and build.search(body), f"{path.name}: slide cell {cell.id} builds no panel"
        panels = [
            c
            for c in nb.cells
            if c.cell_type == "code"
            and build.search("\n".join(l for l in c.source.splitlines() if not re.match(r"\s*(from|import)\s", l)))
        ]
        assert len(slides) == len(panels), f"{path.name}: {len(panels)} panel cells, {len(slides)} marked as slides"


def test_a_missing_site_extra_is_named_before_any_notebook_runs(tmp_path, monkeypatch):
    """Without django-static-mathjax the build used to fail with a ModuleNotFoundError traceback after
    executing every notebook; now it stops first, naming the module and the extra to install."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mathjax" else real(name, *a))
    ran = []
    monkeypatch.setattr(site, "execute_notebook", lambda *a, **k: ran.append(a))
    with pytest.raises(RuntimeError, match=r'mathjax.*pip install -e "\.\[site\]"'):
        site.build_site(tmp_path / "site", _notebooks(tmp_path / "nb"), log=lambda *a: None)
    assert ran == [] and sorted(p.name for p in tmp_path.iterdir()) == ["nb"]


def test_the_test_extra_holds_every_module_the_site_needs():
    """The README's test command installs only the `test` extra, and the site tests build a site."""
    import re

    import tomllib

    extras = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    test = " ".join(extras["project"]["optional-dependencies"]["test"])
    distribution = {"nbclient": "nbclient", "nbconvert": "nbconvert", "mathjax": "django-static-mathjax"}
    for module in site.SITE_EXTRA:
        assert re.search(rf"\b{re.escape(distribution[module])}\b", test), f"the test extra lacks {module}"
