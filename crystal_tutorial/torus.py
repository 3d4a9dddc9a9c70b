"""Diffusion on the torus: VE wrapped-normal training and reverse sampling for the pairwise denoiser.

Noise (variance exploding, Song & Ermon 2019; on the torus as in DiffCSP, Jiao et al. 2023):
x_sigma = wrap(x_0 + sigma z), z ~ N(0, I), with sigma between ``sigma_min`` = 0.005 (0.025 Å in a
5 Å cell) and ``sigma_max`` = 0.5, where the wrapped normal is uniform to within 1% (its first
Fourier coefficient is exp(-2 pi^2 sigma^2) = 0.007). Sampling therefore starts from uniform positions.

Target: the score of the wrapped normal, s(d, sigma) = d/dd log sum_k N(d + k; 0, sigma^2)
(``diffusion.wrapped_normal_score``), divided by its root mean square
lambda(sigma) = sqrt(E_d[s(d, sigma)^2]) (as DiffCSP does), so that the target has unit variance at
every noise level. For small sigma, s / lambda = -z: the network predicts the (negated) noise.
We subtract each structure's mean over atoms from the target: a shift of the whole crystal cannot
be predicted (the model is translation invariant, its outputs sum to zero) and the loss is then 0
for a perfect model.

Sampling: the reverse-diffusion predictor of Song et al. (2021, sec. 4.2), wrapped after every move,
x_{i-1} = wrap(x_i + (sigma_i^2 - sigma_{i-1}^2) g s_theta + sqrt(sigma_i^2 - sigma_{i-1}^2) z),
with Langevin corrector moves (their predictor-corrector sampling) and a score multiplier g = 1 / temperature:
g > 1 sharpens the learned density (p^g), which trades diversity for cleaner structures. ``pc_step`` is
that step and ``pc_sample`` the loop over noise levels; the pairwise, joint and CSP samplers all use them.
Training: ``score_step`` is the model's loss-and-gradients step, run by ``training.fit``.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from . import checkpoint
from .checks import check_config_fields, check_instance, check_int, check_lattice, check_number, check_rng
from .crystals import DEMO_LATTICE_A, DEMO_NUMBER, Crystal
from .diffusion import MAX_T, geometric_sigmas, ve_sample, wrapped_normal_pdf, wrapped_normal_score
from .models import masked_mse
from .nn import blas_threads
from .pairwise import PairwiseDenoiser
from .pbc import wrap
from .training import History, fit, pad_batch

PRETRAINED = Path(__file__).resolve().parent / "data" / "pairwise_demo.npz"

MAX_PAIR_ATOMS = 1000  # atoms per sample: the pairwise model's work grows as N^2
MAX_PAIRS = 4_000_000  # S x N x N atom pairs per network call: (S, N, N, F) features of at most ~0.5 GB


# --- the normalised wrapped-normal score -----------------------------------------------------------
@lru_cache(maxsize=1)
def _norm_table(n_sigma: int = 128, n_grid: int = 800):
    """lambda(sigma)^2 = integral over [-1/2, 1/2) of p(d) s(d)^2, by the midpoint rule, on a log grid of sigma."""
    sig = np.geomspace(0.02, 1.0, n_sigma)                   # (S,)
    d = (np.arange(n_grid) + 0.5) / n_grid - 0.5             # (G,) midpoints
    p = wrapped_normal_pdf(d[None, :], sig[:, None])         # (S, G)
    s = wrapped_normal_score(d[None, :], sig[:, None])       # (S, G)
    return np.log(sig), 0.5 * np.log((p * s * s).sum(axis=1) / n_grid)


def score_norm(sigma) -> np.ndarray:
    """lambda(sigma) = sqrt(E[s(d, sigma)^2]) for d ~ wrapped normal(0, sigma^2), elementwise.

    Below sigma = 0.02 the wrapped normal is a Gaussian to machine precision and lambda = 1/sigma;
    above, quadrature on a table of 128 noise levels, interpolated linearly in log-log (relative
    error < 1e-3; training and sampling use the same function, so the error cancels). 0 < sigma <= 1.
    """
    sigma = np.asarray(sigma, dtype=float)
    if not np.all(np.isfinite(sigma)) or np.any(sigma <= 0) or np.any(sigma > 1.0):
        raise ValueError(f"sigma must lie in (0, 1], got {sigma if sigma.size < 6 else (sigma.min(), sigma.max())}")
    log_s, log_l = _norm_table()
    small = sigma < 0.02
    out = np.exp(np.interp(np.log(np.where(small, 0.02, sigma)), log_s, log_l))
    return np.where(small, 1.0 / sigma, out)


def score_target(d, sigma, mask=None) -> np.ndarray:
    """Training target: s(d, sigma) / lambda(sigma), centred over each structure's real atoms.

    ``d`` (B, N, 3) raw displacements sigma z (``ve_sample``'s second output), ``sigma`` (B,),
    ``mask`` (B, N). Padded atoms get 0.
    """
    d, sigma = np.asarray(d, dtype=float), np.asarray(sigma, dtype=float)
    mask = np.ones(d.shape[:2], dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    s = wrapped_normal_score(d, sigma[:, None, None]) / score_norm(sigma)[:, None, None]  # (B, N, 3)
    m = mask[..., None]                                                                   # (B, N, 1)
    mean = (s * m).sum(axis=1, keepdims=True) / m.sum(axis=1, keepdims=True)              # (B, 1, 3)
    return (s - mean) * m


def model_score(model, x, sigma, mask=None) -> np.ndarray:
    """The score estimate lambda(sigma) * model(x, sigma): d/dx log p_sigma(x), (B, N, 3)."""
    sigma = np.broadcast_to(np.asarray(sigma, dtype=float), (np.shape(x)[0],))
    return score_norm(sigma)[:, None, None] * model.forward(x, sigma, mask)


# --- training ------------------------------------------------------------------------------------
@dataclass
class TorusConfig:
    """Architecture and training hyperparameters of the pairwise denoiser (defaults: the measured recipe)."""

    n_freq: int = 4               # K Fourier frequencies per axis (resolves the quarter offsets of diamond)
    hidden: int = 48              # width of psi and phi: about 13k parameters with K = 4
    message_passing: bool = True  # the per-atom environment h_i; without it BCC and diamond suffer
    sigma_min: float = 0.005      # smallest noise, fractional units (0.025 Å at a = 5 Å)
    sigma_max: float = 0.5        # largest noise: the wrapped normal is then nearly uniform
    lr: float = 2e-3              # Adam step size at the start ...
    lr_decay: str = "steps"       # ... decayed to 0 along a cosine over max_steps ("steps": a function of the
                                  # step, reproducible), over max_seconds ("time": for live demos only, NOT
                                  # reproducible: the step count depends on the machine's load), or kept ("none")
    batch_size: int = 32          # structures per step, drawn with replacement, padded to the largest
    max_steps: int = 2400         # Adam steps: the budget (about 105 steps/s measured on 2 busy cores: ~23 s) ...
    max_seconds: float = 30.0     # ... or this much training time (callbacks excluded), whichever comes first;
                                  # a run stopped by time is not reproducible
    translate: bool = True        # random translation of every training structure (a no-op for this
                                  # translation-invariant model; it makes the data invariant too)
    seed: int = 0                 # initial weights, batches, noise levels and noise
    progress: bool = True         # tqdm progress bar
    blas_threads: int = 1         # one BLAS thread is fastest for these small matrices

    def __post_init__(self):
        check_config_fields(self, ("n_freq", "hidden", "batch_size", "max_steps", "blas_threads"),
                            ("lr", "max_seconds"), flags=("message_passing", "progress"), seeds=("seed",),
                            choices={"lr_decay": ("steps", "time", "none")}, sigma_range=("sigma_min", "sigma_max"))

    def build_model(self) -> PairwiseDenoiser:
        """A freshly initialised PairwiseDenoiser of this architecture (weights from ``seed``)."""
        return PairwiseDenoiser(self.n_freq, self.hidden, self.message_passing, self.sigma_min, self.sigma_max,
                                rng=np.random.default_rng(self.seed))


def score_step(model: PairwiseDenoiser, frac, mask, config: TorusConfig, rng):
    """One training step of the pairwise denoiser, the normalised wrapped-normal score loss: (loss, dL/d(output)).

    B structures drawn with replacement from ``frac`` (S, N, 3) / ``mask`` (S, N), each shifted by a
    uniform random translation, log sigma ~ U(log sigma_min, log sigma_max), x = wrap(x_0 + sigma z),
    loss = masked MSE between model(x, sigma) and ``score_target``. ``training.fit`` backpropagates.
    """
    idx = rng.integers(0, len(frac), size=config.batch_size)
    x0, m = frac[idx], mask[idx]                             # (B, N, 3), (B, N)
    if config.translate:
        x0 = wrap(x0 + rng.random((len(idx), 1, 3)))         # same shift for all atoms of a structure
    log_lo, log_hi = np.log(config.sigma_min), np.log(config.sigma_max)
    sigma = np.exp(rng.uniform(log_lo, log_hi, size=len(idx)))  # (B,) log-uniform
    x, d = ve_sample(x0, sigma, rng)                         # (B, N, 3) noisy positions, raw displacement
    out = model.forward(x, sigma, m)                         # (B, N, 3)
    return masked_mse(out, score_target(d, sigma, m), m)     # loss, dL/d(out)


def train_torus(model: PairwiseDenoiser, dataset, config: TorusConfig | None = None, callback=None) -> History:
    """Train ``model`` on ``dataset`` (list of Crystals): ``training.fit`` with :func:`score_step`.

    Stops after ``max_steps`` or ``max_seconds`` of training time, or when ``callback(step, history)``
    returns True (``history.stopped_by`` says which). With ``lr_decay="steps"`` the learning rate is a
    function of the step, so a run that ends by steps is reproducible: the same config gives the same
    weights. Divergence raises FloatingPointError naming the learning rate (``training.fit``).
    """
    config = TorusConfig() if config is None else config
    if not isinstance(model, PairwiseDenoiser):
        raise TypeError(f"model must be a PairwiseDenoiser, got {type(model).__name__}")
    dataset = [c for c in dataset if c.n_atoms > 1]          # one atom has no pairs: nothing to learn
    if not dataset:
        raise ValueError("dataset needs at least one structure with two or more atoms")
    frac, mask = pad_batch(dataset)                          # (S, N, 3), (S, N)
    return fit(lambda rng: score_step(model, frac, mask, config, rng), model, config, callback,
               rng=np.random.default_rng([config.seed, 1]))  # a stream separate from the weights'


# --- sampling ------------------------------------------------------------------------------------
SCORE_BOUND = 1e6   # |score| * sigma of a wrapped normal is |d| / sigma <= 0.5 / sigma_min = 100 here; far above


def _plausible(score_and_out, sigma):
    """The network call's ``(score, out)``, or FloatingPointError if the score is not one a trained denoiser gives.

    A damaged weights file (e.g. weights times 1e30) gives finite but absurd scores (~1e179) whose moves wrap
    every atom to the same point: without this check the run would finish with 0% match and no word.
    """
    score, out = score_and_out
    worst = float(np.max(np.abs(score), initial=0.0)) * float(sigma)
    if not np.isfinite(worst) or worst > SCORE_BOUND:
        raise FloatingPointError(f"the model's score times sigma reaches {worst:.3g} at sigma = {float(sigma):.3g} "
                                 f"(a trained denoiser stays below {SCORE_BOUND:g}): damaged or diverged weights")
    return score, out


def pc_step(x, sigma, sigma_next, score_fn, rng, temperature: float = 1.0, corrector_steps: int = 1,
            corrector_step: float = 1.0, before_noise=None):
    """One predictor-corrector step on the torus, from noise level ``sigma`` down to ``sigma_next``.

    Predictor-corrector sampling of Song et al. (2021, Algorithm 2, VE SDE), on the torus as in DiffCSP
    (Jiao et al. 2023, Algorithm 2), with the score multiplied by g = 1 / ``temperature``:

    1. ``corrector_steps`` Langevin corrector moves at level sigma (Song & Ermon 2019, Algorithm 1),
       x <- wrap(x + e g s(x) + sqrt(2 e) z), with step size e = ``corrector_step`` * sigma^2 / g;
    2. the reverse-diffusion predictor (Song et al. 2021, eq. 47), with v = sigma^2 - sigma_next^2,
       x <- wrap(x + v g s(x) + sqrt(v) z), without the noise when sigma_next = 0 (the last step).

    ``x`` (S, N, 3) fractional coordinates; z ~ N(0, I) from ``rng``. ``score_fn(x)`` returns
    ``(score, out)``: the score estimate (S, N, 3) and anything else of that network call (the joint
    model's lattice and type heads; None for the pairwise model). Returns ``(x, out)`` with ``out`` from
    the predictor's call. ``before_noise(out)``, if given, runs after the predictor's move and before its
    noise is drawn (the CSP sampler's lattice step runs there, so that its noise is drawn first).
    """
    g = 1.0 / check_number("temperature", temperature, 0, 100, low_open=True)
    corrector_steps = check_int("corrector_steps", corrector_steps, 0, 100)
    corrector_step = check_number("corrector_step", corrector_step, 0, 10, low_open=True)
    for _ in range(corrector_steps):                         # Langevin corrector at level sigma
        e = corrector_step * sigma ** 2 / g
        s, _ = _plausible(score_fn(x), sigma)
        x = wrap(x + e * g * s + np.sqrt(2 * e) * rng.standard_normal(x.shape))
    s, out = _plausible(score_fn(x), sigma)
    var = sigma ** 2 - sigma_next ** 2                       # variance removed by this step
    x = x + var * g * s                                      # (S, N, 3) predictor move
    if before_noise is not None:
        before_noise(out)
    if sigma_next > 0:
        x = x + np.sqrt(var) * rng.standard_normal(x.shape)
    return wrap(x), out


def pc_sample(x, sigmas, score_fn, rng, temperature: float = 1.0, corrector_steps: int = 1,
              corrector_step: float = 1.0, after_step=None, before_noise=None, record: bool = False):
    """The reverse-diffusion loop: :func:`pc_step` from ``sigmas[-1]`` down to ``sigmas[0]`` = 0.

    ``x`` (S, N, 3) the prior sample (uniform on the torus), ``sigmas`` (n + 1,) increasing noise levels
    with ``sigmas[0] = 0`` (``diffusion.geometric_sigmas``), ``score_fn(x, i)`` -> (score, out) at level
    ``sigmas[i]``. ``after_step(i, x, out)`` runs after each step, ``before_noise(i, out)`` inside it
    (see :func:`pc_step`): the joint and CSP samplers move their lattice and types there. Returns the
    final x, or ``(x, trajectory)`` with ``record=True``: (n + 1, S, N, 3), noisiest first. Runs with
    one BLAS thread (faster for these sizes; the numbers do not change).
    """
    trajectory = [x.copy()] if record else None
    with blas_threads(1):
        for i in range(len(sigmas) - 1, 0, -1):                  # loop over noise levels, not atoms
            x, out = pc_step(x, sigmas[i], sigmas[i - 1], lambda x: score_fn(x, i), rng, temperature,
                             corrector_steps, corrector_step,
                             None if before_noise is None else (lambda out: before_noise(i, out)))
            if after_step is not None:
                after_step(i, x, out)
            if record:
                trajectory.append(x.copy())
    return (x, np.array(trajectory)) if record else x


def sample_torus(model: PairwiseDenoiser, n_atoms: int, n_samples: int, rng, n_steps: int = 200,
                 temperature: float = 0.5, corrector_steps: int = 4, corrector_step: float = 1.0,
                 lattice=None, number: int = DEMO_NUMBER, record: bool = False):
    """Reverse diffusion on the torus from uniform positions; returns a list of Crystals.

    ``n_steps`` geometric noise levels from the model's sigma_max down to sigma_min (200 measured
    clearly better than 100 for 8 atoms after 30 s of training; 100 is enough for the shipped
    weights and twice as fast), then a last noise-free step to sigma_0 = 0 (Tweedie's denoising step x +
    sigma_1^2 s). ``temperature`` tau:
    the score is multiplied by g = 1/tau (tau = 0.5 is the measured sweet spot, tau = 1 the plain
    sampler). ``corrector_steps`` Langevin moves x <- wrap(x + e g s + sqrt(2 e) z) per level (0 turns
    the corrector off), with e = ``corrector_step`` * sigma_i^2 / g: near a site, where
    s = -d / sigma_i^2, one move pulls an atom the fraction ``corrector_step`` of the way in (stable
    below 2; about 1 measured best). ``lattice`` defaults to the 5 Å cubic demo cell.
    ``record=True`` also returns the trajectory (n_steps + 1, n_samples, n_atoms, 3) of fractional
    coordinates, noisiest first. The model sees the noise level sigma itself, not a step index, so
    it carries no T and any ``n_steps`` is consistent with it (``sampling.check_model_T`` guards the
    step-indexed models).
    """
    check_instance("model", model, PairwiseDenoiser)
    n_atoms = check_int("n_atoms", n_atoms, 1, MAX_PAIR_ATOMS)
    n_samples = check_int("n_samples", n_samples, 1, MAX_PAIRS // n_atoms**2)  # (S, N, N, F) pair features
    n_steps = check_int("n_steps", n_steps, 1, MAX_T)
    corrector_steps = check_int("corrector_steps", corrector_steps, 0, 100)
    temperature = check_number("temperature", temperature, 0, 100, low_open=True)
    corrector_step = check_number("corrector_step", corrector_step, 0, 10, low_open=True)
    check_rng("rng", rng)
    number = check_int("number", number, 1, 118)
    lattice = np.eye(3) * DEMO_LATTICE_A if lattice is None else check_lattice("lattice", lattice)  # (3, 3) Å
    sigmas = geometric_sigmas(n_steps, model.sigma_min, model.sigma_max)  # (n_steps + 1,), sigmas[0] = 0
    x = rng.random((n_samples, n_atoms, 3))  # (S, N, 3) uniform prior on the torus
    out = pc_sample(
        x,
        sigmas,
        lambda x, i: (model_score(model, x, sigmas[i]), None),
        rng,
        temperature,
        corrector_steps,
        corrector_step,
        record=record,
    )
    x, trajectory = out if record else (out, None)
    crystals = [Crystal(lattice, f, np.full(n_atoms, number)) for f in x]
    return (crystals, trajectory) if record else crystals


# --- weights on disk -----------------------------------------------------------------------------
def load_model(path=None):
    """``(model, config)`` from a ``checkpoint.save(path, model, config)`` file of the pairwise model
    (default: the shipped pretrained weights). ``config`` is the TorusConfig used for training, or None."""
    model, meta = checkpoint.load(PRETRAINED if path is None else path, PairwiseDenoiser, "pairwise-model")
    return model, (TorusConfig(**meta["train"]) if meta.get("train") else None)
