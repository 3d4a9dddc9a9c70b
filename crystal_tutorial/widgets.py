"""ipywidgets factories: thin wrappers that connect sliders to pure render functions.

A render function takes plain values and returns a figure (plotly ``go.Figure``, a matplotlib
``Figure``) or a tuple/list of them; it is unit-tested on its own. :func:`panel` wires controls to
it and redraws into an ``ipywidgets.Output`` on every change. We display plotly ``go.Figure``
objects inside ``Output`` rather than using ``go.FigureWidget``, which renders blank in
JupyterLab 4 with plotly 6/7 (see DESIGN.md, "Known pitfalls").
"""
from __future__ import annotations

import ipywidgets as W


def _show(result):
    import matplotlib.pyplot as plt
    from IPython.display import display
    items = result if isinstance(result, (tuple, list)) else [result]
    for item in items:
        if item is None:
            continue
        display(item)
        if hasattr(item, "savefig"):  # matplotlib Figure: do not let it linger in pyplot's state
            plt.close(item)


def panel(render, controls: dict, layout: str = "vertical", continuous: bool = False):
    """Controls (``{argument name: widget}``) that call ``render(**values)`` and show what it returns.

    Returns an ``ipywidgets.VBox`` with attributes ``.controls`` (the dict), ``.output`` (the
    ``Output``) and ``.refresh()`` (redraw now). The first drawing happens immediately, so a
    non-interactive run (nbval, nbconvert) shows the default view.
    """
    output = W.Output()

    def refresh(*_):
        values = {name: widget.value for name, widget in controls.items()}
        with output:
            output.clear_output(wait=True)
            _show(render(**values))

    for widget in controls.values():
        if hasattr(widget, "continuous_update") and not continuous:
            widget.continuous_update = False
        widget.observe(refresh, names="value")
    box_cls = W.HBox if layout == "horizontal" else W.VBox
    box = W.VBox([box_cls(list(controls.values())), output])
    box.controls, box.output, box.refresh = controls, output, refresh
    refresh()
    return box


def play_slider(max_value: int, value: int = 0, description: str = "t", interval_ms: int = 150, step: int = 1):
    """An ``IntSlider`` 0..max_value linked to a ``Play`` button; returns ``(slider, HBox(play, slider))``."""
    if max_value < 1:
        raise ValueError(f"max_value must be at least 1, got {max_value}")
    slider = W.IntSlider(value=value, min=0, max=max_value, step=step, description=description,
                         continuous_update=False)
    play = W.Play(value=value, min=0, max=max_value, step=step, interval=interval_ms, description="play")
    W.jslink((play, "value"), (slider, "value"))
    return slider, W.HBox([play, slider])
