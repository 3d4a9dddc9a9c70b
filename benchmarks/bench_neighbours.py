"""Minimum interatomic distance for 10^3, 10^4 and 10^5 atoms: brute force, cell list, cKDTree.

Three ways to find the smallest distance between two atoms of a periodic crystal:

* brute force, ``crystal_tutorial.pbc.min_distance``: all N^2 minimum-image pairs, O(N^2) time
  and memory, with the exact 27-image search ("exact") or plain rounding ("round", exact for
  these cubic cells); it refuses (ValueError) when its arrays would exceed ``--max-bytes``;
* the NumPy cell list, ``crystal_tutorial.complexity.min_distance_cell_list``: O(N);
* the reference, scipy's ``cKDTree(..., boxsize=...)`` (a periodic k-d tree written in C++,
  orthorhombic cells only), queried for each atom's nearest neighbour.

The crystals are FCC copper supercells (a = 3.61 Å) with Gaussian jitter of 0.05 Å on every
Cartesian coordinate. Targets (issue 7): cell list within 3x of cKDTree at 10^4 atoms and a
fitted slope <= 1.2 on log t against log N.

Run:  python benchmarks/bench_neighbours.py [--repeats 5] [--max-bytes 2e9] [--quick]
Times are wall-clock medians and depend on what else the machine runs: say so when you quote them.
"""
from __future__ import annotations

import argparse
import os
import platform
import tracemalloc

import numpy as np
import scipy
from scipy.spatial import cKDTree
from threadpoolctl import threadpool_limits

from crystal_tutorial.complexity import BRUTE_FORCE_BYTES_PER_PAIR, brute_force_min_distance, scaling_sweep, time_call
from crystal_tutorial.crystals import Crystal, jitter, prototype
from crystal_tutorial.neighbours import min_distance_cell_list

A_CU = 3.61  # Å, FCC copper (ASE reference state)
JITTER_A = 0.05  # Å, standard deviation of the Gaussian jitter
TARGET_RATIO = 3.0  # cell list / cKDTree at 10^4 atoms
TARGET_SLOPE = 1.2


def fcc_supercell(reps: int, rng: np.random.Generator) -> Crystal:
    """A reps x reps x reps FCC supercell (4 reps^3 atoms), jittered by JITTER_A Å."""
    crystal = prototype("fcc", a=A_CU, number=29).supercell((reps,) * 3)
    return jitter(crystal, JITTER_A / (reps * A_CU), rng)  # jitter takes fractional units


def kdtree_min_distance(crystal: Crystal) -> float:
    """Nearest-neighbour distance through scipy's periodic k-d tree (orthorhombic cells only)."""
    lattice = crystal.lattice
    if not np.allclose(lattice, np.diag(np.diag(lattice))):
        raise ValueError("cKDTree's boxsize handles orthorhombic cells only")
    box = np.diag(lattice)  # (3,) Å
    x = np.mod(crystal.frac_coords, 1.0) * box  # (N, 3) in [0, box)
    x[x >= box] = 0.0  # mod can round up to the box edge
    d, _ = cKDTree(x, boxsize=box).query(x, k=2)  # (N, 2): itself, then the nearest other atom
    return float(d[:, 1].min())


def reps_for(n_atoms: float) -> int:
    return max(1, int(round((n_atoms / 4) ** (1 / 3))))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per measurement")
    parser.add_argument("--max-bytes", type=float, default=2e9, help="memory budget of the brute force")
    parser.add_argument("--quick", action="store_true", help="10^3 and 10^4 atoms only")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    targets = [1e3, 1e4] if args.quick else [1e3, 1e4, 1e5]

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; numpy {np.__version__}, scipy {scipy.__version__}; "
          "BLAS limited to 1 thread")
    print(f"FCC Cu supercells, a = {A_CU} Å, jitter {JITTER_A} Å; median of {args.repeats} runs; "
          f"brute-force budget {args.max_bytes / 1e9:.3g} GB ({BRUTE_FORCE_BYTES_PER_PAIR} B x N^2)\n")
    header = (f"{'N':>7} {'d_min/Å':>8} {'exact/ms':>10} {'round/ms':>10} {'cells/ms':>10} {'kdtree/ms':>10}"
              f" {'cells/kd':>9} {'round/cells':>12}")
    print(header)
    print("-" * len(header))
    ratios, crystals, refused = {}, {}, None
    for target in targets:
        crystal = crystals[target] = fcc_supercell(reps_for(target), rng)
        d_cells = min_distance_cell_list(crystal)
        assert abs(d_cells - kdtree_min_distance(crystal)) < 1e-9
        t_cells = time_call(lambda: min_distance_cell_list(crystal), args.repeats)
        t_kd = time_call(lambda: kdtree_min_distance(crystal), args.repeats)
        brute = {}
        for method in ("exact", "round"):  # rounding is exact in this cubic cell, and cheaper
            try:
                assert abs(brute_force_min_distance(crystal, args.max_bytes, method) - d_cells) < 1e-9
                brute[method] = time_call(lambda: brute_force_min_distance(crystal, args.max_bytes, method),
                                          max(1, args.repeats // 2)).median
            except ValueError as err:
                refused = err
        ratios[target] = t_cells.median / t_kd.median
        exact_ms, round_ms = (
            f"{brute[m] * 1e3:10.1f}" if m in brute else f"{'refused':>10}" for m in ("exact", "round")
        )
        round_ratio = f"{brute['round'] / t_cells.median:12.0f}" if "round" in brute else f"{'-':>12}"
        print(
            f"{crystal.n_atoms:7d} {d_cells:8.4f} {exact_ms} {round_ms} {t_cells.median * 1e3:10.2f} "
            f"{t_kd.median * 1e3:10.2f} {ratios[target]:9.2f} {round_ratio}"
        )
    if refused is not None:
        print(f"\nthe brute force refuses, for example: {refused}")

    print("\nScaling: median times over a sweep of supercells; slope of log t against log N (95% CI)")
    sizes = np.unique([4 * reps_for(n) ** 3 for n in np.geomspace(1e3, targets[-1], 7)])
    make = lambda n: fcc_supercell(reps_for(n), rng)  # noqa: E731
    few = max(1, args.repeats // 2)
    sweeps = {  # name: (sizes, function, repeats)
        "cell list": (sizes, min_distance_cell_list, args.repeats),
        "cKDTree": (sizes, kdtree_min_distance, args.repeats),
        "brute round": (
            [108, 256, 500, 864, 1372, 2048],
            lambda c: brute_force_min_distance(c, args.max_bytes, "round"),
            few,
        ),
        "brute exact": ([108, 256, 500, 864], lambda c: brute_force_min_distance(c, args.max_bytes, "exact"), few),
    }
    fits = {}
    for name, (n, fn, repeats) in sweeps.items():
        fits[name] = scaling_sweep(make, fn, n, repeats).fit()
        print(f"  {name:12s} N = {min(n):6d}..{max(n):6d}: {fits[name]}")
    for target in targets[1:]:
        n = crystals[target].n_atoms
        print(
            f"  brute force at N = {n}, extrapolated: round {fits['brute round'].predict(n):.3g} s, "
            f"exact {fits['brute exact'].predict(n):.3g} s, memory {BRUTE_FORCE_BYTES_PER_PAIR * n**2 / 1e9:.3g} GB"
        )

    largest = crystals[targets[-1]]
    tracemalloc.start()
    min_distance_cell_list(largest)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(
        f"  peak memory of the cell list at N = {largest.n_atoms}: {peak / 1e6:.1f} MB "
        f"({peak / largest.n_atoms:.0f} B per atom, tracemalloc)"
    )

    ratio_10k = ratios[1e4]
    slope = fits["cell list"].exponent
    print(
        f"\ntarget: cell list / cKDTree at 10^4 atoms <= {TARGET_RATIO}: {ratio_10k:.2f} "
        f"-> {'met' if ratio_10k <= TARGET_RATIO else 'MISSED'}"
    )
    print(f"target: cell-list slope <= {TARGET_SLOPE}: {slope:.2f} -> {'met' if slope <= TARGET_SLOPE else 'MISSED'}")


if __name__ == "__main__":
    with threadpool_limits(limits=1):  # tiny (P, 3) @ (3, 3) products: one BLAS thread, as the timings assume
        main()
