"""The chapter-10 benchmark: the shipped CSP models on the whole test splits, beside baselines and the papers.

    nice -n 10 python benchmarks/bench_csp.py [--datasets perov_5 carbon_24] [--seeds 0 1 2] [--best-of 20]
                                              [--n N] [--processes 2] [--json PATH] [--holdout]

For each data set: the CSP model (generated cell, the papers' task) predicts one structure per test
structure for every seed of ``--seeds``; the one-sample match rate and RMSE (papers' rule: pymatgen
``StructureMatcher(stol=0.5, angle_tol=10, ltol=0.3)``, SMACT composition validity, the generated cell)
are reported per seed and as mean and spread (max - min) over the seeds. Seed 0 also scores the
baselines that learn nothing (perovskite templates, random coordinates) and the model with the true
cell. ``--best-of K`` adds a K-sample run (seed 0) and reports the best of K. Beside them: DiffCSP's and
CDVAE's published rows (Jiao et al. 2023, Table 1), the ratio of our mean to DiffCSP's, the training cost
from the weights' metadata and the wall time of sampling and scoring.

The models train on the train part of val (``benchmark.val_split``); their sampler settings
(``benchmark.SAMPLERS``) were chosen on the held-out part of val, never on test (DATA.md). ``--holdout``
scores the held-out part of val instead of test (what the choices were made on).

``--json`` (default ``crystal_tutorial/data/benchmark_results.json``, the file notebook 10 shows as
precomputed output) receives every figure; ``--json ''`` writes nothing. Timings are wall-clock on a
shared 2-core machine, ``nice -n 10``: noisy.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from crystal_tutorial import benchmark as B  # noqa: E402
from crystal_tutorial.csp import load_csp  # noqa: E402
from crystal_tutorial.datasets import load_benchmark  # noqa: E402
from crystal_tutorial.files import atomic_write_text  # noqa: E402

MODEL = "CSP model, generated cell"
TARGETS = {"perov_5": (55.0, 0.070), "carbon_24": (20.0, 0.2759)}  # issue 22: mean match % >=, mean RMSE <=


def spread(values) -> dict:
    """{"mean", "min", "max", "spread" (max - min), "values"} of per-seed figures (None ignored)."""
    v = [x for x in values if x is not None]
    if not v:
        return {"mean": None, "min": None, "max": None, "spread": None, "values": list(values)}
    return {"mean": round(float(np.mean(v)), 4), "min": min(v), "max": max(v), "spread": round(max(v) - min(v), 4),
            "values": list(values)}


def run_dataset(dataset, n, seeds, best_of, processes, split, log=print) -> dict:
    model, meta = load_csp(dataset)
    extra, sampler = meta.get("extra", {}), B.SAMPLERS[dataset]
    targets = (B.val_split(dataset, "holdout") if split == "holdout" else load_benchmark(dataset, "test"))[:n]
    log(f"\n== {dataset}: {len(targets)} {split} structures, one sample, generated cell; model trained on "
        f"{extra.get('split')}: {extra.get('steps')} steps, {extra.get('seconds')} s wall; sampler {sampler}")
    rows, seconds = {}, {}
    for seed in seeds:  # loop over sampling seeds
        methods = B.method_names(dataset) if seed == seeds[0] else [MODEL]
        t = B.run_table(dataset, len(targets), 1, seed, model, processes, methods=methods, sampler=sampler,
                        targets=targets)
        for name, r in t["results"].items():
            rows.setdefault(name, []).append(r)
            seconds.setdefault(name, []).append(t["seconds"][name])
        r = t["results"][MODEL]
        log(f"  seed {seed}: match {r['match_rate']:.2f} %, RMSE {r['rmse']}, valid {r['valid_rate']} %, "
            f"sampled in {t['seconds'][MODEL]['predict']:.0f} s, scored in {t['seconds'][MODEL]['score']:.0f} s")
    table = {}
    for name, rs in rows.items():
        table[name] = {"match_rate": spread([r["match_rate"] for r in rs]), "rmse": spread([r["rmse"] for r in rs]),
                       "valid_rate": spread([r["valid_rate"] for r in rs]), "seeds": list(seeds[:len(rs)]),
                       "seconds": seconds[name]}
    best = None
    if best_of > 1:
        t = B.run_table(dataset, len(targets), best_of, seeds[0], model, processes, methods=[MODEL], sampler=sampler,
                        targets=targets)
        r = t["results"][MODEL]
        best = {"k": best_of, "seed": seeds[0], "match_rate": r[f"match_rate_best_of_{best_of}"],
                "rmse": r[f"rmse_best_of_{best_of}"], "seconds": t["seconds"][MODEL]}
    diffcsp = B.PUBLISHED[dataset]["DiffCSP"]
    m = table[MODEL]
    out = {"dataset": dataset, "split": split, "n": len(targets), "seeds": list(seeds), "sampler": sampler,
           "training": extra, "rows": table, "best_of_k": best, "published": B.published_rows(dataset),
           "target_valid_rate": rows[MODEL][0]["target_valid_rate"], "target": dict(zip(("match_rate", "rmse"),
                                                                                        TARGETS[dataset])),
           "ratio_to_diffcsp": {"match_rate": round(m["match_rate"]["mean"] / diffcsp[0], 3),
                                "rmse": round(m["rmse"]["mean"] / diffcsp[1], 3) if m["rmse"]["mean"] else None}}
    print_table(out, log)
    return out


def print_table(out, log=print):
    log(f"{'method':40s} {'match % (mean, spread)':>24s} {'RMSE (mean, spread)':>22s} {'valid %':>8s} {'s/seed':>7s}")
    for name, r in out["rows"].items():
        mr, e = r["match_rate"], r["rmse"]
        sec = np.mean([s["predict"] + s["score"] for s in r["seconds"]])
        err = "-" if e["mean"] is None else f"{e['mean']:.4f} ± {e['spread'] / 2:.4f}"
        log(f"{name:40s} {mr['mean']:>14.2f} ± {mr['spread'] / 2:5.2f} ({len(r['seeds'])}) {err:>20s} "
            f"{r['valid_rate']['mean']:8.2f} {sec:7.0f}")
    if out["best_of_k"]:
        b = out["best_of_k"]
        log(f"{MODEL + f', best of {b[chr(107)]}':40s} {b['match_rate']:>14.2f} {'':>10s} {b['rmse']!s:>20s}")
    for name, row in out["published"].items():
        log(f"{name + ' (paper, train split)':40s} {row['match_rate']:>14.2f} {'':>10s} {row['rmse']:>20.4f}")
    m, goal = out["rows"][MODEL], out["target"]
    met = (m["match_rate"]["mean"] >= goal["match_rate"] and m["rmse"]["mean"] is not None
           and m["rmse"]["mean"] <= goal["rmse"])
    log(f"test structures valid themselves: {out['target_valid_rate']} %; ratio to DiffCSP: match "
        f"{out['ratio_to_diffcsp']['match_rate']}x, RMSE {out['ratio_to_diffcsp']['rmse']}x; target (match >= "
        f"{goal['match_rate']} % and RMSE <= {goal['rmse']}): {'met' if met else 'NOT met'}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--datasets", nargs="+", choices=sorted(TARGETS), default=["perov_5", "carbon_24"])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--best-of", type=int, default=0, help="also run K samples per structure (seed 0); 0: skip")
    p.add_argument("--n", type=int, default=None, help="first N structures only (default: the whole split)")
    p.add_argument("--processes", type=int, default=2)
    p.add_argument("--holdout", action="store_true", help="score the held-out part of val instead of test")
    p.add_argument("--json", default=str(ROOT / "crystal_tutorial" / "data" / "benchmark_results.json"))
    args = p.parse_args(argv)
    start = time.perf_counter()
    results = {"what": "bench_csp.py: one sample per structure, generated cell, papers' scoring rule "
                       "(StructureMatcher stol 0.5, angle_tol 10, ltol 0.3; SMACT validity)",
               "command": "python benchmarks/bench_csp.py " + " ".join(sys.argv[1:] if argv is None else argv),
               "datasets": {}}
    for dataset in args.datasets:  # loop over data sets
        results["datasets"][dataset] = run_dataset(dataset, args.n, args.seeds, args.best_of, args.processes,
                                                   "holdout" if args.holdout else "test")
    results["seconds_total"] = round(time.perf_counter() - start, 1)
    if args.json:
        atomic_write_text(args.json, json.dumps(results, indent=1) + "\n")
        print(f"\nwrote {args.json} ({results['seconds_total']:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
