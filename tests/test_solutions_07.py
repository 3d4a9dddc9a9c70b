"""The folded solutions of notebook 07's exercises pass their checkers (and wrong answers do not)."""
import numpy as np

from crystal_tutorial.complexity import fit_power_law
from crystal_tutorial.exercises import check

# Exercise 2's data, as printed in the notebook: t = 2e-4 + 3e-9 N^2 seconds.
N_GIVEN = np.array([10, 30, 100, 300, 1000, 3000])
T_GIVEN = np.array([2.003e-4, 2.027e-4, 2.3e-4, 4.7e-4, 3.2e-3, 2.72e-2])


def test_solution_1_doubling_n():
    fits = {"brute force": fit_power_law([80, 120, 180, 270, 400], [6e-3, 1.3e-2, 3.1e-2, 7.2e-2, 0.16])}
    expected = 2 ** fits["brute force"].exponent  # the checker's expectation in the notebook
    answer = 2 ** fits["brute force"].exponent  # the folded solution
    assert check("07.1", answer, expected=expected, rtol=1e-3).ok
    assert not check("07.1", 2.0, expected=expected, rtol=1e-3).ok


def test_solution_2_exponent_from_data():
    assert np.allclose(T_GIVEN, 2e-4 + 3e-9 * N_GIVEN ** 2, rtol=2e-3)  # the data are what the solution says
    expected = fit_power_law(N_GIVEN[-3:], T_GIVEN[-3:]).exponent
    assert check("07.2", fit_power_law(N_GIVEN[-3:], T_GIVEN[-3:]).exponent, expected=expected, rtol=1e-6).ok
    assert check("07.2", np.polyfit(np.log(N_GIVEN[-3:]), np.log(T_GIVEN[-3:]), 1)[0], expected=expected, rtol=1e-6).ok
    assert 1.6 < expected < 2.0  # "about 1.8"
    everything = fit_power_law(N_GIVEN, T_GIVEN).exponent
    assert everything < expected and not check("07.2", everything, expected=expected, rtol=1e-6).ok


def test_solution_3_one_gigabyte():
    answer = int(np.floor(np.sqrt(1e9 / 24))) + 1
    assert 24 * answer ** 2 > 1e9 >= 24 * (answer - 1) ** 2
    assert check("07.3", answer, expected=6455, atol=0.5).ok
    assert not check("07.3", answer - 1, expected=6455, atol=0.5).ok


def test_solution_4_local_slope():
    a, b = 20e-6, 2e-9
    answer = 9 * a / b
    assert np.isclose(b * answer / (a + b * answer), 0.9)
    assert check("07.4", answer, expected=90_000, rtol=1e-6).ok
