"""Sampling: ancestral DDPM (Ho et al. 2020, Algorithm 2) and DDIM (Song, Meng & Ermon 2021).

Both run all samples at once (a batch (S, N, 3)) and loop only over diffusion steps. They work on
centred coordinates x = frac - 0.5, start from x_T ~ N(0, I), and wrap the result into the cell.
``record=True`` also returns the trajectory (steps + 1, S, N, 3) of centred coordinates (x_T
first, x_0 last) for the reverse-process scrubber.
"""
from __future__ import annotations

import numpy as np

from .checks import check_array, check_instance, check_int, check_lattice, check_number, check_rng
from .crystals import Crystal
from .diffusion import MAX_T, Schedule, from_centered


def check_model_T(model, T: int, what: str = "schedule.T",
                  hint: str = "use a schedule of the same T, e.g. the training config's make_schedule()") -> None:
    """Refuse to sample with ``T`` steps a model that was built for a different number of steps.

    A model that carries ``T`` (``models.PerAtomMLP`` does: its time input is t / T) has learned
    the noise level of step t under a schedule of T steps; run with another T, every step would
    remove the wrong amount of noise. Models without a ``T`` attribute (the pairwise and joint
    denoisers, which see the noise level sigma itself) are not checked.
    """
    model_T = getattr(model, "T", None)
    T = check_int(what, T, 1, MAX_T)
    if model_T is not None and int(model_T) != T:
        raise ValueError(f"{what} = {T} does not match the model's T = {model_T}: the model was trained for "
                         f"{model_T} diffusion steps, so every step would remove the wrong amount of noise; {hint}")


MAX_ATOMS = 10_000  # per sample
MAX_VALUES = 10_000_000  # n_samples x n_atoms: a (S, N, 3) float64 batch of at most 240 MB


def sampler_inputs(model, schedule, n_atoms, lattice, n_samples, rng):
    """Check the arguments every sampler shares; returns ``(n_atoms, lattice, n_samples)``."""
    check_instance("schedule", schedule, Schedule, "e.g. diffusion.linear_schedule(100)")
    check_model_T(model, schedule.T)
    n_atoms = check_int("n_atoms", n_atoms, 1, MAX_ATOMS)
    n_samples = check_int("n_samples", n_samples, 1, MAX_VALUES // n_atoms)
    lattice = check_lattice("lattice", lattice)
    check_rng("rng", rng)
    return n_atoms, lattice, n_samples


def to_crystals(x, lattice, number: int = 14) -> list[Crystal]:
    """Centred coordinates (S, N, 3) -> a list of S Crystals, wrapped into [0, 1)."""
    frac = from_centered(check_array("x", x, ("S", "N", 3)))  # (S, N, 3)
    number = check_int("number", number, 1, 118)
    return [Crystal(lattice, f, np.full(len(f), number)) for f in frac]


def _predict(model, x, t):
    S = x.shape[0]
    return model.forward(x, np.full(S, t), np.ones(x.shape[:2], dtype=bool))  # (S, N, 3) eps_theta


def sample_ddpm(model, schedule: Schedule, n_atoms: int, lattice, n_samples: int, rng, record: bool = False,
                number: int = 14):
    """Ancestral sampling, Algorithm 2 of Ho et al. (2020).

    x_T ~ N(0, I); for t = T..1: x_{t-1} = 1/sqrt(alpha_t) (x_t - beta_t / sqrt(1 - alpha_bar_t) eps_theta)
    + sigma_t z, with sigma_t^2 the posterior variance beta~_t (0 at t = 1, so the last step adds no noise).
    Returns a list of ``n_samples`` Crystals (and the trajectory if ``record``). ``schedule.T`` must
    equal ``model.T`` when the model carries one (``check_model_T``).
    """
    n_atoms, lattice, n_samples = sampler_inputs(model, schedule, n_atoms, lattice, n_samples, rng)
    number = check_int("number", number, 1, 118)
    x = rng.standard_normal((n_samples, n_atoms, 3))                  # (S, N, 3) x_T
    trajectory = [x.copy()] if record else None
    for t in range(schedule.T, 0, -1):
        eps = _predict(model, x, t)
        mean = (x - schedule.betas[t] / schedule.sqrt_one_minus_alpha_bars[t] * eps) / np.sqrt(schedule.alphas[t])
        noise = rng.standard_normal(x.shape) if t > 1 else 0.0
        x = mean + np.sqrt(schedule.posterior_variance[t]) * noise   # (S, N, 3) x_{t-1}
        if record:
            trajectory.append(x.copy())
    crystals = to_crystals(x, lattice, number)
    return (crystals, np.array(trajectory)) if record else crystals


def ddim_timesteps(T: int, steps: int) -> np.ndarray:
    """The decreasing sub-sequence tau_1 > ... > tau_S of 1..T that DDIM visits (evenly spaced), then 0."""
    T = check_int("T", T, 1, MAX_T)
    steps = check_int("steps", steps, 1, T)
    taus = np.unique(np.round(np.linspace(T, 1, steps)).astype(int))[::-1]  # (steps,) decreasing
    return np.append(taus, 0)


def sample_ddim(model, schedule: Schedule, n_atoms: int, lattice, n_samples: int, rng, steps: int = 10,
                eta: float = 0.0, record: bool = False, number: int = 14):
    """DDIM sampling (Song et al. 2021, eq. 12) on ``steps`` evenly spaced timesteps.

    x0_hat = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t);
    x_prev = sqrt(abar_prev) x0_hat + sqrt(1 - abar_prev - s^2) eps + s z,
    s = eta sqrt((1 - abar_prev) / (1 - abar_t)) sqrt(1 - abar_t / abar_prev).
    ``eta = 0`` is deterministic given x_T; ``eta = 1`` with all T steps is ancestral DDPM.
    ``steps`` may be fewer than T, but ``schedule.T`` must equal ``model.T`` (``check_model_T``).
    """
    n_atoms, lattice, n_samples = sampler_inputs(model, schedule, n_atoms, lattice, n_samples, rng)
    number = check_int("number", number, 1, 118)
    eta = check_number("eta", eta, 0, 1)
    taus = ddim_timesteps(schedule.T, steps)
    x = rng.standard_normal((n_samples, n_atoms, 3))                  # (S, N, 3) x_T
    trajectory = [x.copy()] if record else None
    ab = schedule.alpha_bars
    for t, t_prev in zip(taus[:-1], taus[1:]):
        eps = _predict(model, x, t)
        x0_hat = (x - np.sqrt(1 - ab[t]) * eps) / np.sqrt(ab[t])
        s = eta * np.sqrt((1 - ab[t_prev]) / (1 - ab[t]) * (1 - ab[t] / ab[t_prev]))
        noise = rng.standard_normal(x.shape) if s > 0 else 0.0
        x = np.sqrt(ab[t_prev]) * x0_hat + np.sqrt(max(1 - ab[t_prev] - s ** 2, 0.0)) * eps + s * noise
        if record:
            trajectory.append(x.copy())
    crystals = to_crystals(x, lattice, number)
    return (crystals, np.array(trajectory)) if record else crystals
