"""Sampling the joint model: classifier-free guidance and the reverse process of coordinates, lattice and types.

Each step t = T..1 moves the three parts of a crystal together (DiffCSP, Jiao et al. 2023, Algorithm 2):

* **coordinates** by the predictor-corrector step on the torus (``torus.pc_step``, the step of the
  pairwise model, with ``corrector_steps`` Langevin moves and the score multiplier 1 / temperature);
* **lattice and types** by an ancestral DDPM step written through the predicted clean value (Ho et
  al. 2020, eq. 7 and Algorithm 2): ``predicted_z0`` for the lattice (clipped to the data range),
  the predicted one-hot for the types; ``ddpm_step_from_x0`` is that step, shared with ``csp.py``.

All three use the guided outputs (Ho & Salimans 2022, eq. 6; ``guided_outputs``): out_u + w (out_c - out_u).
The model and its training are in ``joint.py`` and ``joint_diffusion.py``.
"""
from __future__ import annotations

import numpy as np

from .checks import check_instance, check_int, check_number, check_rng
from .crystals import Crystal
from .diffusion import MAX_T
from .joint import JointDenoiser, params_to_lattice
from .joint_diffusion import JointConfig, condition_vector, noise_schedules
from .sampling import check_model_T
from .torus import MAX_PAIR_ATOMS, MAX_PAIRS, pc_sample, score_norm

__all__ = ["Z_CLIP", "guided_outputs", "predicted_z0", "ddpm_step_from_x0", "sample_joint"]

MAX_GUIDANCE = 100.0  # classifier-free guidance weight w; the panels stop at 5
Z_CLIP = 4.0          # sampling clips the predicted normalised lattice to +-4 (training data: within +-2.5)


def guided_outputs(model, x, zt, at, sigma, cond, mask=None, guidance: float = 1.0):
    """Classifier-free guidance: out_u + w (out_c - out_u) for all three heads (Ho & Salimans 2022, eq. 6).

    ``guidance`` w = 0 runs only the unconditional model (c = 0), so it equals it exactly.
    """
    guidance = check_number("guidance", guidance, 0, MAX_GUIDANCE)
    uncond = np.zeros_like(cond)
    if guidance == 0:
        return model.forward(x, zt, at, sigma, uncond, mask)
    B = len(x)
    m2 = None if mask is None else np.concatenate([mask, mask])
    both = model.forward(np.concatenate([x, x]), np.concatenate([zt, zt]), np.concatenate([at, at]),
                         np.concatenate([sigma, sigma]), np.concatenate([cond, uncond]), m2)
    return tuple(o[B:] + guidance * (o[:B] - o[B:]) for o in both)


def predicted_z0(z, eps, sched, t: int) -> np.ndarray:
    """The clean normalised lattice predicted from z_t and the predicted noise, clipped to the data range
    (Ho et al.'s clip_denoised): z0_hat = (z_t - sqrt(1 - abar_t) eps) / sqrt(abar_t), within +-Z_CLIP."""
    ab = sched.alpha_bars[check_int("t", t, 1, sched.T)]
    return np.clip((z - np.sqrt(1 - ab) * eps) / np.sqrt(ab), -Z_CLIP, Z_CLIP)


def ddpm_step_from_x0(v, v0_hat, sched, t: int, rng) -> np.ndarray:
    """One ancestral DDPM step written through the predicted clean value (Ho et al. 2020, eq. 7 and
    Algorithm 2): v_{t-1} = coef1_t v0_hat + coef2_t v_t + sqrt(beta~_t) z, without z at t = 1."""
    t = check_int("t", t, 1, sched.T)
    v = sched.posterior_mean_coef1[t] * v0_hat + sched.posterior_mean_coef2[t] * v
    if t > 1:
        v = v + np.sqrt(sched.posterior_variance[t]) * check_rng("rng", rng).standard_normal(v.shape)
    return v


def sample_joint(model: JointDenoiser, n_atoms: int, n_samples: int, rng, density=None, elements=None,
                 guidance: float = 1.0, temperature: float = 0.5, corrector_steps: int = 5, T: int | None = None,
                 record: bool = False):
    """Generate ``n_samples`` crystals of ``n_atoms`` atoms, each with its own lattice and species.

    Reverse process from the priors (uniform coordinates, N(0, I) lattice and types), t = T..1:
    coordinates by the reverse-diffusion predictor with ``corrector_steps`` Langevin moves and score
    multiplier 1 / ``temperature`` (``torus.sample_torus``; 5 corrector steps at 0.5 were measured
    best for 8 atoms with the shipped weights: 90% valid and 75% prototype match at symprec 0.25 Å,
    against 57% and 0% with 1 corrector step; 2 and 4 atoms are not hurt); lattice and types by ancestral DDPM steps
    (Ho et al. 2020, Algorithm 2, written through the predicted x_0, which is clipped to the data range).
    All three use the guided outputs. ``record=True`` also returns the
    trajectory of (lattices (T+1, S, 3, 3), frac (T+1, S, N, 3)).

    ``T`` must be the number of steps the model was trained with: step t pairs the coordinate noise
    sigma_t with the lattice and type noise alpha_bar_t of a T-step schedule, and the network has
    learned that pairing. ``T=None`` takes the model's ``T`` (set by ``load_joint`` from the saved
    JointConfig), else 100 (JointConfig's default); a different ``T`` is refused (``check_model_T``).
    """
    check_instance("model", model, JointDenoiser, "joint_diffusion.load_joint()")
    T = getattr(model, "T", None) or JointConfig.T if T is None else check_int("T", T, 2, MAX_T)
    n_atoms = check_int("n_atoms", n_atoms, 2, MAX_PAIR_ATOMS)
    n_samples = check_int("n_samples", n_samples, 1, MAX_PAIRS // n_atoms ** 2)  # (S, N, N, F) pair features
    corrector_steps = check_int("corrector_steps", corrector_steps, 0, 100)
    check_model_T(model, T, "T", hint="pass T=None to use the model's own T")
    temperature = check_number("temperature", temperature, 0, 100, low_open=True)
    check_rng("rng", rng)
    S, N, V = n_samples, n_atoms, model.vocab_size
    cond = condition_vector(model, density, elements, n=S)
    guided_outputs(model, np.zeros((1, 2, 3)), np.zeros((1, 6)), np.zeros((1, 2, V)), np.ones(1), cond[:1],
                   guidance=guidance)                        # validates guidance before the loop
    sigmas, sched = noise_schedules(model, T)
    x = rng.random((S, N, 3))                                # (S, N, 3) uniform on the torus
    z = rng.standard_normal((S, 6))                          # (S, 6) lattice prior
    a = rng.standard_normal((S, N, V))                       # (S, N, V) type prior

    def decode(z):
        return params_to_lattice(model.z_to_params(z))

    def score(x, t):                                         # the guided heads at step t
        sig = np.full(S, sigmas[t])
        ox, ol, oa = guided_outputs(model, x, z, a, sig, cond, guidance=guidance)
        return score_norm(sig)[:, None, None] * ox, (ol, oa)  # score, (eps_l, predicted one-hot a_0)

    def lattice_and_types(t, x, out):                        # DDPM steps through the predicted x_0
        nonlocal z, a
        eps_l, a0_hat = out
        z = ddpm_step_from_x0(z, predicted_z0(z, eps_l, sched, t), sched, t, rng)
        a = ddpm_step_from_x0(a, np.clip(a0_hat, 0.0, 1.0), sched, t, rng)  # one-hot entries lie in [0, 1]
        if record:
            lattices.append(decode(z))

    lattices = [decode(z)] if record else None
    out = pc_sample(x, sigmas, score, rng, temperature, corrector_steps, after_step=lattice_and_types,
                    record=record)
    x, frac = out if record else (out, None)
    numbers = model.vocab[np.argmax(a, axis=-1)]             # (S, N) argmax of the continuous one-hot
    crystals = [Crystal(L, f, n) for L, f, n in zip(decode(z), x, numbers)]
    return (crystals, (np.array(lattices), frac)) if record else crystals
