"""Joint diffusion of coordinates, lattice and atom types, with classifier-free guidance.

Three noise processes share one time step t = 1..T (DiffCSP, Jiao et al. 2023, sec. 3):

* **coordinates** x on the torus: variance-exploding wrapped normal, x_t = wrap(x_0 + sigma_t z),
  sigma_t geometric from 0.005 to 0.5 (``torus.py``); the network predicts the normalised score.
* **lattice** as 6 rotation-invariant numbers (``joint.lattice_params``: log lengths and cosines),
  normalised, with the variance-preserving DDPM process l_t = sqrt(abar_t) l_0 + sqrt(1 - abar_t) eps
  (Ho et al. 2020, eq. 4; cosine schedule); the network predicts eps.
* **atom types** as continuous one-hot vectors (V,) with the same DDPM process; the sample's type is
  the argmax at the end. Here the network predicts the clean one-hot a_0 instead of eps: near t = 0
  eps = (a_t - round(a_t)) / sqrt(1 - abar_t) is a steep sawtooth a small MLP cannot fit (measured:
  the eps loss stalled and samples mixed random elements); both give the same DDPM step through a_0.
  We chose this over masked (absorbing-state) diffusion (Austin et al. 2021; MatterGen, Zeni et al.
  2025) because it reuses the lattice's process, loss and sampler line for line; masked diffusion
  needs a categorical process and a cross-entropy loss of its own.

Condition c = [density feature, density given, chemical-system multi-hot (V), system given]
(``condition_vector``). Training drops each part at random (``p_drop``), so one network is both
conditional and unconditional (c = 0). Sampling mixes them, classifier-free guidance (Ho &
Salimans 2022, eq. 6): out = out_uncond + w (out_cond - out_uncond); w = 0 is the unconditional
model exactly, w = 1 the conditional one, w > 1 pushes harder towards the condition.

This module holds the configuration, the training data and conditions, and the training step
(``joint_step``, run by ``training.fit``); sampling is in ``joint_sampling.py`` and the
species-aware prototype match in ``physics.py``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import checkpoint
from .checks import (
    MAX_CONFIG_INT,
    check_array,
    check_config_fields,
    check_crystal_list,
    check_instance,
    check_int,
    check_number,
    check_rng,
)
from .crystals import Crystal
from .datasets import binary_dataset
from .diffusion import cosine_schedule, geometric_sigmas, ve_sample
from .joint import HELMERT, JointDenoiser, lattice_params, params_to_lattice
from .models import masked_mse
from .pbc import wrap
from .torus import score_target
from .training import History, fit, pad_batch

__all__ = ["JointConfig", "training_set", "condition_vector", "encode", "build_denoiser", "noise_schedules",
           "joint_step", "train_joint", "load_joint", "trained_density_range", "lattice_params", "params_to_lattice",
           "PRETRAINED_JOINT"]

PRETRAINED_JOINT = Path(__file__).resolve().parent / "data" / "joint_binary.npz"
DENSITY_REF = 4.0     # g/cm^3: the density feature is log(D / 4) / 1.0, about -1.4 .. 1 on the data
MAX_TRAIN_DENSITY = 15.0
ATOM_COUNTS = (2, 4, 8)   # the atom counts the shipped model is trained on (and the sampler's choices)
# MAX_TRAIN_DENSITY: Au and W (19.3 g/cm^3) sit at the validity limit of 20 and are left out


def training_set(max_density: float = MAX_TRAIN_DENSITY, atom_counts=ATOM_COUNTS) -> list[Crystal]:
    """``binary_dataset()`` cells with ``atom_counts`` atoms and density below ``max_density`` g/cm^3.

    The sampler fixes the atom count, so the model learns only the counts it will be asked for
    (2: CsCl and BCC; 4: FCC; 8: rock salt, zinc blende, diamond). With fluorite's 12-atom cell in
    the set, 8-atom samples took its Ca:F = 1:2 composition (measured: a third of them). Au and W
    (19.3 g/cm^3) would make samples cross the validity limit of 20 g/cm^3 when the cell shrinks 1%.
    """
    max_density = check_number("max_density", max_density, 0, 1000, low_open=True)  # g/cm^3
    return [c for c in binary_dataset().values() if c.n_atoms in atom_counts and c.density < max_density]


@dataclass
class JointConfig:
    """Hyperparameters of the joint model and its training (defaults: what shipped weights use)."""

    n_freq: int = 4               # K Fourier frequencies of d_ij
    n_rbf: int = 8                # radial basis functions of r_ij in the cell metric
    embed: int = 16               # E, type embedding width
    hidden: int = 64              # H, MLP width (~45k parameters)
    T: int = 100                  # shared diffusion steps
    sigma_min: float = 0.005      # coordinate noise range (fractional), as torus.py
    sigma_max: float = 0.5
    shape_scale: float = 0.05     # the lattice's shape parts and cosines are divided by this: they are 0 for
                                  # every cube, so this sets how far from cubic the prior strays
    strain: float = 0.15          # training cells are scaled by exp(U(-strain, strain)): density x 0.64..1.57,
                                  # so the density condition is learned over a continuous range (synthetic!)
    p_drop: float = 0.5           # each condition part (density, system) is dropped with this probability,
                                  # so p_drop^2 = 25% of the batches train the unconditional model
    weight_lattice: float = 1.0   # loss = L_x + weight_lattice L_lattice + weight_types L_types
    weight_types: float = 1.0
    lr: float = 2e-3              # Adam, cosine decay to 0 over max_steps
    batch_size: int = 32
    max_steps: int = 3000
    max_seconds: float = 600.0
    seed: int = 0
    progress: bool = True
    blas_threads: int = 1

    def __post_init__(self):
        check_config_fields(self, ("n_freq", "n_rbf", "embed", "hidden", "T", "batch_size", "max_steps",
                                   "blas_threads"), ("shape_scale", "lr", "max_seconds"),
                            ("strain", "weight_lattice", "weight_types"), flags=("progress",), seeds=("seed",),
                            sigma_range=("sigma_min", "sigma_max"))
        if check_number("p_drop", self.p_drop, 0, 1, high_open=True) >= 1:
            raise ValueError(f"p_drop must be below 1, got {self.p_drop}")

    def build_model(self, dataset) -> JointDenoiser:
        """A fresh JointDenoiser whose vocabulary and lattice normalisation come from ``dataset``."""
        size = np.array([HELMERT[0] @ np.log(np.linalg.norm(c.lattice, axis=1)) for c in dataset])  # (S,)
        spread = np.sqrt(size.var() + 3 * self.strain ** 2 / 3)  # data and strain (U(-s, s) has variance s^2/3)
        shift = np.r_[size.mean(), [0.0] * 5]
        scale = np.r_[max(spread, 0.05), [self.shape_scale] * 5]
        return build_denoiser(self, dataset, lambda vocab_size: vocab_size + 3, shift, scale)


def check_dataset(dataset) -> list:
    """``dataset`` as a list, checked: a non-empty list of Crystals with at least 2 atoms each."""
    return check_crystal_list("dataset", dataset, min_atoms=2)


def build_denoiser(config, dataset, cond_dim, lat_shift, lat_scale) -> JointDenoiser:
    """A fresh JointDenoiser of ``config``'s architecture (JointConfig or CSPConfig; weights from its seed)
    over the elements of ``dataset``; ``cond_dim(V)`` gives the condition width for a vocabulary of V."""
    vocab = sorted({int(z) for c in check_dataset(dataset) for z in c.numbers})
    return JointDenoiser(vocab, cond_dim(len(vocab)), lat_shift, lat_scale, config.n_freq, config.n_rbf,
                         config.embed, config.hidden, config.sigma_min, config.sigma_max,
                         rng=np.random.default_rng(config.seed))


def noise_schedules(model, T: int):
    """The T-step noise of a joint denoiser: coordinate sigmas (T + 1,) (``geometric_sigmas``, sigmas[0] = 0)
    and the cosine DDPM schedule of lattice and types; step t pairs sigmas[t] with alpha_bar_t."""
    return geometric_sigmas(T, model.sigma_min, model.sigma_max), cosine_schedule(T)


def _symbols_to_numbers(elements):
    from ase.data import atomic_numbers
    if isinstance(elements, str):
        elements = [s.strip() for s in elements.split(",") if s.strip()]
    out = []
    for s in elements:
        if s not in atomic_numbers or s == "X":
            raise ValueError(f"elements: unknown element symbol {s!r}; expected symbols such as 'Na,Cl'")
        out.append(atomic_numbers[s])
    return out


def condition_vector(model, density=None, elements=None, n: int = 1) -> np.ndarray:
    """c (n, V + 3): [log(D / 4), 1, multi-hot of the elements over the vocabulary, 1]; None parts are 0.

    ``density`` in g/cm^3 (a number or an (n,) array), ``elements`` symbols ("Na,Cl" or ["Na", "Cl"]) or
    atomic numbers, which must all be in the model's vocabulary.
    """
    check_instance("model", model, JointDenoiser)
    n = check_int("n", n, 1, MAX_CONFIG_INT)
    V = model.vocab_size
    c = np.zeros((n, V + 3))
    if density is not None:
        d = np.broadcast_to(check_array("density", density, [(), (n,)], low=0, low_open=True), (n,))  # g/cm^3
        c[:, 0], c[:, 1] = np.log(d / DENSITY_REF), 1.0
    if elements is not None:
        numbers = [int(z) for z in elements] if not isinstance(elements, str) and all(
            isinstance(z, (int, np.integer)) for z in elements) else _symbols_to_numbers(elements)
        missing = sorted(set(numbers) - set(model.vocab.tolist()))
        if not numbers or missing:
            from ase.data import chemical_symbols
            raise ValueError(f"elements must be non-empty and in the model's vocabulary "
                             f"{[chemical_symbols[z] for z in model.vocab]}, got unknown {missing or elements!r}")
        c[:, 2 + np.searchsorted(model.vocab, numbers)] = 1.0
        c[:, -1] = 1.0
    return c


def encode(model: JointDenoiser, crystals):
    """Padded arrays of a batch of crystals for the joint denoiser (joint and CSP modes alike):
    frac (S, N, 3) in [0, 1), mask (S, N), lattice parameters (S, 6) (``lattice_params``) and one-hot
    types (S, N, V) over the model's vocabulary; padded atoms are 0."""
    crystals = check_dataset(crystals)
    frac, mask = pad_batch(crystals)                          # (S, N, 3), (S, N)
    lat = lattice_params(np.stack([c.lattice for c in crystals]))  # (S, 6)
    onehot = np.zeros(mask.shape + (model.vocab_size,))      # (S, N, V)
    for s, c in enumerate(crystals):  # loop over structures
        unknown = set(c.numbers.tolist()) - set(model.vocab.tolist())
        if unknown:
            raise ValueError(f"dataset[{s}] ({c.formula}) has elements {sorted(unknown)} outside the model's "
                             "vocabulary")
        onehot[s, np.arange(c.n_atoms), np.searchsorted(model.vocab, c.numbers)] = 1.0
    return wrap(frac), mask, lat, onehot


def training_condition(model, density, onehot, p_drop: float, rng) -> np.ndarray:
    """c (B, V + 3) of a training batch: its density and chemical system, each part dropped (set to 0)
    with probability ``p_drop``, independently, so that one network learns p(x | c) and p(x)."""
    p_drop = check_number("p_drop", p_drop, 0, 1, high_open=True)
    check_rng("rng", rng)
    B = len(onehot)
    cond = np.concatenate([condition_vector(model, density, n=B)[:, :2], np.zeros((B, model.vocab_size + 1))],
                          axis=1)
    cond[:, 2:-1] = onehot.max(axis=1)                       # chemical system: elements present
    cond[:, -1] = 1.0
    cond[:, :2] *= (rng.random(B) >= p_drop)[:, None]        # drop the density ...
    cond[:, 2:] *= (rng.random(B) >= p_drop)[:, None]        # ... and the system, independently
    return cond


def joint_step(model: JointDenoiser, data, schedules, config: JointConfig, rng):
    """One training step of the three heads together: (loss, dL/d(outputs), {"x", "lattice", "types"}).

    B structures with replacement from ``data`` (``encode``'s arrays and the masses (S,)), ``schedules``
    = (sigmas (T + 1,), the cosine DDPM schedule) of :func:`noise_schedules`; random
    translation; random scale exp(U(-strain, strain)) of the cell (so the density condition varies
    continuously); t ~ U{1..T}; noise on all three parts; the condition parts dropped at random.
    """
    frac, mask, lat, onehot, mass = data
    sigmas, sched = schedules
    idx = rng.integers(0, len(frac), size=config.batch_size)
    B, m, a0 = len(idx), mask[idx], onehot[idx]
    x0 = wrap(frac[idx] + rng.random((B, 1, 3)))             # (B, N, 3) random translation
    lat0 = lat[idx].copy()
    lat0[:, :3] += rng.uniform(-config.strain, config.strain, size=B)[:, None]  # (B, 6) lengths times e^u
    cond = training_condition(model, mass[idx] / np.abs(np.linalg.det(params_to_lattice(lat0))), a0,
                              config.p_drop, rng)
    t = rng.integers(1, config.T + 1, size=B)
    x, dx = ve_sample(x0, sigmas[t], rng)                    # (B, N, 3) noisy coordinates
    z0 = model.params_to_z(lat0)                             # (B, 6) normalised lattice
    eps_l, eps_a = rng.standard_normal(z0.shape), rng.standard_normal(a0.shape) * m[..., None]
    ab = sched.alpha_bars[t]
    zt = np.sqrt(ab)[:, None] * z0 + np.sqrt(1 - ab)[:, None] * eps_l                # (B, 6)
    at = np.sqrt(ab)[:, None, None] * a0 + np.sqrt(1 - ab)[:, None, None] * eps_a    # (B, N, V)
    out_x, out_l, out_a = model.forward(x, zt, at, sigmas[t], cond, m)
    loss_x, g_x = masked_mse(out_x, score_target(dx, sigmas[t], m), m)
    loss_l = float(np.mean((out_l - eps_l) ** 2))            # the lattice head predicts eps
    diff_a = (out_a - a0) * m[..., None]                     # the type head predicts the clean one-hot a_0,
    loss_a = float(np.sum(diff_a ** 2) / m.sum())            # squared error summed over V, mean over atoms
    grads = (g_x, config.weight_lattice * 2 * (out_l - eps_l) / out_l.size, config.weight_types * 2 * diff_a / m.sum())
    loss = loss_x + config.weight_lattice * loss_l + config.weight_types * loss_a
    return loss, grads, {"x": loss_x, "lattice": loss_l, "types": loss_a}


def train_joint(model: JointDenoiser, dataset, config: JointConfig | None = None, callback=None) -> History:
    """Train the three heads together: ``training.fit`` with :func:`joint_step`; returns a ``training.History``
    (``history.records["x"]``, ``["lattice"]``, ``["types"]``: the three losses). ``callback(step, history)``
    returning True stops early."""
    config = JointConfig() if config is None else config
    if not isinstance(model, JointDenoiser):
        raise TypeError(f"model must be a JointDenoiser, got {type(model).__name__}")
    dataset = check_dataset(dataset)
    mass = np.array([c.density * c.volume for c in dataset])  # (S,) density x volume, g/cm^3 Å^3
    data = (*encode(model, dataset), mass)
    schedules = noise_schedules(model, config.T)
    return fit(lambda rng: joint_step(model, data, schedules, config, rng), model, config, callback,
               rng=np.random.default_rng([config.seed, 1]), desc="training joint model")


# --- weights on disk ------------------------------------------------------------------------------
def load_joint(path=None):
    """``(model, config)`` from a ``checkpoint.save(path, model, config)`` file of the joint model (default:
    the shipped weights); ``config`` is its JointConfig, or None."""
    model, meta = checkpoint.load(PRETRAINED_JOINT if path is None else path, JointDenoiser, "joint-model")
    config = JointConfig(**meta["train"]) if meta.get("train") else None
    if config is not None:
        model.T = config.T  # the steps it was trained with: sample_joint samples with the same T
    return model, config


# --- the conditions the model was trained on ------------------------------------------------------
def trained_density_range(config: JointConfig | None = None) -> tuple[float, float]:
    """(low, high) g/cm^3: the densities the model saw in training, ``training_set()`` stretched by the
    random cell scaling exp(U(-strain, strain)) (density x exp(-+3 strain)). Conditions outside are
    extrapolation: the CLI refuses them."""
    strain = (JointConfig() if config is None else config).strain
    density = np.array([c.density for c in training_set()])          # (S,) g/cm^3
    return float(density.min() * np.exp(-3 * strain)), float(density.max() * np.exp(3 * strain))
