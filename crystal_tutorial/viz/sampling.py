"""Pure render functions for notebooks 04 (training) and 05 (sampling); the widgets wrap them.

Each function validates its slider values and returns figures; none keeps state.
"""
from __future__ import annotations

import time

import numpy as np

from ..checks import check_array, check_instance, check_int, check_lattice, check_number, check_seed
from ..crystals import Crystal
from ..diffusion import MAX_T, Schedule, from_centered
from ..pbc import min_distance
from ..viz.figures import plot_crystal


# --- notebook 04 ----------------------------------------------------------------------------------
def running_mean(values, window: int) -> np.ndarray:
    """Mean of the last ``window`` values at every position (fewer at the start): smooths a noisy loss."""
    values = check_array("values", values, ("k",))  # (k,)
    window = check_int("window", window, 1, max(1, len(values)))
    c = np.cumsum(np.insert(values, 0, 0.0))
    lo = np.maximum(np.arange(1, len(values) + 1) - window, 0)
    return (c[1:] - c[lo]) / (np.arange(1, len(values) + 1) - lo)


def render_loss_curves(runs, title: str = "Training loss"):
    """Overlay the per-epoch loss of several runs: ``runs`` is a list of (label, History)."""
    import matplotlib.pyplot as plt
    if not runs:
        raise ValueError("runs is empty: train at least one model first")
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for k, (label, history) in enumerate(runs):
        loss = history.epoch_losses
        epochs = np.arange(1, len(loss) + 1)
        color = f"C{k % 10}"
        ax.plot(epochs, loss, lw=0.8, alpha=0.25, color=color)  # raw: noisy, new t and eps every epoch
        ax.plot(epochs, running_mean(loss, max(1, len(loss) // 20)), lw=1.8, color=color, label=label)
    ax.axhline(1.0, color="grey", ls=":", lw=1, label="predict eps = 0 (loss 1)")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss: mean squared error of eps")
    ax.set_title(title + " (faint: every epoch; bold: running mean)")
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig


def render_loss_by_timestep(history, T: int, n_buckets: int = 10):
    """Bar chart of the mean training loss in ``n_buckets`` ranges of t: which noise levels are hard?"""
    import matplotlib.pyplot as plt
    T = check_int("T", T, 1, MAX_T)
    n_buckets = check_int("n_buckets", n_buckets, 1, T)
    edges, means = history.loss_by_timestep(n_buckets, T)
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.bar(0.5 * (edges[:-1] + edges[1:]), means, width=np.diff(edges) * 0.9, color="tab:blue")
    ax.set_xlabel("timestep t")
    ax.set_ylabel("mean loss")
    ax.set_title("Training loss by noise level (all steps of the run)")
    fig.tight_layout()
    return fig


# --- notebook 05 ----------------------------------------------------------------------------------
def trajectory_min_distances(trajectory, lattice) -> np.ndarray:
    """d_min (Å) of every recorded step of one sample: trajectory (steps + 1, N, 3) centred -> (steps + 1,)."""
    trajectory = check_array("trajectory", trajectory, ("steps + 1", "N", 3))  # one sample
    return np.atleast_1d(min_distance(from_centered(trajectory), lattice))


def render_reverse_step(trajectory, step: int, lattice, d_mins=None, number: int = 14, threshold: float = 0.7):
    """One frame of the reverse-process scrubber: the crystal after ``step`` denoising steps, and d_min per step.

    ``trajectory`` (steps + 1, N, 3) of centred coordinates of one sample (x_T first). Returns
    (plotly 3D figure, matplotlib figure of d_min against the step with the current step marked).
    """
    import matplotlib.pyplot as plt
    trajectory = check_array("trajectory", trajectory, ("steps + 1", "N", 3))  # one sample
    n_steps = trajectory.shape[0] - 1
    step = check_int("step", step, 0, n_steps)
    number = check_int("number", number, 1, 118)
    threshold = check_number("threshold", threshold, 0, 100)  # Å
    d_mins = (trajectory_min_distances(trajectory, lattice) if d_mins is None
              else check_array("d_mins", d_mins, (n_steps + 1,), finite=False))  # (steps + 1,) Å
    crystal = Crystal(lattice, from_centered(trajectory[step]), np.full(trajectory.shape[1], number))
    fig3d = plot_crystal(crystal, boundary_images=False, height=360,
                         title=f"after {step} of {n_steps} denoising steps: d_min = {d_mins[step]:.2f} Å")
    fig, ax = plt.subplots(figsize=(5, 2.6))
    ax.plot(np.arange(n_steps + 1), d_mins, color="tab:blue")
    ax.axhline(threshold, color="tab:red", ls="--", lw=1, label=f"{threshold} Å threshold")
    ax.plot([step], [d_mins[step]], "o", color="black")
    ax.set_xlabel("denoising step (0 = pure noise)")
    ax.set_ylabel("d_min (Å)")
    ax.legend(fontsize=8)
    fig.subplots_adjust(left=0.14, right=0.97, bottom=0.2, top=0.95)  # fixed margins: tight_layout is slow
    return fig3d, fig


def render_ddim(model, schedule, steps: int, n_samples: int = 50, seed: int = 0, lattice=None, n_atoms: int = 4,
                threshold: float = 0.7):
    """Sample with DDIM on ``steps`` steps; show one sample in 3D and the d_min histogram with the wall time."""
    import matplotlib.pyplot as plt

    from ..sampling import sample_ddim
    check_instance("schedule", schedule, Schedule, "e.g. diffusion.linear_schedule(100)")
    steps = check_int("steps", steps, 1, schedule.T)
    seed = check_seed("seed", seed)
    threshold = check_number("threshold", threshold, 0, 100)  # Å
    n_samples = check_int("n_samples", n_samples, 1, 1000)   # upper bounds: a slider move stays short
    n_atoms = check_int("n_atoms", n_atoms, 1, 64)
    lattice = np.eye(3) * 5.0 if lattice is None else check_lattice("lattice", lattice)  # (3, 3) Å
    start = time.perf_counter()
    samples = sample_ddim(model, schedule, n_atoms, lattice, n_samples, np.random.default_rng(seed), steps=steps)
    seconds = time.perf_counter() - start
    d = np.atleast_1d(min_distance(np.stack([s.frac_coords for s in samples]), lattice))  # (S,) Å, one batched call
    fig3d = plot_crystal(samples[0], boundary_images=False, height=340,
                         title=f"DDIM, {steps} steps: sample 0 (d_min {d[0]:.2f} Å)")
    fig, ax = plt.subplots(figsize=(5, 2.6))
    top = max(np.linalg.norm(lattice, axis=1).min(), float(d.max()))  # d_min <= the shortest lattice vector
    ax.hist(d, bins=np.linspace(0, top, 26), color="tab:green")  # any handedness: lengths, not lattice[0, 0]
    ax.axvline(threshold, color="tab:red", ls="--", lw=1)
    ax.set_xlabel("d_min (Å)")
    ax.set_ylabel("samples")
    ax.set_title(f"{n_samples} samples in {1000 * seconds:.1f} ms; {np.mean(d >= threshold):.0%} valid")
    fig.subplots_adjust(left=0.14, right=0.97, bottom=0.2, top=0.86)  # fixed margins: fast slider
    return fig3d, fig
