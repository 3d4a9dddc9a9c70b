"""Notebook 03's toy problem: Adam against SGD on a periodic function of fractional coordinates.

Pure functions behind the optimiser sliders: ``fit_toy_regression`` trains a small MLP with a
chosen optimiser; ``render_optimizer_race`` plots the loss curves of Adam, SGD and SGD with momentum.
"""
from __future__ import annotations

import numpy as np

from ..checks import check_array, check_bool, check_choice, check_int, check_number, check_seed
from ..nn import MLP, _as_input, mse_loss
from ..optim import SGD, Adam


def periodic_target(frac):
    """y = sin(2 pi x1) cos(2 pi x2) + 0.5 cos(2 pi x3) for fractional coordinates (n, 3) -> (n, 1)."""
    frac = _as_input("frac", frac, 3)
    x1, x2, x3 = (2 * np.pi * frac[:, k] for k in range(3))
    return (np.sin(x1) * np.cos(x2) + 0.5 * np.cos(x3))[:, None]


DIVERGE_FACTOR = 10.0  # a run has diverged when its loss stays above 10x its start until the end (or overflows)
STEPS_RANGE = (1, 2000)  # optimiser steps: the render function's upper bound keeps a slider move short


def divergence_step(losses, factor: float = DIVERGE_FACTOR):
    """The step from which the loss stays above ``factor`` x its start until the end, or None.

    A large first step that the run recovers from is not divergence: only a loss that never comes
    back below ``factor * losses[0]`` is. ``losses`` (k,) finite values, ``losses[0]`` the start.
    """
    losses = check_array("losses", losses, ("k",))          # (k,)
    factor = check_number("factor", factor, 1, 1e12)
    if losses.size == 0:
        raise ValueError("losses is empty; expected at least the starting loss")
    below = np.flatnonzero(losses <= factor * losses[0])     # steps at which the run was not diverged
    last_ok = below[-1]                                      # always exists: losses[0] <= factor * losses[0]
    return None if last_ok == losses.size - 1 else int(last_ok + 1)


def fit_toy_regression(optimizer: str = "adam", lr: float = 1e-2, beta1: float = 0.9, beta2: float = 0.999,
                       batch_size: int = 32, steps: int = 300, n_data: int = 256, hidden: int = 32,
                       bias_correction: bool = True, seed: int = 0) -> dict:
    """Fit ``MLP([3, hidden, hidden, 1])`` to ``periodic_target`` on ``n_data`` random fractional points.

    ``optimizer``: "adam", "sgd" or "momentum" (SGD with momentum ``beta1``). The same seed gives
    the same data, initial weights and mini-batches for every optimizer. Returns
    ``{"step": (k,), "loss": (k,) full-data MSE, "diverged": bool, "diverged_at": step or None,
    "baseline": MSE of predicting the mean of y, "stuck": bool}``; ``stuck`` means a finite run
    that ends no better than ``baseline`` (typically every ReLU switched off by a too large step).

    Divergence (``divergence_step``): the loss overflows (the run stops at the last finite loss), or
    it stays above ``DIVERGE_FACTOR`` x its start until the end of the run. A loss spike that the run
    recovers from is not divergence. ``steps`` is at most 2,000 (``STEPS_RANGE``).
    """
    check_choice("optimizer", optimizer, ("adam", "sgd", "momentum"))
    bias_correction = check_bool("bias_correction", bias_correction)
    seed = check_seed("seed", seed)
    n_data = check_int("n_data", n_data, 2, 4096)
    hidden = check_int("hidden", hidden, 1, 256)
    batch_size = check_int("batch_size", batch_size, 1, n_data)
    steps = check_int("steps", steps, *STEPS_RANGE)
    lr = check_number("lr", lr, 1e-8, 10.0)
    beta1 = check_number("beta1", beta1, 0.0, 0.999)
    beta2 = check_number("beta2", beta2, 0.0, 0.99999)
    rng = np.random.default_rng(seed)
    x = rng.random((n_data, 3))                              # (n, 3) fractional coordinates
    y = periodic_target(x)                                   # (n, 1)
    model = MLP([3, hidden, hidden, 1], rng=rng)
    if optimizer == "adam":
        opt = Adam(model.parameters(), lr=lr, betas=(beta1, beta2), bias_correction=bias_correction)
    else:
        opt = SGD(model.parameters(), lr=lr, momentum=beta1 if optimizer == "momentum" else 0.0)
    batches = rng.integers(0, n_data, size=(steps, batch_size))  # (steps, B) rows of each mini-batch
    losses, overflowed = [mse_loss(model.forward(x), y)[0]], False
    with np.errstate(over="ignore", invalid="ignore"):
        for rows in batches:
            _, grad = mse_loss(model.forward(x[rows]), y[rows])
            model.backward(grad)
            opt.step(model.gradients())
            out = model.forward(x)                           # (n, 1) full-data prediction
            loss = float(np.mean((out - y) ** 2))
            if not np.isfinite(loss):                        # overflow: nothing left to learn from
                overflowed = True
                break
            losses.append(loss)
    losses = np.array(losses)                                # (k,)
    at = len(losses) - 1 if overflowed else divergence_step(losses)
    baseline = float(np.var(y))                              # the loss of the best constant prediction
    return {"step": np.arange(len(losses)), "loss": losses, "diverged": at is not None, "diverged_at": at,
            "baseline": baseline, "stuck": bool(at is None and losses[-1] >= 0.99 * baseline)}


def render_optimizer_race(lr: float = 1e-2, beta1: float = 0.9, beta2: float = 0.999, batch_size: int = 32,
                          steps: int = 400, seed: int = 0):
    """Loss curves of Adam, SGD and SGD with momentum ``beta1`` on the toy regression, same lr.

    The pure function behind notebook 03's sliders; returns a matplotlib ``Figure`` (not pyplot
    state). Raises ValueError for slider values outside lr in [1e-5, 1], beta1 in [0, 0.999],
    beta2 in [0, 0.99999], batch_size in [1, 256], steps in [10, 2000]. A diverged run is marked
    with x where its divergence starts (``divergence_step``); the dotted line is the loss of
    predicting the mean of y, where a run whose ReLUs all died ends.
    """
    lr = check_number("lr", lr, 1e-5, 1.0)
    beta1 = check_number("beta1", beta1, 0.0, 0.999)
    beta2 = check_number("beta2", beta2, 0.0, 0.99999)
    batch_size = check_int("batch_size", batch_size, 1, 256)
    steps = check_int("steps", steps, 10, STEPS_RANGE[1])
    from matplotlib.figure import Figure
    fig = Figure(figsize=(7, 3.6))
    ax = fig.add_subplot()
    runs = (("adam", "Adam", "C0"), ("sgd", "SGD", "C1"), ("momentum", f"SGD + momentum {beta1:g}", "C2"))
    for opt, label, color in runs:
        run = fit_toy_regression(opt, lr=lr, beta1=beta1, beta2=beta2, batch_size=int(batch_size), steps=steps,
                                 seed=seed)
        note = " (diverged)" if run["diverged"] else " (no better than the mean)" if run["stuck"] else ""
        ax.plot(run["step"], run["loss"], color=color, label=label + note)
        if run["diverged"]:
            k = run["diverged_at"]
            ax.plot(run["step"][k], run["loss"][k], "x", color=color, markersize=10)
    ax.axhline(run["baseline"], color="grey", ls=":", lw=1, label="predict the mean of y")
    ax.set_yscale("log")
    ax.set_xlim(0, steps)
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("training MSE (dimensionless)")
    ax.set_title(f"lr = {lr:.2g}, beta1 = {beta1:g}, beta2 = {beta2:g}, batch = {int(batch_size)}")
    ax.legend(loc="upper right")
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig
