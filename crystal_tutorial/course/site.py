"""Head-less execution of the notebooks, and the static website: ``python -m crystal_tutorial site OUT``.

Two parts:

- :func:`execute_notebook` runs one notebook with nbclient (the engine of nbconvert, papermill and
  Jupyter Book) and measures it: wall time per cell and per ``##`` section, the kernel's memory
  (RSS and peak RSS of the kernel process after the run) and cells that stalled.
- :func:`build_site` executes every notebook and renders it with nbconvert's HTML exporter and a
  small template (``site_template/``) into a static site: an index with the notebook map and the
  measured times, one page per notebook, previous/next navigation, maths typeset by a local copy
  of MathJax 3 (from the ``django-static-mathjax`` package, so pages work offline), plotly figures
  interactive (plotly.js copied from the plotly package) and widget panels shown in their default
  state, with a note that the sliders need Jupyter.

Why head-less runs stalled (issue 16): nbclient waits for replies with ``await socket.poll(timeout)``
on zmq.asyncio sockets. The ZMQ file descriptor is edge-triggered; when a wake-up is lost (we saw
it most in cells that open many widget comms, which send bursts of iopub messages), the reply sits
in the socket and is found only when the poll's timeout fires: the whole cell timeout on the shell
channel (the kernel idle, nbclient waiting), and ``iopub_timeout`` on the iopub channel (outputs
may be dropped). :class:`ReliableKernelClient` polls in short slices instead, so a lost wake-up
costs at most :data:`POLL_SLICE` seconds. Measured with ``benchmarks/bench_headless.py --stress 40``
(40 widget cells, cell timeout 10 s, 2 loaded cores, 6 runs each): the stock client waited the full timeout in
19 of 240 cells, in 6 of 6 runs; this client in 0 of 240. Use it from nbconvert or papermill with
``--ExecutePreprocessor.kernel_manager_class=crystal_tutorial.course.site.ReliableKernelManager``.
"""
from __future__ import annotations

import asyncio
import copy
import html
import json
import os
import re
import time
from pathlib import Path
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.manager import AsyncKernelManager
from traitlets import DottedObjectName, Type

from ..checks import check_int
from ..files import atomic_write_bytes, atomic_write_text

POLL_SLICE = 0.1  # s: longest a lost zmq wake-up can delay a message
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
PLOTLY = "application/vnd.plotly.v1+json"
MATHJAX_FILE = "tex-svg-full.js"  # MathJax 3, SVG output: glyphs inside, no font files to fetch
TEMPLATE_DIR = Path(__file__).with_name("site_template")
SLIDER_NOTE = ("Interactive panel shown in its default state: the sliders and buttons need a running "
               "Jupyter kernel (open the notebook in JupyterLab or on Binder to move them).")


# --------------------------------------------------------------------------------------------
# Reliable head-less execution
# --------------------------------------------------------------------------------------------

class _SlicedChannel(AsyncZMQSocketChannel):
    """A channel whose ``get_msg`` polls in :data:`POLL_SLICE` slices up to the caller's timeout.

    ``zmq.asyncio``'s ``poll(timeout)`` re-checks the socket when the timeout fires, so a message
    whose wake-up was lost is found within one slice instead of at the end of the cell timeout.
    """

    async def get_msg(self, timeout: float | None = None):  # type: ignore[override]
        assert self.socket is not None
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = POLL_SLICE if deadline is None else min(POLL_SLICE, max(0.0, deadline - time.monotonic()))
            if await self.socket.poll(max(1, int(left * 1000))):
                return await self._recv()
            if deadline is not None and time.monotonic() >= deadline:
                raise Empty


class ReliableKernelClient(AsyncKernelClient):
    """``AsyncKernelClient`` whose shell and iopub channels cannot miss a wake-up (see module docstring)."""

    shell_channel_class = Type(_SlicedChannel)
    iopub_channel_class = Type(_SlicedChannel)


class ReliableKernelManager(AsyncKernelManager):
    """``AsyncKernelManager`` that hands out :class:`ReliableKernelClient` (for nbclient, nbconvert, papermill)."""

    client_class = DottedObjectName("crystal_tutorial.course.site.ReliableKernelClient")

    def _client_factory_default(self):
        return ReliableKernelClient


def _proc_memory_mb(pid: int) -> dict:
    """Current and peak resident memory of a process from /proc (Linux), in MB; {} elsewhere."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    out = {}
    for key, name in (("VmRSS", "rss_mb"), ("VmHWM", "peak_rss_mb")):
        m = re.search(rf"^{key}:\s+(\d+) kB", text, re.M)
        if m:
            out[name] = round(int(m.group(1)) / 1024, 1)
    return out


def _section_of(source: str) -> str | None:
    """The last ``##`` or ``###`` heading in a markdown cell, as plain text (None when there is none)."""
    heads = re.findall(r"^###?\s+(.+?)\s*$", source, re.M)
    return heads[-1] if heads else None


# Run in the kernel after the notebook by execute_notebook(probe_widgets=True): redraws every panel
# bound to a name (widgets.panel / button_panel) once and prints the kernel CPU and wall time.
_PROBE = """
import json as _ct_json, time as _ct_time
_ct_res = {}
for _ct_name, _ct_obj in list(globals().items()):
    if _ct_name.startswith('_') or not hasattr(_ct_obj, 'controls'):
        continue
    _ct_fn = getattr(_ct_obj, 'click', None) or getattr(_ct_obj, 'refresh', None)
    if callable(_ct_fn):
        _ct_c, _ct_w = _ct_time.process_time(), _ct_time.perf_counter()
        try:
            _ct_fn()
        except Exception:
            continue
        _ct_res[_ct_name] = {'kind': 'button' if hasattr(_ct_obj, 'click') else 'slider',
                             'cpu_s': round(_ct_time.process_time() - _ct_c, 3),
                             'wall_s': round(_ct_time.perf_counter() - _ct_w, 3)}
print('CT_PROBE' + _ct_json.dumps(_ct_res))
"""


def _first_line(source: str) -> str:
    lines = [line for line in source.splitlines() if line.strip()]
    return (lines[0][:60] + ("..." if len(lines[0]) > 60 or len(lines) > 1 else "")) if lines else ""


def read_notebook(path):
    """The notebook at ``path`` as an nbformat v4 node; a file that is not a notebook (bad JSON or
    encoding, no ``cells`` list, a cell without ``source``) is a ValueError naming the file and what is
    wrong, instead of a jsonschema traceback. The checks are :func:`teaching.notebook_json`'s."""
    import nbformat

    from .teaching import notebook_json
    nb = notebook_json(path)
    try:
        return nbformat.reads(json.dumps(nb), as_version=4)
    except Exception as exc:   # nbformat's ValidationError (jsonschema) or a version it cannot convert
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"{Path(path).name} is not a valid notebook: {message}") from None


def _run_interruptible(make_coro, on_interrupt=None):
    """Run ``make_coro()`` on a fresh event loop; Ctrl-C (SIGINT) or SIGTERM cancels it, the kernel is
    shut down, and the signal is then raised again for the caller's own handler (``main()`` reports
    ``error: interrupted``). nbclient's ``async_setup_kernel`` installs SIGINT/SIGTERM handlers of its
    own that shut the kernel down under the running cell (AssertionError, 3-4 tracebacks) and, on
    leaving, reset SIGTERM to the default action: this loop keeps ours for the whole run instead."""
    import signal
    import threading
    loop = asyncio.new_event_loop()
    received: list[int] = []
    signals = [getattr(signal, name) for name in ("SIGINT", "SIGTERM") if hasattr(signal, name)]
    before = {s: signal.getsignal(s) for s in signals} if threading.current_thread() is threading.main_thread() else {}
    task = loop.create_task(make_coro())

    def on_signal(signum):
        received.append(signum)
        if len(received) == 1:
            if on_interrupt is not None:
                on_interrupt()
            task.cancel()

    hooked = []
    for signum in before:
        try:
            loop.add_signal_handler(signum, on_signal, signum)
            hooked.append(signum)
        except (NotImplementedError, RuntimeError, ValueError):   # Windows: Ctrl-C raises KeyboardInterrupt
            pass
    loop.add_signal_handler = lambda *args, **kwargs: None       # nbclient's own: ignored (see above)
    loop.remove_signal_handler = lambda *args, **kwargs: False
    try:
        asyncio.set_event_loop(loop)
        try:
            return loop.run_until_complete(task)
        except BaseException:
            if not received:
                raise
    finally:
        del loop.add_signal_handler, loop.remove_signal_handler
        for signum in hooked:
            loop.remove_signal_handler(signum)
        for signum, handler in before.items():
            signal.signal(signum, handler)
        try:   # as asyncio.run does: nbclient's kernel-alive poll may still be pending after a cancel
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for t in pending:
                t.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop.close()
    signal.raise_signal(received[0])   # to the caller's handler (main(): exit 130 / 143)
    raise KeyboardInterrupt             # a handler that returned: stop all the same


def execute_notebook(path, timeout: int = 300, reliable: bool = True, cwd=None, kernel_name: str = "python3",
                     probe_widgets: bool = False):
    """Execute the notebook at ``path`` with nbclient; return ``(executed notebook, report)``.

    ``report`` holds ``seconds`` (wall time of the run, kernel start included), ``cells`` (one
    ``{"index", "seconds", "kernel_seconds", "section"}`` per code cell: wall time from sending the
    cell to nbclient having all its outputs, and the kernel's busy time from its own timestamps),
    ``sections`` (``[name, seconds]`` in order, summing the cells below each ``##``/``###`` heading),
    ``stalls`` (cells whose wall time exceeds the kernel's busy time by more than 2 s: a lost
    wake-up), the kernel's memory after the run (``rss_mb``, ``peak_rss_mb``) and ``timeouts``.
    ``reliable=False`` uses nbclient's stock client (to reproduce the stall). ``probe_widgets``
    then redraws every named panel once and adds ``panels``: ``{name: {"kind", "cpu_s", "wall_s"}}``
    (kernel CPU per slider move or button press).
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError

    timeout = check_int("timeout", timeout, 1, 100_000)  # seconds a cell may take
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path: no notebook at {path}")
    nb = read_notebook(path)
    started: dict[int, float] = {}
    cells: list[dict] = []
    section = "(opening)"
    sections_of_cell = {}
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            section = _section_of(cell.source) or section
        sections_of_cell[i] = section

    def on_start(cell, cell_index):
        started[cell_index] = time.perf_counter()

    def on_done(cell, cell_index, execute_reply):
        if cell_index not in sections_of_cell:  # the widget probe, not a notebook cell
            return
        wall = time.perf_counter() - started[cell_index]
        meta = cell.metadata.get("execution", {})
        kernel = None
        if "iopub.status.busy" in meta and "iopub.status.idle" in meta:
            from datetime import datetime
            t0, t1 = (datetime.fromisoformat(meta[k].replace("Z", "+00:00")) for k in
                      ("iopub.status.busy", "iopub.status.idle"))
            kernel = (t1 - t0).total_seconds()
        cells.append({"index": cell_index, "seconds": round(wall, 3),
                      "kernel_seconds": None if kernel is None else round(kernel, 3),
                      "section": sections_of_cell[cell_index]})

    client = NotebookClient(nb, kernel_manager_class=ReliableKernelManager if reliable else AsyncKernelManager,
                            timeout=timeout, kernel_name=kernel_name, record_timing=True,
                            resources={"metadata": {"path": str(cwd or path.parent)}},
                            on_cell_execute=on_start, on_cell_executed=on_done)
    report = {"notebook": path.name, "timeouts": 0}

    async def run():
        async with client.async_setup_kernel():
            for index, cell in enumerate(client.nb.cells):
                try:
                    await client.async_execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
                except CellTimeoutError as exc:
                    report["timeouts"] += 1
                    exc.cell_index = index  # for the caller's message
                    client.shutdown_kernel = "immediate"   # the kernel is still busy: no graceful shutdown
                    raise
            if probe_widgets:
                import nbformat as _nbf
                probe = _nbf.v4.new_code_cell(_PROBE)
                client.nb.cells.append(probe)
                try:
                    await client.async_execute_cell(probe, len(client.nb.cells) - 1)
                    text = "".join(o.get("text", "") for o in probe.outputs if o.get("output_type") == "stream")
                    m = re.search(r"CT_PROBE(\{.*\})", text)
                    report["panels"] = json.loads(m.group(1)) if m else {}
                finally:
                    client.nb.cells.pop()
            client.set_widgets_metadata()
            provisioner = getattr(client.km, "provisioner", None)
            pid = getattr(provisioner, "pid", None) or getattr(getattr(provisioner, "process", None), "pid", None)
            if pid:
                report.update(_proc_memory_mb(pid))

    def on_interrupt():   # the kernel is busy with the cell: do not wait for it to finish
        client.shutdown_kernel = "immediate"

    t0 = time.perf_counter()
    try:
        _run_interruptible(run, on_interrupt)
    except CellTimeoutError as exc:
        index = getattr(exc, "cell_index", None)
        where = "a cell" if index is None else (
            f"cell {index + 1} of {len(nb.cells)} (section {sections_of_cell[index]!r}, starting "
            f"{_first_line(nb.cells[index].source)!r})")
        raise CellTimeoutError(f"{path.name}: {where} did not finish within the timeout of {timeout} s") from None
    report["seconds"] = round(time.perf_counter() - t0, 2)
    report["cells"] = cells
    sections: dict[str, float] = {}
    for c in cells:
        sections[c["section"]] = sections.get(c["section"], 0.0) + c["seconds"]
    report["sections"] = [[name, round(s, 2)] for name, s in sections.items()]
    report["stalls"] = [c["index"] for c in cells
                        if c["kernel_seconds"] is not None and c["seconds"] - c["kernel_seconds"] > 2.0]
    return nb, report


# --------------------------------------------------------------------------------------------
# Static rendering of widget panels and plotly figures
# --------------------------------------------------------------------------------------------

def _plotly_html(figure: dict, div_id: str) -> str:
    import plotly.io as pio
    return pio.to_html(figure, include_plotlyjs=False, full_html=False, div_id=div_id, validate=False,
                       config={"responsive": True})


def _control_html(model: str, state: dict) -> str | None:
    """A disabled HTML look-alike of an ipywidgets control in its current state (None: not a control)."""
    desc = html.escape(str(state.get("description", "") or ""))
    label = f'<span class="ct-label">{desc}</span> ' if desc else ""
    if model.endswith("SliderModel") and "value" in state and not model.startswith("Selection"):
        value = state["value"]
        if isinstance(value, list):  # range sliders
            return f'<span class="ct-control">{label}<output>{html.escape(str(value))}</output></span>'
        shown = value if isinstance(value, int) else f"{value:.4g}"
        if model == "FloatLogSliderModel" and value > 0:  # min and max are exponents of the base
            import math
            value = math.log(value, state.get("base", 10))
        return (f'<span class="ct-control">{label}<input type="range" disabled min="{state.get("min", 0)}" '
                f'max="{state.get("max", 100)}" step="{state.get("step", 1)}" value="{value}"> '
                f'<output>{shown}</output></span>')
    if model in ("SelectionSliderModel", "DropdownModel", "ToggleButtonsModel", "RadioButtonsModel",
                 "SelectModel", "SelectionRangeSliderModel"):
        labels = state.get("_options_labels", [])
        index = state.get("index")
        shown = labels[index] if isinstance(index, int) and 0 <= index < len(labels) else ""
        return f'<span class="ct-control">{label}<output>{html.escape(str(shown))}</output></span>'
    if model in ("CheckboxModel", "ToggleButtonModel"):
        checked = " checked" if state.get("value") else ""
        return f'<span class="ct-control"><input type="checkbox" disabled{checked}> {label}</span>'
    if model in ("ButtonModel",):
        return f'<button class="ct-button" disabled>{desc or "run"}</button>'
    if model == "PlayModel":
        return '<button class="ct-button" disabled>&#9654; play</button>'
    if model in ("IntTextModel", "FloatTextModel", "BoundedIntTextModel", "BoundedFloatTextModel", "TextModel"):
        return f'<span class="ct-control">{label}<output>{html.escape(str(state.get("value", "")))}</output></span>'
    if model in ("HTMLModel", "HTMLMathModel"):
        return f'<div class="ct-html">{state.get("value", "")}</div>'
    if model == "LabelModel":
        return f'<span class="ct-control">{html.escape(str(state.get("value", "")))}</span>'
    return None


class StaticWidgets:
    """Turns the widget views of an executed notebook into plain outputs (controls as disabled HTML,
    the ``Output`` widgets' captured outputs inlined) and plotly outputs into self-contained HTML.

    Works on the widget state nbclient stores in ``nb.metadata.widgets``; the notebook's widget
    state is dropped afterwards, so the page needs no widget manager.
    """

    def __init__(self, nb):
        self.state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
        self.n_plots = 0
        self.n_panels = 0
        self._noted = False

    def _outputs_of(self, model_id: str, depth: int = 0) -> list:
        """Plain outputs (nbformat dicts) standing for the widget ``model_id`` and its children."""
        entry = self.state.get(model_id)
        if entry is None or depth > 20:
            return []
        model, state = entry.get("model_name", ""), entry.get("state", {})
        if model == "OutputModel":
            outs = []
            for out in state.get("outputs", []):
                outs.extend(self.convert_output(out, depth + 1))
            return outs
        children = state.get("children")
        if isinstance(children, list):
            direction = "row" if model in ("HBoxModel", "GridBoxModel") else "column"
            parts, outs = [], []
            for child in children:
                child_id = str(child).replace("IPY_MODEL_", "")
                child_entry = self.state.get(child_id, {})
                control = _control_html(child_entry.get("model_name", ""), child_entry.get("state", {}))
                if control is not None:
                    parts.append(control)
                else:
                    if parts:
                        outs.append(self._html(f'<div class="ct-controls ct-{direction}">{"".join(parts)}</div>'))
                        parts = []
                    outs.extend(self._outputs_of(child_id, depth + 1))
            if parts:
                outs.append(self._html(f'<div class="ct-controls ct-{direction}">{"".join(parts)}</div>'))
            return outs
        control = _control_html(model, state)
        return [self._html(f'<div class="ct-controls">{control}</div>')] if control else []

    @staticmethod
    def _html(text: str) -> dict:
        return {"output_type": "display_data", "metadata": {}, "data": {"text/html": text}}

    def convert_output(self, out: dict, depth: int = 0) -> list:
        data = out.get("data", {}) if out.get("output_type") in ("display_data", "execute_result") else {}
        if WIDGET_VIEW in data:
            model_id = data[WIDGET_VIEW].get("model_id", "")
            inner = self._outputs_of(model_id, depth)
            if depth == 0 and not self._noted:  # one note per cell
                self.n_panels += 1
                self._noted = True
                return [self._html(f'<p class="ct-widget-note">{html.escape(SLIDER_NOTE)}</p>')] + inner
            return inner
        if PLOTLY in data:
            self.n_plots += 1
            div = _plotly_html(data[PLOTLY], f"ct-plotly-{self.n_plots}")
            return [{"output_type": out["output_type"], "metadata": {},
                     "data": {"text/html": f'<div class="ct-plotly">{div}</div>'},
                     **({"execution_count": out.get("execution_count")} if out["output_type"] == "execute_result" else {})}]  # noqa: E501
        return [copy.deepcopy(out)]

    def apply(self, nb):
        import nbformat

        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            new, self._noted = [], False
            for out in cell.get("outputs", []):
                new.extend(self.convert_output(dict(out)))
            cell.outputs = [nbformat.from_dict(o) for o in new]
        nb.metadata.pop("widgets", None)
        return nb


# --------------------------------------------------------------------------------------------
# The site
# --------------------------------------------------------------------------------------------


def _title(nb, fallback: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = re.search(r"^#\s+(.+?)\s*$", cell.source, re.M)
            if m:
                return m.group(1)
    return fallback


def _minutes(nb) -> int | None:
    """The study time a notebook's opening states ("Estimated time: 40 minutes"), or None."""
    first = nb.cells[0].source if nb.cells and nb.cells[0].cell_type == "markdown" else ""
    m = re.search(r"Estimated time:?\**\s*(\d+)", first)
    return int(m.group(1)) if m else None


def _exporter():
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="crystal_site",
        extra_template_basedirs=[str(TEMPLATE_DIR)],
        mathjax_url=f"assets/mathjax/{MATHJAX_FILE}",
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    return exporter


def _copy_assets(assets: Path) -> None:
    import mathjax  # the django-static-mathjax package: MathJax's own release files
    import plotly.offline

    root = Path(mathjax.__file__).parent / "static" / "mathjax"
    (assets / "mathjax").mkdir()
    atomic_write_bytes(assets / "mathjax" / MATHJAX_FILE, (root / "es5" / MATHJAX_FILE).read_bytes())
    for name in ("LICENSE",):
        for src in (root / name, Path(mathjax.__file__).parent / name):
            if src.is_file():
                atomic_write_bytes(assets / "mathjax" / name, src.read_bytes())
                break
    atomic_write_text(assets / "plotly.min.js", plotly.offline.get_plotlyjs())
    atomic_write_text(assets / "site.css", (TEMPLATE_DIR / "site.css").read_text())


def _nav(pages: list, i: int) -> str:
    links = ['<a href="index.html">Contents</a>']
    if i > 0:
        links.append(f'<a rel="prev" href="{pages[i - 1]["href"]}">&larr; {html.escape(pages[i - 1]["title"])}</a>')
    if i + 1 < len(pages):
        links.append(f'<a rel="next" href="{pages[i + 1]["href"]}">{html.escape(pages[i + 1]["title"])} &rarr;</a>')
    return '<nav class="ct-nav">' + " · ".join(links) + "</nav>"


def _index_notebook(pages: list, conditions: str):
    import nbformat

    rows = [
        "| # | notebook | study time (min) | sections (measured seconds) | run time (s) | kernel memory (MB) |",
        "|---|---|---|---|---|---|",
    ]
    for p in pages:
        r = p["report"]
        secs = "; ".join(f"{html.escape(name)} {s:.1f}" for name, s in r["sections"] if name != "(opening)")
        rows.append(
            f"| {p['number']} | [{p['title']}]({p['href']}) | {p.get('minutes') or ''} | {secs} | {r['seconds']:.0f} | "
            f"{r.get('rss_mb', float('nan')):.0f} |"
        )
    intro = (
        "# Crystal Diffusion from Scratch\n\nA series of Jupyter notebooks from a periodic unit cell to a "
        "diffusion model that generates crystal structures, every model part written by hand in NumPy. "
        "This site shows every notebook executed top to bottom, with its figures; 3D figures can be "
        "rotated. Widget panels show their default state: the sliders need Jupyter (JupyterLab or Binder).\n\n"
        "The forward process, for a taste of the maths: $q(x_t \\mid x_0) = \\mathcal N(\\sqrt{\\bar\\alpha_t}\\,x_0, "
        "(1-\\bar\\alpha_t) I)$."
    )
    times = (
        f"## The notebooks\n\nStudy time is each notebook's own estimate for a student. Run times were "
        f"measured while building this site ({conditions}); they include the kernel start.\n\n" + "\n".join(rows)
    )
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(intro), nbformat.v4.new_markdown_cell(times)]
    nb.metadata["title"] = "Crystal Diffusion from Scratch"
    return nb


_LINK = re.compile(r"\]\(([^)\s#?]+)((?:#[^)\s]*)?\))")  # a markdown link's target: ](target#anchor)


def site_links(text: str, notebooks_dir) -> tuple[str, set[Path]]:
    """The markdown ``text`` with its links rewritten for the site, and the documents it links to.

    In the notebooks (and in JupyterLab, whose root is ``notebooks/``) a link names a file beside the
    notebook: ``NN_name.ipynb`` or a document such as ``DATA.md`` (a link to the repository's file).
    On the site these are pages: ``NN_name.html``, and ``DATA.html`` rendered from the document
    (:func:`build_site` writes one page per linked document). Other targets are left as they are.
    """
    notebooks_dir = Path(notebooks_dir)
    documents: set[Path] = set()

    def page(match):
        target = match.group(1)
        if "://" in target or target.startswith(("/", "mailto:")) or "/" in target:
            return match.group(0)
        if target.endswith(".ipynb"):
            return f"]({target[: -len('.ipynb')]}.html{match.group(2)}"
        if target.endswith(".md") and (notebooks_dir / target).is_file():
            documents.add(notebooks_dir / target)
            return f"]({target[: -len('.md')]}.html{match.group(2)}"
        return match.group(0)

    return _LINK.sub(page, text), documents


def _document_notebook(path: Path):
    """A markdown document (``DATA.md``) as a one-cell notebook, for the site's exporter."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(path.read_text(encoding="utf-8"))]
    return nb


SITE_EXTRA = ("nbclient", "nbconvert", "mathjax")  # the modules of pyproject's `site` extra


def _require_site_extra() -> None:
    """Refuse at once (not after minutes of executing notebooks) when the ``site`` extra is missing."""
    import importlib.util

    missing = [name for name in SITE_EXTRA if importlib.util.find_spec(name) is None]
    if missing:
        raise RuntimeError(
            f"the site needs the modules {', '.join(missing)}, which this Python lacks: "
            'install them with pip install -e ".[site]" (mathjax comes from django-static-mathjax)'
        )


def build_site(out, notebooks_dir="notebooks", timeout: int = 300, log=print) -> dict:
    """Execute every ``NN_*.ipynb`` in ``notebooks_dir`` and write the static site into ``out``.

    ``out`` is a run folder (:mod:`crystal_tutorial.cli.runs`): the site is written into a temporary
    folder beside it and moved into place when complete; an earlier site in ``out`` is replaced as a
    whole, and ``out`` holding anything else (a file the earlier site did not write) is refused.
    Notebook links to ``.ipynb`` files and to documents beside the notebooks become links to pages of
    the site (:func:`site_links`). Returns a summary (pages, per-notebook
    reports with times and kernel memory, build seconds), also written as ``out/site.json``.
    """
    import platform

    timeout = check_int("timeout", timeout, 1, 100_000)  # seconds a cell may take
    _require_site_extra()
    out, notebooks_dir = Path(out), Path(notebooks_dir)
    notebooks = sorted(notebooks_dir.glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"notebooks_dir: no NN_*.ipynb notebooks in {notebooks_dir}")
    from ..cli.runs import RunFolder

    run = RunFolder(out, "site", overwrite=True, option="OUT")  # an earlier site (and nothing else) is replaced
    t_start = time.perf_counter()
    with run:
        tmp = run.tmp
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        conditions = (
            f"{os.cpu_count()} CPU cores, load average {load:.1f} at the start, Python {platform.python_version()}"
        )
        executed = []
        for path in notebooks:
            log(f"executing {path.name} ...")
            try:
                nb, report = execute_notebook(path, timeout=timeout, cwd=path.parent)
            except Exception as exc:  # nbclient's CellExecutionError / CellTimeoutError: name the notebook
                name = type(exc).__name__
                if name not in ("CellExecutionError", "CellTimeoutError", "DeadKernelError"):
                    raise
                if name == "CellTimeoutError":  # its message names the notebook and the cell
                    raise ValueError(f"{exc} (--timeout; the site was not written)") from None
                raise ValueError(
                    f"notebook {path.name} failed while building the site: {str(exc).strip().splitlines()[-1][:300]}"
                ) from exc
            log(f"  {report['seconds']:.1f} s, kernel {report.get('rss_mb', '?')} MB, stalls {report['stalls']}")
            executed.append((path, nb, report))
        pages = [
            {
                "number": p.name[:2],
                "href": p.stem + ".html",
                "title": _title(nb, p.stem),
                "report": r,
                "minutes": _minutes(nb),
            }
            for p, nb, r in executed
        ]
        assets = tmp / "assets"
        assets.mkdir()
        _copy_assets(assets)
        exporter = _exporter()
        documents: set[Path] = set()
        for i, (path, nb, report) in enumerate(executed):
            for cell in nb.cells:
                if cell.cell_type == "markdown":
                    cell.source, linked = site_links(cell.source, notebooks_dir)
                    documents |= linked
            widgets = StaticWidgets(nb)
            widgets.apply(nb)
            body, _ = exporter.from_notebook_node(
                nb, resources={"ct_nav": _nav(pages, i), "metadata": {"name": pages[i]["title"]}}
            )
            atomic_write_text(tmp / pages[i]["href"], body)
            pages[i]["plots"], pages[i]["panels"] = widgets.n_plots, widgets.n_panels
        contents = '<nav class="ct-nav"><a href="index.html">Contents</a></nav>'
        for doc in sorted(documents):  # the documents the notebooks link to (DATA.md): pages of their own
            nb = _document_notebook(doc)
            nb.cells[0].source = site_links(nb.cells[0].source, notebooks_dir)[0]
            body, _ = exporter.from_notebook_node(
                nb, resources={"ct_nav": contents, "metadata": {"name": _title(nb, doc.stem)}}
            )
            atomic_write_text(tmp / (doc.stem + ".html"), body)
        body, _ = exporter.from_notebook_node(
            _index_notebook(pages, conditions),
            resources={"ct_nav": contents, "metadata": {"name": "Crystal Diffusion from Scratch"}},
        )
        atomic_write_text(tmp / "index.html", body)
        summary = {
            "conditions": conditions,
            "build_seconds": round(time.perf_counter() - t_start, 1),
            "pages": [{k: v for k, v in p.items() if k != "report"} for p in pages],
            "documents": [doc.stem + ".html" for doc in sorted(documents)],
            "reports": [p["report"] for p in pages],
        }
        atomic_write_text(tmp / "site.json", json.dumps(summary, indent=1))
    log(f"wrote {len(pages) + 1} pages to {out}/ in {summary['build_seconds']:.0f} s")
    return summary


def run_site(args) -> int:
    notebooks = args.notebooks
    if notebooks is None:
        here = Path("notebooks")
        notebooks = here if here.is_dir() else Path(__file__).resolve().parents[2] / "notebooks"
    build_site(args.out, notebooks, timeout=args.timeout)
    return 0
