"""Periodic boundary conditions: wrapping, the minimum-image convention, pairwise distances.

Two ways to find the minimum image of a fractional displacement ``d``:

* **rounding** (``method="round"``): ``d - round(d)`` picks the image inside the parallelepiped
  [-0.5, 0.5)^3 of the cell. That image is the shortest one whenever the true shortest vector lies
  inside this parallelepiped. This always holds for orthogonal (cubic, tetragonal, orthorhombic)
  cells, and for any cell when the shortest vector is no longer than half the smallest
  distance between opposite faces of the cell. In strongly skewed cells it can fail.
* **exact** (``method="exact"``, the default): first reduce the lattice to a short, nearly
  orthogonal basis (Minkowski reduction, through ASE), round in that basis, then search the 27
  neighbouring images (-1, 0, 1)^3 for the shortest. This is the algorithm of ASE's ``find_mic``
  (after W. Smith, "The minimum image convention in non-cubic MD cells", 1989) and is exact.
"""
from __future__ import annotations

import itertools

import numpy as np

from .checks import check_array, check_choice, check_lattice

# The 27 neighbouring image shifts, (27, 3).
IMAGE_SHIFTS = np.array(list(itertools.product((-1, 0, 1), repeat=3)), dtype=float)
METHODS = ("exact", "round")


def wrap(frac) -> np.ndarray:
    """Wrap fractional coordinates into [0, 1) (the result never equals 1.0)."""
    frac = check_array("frac", frac)
    out = frac - np.floor(frac)
    return np.where(out >= 1.0, 0.0, out)  # x - floor(x) rounds to 1.0 for tiny negative x


def wrap_centered(frac) -> np.ndarray:
    """Wrap fractional displacements into [-0.5, 0.5)."""
    return wrap(np.asarray(frac, dtype=float) + 0.5) - 0.5


def _reduce(lattice):
    """Minkowski-reduced lattice and the integer matrix ``op`` with ``reduced = op @ lattice``."""
    from ase.geometry import minkowski_reduce
    reduced, op = minkowski_reduce(lattice)
    return np.asarray(reduced, dtype=float), np.asarray(op, dtype=float)


def minimum_image(frac_diff, lattice, method: str = "exact"):
    """Shortest Cartesian vectors for fractional displacements ``frac_diff`` (..., 3).

    ``lattice`` is (3, 3), or (B, 3, 3) when ``frac_diff`` is (B, ..., 3). Returns
    ``(vectors, lengths)`` with shapes (..., 3) and (...) in Å.
    """
    check_choice("method", method, METHODS)
    frac_diff = check_array("frac_diff", frac_diff, ("...", 3))  # (..., 3)
    lattice = check_lattice("lattice", lattice, batched=True)  # (3, 3) or (B, 3, 3)
    if lattice.ndim == 3:
        if frac_diff.ndim < 2 or frac_diff.shape[0] != lattice.shape[0]:
            raise ValueError(f"a batch of {lattice.shape[0]} lattices needs frac_diff of shape "
                             f"({lattice.shape[0]}, ..., 3), got {frac_diff.shape}")
        pairs = [minimum_image(frac_diff[b], lattice[b], method) for b in range(lattice.shape[0])]
        return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])
    if method == "round":
        vectors = (frac_diff - np.round(frac_diff)) @ lattice  # (..., 3) image in the centred cell
        return vectors, np.linalg.norm(vectors, axis=-1)
    reduced, op = _reduce(lattice)
    d = frac_diff @ np.linalg.inv(op)  # (..., 3) the same displacement in the reduced basis
    d = d - np.round(d)
    best_vec = d @ reduced  # (..., 3)
    best_sq = np.einsum("...i,...i->...", best_vec, best_vec)  # (...)
    for shift in IMAGE_SHIFTS:  # loop over 27 images, never over atoms
        vec = (d + shift) @ reduced
        sq = np.einsum("...i,...i->...", vec, vec)
        better = sq < best_sq - 1e-12
        best_sq = np.where(better, sq, best_sq)
        best_vec = np.where(better[..., None], vec, best_vec)
    return best_vec, np.sqrt(best_sq)


def displacements(frac_coords) -> np.ndarray:
    """All fractional displacements ``x_j - x_i``: (N, 3) -> (N, N, 3), (B, N, 3) -> (B, N, N, 3)."""
    frac_coords = np.asarray(frac_coords, dtype=float)
    return frac_coords[..., None, :, :] - frac_coords[..., :, None, :]


def pairwise_distances(frac_coords, lattice, method: str = "exact") -> np.ndarray:
    """Minimum-image distances in Å between all atoms.

    ``frac_coords`` (N, 3) with ``lattice`` (3, 3) gives (N, N); a batch (B, N, 3) with a
    lattice (3, 3) or (B, 3, 3) gives (B, N, N). The diagonal is 0.
    """
    frac_coords = check_array("frac_coords", frac_coords, [("N", 3), ("B", "N", 3)])
    lattice = check_lattice("lattice", lattice, batched=True)
    if lattice.ndim == 3 and frac_coords.ndim != 3:
        raise ValueError(f"a batch of lattices {lattice.shape} needs frac_coords of shape (B, N, 3), "
                         f"got {frac_coords.shape}")
    _, lengths = minimum_image(displacements(frac_coords), lattice, method)  # (..., N, N)
    return lengths


def min_distance(frac_coords, lattice, method: str = "exact") -> np.ndarray:
    """Smallest distance between two different atoms (Å); (N, 3) -> float, (B, N, 3) -> (B,).

    A single atom's only neighbours are its own periodic images: then the answer is the length
    of the shortest lattice vector (as for any atom, whose own images are always candidates).
    Zero atoms have no distance at all: that is a ``ValueError``, not a number.
    """
    frac_coords = check_array("frac_coords", frac_coords, [("N", 3), ("B", "N", 3)])
    if frac_coords.shape[-2] == 0:
        raise ValueError(f"min_distance needs at least one atom, got frac_coords of shape {frac_coords.shape} "
                         "(N = 0 atoms have no distances)")
    d = pairwise_distances(frac_coords, lattice, method)  # (..., N, N)
    n = d.shape[-1]
    d = d + np.where(np.eye(n, dtype=bool), np.inf, 0.0)
    d_min = d.min(axis=(-2, -1)) if n > 1 else np.full(d.shape[:-2], np.inf)
    lattice = check_lattice("lattice", lattice, batched=True)
    shortest = np.array([_reduce(l)[0] for l in lattice.reshape(-1, 3, 3)])  # (L, 3, 3)
    shortest = np.linalg.norm(shortest, axis=-1).min(axis=-1)  # (L,) shortest lattice vector
    shortest = shortest[0] if lattice.ndim == 2 else shortest
    d_min = np.minimum(d_min, shortest)
    return float(d_min) if np.ndim(d_min) == 0 else d_min
