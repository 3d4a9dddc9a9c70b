"""parallel.map_in_processes: in order, no inherited handlers, a dead worker named, no worker left behind."""
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from crystal_tutorial.parallel import WorkerDied, available_cores, map_in_processes

psutil = pytest.importorskip("psutil")
ROOT = Path(__file__).resolve().parents[1]
posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")


def _square(x):
    return x * x


def _handlers(_):
    return signal.getsignal(signal.SIGINT) is signal.SIG_IGN, signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def _fail_on_7(x):
    if x == 7:
        raise ValueError("job 7 is bad")
    return x


def _die_on_5(job):
    x, signum = job
    if x == 5:
        os.kill(os.getpid(), signum)
        time.sleep(10)
    return x


def _children():
    return psutil.Process().children(recursive=True)


def test_results_in_input_order():
    assert map_in_processes(_square, range(50), processes=2, chunksize=3) == [x * x for x in range(50)]
    assert map_in_processes(_square, [], processes=2) == []
    assert not _children()


@pytest.mark.parametrize("bad, error", [(0, ValueError), (-1, ValueError), (1.5, ValueError), (True, TypeError),
                                        ("2", TypeError)])
def test_bad_process_counts_are_refused(bad, error):
    """A wrong value is a ValueError, a wrong type (a flag, a string) a TypeError, as every check of ``checks``."""
    with pytest.raises(error, match="processes"):
        map_in_processes(_square, range(3), processes=bad)


@posix_only
def test_workers_do_not_run_the_parents_handlers():
    class Terminated(KeyboardInterrupt):
        pass

    def terminate(signum, frame):
        raise Terminated

    sigint = signal.getsignal(signal.SIGINT)   # SIG_IGN when pytest itself runs in the background (nohup, &)
    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        assert map_in_processes(_handlers, range(4), processes=2) == [(True, True)] * 4
        assert signal.getsignal(signal.SIGTERM) is terminate   # the parent's own are untouched
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert signal.getsignal(signal.SIGINT) is sigint


def test_an_exception_in_a_worker_is_raised_here_and_every_worker_stops():
    with pytest.raises(ValueError, match="job 7 is bad"):
        map_in_processes(_fail_on_7, range(20), processes=2)
    assert not _children()


@posix_only
@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_a_dead_worker_ends_the_map_naming_it(signum):
    start = time.perf_counter()
    with pytest.raises(WorkerDied, match=rf"scorer \d \(pid \d+\) was killed by {signum.name}"):
        map_in_processes(_die_on_5, [(x, signum) for x in range(20)], processes=2, name="scorer")
    assert time.perf_counter() - start < 10 and not _children()


def test_available_cores_is_positive():
    assert 1 <= available_cores() <= (os.cpu_count() or 1)


SLOW = textwrap.dedent("""
    import signal, sys, time
    from crystal_tutorial.parallel import map_in_processes

    def slow(x):
        time.sleep(60)

    if __name__ == "__main__":
        signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored
        try:
            map_in_processes(slow, range(4), processes=2)
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            sys.exit(130)
""")


def _start_slow(tmp_path):
    script = tmp_path / "slow.py"
    script.write_text(SLOW)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, str(script)], stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    parent = psutil.Process(proc.pid)
    for _ in range(300):  # until both workers exist, at most 30 s
        workers = parent.children()
        if len(workers) == 2:
            return proc, workers
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("the workers did not start")


def _gone(workers, seconds=10):
    _, alive = psutil.wait_procs(workers, timeout=seconds)
    return not alive


@posix_only
def test_ctrl_c_to_the_process_group_stops_everything_without_a_traceback(tmp_path):
    proc, workers = _start_slow(tmp_path)
    time.sleep(0.5)                                 # the workers are inside slow()
    os.killpg(proc.pid, signal.SIGINT)              # as a terminal's Ctrl-C: parent and workers
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and err.strip() == "interrupted", err
    assert _gone(workers)


@posix_only
def test_workers_end_when_their_parent_is_killed(tmp_path):
    proc, workers = _start_slow(tmp_path)
    proc.kill()                                     # SIGKILL: no finally runs in the parent
    proc.communicate(timeout=30)
    assert _gone(workers), [w.pid for w in workers]
