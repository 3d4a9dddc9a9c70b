"""Issue 27.8 and 24.2: ``site`` on Ctrl-C / SIGTERM and cell timeouts, notebooks that are not
notebooks, the site's file modes, and links that resolve in JupyterLab and in the served site."""
import html.parser
import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

import nbformat
import pytest

from crystal_tutorial.course import site

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def write_notebook(path, *sources, title="# A page\n\nEstimated time: 1 minute\n\n## First section"):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(title)] + [nbformat.v4.new_code_cell(s) for s in sources]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def site_process(tmp_path, *args):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "crystal_tutorial", "site", *map(str, args)], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def leftovers(folder):
    return sorted(p.name for p in Path(folder).iterdir() if p.name.startswith("."))


# --- 27.8: interrupted, timed out, not a notebook ------------------------------------------------------
def sigterm_status():
    """The status main() gives SIGTERM, the same for every subcommand (130, or 143 = 128 + SIGTERM)."""
    from crystal_tutorial.cli import main
    return 143 if "143" in Path(main.__file__).read_text() else 130


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_site_interrupted_says_so_in_one_line(tmp_path, signum):
    started = tmp_path / "started"
    write_notebook(tmp_path / "nb" / "01_slow.ipynb",
                   f"import time, pathlib\npathlib.Path({str(started)!r}).write_text('')\ntime.sleep(120)")
    proc = site_process(tmp_path, "out", "--notebooks", "nb")
    for _ in range(1200):   # until the kernel runs the cell, at most 120 s
        if started.exists() or proc.poll() is not None:
            break
        time.sleep(0.1)
    assert started.exists(), proc.communicate()[1][-2000:]
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    expected = 130 if signum == signal.SIGINT else sigterm_status()
    assert proc.returncode == expected, (proc.returncode, err[-3000:])
    lines = err.strip().splitlines()
    assert lines[-1].startswith("python -m crystal_tutorial site: error: interrupted"), err[-3000:]
    assert "Traceback" not in err and "AssertionError" not in err, err[-3000:]
    assert not (tmp_path / "out").exists() and leftovers(tmp_path) == []


def test_a_cell_timeout_names_the_notebook_and_the_cell(tmp_path):
    write_notebook(tmp_path / "nb" / "01_slow.ipynb", "x = 1", "import time\ntime.sleep(60)")
    proc = site_process(tmp_path, "out", "--notebooks", "nb", "--timeout", "3")
    _, err = proc.communicate(timeout=240)
    lines = err.strip().splitlines()
    assert proc.returncode == 2 and "Traceback" not in err, err[-3000:]
    assert "01_slow.ipynb" in lines[-1] and "cell 3 of 3" in lines[-1] and "time.sleep(60)" not in lines[-1]
    assert "import time" in lines[-1] and "3 s" in lines[-1] and "--timeout" in lines[-1], lines[-1]
    assert not (tmp_path / "out").exists() and leftovers(tmp_path) == []


@pytest.mark.parametrize("content, needle", [
    ('{"nbformat": 4, "nbformat_minor": 5, "metadata": {}}', "needs a 'cells' list"),
    ('[1, 2]', "got a JSON list"),
    ('{"cells": [{"cell_type": "code", "metadata": {}}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}',
     "cell 1 of 1 has no 'source'"),
    ('{"cells": [', "not valid JSON"),
])
def test_a_file_that_is_not_a_notebook_is_named(tmp_path, content, needle):
    (tmp_path / "nb").mkdir()
    (tmp_path / "nb" / "01_bad.ipynb").write_text(content)
    proc = site_process(tmp_path, "out", "--notebooks", "nb")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and len(err.strip().splitlines()) == 1, err[-3000:]
    assert "01_bad.ipynb" in err and needle in err, err


# --- 24.2: modes, and every link resolves -----------------------------------------------------------
class Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("href", "src"):
            if attrs.get(key) and tag in ("a", "link", "script", "img"):
                self.links.append(attrs[key])


def broken_links(site_dir: Path) -> list[str]:
    """Every href/src of every page that points into the site (not http(s), not a page anchor) and
    names no file there."""
    broken = []
    for page in sorted(site_dir.rglob("*.html")):
        parser = Links()
        parser.feed(page.read_text(encoding="utf-8"))
        for link in parser.links:
            url = urlparse(link)
            if url.scheme or url.netloc or not url.path:
                continue
            target = (page.parent / unquote(url.path)).resolve()
            if not target.is_relative_to(site_dir.resolve()) or not target.is_file():
                broken.append(f"{page.name}: {link}")
    return broken


def test_notebook_links_resolve_in_jupyterlab():
    """JupyterLab started as the README says has notebooks/ as its root: a link must name a file
    inside it (the documents are there as links to the repository's files)."""
    root = (ROOT / "notebooks").resolve()
    for path in NOTEBOOKS:
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] != "markdown":
                continue
            for target in re.findall(r"\]\(([^)\s#]+)", "".join(cell["source"])):
                if "://" in target or target.startswith("mailto:"):
                    continue
                inside = os.path.normpath(path.parent / target)
                assert Path(inside).is_relative_to(root), f"{path.name}: {target} lies outside notebooks/"
                assert Path(inside).exists(), f"{path.name}: {target} does not exist"


def fake_execute(path, timeout=300, reliable=True, cwd=None, **kwargs):
    """execute_notebook without a kernel (the page as it is committed, no outputs)."""
    nb = site.read_notebook(path)
    return nb, {"notebook": path.name, "timeouts": 0, "seconds": 0.0, "cells": [], "sections": [],
                "stalls": []}


def test_every_link_of_every_page_resolves_in_the_site(tmp_path, monkeypatch):
    """The real notebooks rendered (not executed) into a site: every link names a file of the site,
    the documents the notebooks cite are pages, and folders and files get a plain mkdir's and
    open's modes (0755 / 0644 under the usual umask 022), so any web server can serve them."""
    monkeypatch.setattr(site, "execute_notebook", fake_execute)
    umask = os.umask(0o022)
    try:
        summary = site.build_site(tmp_path / "site-build", ROOT / "notebooks", log=lambda *a: None)
    finally:
        os.umask(umask)
    out = tmp_path / "site-build"
    assert broken_links(out) == []
    assert {"DATA.html", "hello-world.html"} <= set(summary["documents"])
    assert 'href="DATA.html"' in (out / "10_a_real_benchmark.html").read_text()
    modes = {stat.S_IMODE(p.stat().st_mode) for p in [out, *out.rglob("*")] if p.is_dir()}
    assert modes == {0o755}, modes
    modes = {stat.S_IMODE(p.stat().st_mode) for p in out.rglob("*") if p.is_file()}
    assert modes == {0o644}, modes


def test_broken_links_are_found(tmp_path):
    (tmp_path / "a.html").write_text('<a href="b.html">b</a> <a href="../DATA.md">x</a> <a href="#top">t</a> '
                                     '<a href="https://example.org">e</a> <script src="assets/p.js"></script>')
    (tmp_path / "b.html").write_text("")
    assert broken_links(tmp_path) == ["a.html: ../DATA.md", "a.html: assets/p.js"]


def test_site_links_rewrites_notebooks_and_documents(tmp_path):
    (tmp_path / "DATA.md").write_text("# Data")
    text, docs = site.site_links("see [data](DATA.md#perov), [08](08_x.ipynb), [web](https://x.org/a.md), "
                                 "[gone](missing.md)", tmp_path)
    assert text == "see [data](DATA.html#perov), [08](08_x.html), [web](https://x.org/a.md), [gone](missing.md)"
    assert docs == {tmp_path / "DATA.md"}
