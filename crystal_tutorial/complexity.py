"""Complexity in practice: a timing harness, scaling sweeps, power-law fits and a cell-list search.

A claim such as "this step is O(N^2)" predicts that the run time grows like ``t = c * N^k``
with ``k = 2``. You test it by timing the step at several sizes (``scaling_sweep``), fitting a
straight line to ``log t`` against ``log N`` (``fit_power_law``) and reading the slope ``k``
with its confidence interval.

The brute-force minimum distance (``crystal_tutorial.pbc.min_distance``) builds the (N, N, 3)
array of all displacements: O(N^2) time and memory. A **cell list** (Allen & Tildesley,
"Computer Simulation of Liquids", chapter 5, neighbour lists and cell structures) sorts atoms
into bins at least one cutoff wide; an atom's neighbours then lie in its own bin or one of the
26 around it, so the work is O(N) at fixed density.
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np

from .crystals import Crystal
from .pbc import _reduce, min_distance, wrap

# Peak bytes per atom pair of pbc.min_distance (exact method): tracemalloc measured 161 B at
# N = 500..2000 (182 B at N = 200); rounded up. The brute-force guard multiplies it by N^2.
BRUTE_FORCE_BYTES_PER_PAIR = 200


# --- timing -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Timing:
    """Wall-clock seconds of one call, over ``len(times)`` repeats: median, min, max, IQR, std."""

    times: np.ndarray  # (repeats,) seconds per call

    @property
    def median(self) -> float:
        return float(np.median(self.times))

    @property
    def min(self) -> float:
        return float(np.min(self.times))

    @property
    def max(self) -> float:
        return float(np.max(self.times))

    @property
    def iqr(self) -> float:
        q1, q3 = np.percentile(self.times, [25, 75])
        return float(q3 - q1)

    @property
    def std(self) -> float:
        return float(np.std(self.times))

    def __str__(self) -> str:
        return f"{self.median * 1e3:.3g} ms (min {self.min * 1e3:.3g}, IQR {self.iqr * 1e3:.2g}, n={len(self.times)})"


def _check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


def time_call(fn: Callable[[], object], repeats: int = 7, warmup: int = 1, number: int = 1) -> Timing:
    """Time ``fn()`` with ``time.perf_counter``: ``warmup`` untimed calls, then ``repeats`` timed ones.

    Each timed repeat runs ``fn`` ``number`` times and records the mean, so that calls of a few
    microseconds are measured above the clock's resolution. Report the median: it ignores the
    occasional slow run caused by other processes (the minimum is the other honest choice).
    """
    if not callable(fn):
        raise TypeError(f"fn must be a callable taking no arguments, got {type(fn).__name__}")
    repeats = _check_int("repeats", repeats, 1)
    warmup = _check_int("warmup", warmup, 0)
    number = _check_int("number", number, 1)
    for _ in range(warmup):
        fn()
    times = np.empty(repeats)
    for r in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        times[r] = (time.perf_counter() - start) / number
    return Timing(times)


@dataclass(frozen=True)
class Sweep:
    """Timings of one function at several sizes: ``sizes`` (K,), ``timings`` (K Timing objects)."""

    sizes: np.ndarray
    timings: tuple

    @property
    def medians(self) -> np.ndarray:
        return np.array([t.median for t in self.timings])  # (K,) seconds

    def fit(self, confidence: float = 0.95) -> "PowerLawFit":
        """Power law fitted to the median times."""
        return fit_power_law(self.sizes, self.medians, confidence)


def scaling_sweep(make_input: Callable, fn: Callable, sizes, repeats: int = 5, warmup: int = 1,
                  number: int = 1) -> Sweep:
    """Time ``fn(x)`` with ``x = make_input(n)`` for every ``n`` in ``sizes``.

    Building the input is not timed. ``fn`` takes exactly one argument; wrap it in a lambda
    (``lambda args: f(*args)``) when it needs more.
    """
    if not callable(make_input) or not callable(fn):
        raise TypeError(f"make_input and fn must be callables, got {type(make_input).__name__} and "
                        f"{type(fn).__name__}")
    sizes = np.asarray(sizes)
    if sizes.ndim != 1 or sizes.size == 0 or not np.all(np.isfinite(sizes)) or np.any(sizes <= 0):
        raise ValueError(f"sizes must be a non-empty 1-D sequence of positive numbers, got {sizes!r}")
    timings = []
    for n in sizes.tolist():  # loop over sizes
        x = make_input(n)
        timings.append(time_call(lambda: fn(x), repeats, warmup, number))
    return Sweep(sizes, tuple(timings))


# --- power-law fit ----------------------------------------------------------------------
@dataclass(frozen=True)
class PowerLawFit:
    """``t = prefactor * n ** exponent``; [ci_low, ci_high] is the exponent's confidence interval."""

    exponent: float
    prefactor: float
    ci_low: float
    ci_high: float
    r2: float
    confidence: float = 0.95
    variable: str = "N"        # the swept size, for printing: t ~ N^k, t ~ D^k, t ~ T^k, ...

    def predict(self, n) -> np.ndarray:
        return self.prefactor * np.asarray(n, dtype=float) ** self.exponent

    def __str__(self) -> str:
        return (f"t ~ {self.variable}^{self.exponent:.2f} ({100 * self.confidence:.0f}% CI {self.ci_low:.2f}..{self.ci_high:.2f}, "
                f"R^2 = {self.r2:.3f})")


def fit_power_law(sizes, times, confidence: float = 0.95) -> PowerLawFit:
    """Least-squares line through (log n, log t): slope k, intercept log c, t-distribution CI on k.

    With K points, residual variance s^2 = SSR / (K - 2), the slope's standard error is
    s / sqrt(sum (x - mean x)^2), and the interval is k +- t_{(1+confidence)/2, K-2} * se
    (any regression text, e.g. Montgomery, Peck & Vining, "Introduction to Linear Regression
    Analysis", chapter 2).
    """
    from scipy import stats
    n = np.asarray(sizes, dtype=float)
    t = np.asarray(times, dtype=float)
    if n.ndim != 1 or t.shape != n.shape:
        raise ValueError(f"sizes and times must be 1-D of equal length, got shapes {n.shape} and {t.shape}")
    if n.size < 3:
        raise ValueError(f"a fit with a confidence interval needs at least 3 points, got {n.size}")
    for name, arr in (("sizes", n), ("times", t)):
        if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
            raise ValueError(f"{name} must be positive finite numbers (a log-log fit), got {arr}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence}")
    x, y = np.log(n), np.log(t)  # (K,), (K,)
    sxx = np.sum((x - x.mean()) ** 2)
    if sxx == 0.0:
        raise ValueError("sizes must contain at least two different values")
    k = np.sum((x - x.mean()) * (y - y.mean())) / sxx  # slope = exponent
    b = y.mean() - k * x.mean()  # intercept = log(prefactor)
    ssr = np.sum((y - (b + k * x)) ** 2)
    sst = np.sum((y - y.mean()) ** 2)
    se = np.sqrt(ssr / (n.size - 2) / sxx)
    half = stats.t.ppf(0.5 + confidence / 2, n.size - 2) * se
    r2 = 1.0 - ssr / sst if sst > 0 else 1.0
    return PowerLawFit(float(k), float(np.exp(b)), float(k - half), float(k + half), float(r2), confidence)


# --- cell-list neighbour search ---------------------------------------------------------
class NeighbourPairs(NamedTuple):
    """Pairs within a cutoff: atom ``j`` seen from atom ``i`` at ``cart_j + shifts @ lattice - cart_i``.

    ``i``, ``j`` (P,) int with i <= j; ``distances`` (P,) Å; ``shifts`` (P, 3) int lattice images,
    relative to the crystal's own (possibly unwrapped) ``frac_coords``.
    """

    i: np.ndarray
    j: np.ndarray
    distances: np.ndarray
    shifts: np.ndarray


def _check_crystal(crystal):
    if not isinstance(crystal, Crystal):
        raise TypeError(f"crystal must be a crystal_tutorial.Crystal, got {type(crystal).__name__}")


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


def _check_cutoff(cutoff):
    if isinstance(cutoff, bool) or not isinstance(cutoff, (int, float, np.integer, np.floating)):
        raise TypeError(f"cutoff must be a number of Å, got {type(cutoff).__name__}")
    if not np.isfinite(cutoff) or cutoff <= 0:
        raise ValueError(f"cutoff must be a positive finite number of Å, got {cutoff}")
    return float(cutoff)


def neighbour_pairs(crystal: Crystal, cutoff: float) -> NeighbourPairs:
    """All pairs of atoms within ``cutoff`` Å (inclusive) under periodic boundaries, by a cell list.

    Each pair appears once: (i, j, shift) with i < j, for every image of j within the cutoff
    (several when the cell is thinner than twice the cutoff), and (i, i, shift) for an atom's own
    periodic images within the cutoff, with ``shift`` lexicographically positive (first non-zero
    entry > 0; its mirror -shift is the same pair). Sorted by (i, j). O(N) at fixed density.
    The same half list as ASE's ``neighbor_list`` (which lists both directions) restricted this way.
    """
    _check_crystal(crystal)
    cutoff = _check_cutoff(cutoff)
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
    _check_crystal(crystal)
    cutoff = (np.sqrt(2.0) * crystal.volume / crystal.n_atoms) ** (1 / 3) * (1 + 1e-9)
    while True:  # runs once, barring round-off
        best = np.inf
        for _, _, _, d2 in _cell_list_candidates(crystal, cutoff):
            if d2.size:
                best = min(best, float(d2.min()))
        if best <= cutoff * cutoff:  # every pair within the cutoff was a candidate: exact
            return float(np.sqrt(best))
        cutoff *= 1.5


def brute_force_min_distance(crystal: Crystal, max_bytes: float = 2e9, method: str = "exact") -> float:
    """``pbc.min_distance`` (all N^2 pairs, O(N^2) time and memory), refusing above ``max_bytes``.

    The estimate is ``BRUTE_FORCE_BYTES_PER_PAIR * N^2`` (several (N, N, 3) float64 arrays at
    once; an upper bound for ``method="round"`` too); beyond the budget it raises ``ValueError``
    instead of swapping or being killed. ``method`` is passed on to ``pbc.min_distance``.
    """
    _check_crystal(crystal)
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, (int, float, np.integer, np.floating)):
        raise TypeError(f"max_bytes must be a number of bytes, got {type(max_bytes).__name__}")
    if not np.isfinite(max_bytes) or max_bytes <= 0:
        raise ValueError(f"max_bytes must be a positive number of bytes, got {max_bytes!r}")
    need = BRUTE_FORCE_BYTES_PER_PAIR * float(crystal.n_atoms) ** 2
    if need > max_bytes:
        raise ValueError(
            f"brute force on N = {crystal.n_atoms} atoms needs about {need / 1e9:.3g} GB "
            f"({BRUTE_FORCE_BYTES_PER_PAIR} B x N^2), more than max_bytes = {max_bytes / 1e9:.3g} GB; "
            "use min_distance_cell_list (O(N) memory) or raise max_bytes")
    return float(min_distance(crystal.frac_coords, crystal.lattice, method))
