"""The folded solutions of notebook 06's exercises pass their checkers (and typical wrong answers do not).

Each test rebuilds what the notebook's check cell uses (same seeds) and runs the same check.
"""
import numpy as np
import pytest
from ase.data import atomic_masses, covalent_radii

from crystal_tutorial.course.exercises import check
from crystal_tutorial.crystals import AMU_PER_A3_TO_G_PER_CM3, Crystal, demo_dataset, reference_crystals
from crystal_tutorial.physics import PhysicsValidator, prototype_match

SEED = 0
LATTICE = np.eye(3) * 5.0


@pytest.fixture(scope="module")
def dataset():
    return demo_dataset(seed=SEED)


@pytest.fixture(scope="module")
def uniform():
    rng = np.random.default_rng(SEED + 2)  # as in section 2 of the notebook
    return [Crystal(LATTICE, rng.random((4, 3)), 14) for _ in range(200)]


def test_solution_1_si_bond():
    answer = 2 * covalent_radii[14]  # the folded solution
    assert check("06.1", answer, expected=2 * covalent_radii[14], atol=5e-3).ok
    assert answer == pytest.approx(2.22)  # "2.22 Å"
    assert check("06.1", "2.22 Å", expected=2 * covalent_radii[14], atol=5e-3).ok
    assert not check("06.1", covalent_radii[14], expected=2 * covalent_radii[14], atol=5e-3).ok


def test_solution_2_density(dataset):
    real = reference_crystals()

    def density_ok(f):  # the notebook's checker
        tests = list(real.values()) + dataset[:4]
        return all(np.isclose(f(c), c.density, rtol=1e-6) for c in tests)

    def density(crystal):  # the folded solution
        return atomic_masses[crystal.numbers].sum() / crystal.volume * AMU_PER_A3_TO_G_PER_CM3

    assert check("06.2", density, test=density_ok).ok
    assert not check("06.2", lambda c: atomic_masses[c.numbers].sum() / c.volume, test=density_ok).ok  # no 1.6605
    assert check("06.2", lambda c: None, test=density_ok).ok is False  # the unfilled stub fails, it does not crash


def test_solution_3_smallest_symprec(dataset):
    grid = [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5]
    expected = min(s for s in grid if prototype_match(dataset[5], s) == "fcc")
    answer = next(s for s in grid if prototype_match(dataset[5], s) == "fcc")  # the folded solution
    assert check("06.3", answer, expected=expected).ok
    assert answer == 0.3  # the value the solution text states
    assert not check("06.3", 0.25, expected=expected).ok


def test_solution_4_element_aware_floor(uniform):
    floor = 0.75 * 2 * covalent_radii[14]
    expected = np.mean(PhysicsValidator(min_distance=floor).check_minimum_distance_many(uniform)[0])
    strict = PhysicsValidator(min_distance=floor)  # the folded solution
    answer = strict.check_minimum_distance_many(uniform)[0].mean()
    assert check("06.4", answer, expected=expected, atol=1e-9).ok
    assert answer == pytest.approx(0.365)  # "about 36% (73 of 200)"
    p = 4 / 3 * np.pi * floor ** 3 / 125
    assert (1 - p) ** 6 == pytest.approx(0.36, abs=0.01) and p == pytest.approx(0.155, abs=0.001)
    lenient = PhysicsValidator().check_minimum_distance_many(uniform)[0].mean()
    assert not check("06.4", lenient, expected=expected, atol=1e-9).ok
