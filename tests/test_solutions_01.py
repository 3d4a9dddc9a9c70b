"""The folded solutions of notebook 01's exercises pass their checkers."""
import numpy as np

from crystal_tutorial import pbc
from crystal_tutorial.course.exercises import check
from crystal_tutorial.crystals import prototype, reference_crystals

SKEWED = np.array([[4.0, 0.0, 0.0], [3.6, 2.0, 0.0], [0.0, 0.0, 4.0]])


def test_solution_1_density_of_iron():
    answer = 1.66053906660 * 2 * 55.845 / 2.87 ** 3
    expected = reference_crystals(["Fe"])["Fe"].density
    assert round(answer, 2) == 7.85   # the value the solution states
    for right in (answer, 7.85, "7.85", 7.86):   # three significant figures, as the question's inputs
        assert check("01.1", right, expected=expected, rtol=5e-3).ok
    assert not check("01.1", answer / 2, expected=expected, rtol=5e-3).ok


def test_solution_2_bcc_nearest_neighbour():
    expected = pbc.min_distance(prototype("bcc", 3.16).frac_coords, np.eye(3) * 3.16)
    assert check("01.2", 3.16 * np.sqrt(3) / 2, expected=expected, rtol=2e-3).ok
    assert check("01.2", "2.74", expected=expected, rtol=2e-3).ok


def test_solution_3_rounding_failure():
    def rounding_is_wrong(d):
        d = np.asarray(d, dtype=float)
        exact = float(pbc.minimum_image(d, SKEWED)[1])
        rounded = float(pbc.minimum_image(d, SKEWED, method="round")[1])
        used = np.array([0.4, 0.4, 0.0])   # section 4's displacement does not count
        if any(np.allclose(d - u, np.round(d - u)) for u in (used, -used)):
            return False
        return d.shape == (3,) and rounded > exact + 0.3

    assert check("01.3", [0.3, 0.45, 0.0], test=rounding_is_wrong).ok
    assert not check("01.3", [0.4, 0.4, 0.0], test=rounding_is_wrong).ok
    assert not check("01.3", [0.6, 0.6, 0.0], test=rounding_is_wrong).ok
    assert not check("01.3", [0.1, 0.1, 0.0], test=rounding_is_wrong).ok
