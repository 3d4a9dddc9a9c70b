"""Drive the trial JupyterHub (teaching/jupyterhub/jupyterhub_config.py) from a script: start it, create
users and start their servers through the hub's REST API, run a notebook in a user's own server (the
Jupyter server's REST and websocket API, as JupyterLab does), measure the users' processes, stop it all.

    with TrialHub(port=18600, state="/tmp/hub") as hub:      # jupyterhub -f ... with an API token
        hub.create_user("ada")
        seconds = hub.start_server("ada")
        result = hub.run_notebook("ada", "notebooks/02_forward_diffusion.ipynb")
        print(result.seconds, result.errors, hub.user_memory())
    # here the hub, its proxy, every server and every kernel have exited (hub.pids were all checked)

Used by benchmarks/bench_class.py and tests/test_hub.py. Needs jupyterhub and configurable-http-proxy
(the ``hub`` extra and ``npm install -g configurable-http-proxy``).
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "teaching" / "jupyterhub" / "jupyterhub_config.py"


@dataclass
class NotebookRun:
    """One notebook executed in a user's server: wall time, cells run, and the errors (empty if none)."""

    user: str
    path: str
    seconds: float = 0.0
    cells: int = 0
    errors: list[str] = field(default_factory=list)


def _check_port(port) -> int:
    if isinstance(port, bool) or not isinstance(port, int) or not 1024 <= port <= 65532:
        raise ValueError(f"port must be an integer in 1024..65532 (the hub uses port..port+2), got {port!r}")
    return port


class TrialHub:
    """The trial hub as a subprocess, with an API token of its own; a context manager that stops it all.

    ``port`` is the public port (the proxy's API uses port + 1, the hub port + 2); ``state`` the folder
    for the hub's database and the users' homes; ``notebooks`` the folder copied into each home.
    """

    def __init__(self, port: int = 18600, state=None, notebooks=None, config=CONFIG, log=None):
        self.port = _check_port(port)
        self.state = Path(state) if state is not None else REPO / ".hub"
        self.notebooks = Path(notebooks) if notebooks is not None else REPO / "notebooks"
        if not self.notebooks.is_dir():
            raise ValueError(f"notebooks must be a folder of notebooks, got {str(self.notebooks)!r}")
        self.config = Path(config)
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = Path(log) if log is not None else self.state / "hub.log"
        self.process: subprocess.Popen | None = None
        self.pids: set[int] = set()   # every process seen under the hub: checked gone by stop()

    # ---- start and stop ----

    def start(self, timeout: float = 120.0) -> float:
        """Start jupyterhub and wait until its API answers; returns the seconds it took."""
        if shutil.which("configurable-http-proxy") is None:
            raise RuntimeError("configurable-http-proxy is not on PATH: npm install -g configurable-http-proxy")
        self.state.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, CRYSTAL_HUB_PORT=str(self.port), CRYSTAL_HUB_STATE=str(self.state),
                   CRYSTAL_HUB_NOTEBOOKS=str(self.notebooks), CRYSTAL_HUB_API_TOKEN=self.token,
                   PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
        t0 = time.perf_counter()
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(self.config)],
                                            cwd=self.state, env=env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        self.pids.add(self.process.pid)
        while True:
            try:
                self.api("GET", "/users")
                return time.perf_counter() - t0
            except (URLError, ConnectionError, HTTPError):
                if self.process.poll() is not None:
                    raise RuntimeError(f"jupyterhub exited with {self.process.returncode}; see {self.log}") from None
                if time.perf_counter() - t0 > timeout:
                    raise TimeoutError(f"the hub did not answer within {timeout} s; see {self.log}") from None
                time.sleep(0.5)

    def stop(self, timeout: float = 60.0) -> list[int]:
        """Stop the hub (SIGTERM: it stops every server, and they their kernels). Returns the PIDs still
        alive after ``timeout`` seconds (they are then killed); an empty list means a clean stop."""
        import psutil
        if self.process is None:
            return []
        self.pids |= self.descendants()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        deadline = time.monotonic() + timeout
        alive = [pid for pid in self.pids if psutil.pid_exists(pid)]
        while alive and time.monotonic() < deadline:
            time.sleep(0.5)
            alive = [pid for pid in alive if _is_running(pid)]
        for pid in alive:   # a leak: report it, and do not leave it running
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        return alive

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    # ---- the hub's REST API ----

    def api(self, method: str, path: str, body=None, timeout: float = 60.0):
        """A call to the hub's REST API (``/hub/api`` + ``path``) with the token; the decoded JSON or None."""
        return self._request(method, f"{self.url}/hub/api{path}", body, timeout)

    def _request(self, method, url, body=None, timeout=60.0):
        data = json.dumps(body).encode() if body is not None else None
        request = Request(url, data=data, method=method, headers={"Authorization": f"token {self.token}",
                                                                   "Content-Type": "application/json"})
        with urlopen(request, timeout=timeout) as response:
            text = response.read()
        return json.loads(text) if text else None

    def create_user(self, name: str) -> None:
        self.api("POST", f"/users/{name}")

    def start_server(self, name: str, timeout: float = 300.0) -> float:
        """Ask the hub to start ``name``'s server and wait until it is ready; returns the seconds it took."""
        t0 = time.perf_counter()
        self.api("POST", f"/users/{name}/server")
        while True:
            user = self.api("GET", f"/users/{name}")
            server = user.get("servers", {}).get("", {})
            if server.get("ready"):
                self.pids |= self.descendants()
                return time.perf_counter() - t0
            if not user.get("pending") and not server:
                raise RuntimeError(f"the server of {name} failed to start; see {self.log}")
            if time.perf_counter() - t0 > timeout:
                raise TimeoutError(f"the server of {name} was not ready within {timeout} s")
            time.sleep(0.5)

    def stop_server(self, name: str, timeout: float = 120.0) -> None:
        self.api("DELETE", f"/users/{name}/server")
        t0 = time.perf_counter()
        while self.api("GET", f"/users/{name}").get("servers") and time.perf_counter() - t0 < timeout:
            time.sleep(0.5)

    # ---- a user's own server: run a notebook as JupyterLab would ----

    def user_api(self, name: str, method: str, path: str, body=None, timeout: float = 60.0):
        return self._request(method, f"{self.url}/user/{name}/api{path}", body, timeout)

    def run_notebook(self, name: str, path: str, timeout: float = 900.0, code=None) -> NotebookRun:
        """Run the notebook ``path`` (relative to the user's home) in a new kernel of ``name``'s server,
        cell by cell over the kernel's websocket, stopping at the first error; then shut the kernel down.
        ``code`` (a list of sources) replaces the notebook's code cells, e.g. to run a command."""
        import websocket  # websocket-client, a dependency of jupyter_server
        if code is None:
            nb = self.user_api(name, "GET", f"/contents/{path}")["content"]   # the notebook as JSON
            code = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
                    for c in nb["cells"] if c["cell_type"] == "code"]
        run = NotebookRun(name, path)
        t0 = time.perf_counter()
        session = self.user_api(name, "POST", "/sessions", {"path": path, "type": "notebook", "name": Path(path).name,
                                                             "kernel": {"name": "python3"}})
        kernel = session["kernel"]["id"]
        self.pids |= self.descendants()
        ws = websocket.create_connection(
            f"ws://127.0.0.1:{self.port}/user/{name}/api/kernels/{kernel}/channels?session_id={uuid.uuid4().hex}",
            header=[f"Authorization: token {self.token}"], timeout=timeout)
        try:
            for source in code:
                run.cells += 1
                error = _execute(ws, source, timeout)
                if error:
                    run.errors.append(error)
                    break
        finally:
            ws.close()
            self.pids |= self.descendants()
            self.user_api(name, "DELETE", f"/sessions/{session['id']}")
        run.seconds = time.perf_counter() - t0
        return run

    # ---- processes ----

    def descendants(self) -> set[int]:
        """PIDs of every process under the hub now (proxy, servers, kernels, services)."""
        import psutil
        if self.process is None or not psutil.pid_exists(self.process.pid):
            return set()
        try:
            return {p.pid for p in psutil.Process(self.process.pid).children(recursive=True)}
        except psutil.NoSuchProcess:
            return set()

    def usage(self) -> dict[str, dict[int, tuple[int, float]]]:
        """Each user's processes now (their server, its kernels and what those start), by PID: (resident
        memory in bytes, CPU seconds used so far, user + system)."""
        import psutil
        found: dict[str, dict[int, tuple[int, float]]] = {}
        for pid in self.descendants():
            try:
                p = psutil.Process(pid)
                user = p.environ().get("JUPYTERHUB_USER")
                if user:
                    cpu = p.cpu_times()
                    found.setdefault(user, {})[pid] = (p.memory_info().rss, cpu.user + cpu.system)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        return found

    def user_memory(self) -> dict[str, int]:
        """Resident memory (bytes) of each user's processes now: their server and its kernels."""
        return {user: sum(rss for rss, _ in procs.values()) for user, procs in self.usage().items()}


def _is_running(pid: int) -> bool:
    import psutil
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _execute(ws, source: str, timeout: float) -> str:
    """Execute ``source`` in the kernel behind the websocket ``ws``; "" if it ran, else the error text."""
    msg_id = uuid.uuid4().hex
    ws.send(json.dumps({
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "", "session": uuid.uuid4().hex,
                   "version": "5.3", "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": source, "silent": False, "store_history": True, "user_expressions": {},
                    "allow_stdin": False, "stop_on_error": True}}))
    error, replied, idle = "", False, False
    t0 = time.perf_counter()
    while not (replied and idle):
        if time.perf_counter() - t0 > timeout:
            return f"timeout after {timeout} s"
        message = json.loads(ws.recv())
        if message.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind = message["header"]["msg_type"]
        if kind == "error":
            error = f"{message['content']['ename']}: {message['content']['evalue']}"
        elif kind == "execute_reply":
            replied = True
            if message["content"]["status"] != "ok" and not error:
                error = f"{message['content'].get('ename', 'error')}: {message['content'].get('evalue', '')}"
        elif kind == "status" and message["content"]["execution_state"] == "idle":
            idle = True
    return error
