"""Shared argument checks and batching helpers of ``physics`` and ``metrics`` (chapter 06).

Both modules validate the same kinds of arguments (a Crystal, a list of Crystals, a positive
tolerance) and batch structures of equal size the same way, so those helpers live here, in one
small module that both import: neither imports the other's private names. The hyperparameter
dataclasses of later chapters (``TorusConfig``, ``JointConfig``, ``CSPConfig``) check their fields
with ``check_config_fields``.
"""
from __future__ import annotations

from numbers import Real

import numpy as np

from .crystals import Crystal

LATTICE_TOL = 1e-3  # Å: lattices closer than this count as the same cell


def check_crystal(name: str, value) -> Crystal:
    """``value`` if it is a Crystal, else a TypeError naming ``name``."""
    if not isinstance(value, Crystal):
        raise TypeError(f"{name} must be a crystal_tutorial.crystals.Crystal, got {type(value).__name__}")
    return value


def check_positive(name: str, value, upper=None) -> float:
    """``value`` as a float if it is a finite number > 0 (and <= ``upper``), else TypeError/ValueError."""
    bound = f"in (0, {upper:g}]" if upper is not None else "> 0"
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a number {bound}, got {type(value).__name__}: {value!r}")
    if not np.isfinite(value) or value <= 0 or (upper is not None and value > upper):
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    return float(value)


def check_crystal_list(name: str, values) -> list[Crystal]:
    """``values`` as a non-empty list of Crystals, else a TypeError/ValueError naming the bad entry."""
    if isinstance(values, Crystal) or isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a list of Crystal objects, got {type(values).__name__}")
    values = list(values)
    if not values:
        raise ValueError(f"{name} is empty; expected at least one Crystal")
    for i, c in enumerate(values):
        check_crystal(f"{name}[{i}]", c)
    return values


def check_config_fields(config, positive_ints=(), positive_numbers=(), non_negative=()) -> None:
    """Check the named fields of a config dataclass: positive integers, finite numbers > 0, numbers >= 0.

    Raises ValueError naming the first bad field, what it holds and what it should hold.
    """
    for name in positive_ints:
        v = getattr(config, name)
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    for name in positive_numbers:
        v = getattr(config, name)
        if isinstance(v, bool) or not isinstance(v, Real) or not np.isfinite(v) or v <= 0:
            raise ValueError(f"{name} must be a positive number, got {v!r}")
    for name in non_negative:
        v = getattr(config, name)
        if isinstance(v, bool) or not isinstance(v, Real) or not np.isfinite(v) or v < 0:
            raise ValueError(f"{name} must be a number >= 0, got {v!r}")


def mic_method(lattice) -> str:
    """"round" for orthogonal cells, where rounding fractional differences is already the exact
    minimum image and ~27x cheaper (see ``pbc``), else "exact"."""
    gram = lattice @ lattice.T  # (3, 3) dot products of the lattice vectors
    off = gram - np.diag(np.diag(gram))
    return "round" if np.all(np.abs(off) <= 1e-12 * np.trace(gram)) else "exact"


def group_indices(crystals, lattice_tol=LATTICE_TOL) -> list[np.ndarray]:
    """Index arrays of crystals with the same atom count and composition (and lattice, if a tol is given)."""
    buckets = {}  # (N, composition) -> [(lattice, [indices])]
    for i, c in enumerate(crystals):  # loop over structures
        bucket = buckets.setdefault((c.n_atoms, tuple(np.sort(c.numbers))), [])
        for lattice, idx in bucket:
            if lattice_tol is None or np.allclose(lattice, c.lattice, atol=lattice_tol, rtol=0):
                idx.append(i)
                break
        else:
            bucket.append((c.lattice, [i]))
    return [np.array(idx) for bucket in buckets.values() for _, idx in bucket]


def stack_group(crystals, idx):
    """frac_coords (G, N, 3), numbers (G, N) and lattice: (3, 3) if all share one cell, else (G, 3, 3)."""
    lattice = np.stack([crystals[i].lattice for i in idx])  # (G, 3, 3)
    return (np.stack([crystals[i].frac_coords for i in idx]), np.stack([crystals[i].numbers for i in idx]),
            lattice[0] if np.all(lattice == lattice[0]) else lattice)
