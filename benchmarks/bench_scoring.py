"""Scoring time of ``metrics.evaluate_samples`` for 10, 100 and 1,000 samples at 8 and 64 atoms (issue 25, item 7).

Samples are what the per-atom MLP generates (``generate --model mlp``): silicon atoms at uniformly random
fractional coordinates in the 5 Å cube (its samples look like uniform random positions, DESIGN.md), the
worst case for uniqueness, since no two match and every candidate pair runs StructureMatcher to the end.
Reference: the demo training set. Prints, per size: seconds for the physics checks and spglib, for
uniqueness and novelty, the number of StructureMatcher calls, and the estimate ``scoring_cost`` makes
before a job (novelty counts the demo structures at least as large as a sample, as ``generate`` does).
Jobs whose estimate is above ``--budget`` (default ``SCORING_BUDGET_SECONDS``, where ``generate``
refuses them unless ``--no-uniqueness``) are timed with ``uniqueness=False``.

    nice -n 10 python benchmarks/bench_scoring.py [--sizes 10,100,1000] [--atoms 8,64]

Timings are wall-clock seconds on a shared 2-core machine: compare ratios, not the last digit.

Measured 2026-12-07 with a load average of about 20 on the 2 cores (wall seconds ~10x the CPU seconds):

    samples atoms estimate s uniqueness unique calls unique s novel s other s total s   CPU s unique
         10     8          7        yes           27     31.9     1.3     0.4    45.2     4.5    70%
         10    64         52        yes           30    672.6    13.9     1.1   687.6    60.5   100%
        100     8         78        yes          387    454.9    13.6     1.0   470.1    30.4    39%

Uniqueness calls grow linearly (at most UNIQUE_CANDIDATES = 4 per sample: 27 for 10 samples, 387 for
100), where pymatgen's group_structures compared up to n (n - 1) / 2 pairs (4,950 for 100). Random
8-atom cells match each other often at stol 0.5 (39% unique), 64-atom ones never.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from crystal_tutorial.crystals import Crystal, demo_dataset
from crystal_tutorial.metrics import SCORING_BUDGET_SECONDS, evaluate_samples, scoring_cost


def samples(n: int, n_atoms: int, seed: int = 0) -> list[Crystal]:
    rng = np.random.default_rng(seed)
    return [Crystal(np.eye(3) * 5.0, rng.random((n_atoms, 3)), np.full(n_atoms, 14)) for _ in range(n)]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--atoms", default="8,64")
    parser.add_argument("--budget", type=float, default=SCORING_BUDGET_SECONDS,
                        help="run uniqueness only where the estimate is at most this many seconds")
    args = parser.parse_args(argv)
    reference = demo_dataset()
    print(f"{'samples':>7} {'atoms':>5} {'estimate s':>10} {'uniqueness':>10} {'unique calls':>12} "
          f"{'unique s':>8} {'novel s':>7} {'other s':>7} {'total s':>7} {'CPU s':>7} {'unique':>6}")
    for n in (int(v) for v in args.sizes.split(",")):
        for n_atoms in (int(v) for v in args.atoms.split(",")):
            estimate = scoring_cost(n, n_atoms, n_reference=sum(c.n_atoms >= n_atoms for c in reference))
            run_unique = estimate <= args.budget
            tic, cpu = time.perf_counter(), time.process_time()
            report = evaluate_samples(samples(n, n_atoms), reference, uniqueness=run_unique)
            total, cpu = time.perf_counter() - tic, time.process_time() - cpu
            s = report.seconds
            print(f"{n:>7} {n_atoms:>5} {estimate:>10.0f} {'yes' if run_unique else 'skipped':>10} "
                  f"{report.extra['matcher']['unique_calls']:>12} {s['unique']:>8.1f} {s['novel']:>7.1f} "
                  f"{s['physics'] + s['spglib']:>7.1f} {total:>7.1f} {cpu:>7.1f} "
                  f"{'n/a' if report.unique is None else f'{report.unique.mean():.0%}':>6}", flush=True)


if __name__ == "__main__":
    main()
