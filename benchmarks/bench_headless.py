"""Head-less execution: every notebook run N times with nbclient; counts cells that stalled.

A cell "stalls" when nbclient receives its results more than 2 s after the kernel went idle (the
kernel's own timestamps): the lost zmq wake-up described in crystal_tutorial/course/site.py. With the
stock client such a cell waits for the whole cell timeout; with ReliableKernelClient (the default
here, and what `python -m crystal_tutorial site` uses) it must never happen. Prints per-notebook
wall time, kernel memory (RSS after the run, peak RSS) and the stalls; exits 1 on any stall or
cell timeout. CI runs it (.ci/browser.sh); it is not part of the quick test command.

    python benchmarks/bench_headless.py [--runs 3] [--stock] [--timeout 120] [--json FILE] [--markdown FILE]
                                        [--probe-widgets] [--stress CELLS] [notebooks ...]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from crystal_tutorial.course.site import execute_notebook  # noqa: E402
from crystal_tutorial.files import atomic_write_text  # noqa: E402


def write_stress_notebook(path: Path, n_cells: int = 40) -> Path:
    """A notebook of ``n_cells`` widget cells (play slider + panel + plotly figure), the pattern that
    stalled: stock nbclient waits the full cell timeout in some of them on every run (measured:
    19 of 240 cells in 6 of 6 runs, timeout 10 s, 2 loaded cores); ReliableKernelClient in none."""
    import nbformat
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells.append(nbformat.v4.new_code_cell(
        "import ipywidgets as W, numpy as np, plotly.graph_objects as go\n"
        "from IPython.display import display\nfrom crystal_tutorial.viz.widgets import panel, play_slider"))
    for i in range(n_cells):
        nb.cells.append(nbformat.v4.new_code_cell(
            "s, row = play_slider(20, value=5, description='t')\n"
            "p = panel(lambda t, a: go.Figure(go.Scatter(x=np.arange(50), y=np.sin(np.arange(50) * a / 10 + t))), "
            f"{{'t': s, 'a': W.FloatSlider(value={i % 7 + 1}, min=0, max=10)}})\ndisplay(row, p)\nprint({i})"))
    atomic_write_text(path, nbformat.writes(nb) + "\n")
    return path


def markdown_tables(reports: list[dict]) -> str:
    """The instructor guide's tables: per notebook run time, long cells, kernel memory, panel CPU; per section times."""
    ok = [r for r in reports if "error" not in r]
    lines = [
        "| notebook | run (s) | cells over 3 s (section: s) | kernel RSS after run (MB) | kernel CPU per panel redraw |",  # noqa: E501
        "|---|---|---|---|---|",
    ]
    for r in ok:
        slow: dict[str, list] = {}
        for c in r["cells"]:
            if c["seconds"] > 3:
                slow.setdefault(c["section"], []).append(c["seconds"])
        long = "; ".join(f"{name[:48]}: {len(t)} cell{'s' * (len(t) > 1)}, {sum(t):.0f} s" for name, t in slow.items())
        panels = "; ".join(f"`{n}` ({p['kind']}) {p['cpu_s']:.2f} s" for n, p in r.get("panels", {}).items())
        lines.append(
            f"| {r['notebook'][:2]} | {r['seconds']:.0f} | {long or '-'} | {r.get('rss_mb', float('nan')):.0f} | {panels or '-'} |"  # noqa: E501
        )
    lines += ["", "| notebook | seconds per section (wall time of its cells) |", "|---|---|"]
    for r in ok:
        secs = " · ".join(f"{name} **{s:.1f}**" for name, s in r["sections"])
        lines.append(f"| {r['notebook'][:2]} | {secs} |")
    failed = [r for r in reports if "error" in r]
    if failed:
        lines += [""] + [f"- {r['notebook']}: did not finish ({r['error'][:120]})" for r in failed]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", help="notebooks (default: notebooks/NN_*.ipynb)")
    parser.add_argument("--runs", type=int, default=3, help="runs per notebook (default 3)")
    parser.add_argument("--stock", action="store_true", help="nbclient's stock client (reproduces the stall)")
    parser.add_argument("--timeout", type=int, default=120, help="cell timeout in seconds (default 120)")
    parser.add_argument("--json", default=None, help="also write every report to this JSON file")
    parser.add_argument(
        "--stress",
        type=int,
        default=0,
        metavar="CELLS",
        help="also run a generated notebook of CELLS widget cells (the stall's pattern)",
    )
    parser.add_argument("--markdown", default=None, help="also write the guide's tables (markdown) to this file")
    parser.add_argument(
        "--probe-widgets",
        action="store_true",
        help="after each run, redraw every named panel once and print its kernel CPU time",
    )
    args = parser.parse_args(argv)
    paths = [Path(p) for p in args.notebooks] or sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if args.stress:
        import tempfile

        paths.append(write_stress_notebook(Path(tempfile.mkdtemp(prefix="stress-")) / "stress.ipynb", args.stress))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"client: {'stock nbclient' if args.stock else 'ReliableKernelClient'}; {args.runs} runs each; "
        f"{os.cpu_count()} cores, load average {load:.1f} at the start (timings are noisy on a shared machine)"
    )
    reports, bad = [], 0
    t0 = time.perf_counter()
    for path in paths:
        for run in range(args.runs):
            try:
                _, report = execute_notebook(
                    path, timeout=args.timeout, reliable=not args.stock, probe_widgets=args.probe_widgets
                )
            except Exception as exc:  # a cell timeout or error: count it and go on
                where = f" (cell {exc.cell_index})" if hasattr(exc, "cell_index") else ""
                report = {
                    "notebook": path.name,
                    "error": f"{type(exc).__name__}{where}: "
                    f"{[l for l in str(exc).splitlines() if l.strip()][-1][:200] if str(exc).strip() else ''}",
                    "stalls": [],
                    "seconds": float("nan"),
                }
            report["run"] = run
            reports.append(report)
            stalled = {
                c["index"]: round(c["seconds"] - c["kernel_seconds"], 1)
                for c in report.get("cells", [])
                if c["index"] in report["stalls"]
            }
            bad += bool(report["stalls"]) or "error" in report
            print(
                f"{path.name:45s} run {run}: {report['seconds']:6.1f} s, kernel RSS "
                f"{report.get('rss_mb', float('nan')):5.0f} MB (peak {report.get('peak_rss_mb', float('nan')):4.0f}), "
                f"stalled cells {stalled or '-'}{'  ' + report['error'] if 'error' in report else ''}",
                flush=True,
            )
            for name, p in report.get("panels", {}).items():
                print(f"    panel {name} ({p['kind']}): {p['cpu_s']:.2f} s kernel CPU, {p['wall_s']:.2f} s wall")
    n_stalled_cells = sum(len(r["stalls"]) for r in reports)
    print(
        f"{len(reports)} runs in {time.perf_counter() - t0:.0f} s: {bad} runs with a stall or error, "
        f"{n_stalled_cells} stalled cells"
    )
    if args.json:
        atomic_write_text(args.json, json.dumps(reports, indent=1))
    if args.markdown:
        atomic_write_text(args.markdown, markdown_tables(reports) + "\n")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
