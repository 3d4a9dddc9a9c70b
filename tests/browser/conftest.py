"""Fixtures for the browser suite: one isolated JupyterLab server and one headless Chromium per session.

The suite runs only when selected with ``-m browser`` (``.ci/browser.sh``); in the README's plain
``pytest`` run its tests are skipped, and they also skip with a clear reason when Chromium or the
``playwright`` package is missing.

Environment variables (all optional):

- ``BROWSER_NOTEBOOKS_DIR``: folder of notebooks to test (default ``<repo>/notebooks``).
- ``BROWSER_ARTIFACTS_DIR``: where screenshots, DOM dumps and the server log go
  (default ``<repo>/browser-artifacts``, git-ignored).
- ``BROWSER_CHROMIUM``: the Chromium executable (default ``/usr/bin/chromium``).
- ``BROWSER_TIMEOUT_SCALE``: multiply every timeout (e.g. ``2`` on a slow, busy machine).
- ``BROWSER_REQUIRED=1``: error out instead of skipping when Chromium or playwright is missing (CI).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS_DIR = Path(os.environ.get("BROWSER_NOTEBOOKS_DIR", REPO / "notebooks")).resolve()
ARTIFACTS_DIR = Path(os.environ.get("BROWSER_ARTIFACTS_DIR", REPO / "browser-artifacts")).resolve()
CHROMIUM = os.environ.get("BROWSER_CHROMIUM", "/usr/bin/chromium")
TIMEOUT_SCALE = float(os.environ.get("BROWSER_TIMEOUT_SCALE", "1"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SERVER_START_TIMEOUT = 180 * TIMEOUT_SCALE  # s until /api/status answers

# Per-session timings and artifacts, listed in the terminal summary so CI logs show them.
REPORT: dict[str, dict] = {}


def _browser_selected(config) -> bool:
    """True when the ``-m`` expression asks for the browser marker (and does not negate it)."""
    expr = config.getoption("markexpr", "") or ""
    return bool(re.search(r"\bbrowser\b", expr)) and not re.search(r"\bnot\s+browser\b", expr)


def _missing_requirement() -> str | None:
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        return (f"Chromium not found at {CHROMIUM} (Debian: apt-get install -y chromium; "
                "or set BROWSER_CHROMIUM)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the 'playwright' Python package is not installed (pip install playwright)"
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        return "JupyterLab is not installed (pip install 'jupyterlab>=4.1')"
    return None


def pytest_collection_modifyitems(config, items):
    browser_items = [item for item in items if item.get_closest_marker("browser")]
    if not browser_items:
        return
    if not _browser_selected(config):
        reason = "browser test: runs only when selected with `-m browser` (see .ci/browser.sh)"
    else:
        reason = _missing_requirement()
        if reason and os.environ.get("BROWSER_REQUIRED") == "1":  # CI: a skip would hide the gap
            raise pytest.UsageError(f"BROWSER_REQUIRED=1 but {reason}")
    if reason:
        for item in browser_items:
            item.add_marker(pytest.mark.skip(reason=reason))


def pytest_generate_tests(metafunc):
    """Parametrise ``notebook`` over NOTEBOOKS_DIR/*.ipynb, so new notebooks are picked up."""
    if "notebook" in metafunc.fixturenames:
        notebooks = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
        if notebooks:
            metafunc.parametrize("notebook", notebooks, ids=[p.name for p in notebooks])
        else:
            metafunc.parametrize("notebook", [pytest.param(None, marks=pytest.mark.skip(
                reason=f"no notebooks in {NOTEBOOKS_DIR}"))], ids=["no-notebooks"])


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _http_json(url: str, method: str = "GET", timeout: float = 10):
    request = urllib.request.Request(url, method=method)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        body = response.read()
    return json.loads(body) if body else None


class LabServer:
    """A JupyterLab process with its own config/data/runtime/settings/workspace dirs under ``home``.

    Notebooks are copied into ``root/notebooks`` first: Lab autosaves outputs, and the repo's
    notebooks must stay clean.
    """

    def __init__(self, home: Path, notebooks_dir: Path, log_path: Path):
        self.home, self.log_path = home, log_path
        self.root = home / "root"
        self.notebooks = self.root / "notebooks"
        shutil.copytree(notebooks_dir, self.notebooks,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        dirs = {name: home / name for name in ("config", "data", "runtime", "settings", "workspaces", "ipython")}
        for path in dirs.values():
            path.mkdir(parents=True, exist_ok=True)
        # News and update checks off, no extension manager; the announcements plugin (the
        # "Would you like to receive official Jupyter news?" toast) is disabled in page_config.
        (dirs["config"] / "jupyter_server_config.json").write_text(json.dumps({
            "LabApp": {"news_url": None, "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
                       "extension_manager": "readonly"},
            # No token (127.0.0.1 only), so the REST calls that end kernels carry no _xsrf either.
            "ServerApp": {"terminals_enabled": False, "disable_check_xsrf": True}}, indent=1))
        (dirs["config"] / "labconfig").mkdir(exist_ok=True)
        (dirs["config"] / "labconfig" / "page_config.json").write_text(json.dumps(
            {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}, indent=1))
        self.env = dict(os.environ, JUPYTER_CONFIG_DIR=str(dirs["config"]), JUPYTER_DATA_DIR=str(dirs["data"]),
                        JUPYTER_RUNTIME_DIR=str(dirs["runtime"]), JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
                        JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]), IPYTHONDIR=str(dirs["ipython"]),
                        JUPYTER_PLATFORM_DIRS="1", PYDEVD_DISABLE_FILE_VALIDATION="1")
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def start(self, attempts: int = 3):
        for _ in range(attempts):
            port = _free_port()
            self.url = f"http://127.0.0.1:{port}"
            cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
                   "--port-retries=0", "--IdentityProvider.token=", "--ServerApp.password=",
                   f"--ServerApp.root_dir={self.root}"]
            if hasattr(os, "geteuid") and os.geteuid() == 0:
                cmd.append("--allow-root")
            log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(cmd, env=self.env, cwd=self.root, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
            log.close()
            deadline = time.monotonic() + SERVER_START_TIMEOUT
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    _http_json(self.url + "/api/status", timeout=5)
                    return self
                except OSError:
                    time.sleep(0.5)
            if self.proc.poll() is None:  # alive but silent: give up
                self.stop()
                break
        tail = self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""
        raise RuntimeError(f"JupyterLab did not answer {self.url}/api/status; server log tail:\n{tail}")

    def shutdown_kernels(self):
        """Delete every session and kernel (between notebooks, and before stopping)."""
        try:
            for session in _http_json(self.url + "/api/sessions") or []:
                _http_json(f"{self.url}/api/sessions/{session['id']}", method="DELETE", timeout=30)
            for kernel in _http_json(self.url + "/api/kernels") or []:
                _http_json(f"{self.url}/api/kernels/{kernel['id']}", method="DELETE", timeout=30)
        except OSError as exc:
            print(f"warning: could not shut down kernels at {self.url}: {exc}")

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.shutdown_kernels()
        try:
            import psutil
            children = psutil.Process(self.proc.pid).children(recursive=True)
        except Exception:  # psutil missing or process gone
            children = []
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)
        for child in children:  # kernels run in their own sessions: end them by PID
            try:
                child.kill()
            except Exception:
                pass


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    print(f"\nbrowser artifacts (screenshots, DOM dumps, server log): {ARTIFACTS_DIR}")
    REPORT.setdefault("_session", {})["artifacts"] = str(ARTIFACTS_DIR)
    return ARTIFACTS_DIR


@pytest.fixture(scope="session")
def browser_report() -> dict:
    """Per-notebook outcome, phase timings and findings, printed in the terminal summary."""
    return REPORT


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory, artifacts_dir):
    log_path = artifacts_dir / "jupyter-server.log"
    log_path.unlink(missing_ok=True)
    server = LabServer(tmp_path_factory.mktemp("jupyterlab"), NOTEBOOKS_DIR, log_path).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def pytest_terminal_summary(terminalreporter):
    runs = {name: info for name, info in REPORT.items() if not name.startswith("_")}
    if not runs and "_session" not in REPORT:
        return
    write = terminalreporter.write_line
    terminalreporter.section("browser suite")
    write(f"artifacts: {ARTIFACTS_DIR}")
    for name, info in runs.items():
        phases = ", ".join(f"{k} {v:.0f} s" for k, v in info.get("phases", {}).items())
        write(f"  {name}: {info.get('outcome', '?')} in {info.get('total', 0):.0f} s ({phases}); "
              f"{info.get('found', '')}; {info.get('console_errors', 0)} console errors")
    if ARTIFACTS_DIR.is_dir():
        for path in sorted(ARTIFACTS_DIR.iterdir()):
            write(f"  {path.name}  {path.stat().st_size:,} bytes")
