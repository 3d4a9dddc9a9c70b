"""Worker processes that cannot hang: :func:`map_in_processes` (the benchmark's scoring, chapter 10).

``multiprocessing.Pool``, as the benchmark first used it, hung for good at the end of scoring and printed
``Process ForkPoolWorker-N ... Terminated`` tracebacks: forked workers run the parent's Python signal
handlers (the command line's SIGTERM handler raised inside them when the pool shut down), and a worker
that dies (SIGKILL from the out-of-memory killer) leaves ``Pool.map`` waiting forever. This small pool
keeps five promises, each tested in ``tests/test_parallel.py``:

1. workers never run the parent's handlers: SIGINT is ignored (Ctrl-C reaches the whole process group;
   the parent alone handles it) and SIGTERM takes its default action (the worker ends at once, silently).
   Both signals are blocked from before the fork until the worker has reset its handlers, so none
   slips in between;
2. a worker that dies before its work is done ends the map with :class:`WorkerDied`, naming the worker,
   its pid and the signal;
3. workers end when their parent dies, even by SIGKILL (Linux ``PR_SET_PDEATHSIG``, and a check of
   ``os.getppid()`` every ``PARENT_CHECK_SECONDS`` while idle);
4. however the map ends (results, an exception, Ctrl-C), every worker is stopped and joined in a
   ``finally``, with SIGINT and SIGTERM held back meanwhile, so a second Ctrl-C cannot cut the clean-up
   short (it is raised once the workers are gone);
5. results come back in input order, so the same jobs give the same results whatever the timing.

    rows = map_in_processes(score_row, jobs, processes=2, chunksize=4)
"""
from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading
from multiprocessing.connection import wait

from .checks import check_int

__all__ = ["WorkerDied", "available_cores", "map_in_processes"]

PARENT_CHECK_SECONDS = 1.0   # an idle worker checks this often that its parent still lives
STOP_SECONDS = 5.0           # a worker told to stop (or terminated) gets this long before SIGKILL
_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM") if hasattr(signal, name))
_PR_SET_PDEATHSIG = 1        # prctl(2) option: the signal this process gets when its parent thread dies


class WorkerDied(RuntimeError):
    """A worker process ended before its work was done (for example killed by the out-of-memory killer)."""


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the platform has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


@contextlib.contextmanager
def _signals_held():
    """Hold SIGINT and SIGTERM back for the block, then handle one that came meanwhile.

    Blocked in this thread (a process forked inside the block starts with them blocked), and in the
    main thread the Python handlers are swapped for one that only notes the signal (a signal can be
    delivered to another thread, e.g. a BLAS thread, while Python runs handlers in the main thread).
    On leaving, the handlers and the mask are restored and a noted signal is raised again.
    """
    noted = []
    saved = {}
    if threading.current_thread() is threading.main_thread():
        for signum in _SIGNALS:
            saved[signum] = signal.signal(signum, lambda s, frame: noted.append(s))
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS) if hasattr(signal, "pthread_sigmask") else None
    try:
        yield
    finally:
        if mask is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)   # a blocked signal arrives now, and is noted
        for signum, handler in saved.items():
            signal.signal(signum, handler)
        if noted:
            signal.raise_signal(noted[0])                      # handled as if it came now


def _die_with_parent(parent: int) -> None:
    """Ask Linux to SIGKILL this process when its parent dies; exit now if it already has."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # no libc prctl: the getppid check below still ends us
            pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(0)


def _worker(func, conn, parent: int) -> None:
    """A worker's life: reset the inherited signal handlers, then score chunks until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):  # the parent held SIGINT/SIGTERM around the fork
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
    _die_with_parent(parent)
    while True:  # loop over chunks of jobs
        if not conn.poll(PARENT_CHECK_SECONDS):
            if os.getppid() != parent:
                return
            continue
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        index, chunk = task
        try:
            reply = (index, True, [func(job) for job in chunk])
        except Exception as exc:  # noqa: BLE001 -- any error of func is sent back and raised in the parent
            reply = (index, False, exc)
        try:
            conn.send(reply)
        except Exception as exc:  # noqa: BLE001 -- an exception or result that cannot be pickled
            conn.send((index, False, RuntimeError(f"a worker's reply cannot be sent back: {exc!r}")))


def _describe(process) -> str:
    process.join(STOP_SECONDS)  # its sentinel fires as it closes its files, a moment before it can be reaped
    code = process.exitcode
    if code is not None and code < 0:
        try:
            how = f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            how = f"was killed by signal {-code}"
    elif code is None:
        how = "closed its pipe"
    else:
        how = f"exited with status {code}"
    return f"{process.name} (pid {process.pid}) {how} before its work was done"


def _send(conn, process, message) -> None:
    try:
        conn.send(message)
    except OSError:                          # the worker's end is gone: it died
        raise WorkerDied(_describe(process)) from None


def _stop(workers, clean: bool) -> None:
    """Stop every worker and join it: politely after a clean map, at once (SIGTERM) otherwise."""
    for process, conn in workers:
        if clean and process.is_alive():
            try:
                conn.send(None)
            except OSError:
                pass
        elif process.is_alive():
            process.terminate()
    for process, conn in workers:
        process.join(STOP_SECONDS)
        if process.is_alive():
            process.kill()
            process.join()
        conn.close()


def map_in_processes(func, jobs, processes: int, chunksize: int = 1, name: str = "worker") -> list:
    """``[func(job) for job in jobs]``, computed in ``processes`` worker processes, in input order.

    ``func`` must be a module-level function (it is pickled where processes are spawned rather than
    forked); ``jobs`` are sent in chunks of ``chunksize``. An exception raised by ``func`` is raised
    here (the other workers are stopped first). A worker that dies raises :class:`WorkerDied` naming
    it (``name`` plus a number, its pid and the signal). See the module docstring for the signals.
    """
    processes, chunksize = check_int("processes", processes, 1, 1024), check_int("chunksize", chunksize, 1)
    jobs = list(jobs)
    chunks = [jobs[i:i + chunksize] for i in range(0, len(jobs), chunksize)]
    results = [None] * len(chunks)
    if not chunks:
        return []
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    workers, clean = [], False
    try:
        with _signals_held():                # until every worker has reset its handlers (promise 1)
            for w in range(min(processes, len(chunks))):
                mine, theirs = context.Pipe()
                process = context.Process(target=_worker, args=(func, theirs, os.getpid()),
                                          name=f"{name} {w + 1}", daemon=True)
                process.start()
                theirs.close()
                workers.append((process, mine))
        todo = iter(range(len(chunks)))
        busy = {}                            # pipe -> its worker process, while it holds a chunk
        for process, conn in workers:
            i = next(todo)
            _send(conn, process, (i, chunks[i]))
            busy[conn] = process
        by_sentinel = {process.sentinel: process for process, _ in workers}
        left = len(chunks)
        while left:
            for ready in wait(list(busy) + list(by_sentinel)):
                if ready in by_sentinel:     # a worker ended: it was never told to stop (promise 2)
                    raise WorkerDied(_describe(by_sentinel[ready]))
                try:
                    i, ok, value = ready.recv()
                except (EOFError, OSError):
                    raise WorkerDied(_describe(busy[ready])) from None
                if not ok:
                    raise value
                results[i], left = value, left - 1
                nxt = next(todo, None)
                if nxt is None:
                    del busy[ready]
                else:
                    _send(ready, busy[ready], (nxt, chunks[nxt]))
        clean = True
    finally:
        with _signals_held():                # promise 4: a second Ctrl-C waits until the workers are gone
            _stop(workers, clean)
    return [row for chunk in results for row in chunk]
