"""The folded solutions of notebook 07's exercises pass their checkers (and wrong answers do not)."""
import numpy as np

from crystal_tutorial.complexity import fit_power_law
from crystal_tutorial.course.exercises import check

# Exercise 2's data, as printed in the notebook: t = 2e-4 + 3e-9 N^2 seconds.
N_GIVEN = np.array([10, 30, 100, 300, 1000, 3000])
T_GIVEN = np.array([2.003e-4, 2.027e-4, 2.3e-4, 4.7e-4, 3.2e-3, 2.72e-2])


def test_solution_1_doubling_n():
    fits = {"brute force": fit_power_law([80, 120, 180, 270, 400], [6e-3, 1.3e-2, 3.1e-2, 7.2e-2, 0.16])}
    k_fit = fits["brute force"].exponent

    def doubling_ok(ratio):   # the notebook's checker: this run's fit, or the exact O(N^2) answer
        return np.isclose(ratio, 2 ** k_fit, rtol=0.05) or np.isclose(ratio, 4, rtol=0.01)

    assert check("07.1", 2 ** fits["brute force"].exponent, test=doubling_ok).ok   # the folded solution
    assert check("07.1", "4", test=doubling_ok).ok
    assert not check("07.1", 2.0, test=doubling_ok).ok


def test_solution_2_exponent_from_data():
    assert np.allclose(T_GIVEN, 2e-4 + 3e-9 * N_GIVEN ** 2, rtol=2e-3)  # the data are what the solution says
    expected = fit_power_law(N_GIVEN[-3:], T_GIVEN[-3:]).exponent
    assert check("07.2", fit_power_law(N_GIVEN[-3:], T_GIVEN[-3:]).exponent, expected=expected, rtol=0.005).ok
    assert check("07.2", np.polyfit(np.log(N_GIVEN[-3:]), np.log(T_GIVEN[-3:]), 1)[0], expected=expected, rtol=0.005).ok
    assert round(expected, 2) == 1.76  # the value the solution states
    everything = fit_power_law(N_GIVEN, T_GIVEN).exponent
    assert everything < expected and not check("07.2", everything, expected=expected, rtol=0.005).ok


def test_solution_3_one_gigabyte():
    answer = int(np.floor(np.sqrt(1e9 / 24))) + 1
    assert 24 * answer ** 2 > 1e9 >= 24 * (answer - 1) ** 2
    first_past_1_gb = lambda n: n == int(n) and 24 * n ** 2 > 1e9 >= 24 * (n - 1) ** 2   # the notebook's checker
    assert check("07.3", answer, test=first_past_1_gb).ok and answer == 6455
    assert not check("07.3", answer - 1, test=first_past_1_gb).ok


def test_solution_4_local_slope():
    a, b = 20e-6, 2e-9
    answer = 9 * a / b
    assert np.isclose(b * answer / (a + b * answer), 0.9)
    slope_ok = lambda n: abs(b * n / (a + b * n) - 0.9) < 1e-4   # the notebook's checker
    assert check("07.4", answer, test=slope_ok).ok and check("07.4", "90,000", test=slope_ok).ok
    assert not check("07.4", 9000, test=slope_ok).ok
