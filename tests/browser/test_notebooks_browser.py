"""Every notebook, run in JupyterLab in headless Chromium: what a learner actually sees.

nbval only checks the kernel side. Here each notebook is opened in a real JupyterLab, run with
Run > Run All Cells, and the page is checked: no error outputs, no "Error displaying widget", no
widget shown as plain text, the expected sliders and play buttons rendered, every plotly figure
rendered WITH its traces drawn (this catches the blank-axes figure), and moving a slider with the
keyboard changes the output it drives. Run with ``.ci/browser.sh`` or
``python -m pytest -m browser tests/browser -p no:cacheprovider``.
"""
from __future__ import annotations

import os
import re
import time

import pytest

# Minimum counts seen after Run All, per notebook (a notebook not listed gets DEFAULT).
# sliders: `.widget-slider`; plays: `.widget-play`; plots: plotly figures with traces drawn;
# moves: sliders moved with the keyboard whose output must change (one per widget cell, in order).
DEFAULT = dict(sliders=1, plays=0, plots=0, moves=1)
EXPECT: dict[str, dict] = {  # what each notebook showed when this table was last updated
    "01_crystals_and_pbc.ipynb": dict(sliders=3, plays=0, plots=6, moves=1),
    "02_forward_diffusion.ipynb": dict(sliders=1, plays=1, plots=2, moves=1),
    "03_mlp_and_adam.ipynb": dict(sliders=4, plays=0, plots=0, moves=1),
    "04_training.ipynb": dict(sliders=4, plays=0, plots=0, moves=1),
    "05_sampling.ipynb": dict(sliders=3, plays=1, plots=4, moves=2),
    "06_physics_validation.ipynb": dict(sliders=4, plays=0, plots=2, moves=2),
    "07_complexity_timings.ipynb": dict(sliders=1, plays=0, plots=0, moves=1),
    "08_a_denoiser_that_sees_neighbours.ipynb": dict(sliders=9, plays=1, plots=2, moves=3),
}
MAX_MOVES = 4  # try at most this many widget cells per notebook (each must respond)

# Console errors that mean a learner sees a broken widget or figure (others are only printed).
WIDGET_CONSOLE_ERROR = re.compile(r"widget|anywidget|plotly|No version of module|Could not create|model", re.I)

T = float(os.environ.get("BROWSER_TIMEOUT_SCALE", "1"))  # e.g. 2 on a slow, busy machine
OPEN_TIMEOUT = 240 * T  # s: notebook shown (40-60 s measured on a busy machine)
IDLE_TIMEOUT = 300 * T  # s: status bar reads the kernel as Idle (55-75 s measured)
RUN_TIMEOUT = 900 * T  # s: Run All finished
RENDER_TIMEOUT = 120 * T  # s: widgets and plots drawn after the last cell finished
MOVE_TIMEOUT = 180 * T  # s: output changed after a slider moved
REDRAW_GRACE = 30 * T  # s: for the page to redraw after the kernel went idle

PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook on show
CELLS = PANEL + " .jp-Cell"
KERNEL_STATUS_JS = """() => [...document.querySelectorAll('#jp-main-statusbar .jp-StatusBar-TextItem')]
  .map(e => e.textContent.trim()).filter(t => t.includes(' | ')).join(' / ')"""

# One pass over the notebook's DOM. textContent (not innerText) so that cells skipped by Lab's
# content-visibility windowing are read too.
SCAN_JS = r"""() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  if (!panel) return null;
  const cells = [...panel.querySelectorAll('.jp-Cell')];
  const badText = /Traceback|^\s*\w*(Error|Exception)\b/m;
  const widgetRepr = /^\s*(\w*(Box|Slider|Output|Play|Widget|Button|Dropdown|interactive)\w*\(|FigureWidget\(\{)/;
  const out = {cells: [], errors: [], stderr: [], widgetErrors: [], widgetsAsText: [], plots: [],
               sliders: panel.querySelectorAll('.widget-slider').length,
               plays: panel.querySelectorAll('.widget-play').length,
               dialogs: [...document.querySelectorAll('.jp-Dialog')].map(d => d.textContent.slice(0, 300))};
  cells.forEach((cell, i) => {
    const code = cell.classList.contains('jp-CodeCell');
    const prompt = code ? (cell.querySelector('.jp-InputArea-prompt') || {}).textContent || '' : '';
    const src = [...cell.querySelectorAll('.jp-InputArea-editor .cm-line')].map(l => l.textContent).join('\n');
    const outputs = [...cell.querySelectorAll('.jp-OutputArea-output')].map(o => ({
      mime: o.getAttribute('data-mime-type') || '', text: o.textContent.slice(0, 300)}));
    out.cells.push({i, code, prompt: prompt.trim(), src: src.trim().slice(0, 80), empty: !src.trim(), outputs});
    cell.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').forEach(o => {
      (badText.test(o.textContent) ? out.errors : out.stderr).push({cell: i, text: o.textContent.slice(-1200)});
    });
    if (cell.textContent.includes('Error displaying widget'))
      out.widgetErrors.push({cell: i, text: cell.textContent.match(/Error displaying widget.{0,200}/)[0]});
    // ipywidgets 8 shows a failed widget (e.g. "No version of module anywidget is registered")
    // as an icon with "Click to show javascript error."
    cell.querySelectorAll('.jupyter-widgets-error-widget').forEach(e =>
      out.widgetErrors.push({cell: i, text: e.textContent.trim().slice(0, 300)}));
    cell.querySelectorAll('.jp-OutputArea-output[data-mime-type="text/plain"]').forEach(o => {
      if (widgetRepr.test(o.textContent)) out.widgetsAsText.push({cell: i, text: o.textContent.slice(0, 200)});
    });
    cell.querySelectorAll('.js-plotly-plot').forEach(gd => {
      const full = gd._fullLayout;
      let glObjects = 0;
      if (full) for (const key of Object.keys(full))
        if (/^scene\d*$/.test(key) && full[key]._scene && full[key]._scene.glplot)
          glObjects += full[key]._scene.glplot.objects.length;
      const svgTraces = gd.querySelectorAll('g.trace, g.hm, .imagelayer image').length;
      const glTraces = (gd._fullData || []).filter(t => /gl$/.test(t.type)).length && gd.querySelector('canvas') ? 1 : 0;
      // A figure in a hidden tab or accordion pane has no size until it is shown.
      const hidden = gd.offsetParent === null || !!gd.closest('.lm-mod-hidden');
      out.plots.push({cell: i, hidden, rendered: !!full, traces: (gd.data || []).length,
                      drawn: svgTraces + glObjects + glTraces, canvas: gd.querySelectorAll('canvas').length,
                      width: gd.clientWidth, height: gd.clientHeight,
                      noWebGL: /WebGL is not supported/i.test(gd.textContent)});
    });
  });
  return out;
}"""

# What a widget cell's outputs show: Output widgets' text, images, plotly data (uids excluded).
SIGNATURE_JS = r"""(i) => {
  const cell = document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell')[i];
  return [...cell.querySelectorAll('.widget-output')].map(o => o.textContent).join('#')
    + [...cell.querySelectorAll('.jp-OutputArea img')].map(img => img.src.length + img.src.slice(-64)).join()
    + [...cell.querySelectorAll('.js-plotly-plot')].map(gd => JSON.stringify(gd.data || [],
        (k, v) => k === 'uid' ? undefined : (ArrayBuffer.isView(v) ? Array.from(v) : v))).join();
}"""

# Cells whose outputs hold a slider and something it can drive (an Output widget or a figure).
WIDGET_CELLS_JS = r"""() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell')]
  .map((c, i) => c.querySelector('.jp-OutputArea .widget-slider .noUi-handle')
                 && c.querySelector('.jp-OutputArea .widget-output, .jp-OutputArea .js-plotly-plot') ? i : -1)
  .filter(i => i >= 0)"""

# Entries of the log console panel: level (from the prompt), mime type, text.
LOG_JS = r"""() => [...document.querySelectorAll('.jp-LogConsolePanel .jp-OutputArea-child')].map(c => {
  const prompt = c.querySelector('[data-log-level]'), o = c.querySelector('.jp-OutputArea-output');
  return {level: prompt ? prompt.getAttribute('data-log-level') : '',
          mime: o ? o.getAttribute('data-mime-type') || '' : '', text: (o ? o.textContent : '').slice(-1200)};
})"""

# A slider's position as the page shows it.
SLIDER_STATE_JS = r"""(el) => {
  const h = el.querySelector('.noUi-handle'), r = el.querySelector('.widget-readout');
  return {now: h.getAttribute('aria-valuenow'), max: h.getAttribute('aria-valuemax'),
          text: (r ? r.textContent : h.getAttribute('aria-valuetext') || '').trim()};
}"""

# Plots inside one widget element (a Tab): which visible ones have no size or nothing drawn.
BLANK_IN_ELEMENT_JS = r"""(el) => [...el.querySelectorAll('.js-plotly-plot')]
  .filter(gd => gd.offsetParent !== null && !gd.closest('.lm-mod-hidden'))
  .filter(gd => !gd._fullLayout || !(gd.data || []).length || !gd.clientWidth || !gd.clientHeight
          || !(gd.querySelectorAll('g.trace, g.hm, .imagelayer image, canvas').length))
  .map(gd => ({traces: (gd.data || []).length, width: gd.clientWidth, height: gd.clientHeight}))"""


def plot_problems(scan):
    """Figures a learner would see as missing or blank: not drawn by plotly, no traces, nothing
    drawn (the blank-axes trap), no WebGL, or no size although visible."""
    return [
        p
        for p in scan["plots"]
        if not p["rendered"]
        or p["traces"] == 0
        or p["drawn"] == 0
        or p["noWebGL"]
        or (not p["hidden"] and (p["width"] == 0 or p["height"] == 0))
    ]


class Run:
    """Drives one notebook in one page; collects console errors and phase timings."""

    def __init__(self, page):
        self.page = page
        self.console, self.page_errors, self.phases = [], [], {}
        self.t0 = self.t = time.monotonic()
        page.on("console", lambda m: m.type == "error" and self.console.append(m.text[:500]))
        page.on("pageerror", lambda e: self.page_errors.append(str(e)[:500]))

    def lap(self, phase):
        now = time.monotonic()
        self.phases[phase] = now - self.t
        self.t = now

    def scan(self):
        return self.page.evaluate(SCAN_JS)

    def wait_for(self, predicate, timeout, what, poll=1.0):
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
            time.sleep(poll)

    def kernel_status(self):
        return self.page.evaluate(KERNEL_STATUS_JS)

    def wait_idle(self, timeout, what, stable=3):
        """Kernel Idle in the status bar and no [*] prompt, for `stable` polls in a row."""
        streak = [0]

        def idle():
            status = self.kernel_status()
            assert not any(s in status for s in ("Dead", "Unknown", "Restarting")), f"kernel status: {status}"
            busy = any("*" in c["prompt"] for c in self.scan()["cells"])
            streak[0] = streak[0] + 1 if status.endswith("| Idle") and not busy else 0
            return streak[0] >= stable

        self.wait_for(idle, timeout, what)

    def wait_rendered(self, expect, settle=2.0, patience=15 * T):
        """Scan until the expected widgets and plots are drawn, or nothing has changed for
        `patience` seconds (a blank figure stays blank), or RENDER_TIMEOUT; return the last scan."""
        deadline, last, since = time.monotonic() + RENDER_TIMEOUT, None, time.monotonic()
        while time.monotonic() < deadline:
            scan = self.scan()
            problems = plot_problems(scan)
            if (
                (
                    scan["sliders"] >= expect["sliders"]
                    and scan["plays"] >= expect["plays"]
                    and len(scan["plots"]) >= expect["plots"]
                    and not problems
                )
                or scan["errors"]
                or scan["widgetErrors"]
            ):
                break
            state = repr((scan["sliders"], scan["plays"], scan["plots"]))
            if state != last:
                last, since = state, time.monotonic()
            elif time.monotonic() - since > patience and all(p["rendered"] for p in scan["plots"]):
                break
            time.sleep(1)
        time.sleep(settle)
        return self.scan()

    def open_and_run_all(self, url):
        self.page.goto(url, timeout=OPEN_TIMEOUT * 1000)
        self.page.wait_for_selector(CELLS, timeout=OPEN_TIMEOUT * 1000)
        self.lap("open")
        # The toolbar's indicator says idle before the kernel is connected (Run All then does
        # nothing); the status bar's "Python 3 (ipykernel) | Idle" is the reliable signal.
        self.wait_for(lambda: self.kernel_status().endswith("| Idle"), IDLE_TIMEOUT, "the kernel to be Idle")
        self.lap("kernel")
        prompts = lambda: [c["prompt"] for c in self.scan()["cells"] if c["code"]]
        before = prompts()
        self.run_all()
        try:
            self.wait_for(lambda: prompts() != before, 30 * T, "Run All to start")
        except AssertionError:  # one retry: the click can land while Lab is still settling
            self.run_all()
            self.wait_for(lambda: prompts() != before, 60 * T, "Run All to start (second try)")
        self.wait_idle(RUN_TIMEOUT, "Run All to finish")
        self.lap("run all")

    def run_all(self):
        self.menu("Run", "Run All Cells")

    def menu(self, top, item):
        self.page.locator("#jp-MainMenu .lm-MenuBar-itemLabel").get_by_text(top, exact=True).click()
        self.page.locator(".lm-Menu .lm-Menu-itemLabel").get_by_text(item, exact=True).click()

    def visit_tabs(self, limit=8):
        """Click every tab of every Tab widget (up to `limit` widgets): each shown pane's figures
        must get a size and drawn traces. Returns the number of tabs visited."""
        widgets = self.page.locator(PANEL + " .jp-OutputArea .widget-tab")
        visited = 0
        for w in range(min(widgets.count(), limit)):
            widget = widgets.nth(w)
            tabs = widget.locator(":scope > .widget-tab-bar .lm-TabBar-tab")
            for t in list(range(1, tabs.count())) + [0]:
                tabs.nth(t).scroll_into_view_if_needed()
                tabs.nth(t).click()
                label = tabs.nth(t).text_content()
                try:
                    self.wait_for(
                        lambda: not widget.evaluate(BLANK_IN_ELEMENT_JS),
                        30 * T,
                        f"figures in tab {label!r} to draw",
                        poll=0.5,
                    )
                except AssertionError as exc:
                    raise AssertionError(f"{exc}: {widget.evaluate(BLANK_IN_ELEMENT_JS)}") from None
                visited += 1
        return visited

    def log_console(self):
        """Open View > Show Log Console and return its entries for this notebook: errors raised in
        widget callbacks outside any Output land there, where a learner rarely looks."""
        self.menu("View", "Show Log Console")
        self.page.wait_for_selector(".jp-LogConsolePanel", timeout=30_000 * T)
        time.sleep(1)
        return self.page.evaluate(LOG_JS)

    def click_button(self, cell):
        """Click the first button in `cell`'s outputs that is not part of a Play widget; return its label."""
        buttons = (
            self.page.locator(CELLS).nth(cell).locator(".jp-OutputArea button.jupyter-button:not(.widget-play button)")
        )
        if not buttons.count():
            return ""
        label = (buttons.first.text_content() or "").strip() or "button"
        buttons.first.click()
        return label

    def move_slider(self, cell):
        """Press an arrow key on the first slider of `cell`; return its (old, new) readouts."""
        slider = self.page.locator(CELLS).nth(cell).locator(".jp-OutputArea .widget-slider").first
        handle = slider.locator(".noUi-handle").first
        handle.scroll_into_view_if_needed()
        # aria-valuenow is rounded (0.05 and 0.055 both read "0.1"): compare the readout too.
        state = lambda: slider.evaluate(SLIDER_STATE_JS)
        old = state()
        vertical = handle.get_attribute("aria-orientation") == "vertical"
        up = float(old["now"]) < float(old["max"])
        key = ("ArrowUp" if vertical else "ArrowRight") if up else ("ArrowDown" if vertical else "ArrowLeft")
        handle.focus()
        self.page.keyboard.press(key)
        new = self.wait_for(
            lambda: (s := state()) != old and s, 10, f"the slider in cell {cell} to move with {key}", poll=0.2
        )
        return old["text"], new["text"]

    def exercise_slider(self, cell):
        """Move the first slider of `cell` one step with the keyboard; its output must change (after
        a click on the cell's button, for panels that wait for one). Returns what was done."""
        page = self.page
        before = page.evaluate(SIGNATURE_JS, cell)
        old, new = self.move_slider(cell)
        done = f"cell {cell}: {old} -> {new}"
        self.wait_idle(MOVE_TIMEOUT, f"the kernel after moving the slider in cell {cell}")
        changed = lambda: page.evaluate(SIGNATURE_JS, cell) != before
        try:  # the kernel is idle again: the redraw, if any, is on its way to the page
            self.wait_for(changed, REDRAW_GRACE, "a redraw")
        except AssertionError:
            # Nothing redrawn: a panel with a button ("train", "sample") waits for a click.
            button = self.click_button(cell)
            if not button:
                raise AssertionError(
                    f"the slider in cell {cell} moved {old} -> {new} but its output did not "
                    f"change within {REDRAW_GRACE:.0f} s of the kernel going idle, and the "
                    "cell has no button to press"
                ) from None
            self.wait_for(
                changed,
                MOVE_TIMEOUT,
                f"the output of cell {cell} to change after its slider moved {old} -> {new} and {button!r} was clicked",
            )
            done += f" + {button!r}"
        self.wait_idle(MOVE_TIMEOUT, f"the kernel after the slider in cell {cell} moved", stable=2)
        return done

    def exercise_play(self):
        """Press play on the first Play widget: the slider it is linked to must move and its output
        change; then press stop. Returns what was done ("" when the notebook has no Play)."""
        plays = self.page.locator(PANEL + " .jp-OutputArea .widget-play")
        if not plays.count():
            return ""
        play = plays.first
        cell = play.evaluate(f"(el) => [...document.querySelectorAll('{CELLS}')].indexOf(el.closest('.jp-Cell'))")
        state = lambda: (
            self.page.evaluate(SIGNATURE_JS, cell),
            self.page.locator(CELLS).nth(cell).locator(".widget-readout").all_text_contents(),
        )
        before = state()
        play.scroll_into_view_if_needed()
        play.locator("button:has(.fa-play)").click()
        try:
            self.wait_for(lambda: state() != before, MOVE_TIMEOUT, f"play in cell {cell} to change the cell's output")
        finally:
            play.locator("button:has(.fa-stop)").click()
        self.wait_idle(MOVE_TIMEOUT, f"the kernel after play/stop in cell {cell}")
        return f"play + stop in cell {cell}"

    def dump(self):
        """Cell prompts, sources and outputs, errors, figures, console errors: printed on failure."""
        scan = self.scan() or {}
        lines = [f"kernel status: {self.kernel_status()!r}", "cells:"]
        for c in scan.get("cells", []):
            outs = "; ".join(f"{o['mime'] or 'widget/other'}: {o['text'][:120]!r}" for o in c["outputs"])
            lines.append(f"  [{c['i']}] {c['prompt'] or ('md' if not c['code'] else '')} {c['src'][:60]!r} -> {outs}")
        for key in ("errors", "widgetErrors", "widgetsAsText", "stderr", "dialogs", "plots"):
            if scan.get(key):
                lines.append(f"{key}: {scan[key]}")
        lines.append(f"console errors: {self.console}")
        lines.append(f"page errors: {self.page_errors}")
        return "\n".join(lines)


@pytest.mark.browser
def test_notebook_in_jupyterlab(notebook, lab_server, chromium, artifacts_dir, browser_report):
    """`notebook` is parametrised over the notebooks folder by conftest.pytest_generate_tests."""
    name, stem = notebook.name, notebook.stem
    expect = {**DEFAULT, **EXPECT.get(name, {})}
    for stale in (f"{stem}.png", f"{stem}.failed.png", f"{stem}.dom.txt"):
        (artifacts_dir / stale).unlink(missing_ok=True)
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(120_000 * T)
    run, report = Run(page), browser_report.setdefault(name, {})
    try:
        run.open_and_run_all(f"{lab_server.url}/lab/tree/notebooks/{name}?reset")
        scan = run.wait_rendered(expect)
        run.lap("render")
        check(scan, expect, run.console)
        tabs = run.visit_tabs()

        cells = page.evaluate(WIDGET_CELLS_JS)
        assert len(cells) >= expect["moves"], (
            f"expected at least {expect['moves']} cells with a slider driving an Output or a figure, found {len(cells)}"
        )
        moved = [run.exercise_slider(cell) for cell in cells[: max(expect["moves"], MAX_MOVES)]]
        moved += [done for done in [run.exercise_play()] if done]
        scan = run.wait_rendered(expect)
        check(scan, expect, run.console)
        assert not run.page_errors, f"uncaught JavaScript errors: {run.page_errors}"
        run.lap("sliders")
        report["found"] = (
            f"{scan['sliders']} sliders, {scan['plays']} plays, {len(scan['plots'])} figures, "
            f"{tabs} tabs visited; moved {', '.join(moved) or 'nothing'}"
        )
        if cells:
            page.locator(CELLS).nth(cells[0]).scroll_into_view_if_needed()
            time.sleep(1.5)  # Lab paints cells scrolled into view on the next frames
        page.screenshot(path=str(artifacts_dir / f"{stem}.png"))
        log = run.log_console()
        errors = [e for e in log if e["level"] in ("error", "critical")]
        assert not errors, f"errors in the log console (a widget callback raised outside any Output?): {errors}"
        kinds = sorted({f"{e['level']} {e['mime'] or 'other'}" for e in log})
        report["found"] += f"; log console: {len(log)} entries" + (f" ({', '.join(kinds)})" if kinds else "")
        report["outcome"] = "passed"
    except Exception as failure:
        report["outcome"] = "FAILED"
        report["found"] = str(failure).splitlines()[0][:300]
        try:
            page.screenshot(path=str(artifacts_dir / f"{stem}.failed.png"))
            dump = run.dump()
        except Exception as exc:  # the page itself is gone
            dump = f"could not read the page: {exc}"
        dump = f"failure: {failure}\n{dump}"
        (artifacts_dir / f"{stem}.dom.txt").write_text(dump)
        print(f"\nDOM state of {name} (also in {artifacts_dir / (stem + '.dom.txt')}):\n{dump}")
        raise
    finally:
        report.update(phases=run.phases, total=time.monotonic() - run.t0, console_errors=len(run.console))
        context.close()
        lab_server.shutdown_kernels()


def check(scan, expect, console=()):
    """Assert what a learner would see: no errors, widgets and plots as expected."""
    assert scan is not None, "no notebook panel on the page"
    assert not scan["errors"], f"error outputs: {scan['errors']}"
    widget_console = [m for m in console if WIDGET_CONSOLE_ERROR.search(m)]
    assert not scan["widgetErrors"], (
        f"widgets failed to display: {scan['widgetErrors']}; console errors: {widget_console}"
    )
    assert not widget_console, f"widget/plotly errors in the browser console: {widget_console}"
    assert not scan["widgetsAsText"], (
        f"widgets shown as plain text (widget manager missing in Lab?): {scan['widgetsAsText']}"
    )
    not_run = [
        c["i"] for c in scan["cells"] if c["code"] and not c["empty"] and not any(ch.isdigit() for ch in c["prompt"])
    ]
    assert not not_run, f"code cells not executed by Run All: {not_run}"
    bad = plot_problems(scan)
    assert not bad, f"plotly figures not rendered or blank (no traces drawn): {bad}"
    assert scan["sliders"] >= expect["sliders"], f"expected >= {expect['sliders']} sliders, saw {scan['sliders']}"
    assert scan["plays"] >= expect["plays"], f"expected >= {expect['plays']} play buttons, saw {scan['plays']}"
    assert len(scan["plots"]) >= expect["plots"], (
        f"expected >= {expect['plots']} plotly figures, saw {len(scan['plots'])}"
    )
