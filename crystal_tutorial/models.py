"""Denoisers. Chapter 04: the hello-world per-atom MLP (the periodic pairwise model is in pairwise.py).

A denoiser maps noisy coordinates ``x_t`` (B, N, 3), the diffusion step ``t`` (B,) and a mask
(B, N) of real atoms (structures are padded to the largest N) to a prediction of the noise
``eps`` (B, N, 3). Padded atoms get a zero prediction and receive no gradient.
"""
from __future__ import annotations

import numpy as np

from .nn import MLP, Module, scalar_time_embedding


def _check_batch(x_t, t, mask, T):
    x_t = np.asarray(x_t, dtype=float)
    if x_t.ndim != 3 or x_t.shape[-1] != 3:
        raise ValueError(f"x_t must have shape (B, N, 3), got {x_t.shape}")
    if not np.all(np.isfinite(x_t)):
        raise ValueError("x_t contains NaN or infinite values")
    B, N, _ = x_t.shape
    t = np.asarray(t)
    if t.ndim == 0:
        t = np.full(B, t)
    if t.shape != (B,) or not np.issubdtype(t.dtype, np.integer):
        raise ValueError(f"t must be an integer or an integer array of shape (B,) = ({B},), got {t!r}")
    if t.min() < 0 or t.max() > T:
        raise ValueError(f"t must lie in 0..T = 0..{T}, got values from {t.min()} to {t.max()}")
    if mask is None:
        mask = np.ones((B, N), dtype=bool)
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != (B, N):
        raise ValueError(f"mask must have shape (B, N) = ({B}, {N}), got {mask.shape}")
    return x_t, t, mask


class PerAtomMLP(Module):
    """The hello-world denoiser: every atom alone, (x, y, z, t/T) -> predicted noise (3,).

    ``MLP([4, hidden, hidden, 3])``: 4,675 parameters at hidden = 64. The same network is applied
    to every atom, so an atom never sees the others: this is the model's central limitation,
    measured in notebooks 06 and 08.
    """

    def __init__(self, T: int = 100, hidden: int = 64, rng=None):
        if not isinstance(T, (int, np.integer)) or T < 1:
            raise ValueError(f"T must be a positive int (number of diffusion steps), got {T!r}")
        self.T = int(T)
        self.hidden = int(hidden)
        self.mlp = MLP([4, hidden, hidden, 3], activation="relu", rng=rng)

    def forward(self, x_t, t, mask=None):
        """Predicted noise (B, N, 3) for noisy centred coordinates x_t (B, N, 3) at steps t (B,)."""
        x_t, t, mask = _check_batch(x_t, t, mask, self.T)
        B, N, _ = x_t.shape
        time = np.broadcast_to(scalar_time_embedding(t, self.T)[:, None, :], (B, N, 1))  # (B, N, 1) t/T
        features = np.concatenate([x_t, time], axis=-1)    # (B, N, 4)
        self._mask = mask[..., None]                         # (B, N, 1)
        return self.mlp.forward(features) * self._mask       # (B, N, 3), zero on padded atoms

    def backward(self, grad_out):
        """dL/d(features) (B, N, 4); parameter gradients are stored in the MLP."""
        return self.mlp.backward(np.asarray(grad_out, dtype=float) * self._mask)

    def config(self) -> dict:
        """The constructor arguments, to rebuild the same architecture (``checkpoint.load``)."""
        return {"T": self.T, "hidden": self.hidden}

    def __repr__(self):
        return f"PerAtomMLP(T={self.T}, hidden={self.hidden}) with {self.n_parameters:,} parameters"


def masked_mse(pred, target, mask):
    """Mean squared error over the real atoms: sum(mask (pred - target)^2) / (3 n_real), and its gradient.

    ``pred``, ``target`` (B, N, 3); ``mask`` (B, N). This is the DDPM "simple" loss of Ho et al.
    (2020, eq. 14) with padded atoms left out.
    """
    pred, target = np.asarray(pred, dtype=float), np.asarray(target, dtype=float)
    if pred.shape != target.shape:
        raise ValueError(f"pred and target must have the same shape, got {pred.shape} and {target.shape}")
    m = np.asarray(mask, dtype=float)[..., None]           # (B, N, 1)
    n = 3.0 * m.sum()
    if n == 0:
        raise ValueError("mask selects no atoms")
    diff = (pred - target) * m                             # (B, N, 3)
    return float(np.sum(diff * diff) / n), 2.0 * diff / n
