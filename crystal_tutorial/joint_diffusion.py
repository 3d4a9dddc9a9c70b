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
  the eps loss stalled and samples mixed random elements); both give the same DDPM step through a_0. We chose this over masked (absorbing-state) diffusion (Austin et al. 2021;
  MatterGen, Zeni et al. 2025) because it reuses the lattice's process, loss and sampler line for
  line; masked diffusion needs a categorical process and a cross-entropy loss of its own.

Condition c = [density feature, density given, chemical-system multi-hot (V), system given]
(``condition_vector``). Training drops each part at random (``p_drop``), so one network is both
conditional and unconditional (c = 0). Sampling mixes them, classifier-free guidance (Ho &
Salimans 2022, eq. 6): out = out_uncond + w (out_cond - out_uncond); w = 0 is the unconditional
model exactly, w = 1 the conditional one, w > 1 pushes harder towards the condition.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .checks import check_config_fields
from .crystals import Crystal
from .datasets import binary_dataset
from .diffusion import cosine_schedule, geometric_sigmas, ve_sample
from .joint import JointDenoiser, lattice_params, params_to_lattice
from .models import masked_mse
from .nn import Adam, blas_threads, load_checkpoint, save_checkpoint
from .pbc import wrap
from .sampling import check_model_T
from .torus import score_norm, score_target

__all__ = ["JointConfig", "training_set", "condition_vector", "train_joint", "guided_outputs", "sample_joint",
           "save_joint", "load_joint", "prototype_key", "species_match", "trained_density_range",
           "lattice_params", "params_to_lattice", "PRETRAINED_JOINT"]

PRETRAINED_JOINT = Path(__file__).resolve().parent / "data" / "joint_binary.npz"
DENSITY_REF = 4.0     # g/cm^3: the density feature is log(D / 4) / 1.0, about -1.4 .. 1 on the data
Z_CLIP = 4.0          # sampling clips the predicted normalised lattice to +-4 (training data: within +-2.5)
MAX_TRAIN_DENSITY = 15.0
ATOM_COUNTS = (2, 4, 8)   # the atom counts the shipped model is trained on (and the sampler's choices)  # Au and W (19.3 g/cm^3) sit at the validity limit of 20 and are left out


def training_set(max_density: float = MAX_TRAIN_DENSITY, atom_counts=ATOM_COUNTS) -> list[Crystal]:
    """``binary_dataset()`` cells with ``atom_counts`` atoms and density below ``max_density`` g/cm^3.

    The sampler fixes the atom count, so the model learns only the counts it will be asked for
    (2: CsCl and BCC; 4: FCC; 8: rock salt, zinc blende, diamond). With fluorite's 12-atom cell in
    the set, 8-atom samples took its Ca:F = 1:2 composition (measured: a third of them). Au and W
    (19.3 g/cm^3) would make samples cross the validity limit of 20 g/cm^3 when the cell shrinks 1%.
    """
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
                            ("strain", "p_drop", "weight_lattice", "weight_types"))
        if self.p_drop >= 1:
            raise ValueError(f"p_drop must be below 1, got {self.p_drop}")
        if not 0 < self.sigma_min < self.sigma_max <= 1:
            raise ValueError(f"need 0 < sigma_min < sigma_max <= 1, got {self.sigma_min}, {self.sigma_max}")

    def build_model(self, dataset) -> JointDenoiser:
        """A fresh JointDenoiser whose vocabulary and lattice normalisation come from ``dataset``."""
        vocab = sorted({int(z) for c in dataset for z in c.numbers})
        from .joint import HELMERT
        size = np.array([HELMERT[0] @ np.log(np.linalg.norm(c.lattice, axis=1)) for c in dataset])  # (S,)
        spread = np.sqrt(size.var() + 3 * self.strain ** 2 / 3)  # data and strain (U(-s, s) has variance s^2/3)
        shift = np.r_[size.mean(), [0.0] * 5]
        scale = np.r_[max(spread, 0.05), [self.shape_scale] * 5]
        return JointDenoiser(vocab, len(vocab) + 3, shift, scale, self.n_freq, self.n_rbf, self.embed,
                             self.hidden, self.sigma_min, self.sigma_max, rng=np.random.default_rng(self.seed))


def _schedules(model, T):
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
    V = model.vocab_size
    c = np.zeros((n, V + 3))
    if density is not None:
        d = np.broadcast_to(np.asarray(density, dtype=float), (n,))
        if not np.all(np.isfinite(d)) or np.any(d <= 0):
            raise ValueError(f"density must be a positive number of g/cm^3, got {density!r}")
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


def _encode(model, dataset):
    """Padded arrays of the training set: x0 (S, N, 3), mask (S, N), lattice params (S, 6), one-hot (S, N, V)."""
    from .training import pad_batch
    x0, mask = pad_batch(dataset)
    lat = lattice_params(np.stack([c.lattice for c in dataset]))  # (S, 6)
    onehot = np.zeros(mask.shape + (model.vocab_size,))
    for s, c in enumerate(dataset):  # loop over structures
        unknown = set(c.numbers.tolist()) - set(model.vocab.tolist())
        if unknown:
            raise ValueError(f"dataset[{s}] ({c.formula}) has elements {sorted(unknown)} outside the vocabulary")
        onehot[s, np.arange(c.n_atoms), np.searchsorted(model.vocab, c.numbers)] = 1.0
    mass = np.array([c.density * c.volume for c in dataset])  # (S,) density x volume, g/cm^3 Å^3
    return x0, mask, lat, onehot, mass


def train_joint(model: JointDenoiser, dataset, config: JointConfig | None = None, callback=None) -> dict:
    """Train the three heads together; returns {"losses": (steps, 4) [total, x, lattice, types], "seconds"}.

    Each step: B structures with replacement; random translation; random scale s = exp(U(-strain,
    strain)) of the cell (so the density condition varies continuously); t ~ U{1..T}; noise on all
    three parts; condition parts dropped with probability ``p_drop`` each. ``callback(step, loss)``
    returning True stops early.
    """
    config = JointConfig() if config is None else config
    if not isinstance(model, JointDenoiser):
        raise TypeError(f"model must be a JointDenoiser, got {type(model).__name__}")
    dataset = list(dataset)
    if not dataset or not all(isinstance(c, Crystal) and c.n_atoms >= 2 for c in dataset):
        raise ValueError("dataset must be a non-empty list of Crystals with at least 2 atoms each")
    x0_all, mask_all, lat_all, onehot_all, mass_all = _encode(model, dataset)
    sigmas, sched = _schedules(model, config.T)
    rng = np.random.default_rng([config.seed, 1])
    optimizer = Adam(model.parameters(), lr=config.lr)
    from tqdm.auto import tqdm
    bar = tqdm(total=config.max_steps, desc="training joint model", disable=not config.progress, leave=False)
    losses, seconds, start = [], [], time.perf_counter()
    with blas_threads(config.blas_threads):
        for step in range(config.max_steps):
            optimizer.lr = 0.5 * config.lr * (1 + np.cos(np.pi * step / config.max_steps))
            idx = rng.integers(0, len(dataset), size=config.batch_size)
            B = len(idx)
            m, onehot = mask_all[idx], onehot_all[idx]
            x0 = wrap(x0_all[idx] + rng.random((B, 1, 3)))   # (B, N, 3) random translation
            u = rng.uniform(-config.strain, config.strain, size=B)  # log scale of the cell
            lat0 = lat_all[idx].copy()
            lat0[:, :3] += u[:, None]                        # (B, 6) all lengths times e^u
            density = mass_all[idx] / np.abs(np.linalg.det(params_to_lattice(lat0)))
            cond = np.concatenate([condition_vector(model, density, n=B)[:, :2],
                                   np.zeros((B, model.vocab_size + 1))], axis=1)
            cond[:, 2:-1] = onehot.max(axis=1)               # chemical system: elements present
            cond[:, -1] = 1.0
            cond[:, :2] *= (rng.random(B) >= config.p_drop)[:, None]   # drop the density ...
            cond[:, 2:] *= (rng.random(B) >= config.p_drop)[:, None]   # ... and the system, independently
            t = rng.integers(1, config.T + 1, size=B)
            x, dx = ve_sample(x0, sigmas[t], rng)            # (B, N, 3) noisy coordinates
            z0 = model.params_to_z(lat0)                     # (B, 6) normalised lattice
            eps_l, eps_a = rng.standard_normal(z0.shape), rng.standard_normal(onehot.shape) * m[..., None]
            ab = sched.alpha_bars[t]
            zt = np.sqrt(ab)[:, None] * z0 + np.sqrt(1 - ab)[:, None] * eps_l
            at = np.sqrt(ab)[:, None, None] * onehot + np.sqrt(1 - ab)[:, None, None] * eps_a
            out_x, out_l, out_a = model.forward(x, zt, at, sigmas[t], cond, m)
            loss_x, g_x = masked_mse(out_x, score_target(dx, sigmas[t], m), m)
            loss_l = float(np.mean((out_l - eps_l) ** 2))
            g_l = config.weight_lattice * 2 * (out_l - eps_l) / out_l.size
            diff_a = (out_a - onehot) * m[..., None]       # types: the network predicts the clean one-hot x_0
            n_a = m.sum()                                   # squared error summed over V, averaged over atoms
            loss_a = float(np.sum(diff_a ** 2) / n_a)
            g_a = config.weight_types * 2 * diff_a / n_a
            loss = loss_x + config.weight_lattice * loss_l + config.weight_types * loss_a
            if not np.isfinite(loss):
                raise FloatingPointError(f"training diverged at step {step}; lower lr = {config.lr:g}")
            model.backward(g_x, g_l, g_a)
            optimizer.step(model.gradients())
            losses.append((loss, loss_x, loss_l, loss_a))
            seconds.append(time.perf_counter() - start)
            bar.update(1)
            if step % 50 == 0:
                bar.set_postfix(loss=f"{np.mean([row[0] for row in losses[-50:]]):.3f}")
            if (callback is not None and callback(step, loss)) or seconds[-1] >= config.max_seconds:
                break
    bar.close()
    return {"losses": np.array(losses), "seconds": np.array(seconds)}


def guided_outputs(model, x, zt, at, sigma, cond, mask=None, guidance: float = 1.0):
    """Classifier-free guidance: out_u + w (out_c - out_u) for all three heads (Ho & Salimans 2022, eq. 6).

    ``guidance`` w = 0 runs only the unconditional model (c = 0), so it equals it exactly.
    """
    if isinstance(guidance, bool) or not isinstance(guidance, (int, float)) or not np.isfinite(guidance) \
            or guidance < 0:
        raise ValueError(f"guidance must be a number >= 0, got {guidance!r}")
    uncond = np.zeros_like(cond)
    if guidance == 0:
        return model.forward(x, zt, at, sigma, uncond, mask)
    B = len(x)
    m2 = None if mask is None else np.concatenate([mask, mask])
    both = model.forward(np.concatenate([x, x]), np.concatenate([zt, zt]), np.concatenate([at, at]),
                         np.concatenate([sigma, sigma]), np.concatenate([cond, uncond]), m2)
    return tuple(o[B:] + guidance * (o[:B] - o[B:]) for o in both)


def sample_joint(model: JointDenoiser, n_atoms: int, n_samples: int, rng, density=None, elements=None,
                 guidance: float = 1.0, temperature: float = 0.5, corrector_steps: int = 5, T: int | None = None,
                 record: bool = False):
    """Generate ``n_samples`` crystals of ``n_atoms`` atoms, each with its own lattice and species.

    Reverse process from the priors (uniform coordinates, N(0, I) lattice and types), t = T..1:
    coordinates by the reverse-diffusion predictor with ``corrector_steps`` Langevin moves and score
    multiplier 1 / ``temperature`` (``torus.sample_torus``; 5 corrector steps at 0.5 were measured
    best for 8 atoms with the shipped weights: 90% valid and 75% prototype match at symprec 0.25 Å,
    against 57% and 0% with 1 corrector step; 2 and 4 atoms are not hurt); lattice and types by ancestral DDPM steps
    (Ho et al. 2020, Algorithm 2, written through the predicted x_0, which is clipped to the data range). All three use the guided outputs. ``record=True`` also returns the
    trajectory of (lattices (T+1, S, 3, 3), frac (T+1, S, N, 3)).

    ``T`` must be the number of steps the model was trained with: step t pairs the coordinate noise
    sigma_t with the lattice and type noise alpha_bar_t of a T-step schedule, and the network has
    learned that pairing. ``T=None`` takes the model's ``T`` (set by ``load_joint`` from the saved
    JointConfig), else 100 (JointConfig's default); a different ``T`` is refused (``check_model_T``).
    """
    if not isinstance(model, JointDenoiser):
        raise TypeError(f"model must be a JointDenoiser, got {type(model).__name__}")
    if T is None:
        T = getattr(model, "T", None) or JointConfig.T
    for name, value, low in (("n_atoms", n_atoms, 2), ("n_samples", n_samples, 1), ("T", T, 2),
                             ("corrector_steps", corrector_steps, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    check_model_T(model, T, "T", hint="pass T=None to use the model's own T")
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not temperature > 0:
        raise ValueError(f"temperature must be a positive number, got {temperature!r}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a np.random.Generator, got {type(rng).__name__}")
    S, N, V = n_samples, n_atoms, model.vocab_size
    cond = condition_vector(model, density, elements, n=S)
    guided_outputs(model, np.zeros((1, 2, 3)), np.zeros((1, 6)), np.zeros((1, 2, V)), np.ones(1), cond[:1],
                   guidance=guidance)                        # validates guidance before the loop
    sigmas, sched = _schedules(model, T)
    g = 1.0 / temperature
    x = rng.random((S, N, 3))                                # (S, N, 3) uniform on the torus
    z = rng.standard_normal((S, 6))                          # (S, 6) lattice prior
    a = rng.standard_normal((S, N, V))                       # (S, N, V) type prior
    traj = []

    def outputs(x, z, a, t):
        sig = np.full(S, sigmas[t])
        ox, ol, oa = guided_outputs(model, x, z, a, sig, cond, guidance=guidance)
        return score_norm(sig)[:, None, None] * ox, ol, oa  # score, eps_l, predicted one-hot a_0

    def decode(z):
        return params_to_lattice(model.z_to_params(z))

    for t in range(T, 0, -1):                                # loop over steps, not atoms
        if record:
            traj.append((decode(z), x.copy()))
        for _ in range(corrector_steps):                     # Langevin corrector on coordinates
            e = sigmas[t] ** 2 / g
            s, _, _ = outputs(x, z, a, t)
            x = wrap(x + e * g * s + np.sqrt(2 * e) * rng.standard_normal(x.shape))
        s, eps_l, a0_hat = outputs(x, z, a, t)
        var = sigmas[t] ** 2 - sigmas[t - 1] ** 2
        x = x + var * g * s
        # DDPM step through the predicted x_0, clipped to the data range (Ho et al.'s clip_denoised):
        # x0_hat = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t); mean = coef1 x0_hat + coef2 x_t (eq. 7)
        ab, c1, c2 = sched.alpha_bars[t], sched.posterior_mean_coef1[t], sched.posterior_mean_coef2[t]
        z0 = np.clip((z - np.sqrt(1 - ab) * eps_l) / np.sqrt(ab), -Z_CLIP, Z_CLIP)
        a0 = np.clip(a0_hat, 0.0, 1.0)                      # one-hot entries lie in [0, 1]
        z, a = c1 * z0 + c2 * z, c1 * a0 + c2 * a
        if t > 1:
            x = x + np.sqrt(var) * rng.standard_normal(x.shape)
            z = z + np.sqrt(sched.posterior_variance[t]) * rng.standard_normal(z.shape)
            a = a + np.sqrt(sched.posterior_variance[t]) * rng.standard_normal(a.shape)
        x = wrap(x)
    lattices = decode(z)                                     # (S, 3, 3)
    numbers = model.vocab[np.argmax(a, axis=-1)]             # (S, N) argmax of the continuous one-hot
    crystals = [Crystal(L, f, n) for L, f, n in zip(lattices, x, numbers)]
    if record:
        traj.append((lattices, x.copy()))
        return crystals, (np.array([l for l, _ in traj]), np.array([f for _, f in traj]))
    return crystals


# --- prototype matching with species ---------------------------------------------------------------
def prototype_key(crystal: Crystal, symprec: float = 0.1):
    """(space group, sorted ((atoms of a species in the conventional cell, its Wyckoff orbits), ...)) or None.

    Species-blind but pattern-aware: NaCl and MgO share (225, ((4, 1), (4, 1))), Cu has
    (225, ((4, 1),)) and CaF2 (225, ((4, 1), (8, 1))), so a rock-salt sample matches a rock-salt
    prototype only if its two species alternate (otherwise spglib finds a lower symmetry). Wyckoff
    letters are not compared: they depend on the origin (FCC sits on 4a or, shifted by half a
    cell, on the equivalent 4b). From spglib's dataset (``physics.symmetry_dataset``).
    """
    from .physics import symmetry_dataset
    ds = symmetry_dataset(crystal, symprec)
    if ds is None:
        return None
    orbits = np.unique(ds.equivalent_atoms)                  # one representative atom per orbit
    std_types = np.asarray(ds.std_types)
    per_species = [(int(np.sum(std_types == z)), int(np.sum(crystal.numbers[orbits] == z)))
                   for z in np.unique(crystal.numbers)]      # loop over species (a handful)
    return int(ds.number), tuple(sorted(per_species))


def species_match(samples, reference, symprec: float = 0.1) -> np.ndarray:
    """(n,) bool: sample k has the ``prototype_key`` of some reference crystal (e.g. the training set)."""
    keys = {prototype_key(c, 0.01) for c in reference} - {None}
    return np.array([prototype_key(c, symprec) in keys for c in samples])


# --- weights on disk ------------------------------------------------------------------------------
def save_joint(path, model: JointDenoiser, config: JointConfig | None = None, dtype=np.float64) -> Path:
    """Weights, architecture, vocabulary and JointConfig in one ``.npz`` (JSON metadata, no pickle)."""
    if not isinstance(model, JointDenoiser):
        raise TypeError(f"model must be a JointDenoiser, got {type(model).__name__}")
    meta = {"model": model.config(), "train": asdict(config) if config is not None else None}
    return save_checkpoint(path, model, meta, dtype)


def load_joint(path=None):
    """``(model, config)`` from a ``save_joint`` file (default: the shipped weights), ``allow_pickle=False``."""
    model, meta = load_checkpoint(PRETRAINED_JOINT if path is None else path,
                                  lambda meta: JointDenoiser(**meta["model"]), "joint-model")
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
