"""Class benchmark: N students at once on the trial JupyterHub, each running the first notebooks and an
nbgrader autograde through their own server.

    nice -n 10 python benchmarks/bench_class.py --students 1 2 4 8
    python benchmarks/bench_class.py --students 2 --notebooks 02 --autograde none   # a quick look

For each N: a fresh trial hub (teaching/jupyterhub/jupyterhub_config.py, state in a temporary folder, an
API token of its own), N users created through the hub's REST API, their servers started all at once.
Then every user, in a thread of its own, runs the notebooks one after another, each in a new kernel of
its own server (the Jupyter server's REST and websocket API, as JupyterLab does), and finally, in one more
kernel, the nbgrader autograde of one assignment (the kernel writes a course, releases the assignment,
submits the answer key and runs nbgrader's autograde, which must give full points). A sampler reads
every user's resident memory (server + kernels + what they start) twice a second. The hub, its proxy,
the servers and the kernels are checked gone by PID at the end.

Printed per N: hub start, server start (median and slowest), wall time of all notebooks per user (median
and slowest), the autograde's time, the CPU seconds each student's processes used (user + system, each
process read twice a second until it ends: the last half second of a kernel is missed), the cores the
class kept busy on average (all students' CPU seconds over the wall time from the servers' start to the
last student's end), peak resident memory of one user (largest) and of all users together, the machine's
load average when the run started, and failures (servers that did not start, cells that raised, an
autograde without full points, processes left behind). Memory is RSS, summed over a user's processes: an
upper bound for a container's memory use (shared libraries count once per process).

CPU seconds per student do not depend much on how busy the machine is; wall times do. So the cores a
class needs follow from the CPU seconds: cores = students x CPU seconds per student / the seconds in
which the class should get through the same work (instructor guide, "How big a hub").
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from crystal_tutorial.course.hub import TrialHub

REPO = Path(__file__).resolve().parents[1]

AUTOGRADE_CELL = """\
import shutil
from pathlib import Path
from crystal_tutorial.course import grading
root = Path("bench-course")
shutil.rmtree(root, ignore_errors=True)
grading.write_course(root, notebooks=".")
grading.release(root, {assignment!r})
grading.submit(root, {assignment!r}, "student", answers="key")
scores = grading.autograde(root, {assignment!r}, "student")
assert all(score == points for score, points in scores.values()), scores
print("autograde", scores)
"""


def notebook_paths(numbers) -> list[str]:
    paths = []
    for number in numbers:
        found = sorted((REPO / "notebooks").glob(f"{number}_*.ipynb"))
        if len(found) != 1:
            raise SystemExit(f"--notebooks: no single notebook numbered {number!r} in notebooks/")
        paths.append(f"notebooks/{found[0].name}")
    return paths


def run_class(n: int, notebooks: list[str], assignment: str | None, port: int) -> dict:
    """One class of ``n`` students; returns the measurements of one table row."""
    row = {"n": n, "load": os.getloadavg()[0], "failures": []}
    with tempfile.TemporaryDirectory(prefix="bench-class-") as state:
        hub = TrialHub(port=port, state=state)
        try:
            row["hub_start"] = hub.start()
            users = [f"student{k + 1}" for k in range(n)]
            for user in users:
                hub.create_user(user)
            peak: dict[str, int] = {}
            peak_total = [0]
            cpu: dict[int, tuple[str, float]] = {}   # pid -> (user, CPU seconds at its last sample)
            stop = threading.Event()

            def sample():
                while not stop.is_set():
                    usage = hub.usage()
                    for user, procs in usage.items():
                        peak[user] = max(peak.get(user, 0), sum(rss for rss, _ in procs.values()))
                        cpu.update({pid: (user, seconds) for pid, (_, seconds) in procs.items()})
                    total = sum(rss for procs in usage.values() for rss, _ in procs.values())
                    peak_total[0] = max(peak_total[0], total)
                    stop.wait(0.5)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            starts, walls, grades = {}, {}, {}

            def start(user):
                try:
                    starts[user] = hub.start_server(user)
                except Exception as exc:   # a failed start is a measured failure, not a crash of the benchmark
                    row["failures"].append(f"{user}: server did not start ({exc})")

            def work(user):
                t0 = time.perf_counter()
                for path in notebooks:
                    result = hub.run_notebook(user, path)
                    if result.errors:
                        row["failures"].append(f"{user} {path} cell {result.cells}: {result.errors[0]}")
                walls[user] = time.perf_counter() - t0
                if assignment:
                    t0 = time.perf_counter()
                    source = AUTOGRADE_CELL.format(assignment=assignment)
                    result = hub.run_notebook(user, notebooks[0], code=[source])
                    if result.errors:
                        row["failures"].append(f"{user} autograde: {result.errors[0]}")
                    grades[user] = time.perf_counter() - t0

            t_work = time.perf_counter()
            for step in (start, work):
                threads = [threading.Thread(target=step, args=(u,)) for u in users]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                if step is start:
                    users = [u for u in users if u in starts]
            stop.set()
            sampler.join()
            cpu_user: dict[str, float] = {}
            for user, seconds in cpu.values():
                cpu_user[user] = cpu_user.get(user, 0.0) + seconds
            row.update(starts=list(starts.values()), walls=list(walls.values()), grades=list(grades.values()),
                       peak_user=max(peak.values(), default=0), peak_total=peak_total[0],
                       cpu=list(cpu_user.values()), wall=time.perf_counter() - t_work)
        finally:
            left = hub.stop()
            if left:
                row["failures"].append(f"{len(left)} processes left after the hub stopped: {left}")
            row["pids"] = len(hub.pids)
    return row


def _mid_max(values) -> str:
    return f"{statistics.median(values):.0f} / {max(values):.0f}" if values else "-"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--notebooks", nargs="+", default=["01", "02", "03", "04"], help="notebook numbers")
    parser.add_argument("--autograde", default="02",
                        help="number of the notebook whose assignment each student autogrades, or 'none'")
    parser.add_argument("--port", type=int, default=18700, help="the hub's public port (uses port..port+2)")
    args = parser.parse_args(argv)
    if any(n < 1 or n > 64 for n in args.students):
        parser.error(f"--students must be between 1 and 64, got {args.students}")
    notebooks = notebook_paths(args.notebooks)
    assignment = None if args.autograde == "none" else Path(notebook_paths([args.autograde])[0]).stem
    print(f"{os.cpu_count()} cores; notebooks {', '.join(Path(p).stem[:2] for p in notebooks)} per student, "
          f"then the autograde of {assignment or 'nothing'}; Python {sys.version.split()[0]}")
    header = ("| students | load at start | hub start s | server start s (median / max) | notebooks s per student "
              "(median / max) | autograde s (median / max) | CPU s per student (median / max) | cores busy "
              "| peak MB per student (max) | peak MB all | failures |")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for n in args.students:
        row = run_class(n, notebooks, assignment, args.port)
        print(f"| {n} | {row['load']:.1f} | {row.get('hub_start', float('nan')):.0f} | {_mid_max(row.get('starts'))} | "
              f"{_mid_max(row.get('walls'))} | {_mid_max(row.get('grades'))} | {_mid_max(row.get('cpu'))} | "
              f"{sum(row.get('cpu', [])) / row['wall'] if row.get('wall') else float('nan'):.2f} | "
              f"{row.get('peak_user', 0) / 2**20:.0f} | "
              f"{row.get('peak_total', 0) / 2**20:.0f} | {len(row['failures'])} |", flush=True)
        for failure in row["failures"]:
            print(f"    failure: {failure}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
