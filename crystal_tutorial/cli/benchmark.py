"""``python -m crystal_tutorial benchmark``: score the CSP model and the baselines, write a run folder.

The scoring itself (match rate, RMSE, baselines, the whole table) is ``crystal_tutorial.benchmark``;
this module turns it into a command: arguments, the run folder, ``results.json`` and the CIF files.
"""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

from ..benchmark import MATCHER_SETTINGS, SAMPLERS, published_rows, run_table
from ..cif import write_cif
from ..cli.generate import _int_in
from ..cli.runs import RunFolder, UsageError
from ..csp import load_csp
from ..datasets import benchmark_ids
from ..files import atomic_path, atomic_write_text


def add_benchmark_arguments(parser):
    parser.add_argument("--dataset", choices=("perov_5", "carbon_24"), default="perov_5")
    parser.add_argument("--n-test", type=_int_in(1, 10_000), default=100, help="first N test structures (default 100)")
    parser.add_argument("--k", type=_int_in(1, 100), default=1, help="predictions per structure (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--weights", default="pretrained", help="a csp.save_csp file, or 'pretrained' (default)")
    parser.add_argument("--processes", type=_int_in(1, 64), default=2, help="matching processes (default 2)")
    parser.add_argument("--out", required=True, help="output folder (new, empty, or a finished run with --overwrite)")
    parser.add_argument("--overwrite", action="store_true", help="replace a finished run in --out as a whole")
    return parser


def run_benchmark(args, log=print) -> int:
    """``benchmark``: write OUT/results.json and every prediction as CIF; returns 0.

    OUT/predictions/<material_id>_<j>.cif are the model's (generated cell) predictions, j = 0..k-1;
    OUT/baselines/<method>/<material_id>_<j>.cif the other rows'. results.json holds every number of the
    table (match rate, RMSE, validity per method, plus the papers' figures); wall times sit under
    "timings", so the same seed writes the same bytes everywhere else. The run is built in a temporary
    folder and moved onto OUT when complete (``runs.RunFolder``: OUT must be new, empty, or a finished run
    with ``--overwrite``), so two runs never mix.
    """
    run = RunFolder(args.out, "benchmark", overwrite=getattr(args, "overwrite", False))
    weights = args.dataset if args.weights in (None, "pretrained") else Path(args.weights)
    try:
        model, meta = load_csp(weights)
    except (FileNotFoundError, ValueError) as exc:
        raise UsageError(f"--weights: {exc}") from None
    start = time.perf_counter()
    with run:
        table = run_table(args.dataset, args.n_test, args.k, args.seed, model, args.processes)
        ids = benchmark_ids(args.dataset, "test")[:args.n_test]
        for name, preds in table["predictions"].items():      # loop over methods, structures, samples
            folder = run.tmp / "predictions" if name == "CSP model, generated cell" else \
                run.tmp / "baselines" / re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
            folder.mkdir(parents=True, exist_ok=True)
            for mid, row in zip(ids, preds):
                for j, crystal in enumerate(row):
                    with atomic_path(folder / f"{mid}_{j}.cif") as tmp:
                        write_cif(crystal, tmp)
        results = {"dataset": args.dataset, "split": "test", "trained_on": "the train part of val (val_split; DATA.md)",
                   "n_test": args.n_test, "k": args.k, "seed": args.seed, "weights": str(args.weights),
                   "training": meta.get("extra", {}), "matcher": dict(MATCHER_SETTINGS), "sampler": SAMPLERS[args.dataset],
                   "results": table["results"], "published": published_rows(args.dataset),
                   "timings": {"seconds": table["seconds"], "total": round(time.perf_counter() - start, 2)}}
        atomic_write_text(run.tmp / "results.json", json.dumps(results, indent=2) + "\n")
    head = table["results"]["CSP model, generated cell"]
    log(f"wrote results.json and {args.n_test * args.k} predictions per method to {run.out}/: CSP model "
        f"{head['match_rate']}% match, RMSE {head['rmse']}")
    return 0
