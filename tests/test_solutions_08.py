"""The folded solutions of notebook 08's exercises pass their checkers (and wrong answers do not)."""
import numpy as np

from crystal_tutorial.course.exercises import check
from crystal_tutorial.diffusion import wrapped_normal_score
from crystal_tutorial.pairwise import antisymmetric_sum, fourier_features
from crystal_tutorial.torus import score_norm


def test_solution_1_fourier_features():
    expected = fourier_features(np.array([0.25, 0.0, 0.5]), 1)
    assert check("08.1", [1, 0, 0, 1, 0, -1], expected=expected, atol=1e-9).ok
    assert not check("08.1", [1, 0, 1, 0, 0, -1], expected=expected, atol=1e-9).ok


def test_solution_2_combine():
    def combine(P, mask):
        A = mask[:, :, None] & mask[:, None, :] & ~np.eye(mask.shape[1], dtype=bool)   # (B, N, N)
        out = np.einsum("bij,bijc->bic", A.astype(float), P - P.swapaxes(1, 2))        # (B, N, 3)
        return out / mask.sum(axis=1)[:, None, None]

    def combine_is_right(f):
        P = np.random.default_rng(1).standard_normal((3, 5, 5, 3))
        mask = np.array([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 0, 1, 1, 0]], dtype=bool)
        return np.allclose(f(P, mask), antisymmetric_sum(P, mask))

    assert check("08.2", combine, test=combine_is_right).ok
    unmasked = lambda P, mask: (P - P.swapaxes(1, 2)).sum(axis=2) / P.shape[1]
    assert not check("08.2", unmasked, test=combine_is_right).ok


def test_solution_3_monte_carlo_norm():
    rng = np.random.default_rng(0)
    answer = np.sqrt(np.mean(wrapped_normal_score(0.3 * rng.standard_normal(200_000), 0.3) ** 2))
    assert check("08.3", answer, expected=score_norm(0.3), rtol=0.02).ok
    assert round(answer, 1) == 1.5  # "about 1.5", the value the solution states
    assert not check("08.3", 1 / 0.3, expected=score_norm(0.3), rtol=0.02).ok
