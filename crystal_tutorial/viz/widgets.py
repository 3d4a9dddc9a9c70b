"""ipywidgets factories: thin wrappers that connect sliders to pure render functions.

A render function takes plain values and returns a figure (plotly ``go.Figure``, a matplotlib
``Figure``) or a tuple/list of them; it is unit-tested on its own. :func:`panel` wires controls to
it and redraws into an ``ipywidgets.Output`` on every change; it is for fast render functions
(under about 0.3 s, ``benchmarks/bench_widgets.py``). Slower work sits behind a button:
:func:`button_panel`, or :func:`cached_panel` when sliders can reuse its result. We display plotly ``go.Figure``
objects inside ``Output`` rather than using ``go.FigureWidget``, which renders blank in
JupyterLab 4 with plotly 6/7 (see docs/design.md, "Widgets").
"""
from __future__ import annotations

import ipywidgets as W

from ..checks import check_int


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
    max_value = check_int("max_value", max_value, 1, 1_000_000)
    value = check_int("value", value, 0, max_value)
    interval_ms = check_int("interval_ms", interval_ms, 1, 60_000)
    step = check_int("step", step, 1, max_value)
    slider = W.IntSlider(value=value, min=0, max=max_value, step=step, description=description,
                         continuous_update=False)
    play = W.Play(value=value, min=0, max=max_value, step=step, interval=interval_ms, description="play")
    W.jslink((play, "value"), (slider, "value"))
    return slider, W.HBox([play, slider])


class Progress:
    """A progress bar with a label, for work behind a button: ``report(done, total, text="")``.

    ``total`` is the real budget (Adam steps, network calls); the label shows ``done / total`` and
    ``text``. Calls are cheap: the bar redraws at most ``redraws`` times per run.
    """

    def __init__(self, description: str = "", redraws: int = 50):
        self.bar = W.IntProgress(value=0, min=0, max=1, description=description, bar_style="info")
        self.label = W.Label("")
        self.box = W.HBox([self.bar, self.label])
        self._redraws, self._last = check_int("redraws", redraws, 1, 100_000), -1

    def __call__(self, done: int, total: int, text: str = "") -> None:
        total = max(1, int(total))
        done = min(max(0, int(done)), total)
        tick = done * self._redraws // total
        if tick == self._last and done not in (0, total):
            return
        self._last = tick
        self.bar.max, self.bar.value = total, done
        self.bar.bar_style = "success" if done == total else "info"
        self.label.value = f"{done:,} / {total:,} {text}".rstrip()


def button_panel(action, controls: dict, label: str = "run", run_now: bool = True, progress: bool = False):
    """Controls plus a button: clicking calls ``action(**values)`` and shows what it returns.

    For slow actions (training, sampling) that should not rerun on every slider move: moving a
    control does nothing until the button is pressed. ``progress=True`` adds a progress bar and
    passes ``progress=report`` to ``action`` (``report(done, total, text)``, see :class:`Progress`).
    ``run_now`` performs one click at creation, so a non-interactive run shows the default result.
    Returns a VBox with ``.controls``, ``.button``, ``.output``, ``.progress`` (or None) and ``.click()``.
    """
    output = W.Output()
    button = W.Button(description=label, button_style="primary", icon="play")
    bar = Progress() if progress else None

    def click(*_):
        values = {name: widget.value for name, widget in controls.items()}
        if bar is not None:
            values["progress"] = bar
        button.disabled = True
        try:
            with output:
                output.clear_output(wait=True)
                _show(action(**values))
        finally:
            button.disabled = False

    button.on_click(click)
    rows = [W.HBox(list(controls.values())[:3]), W.HBox(list(controls.values())[3:] + [button])]
    box = W.VBox(rows + ([bar.box] if bar is not None else []) + [output])
    box.controls, box.button, box.output, box.progress, box.click = controls, button, output, bar, click
    if run_now:
        click()
    return box


def cached_panel(compute, view, compute_controls: dict, view_controls: dict, label: str = "run",
                 view_label: str | None = None, run_now: bool = True):
    """Slow work behind a button, fast views on sliders that reuse its result.

    Pressing the button calls ``state = compute(**compute_values, progress=report)`` (with a progress
    bar) and then ``view(state, **view_values)``. A change of a view control calls only
    ``view(state, **view_values)`` on the cached ``state``: views must answer in well under a second
    (sample index, threshold). If the view itself is slow (sampling a trained model at a new
    temperature), give ``view_label``: the view controls then get their own button, which reuses
    ``state`` and also gets ``progress=report``. Returns a VBox with ``.controls`` (all), ``.button``,
    ``.view_button`` (or None), ``.output``, ``.progress``, ``.state()``, ``.click()``, ``.refresh()``.
    """
    output = W.Output()
    bar = Progress()
    button = W.Button(description=label, button_style="primary", icon="play")
    view_button = W.Button(description=view_label, button_style="info", icon="play") if view_label else None
    cache = {}

    def refresh(*_):
        if "state" not in cache:
            return
        values = {name: widget.value for name, widget in view_controls.items()}
        if view_button is not None:
            values["progress"] = bar
        with output:
            output.clear_output(wait=True)
            _show(view(cache["state"], **values))

    def click(*_):
        values = {name: widget.value for name, widget in compute_controls.items()}
        button.disabled = True
        try:
            cache["state"] = compute(**values, progress=bar)
            refresh()
        finally:
            button.disabled = False

    def view_click(*_):
        view_button.disabled = True
        try:
            refresh()
        finally:
            view_button.disabled = False

    button.on_click(click)
    if view_button is None:
        for widget in view_controls.values():
            if hasattr(widget, "continuous_update"):
                widget.continuous_update = False
            widget.observe(refresh, names="value")
    else:
        view_button.on_click(view_click)
    rows = [W.HBox(list(compute_controls.values()) + [button]),
            W.HBox(list(view_controls.values()) + ([view_button] if view_button is not None else [])),
            bar.box, output]
    box = W.VBox(rows)
    box.controls = {**compute_controls, **view_controls}
    box.button, box.view_button, box.output, box.progress = button, view_button, output, bar
    box.click, box.refresh, box.state = click, refresh, lambda: cache.get("state")
    if run_now:
        click()
    return box


def live_loss_plot(every: int = 10, title: str = "training loss (live)"):
    """An ``Output`` and a training callback that redraws the loss curve every ``every`` Adam steps.

    Use as ``out, callback = live_loss_plot(); display(out); train(..., callback=callback)``: it has the
    callback signature of ``training.fit``, ``callback(step, history)``, so it follows any model's training.
    """
    import matplotlib.pyplot as plt
    every = check_int("every", every, 1, 1_000_000)
    output = W.Output()

    def callback(step, history):
        if (step + 1) % every:
            return False
        fig, ax = plt.subplots(figsize=(6, 3))
        ax.plot(range(1, history.n_steps + 1), history.losses)
        ax.set_yscale("log")
        ax.set_xlabel("Adam step")
        ax.set_ylabel("loss")
        ax.set_title(f"{title}: step {step + 1}, loss {history.losses[-1]:.4f}")
        fig.tight_layout()
        with output:
            output.clear_output(wait=True)
            _show(fig)
        return False

    return output, callback
