"""Speed and quality figures of crystal_tutorial.physics (plain script, not a test).

    python benchmarks/bench_physics.py

Prints: batched vs looped minimum-distance checks, repulsion correction, the time of
evaluate_samples on 200 samples, and how prototype matching depends on symprec for uniformly
random positions, for the jittered training variants and for displaced prototypes.
"""
import time

import numpy as np
from threadpoolctl import threadpool_limits

from crystal_tutorial.crystals import Crystal, demo_dataset, jitter, prototype
from crystal_tutorial.metrics import evaluate_samples
from crystal_tutorial.physics import PhysicsValidator, prototype_match


def best_of(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def random_samples(n_samples, n_atoms, seed):
    rng = np.random.default_rng(seed)
    return [Crystal(np.eye(3) * 5.0, rng.random((n_atoms, 3)), 14) for _ in range(n_samples)]


def main():
    v = PhysicsValidator()
    train = demo_dataset()
    print("== minimum distance: 200 structures of 4 atoms ==")
    samples = random_samples(200, 4, seed=0)
    frac = np.stack([c.frac_coords for c in samples])  # (200, 4, 3)
    t_loop, _ = best_of(lambda: [v.check_minimum_distance(c) for c in samples])
    t_batch, _ = best_of(lambda: v.check_minimum_distance_batch(frac, np.eye(3) * 5.0))
    print(f"loop {1e3 * t_loop:.1f} ms, batch {1e3 * t_batch:.2f} ms, ratio {t_loop / t_batch:.0f}x")

    print("== repulsion correction (max 100 iterations, step 0.1) ==")
    for n_atoms in (4, 8, 16):
        crystals = random_samples(50, n_atoms, seed=1)
        t, results = best_of(lambda: [v.correct_structure(c) for c in crystals], repeat=1)
        bad = [r for r in results if r.n_violations_before > 0]
        print(f"N={n_atoms:2d}: {len(bad)}/50 invalid before, {sum(r.success for r in bad)} fixed, "
              f"median {np.median([r.iterations for r in bad]) if bad else 0:.0f} iterations, "
              f"{1e3 * t / 50:.1f} ms per structure")

    print("== evaluate_samples, 200 samples, reference = demo_dataset() ==")
    good = [jitter(prototype("fcc"), 0.005, np.random.default_rng(s)) for s in range(200)]  # a "perfect" model
    for label, batch in (("random 4-atom", samples), ("random 8-atom", random_samples(200, 8, seed=2)),
                         ("jittered FCC (near-duplicates)", good)):
        t, rep = best_of(lambda: evaluate_samples(batch, reference=train, validator=v), repeat=1)
        print(f"{label:32s} {t:.2f} s   match {rep.match_rate:.0%}  unique {rep.rates['unique']:.0%}  "
              f"memorised {rep.rates['memorised']:.0%}  valid {rep.validity_rate:.0%}  "
              f"(StructureMatcher: unique {rep.seconds['unique']:.1f} s, novel {rep.seconds['novel']:.1f} s)")

    print("== prototype match rate vs symprec (Å) ==")
    symprecs = (0.05, 0.1, 0.25, 0.5, 1.0)
    print("symprec                          " + "  ".join(f"{s:5.2f}" for s in symprecs))
    rows = {"uniform random, 4 atoms": random_samples(200, 4, seed=3),
            "uniform random, 2 atoms": random_samples(200, 2, seed=4),
            "demo_dataset() (10 structures)": train}
    for label, batch in rows.items():
        rates = [np.mean([prototype_match(c, s) is not None for c in batch]) for s in symprecs]
        print(f"{label:32s} " + "  ".join(f"{r:5.0%}" for r in rates))
    rng = np.random.default_rng(5)
    print("symprec 0.1 Å; every atom displaced by a fixed distance in a random direction:")
    for ratio in (0.2, 0.25, 0.3, 0.4):  # every atom displaced by ratio * symprec
        ok = 0
        for _ in range(100):
            for name in ("bcc", "fcc", "diamond"):
                c = prototype(name)
                u = rng.standard_normal((c.n_atoms, 3))
                u *= ratio * 0.1 / np.linalg.norm(u, axis=1, keepdims=True)  # (N, 3) Å
                moved = Crystal(c.lattice, c.frac_coords + u @ np.linalg.inv(c.lattice), 14)
                ok += prototype_match(moved, 0.1) == name
        print(f"atoms displaced by {ratio:.2f} x symprec: recognised {ok / 300:.0%} (bcc, fcc, diamond)")


if __name__ == "__main__":
    with threadpool_limits(1):
        main()
