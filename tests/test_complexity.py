"""Tests for crystal_tutorial.complexity: timing harness, power-law fit, cell-list neighbour search."""
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crystal_tutorial.complexity import (
    BRUTE_FORCE_BYTES_PER_PAIR,
    PowerLawFit,
    Sweep,
    Timing,
    brute_force_min_distance,
    fit_power_law,
    scaling_sweep,
    time_call,
)
from crystal_tutorial.crystals import Crystal, jitter, prototype
from crystal_tutorial.neighbours import _cell_list_candidates, min_distance_cell_list, neighbour_pairs
from crystal_tutorial.pbc import min_distance, pairwise_distances


# --- random cells -----------------------------------------------------------------------
def random_cell(kind, rng, n_atoms=None):
    """A random crystal: "cubic", "skewed" (strongly oblique) or "small" (thinner than the cutoffs used)."""
    if kind == "cubic":
        lattice = np.eye(3) * rng.uniform(6.0, 9.0)
        n = n_atoms or int(rng.integers(2, 40))
    elif kind == "skewed":
        lattice = np.array([[6.0, 0, 0], [4.5, 5.0, 0], [-3.5, 2.5, 5.5]]) * rng.uniform(0.9, 1.1)
        lattice = lattice + rng.normal(0, 0.3, (3, 3))
        n = n_atoms or int(rng.integers(2, 40))
    elif kind == "small":
        lattice = np.diag(rng.uniform(1.2, 2.5, 3)) + rng.normal(0, 0.4, (3, 3))
        n = n_atoms or int(rng.integers(1, 4))
    else:
        raise ValueError(kind)
    # fractional coordinates outside [0, 1) on purpose: the search must wrap them itself
    return Crystal(lattice, rng.uniform(-1.0, 2.0, (n, 3)), np.full(n, 14))


KINDS = ("cubic", "skewed", "small")


def ase_half_list(crystal, cutoff):
    """ASE's neighbour list (both directions) cut to neighbour_pairs' half-list convention."""
    from ase.neighborlist import neighbor_list
    i, j, d, shifts = neighbor_list("ijdS", crystal.to_ase(), cutoff, self_interaction=False)
    first = shifts[np.arange(len(shifts)), np.argmax(shifts != 0, axis=1)]
    keep = (i < j) | ((i == j) & (first > 0))
    return {(a, b, *s): dist for a, b, s, dist in zip(i[keep], j[keep], shifts[keep].tolist(), d[keep])}


# --- neighbour_pairs --------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", range(4))
def test_neighbour_pairs_match_brute_force(kind, seed):
    rng = np.random.default_rng(seed)
    crystal = random_cell(kind, rng)
    cutoff = float(rng.uniform(2.0, 4.5))  # larger than the "small" cells
    pairs = neighbour_pairs(crystal, cutoff)
    n = crystal.n_atoms
    nearest = np.full((n, n), np.inf)  # (N, N) closest listed image of each pair
    np.minimum.at(nearest, (pairs.i, pairs.j), pairs.distances)
    brute = pairwise_distances(crystal.frac_coords, crystal.lattice)  # (N, N) exact minimum image
    upper = np.triu(np.ones((n, n), dtype=bool), 1)
    within = upper & (brute <= cutoff)
    np.testing.assert_allclose(nearest[within], brute[within], rtol=1e-12, atol=1e-12)
    assert np.all(np.isinf(nearest[upper & ~within]))
    # every listed image has the distance its shift implies
    vec = (crystal.frac_coords[pairs.j] + pairs.shifts - crystal.frac_coords[pairs.i]) @ crystal.lattice
    np.testing.assert_allclose(np.linalg.norm(vec, axis=1), pairs.distances, rtol=1e-12, atol=1e-12)
    assert np.all(pairs.distances <= cutoff) and np.all(pairs.i <= pairs.j)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", range(4))
def test_neighbour_pairs_match_ase_including_every_image(kind, seed):
    rng = np.random.default_rng(100 + seed)
    crystal = random_cell(kind, rng)
    cutoff = float(rng.uniform(1.0, 5.0))
    pairs = neighbour_pairs(crystal, cutoff)
    got = {(a, b, *s): d for a, b, s, d in zip(pairs.i, pairs.j, pairs.shifts.tolist(), pairs.distances)}
    assert len(got) == len(pairs.i), "a pair is listed twice"
    expected = ase_half_list(crystal, cutoff)
    assert got.keys() == expected.keys()
    np.testing.assert_allclose([got[k] for k in expected], list(expected.values()), rtol=1e-10)


def test_single_atom_lists_its_own_images_once():
    crystal = prototype("sc", a=2.0)
    pairs = neighbour_pairs(crystal, 2.9)  # 6 face (2.0 Å) and 12 edge (2.83 Å) neighbours, half of each
    assert len(pairs.i) == 9 and np.all(pairs.i == 0) and np.all(pairs.j == 0)
    np.testing.assert_allclose(np.sort(pairs.distances), [2.0] * 3 + [2 * np.sqrt(2)] * 6)


def test_neighbour_pairs_validate_inputs():
    with pytest.raises(TypeError, match="crystal must be"):
        neighbour_pairs(np.zeros((2, 3)), 1.0)
    for bad in (0.0, -1.0, np.nan, np.inf):
        with pytest.raises(ValueError, match=r"cutoff must be a number in \(0, 100\]"):
            neighbour_pairs(prototype("fcc"), bad)
    with pytest.raises(TypeError, match="cutoff must be a number"):
        neighbour_pairs(prototype("fcc"), "3")


def test_cell_list_work_per_atom_does_not_grow_with_n():
    """The O(N) claim, counted rather than timed: candidate pairs per atom stay constant.

    (Tiny cells, e.g. 2x2x2, do more work per atom: their bins are much wider than the cutoff.)
    """
    rng = np.random.default_rng(0)
    per_atom = []
    for reps in (3, 6, 12):
        crystal = jitter(prototype("fcc", a=3.6).supercell((reps,) * 3), 0.002, rng)
        total = sum(len(d2) for _, _, _, d2 in _cell_list_candidates(crystal, 2.6))
        per_atom.append(total / crystal.n_atoms)
    assert max(per_atom) < 1.1 * min(per_atom), per_atom


# --- min_distance_cell_list -------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", range(6))
def test_min_distance_cell_list_equals_brute_force(kind, seed):
    crystal = random_cell(kind, np.random.default_rng(200 + seed))
    expected = min_distance(crystal.frac_coords, crystal.lattice)
    assert min_distance_cell_list(crystal) == pytest.approx(expected, rel=1e-12)
    assert brute_force_min_distance(crystal) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("name, a, expected", [("sc", 3.0, 3.0), ("bcc", 4.0, 2 * np.sqrt(3)),
                                               ("fcc", 4.0, 2 * np.sqrt(2)), ("diamond", 5.43, 5.43 * np.sqrt(3) / 4)])
def test_min_distance_of_perfect_prototypes(name, a, expected):
    # perfect FCC sits exactly on the packing bound that sets the first cutoff
    crystal = prototype(name, a=a).supercell((3, 2, 1))
    assert min_distance_cell_list(crystal) == pytest.approx(expected, rel=1e-12)


def test_single_atom_gives_shortest_lattice_vector():
    skewed = Crystal([[3.0, 0, 0], [2.9, 0.5, 0], [0.3, 0.2, 4.0]], [[0.3, 0.1, 0.9]], [6])
    expected = min_distance(skewed.frac_coords, skewed.lattice)  # |b - a| = 0.51 Å
    assert min_distance_cell_list(skewed) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(np.hypot(0.1, 0.5))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 12), shear=st.floats(0.0, 3.0))
def test_min_distance_cell_list_property(seed, n, shear):
    rng = np.random.default_rng(seed)
    lattice = np.diag(rng.uniform(1.0, 6.0, 3)) + shear * rng.normal(0, 1, (3, 3))
    if abs(np.linalg.det(lattice)) < 0.2:
        return
    crystal = Crystal(lattice, rng.random((n, 3)), np.ones(n, int))
    expected = min_distance(crystal.frac_coords, crystal.lattice)
    assert min_distance_cell_list(crystal) == pytest.approx(expected, rel=1e-10)


def test_min_distance_cell_list_rejects_non_crystal():
    with pytest.raises(TypeError, match="crystal must be"):
        min_distance_cell_list([[0, 0, 0]])


# --- brute-force memory guard -----------------------------------------------------------
def test_brute_force_refuses_above_the_memory_budget():
    crystal = prototype("fcc").supercell((4, 4, 4))  # 256 atoms: 200 B x 256^2 = 13 MB
    need = BRUTE_FORCE_BYTES_PER_PAIR * 256 ** 2
    with pytest.raises(ValueError, match="max_bytes"):
        brute_force_min_distance(crystal, max_bytes=need / 2)
    assert brute_force_min_distance(crystal, max_bytes=need * 2) == pytest.approx(5.0 / np.sqrt(2))
    # the default 2 GB budget refuses 10^4 atoms (about 20 GB) before allocating anything
    big = Crystal(np.eye(3) * 50.0, np.random.default_rng(0).random((10_000, 3)), np.ones(10_000, int))
    with pytest.raises(ValueError, match=r"N = 10000 atoms needs about 20 GB"):
        brute_force_min_distance(big)
    for bad in (0, -1.0, np.nan):
        with pytest.raises(ValueError, match="max_bytes must be"):
            brute_force_min_distance(crystal, max_bytes=bad)
    with pytest.raises(TypeError, match=r"max_bytes must be a finite number > 0, got str"):
        brute_force_min_distance(crystal, max_bytes="2 GB")


# --- timing harness ---------------------------------------------------------------------
def test_time_call_statistics_and_call_count():
    calls = []
    timing = time_call(lambda: calls.append(1), repeats=5, warmup=2, number=3)
    assert len(calls) == 2 + 5 * 3
    assert isinstance(timing, Timing) and timing.times.shape == (5,)
    assert 0 <= timing.min <= timing.median <= timing.max
    assert timing.iqr >= 0 and timing.std >= 0
    assert "ms" in str(timing)


def test_time_call_measures_wall_clock(monkeypatch):
    timing = time_call(lambda: time.sleep(0.002), repeats=3, warmup=0)
    assert timing.min >= 0.002  # sleep never returns early (no upper bound: a busy machine is slow)

    class Clock:  # a fake clock: exact seconds per call, whatever the load
        now = 0.0

        def perf_counter(self):
            return self.now
    clock = Clock()
    import crystal_tutorial.complexity as complexity
    monkeypatch.setattr(complexity, "time", clock)
    timing = time_call(lambda: setattr(clock, "now", clock.now + 0.25), repeats=3, warmup=1, number=2)
    np.testing.assert_array_equal(timing.times, [0.25, 0.25, 0.25])  # seconds per call, warm-up not timed


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(fn=42), TypeError, "fn must be a callable"),
    (dict(repeats=0), ValueError, r"repeats must be an integer in 1\.\.10000, got 0"),
    (dict(repeats=2.5), ValueError, r"repeats must be an integer .*\(a whole number\), got 2.5"),
    (dict(repeats=True), TypeError, "repeats must be an integer"),
    (dict(warmup=-1), ValueError, r"warmup must be an integer in 0\.\.10000, got -1"),
    (dict(number=0), ValueError, r"number must be an integer in 1\.\.10000000, got 0"),
])
def test_time_call_validates_arguments(kwargs, error, match):
    args = dict(fn=lambda: None) | kwargs
    with pytest.raises(error, match=match):
        time_call(**args)


def test_time_call_accepts_zero_warmup_and_one_repeat():
    assert time_call(lambda: None, repeats=1, warmup=0).times.shape == (1,)


def test_scaling_sweep_times_each_size_and_fits():
    made = []
    sweep = scaling_sweep(lambda n: made.append(n) or np.ones(int(n)), np.sum, [10, 100, 1000], repeats=3)
    assert isinstance(sweep, Sweep) and made == [10, 100, 1000]
    assert len(sweep.timings) == 3 and sweep.medians.shape == (3,) and np.all(sweep.medians > 0)
    assert isinstance(sweep.fit(), PowerLawFit)
    with pytest.raises(ValueError, match="sizes must"):
        scaling_sweep(np.ones, np.sum, [10, -1])
    with pytest.raises(TypeError, match="make_input and fn must be callables"):
        scaling_sweep(np.ones, "sum", [10])


# --- power-law fit ----------------------------------------------------------------------
@pytest.mark.parametrize("exponent", [0.5, 1.0, 2.0, 3.0])
def test_fit_power_law_exact_data(exponent):
    n = np.array([10, 30, 100, 300, 1000.0])
    fit = fit_power_law(n, 2e-6 * n ** exponent)
    assert fit.exponent == pytest.approx(exponent, abs=1e-12)
    assert fit.prefactor == pytest.approx(2e-6, rel=1e-10)
    assert fit.r2 == pytest.approx(1.0) and fit.ci_high - fit.ci_low < 1e-10
    np.testing.assert_allclose(fit.predict(n), 2e-6 * n ** exponent, rtol=1e-10)


@pytest.mark.parametrize("exponent", [1.0, 1.5, 2.0])
def test_fit_power_law_recovers_exponent_from_noisy_data(exponent):
    rng = np.random.default_rng(int(10 * exponent))
    n = np.geomspace(100, 1e5, 10)
    times = 1e-7 * n ** exponent * np.exp(rng.normal(0, 0.1, n.size))  # 10% multiplicative noise
    fit = fit_power_law(n, times, confidence=0.999)
    assert fit.ci_low <= exponent <= fit.ci_high
    assert abs(fit.exponent - exponent) < 0.1 and fit.ci_high - fit.ci_low < 0.25
    assert fit.r2 > 0.98


def test_fit_power_law_interval_has_its_stated_coverage():
    """Over many synthetic data sets the 90% interval contains the true exponent about 90% of the time."""
    rng = np.random.default_rng(0)
    n = np.geomspace(10, 1e4, 6)
    hits = [fit_power_law(n, n ** 2 * np.exp(rng.normal(0, 0.3, n.size)), confidence=0.9)
            for _ in range(400)]
    coverage = np.mean([f.ci_low <= 2.0 <= f.ci_high for f in hits])
    assert 0.85 < coverage < 0.95


@pytest.mark.parametrize("sizes, times, kwargs, match", [
    ([1, 2], [1, 2], {}, "at least 3 points"),
    ([1, 2, 3], [1, 2], {}, "equal length"),
    ([1, 2, 3], [1, -2, 3], {}, r"times must hold numbers > 0, got values from -2 to 3"),
    ([0, 2, 3], [1, 2, 3], {}, r"sizes must hold numbers > 0, got values from 0 to 3"),
    ([1, 2, 3], [1, np.nan, 3], {}, "times contains NaN or infinite values"),
    ([5, 5, 5], [1, 2, 3], {}, "two different values"),
    ([1, 2, 3], [1, 2, 3], dict(confidence=1.0), r"confidence must be a number in \(0, 1\), got 1.0"),
])
def test_fit_power_law_validates(sizes, times, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fit_power_law(sizes, times, **kwargs)
