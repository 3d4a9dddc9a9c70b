"""Crystal structure prediction (CSP): the joint denoiser of chapter 09 with the composition given.

CSP is the task of the published benchmarks (CDVAE, DiffCSP, FlowMM): given a composition, say
CdCuN3 in a 5-atom cell, predict where the atoms sit, and the cell. The model is ``JointDenoiser``
(``joint.py``) used as it is, with two changes in how it is fed (DiffCSP, Jiao et al. 2023, sec. 3):

* **types are fixed**: the one-hot types a_i enter clean at every step; no type noise, no type loss
  (the type head's output is ignored, so its weights get no gradient);
* **the lattice is generated or given**: the condition vector is one flag c = [lattice given]. In a
  fraction ``p_true_lattice`` of the training rows the clean lattice enters with c = 1 and no lattice
  loss; in the others it is noised as in ``joint_diffusion`` (DDPM, cosine schedule) with c = 0. So one
  network samples with ``lattice="generated"`` (DDPM on the lattice too) or ``lattice="true"`` (the
  test structure's own cell held fixed, the easier task).

Coordinates are noised and denoised exactly as in chapters 08-09: variance-exploding wrapped normal
on the torus, predictor-corrector sampling (``torus.py``; Song et al. 2021, Algorithm 2 style).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import checkpoint
from .checks import check_choice, check_config_fields, check_int, check_number, check_rng, check_seed
from .crystals import Crystal
from .diffusion import MAX_T, ve_sample
from .joint import HELMERT, JointDenoiser, lattice_params, params_to_lattice
from .joint_diffusion import build_denoiser, check_dataset, noise_schedules
from .joint_diffusion import encode as encode_joint
from .joint_sampling import ddpm_step_from_x0, predicted_z0
from .models import masked_mse
from .nn import blas_threads
from .pbc import wrap
from .torus import pc_sample, score_norm, score_target
from .training import History, fit

DATA = Path(__file__).resolve().parent / "data"
PRETRAINED_CSP = {"perov_5": DATA / "csp_perov_5.npz", "carbon_24": DATA / "csp_carbon_24.npz"}
LATTICE_MODES = ("generated", "true")


@dataclass
class CSPConfig:
    """Hyperparameters of the CSP model and its training (defaults: what the shipped weights use)."""

    n_freq: int = 4               # K Fourier frequencies of d_ij
    n_rbf: int = 8                # radial basis functions of r_ij in the cell metric
    embed: int = 16               # E, type embedding width
    hidden: int = 64              # H, MLP width
    T: int = 100                  # diffusion steps (coordinates and lattice)
    sigma_min: float = 0.005      # coordinate noise range (fractional), as torus.py and DiffCSP
    sigma_max: float = 0.5
    min_scale: float = 0.05       # floor of the lattice normalisation (perov-5: every cell is a cube, spread 0)
    p_true_lattice: float = 0.5   # fraction of training rows that see the clean lattice (flag c = 1)
    lr: float = 2e-3              # Adam, cosine decay to 0 over max_steps
    batch_size: int = 64
    max_steps: int = 3000
    seed: int = 0
    progress: bool = True
    blas_threads: int = 1

    def __post_init__(self):
        check_config_fields(self, ("n_freq", "n_rbf", "embed", "hidden", "T", "batch_size", "max_steps",
                                   "blas_threads"), ("min_scale", "lr"), fractions=("p_true_lattice",),
                            flags=("progress",), seeds=("seed",), sigma_range=("sigma_min", "sigma_max"))

    def build_model(self, dataset) -> JointDenoiser:
        """A fresh JointDenoiser (condition = the one "lattice given" flag) normalised to ``dataset``."""
        dataset = check_dataset(dataset)
        p = lattice_params(np.stack([c.lattice for c in dataset]))          # (S, 6)
        u = np.concatenate([p[:, :3] @ HELMERT.T, p[:, 3:]], axis=1)         # (S, 6) size, shape, cosines
        return build_denoiser(self, dataset, lambda vocab_size: 1, u.mean(axis=0),
                              np.maximum(u.std(axis=0), self.min_scale))


def encode(model: JointDenoiser, crystals):
    """``joint_diffusion.encode`` with the lattice normalised:
    frac (S, N, 3), mask (S, N), z (S, 6), one-hot (S, N, V)."""
    frac, mask, lat, onehot = encode_joint(model, crystals)
    return frac, mask, model.params_to_z(lat), onehot


def csp_step(model: JointDenoiser, data, schedules, config: CSPConfig, rng):
    """One training step with the composition given: (loss, dL/d(outputs), {"x", "lattice"}).

    B structures with replacement from ``data`` (:func:`encode`'s arrays), trimmed to the batch's
    largest cell; random translation; t ~ U{1..T}; VE noise on x; the lattice noised (c = 0) or given
    clean (c = 1, no lattice loss). ``schedules`` = ``joint_diffusion.noise_schedules(model, T)``.
    """
    frac, mask, z0_all, onehot_all = data
    sigmas, sched = schedules
    idx = rng.integers(0, len(frac), size=config.batch_size)
    B, N = len(idx), int(mask[idx].sum(axis=1).max())
    m, onehot = mask[idx, :N], onehot_all[idx, :N]
    x0 = wrap(frac[idx, :N] + rng.random((B, 1, 3)))         # (B, N, 3) random translation
    t = rng.integers(1, config.T + 1, size=B)
    x, dx = ve_sample(x0, sigmas[t], rng)                    # (B, N, 3) noisy coordinates
    z0, eps_l = z0_all[idx], rng.standard_normal((B, 6))
    ab = sched.alpha_bars[t][:, None]
    given = rng.random(B) < config.p_true_lattice            # (B,) rows that see the clean lattice
    zt = np.where(given[:, None], z0, np.sqrt(ab) * z0 + np.sqrt(1 - ab) * eps_l)  # (B, 6)
    out_x, out_l, out_a = model.forward(x, zt, onehot, sigmas[t], given[:, None].astype(float), m)
    loss_x, g_x = masked_mse(out_x, score_target(dx, sigmas[t], m), m)
    w = (~given).astype(float)[:, None]                      # lattice loss only where it was noised
    n_l = max(w.sum() * 6, 1.0)
    loss_l = float(np.sum(w * (out_l - eps_l) ** 2) / n_l)
    grads = (g_x, 2 * w * (out_l - eps_l) / n_l, np.zeros_like(out_a))  # no type loss: types are given
    return loss_x + loss_l, grads, {"x": loss_x, "lattice": loss_l}


def train_csp(model: JointDenoiser, dataset, config: CSPConfig | None = None, callback=None) -> History:
    """Train coordinates (and lattice) with the composition given: ``training.fit`` with :func:`csp_step`;
    returns a ``training.History`` (``records["x"]``, ``["lattice"]``). Budgets are in steps."""
    config = CSPConfig() if config is None else config
    if not isinstance(model, JointDenoiser) or model.cond_dim != 1:
        raise TypeError("model must be a JointDenoiser with cond_dim = 1 (from CSPConfig.build_model)")
    data, schedules = encode(model, dataset), noise_schedules(model, config.T)
    return fit(lambda rng: csp_step(model, data, schedules, config, rng), model, config, callback,
               rng=np.random.default_rng([config.seed, 10]), desc="training CSP model")


def coordinate_loss(model: JointDenoiser, crystals, seed: int = 0, T: int = 100) -> float:
    """The training loss on coordinates (``masked_mse`` of the normalised score) for ``crystals``, one draw
    of t, translation and noise from ``seed``, the clean lattice given (c = 1). Compares models on the
    same held-out batch; no parameters change."""
    seed = check_seed("seed", seed)
    x0, m, z0, onehot = encode(model, crystals)
    rng = np.random.default_rng([seed, 11])
    sigmas, _ = noise_schedules(model, T)
    B = len(x0)
    t = rng.integers(1, T + 1, size=B)
    x, dx = ve_sample(wrap(x0 + rng.random((B, 1, 3))), sigmas[t], rng)
    with blas_threads(1):
        out_x, _, _ = model.forward(x, z0, onehot, sigmas[t], np.ones((B, 1)), m)
    return float(masked_mse(out_x, score_target(dx, sigmas[t], m), m)[0])


def _sample_chunk(model, crystals, rng, lattice, T, corrector_steps, temperature):
    _, m, z_true, onehot = encode(model, crystals)
    S, N = m.shape
    sigmas, sched = noise_schedules(model, T)
    given = lattice == "true"
    cond = np.full((S, 1), float(given))
    x = rng.random((S, N, 3))                                  # (S, N, 3) uniform on the torus
    z = z_true.copy() if given else rng.standard_normal((S, 6))  # (S, 6) lattice: given or from the prior

    def score(x, t):
        sig = np.full(S, sigmas[t])
        ox, ol, _ = model.forward(x, z, onehot, sig, cond, m)
        return score_norm(sig)[:, None, None] * ox, ol         # score, predicted lattice noise

    def lattice_step(t, eps_l):  # DDPM step through the clipped predicted z_0 (as joint_sampling.sample_joint)
        nonlocal z
        if not given:
            z = ddpm_step_from_x0(z, predicted_z0(z, eps_l, sched, t), sched, t, rng)

    x = pc_sample(x, sigmas, score, rng, temperature, corrector_steps, before_noise=lattice_step)
    lattices = np.stack([c.lattice for c in crystals]) if given else safe_lattice(model.z_to_params(z))
    return [Crystal(L, x[s, :c.n_atoms], c.numbers) for s, (L, c) in enumerate(zip(lattices, crystals))]


def safe_lattice(params) -> np.ndarray:
    """``params_to_lattice`` row by row; a row whose angles admit no cell gets its cosines shrunk by 0.9
    until they do (a generated triclinic cell can land there; 0.9^k -> 0 is the cube's angles)."""
    params = np.array(params, dtype=float).reshape(-1, 6)    # (S, 6)
    out = np.empty((len(params), 3, 3))
    for s, p in enumerate(params):  # loop over structures
        for _ in range(60):
            try:
                out[s] = params_to_lattice(p)
                break
            except ValueError:
                p = np.r_[p[:3], 0.9 * p[3:]]
    return out


def sample_csp(model: JointDenoiser, targets, rng, lattice: str = "generated", T: int = 100,
               corrector_steps: int = 2, temperature: float = 0.5, chunk: int = 64) -> list[Crystal]:
    """One predicted Crystal per target Crystal, with the target's composition (and cell if ``lattice="true"``).

    Only the targets' atomic numbers (and, for ``lattice="true"``, their lattices) are read. Targets are
    sorted by atom count (stable) and sampled ``chunk`` at a time, each chunk padded to its largest cell;
    the same ``rng`` seed gives the same crystals, returned in the targets' order.
    """
    if not isinstance(model, JointDenoiser) or model.cond_dim != 1:
        raise TypeError("model must be a CSP JointDenoiser (cond_dim = 1; see CSPConfig.build_model)")
    check_choice("lattice", lattice, LATTICE_MODES)
    T = check_int("T", T, 2, MAX_T)
    corrector_steps = check_int("corrector_steps", corrector_steps, 0, 100)
    chunk = check_int("chunk", chunk, 1, 100_000)
    temperature = check_number("temperature", temperature, 0, 100, low_open=True)
    check_rng("rng", rng)
    targets = check_dataset(targets)
    order = np.argsort([c.n_atoms for c in targets], kind="stable")  # chunks of similar size: less padding
    out = [None] * len(targets)
    with blas_threads(1):
        for i in range(0, len(targets), chunk):                # loop over chunks of structures
            idx = order[i:i + chunk]
            for j, c in zip(idx, _sample_chunk(model, [targets[j] for j in idx], rng, lattice, T, corrector_steps,
                                               temperature)):
                out[j] = c
    return out


def load_csp(path="perov_5"):
    """``(model, meta)`` from a ``checkpoint.save`` file of a CSP model, or the shipped weights' dataset name
    ("perov_5", "carbon_24"); ``meta["train"]`` is the CSPConfig as a dict, ``meta["extra"]`` what training
    recorded (steps, seconds)."""
    path = PRETRAINED_CSP.get(path, path) if isinstance(path, str) else path
    return checkpoint.load(path, JointDenoiser, "CSP model")
