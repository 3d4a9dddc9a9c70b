"""A local trial JupyterHub for the tutorial: one machine, a shared trial password, every user's home
with the notebooks in it, idle servers culled. Start it from the repository's root:

    jupyterhub -f teaching/jupyterhub/jupyterhub_config.py

then open http://127.0.0.1:8000, log in with any user name and the password `crystal-trial`
(or the one in CRYSTAL_HUB_PASSWORD). For a trial only: every user runs as the account that started
the hub (SimpleLocalProcessSpawner), the password is shared, and nothing is limited. A real class uses
Zero to JupyterHub (config.yaml beside this file) or The Littlest JupyterHub (tljh.md).

Settings from the environment (all optional):
  CRYSTAL_HUB_PORT       the public port (default 8000); the proxy's API uses PORT + 1, the hub PORT + 2
  CRYSTAL_HUB_STATE      folder for the hub's database, cookie secret and the users' homes (default .hub/)
  CRYSTAL_HUB_NOTEBOOKS  folder whose *.ipynb each new home gets (default notebooks/; a student edition works)
  CRYSTAL_HUB_PASSWORD   the shared trial password (default crystal-trial)
  CRYSTAL_HUB_CULL       seconds a server may stay idle before the culler stops it (default 3600)
  CRYSTAL_HUB_API_TOKEN  if set: a service "class-admin" with this token may create users, start and stop
                         their servers and use them (benchmarks/bench_class.py and the hub test use it)
"""
import os
import shutil
import sys
import tempfile
from pathlib import Path

c = get_config()  # noqa: F821 (JupyterHub's config loader defines it)

REPO = Path(__file__).resolve().parents[2]
STATE = Path(os.environ.get("CRYSTAL_HUB_STATE", REPO / ".hub")).resolve()
NOTEBOOKS = Path(os.environ.get("CRYSTAL_HUB_NOTEBOOKS", REPO / "notebooks")).resolve()
PORT = int(os.environ.get("CRYSTAL_HUB_PORT", "8000"))
STATE.mkdir(parents=True, exist_ok=True)

# ---- where the hub listens and keeps its state (all on this machine) ----
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = PORT
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{PORT + 1}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = PORT + 2
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(STATE / "proxy.pid")
c.JupyterHub.cleanup_servers = True    # stopping the hub stops every user's server (and so their kernels)

# ---- who may log in: anyone, with the shared trial password ----
# (JupyterHub >= 5.3: the SharedPasswordAuthenticator; before, DummyAuthenticator.password did the same)
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = os.environ.get("CRYSTAL_HUB_PASSWORD", "crystal-trial")
c.Authenticator.allow_all = True

# ---- each user: a jupyter server of their own, as this account, in their own home ----
c.JupyterHub.spawner_class = "simple"   # SimpleLocalProcessSpawner
c.SimpleLocalProcessSpawner.home_dir_template = str(STATE / "home" / "{username}")
c.Spawner.cmd = [sys.executable, "-m", "jupyterhub.singleuser"]   # this Python, wherever the hub was started
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 180            # a busy 2-core machine needs tens of seconds to start a server
c.Spawner.http_timeout = 180
# Kernels on unix sockets in a short per-user runtime folder: with many users on TCP ports, kernel
# starts collided ("Address already in use"), see DESIGN.md's pitfalls.
c.Spawner.args = ["--KernelManager.transport=ipc"]
if os.geteuid() == 0:   # a trial in a container or CI runs as root; jupyter_server refuses that unless told
    c.Spawner.args.append("--ServerApp.allow_root=True")
RUNTIME = Path(tempfile.gettempdir()) / f"crystal-hub-{PORT}"
c.Spawner.environment = {
    "JUPYTER_RUNTIME_DIR": lambda spawner: str(RUNTIME / spawner.user.name),
    "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",   # small matrices: one BLAS thread
}


def pull_notebooks(spawner):
    """Before a server starts: copy the notebooks into the user's home (never over the user's own copy)."""
    home = Path(spawner.home_dir)
    target = home / "notebooks"
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        if not (target / path.name).exists():
            shutil.copyfile(path, target / path.name)
    (RUNTIME / spawner.user.name).mkdir(parents=True, exist_ok=True, mode=0o700)


c.Spawner.pre_spawn_hook = pull_notebooks

# ---- the idle culler: stops servers idle for CRYSTAL_HUB_CULL seconds ----
c.JupyterHub.services = [{
    "name": "idle-culler",
    "command": [sys.executable, "-m", "jupyterhub_idle_culler",
                f"--timeout={int(os.environ.get('CRYSTAL_HUB_CULL', '3600'))}", "--cull-every=60"],
}]
c.JupyterHub.load_roles = [{
    "name": "idle-culler",
    "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
    "services": ["idle-culler"],
}]

# ---- an API token for scripts (the class benchmark, the hub test) ----
if os.environ.get("CRYSTAL_HUB_API_TOKEN"):
    c.JupyterHub.services.append({"name": "class-admin", "api_token": os.environ["CRYSTAL_HUB_API_TOKEN"]})
    c.JupyterHub.load_roles.append({
        "name": "class-admin",
        "scopes": ["admin:users", "admin:servers", "access:servers", "list:users", "read:users"],
        "services": ["class-admin"],
    })
