"""Denoisers. Chapter 04: the hello-world per-atom MLP (the periodic pairwise model is in pairwise.py).

A denoiser maps noisy coordinates ``x_t`` (B, N, 3), the diffusion step ``t`` (B,) and a mask
(B, N) of real atoms (structures are padded to the largest N) to a prediction of the noise
``eps`` (B, N, 3). Padded atoms get a zero prediction and receive no gradient.
"""
from __future__ import annotations

import numpy as np

from .checks import check_array, check_int, check_mask, check_timesteps
from .diffusion import MAX_T
from .nn import MLP, Module, scalar_time_embedding


def batch_inputs(x_t, t, mask, T):
    """Check a denoiser's batch: x_t (B, N, 3) finite, t an int or (B,) in 0..T, mask (B, N) bool or None.

    Returns ``(x_t, t, mask)`` with t as a (B,) int array and mask all True when None.
    """
    x_t = check_array("x_t", x_t, ("B", "N", 3))  # (B, N, 3)
    B, N, _ = x_t.shape
    t = check_timesteps("t", t, 0, T, B)
    t = np.full(B, t) if t.ndim == 0 else t  # (B,)
    return x_t, t, check_mask("mask", mask, (B, N))


class PerAtomMLP(Module):
    """The hello-world denoiser: every atom alone, (x, y, z, t/T) -> predicted noise (3,).

    ``MLP([4, hidden, hidden, 3])``: 4,675 parameters at hidden = 64. The same network is applied
    to every atom, so an atom never sees the others: this is the model's central limitation,
    measured in notebooks 06 and 08.
    """

    def __init__(self, T: int = 100, hidden: int = 64, rng=None):
        self.T = check_int("T", T, 1, MAX_T)
        self.hidden = check_int("hidden", hidden, 1, 4096)
        self.mlp = MLP([4, hidden, hidden, 3], activation="relu", rng=rng)

    def forward(self, x_t, t, mask=None):
        """Predicted noise (B, N, 3) for noisy centred coordinates x_t (B, N, 3) at steps t (B,)."""
        x_t, t, mask = batch_inputs(x_t, t, mask, self.T)
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
