"""Notebook 03's toy problem: Adam against SGD on a periodic function of fractional coordinates.

Pure functions behind the optimiser sliders: ``fit_toy_regression`` trains a small MLP with a
chosen optimiser; ``render_optimizer_race`` plots the loss curves of Adam, SGD and SGD with momentum.
"""
from __future__ import annotations

from numbers import Real

import numpy as np

from .nn import MLP, SGD, Adam, _as_input, mse_loss

def periodic_target(frac):
    """y = sin(2 pi x1) cos(2 pi x2) + 0.5 cos(2 pi x3) for fractional coordinates (n, 3) -> (n, 1)."""
    frac = _as_input("frac", frac, 3)
    x1, x2, x3 = (2 * np.pi * frac[:, k] for k in range(3))
    return (np.sin(x1) * np.cos(x2) + 0.5 * np.cos(x3))[:, None]


def fit_toy_regression(optimizer: str = "adam", lr: float = 1e-2, beta1: float = 0.9, beta2: float = 0.999,
                       batch_size: int = 32, steps: int = 300, n_data: int = 256, hidden: int = 32,
                       bias_correction: bool = True, seed: int = 0) -> dict:
    """Fit ``MLP([3, hidden, hidden, 1])`` to ``periodic_target`` on ``n_data`` random fractional points.

    ``optimizer``: "adam", "sgd" or "momentum" (SGD with momentum ``beta1``). The same seed gives
    the same data, initial weights and mini-batches for every optimizer. Returns
    ``{"step": (k,), "loss": (k,) full-data MSE, "diverged": bool}``; a run stops as soon as the
    loss exceeds 100x its start (or is not finite) and is then marked diverged.
    """
    if optimizer not in ("adam", "sgd", "momentum"):
        raise ValueError(f"optimizer must be 'adam', 'sgd' or 'momentum', got {optimizer!r}")
    if not (isinstance(batch_size, (int, np.integer)) and 1 <= batch_size <= n_data):
        raise ValueError(f"batch_size must be an int in [1, n_data={n_data}], got {batch_size!r}")
    if not (isinstance(steps, (int, np.integer)) and steps >= 1):
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    rng = np.random.default_rng(seed)
    x = rng.random((n_data, 3))                              # (n, 3) fractional coordinates
    y = periodic_target(x)                                   # (n, 1)
    model = MLP([3, hidden, hidden, 1], rng=rng)
    if optimizer == "adam":
        opt = Adam(model.parameters(), lr=lr, betas=(beta1, beta2), bias_correction=bias_correction)
    else:
        opt = SGD(model.parameters(), lr=lr, momentum=beta1 if optimizer == "momentum" else 0.0)
    batches = rng.integers(0, n_data, size=(steps, batch_size))  # (steps, B) rows of each mini-batch
    losses, diverged = [mse_loss(model.forward(x), y)[0]], False
    with np.errstate(over="ignore", invalid="ignore"):
        for rows in batches:
            _, grad = mse_loss(model.forward(x[rows]), y[rows])
            model.backward(grad)
            opt.step(model.gradients())
            out = model.forward(x)                           # (n, 1) full-data prediction
            loss = float(np.mean((out - y) ** 2))
            if not (np.isfinite(loss) and loss < 100 * losses[0]):
                diverged = True
                break
            losses.append(loss)
    return {"step": np.arange(len(losses)), "loss": np.array(losses), "diverged": diverged}


def render_optimizer_race(lr: float = 1e-2, beta1: float = 0.9, beta2: float = 0.999, batch_size: int = 32,
                          steps: int = 400, seed: int = 0):
    """Loss curves of Adam, SGD and SGD with momentum ``beta1`` on the toy regression, same lr.

    The pure function behind notebook 03's sliders; returns a matplotlib ``Figure`` (not pyplot
    state). Raises ValueError for slider values outside lr in [1e-5, 1], beta1 in [0, 0.999],
    beta2 in [0, 0.99999], batch_size in [1, 256].
    """
    for name, value, lo, hi in (("lr", lr, 1e-5, 1.0), ("beta1", beta1, 0.0, 0.999),
                                ("beta2", beta2, 0.0, 0.99999), ("batch_size", batch_size, 1, 256)):
        if not (isinstance(value, Real) and lo <= value <= hi):
            raise ValueError(f"{name} must be in [{lo}, {hi}], got {value!r}")
    from matplotlib.figure import Figure
    fig = Figure(figsize=(7, 3.6))
    ax = fig.add_subplot()
    runs = (("adam", "Adam", "C0"), ("sgd", "SGD", "C1"), ("momentum", f"SGD + momentum {beta1:g}", "C2"))
    for opt, label, color in runs:
        run = fit_toy_regression(opt, lr=lr, beta1=beta1, beta2=beta2, batch_size=int(batch_size), steps=steps,
                                 seed=seed)
        ax.plot(run["step"], run["loss"], color=color, label=label + (" (diverged)" if run["diverged"] else ""))
        if run["diverged"]:
            ax.plot(run["step"][-1], run["loss"][-1], "x", color=color, markersize=10)
    ax.set_yscale("log")
    ax.set_xlim(0, steps)
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("training MSE (dimensionless)")
    ax.set_title(f"lr = {lr:.2g}, beta1 = {beta1:g}, beta2 = {beta2:g}, batch = {int(batch_size)}")
    ax.legend(loc="upper right")
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig
