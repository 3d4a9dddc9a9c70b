"""A denoiser that sees neighbours: the periodic pairwise model with one round of message passing.

The hello-world denoiser (``models.PerAtomMLP``) looks at one atom at a time, so it cannot learn
where atoms sit *relative to each other*. This model looks at every ordered pair (i, j):

1. minimum-image fractional displacement   d_ij = wrap(x_j - x_i)   in [-1/2, 1/2)^3;
2. periodic features (the Fourier features of DiffCSP, Jiao et al. 2023)
   f_ij = [sin(2 pi k d_ij), cos(2 pi k d_ij)], k = 1..K, plus features of the noise level sigma;
3. one round of message passing (Gilmer et al. 2017): every atom summarises its environment,
   h_i = mean_{j != i} psi(f_ij);
4. a pair MLP phi([f_ij, h_i, h_j]) -> P_ij (3,), and the output for atom i
   out_i = (1/N) sum_j (P_ij - P_ji):
   pairs act equal and opposite (Newton's third law), so sum_i out_i = 0 and the centre does not drift.

Everything depends on the positions only through d_ij, so the model is exactly invariant to
translating all atoms (out is unchanged) and to periodic images (x -> x + integer), and it is
equivariant to permuting atoms (permute the input, the output permutes the same way). Rotations
are not built in: fractional coordinates of a cubic cell only allow the 48 cube symmetries.

Batches are padded to the largest atom count: ``mask`` (B, N) marks real atoms; padded atoms
send and receive nothing. All pair quantities are (B, N, N, .) arrays: no Python loop over atoms.
"""
from __future__ import annotations

import numpy as np

from .checks import check_array, check_bool, check_int, check_mask, check_number
from .diffusion import MAX_SIGMA
from .nn import MLP, Linear, Module, SiLU
from .pbc import displacements, wrap_centered

N_NOISE_FREQ = 4  # sinusoids of log sigma in the noise features (2 * 4 + 1 = 9 features)
MAX_FREQ = 16  # Fourier frequencies: more resolve finer than any atom's position needs


def sigma_range(sigma_min, sigma_max) -> tuple[float, float]:
    """(sigma_min, sigma_max) checked: 0 < sigma_min < sigma_max <= MAX_SIGMA (fractional units)."""
    sigma_min = check_number("sigma_min", sigma_min, 0, MAX_SIGMA, low_open=True)
    sigma_max = check_number("sigma_max", sigma_max, 0, MAX_SIGMA, low_open=True)
    if not sigma_min < sigma_max:
        raise ValueError(f"sigma_max must be > sigma_min = {sigma_min:g}, got {sigma_max:g}")
    return sigma_min, sigma_max


def check_inputs(x, sigma, mask=None):
    """Validate ``x`` (B, N, 3), ``sigma`` (scalar or (B,), > 0) and ``mask`` (B, N) bool; return them as arrays."""
    x = check_array("x", x, ("B", "N", 3))  # (B, N, 3) fractional coordinates
    B, N, _ = x.shape
    if B < 1 or N < 1:
        raise ValueError(f"x must have shape (B, N, 3) with B, N >= 1, got {x.shape}")
    sigma = check_array("sigma", sigma, [(), (B,)], low=0, low_open=True)
    sigma = np.full(B, float(sigma)) if sigma.ndim == 0 else sigma  # (B,)
    mask = check_mask("mask", mask, (B, N))
    if not np.all(mask.any(axis=1)):
        raise ValueError("mask must mark at least one real atom in every structure")
    return x, sigma, mask


def fourier_features(d, n_freq: int):
    """[sin(2 pi k d), cos(2 pi k d)] for k = 1..K: (..., 3) -> (..., 6K). Periodic in d with period 1."""
    k = np.arange(1, check_int("n_freq", n_freq, 1, MAX_FREQ) + 1)  # (K,)
    d = check_array("d", d, ("...", 3))
    angle = 2 * np.pi * d[..., None] * k                     # (..., 3, K)
    return np.concatenate([np.sin(angle), np.cos(angle)], axis=-1).reshape(d.shape[:-1] + (6 * n_freq,))


def noise_features(sigma, sigma_min: float, sigma_max: float, n_freq: int = N_NOISE_FREQ):
    """Features of the noise level: u = log(sigma/sigma_min) / log(sigma_max/sigma_min) (0 at the
    bottom, 1 at the top) and [sin(pi k u), cos(pi k u)], k = 1..n_freq. (B,) -> (B, 2 n_freq + 1).

    The log scale (as the noise-conditional networks of Song & Ermon 2019) spreads the geometric
    noise levels evenly; the sinusoids let a small MLP resolve neighbouring levels.
    """
    sigma_min, sigma_max = sigma_range(sigma_min, sigma_max)
    n_freq = check_int("n_freq", n_freq, 1, MAX_FREQ)
    sigma = check_array("sigma", sigma, ("B",), low=0, low_open=True)  # (B,)
    u = np.log(sigma / sigma_min) / np.log(sigma_max / sigma_min)  # (B,)
    angle = np.pi * u[:, None] * np.arange(1, n_freq + 1)  # (B, n_freq)
    return np.concatenate([u[:, None], np.sin(angle), np.cos(angle)], axis=-1)


def pair_features(x, sigma, n_freq: int, sigma_min: float, sigma_max: float):
    """f_ij = [Fourier features of d_ij = wrap(x_j - x_i), noise features]: (B, N, 3) -> (B, N, N, 6K + 9)."""
    d = wrap_centered(displacements(x))                      # (B, N, N, 3) d_ij, minimum image
    four = fourier_features(d, n_freq)                       # (B, N, N, 6K)
    B, N = x.shape[:2]
    noise = noise_features(sigma, sigma_min, sigma_max)      # (B, 9)
    noise = np.broadcast_to(noise[:, None, None, :], (B, N, N, noise.shape[-1]))  # (B, N, N, 9)
    return np.concatenate([four, noise], axis=-1)            # (B, N, N, F)


def antisymmetric_sum(P, mask):
    """out_i = (1/N) sum_j A_ij (P_ij - P_ji), A_ij = 1 for real pairs i != j: (B, N, N, 3) -> (B, N, 3).

    ``mask`` (B, N) marks real atoms; N is each structure's number of real atoms. Pair (i, j)
    pushes i by P_ij - P_ji and j by the opposite, so the outputs of a structure sum to zero.
    """
    mask = np.asarray(mask, dtype=bool)
    A = (mask[:, :, None] & mask[:, None, :] & ~np.eye(mask.shape[1], dtype=bool)).astype(float)  # (B, N, N)
    out = np.einsum("bij,bijc->bic", A, P - np.swapaxes(P, 1, 2))  # (B, N, 3)
    return out / mask.sum(axis=1)[:, None, None]


class PairLinear(Module):
    """phi's first layer, z_ij = [f_ij, h_i, h_j] W + b, without building the concatenation.

    Split W by rows into W_f (F, D), W_i (H, D), W_j (H, D): then
    z_ij = f_ij W_f + h_i W_i + h_j W_j + b, and the two per-atom products h W_i, h W_j take N
    times fewer rows than the pairs. Same parameters and result as ``Linear(F + 2H, D)`` on the
    concatenation, about a third less work in phi. ``f`` (B, N, N, F), ``h`` (B, N, H) -> (B, N, N, D).
    """

    _param_names = ("W", "b")

    def __init__(self, d_pair: int, d_atom: int, d_out: int, rng=None):
        layer = Linear(d_pair + 2 * d_atom, d_out, rng, init="he")  # the same initialisation as a Linear
        self.W, self.b, self.F, self.H = layer.W, layer.b, d_pair, d_atom
        self.dW, self.db = np.zeros_like(self.W), np.zeros_like(self.b)

    def forward(self, f, h):
        F, H = self.F, self.H
        self.f2, self.h2 = f.reshape(-1, F), h.reshape(h.shape[0] * h.shape[1], H)  # (B N N, F), (B N, H)
        self._shapes = f.shape[:-1] + (self.W.shape[1],), h.shape[:-1] + (self.W.shape[1],)
        z = (self.f2 @ self.W[:F]).reshape(self._shapes[0])                      # (B, N, N, D) f_ij W_f
        z += (self.h2 @ self.W[F:F + H]).reshape(self._shapes[1])[:, :, None, :]  # + h_i W_i
        z += (self.h2 @ self.W[F + H:]).reshape(self._shapes[1])[:, None, :, :]   # + h_j W_j
        return z + self.b

    def backward(self, grad_out):
        F, H, D = self.F, self.H, self.W.shape[1]
        g_i = grad_out.sum(axis=2).reshape(-1, D)   # (B N, D) everything h_i touched (pairs i, *)
        g_j = grad_out.sum(axis=1).reshape(-1, D)   # (B N, D) everything h_j touched (pairs *, j)
        g2 = grad_out.reshape(-1, D)                # (B N N, D)
        self.dW[:F] = self.f2.T @ g2
        self.dW[F:F + H] = self.h2.T @ g_i
        self.dW[F + H:] = self.h2.T @ g_j
        np.sum(g2, axis=0, out=self.db)
        dh = g_i @ self.W[F:F + H].T + g_j @ self.W[F + H:].T  # (B N, H) dL/dh
        return dh.reshape(self._shapes[1][:-1] + (H,))


class PairwiseDenoiser(Module):
    """The periodic pairwise denoiser: (x (B, N, 3), sigma (B,), mask (B, N)) -> out (B, N, 3).

    ``n_freq`` K Fourier frequencies, ``hidden`` width of psi and phi (SiLU activations),
    ``message_passing`` adds the environment h_i (without it, phi sees f_ij alone: the "plain pair
    model"). ``sigma_min``/``sigma_max`` fix the scale of the noise features. Trained in
    ``torus.py`` to predict the normalised wrapped-normal score. About 13k parameters at K = 4,
    hidden = 48.
    """

    def __init__(self, n_freq: int = 4, hidden: int = 48, message_passing: bool = True,
                 sigma_min: float = 0.005, sigma_max: float = 0.5, rng=None):
        self.n_freq = check_int("n_freq", n_freq, 1, MAX_FREQ)  # K, Fourier frequencies
        self.hidden = check_int("hidden", hidden, 2, 1024)  # width of psi and phi
        self.message_passing = check_bool("message_passing", message_passing)
        self.sigma_min, self.sigma_max = sigma_range(sigma_min, sigma_max)
        rng = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
        F, H = self.n_features, self.hidden
        self.psi = MLP([F, H, H], activation="silu", rng=rng) if self.message_passing else None
        # phi = Linear([f_ij, h_i, h_j] -> H), SiLU, Linear(H -> H), SiLU, Linear(H -> 3)
        self.phi_in = PairLinear(F, H if self.message_passing else 0, H, rng=rng)
        self.phi_act = SiLU()
        self.phi_out = MLP([H, H, 3], activation="silu", rng=rng)

    @property
    def n_features(self) -> int:
        """F, the length of one pair's feature vector f_ij: 6K Fourier + 9 noise features."""
        return 6 * self.n_freq + 2 * N_NOISE_FREQ + 1

    def config(self) -> dict:
        """The constructor arguments, to rebuild the same architecture (``checkpoint.save`` stores it)."""
        return dict(n_freq=self.n_freq, hidden=self.hidden, message_passing=self.message_passing,
                    sigma_min=self.sigma_min, sigma_max=self.sigma_max)

    def forward(self, x, sigma, mask=None):
        x, sigma, mask = check_inputs(x, sigma, mask)
        B, N, _ = x.shape
        f = pair_features(x, sigma, self.n_freq, self.sigma_min, self.sigma_max)  # (B, N, N, F)
        A = mask[:, :, None] & mask[:, None, :] & ~np.eye(N, dtype=bool)  # (B, N, N) real pairs, i != j
        self._A = A.astype(float)                            # (B, N, N)
        self._n = mask.sum(axis=1).astype(float)             # (B,) real atoms N_b
        h = np.zeros((B, N, 0))                              # no environment without message passing
        if self.message_passing:
            psi = self.psi.forward(f)                        # (B, N, N, H) one message per pair
            self._count = np.maximum(self._A.sum(axis=2), 1.0)  # (B, N) neighbours of i
            h = np.einsum("bij,bijh->bih", self._A, psi) / self._count[..., None]  # (B, N, H) masked mean
        z = self.phi_in.forward(f, h)                        # (B, N, N, H) [f_ij, h_i, h_j] W + b
        P = self.phi_out.forward(self.phi_act.forward(z))    # (B, N, N, 3) P_ij
        out = antisymmetric_sum(P, mask)                     # (B, N, 3) (1/N) sum_j (P_ij - P_ji)
        self._out_shape = out.shape
        return out

    def backward(self, grad_out):
        """Store dL/d(parameters) for the upstream gradient ``grad_out`` = dL/d(out), (B, N, 3)."""
        if getattr(self, "_out_shape", None) is None:
            raise RuntimeError("PairwiseDenoiser.backward called before forward")
        G = np.asarray(grad_out, dtype=float)
        if G.shape != self._out_shape:
            raise ValueError(f"grad_out must have the shape of the last output {self._out_shape}, got {G.shape}")
        G = G / self._n[:, None, None]                       # (B, N, 3) includes the 1/N
        # out_i = sum_j A_ij (P_ij - P_ji)  =>  dL/dP_ij = A_ij (G_i - G_j)
        dP = self._A[..., None] * (G[:, :, None, :] - G[:, None, :, :])  # (B, N, N, 3)
        dz = self.phi_act.backward(self.phi_out.backward(dP))  # (B, N, N, H)
        dh = self.phi_in.backward(dz)                        # (B, N, H): h_i enters pairs (i, *) and (*, i)
        if self.message_passing:
            # h_i = sum_j A_ij psi_ij / count_i  =>  dL/dpsi_ij = A_ij dh_i / count_i
            dpsi = self._A[..., None] * (dh / self._count[..., None])[:, :, None, :]  # (B, N, N, H)
            self.psi.backward(dpsi)

    def __repr__(self):
        return (f"PairwiseDenoiser(K={self.n_freq}, hidden={self.hidden}, message_passing={self.message_passing}) "
                f"with {self.n_parameters:,} parameters")
