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

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .checks import check_config_fields
from .crystals import Crystal
from .diffusion import cosine_schedule, geometric_sigmas, ve_sample
from .files import atomic_path
from .joint import HELMERT, JointDenoiser, lattice_params, params_to_lattice
from .joint_diffusion import Z_CLIP
from .models import masked_mse
from .nn import Adam, blas_threads, load_checkpoint, save_checkpoint
from .pbc import wrap
from .torus import score_norm, score_target

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
                                   "blas_threads"), ("min_scale", "lr"))
        if not 0 <= self.p_true_lattice <= 1:
            raise ValueError(f"p_true_lattice must lie in [0, 1], got {self.p_true_lattice!r}")
        if not 0 < self.sigma_min < self.sigma_max <= 1:
            raise ValueError(f"need 0 < sigma_min < sigma_max <= 1, got {self.sigma_min}, {self.sigma_max}")

    def build_model(self, dataset) -> JointDenoiser:
        """A fresh JointDenoiser (condition = the one "lattice given" flag) normalised to ``dataset``."""
        dataset = _check_dataset(dataset)
        vocab = sorted({int(z) for c in dataset for z in c.numbers})
        p = lattice_params(np.stack([c.lattice for c in dataset]))          # (S, 6)
        u = np.concatenate([p[:, :3] @ HELMERT.T, p[:, 3:]], axis=1)         # (S, 6) size, shape, cosines
        return JointDenoiser(vocab, 1, u.mean(axis=0), np.maximum(u.std(axis=0), self.min_scale), self.n_freq,
                             self.n_rbf, self.embed, self.hidden, self.sigma_min, self.sigma_max,
                             rng=np.random.default_rng(self.seed))


def _check_dataset(dataset) -> list:
    dataset = list(dataset)
    if not dataset or not all(isinstance(c, Crystal) and c.n_atoms >= 2 for c in dataset):
        raise ValueError("dataset must be a non-empty list of Crystals with at least 2 atoms each")
    return dataset


def encode(model: JointDenoiser, crystals):
    """Padded arrays: frac (S, N, 3), mask (S, N), normalised lattice z (S, 6), one-hot types (S, N, V)."""
    crystals = _check_dataset(crystals)
    S, N, V = len(crystals), max(c.n_atoms for c in crystals), model.vocab_size
    x0, mask, onehot = np.zeros((S, N, 3)), np.zeros((S, N), dtype=bool), np.zeros((S, N, V))
    for s, c in enumerate(crystals):  # loop over structures
        unknown = set(c.numbers.tolist()) - set(model.vocab.tolist())
        if unknown:
            raise ValueError(f"crystals[{s}] ({c.formula}) has elements {sorted(unknown)} outside the model's vocabulary")
        x0[s, :c.n_atoms], mask[s, :c.n_atoms] = wrap(c.frac_coords), True
        onehot[s, np.arange(c.n_atoms), np.searchsorted(model.vocab, c.numbers)] = 1.0
    z0 = model.params_to_z(lattice_params(np.stack([c.lattice for c in crystals])))  # (S, 6)
    return x0, mask, z0, onehot


def train_csp(model: JointDenoiser, dataset, config: CSPConfig | None = None, callback=None) -> dict:
    """Train coordinates (and lattice) with the composition given; {"losses": (steps, 3) [total, x, lattice], "seconds"}.

    Each step: B structures with replacement, trimmed to the batch's largest cell; random translation;
    t ~ U{1..T}; VE noise on x; the lattice noised (c = 0) or given clean (c = 1, no lattice loss).
    ``callback(step, loss)`` returning True stops early. Budgets are in steps.
    """
    config = CSPConfig() if config is None else config
    if not isinstance(model, JointDenoiser) or model.cond_dim != 1:
        raise TypeError("model must be a JointDenoiser with cond_dim = 1 (from CSPConfig.build_model)")
    x0_all, mask_all, z0_all, onehot_all = encode(model, dataset)
    counts = mask_all.sum(axis=1)
    sigmas, sched = geometric_sigmas(config.T, model.sigma_min, model.sigma_max), cosine_schedule(config.T)
    rng = np.random.default_rng([config.seed, 10])
    optimizer = Adam(model.parameters(), lr=config.lr)
    from tqdm.auto import tqdm
    bar = tqdm(total=config.max_steps, desc="training CSP model", disable=not config.progress, leave=False)
    losses, seconds, start = [], [], time.perf_counter()
    with blas_threads(config.blas_threads):
        for step in range(config.max_steps):
            optimizer.lr = 0.5 * config.lr * (1 + np.cos(np.pi * step / config.max_steps))
            idx = rng.integers(0, len(x0_all), size=config.batch_size)
            B, N = len(idx), int(counts[idx].max())
            m, onehot = mask_all[idx, :N], onehot_all[idx, :N]
            x0 = wrap(x0_all[idx, :N] + rng.random((B, 1, 3)))   # (B, N, 3) random translation
            t = rng.integers(1, config.T + 1, size=B)
            x, dx = ve_sample(x0, sigmas[t], rng)                  # (B, N, 3) noisy coordinates
            z0, eps_l = z0_all[idx], rng.standard_normal((B, 6))
            ab = sched.alpha_bars[t][:, None]
            given = rng.random(B) < config.p_true_lattice          # (B,) rows that see the clean lattice
            zt = np.where(given[:, None], z0, np.sqrt(ab) * z0 + np.sqrt(1 - ab) * eps_l)  # (B, 6)
            out_x, out_l, out_a = model.forward(x, zt, onehot, sigmas[t], given[:, None].astype(float), m)
            loss_x, g_x = masked_mse(out_x, score_target(dx, sigmas[t], m), m)
            w = (~given).astype(float)[:, None]                    # lattice loss only where it was noised
            n_l = max(w.sum() * 6, 1.0)
            loss_l = float(np.sum(w * (out_l - eps_l) ** 2) / n_l)
            loss = loss_x + loss_l
            if not np.isfinite(loss):
                raise FloatingPointError(f"training diverged at step {step}; lower lr = {config.lr:g}")
            model.backward(g_x, 2 * w * (out_l - eps_l) / n_l, np.zeros_like(out_a))
            optimizer.step(model.gradients())
            losses.append((loss, loss_x, loss_l))
            seconds.append(time.perf_counter() - start)
            bar.update(1)
            if callback is not None and callback(step, loss):
                break
    bar.close()
    return {"losses": np.array(losses), "seconds": np.array(seconds)}


def coordinate_loss(model: JointDenoiser, crystals, seed: int = 0, T: int = 100) -> float:
    """The training loss on coordinates (``masked_mse`` of the normalised score) for ``crystals``, one draw
    of t, translation and noise from ``seed``, the clean lattice given (c = 1). Compares models on the
    same held-out batch; no parameters change."""
    x0, m, z0, onehot = encode(model, crystals)
    rng = np.random.default_rng([seed, 11])
    sigmas = geometric_sigmas(T, model.sigma_min, model.sigma_max)
    B = len(x0)
    t = rng.integers(1, T + 1, size=B)
    x, dx = ve_sample(wrap(x0 + rng.random((B, 1, 3))), sigmas[t], rng)
    with blas_threads(1):
        out_x, _, _ = model.forward(x, z0, onehot, sigmas[t], np.ones((B, 1)), m)
    return float(masked_mse(out_x, score_target(dx, sigmas[t], m), m)[0])


def _sample_chunk(model, crystals, rng, lattice, T, corrector_steps, temperature):
    x_true, m, z_true, onehot = encode(model, crystals)
    S, N, _ = x_true.shape
    sigmas, sched = geometric_sigmas(T, model.sigma_min, model.sigma_max), cosine_schedule(T)
    given = lattice == "true"
    cond = np.full((S, 1), float(given))
    g = 1.0 / temperature
    x = rng.random((S, N, 3))                                  # (S, N, 3) uniform on the torus
    z = z_true.copy() if given else rng.standard_normal((S, 6))  # (S, 6) lattice: given or from the prior

    def score(x, z, t):
        sig = np.full(S, sigmas[t])
        ox, ol, _ = model.forward(x, z, onehot, sig, cond, m)
        return score_norm(sig)[:, None, None] * ox, ol

    for t in range(T, 0, -1):                                  # loop over steps, not atoms
        for _ in range(corrector_steps):                       # Langevin corrector on coordinates
            e = sigmas[t] ** 2 / g
            s, _ = score(x, z, t)
            x = wrap(x + e * g * s + np.sqrt(2 * e) * rng.standard_normal(x.shape))
        s, eps_l = score(x, z, t)
        var = sigmas[t] ** 2 - sigmas[t - 1] ** 2
        x = x + var * g * s                                    # reverse-diffusion predictor
        if not given:  # DDPM step through the clipped predicted z_0 (as joint_diffusion.sample_joint)
            ab, c1, c2 = sched.alpha_bars[t], sched.posterior_mean_coef1[t], sched.posterior_mean_coef2[t]
            z0 = np.clip((z - np.sqrt(1 - ab) * eps_l) / np.sqrt(ab), -Z_CLIP, Z_CLIP)
            z = c1 * z0 + c2 * z
            if t > 1:
                z = z + np.sqrt(sched.posterior_variance[t]) * rng.standard_normal(z.shape)
        if t > 1:
            x = x + np.sqrt(var) * rng.standard_normal(x.shape)
        x = wrap(x)
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
    if lattice not in LATTICE_MODES:
        raise ValueError(f"lattice must be one of {LATTICE_MODES}, got {lattice!r}")
    for name, value, low in (("T", T, 2), ("corrector_steps", corrector_steps, 0), ("chunk", chunk, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not temperature > 0:
        raise ValueError(f"temperature must be a positive number, got {temperature!r}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a np.random.Generator, got {type(rng).__name__}")
    targets = _check_dataset(targets)
    order = np.argsort([c.n_atoms for c in targets], kind="stable")  # chunks of similar size: less padding
    out = [None] * len(targets)
    with blas_threads(1):
        for i in range(0, len(targets), chunk):                # loop over chunks of structures
            idx = order[i:i + chunk]
            for j, c in zip(idx, _sample_chunk(model, [targets[j] for j in idx], rng, lattice, T, corrector_steps,
                                               temperature)):
                out[j] = c
    return out


def save_csp(path, model: JointDenoiser, config: CSPConfig | None = None, extra: dict | None = None) -> Path:
    """Weights (float32), architecture and CSPConfig in one ``.npz``, written atomically."""
    if not isinstance(model, JointDenoiser):
        raise TypeError(f"model must be a JointDenoiser, got {type(model).__name__}")
    path = Path(path)
    meta = {"model": model.config(), "train": asdict(config) if config is not None else None, "extra": extra or {}}
    with atomic_path(path) as tmp:
        save_checkpoint(tmp, model, meta, np.float32)
    return path


def load_csp(path="perov_5"):
    """``(model, meta)`` from a ``save_csp`` file or the shipped weights' dataset name ("perov_5", "carbon_24")."""
    path = PRETRAINED_CSP.get(path, path) if isinstance(path, str) else path
    return load_checkpoint(path, lambda meta: JointDenoiser(**meta["model"]), "CSP model")
