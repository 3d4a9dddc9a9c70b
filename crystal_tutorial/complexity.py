"""Complexity in practice: a timing harness, scaling sweeps, power-law fits, a guarded brute force.

A claim such as "this step is O(N^2)" predicts that the run time grows like ``t = c * N^k``
with ``k = 2``. You test it by timing the step at several sizes (``scaling_sweep``), fitting a
straight line to ``log t`` against ``log N`` (``fit_power_law``) and reading the slope ``k``
with its confidence interval.

The brute-force minimum distance (``crystal_tutorial.pbc.min_distance``) builds the (N, N, 3)
array of all displacements: O(N^2) time and memory; ``brute_force_min_distance`` refuses sizes
that would not fit. The O(N) cell list it is timed against lives in ``neighbours``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .checks import check_array, check_choice, check_crystal, check_int, check_number, check_positive
from .crystals import Crystal
from .pbc import min_distance

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


def time_call(fn: Callable[[], object], repeats: int = 7, warmup: int = 1, number: int = 1) -> Timing:
    """Time ``fn()`` with ``time.perf_counter``: ``warmup`` untimed calls, then ``repeats`` timed ones.

    Each timed repeat runs ``fn`` ``number`` times and records the mean, so that calls of a few
    microseconds are measured above the clock's resolution. Report the median: it ignores the
    occasional slow run caused by other processes (the minimum is the other honest choice).
    """
    if not callable(fn):
        raise TypeError(f"fn must be a callable taking no arguments, got {type(fn).__name__}")
    repeats = check_int("repeats", repeats, 1, 10_000)
    warmup = check_int("warmup", warmup, 0, 10_000)
    number = check_int("number", number, 1, 10_000_000)
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
    check_array("sizes", sizes, ("K",), low=0, low_open=True)
    sizes = np.asarray(sizes)  # (K,) as given: integer sizes stay integers for make_input
    if sizes.size == 0:
        raise ValueError("sizes is empty; expected at least one size")
    repeats = check_int("repeats", repeats, 1, 10_000)
    warmup = check_int("warmup", warmup, 0, 10_000)
    number = check_int("number", number, 1, 10_000_000)
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
        return (
            f"t ~ {self.variable}^{self.exponent:.2f} ({100 * self.confidence:.0f}% CI {self.ci_low:.2f}..{self.ci_high:.2f}, "  # noqa: E501
            f"R^2 = {self.r2:.3f})"
        )


def fit_power_law(sizes, times, confidence: float = 0.95) -> PowerLawFit:
    """Least-squares line through (log n, log t): slope k, intercept log c, t-distribution CI on k.

    With K points, residual variance s^2 = SSR / (K - 2), the slope's standard error is
    s / sqrt(sum (x - mean x)^2), and the interval is k +- t_{(1+confidence)/2, K-2} * se
    (any regression text, e.g. Montgomery, Peck & Vining, "Introduction to Linear Regression
    Analysis", chapter 2).
    """
    from scipy import stats

    n = check_array("sizes", sizes, ("K",), low=0, low_open=True)  # (K,)
    t = check_array("times", times, ("K",), low=0, low_open=True)  # (K,)
    confidence = check_number("confidence", confidence, 0, 1, low_open=True, high_open=True)
    if t.shape != n.shape:
        raise ValueError(f"sizes and times must be 1-D of equal length, got shapes {n.shape} and {t.shape}")
    if n.size < 3:
        raise ValueError(f"a fit with a confidence interval needs at least 3 points, got {n.size}")
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


def brute_force_min_distance(crystal: Crystal, max_bytes: float = 2e9, method: str = "exact") -> float:
    """``pbc.min_distance`` (all N^2 pairs, O(N^2) time and memory), refusing above ``max_bytes``.

    The estimate is ``BRUTE_FORCE_BYTES_PER_PAIR * N^2`` (several (N, N, 3) float64 arrays at
    once; an upper bound for ``method="round"`` too); beyond the budget it raises ``ValueError``
    instead of swapping or being killed. ``method`` is passed on to ``pbc.min_distance``.
    """
    check_crystal("crystal", crystal)
    max_bytes = check_positive("max_bytes", max_bytes)
    check_choice("method", method, ("exact", "round"))
    need = BRUTE_FORCE_BYTES_PER_PAIR * float(crystal.n_atoms) ** 2
    if need > max_bytes:
        raise ValueError(
            f"brute force on N = {crystal.n_atoms} atoms needs about {need / 1e9:.3g} GB "
            f"({BRUTE_FORCE_BYTES_PER_PAIR} B x N^2), more than max_bytes = {max_bytes / 1e9:.3g} GB; "
            "use min_distance_cell_list (O(N) memory) or raise max_bytes"
        )
    return float(min_distance(crystal.frac_coords, crystal.lattice, method))
