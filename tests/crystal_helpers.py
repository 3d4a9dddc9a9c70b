"""Random crystals and moved copies shared by the metric and physics tests."""
import numpy as np

from crystal_tutorial.crystals import Crystal


def random_crystal(seed, n=4, lattice=None, numbers=14):
    """n atoms at uniform random fractional coordinates (5 Å cube unless ``lattice`` is given)."""
    rng = np.random.default_rng(seed)
    return Crystal(np.eye(3) * 5.0 if lattice is None else lattice, rng.random((n, 3)), numbers)


def moved_copy(c, rng, displacement=0.0):
    """``c`` permuted, shifted by a random translation, each atom displaced by ``displacement`` Å."""
    u = rng.standard_normal((c.n_atoms, 3))
    u *= displacement / np.linalg.norm(u, axis=1, keepdims=True)  # (N, 3) Å, fixed length
    perm = rng.permutation(c.n_atoms)
    frac = c.frac_coords[perm] + rng.random(3) + (u @ np.linalg.inv(c.lattice))
    return Crystal(c.lattice, frac % 1.0, c.numbers[perm])
