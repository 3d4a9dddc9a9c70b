"""The trial JupyterHub (teaching/jupyterhub/jupyterhub_config.py) serves the notebooks to a room.

The hub test is slow (CI runs it with ``-m slow``): it starts the hub with its proxy, two users' servers
and their kernels, runs one notebook in each user's own server at the same time, and checks by PID that
stopping the hub leaves no process behind. Needs jupyterhub (the ``hub`` extra) and ``configurable-http-proxy`` (npm).
"""
import os
import shutil
import socket
import threading

import pytest

from crystal_tutorial.course.hub import CONFIG, TrialHub


def free_port_block(size=3) -> int:
    """A port p such that p .. p + size - 1 are free on 127.0.0.1 now."""
    for start in range(18800, 19800, 10):
        sockets = []
        try:
            for p in range(start, start + size):
                s = socket.socket()
                s.bind(("127.0.0.1", p))
                sockets.append(s)
            return start
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no free block of ports in 18800..19800")


@pytest.fixture
def needs_hub():
    pytest.importorskip("jupyterhub")
    if shutil.which("configurable-http-proxy") is None:
        if os.environ.get("CI"):
            pytest.fail("configurable-http-proxy is missing: .ci/run installs it with npm")
        pytest.skip("configurable-http-proxy is not installed (npm install -g configurable-http-proxy)")


def test_config_is_the_documented_trial_setup():
    text = CONFIG.read_text(encoding="utf-8")
    for needed in ('"shared-password"', '"simple"', "jupyterhub_idle_culler", "pull_notebooks",
                   "--KernelManager.transport=ipc", "JUPYTER_RUNTIME_DIR", 'c.JupyterHub.ip = "127.0.0.1"'):
        assert needed in text, needed


@pytest.mark.slow
def test_two_students_run_a_notebook_each_through_the_hub(tmp_path, needs_hub):
    hub = TrialHub(port=free_port_block(), state=tmp_path / "hub")
    hub.start()
    try:
        users = ["ada", "bob"]
        for user in users:
            hub.create_user(user)
        for user in users:
            hub.start_server(user)
        for user in users:   # the pre-spawn hook pulled the notebooks into every home
            assert (tmp_path / "hub" / "home" / user / "notebooks" / "02_forward_diffusion.ipynb").is_file()
        runs = {}
        threads = [threading.Thread(target=lambda u=u: runs.__setitem__(
            u, hub.run_notebook(u, "notebooks/02_forward_diffusion.ipynb"))) for u in users]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for user in users:
            assert runs[user].errors == [] and runs[user].cells > 10, (user, runs[user])
        memory = hub.user_memory()
        assert set(memory) == set(users) and all(m > 20e6 for m in memory.values())
        seen = set(hub.pids)
    finally:
        left = hub.stop()
    assert left == [], f"processes left after the hub stopped: {left}"
    assert len(seen) >= 5   # hub, proxy, culler, two servers (and the kernels while they ran)
    assert hub.process.returncode is not None


def test_class_configs_agree_on_the_measured_sizes():
    """config.yaml (Zero to JupyterHub) and tljh.md use the same per-student numbers as the guide derives."""
    yaml = pytest.importorskip("yaml")
    folder = CONFIG.parent
    values = yaml.safe_load((folder / "config.yaml").read_text(encoding="utf-8"))
    single = values["singleuser"]
    assert single["memory"] == {"guarantee": "600M", "limit": "1.2G"}
    assert single["cpu"] == {"guarantee": 0.12, "limit": 2}
    assert values["cull"]["enabled"] is True and values["cull"]["timeout"] == 3600
    tljh = (folder / "tljh.md").read_text(encoding="utf-8")
    assert "limits.memory 1.2G" in tljh and "limits.cpu 2" in tljh and "services.cull.timeout 3600" in tljh
    guide = (folder.parents[0] / "instructor-guide.md").read_text(encoding="utf-8")
    assert "guarantee of 0.6 GB and 0.12 cores" in " ".join(guide.split())
