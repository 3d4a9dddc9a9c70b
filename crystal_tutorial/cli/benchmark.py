"""``python -m crystal_tutorial benchmark``: score the CSP model and the baselines, write a run folder.

The scoring itself (match rate, RMSE, baselines, the whole table) is ``crystal_tutorial.benchmark``;
this module turns it into a command: arguments, the run folder, ``results.json``, ``predictions.csv`` and the
CIF files.
"""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np

from ..benchmark import MATCHER_SETTINGS, SAMPLERS, published_rows, records_csv, run_table, scores_from_csv, summarize
from ..checks import SEED_MAX
from ..cif import write_cif
from ..cli.generate import _int_in
from ..cli.runs import RunFolder, UsageError
from ..csp import PRETRAINED_CSP, load_csp
from ..datasets import benchmark_ids
from ..files import atomic_path, atomic_write_text
from ..parallel import WorkerDied, available_cores

MODEL_ROW = "CSP model, generated cell"   # the row whose CIFs go to predictions/ (the others': baselines/)


def add_benchmark_arguments(parser):
    parser.add_argument("--dataset", choices=("perov_5", "carbon_24"), default="perov_5")
    parser.add_argument("--n-test", type=_int_in(1, 10_000), default=100,
                        help="first N test structures (default 100; at most the split's size)")
    parser.add_argument("--k", type=_int_in(1, 100), default=1, help="predictions per structure (default 1)")
    parser.add_argument("--seed", type=_int_in(0, SEED_MAX), default=0, help="random seed (default 0)")
    parser.add_argument(
        "--weights", default="pretrained", help="a CSP checkpoint (checkpoint.save), or 'pretrained' (default)"
    )
    parser.add_argument(
        "--processes",
        type=_int_in(1, 64),
        default=None,
        help="matching processes, at most the CPU cores (default 2, or 1 on one core)",
    )
    parser.add_argument("--out", required=True, help="output folder (new, empty, or a finished run with --overwrite)")
    parser.add_argument("--overwrite", action="store_true", help="replace a finished run in --out as a whole")
    return parser


def _check_processes(processes) -> int:
    cores = available_cores()
    if processes is None:
        return min(2, cores)
    if processes > cores:
        raise UsageError(
            f"--processes {processes} is more than the {cores} CPU core(s) this process may use; "
            f"more processes would only wait for a core (ask for at most {cores})"
        )
    return processes


def _check_n_test(dataset: str, n_test: int) -> None:
    try:  # the first read of the data: a damaged file is the work failing (exit 1), not a usage error
        size = len(benchmark_ids(dataset, "test"))
    except ValueError as exc:
        raise RuntimeError(str(exc)) from None
    if n_test > size:
        raise UsageError(f"--n-test {n_test} is more than the {size} structures of the {dataset} test split")


def _load_model(dataset: str, weights):
    """The CSP model of ``--weights``; a file that is not a usable CSP model is a UsageError naming it."""
    path = dataset if weights in (None, "pretrained") else Path(weights)
    try:
        model, meta = load_csp(path)
    except (FileNotFoundError, ValueError) as exc:
        raise UsageError(f"--weights: {exc}") from None
    name = PRETRAINED_CSP.get(path, path)
    if getattr(model, "cond_dim", None) != 1:
        raise UsageError(
            f"--weights: {name} holds a joint generation model (cond_dim {model.cond_dim}), not a "
            "CSP model; write one with checkpoint.save (benchmarks/make_pretrained_csp.py)"
        )
    bad = [k for k, v in model.parameters().items() if not np.all(np.isfinite(v))]
    if bad:
        raise UsageError(
            f"--weights: {name} holds NaN or infinite weights ({len(bad)} arrays, e.g. {bad[0]!r}); "
            "the file is damaged or its training diverged"
        )
    return model, meta


def _cif_name(method: str, index: int, sample: int) -> str:
    """Where a prediction's CIF goes: named by its row in the split, never by the data file's material_id."""
    folder = (
        "predictions" if method == MODEL_ROW else "baselines/" + re.sub(r"[^a-z0-9]+", "_", method.lower()).strip("_")
    )
    return f"{folder}/{index:05d}_{sample}.cif"


def run_benchmark(args, log=print) -> int:
    """``benchmark``: write OUT/results.json, OUT/predictions.csv and every prediction as CIF; returns 0.

    OUT/predictions/<index>_<j>.cif are the model's (generated cell) predictions, j = 0..k-1, index the
    structure's row in the test split (5 digits); OUT/baselines/<method>/<index>_<j>.cif the other rows'.
    OUT/predictions.csv is the per-structure record (``benchmark.records_csv``: method, index,
    material_id, sample, file, prediction valid, target valid, matched, RMS distance), and every number
    of results.json's table (match rate, RMSE, validity per method) is computed from it
    (``benchmark.scores_from_csv``), beside the papers' figures; wall times sit under "timings", so the
    same seed writes the same bytes everywhere else. The run is built in a temporary folder and moved
    onto OUT when complete (``runs.RunFolder``: OUT must be new, empty, or a finished run with
    ``--overwrite``), so two runs never mix; an interrupt or a scoring worker that dies leaves OUT as it was.
    """
    run = RunFolder(args.out, "benchmark", overwrite=getattr(args, "overwrite", False))
    processes = _check_processes(getattr(args, "processes", None))
    _check_n_test(args.dataset, args.n_test)
    model, meta = _load_model(args.dataset, args.weights)
    start = time.perf_counter()
    with run:
        try:
            table = run_table(args.dataset, args.n_test, args.k, args.seed, model, processes)
        except WorkerDied as exc:
            raise WorkerDied(f"{exc}; nothing was written to {run.out} (a run appears only when complete)") from None
        ids = benchmark_ids(args.dataset, "test")[: args.n_test]
        for name, preds in table["predictions"].items():  # loop over methods, structures, samples
            for i, row in enumerate(preds):
                for j, crystal in enumerate(row):
                    path = run.tmp / _cif_name(name, i, j)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    with atomic_path(path) as tmp:
                        write_cif(crystal, tmp)
        record = records_csv(table["scores"], ids, _cif_name)
        atomic_write_text(run.tmp / "predictions.csv", record)
        summary = {name: summarize(s) for name, s in scores_from_csv(record).items()}  # the table, from the record
        results = {
            "dataset": args.dataset,
            "split": "test",
            "trained_on": "the train part of val (val_split; DATA.md)",
            "n_test": len(ids),
            "k": args.k,
            "seed": args.seed,
            "weights": str(args.weights),
            "training": meta.get("extra", {}),
            "matcher": dict(MATCHER_SETTINGS),
            "sampler": SAMPLERS[args.dataset],
            "record": "predictions.csv",
            "results": summary,
            "published": published_rows(args.dataset),
            "timings": {"seconds": table["seconds"], "total": round(time.perf_counter() - start, 2)},
        }
        atomic_write_text(run.tmp / "results.json", json.dumps(results, indent=2) + "\n")
    head = summary[MODEL_ROW]
    log(
        f"wrote results.json, predictions.csv and {len(ids) * args.k} predictions per method to {run.out}/: "
        f"CSP model {head['match_rate']}% match, RMSE {head['rmse']}"
    )
    return 0
