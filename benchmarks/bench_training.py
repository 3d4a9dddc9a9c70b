"""Training and sampling speed of the hello-world configuration (issue: training and sampling).

Prints: training wall time for 10 structures, 100 epochs, T = 100, lr 1e-3 (target: under 1 s
on a 2-core machine; the original README reports ~30 s), sampling time for 50 structures with
DDPM (100 steps) and DDIM (10 steps), and their ratio. Best of several repeats.

    python benchmarks/bench_training.py
"""
import time

import numpy as np

from crystal_tutorial.crystals import demo_dataset
from crystal_tutorial.nn import blas_threads
from crystal_tutorial.sampling import sample_ddim, sample_ddpm
from crystal_tutorial.training import TrainConfig, build_model, train

REPEATS = 5


def best_of(fn, repeats=REPEATS):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), float(np.median(times))


def main():
    dataset = demo_dataset()
    config = TrainConfig(progress=False)
    train_times = [train(build_model(config), dataset, config).train_seconds for _ in range(REPEATS)]
    model = build_model(config)
    history = train(model, dataset, config)
    schedule = config.make_schedule()
    lattice = np.eye(3) * 5.0
    with blas_threads(1):
        ddpm = best_of(lambda: sample_ddpm(model, schedule, 4, lattice, 50, np.random.default_rng(0)))
        ddim = best_of(lambda: sample_ddim(model, schedule, 4, lattice, 50, np.random.default_rng(0), steps=10))
    print("hello-world configuration: 10 structures, 100 epochs, T = 100, lr 1e-3, 4,675 parameters")
    print(f"  training wall time      best {min(train_times):8.3f} s   median {np.median(train_times):8.3f} s"
          f"   (target < 1 s; the original README: ~30 s)   final loss {history.final_loss:.4f}")
    print(f"  DDPM, 100 steps, 50 samples   best {ddpm[0] * 1e3:8.2f} ms   median {ddpm[1] * 1e3:8.2f} ms")
    print(f"  DDIM,  10 steps, 50 samples   best {ddim[0] * 1e3:8.2f} ms   median {ddim[1] * 1e3:8.2f} ms")
    print(f"  DDPM / DDIM time ratio: {ddpm[0] / ddim[0]:.1f}x (10x fewer network calls)")
    print(f"  training under 1 s: {'yes' if min(train_times) < 1.0 else 'NO'}")


if __name__ == "__main__":
    main()
