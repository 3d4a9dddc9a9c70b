"""ipywidgets factories: thin wrappers that connect sliders to pure render functions.

A render function takes plain values and returns a figure (plotly ``go.Figure``, a matplotlib
``Figure``) or a tuple/list of them; it is unit-tested on its own. :func:`panel` wires controls to
it and redraws into an ``ipywidgets.Output`` on every change. We display plotly ``go.Figure``
objects inside ``Output`` rather than using ``go.FigureWidget``, which renders blank in
JupyterLab 4 with plotly 6/7 (see docs/design.md, "Widgets").
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


def button_panel(action, controls: dict, label: str = "run", run_now: bool = True):
    """Controls plus a button: clicking calls ``action(**values)`` and shows what it returns.

    For slow actions (training) that should not rerun on every slider move. ``run_now`` performs
    one click at creation, so a non-interactive run shows the default result. Returns a VBox with
    ``.controls``, ``.button``, ``.output`` and ``.click()``.
    """
    output = W.Output()
    button = W.Button(description=label, button_style="primary", icon="play")

    def click(*_):
        values = {name: widget.value for name, widget in controls.items()}
        button.disabled = True
        try:
            with output:
                output.clear_output(wait=True)
                _show(action(**values))
        finally:
            button.disabled = False

    button.on_click(click)
    box = W.VBox([W.HBox(list(controls.values())[:3]), W.HBox(list(controls.values())[3:] + [button]), output])
    box.controls, box.button, box.output, box.click = controls, button, output, click
    if run_now:
        click()
    return box


def live_loss_plot(every: int = 10, title: str = "training loss (live)"):
    """An ``Output`` and a training callback that redraws the loss curve every ``every`` epochs.

    Use as ``out, callback = live_loss_plot(); display(out); train(..., callback=callback)``.
    """
    import matplotlib.pyplot as plt
    if not isinstance(every, int) or every < 1:
        raise ValueError(f"every must be a positive integer, got {every!r}")
    output = W.Output()

    def callback(epoch, history):
        if (epoch + 1) % every:
            return False
        fig, ax = plt.subplots(figsize=(6, 3))
        ax.plot(range(1, len(history.epoch_losses) + 1), history.epoch_losses)
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.set_title(f"{title}: epoch {epoch + 1}, loss {history.epoch_losses[-1]:.4f}")
        fig.tight_layout()
        with output:
            output.clear_output(wait=True)
            _show(fig)
        return False

    return output, callback
