"""The joint denoiser: coordinates, lattice and atom types from one periodic pairwise network.

It extends the pairwise model of ``pairwise.py`` (read that first) in three ways:

1. **Atom types.** Every atom carries a noisy one-hot vector a_i (V,) over a vocabulary of V
   elements (continuous, as DiffCSP, Jiao et al. 2023, sec. 3.3). A learned linear embedding
   e_i = a_i W_e (E,) enters every pair feature as e_i and e_j.
2. **The lattice.** The cell enters as 6 rotation-invariant numbers (``lattice_params``): the log
   lengths log a, log b, log c and the cosines cos alpha, cos beta, cos gamma, normalised. Each pair
   also gets its length r_ij in the metric of the cell, r_ij^2 = d_ij^T G d_ij with the metric tensor
   G = L L^T (G_kl = l_k l_l cos theta_kl), scaled to unit mean length and expanded in Gaussian
   radial basis functions. G does not change when the Cartesian frame rotates (L -> L R^T gives
   L R^T R L^T = G), and the fractional coordinates do not either, so the whole model is exactly
   rotation invariant.
3. **Three heads and a condition.** Global features (noise level, lattice numbers, condition
   vector c, and the atom count N, which the means over atoms would otherwise hide) are appended
   to every pair. The pair MLP phi gives the coordinate update as in
   ``pairwise.py`` (P_ij - P_ji, summed over j); a node MLP rho([a_i, e_i, h_i, global]) predicts
   the clean one-hot type (V,) (a_i itself too: with E < V the embedding alone loses the type); a lattice MLP
   lam([mean_i h_i, global]) predicts the lattice noise (6,).

Only parameters get gradients (the inputs are noisy data, never optimised), so ``backward`` takes
the three upstream gradients and returns nothing. Vectorised over (B, N, N, .) with masks.
"""

from __future__ import annotations

import numpy as np

from .checks import check_array, check_int
from .nn import MLP, Linear, Module
from .pairwise import MAX_FREQ, check_inputs, fourier_features, noise_features, sigma_range
from .pbc import displacements, wrap_centered

COS_CLIP = 0.9  # cosines are clipped to [-0.9, 0.9] (angles 26-154 degrees) when a noisy lattice is decoded
# Orthonormal (Helmert) basis of the three log lengths: row 0 is the size sqrt(3) mean(log a, log b, log c),
# rows 1 and 2 the shape (0 for every cube). Normalising size and shape separately lets a small scale
# on the shape make "not quite cubic" errors count in the loss.
HELMERT = np.array([[1, 1, 1] / np.sqrt(3), [1, -1, 0] / np.sqrt(2), [1, 1, -2] / np.sqrt(6)])


# --- the rotation-invariant lattice representation ------------------------------------------------
def lattice_params(lattice) -> np.ndarray:
    """(..., 3, 3) lattice rows a, b, c (Å) -> (..., 6) [log a, log b, log c, cos alpha, cos beta, cos gamma].

    alpha is the angle between b and c, beta between a and c, gamma between a and b (the
    crystallographic convention, as ``ase.geometry.cell_to_cellpar``). Invariant to rotations.
    """
    L = np.asarray(lattice, dtype=float)
    if L.shape[-2:] != (3, 3) or not np.all(np.isfinite(L)):
        raise ValueError(f"lattice must be a finite array of shape (..., 3, 3), got shape {L.shape}")
    G = L @ np.swapaxes(L, -1, -2)  # (..., 3, 3) metric tensor G = L L^T
    lengths = np.sqrt(np.diagonal(G, axis1=-2, axis2=-1))  # (..., 3)
    if np.any(lengths <= 0):
        raise ValueError("lattice has a zero-length vector")
    cos = np.stack(
        [
            G[..., 1, 2] / (lengths[..., 1] * lengths[..., 2]),  # alpha: b, c
            G[..., 0, 2] / (lengths[..., 0] * lengths[..., 2]),  # beta: a, c
            G[..., 0, 1] / (lengths[..., 0] * lengths[..., 1]),
        ],
        axis=-1,
    )  # gamma: a, b
    return np.concatenate([np.log(lengths), cos], axis=-1)


def metric_from_params(params) -> np.ndarray:
    """(..., 6) lattice parameters -> (..., 3, 3) metric tensor G_kl = l_k l_l cos theta_kl (Å^2)."""
    p = np.asarray(params, dtype=float)
    lengths = np.exp(p[..., :3])  # (..., 3)
    ca, cb, cg = (np.clip(p[..., 3 + k], -COS_CLIP, COS_CLIP) for k in range(3))
    one = np.ones_like(ca)
    C = np.stack([np.stack([one, cg, cb], -1), np.stack([cg, one, ca], -1), np.stack([cb, ca, one], -1)], -2)
    return lengths[..., :, None] * C * lengths[..., None, :]  # (..., 3, 3)


def params_to_lattice(params) -> np.ndarray:
    """(..., 6) lattice parameters -> (..., 3, 3) lattice in the standard orientation.

    a along x, b in the xy plane, c completing a right-handed cell (as ``ase.geometry.cellpar_to_cell``).
    Cosines are clipped to [-COS_CLIP, COS_CLIP]; raises ValueError if the angles admit no cell.
    """
    p = np.asarray(params, dtype=float)
    if p.shape[-1:] != (6,) or not np.all(np.isfinite(p)):
        raise ValueError(f"params must be finite with shape (..., 6), got shape {p.shape}")
    a, b, c = (np.exp(p[..., k]) for k in range(3))
    ca, cb, cg = (np.clip(p[..., 3 + k], -COS_CLIP, COS_CLIP) for k in range(3))
    sg = np.sqrt(1.0 - cg**2)
    cy = (ca - cb * cg) / sg
    cz2 = 1.0 - cb**2 - cy**2  # squared z-component of the unit c vector
    if np.any(cz2 <= 1e-6):
        raise ValueError("lattice angles admit no cell (the three vectors would lie in a plane)")
    zero = np.zeros_like(a)
    return np.stack(
        [
            np.stack([a, zero, zero], -1),
            np.stack([b * cg, b * sg, zero], -1),
            np.stack([c * cb, c * cy, c * np.sqrt(cz2)], -1),
        ],
        -2,
    )  # (..., 3, 3)


# --- the model -----------------------------------------------------------------------------------
class JointDenoiser(Module):
    """(x (B, N, 3), lat (B, 6), a (B, N, V), sigma (B,), cond (B, C), mask (B, N)) -> (out_x, out_l, out_a).

    ``x`` noisy fractional coordinates; ``lat`` noisy normalised lattice parameters z
    (``params_to_z``: log lengths in the size/shape basis ``HELMERT`` and cosines, minus ``lat_shift``,
    over ``lat_scale``, 6 each, fixed by the training set); ``a`` noisy one-hot types over the V elements of
    ``vocab`` (atomic numbers, increasing); ``sigma`` the coordinate
    noise level (it also tells the time step); ``cond`` the condition vector (zeros = unconditional).
    Outputs: the normalised coordinate score (B, N, 3) as ``pairwise.py``, the lattice noise (B, 6)
    and the clean one-hot types a_0 (B, N, V) (zero on padded atoms).
    """

    def __init__(
        self,
        vocab,
        cond_dim: int,
        lat_shift,
        lat_scale,
        n_freq: int = 4,
        n_rbf: int = 8,
        embed: int = 16,
        hidden: int = 64,
        sigma_min: float = 0.005,
        sigma_max: float = 0.5,
        rng=None,
    ):
        self.vocab = check_array("vocab", vocab, ("V",), integer=True, low=1, high=118)  # (V,) one-hot slots
        if self.vocab.size < 1 or np.any(np.diff(self.vocab) <= 0):
            raise ValueError(f"vocab must be increasing atomic numbers in 1..118, got {vocab!r}")
        self.vocab_size = int(self.vocab.size)
        self.cond_dim = check_int("cond_dim", cond_dim, 1, 1024)  # C, condition length
        self.n_freq = check_int("n_freq", n_freq, 1, MAX_FREQ)  # K, Fourier frequencies
        self.n_rbf = check_int("n_rbf", n_rbf, 1, 64)  # radial basis functions
        self.embed = check_int("embed", embed, 1, 256)  # E, type embedding width
        self.hidden = check_int("hidden", hidden, 2, 1024)  # H, MLP width
        self.lat_shift = check_array("lat_shift", lat_shift, (6,))  # (6,)
        self.lat_scale = check_array("lat_scale", lat_scale, (6,), low=0, low_open=True)  # (6,)
        self.sigma_min, self.sigma_max = sigma_range(sigma_min, sigma_max)
        rng = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
        F, H, E, V = self.n_pair_features, self.hidden, self.embed, self.vocab_size
        self.type_embed = Linear(V, E, rng, init="glorot")  # a_i -> e_i
        self.psi = MLP([F, H, H], activation="silu", rng=rng)  # messages
        self.phi = MLP([F + 2 * H, H, H, 3], activation="silu", rng=rng)  # coordinate head
        self.rho = MLP([V + E + H + self.n_global, H, V], activation="silu", rng=rng)  # type head
        self.lam = MLP([H + self.n_global, H, 6], activation="silu", rng=rng)  # lattice head

    @property
    def n_global(self) -> int:
        """Global features: 9 noise features + 6 lattice numbers + C condition entries + 2 of the atom count."""
        return 9 + 6 + self.cond_dim + 2

    @property
    def n_pair_features(self) -> int:
        """F: 6K Fourier + R radial + 2E type embeddings + the global features."""
        return 6 * self.n_freq + self.n_rbf + 2 * self.embed + self.n_global

    def config(self) -> dict:
        return dict(
            vocab=self.vocab.tolist(),
            cond_dim=self.cond_dim,
            lat_shift=self.lat_shift.tolist(),
            lat_scale=self.lat_scale.tolist(),
            n_freq=self.n_freq,
            n_rbf=self.n_rbf,
            embed=self.embed,
            hidden=self.hidden,
            sigma_min=self.sigma_min,
            sigma_max=self.sigma_max,
        )

    def params_to_z(self, params):
        """lattice_params (..., 6) -> normalised z (..., 6): [HELMERT @ log lengths, cosines], shifted and scaled."""
        p = np.asarray(params, dtype=float)
        u = np.concatenate([p[..., :3] @ HELMERT.T, p[..., 3:]], axis=-1)  # (..., 6) size, 2 shape, 3 cosines
        return (u - self.lat_shift) / self.lat_scale

    def z_to_params(self, z):
        """Inverse of ``params_to_z``: normalised z (..., 6) -> lattice_params (..., 6)."""
        u = np.asarray(z, dtype=float) * self.lat_scale + self.lat_shift
        return np.concatenate([u[..., :3] @ HELMERT, u[..., 3:]], axis=-1)  # HELMERT is orthogonal

    def radial_features(self, d, lat):
        """Gaussian RBFs of r_ij = sqrt(d^T G d) / (a b c)^(1/3): (B, N, N, 3), (B, 6) -> (B, N, N, R)."""
        params = self.z_to_params(lat)  # (B, 6) un-normalised lattice parameters
        shape = np.clip(params[:, :3] - params[:, :3].mean(axis=1, keepdims=True), -3.0, 3.0)  # log length ratios
        params = np.concatenate([shape, params[:, 3:]], axis=1)
        G = metric_from_params(params)  # (B, 3, 3) metric of the cell scaled to (abc)^(1/3) = 1
        r2 = np.einsum("bijk,bkl,bijl->bij", d, G, d)  # (B, N, N) squared length in that metric
        r = np.sqrt(np.maximum(r2, 0.0))
        centres = np.linspace(0.0, 1.0, self.n_rbf)  # (R,) unit-cell lengths: 0 .. a
        width = 1.0 / max(self.n_rbf - 1, 1)
        return np.exp(-0.5 * ((r[..., None] - centres) / width) ** 2)  # (B, N, N, R)

    def inputs(self, x, lat, a, sigma, cond, mask):
        """Check a batch for ``forward``: shapes, finite values, sigma > 0, a real atom in every row."""
        x, sigma, mask = check_inputs(x, sigma, mask)  # (B, N, 3), (B,), (B, N)
        B, N, _ = x.shape
        lat = check_array("lat", lat, (B, 6))  # (B, 6)
        a = check_array("a", a, (B, N, self.vocab_size))  # (B, N, V)
        cond = check_array("cond", cond, (B, self.cond_dim))  # (B, C)
        return x, lat, a, sigma, cond, mask

    def forward(self, x, lat, a, sigma, cond, mask=None):
        x, lat, a, sigma, cond, mask = self.inputs(x, lat, a, sigma, cond, mask)
        B, N, _ = x.shape
        E, H = self.embed, self.hidden
        n = mask.sum(axis=1).astype(float)  # (B,) atoms: the means below hide it, so say it
        g = np.concatenate(
            [
                noise_features(sigma, self.sigma_min, self.sigma_max),
                lat,
                cond,
                np.log(n)[:, None] / np.log(12.0),
                1.0 / n[:, None],
            ],
            axis=-1,
        )  # (B, Gd)
        self._g = g
        d = wrap_centered(displacements(x))  # (B, N, N, 3) minimum-image d_ij (fractional)
        e = self.type_embed.forward(a)  # (B, N, E) type embeddings
        pair_parts = [
            fourier_features(d, self.n_freq),  # (B, N, N, 6K)
            self.radial_features(d, lat),  # (B, N, N, R)
            np.broadcast_to(e[:, :, None, :], (B, N, N, E)),  # e_i
            np.broadcast_to(e[:, None, :, :], (B, N, N, E)),  # e_j
            np.broadcast_to(g[:, None, None, :], (B, N, N, g.shape[-1])),
        ]
        f = np.concatenate(pair_parts, axis=-1)  # (B, N, N, F)
        self._e_start = 6 * self.n_freq + self.n_rbf  # where e_i starts in f
        A = mask[:, :, None] & mask[:, None, :] & ~np.eye(N, dtype=bool)  # (B, N, N) real pairs, i != j
        self._A, self._mask = A.astype(float), mask.astype(float)
        self._n = mask.sum(axis=1).astype(float)  # (B,) real atoms
        self._count = np.maximum(self._A.sum(axis=2), 1.0)  # (B, N) neighbours of i
        m = self.psi.forward(f)  # (B, N, N, H) messages
        h = np.einsum("bij,bijh->bih", self._A, m) / self._count[..., None]  # (B, N, H) environment h_i
        fp = np.concatenate(
            [f, np.broadcast_to(h[:, :, None, :], (B, N, N, H)), np.broadcast_to(h[:, None, :, :], (B, N, N, H))],
            axis=-1,
        )  # (B, N, N, F + 2H)
        P = self.phi.forward(fp)  # (B, N, N, 3)
        out_x = np.einsum("bij,bijc->bic", self._A, P - P.transpose(0, 2, 1, 3)) / self._n[:, None, None]
        node = np.concatenate(
            [a, e, h, np.broadcast_to(g[:, None, :], (B, N, g.shape[-1]))], axis=-1
        )  # (B, N, V+E+H+Gd)
        out_a = self.rho.forward(node) * self._mask[..., None]  # (B, N, V), zero on padded atoms
        pool = np.einsum("bn,bnh->bh", self._mask, h) / self._n[:, None]  # (B, H) mean over real atoms
        out_l = self.lam.forward(np.concatenate([pool, g], axis=-1))  # (B, 6)
        self._shapes = (out_x.shape, out_l.shape, out_a.shape)
        return out_x, out_l, out_a

    def backward(self, grad_x, grad_l, grad_a):
        """Store dL/d(parameters) for dL/d(out_x) (B, N, 3), dL/d(out_l) (B, 6), dL/d(out_a) (B, N, V)."""
        if getattr(self, "_shapes", None) is None:
            raise RuntimeError("JointDenoiser.backward called before forward")
        grads = [np.asarray(gr, dtype=float) for gr in (grad_x, grad_l, grad_a)]
        for name, gr, shape in zip(("grad_x", "grad_l", "grad_a"), grads, self._shapes):
            if gr.shape != shape:
                raise ValueError(f"{name} must have the shape of the last output {shape}, got {gr.shape}")
        grad_x, grad_l, grad_a = grads
        E, H = self.embed, self.hidden
        F = self.n_pair_features
        # lattice head: out_l = lam([pool, g]); pool = sum_i mask_i h_i / n
        dpool = self.lam.backward(grad_l)[:, :H]  # (B, H)
        dh = self._mask[..., None] * (dpool / self._n[:, None])[:, None, :]  # (B, N, H)
        # type head: out_a = mask * rho([a, e, h, g]) (a is an input: no gradient needed)
        V = self.vocab_size
        dnode = self.rho.backward(grad_a * self._mask[..., None])  # (B, N, V + E + H + Gd)
        de = dnode[..., V : V + E].copy()  # (B, N, E)
        dh += dnode[..., V + E : V + E + H]
        # coordinate head: out_i = sum_j A_ij (P_ij - P_ji) / n  =>  dL/dP_ij = A_ij (G_i - G_j) / n
        G = grad_x / self._n[:, None, None]
        dP = self._A[..., None] * (G[:, :, None, :] - G[:, None, :, :])  # (B, N, N, 3)
        dfp = self.phi.backward(dP)  # (B, N, N, F + 2H)
        dh += dfp[..., F : F + H].sum(axis=2) + dfp[..., F + H :].sum(axis=1)  # h_i enters as h_i and as h_j
        # messages: h_i = sum_j A_ij m_ij / count_i
        dm = self._A[..., None] * (dh / self._count[..., None])[:, :, None, :]  # (B, N, N, H)
        df = dfp[..., :F] + self.psi.backward(dm)  # (B, N, N, F)
        s = self._e_start
        de += df[..., s : s + E].sum(axis=2) + df[..., s + E : s + 2 * E].sum(axis=1)  # e_i as "i" and as "j"
        self.type_embed.backward(de)

    def __repr__(self):
        return (
            f"JointDenoiser(V={self.vocab_size}, C={self.cond_dim}, K={self.n_freq}, hidden={self.hidden}) "
            f"with {self.n_parameters:,} parameters"
        )
