"""Peak memory of ``generate`` against ``runs.memory_estimate`` (issue 27.12): is the 1 GiB promise kept?

Each size runs ``python -m crystal_tutorial generate --weights pretrained ...`` in a fresh process and
reads the process's peak resident memory (``ru_maxrss`` from ``os.wait4``): interpreter, imports,
sampling, the CIFs and the report, everything a user's job costs. The table prints measured and
estimated MiB and their ratio; the estimate must stay above every measurement (ratio > 1).

``--levels K`` (default 5) shortens the samplers to K noise levels with one corrector move each.
Memory does not depend on the number of levels (each level runs the same batched forward pass on
the same arrays; nothing is recorded), only time does: the full 200-level sampler takes minutes
for 64 atoms on a busy machine. ``--levels 0`` runs the real samplers.

    python benchmarks/bench_memory.py                       # the default grid
    python benchmarks/bench_memory.py --sizes pairwise:64:5 pairwise:8:2000 --levels 0
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GRID = ["pairwise:1:1", "pairwise:16:50", "pairwise:32:5", "pairwise:32:100", "pairwise:64:5", "pairwise:64:40",
        "pairwise:8:1000", "pairwise:4:3000", "mlp:64:200", "mlp:8:2000", "joint:12:50", "joint:4:500"]

# Runs in the child: shorten the samplers (memory per level is unchanged), then the real command line.
DRIVER = """
import functools, sys
levels = int(sys.argv[1])
if levels:
    import crystal_tutorial.torus as torus, crystal_tutorial.joint_sampling as js
    torus.sample_torus = functools.partial(torus.sample_torus, n_steps=levels, corrector_steps=1)
    js.sample_joint = functools.partial(js.sample_joint, corrector_steps=0)   # its T is the model's own
import atexit
def _peak():   # VmHWM of this process's own memory map: rusage's maxrss would include the forking parent's
    with open("/proc/self/status") as f:
        kib = next(line.split()[1] for line in f if line.startswith("VmHWM:"))
    sys.stderr.write(f"\\nPEAK_KIB={kib}\\n")
atexit.register(_peak)
from crystal_tutorial.__main__ import main
sys.exit(main(sys.argv[2:]))
"""


def peak_mib(model: str, n_atoms: int, n_samples: int, levels: int) -> tuple[float, int]:
    """Peak RSS (MiB) of one ``generate`` process and its exit status."""
    with tempfile.TemporaryDirectory() as tmp:
        argv = ["generate", "--model", model, "--n-atoms", str(n_atoms), "--n-samples", str(n_samples),
                "--seed", "0", "--out", str(Path(tmp) / "run")]
        argv += ["--train-steps", "20"] if model == "mlp" else ["--weights", "pretrained"]
        env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
        proc = subprocess.Popen([sys.executable, "-c", DRIVER, str(levels), *argv], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        err = proc.stderr.read().decode()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            print(f"  {model} {n_atoms}x{n_samples}: exit {proc.returncode}: {err.strip()[-300:]}", file=sys.stderr)
        # The child reports its own VmHWM: ru_maxrss also counts the parent's memory copied by fork before
        # exec (a pytest worker of 500 MiB made a 150 MiB job look like 442 MiB); it is the fallback only.
        peak = [int(k) for k in re.findall(r"^PEAK_KIB=(\d+)$", err, re.M)]
        return (peak[-1] if peak else usage.ru_maxrss) / 1024, proc.returncode


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=GRID, metavar="MODEL:ATOMS:SAMPLES")
    parser.add_argument("--levels", type=int, default=5, help="sampler noise levels (0: the real samplers)")
    parser.add_argument("--json", default=None, help="also write the rows to this file")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from crystal_tutorial.cli.runs import MEMORY_LIMIT, memory_estimate

    print(f"{'model':>9} {'atoms':>5} {'samples':>7} {'measured MiB':>12} {'estimate MiB':>12} {'ratio':>6}")
    rows, worst = [], float("inf")
    for size in args.sizes:
        model, n_atoms, n_samples = size.split(":")
        n_atoms, n_samples = int(n_atoms), int(n_samples)
        estimate = memory_estimate(model, n_atoms, n_samples) / 2**20
        measured, status = peak_mib(model, n_atoms, n_samples, args.levels)
        if status != 0:
            continue
        ratio = estimate / measured
        worst = min(worst, ratio)
        rows.append(dict(model=model, n_atoms=n_atoms, n_samples=n_samples, measured_mib=round(measured, 1),
                         estimate_mib=round(estimate, 1), ratio=round(ratio, 2)))
        print(f"{model:>9} {n_atoms:>5} {n_samples:>7} {measured:>12.1f} {estimate:>12.1f} {ratio:>6.2f}", flush=True)
    print(f"smallest estimate / measured: {worst:.2f} (must be > 1: an accepted job, estimate <= "
          f"{MEMORY_LIMIT / 2**30:g} GiB, then peaks below {MEMORY_LIMIT / 2**20 / worst:.0f} MiB)")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    return 0 if worst > 1 else 1


if __name__ == "__main__":
    sys.exit(main())
