"""The static website (``python -m crystal_tutorial site OUT``) in headless Chromium.

Every page is served over HTTP from a local folder (no internet: MathJax and plotly.js are part of
the site) and checked: it loads with no console error and no failed request, its maths is typeset
by MathJax (no MathJax error), every plotly figure has drawn its traces, widget panels appear in
their default state with the note that the sliders need Jupyter, and every link into the site loads
(issue 24.2: links to documents outside the site were 404).

``SITE_DIR`` names an already built site (``.ci/browser.sh`` builds it once and times it);
without it the site is built here into a temporary folder.
"""
from __future__ import annotations

import functools
import http.server
import json
import os
import re
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS_DIR = Path(os.environ.get("BROWSER_NOTEBOOKS_DIR", REPO / "notebooks")).resolve()
TIMEOUT_SCALE = float(os.environ.get("BROWSER_TIMEOUT_SCALE", "1"))

pytestmark = pytest.mark.browser

PAGE_TIMEOUT_MS = int(120_000 * TIMEOUT_SCALE)


@pytest.fixture(scope="session")
def site_dir(tmp_path_factory) -> Path:
    if os.environ.get("SITE_DIR"):
        path = Path(os.environ["SITE_DIR"]).resolve()
        assert (path / "index.html").is_file(), f"SITE_DIR={path} holds no index.html"
        return path
    from crystal_tutorial.course.site import build_site
    path = tmp_path_factory.mktemp("site") / "site"
    build_site(path, NOTEBOOKS_DIR)
    return path


@pytest.fixture(scope="session")
def site_url(site_dir):
    handler = functools.partial(_QuietHandler, directory=str(site_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _broken_links(urls, site_url) -> list[str]:
    """Every link of a page (as the browser resolved it) that points into the served site and does not
    load: the site is served alone, so a link to ../DATA.md or to a file of the repository is a 404."""
    import urllib.error
    import urllib.request
    broken = []
    for url in sorted(set(urls)):
        url = url.split("#", 1)[0]
        if not url.startswith(site_url + "/"):
            continue   # another site (references, Binder) or a same-page anchor
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                if response.status >= 400:
                    broken.append(f"{response.status} {url}")
        except urllib.error.HTTPError as exc:
            broken.append(f"{exc.code} {url}")
    return broken


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def pytest_generate_tests(metafunc):
    if "page" in metafunc.fixturenames:
        pages = ["index.html"] + [p.stem + ".html" for p in sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))]
        metafunc.parametrize("page", pages)


def test_site_build_ran_every_notebook_without_a_stall(site_dir):
    """The site build is one of CI's three head-less runs of every notebook (bench_headless does two)."""
    summary = json.loads((site_dir / "site.json").read_text())
    names = [r["notebook"] for r in summary["reports"]]
    assert names == sorted(p.name for p in NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
    for report in summary["reports"]:
        assert report["stalls"] == [] and report["timeouts"] == 0, f"{report['notebook']}: {report['stalls']}"


CHECK_JS = r"""
() => {
  const plots = Array.from(document.querySelectorAll('.js-plotly-plot'));
  return {
    maths: Array.from(document.querySelectorAll('mjx-container svg')).filter(s => s.getBoundingClientRect().width > 0).length,
    mathsErrors: document.querySelectorAll('mjx-merror, [data-mjx-error]').length,
    typeset: document.body.getAttribute('data-maths'),
    rawDollars: Array.from(document.querySelectorAll('.jp-RenderedMarkdown p'))
        .filter(p => /\$[^$\s][^$]*\\[a-zA-Z]+[^$]*\$/.test(p.textContent)).length,
    plots: plots.length,
    plotsDrawn: plots.filter(p => p.querySelectorAll('.trace, .scatterlayer .point, .scatterlayer path, .gl-container canvas, .surface, .scatter3d, .mesh3d, .bars path').length > 0
                                 || (p.data && p.data.length > 0 && p._fullData && p._fullData.length > 0)).length,
    widgetNotes: document.querySelectorAll('.ct-widget-note').length,
    sliders: document.querySelectorAll('.ct-control input[type=range]').length,
    navLinks: Array.from(document.querySelectorAll('.ct-nav a')).map(a => a.getAttribute('href')),
    links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
    errorsShown: document.querySelectorAll('.jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"]').length,
    tracebacks: Array.from(document.querySelectorAll('.jp-OutputArea-output pre')).filter(p => /Traceback \(most recent call last\)/.test(p.textContent)).length,
  };
}
"""


def test_site_page(chromium, site_dir, site_url, page):
    source = (site_dir / page).read_text()
    console_errors, failed = [], []
    context = chromium.new_context(viewport={"width": 1200, "height": 900})
    tab = context.new_page()
    tab.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
    tab.on("pageerror", lambda exc: console_errors.append(f"page error: {exc}"))
    tab.on("requestfailed", lambda req: failed.append(req.url))
    tab.on("response", lambda resp: failed.append(f"{resp.status} {resp.url}") if resp.status >= 400 else None)
    try:
        tab.goto(f"{site_url}/{page}", wait_until="load", timeout=PAGE_TIMEOUT_MS)
        tab.wait_for_function("document.body.getAttribute('data-maths') === 'typeset'", timeout=PAGE_TIMEOUT_MS)
        n_plots = len(re.findall(r'class="plotly-graph-div"', source))
        if n_plots:
            tab.wait_for_function(
                f"document.querySelectorAll('.js-plotly-plot').length >= {n_plots}", timeout=PAGE_TIMEOUT_MS
            )
        info = tab.evaluate(CHECK_JS)
    finally:
        context.close()
    print(page, json.dumps(info))
    assert not console_errors, f"{page}: console errors {console_errors[:5]}"
    assert not failed, f"{page}: failed requests {failed[:5]}"
    assert info["typeset"] == "typeset"
    assert info["maths"] > 0, f"{page}: no typeset maths"
    assert info["mathsErrors"] == 0, f"{page}: {info['mathsErrors']} MathJax errors"
    assert info["rawDollars"] == 0, f"{page}: {info['rawDollars']} paragraphs with untypeset $...$"
    assert info["plots"] == n_plots, f"{page}: {info['plots']} of {n_plots} plotly figures drawn"
    if n_plots:
        assert info["plotsDrawn"] >= 1 and info["plotsDrawn"] == info["plots"], f"{page}: traces not drawn {info}"
    assert info["tracebacks"] == 0, f"{page}: a cell shows a traceback"
    for href in info["navLinks"]:
        assert (site_dir / href).is_file(), f"{page}: navigation link {href} is broken"
    broken = _broken_links(info["links"], site_url)
    assert not broken, f"{page}: links that do not load from the served site: {broken}"
    if page != "index.html":
        assert "index.html" in info["navLinks"]
        meta = {p["href"]: p for p in json.loads((site_dir / "site.json").read_text())["pages"]}[page]
        assert info["widgetNotes"] == meta["panels"], (
            f"{page}: widget panels without the note that sliders need Jupyter"
        )
        if "widgets import" in (NOTEBOOKS_DIR / page.replace(".html", ".ipynb")).read_text():
            assert meta["panels"] >= 1, f"{page}: the notebook builds widget panels, the page shows none"
