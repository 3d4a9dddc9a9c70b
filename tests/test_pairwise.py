"""The periodic pairwise denoiser: gradients against finite differences, symmetries, input checks."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crystal_tutorial import nn
from crystal_tutorial.pairwise import PairwiseDenoiser, fourier_features, noise_features, pair_features


def _batch(rng, B=3, N=4):
    x = rng.random((B, N, 3))
    sigma = np.geomspace(0.01, 0.4, B)
    mask = np.ones((B, N), dtype=bool)
    mask[1, 2:] = False          # a structure with 2 real atoms, padded to N
    mask[2, -1] = False
    return x, sigma, mask


def _grad_errors(model, x, sigma, mask, rng):
    w = rng.standard_normal(x.shape)  # fixed upstream gradient: L = sum(w * out)

    def f():
        out = model.forward(x, sigma, mask)
        model.backward(w)
        return float(np.sum(w * out)), model.gradients()

    return nn.gradient_check(f, model.parameters())


# phi's output bias b adds b to every P_ij and cancels in P_ij - P_ji: its gradient is exactly 0
# in exact arithmetic, and both sides of the check are rounding noise, so we test it on its own.
BIAS = "phi_out.layers.1.b"


@pytest.mark.parametrize("message_passing", [True, False])
def test_full_model_gradient_check(message_passing):
    rng = np.random.default_rng(0)
    model = PairwiseDenoiser(n_freq=2, hidden=6, message_passing=message_passing, rng=1)
    x, sigma, mask = _batch(rng)
    errors = _grad_errors(model, x, sigma, mask, rng)
    assert max(e for k, e in errors.items() if k != BIAS) < 1e-6, errors
    if message_passing:  # the check reaches psi through the message passing
        assert {k for k in errors if k.startswith("psi.")} == {"psi.layers.0.W", "psi.layers.0.b",
                                                              "psi.layers.1.W", "psi.layers.1.b"}
    model.forward(x, sigma, mask)
    model.backward(rng.standard_normal(x.shape))
    assert np.abs(model.gradients()[BIAS]).max() < 1e-12


def test_padded_atoms_get_zero_output_and_do_not_matter():
    rng = np.random.default_rng(1)
    model = PairwiseDenoiser(n_freq=3, hidden=8, rng=2)
    x, sigma, mask = _batch(rng)
    out = model.forward(x, sigma, mask)
    assert np.all(out[~mask] == 0)
    x2 = x.copy()
    x2[~mask] = rng.random((int((~mask).sum()), 3))  # move the padded atoms anywhere
    np.testing.assert_allclose(model.forward(x2, sigma, mask), out, atol=1e-13)
    # a padded structure gives the same output as the same structure alone
    alone = model.forward(x[1:2, :2], sigma[1:2])
    np.testing.assert_allclose(alone[0], out[1, :2], atol=1e-13)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 7))
def test_permutation_equivariance(seed, n):
    rng = np.random.default_rng(seed)
    model = PairwiseDenoiser(n_freq=2, hidden=8, rng=seed)
    x, sigma = rng.random((2, n, 3)), np.array([0.02, 0.3])
    perm = rng.permutation(n)
    np.testing.assert_allclose(model.forward(x[:, perm], sigma), model.forward(x, sigma)[:, perm], atol=1e-12)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 7))
def test_translation_and_image_invariance(seed, n):
    rng = np.random.default_rng(seed)
    model = PairwiseDenoiser(n_freq=3, hidden=8, rng=seed)
    x, sigma = rng.random((2, n, 3)), np.array([0.05, 0.5])
    out = model.forward(x, sigma)
    shift = rng.uniform(-3, 3, size=(2, 1, 3))                     # the same shift for all atoms
    np.testing.assert_allclose(model.forward(x + shift, sigma), out, atol=1e-10)
    images = rng.integers(-2, 3, size=x.shape)                      # each atom to another image
    np.testing.assert_allclose(model.forward(x + images, sigma), out, atol=1e-10)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 7))
def test_output_sums_to_zero_over_atoms(seed, n):
    rng = np.random.default_rng(seed)
    model = PairwiseDenoiser(n_freq=2, hidden=8, rng=seed)
    out = model.forward(rng.random((3, n, 3)), np.array([0.005, 0.1, 0.5]))
    np.testing.assert_allclose(out.sum(axis=1), 0.0, atol=1e-12)


def test_features():
    d = np.array([[0.25, -0.5, 0.0]])
    f = fourier_features(d, 2)                                       # (1, 12)
    angle = 2 * np.pi * np.array([[0.25, 0.5], [-0.5, -1.0], [0.0, 0.0]])  # (3 axes, K = 2)
    np.testing.assert_allclose(f[0], np.concatenate([np.sin(angle), np.cos(angle)], axis=-1).ravel(), atol=1e-15)
    u = noise_features(np.array([0.005, 0.5]), 0.005, 0.5)
    assert u.shape == (2, 9) and u[0, 0] == 0 and np.isclose(u[1, 0], 1.0)
    x = np.array([[[0.1, 0.2, 0.3], [0.9, 0.2, 0.3]]])
    pf = pair_features(x, np.array([0.1]), 1, 0.005, 0.5)           # d_01 = wrap(0.8) = -0.2
    assert pf.shape == (1, 2, 2, 6 + 9)
    np.testing.assert_allclose(pf[0, 0, 1, 0], np.sin(2 * np.pi * -0.2))


def test_parameter_count_and_repr():
    model = PairwiseDenoiser()  # K = 4, hidden = 48: the measured recipe, about 13k parameters
    assert 12_000 < model.n_parameters < 14_000
    assert "12,723 parameters" in repr(model)
    plain = PairwiseDenoiser(message_passing=False)
    assert plain.n_parameters < model.n_parameters


def test_bad_inputs():
    model = PairwiseDenoiser(n_freq=2, hidden=4, rng=0)
    with pytest.raises(ValueError, match="x must have shape"):
        model.forward(np.zeros((4, 3)), 0.1)
    with pytest.raises(ValueError, match="NaN"):
        model.forward(np.full((1, 2, 3), np.nan), 0.1)
    with pytest.raises(ValueError, match=r"sigma must hold numbers > 0, got values from -1 to 0.1"):
        model.forward(np.zeros((2, 2, 3)), np.array([0.1, -1.0]))
    with pytest.raises(ValueError, match=r"sigma must have shape \(\) or \(2,\), got \(3,\)"):
        model.forward(np.zeros((2, 2, 3)), np.array([0.1, 0.2, 0.3]))
    with pytest.raises(ValueError, match=r"mask must have shape \(1, 2\), got \(1, 3\)"):
        model.forward(np.zeros((1, 2, 3)), 0.1, np.ones((1, 3), dtype=bool))
    with pytest.raises(TypeError, match=r"mask must be a bool array of shape \(1, 2\), got an array of float64"):
        model.forward(np.zeros((1, 2, 3)), 0.1, np.ones((1, 2)))
    with pytest.raises(ValueError, match="at least one real atom"):
        model.forward(np.zeros((1, 2, 3)), 0.1, np.zeros((1, 2), dtype=bool))
    with pytest.raises(ValueError, match="n_freq"):
        PairwiseDenoiser(n_freq=0)
    with pytest.raises(ValueError, match="hidden"):
        PairwiseDenoiser(hidden=1.5)
    with pytest.raises(ValueError, match=r"sigma_max must be > sigma_min = 0.5, got 0.1"):
        PairwiseDenoiser(sigma_min=0.5, sigma_max=0.1)
    with pytest.raises(RuntimeError, match="before forward"):
        PairwiseDenoiser(n_freq=1, hidden=2).backward(np.zeros((1, 2, 3)))
    model.forward(np.zeros((1, 2, 3)), 0.1)
    with pytest.raises(ValueError, match="grad_out must have the shape"):
        model.backward(np.zeros((1, 3, 3)))
