"""Speed of one training step (forward + backward + Adam) of the 4,675-parameter MLP.

NumPy (crystal_tutorial.nn) against PyTorch CPU, same model (MLP [4, 64, 64, 3], ReLU), same
float64 dtype, MSE loss, on batches of 80 rows (what the notebooks use) and 4,096 rows.
NumPy runs with 1 and 2 BLAS threads (threadpoolctl); PyTorch with 2 intra-op threads (and 1).
PyTorch is optional: ``pip install torch`` (the CPU build); it is not a dependency of the package.

    python benchmarks/bench_nn.py            # best of 9 repeats of ~0.3 s each
    python benchmarks/bench_nn.py --quick    # best of 3 repeats of ~0.2 s

Timings on a shared 2-core machine are noisy; the best of several repeats is the least noisy.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

from crystal_tutorial import nn, optim

SIZES = [4, 64, 64, 3]
BATCHES = (80, 4096)


def best_rate(step, seconds: float, repeats: int) -> float:
    """Steps per second: the best of ``repeats`` runs of about ``seconds`` each, after a warm-up."""
    t0, n = time.perf_counter(), 0
    while time.perf_counter() - t0 < 0.1 or n < 5:  # warm-up, and calibrate how many steps fit
        step()
        n += 1
    per_run = max(5, int(n * seconds / (time.perf_counter() - t0)))
    best = 0.0
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(per_run):
            step()
        best = max(best, per_run / (time.perf_counter() - t0))
    return best


def numpy_step(batch: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    model = nn.MLP(SIZES, rng=rng)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    x, y = rng.random((batch, SIZES[0])), rng.standard_normal((batch, SIZES[-1]))

    def step():
        _, grad = nn.mse_loss(model.forward(x), y)
        model.backward(grad)
        opt.step(model.gradients())
    return step


def torch_step(batch: int, dtype, seed: int = 0):
    import torch
    torch.manual_seed(seed)
    layers = []
    for i, (d_in, d_out) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        layers.append(torch.nn.Linear(d_in, d_out, dtype=dtype))
        if i < len(SIZES) - 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    assert sum(p.numel() for p in model.parameters()) == 4675
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = torch.rand(batch, SIZES[0], dtype=dtype), torch.randn(batch, SIZES[-1], dtype=dtype)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs (noisier)")
    args = parser.parse_args()
    seconds, repeats = (0.2, 3) if args.quick else (0.3, 9)
    assert nn.MLP(SIZES).n_parameters == 4675
    try:
        import torch
    except ImportError:
        torch = None
        print("PyTorch is not installed: NumPy figures only (pip install torch for the comparison)")

    load = os.getloadavg()[0]
    print(f"load average (1 min) before the run: {load:.2f} on {os.cpu_count()} cores"
          + ("  <- busy machine: figures are noisy, 2-thread runs suffer most" if load > 0.5 * os.cpu_count() else ""))
    print(f"one forward + backward + Adam step of MLP({SIZES}), 4,675 parameters, float64; steps/s, best of {repeats}")
    print(f"{'rows':>6} {'NumPy 1 BLAS thr':>17} {'NumPy 2 BLAS thr':>17} {'torch 2 thr':>12} {'torch 1 thr':>12}"
          f" {'torch f32 2 thr':>16} {'NumPy(1)/torch(2)':>18} {'NumPy(1)/best torch':>20}")
    for batch in BATCHES:
        rates = {}
        for threads in (1, 2):
            with nn.blas_threads(threads):
                rates[f"np{threads}"] = best_rate(numpy_step(batch), seconds, repeats)
        if torch is not None:
            for threads, dtype, key in (
                (2, torch.float64, "t2"),
                (1, torch.float64, "t1"),
                (2, torch.float32, "t2f32"),
            ):
                torch.set_num_threads(threads)
                rates[key] = best_rate(torch_step(batch, dtype), seconds, repeats)
        cells = [f"{rates.get(k, float('nan')):17,.0f}" for k in ("np1", "np2")]
        cells += [f"{rates.get(k, float('nan')):12,.0f}" for k in ("t2", "t1")]
        cells.append(f"{rates.get('t2f32', float('nan')):16,.0f}")
        ratio = rates["np1"] / rates["t2"] if "t2" in rates else float("nan")
        best_torch = max((rates[k] for k in ("t2", "t1", "t2f32") if k in rates), default=float("nan"))
        print(f"{batch:>6} " + " ".join(cells) + f" {ratio:17.2f}x {rates['np1'] / best_torch:19.2f}x")
    print(
        "ratio > 1: NumPy (1 BLAS thread, float64) takes more steps per second than PyTorch "
        "(2 threads, float64; best torch = the fastest of the three torch columns)."
    )


if __name__ == "__main__":
    main()
