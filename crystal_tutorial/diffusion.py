"""Forward diffusion: noise schedules, the closed form q(x_t | x_0), the posterior, noise on the torus.

Time index convention (every function here, the sampler and notebook 02 use it)
-------------------------------------------------------------------------------
Time runs t = 0, 1, ..., T as in Ho et al. (2020): t = 0 is the data x_0 and t = T the noisiest
step. Every per-step array of a :class:`Schedule` has length T + 1 and is indexed by t itself, so
``schedule.alpha_bars[t]`` is alpha_bar_t and ``schedule.betas[t]`` is beta_t. Entry 0 stands for
"no noise yet" (beta_0 = 0, alpha_bar_0 = 1); the posterior arrays are unused at t = 0.

* :func:`q_sample` takes t in 0..T (t = 0 returns x_0 itself).
* :func:`posterior` takes t in 1..T: it gives q(x_{t-1} | x_t, x_0).
* Training draws t uniformly from 1..T. Ancestral sampling loops t = T, T-1, ..., 1 and draws
  x_{t-1} at each step; at t = 1 the posterior variance is 0, so the last step adds no noise.

Noise on the torus
------------------
Fractional coordinates live on the torus [0, 1)^3 (opposite faces glued). Two treatments:

* **naive** (the hello-world's): DDPM in R^3 on centred coordinates x = frac - 0.5
  (:func:`to_centered`), wrapped back into the cell only at the end (:func:`from_centered`).
* **wrapped normal** (variance exploding, as in DiffCSP, Jiao et al. 2023, and MatterGen, Zeni et
  al. 2025): x_t = wrap(x_0 + sigma_t z). The density of the displacement d is the wrapped normal
  p(d) = sum_k N(d + k; 0, sigma^2), a sum over periodic images k; its score d/dd log p(d) is the
  denoising target (:func:`wrapped_normal_score`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .checks import check_array, check_instance, check_int, check_number, check_rng, check_timesteps
from .pbc import wrap

MAX_T = 100_000  # largest number of diffusion steps (Ho et al. used 1,000)
MAX_SIGMA = 100.0  # largest wrapped-normal sigma (fractional units): beyond ~1.2 it is uniform anyway


def _coords(name, x):
    return check_array(name, x, [("N", 3), ("B", "N", 3)])  # (N, 3) or (B, N, 3)


def _steps(t, T, x, low):
    """t as an int array of shape () or (B,), every value in low..T, matching the batch of x."""
    return check_timesteps("t", t, low, T, x.shape[0] if x.ndim == 3 else None)


def _per_structure(values):
    """(B,) per-structure values -> (B, 1, 1) so they broadcast over atoms and xyz; () stays ()."""
    return values[:, None, None] if np.ndim(values) == 1 else values


def _noise(noise, x, rng):
    """``noise`` checked against x's shape, or a fresh draw from ``rng`` when noise is None."""
    if noise is None:
        return check_rng("rng (or pass noise)", rng).standard_normal(x.shape)
    return check_array("noise", noise, x.shape)


# --- schedules -----------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Schedule:
    """A DDPM noise schedule with its precomputed arrays, each of length T + 1 and indexed by t.

    ``alphas = 1 - betas``, ``alpha_bars[t] = prod_{s<=t} alphas[s]``, ``alpha_bars_prev[t] =
    alpha_bars[t-1]``; the posterior q(x_{t-1} | x_t, x_0) has mean ``posterior_mean_coef1[t] * x_0
    + posterior_mean_coef2[t] * x_t`` and variance ``posterior_variance[t]`` (Ho et al. 2020, eq. 7).
    Build one with :func:`linear_schedule`, :func:`cosine_schedule` or :func:`schedule_from_betas`.
    """

    T: int
    betas: np.ndarray
    alphas: np.ndarray
    alpha_bars: np.ndarray
    alpha_bars_prev: np.ndarray
    sqrt_alpha_bars: np.ndarray
    sqrt_one_minus_alpha_bars: np.ndarray
    posterior_mean_coef1: np.ndarray
    posterior_mean_coef2: np.ndarray
    posterior_variance: np.ndarray
    name: str = "custom"

    @property
    def snr(self) -> np.ndarray:
        """Signal-to-noise ratio alpha_bar_t / (1 - alpha_bar_t), (T + 1,); infinite at t = 0."""
        with np.errstate(divide="ignore"):
            return self.alpha_bars / (1.0 - self.alpha_bars)

    def q_sample(self, x0, t, rng=None, noise=None):
        """Same as :func:`q_sample` with this schedule."""
        return q_sample(self, x0, t, rng=rng, noise=noise)

    def posterior(self, x0, xt, t):
        """Same as :func:`posterior` with this schedule."""
        return posterior(self, x0, xt, t)

    def __repr__(self) -> str:
        return f"Schedule({self.name}, T={self.T}, alpha_bar_T={self.alpha_bars[-1]:.3g})"


def schedule_from_betas(betas, name: str = "custom") -> Schedule:
    """A :class:`Schedule` from beta_1..beta_T (length T), each in (0, 1), non-decreasing."""
    b = check_array("betas", betas, ("T",), low=0, high=1, low_open=True, high_open=True)  # (T,) beta_1..beta_T
    if not 1 <= b.size <= MAX_T:
        raise ValueError(f"betas must hold T = 1..{MAX_T} values (beta_1..beta_T), got {b.size}")
    if np.any(np.diff(b) < -1e-12):
        raise ValueError("betas must be non-decreasing (noise is added faster and faster), "
                         f"but beta drops at t = {int(np.argmax(np.diff(b) < -1e-12)) + 2}")
    betas = np.concatenate([[0.0], b])                      # (T+1,) beta_0 = 0: no noise at t = 0
    alphas = 1.0 - betas                                    # (T+1,)
    alpha_bars = np.cumprod(alphas)                         # (T+1,) alpha_bar_0 = 1
    alpha_bars_prev = np.concatenate([[1.0], alpha_bars[:-1]])  # (T+1,) alpha_bar_{t-1}
    one_minus = 1.0 - alpha_bars                            # (T+1,) 0 at t = 0
    safe = np.where(one_minus > 0, one_minus, 1.0)          # avoid 0/0 at t = 0 (entry unused)
    coef1 = np.where(one_minus > 0, np.sqrt(alpha_bars_prev) * betas / safe, 0.0)           # eq. 7
    coef2 = np.where(one_minus > 0, np.sqrt(alphas) * (1.0 - alpha_bars_prev) / safe, 0.0)  # eq. 7
    variance = np.where(one_minus > 0, (1.0 - alpha_bars_prev) / safe * betas, 0.0)         # eq. 7
    arrays = dict(betas=betas, alphas=alphas, alpha_bars=alpha_bars, alpha_bars_prev=alpha_bars_prev,
                  sqrt_alpha_bars=np.sqrt(alpha_bars), sqrt_one_minus_alpha_bars=np.sqrt(one_minus),
                  posterior_mean_coef1=coef1, posterior_mean_coef2=coef2, posterior_variance=variance)
    for arr in arrays.values():
        arr.setflags(write=False)
    return Schedule(T=b.size, name=name, **arrays)


def linear_schedule(T: int = 100, beta_start: float = 1e-4, beta_end: float = 0.02) -> Schedule:
    """Betas evenly spaced from ``beta_start`` to ``beta_end`` (Ho et al. 2020, sec. 4).

    The defaults are the hello-world's (T = 100); Ho et al. used the same betas with T = 1000.
    """
    T = check_int("T", T, 1, MAX_T)
    beta_start = check_number("beta_start", beta_start, 0, 1, low_open=True, high_open=True)
    beta_end = check_number("beta_end", beta_end, 0, 1, low_open=True, high_open=True)
    if beta_end < beta_start:
        raise ValueError(f"beta_end ({beta_end}) must be >= beta_start ({beta_start})")
    return schedule_from_betas(np.linspace(beta_start, beta_end, T), name=f"linear(T={T})")


def cosine_schedule(T: int = 100, s: float = 0.008, max_beta: float = 0.999) -> Schedule:
    """The cosine schedule of Nichol & Dhariwal (2021), eq. 17.

    alpha_bar_t = f(t) / f(0) with f(t) = cos^2((t/T + s) / (1 + s) * pi/2); then
    beta_t = 1 - alpha_bar_t / alpha_bar_{t-1}, clipped at ``max_beta`` so the last step is not
    singular (their sec. 3.2). The small offset ``s`` keeps beta_1 from being too small.
    """
    T = check_int("T", T, 1, MAX_T)
    s = check_number("s", s, 0, 1)  # a small offset (0.008)
    max_beta = check_number("max_beta", max_beta, 0, 1, low_open=True, high_open=True)
    f = np.cos((np.arange(T + 1) / T + s) / (1 + s) * np.pi / 2) ** 2  # (T+1,)
    betas = np.minimum(1.0 - f[1:] / f[:-1], max_beta)                 # (T,) beta_1..beta_T
    return schedule_from_betas(betas, name=f"cosine(T={T})")


# --- the forward process -------------------------------------------------------------------------
def q_step(schedule: Schedule, x_prev, t, rng=None, noise=None) -> np.ndarray:
    """One Markov step x_t = sqrt(1 - beta_t) x_{t-1} + sqrt(beta_t) eps (Ho et al. 2020, eq. 2).

    ``x_prev`` (N, 3) or (B, N, 3); ``t`` in 1..T, a scalar or (B,). Returns x_t, shape of x_prev.
    """
    x_prev = _coords("x_prev", x_prev)
    t = _steps(t, schedule.T, x_prev, low=1)
    eps = _noise(noise, x_prev, rng)
    beta = _per_structure(schedule.betas[t])
    return np.sqrt(1.0 - beta) * x_prev + np.sqrt(beta) * eps


def q_sample(schedule: Schedule, x0, t, rng=None, noise=None):
    """Draw x_t ~ q(x_t | x_0) = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I) in one go.

    Closed form by the reparameterisation trick (Ho et al. 2020, eq. 4):
    x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps, eps ~ N(0, I).
    ``x0`` is (N, 3) or a batch (B, N, 3); ``t`` in 0..T is a scalar or one step per structure
    (B,). Pass ``rng`` (np.random.Generator) or a fixed ``noise`` of x0's shape.
    Returns ``(x_t, eps)``, both of x0's shape.
    """
    x0 = _coords("x0", x0)
    t = _steps(t, schedule.T, x0, low=0)
    eps = _noise(noise, x0, rng)
    a = _per_structure(schedule.sqrt_alpha_bars[t])            # () or (B, 1, 1)
    b = _per_structure(schedule.sqrt_one_minus_alpha_bars[t])  # () or (B, 1, 1)
    return a * x0 + b * eps, eps


def posterior(schedule: Schedule, x0, xt, t):
    """Mean and variance of q(x_{t-1} | x_t, x_0) (Ho et al. 2020, eqs. 6-7), t in 1..T.

    mean = sqrt(alpha_bar_{t-1}) beta_t / (1 - alpha_bar_t) x_0
           + sqrt(alpha_t) (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) x_t
    variance = (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) beta_t
    Returns ``(mean, variance)``: mean has x0's shape; variance is () for a scalar t and
    (B, 1, 1) for t of shape (B,), so it broadcasts against x.
    """
    x0 = _coords("x0", x0)
    xt = _coords("xt", xt)
    if xt.shape != x0.shape:
        raise ValueError(f"xt must have the shape of x0, {x0.shape}, got {xt.shape}")
    t = _steps(t, schedule.T, x0, low=1)
    mean = (_per_structure(schedule.posterior_mean_coef1[t]) * x0
            + _per_structure(schedule.posterior_mean_coef2[t]) * xt)
    return mean, _per_structure(schedule.posterior_variance[t])


def prior_kl(schedule: Schedule, x0):
    """KL(q(x_T | x_0) || N(0, I)) in nats per structure: the prior-matching term L_T of Ho et al.
    (2020, eq. 5). It is near 0 only when alpha_bar_T is near 0. (N, 3) -> float, (B, N, 3) -> (B,).
    """
    x0 = _coords("x0", x0)
    ab = schedule.alpha_bars[-1]
    kl = 0.5 * (ab * x0 ** 2 + (1 - ab) - 1 - np.log(1 - ab))  # per coordinate, KL of two Gaussians
    out = kl.sum(axis=(-2, -1))
    return float(out) if out.ndim == 0 else out


# --- naive treatment of the torus ----------------------------------------------------------------
def to_centered(frac) -> np.ndarray:
    """Fractional coordinates -> centred coordinates x = wrap(frac) - 0.5 in [-0.5, 0.5)."""
    return wrap(frac) - 0.5


def from_centered(x) -> np.ndarray:
    """Centred coordinates (any real numbers) -> fractional coordinates wrap(x + 0.5) in [0, 1)."""
    return wrap(np.asarray(x, dtype=float) + 0.5)


# --- the wrapped normal on the torus -------------------------------------------------------------
def _sigmas(sigma, allow_zero=False):
    """sigma as a float array, each value > 0 (>= 0 with ``allow_zero``) and <= MAX_SIGMA."""
    return check_array("sigma", sigma, low=0, low_open=not allow_zero, high=MAX_SIGMA)


def geometric_sigmas(T: int, sigma_min: float = 0.005, sigma_max: float = 0.5) -> np.ndarray:
    """Noise levels sigma_t of a variance-exploding process, (T + 1,), indexed by t.

    sigma_0 = 0 (data); sigma_1..sigma_T rise geometrically from ``sigma_min`` to ``sigma_max``
    (Song & Ermon 2019; DiffCSP uses 0.005..0.5 for fractional coordinates).
    """
    T = check_int("T", T, 1, MAX_T)
    sigma_min = check_number("sigma_min", sigma_min, 0, MAX_SIGMA, low_open=True)
    sigma_max = check_number("sigma_max", sigma_max, 0, MAX_SIGMA, low_open=True)
    if sigma_max < sigma_min:
        raise ValueError(f"sigma_max must be >= sigma_min = {sigma_min:g}, got {sigma_max:g}")
    frac = np.arange(T) / (T - 1) if T > 1 else np.ones(1)  # (T,) 0..1
    return np.concatenate([[0.0], sigma_min * (sigma_max / sigma_min) ** frac])


def ve_sigmas_from_schedule(schedule: Schedule, sigma_cap: float = 2.0) -> np.ndarray:
    """The variance-exploding noise level with the same SNR: sigma_t = sqrt((1 - alpha_bar_t) / alpha_bar_t).

    Dividing the DDPM's x_t by sqrt(alpha_bar_t) gives x_0 + sigma_t eps (Kingma et al. 2021, sec. 3).
    Clipped at ``sigma_cap``: beyond sigma ~ 1.2 a wrapped normal is uniform to machine precision,
    and a huge sigma would leave no meaningful digits in wrap(x_0 + sigma z). (T + 1,).
    """
    check_instance("schedule", schedule, Schedule)
    sigma_cap = check_number("sigma_cap", sigma_cap, 0, MAX_SIGMA, low_open=True)
    return np.minimum(np.sqrt((1.0 - schedule.alpha_bars) / schedule.alpha_bars), sigma_cap)


def ve_sample(x0, sigma, rng=None, noise=None):
    """Wrapped-normal noise: returns ``(wrap(x0 + sigma z), sigma z)``, z ~ N(0, I).

    ``x0`` fractional coordinates (N, 3) or (B, N, 3); ``sigma`` >= 0, a scalar or (B,). The second
    output is the raw displacement; the score only depends on it modulo 1.
    """
    x0 = _coords("x0", x0)
    sigma = _sigmas(sigma, allow_zero=True)
    if sigma.ndim > 1 or (sigma.ndim == 1 and (x0.ndim != 3 or sigma.shape[0] != x0.shape[0])):
        raise ValueError(f"sigma must be a scalar or have shape (B,) to match x0 {x0.shape}, got {sigma.shape}")
    z = _noise(noise, x0, rng)
    d = _per_structure(sigma) * z  # (..., N, 3) displacement
    return wrap(x0 + d), d


def images_needed(sigma, tol: float = 1e-16) -> int:
    """Images K per side so that summing k = -K..K gives the wrapped normal to relative error < ``tol``.

    For d in [-1/2, 1/2) the omitted images have |d + k| >= a = K + 1/2, the largest kept one
    |d + k| <= 1/2. Bounding the tail sums by integrals gives the relative error bound
    2 (1 + sigma^2/a + a/sigma^2) exp(-(a^2 - 1/4) / (2 sigma^2)) for the density and the score.
    K grows linearly with sigma: 1 at sigma = 0.1, about 9 at sigma = 1.
    """
    s = float(np.max(_sigmas(sigma)))
    tol = check_number("tol", tol, 0, 1, low_open=True, high_open=True)
    K = 1
    while True:
        a = K + 0.5
        log_bound = np.log(2 * (1 + s * s / a + a / (s * s))) - (a * a - 0.25) / (2 * s * s)
        if log_bound < np.log(tol):
            return K
        K += 1


def _image_terms(d, sigma, n_images):
    """Images d + k, (..., 2K+1), and their log Gaussian weights -(d + k)^2 / (2 sigma^2)."""
    d = check_array("d", d)
    d = wrap(d + 0.5) - 0.5  # the density is periodic: fold d into [-1/2, 1/2)
    sigma = _sigmas(sigma)
    d, sigma = np.broadcast_arrays(d, sigma)
    if n_images is None:
        n_images = images_needed(sigma)
    else:
        n_images = check_int("n_images", n_images, 0, 10_000)
    k = np.arange(-n_images, n_images + 1)  # (2K+1,) image shifts
    x = d[..., None] + k                    # (..., 2K+1)
    return x, -x ** 2 / (2 * sigma[..., None] ** 2), sigma


def wrapped_normal_log_pdf(d, sigma, n_images=None) -> np.ndarray:
    """log sum_k N(d + k; 0, sigma^2), elementwise, computed by log-sum-exp (stable for tiny sigma).

    ``d`` any real displacements, ``sigma`` > 0 broadcastable to d; ``n_images`` K (images
    -K..K), or None for :func:`images_needed`.
    """
    _, logw, sigma = _image_terms(d, sigma, n_images)        # (..., 2K+1)
    m = logw.max(axis=-1)                                     # (...) largest term, for stability
    lse = m + np.log(np.exp(logw - m[..., None]).sum(axis=-1))
    return lse - np.log(sigma * np.sqrt(2 * np.pi))


def wrapped_normal_pdf(d, sigma, n_images=None) -> np.ndarray:
    """Wrapped normal density sum_k N(d + k; 0, sigma^2) on the circle [0, 1), elementwise."""
    return np.exp(wrapped_normal_log_pdf(d, sigma, n_images))


def wrapped_normal_score(d, sigma, n_images=None) -> np.ndarray:
    """d/dd log sum_k N(d + k; 0, sigma^2) = sum_k w_k (-(d + k) / sigma^2), w_k = softmax of the logs.

    Each image pulls d towards its own lattice point, weighted by how likely it is (Jiao et al.
    2023, eq. 4). For small sigma this is -d/sigma^2 (the Gaussian score); near d = +-1/2 two
    images compete and the score goes smoothly through 0.
    """
    x, logw, sigma = _image_terms(d, sigma, n_images)  # (..., 2K+1)
    w = np.exp(logw - logw.max(axis=-1, keepdims=True))
    w /= w.sum(axis=-1, keepdims=True)                  # (..., 2K+1) posterior weight of each image
    return -(w * x).sum(axis=-1) / sigma ** 2
