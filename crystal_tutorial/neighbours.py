"""Neighbour search with a cell list: every pair of atoms closer than a cutoff in O(N) time.

The brute-force minimum distance (``crystal_tutorial.pbc.min_distance``) builds the (N, N, 3)
array of all displacements: O(N^2) time and memory. A **cell list** (Allen & Tildesley,
"Computer Simulation of Liquids", chapter 5, neighbour lists and cell structures) sorts atoms
into bins at least one cutoff wide; an atom's neighbours then lie in its own bin or one of the
26 around it, so the work is O(N) at fixed density. Notebook 07 times both (``complexity``).
"""
from __future__ import annotations

import itertools
from typing import NamedTuple

import numpy as np

from .checks import check_crystal, check_number
from .crystals import Crystal
from .pbc import _reduce, wrap

MAX_CUTOFF = 100.0  # Å: neighbour shells beyond this are not chemistry (and their pair lists explode)


class NeighbourPairs(NamedTuple):
    """Pairs within a cutoff: atom ``j`` seen from atom ``i`` at ``cart_j + shifts @ lattice - cart_i``.

    ``i``, ``j`` (P,) int with i <= j; ``distances`` (P,) Å; ``shifts`` (P, 3) int lattice images,
    relative to the crystal's own (possibly unwrapped) ``frac_coords``.
    """

    i: np.ndarray
    j: np.ndarray
    distances: np.ndarray
    shifts: np.ndarray


def _cell_list_candidates(crystal: Crystal, cutoff: float, with_shifts: bool = False):
    """Yield, per bin offset, candidate pairs ``(i, j, s, d2)`` covering every pair within ``cutoff``.

    Works in a Minkowski-reduced basis (short, nearly orthogonal vectors) with fractional
    coordinates wrapped into [0, 1). Along reduced vector k the cell is h_k = V / |b x c| thick
    (a perpendicular height, so skewed cells work) and is cut into n_k bins of height
    w_k = h_k / n_k. A pair more than m_k = ceil(cutoff / w_k) bins apart along k is farther
    apart than the cutoff, so offsets in [-m_k, m_k] suffice: m = 1 (the 27 neighbouring bins)
    when the cell holds bins at least one cutoff high, more when the cell is thinner than the
    cutoff. Each offset also carries the lattice image ``s`` it crosses into, so every pair
    (i, j + s) is seen once: from the "lexicographically positive" half of the offsets, plus
    i < j inside a bin. With ``with_shifts``, ``s`` (P, 3) is converted to the images of
    ``crystal.lattice`` for the unwrapped ``crystal.frac_coords``; otherwise it is None.
    """
    reduced, op = _reduce(crystal.lattice)  # reduced (3, 3) = op @ lattice
    frac_unwrapped = crystal.frac_coords @ np.linalg.inv(op)  # (N, 3) in the reduced basis
    frac = wrap(frac_unwrapped)  # (N, 3) in [0, 1)
    k = np.rint(frac_unwrapped - frac)  # (N, 3) whole cells removed by wrapping
    n_atoms = len(frac)
    heights = 1.0 / np.linalg.norm(np.linalg.inv(reduced), axis=0)  # (3,) h_k = 1 / |reciprocal_k|
    n_bins = np.maximum(np.floor(heights / cutoff), 1).astype(int)  # (3,)
    excess = np.prod(n_bins.astype(float)) / (2.0 * n_atoms + 27)
    if excess > 1:  # a tiny cutoff: coarser bins (still >= cutoff) keep memory O(N)
        n_bins = np.maximum(np.floor(n_bins / excess ** (1 / 3)), 1).astype(int)
    reach = np.ceil(cutoff / (heights / n_bins) - 1e-12).astype(int)  # (3,) m_k
    bins = np.minimum(np.floor(frac * n_bins).astype(int), n_bins - 1)  # (N, 3)
    flat = np.ravel_multi_index(bins.T, n_bins)  # (N,)
    order = np.argsort(flat, kind="stable")  # atoms sorted by bin
    counts = np.bincount(flat, minlength=int(np.prod(n_bins)))  # (n_bins_total,)
    starts = np.cumsum(counts) - counts  # first sorted slot of each bin
    cart = frac @ reduced  # (N, 3) Å
    for offset in itertools.product(*[range(-m, m + 1) for m in reach]):  # loop over bin offsets
        nonzero = [o for o in offset if o != 0]
        if nonzero and nonzero[0] < 0:
            continue  # the mirror offset -offset sees these pairs
        target = bins + offset  # (N, 3) unwrapped target bins
        s = np.floor_divide(target, n_bins)  # (N, 3) lattice image crossed
        t_flat = np.ravel_multi_index((target - s * n_bins).T, n_bins)  # (N,)
        c = counts[t_flat]  # (N,) candidates per source atom
        i = np.repeat(np.arange(n_atoms), c)  # (P,)
        first = np.repeat(starts[t_flat] - (np.cumsum(c) - c), c)  # (P,) slot of the group's first j
        j = order[first + np.arange(len(i))]  # (P,)
        s = s[i]  # (P, 3)
        vec = cart[j] + s @ reduced - cart[i]  # (P, 3) Å
        d2 = np.einsum("pk,pk->p", vec, vec)  # (P,)
        if not nonzero:
            keep = i < j  # same bin, same image: each pair once, no atom with itself
            i, j, s, d2 = i[keep], j[keep], s[keep], d2[keep]
        # unwrapped: cart_j + s @ reduced - cart_i = (f_j - f_i) @ lattice + ((s - k_j + k_i) @ op) @ lattice
        yield i, j, (np.rint((s - k[j] + k[i]) @ op).astype(int) if with_shifts else None), d2


def neighbour_pairs(crystal: Crystal, cutoff: float) -> NeighbourPairs:
    """All pairs of atoms within ``cutoff`` Å (inclusive) under periodic boundaries, by a cell list.

    Each pair appears once: (i, j, shift) with i < j, for every image of j within the cutoff
    (several when the cell is thinner than twice the cutoff), and (i, i, shift) for an atom's own
    periodic images within the cutoff, with ``shift`` lexicographically positive (first non-zero
    entry > 0; its mirror -shift is the same pair). Sorted by (i, j). O(N) at fixed density.
    The same half list as ASE's ``neighbor_list`` (which lists both directions) restricted this way.
    """
    check_crystal("crystal", crystal)
    cutoff = check_number("cutoff", cutoff, 0, MAX_CUTOFF, low_open=True)
    parts = []
    for i, j, s, d2 in _cell_list_candidates(crystal, cutoff, with_shifts=True):  # over bin offsets
        keep = d2 <= cutoff * cutoff
        parts.append((i[keep], j[keep], s[keep], d2[keep]))
    i, j, s, d2 = (np.concatenate(p) for p in zip(*parts))  # (P,), (P,), (P, 3), (P,)
    swap = i > j  # put the smaller index first; the image flips sign
    i, j = np.where(swap, j, i), np.where(swap, i, j)
    shifts = np.where(swap[:, None], -s, s)  # (P, 3)
    selfish = i == j  # an atom and its own image: keep the lexicographically positive shift
    first_nonzero = shifts[np.arange(len(shifts)), np.argmax(shifts != 0, axis=1)]  # (P,)
    shifts[selfish & (first_nonzero < 0)] *= -1
    order = np.lexsort((j, i))
    return NeighbourPairs(i[order], j[order], np.sqrt(d2[order]), shifts[order])


def min_distance_cell_list(crystal: Crystal) -> float:
    """Smallest distance in Å between an atom and any other atom or periodic image; O(N).

    Agrees with ``crystal_tutorial.pbc.min_distance`` (which includes the shortest lattice
    vector, an atom's distance to its own image; for one atom that is the answer).
    The cutoff needs no guessing: no periodic arrangement of N atoms per volume V packs spheres
    more densely than FCC (the Kepler conjecture, T. Hales, Ann. Math. 162, 1065 (2005)), so the
    smallest distance is at most d_max = (sqrt(2) V / N)^(1/3), which is exactly FCC's nearest-neighbour
    distance. A cutoff of d_max finds a pair at once; the loop that grows it is only a safeguard.
    """
    check_crystal("crystal", crystal)
    cutoff = (np.sqrt(2.0) * crystal.volume / crystal.n_atoms) ** (1 / 3) * (1 + 1e-9)
    while True:  # runs once, barring round-off
        best = np.inf
        for _, _, _, d2 in _cell_list_candidates(crystal, cutoff):
            if d2.size:
                best = min(best, float(d2.min()))
        if best <= cutoff * cutoff:  # every pair within the cutoff was a candidate: exact
            return float(np.sqrt(best))
        cutoff *= 1.5
