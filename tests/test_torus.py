"""VE diffusion on the torus: the normalised score target, training, sampling, weights on disk."""
import json

import numpy as np
import pytest

from crystal_tutorial import checkpoint
from crystal_tutorial.crystals import Crystal, demo_dataset
from crystal_tutorial.diffusion import wrapped_normal_log_pdf, wrapped_normal_score
from crystal_tutorial.pairwise import PairwiseDenoiser
from crystal_tutorial.physics import prototype_match
from crystal_tutorial.torus import (
    PRETRAINED,
    TorusConfig,
    load_model,
    model_score,
    sample_torus,
    score_norm,
    score_target,
    train_torus,
)


@pytest.mark.parametrize("sigma", [0.01, 0.1, 0.3, 0.5])
def test_score_target_matches_finite_differences(sigma):
    """s / lambda with s = d/dd log p(d), checked against central differences of log p."""
    rng = np.random.default_rng(0)
    d = sigma * rng.standard_normal((2, 3, 3))                 # raw displacements sigma z
    h = 1e-6
    fd = (wrapped_normal_log_pdf(d + h, sigma) - wrapped_normal_log_pdf(d - h, sigma)) / (2 * h)
    np.testing.assert_allclose(wrapped_normal_score(d, sigma), fd, rtol=1e-6, atol=1e-6 / sigma)
    target = score_target(d, np.full(2, sigma))
    centred = fd - fd.mean(axis=1, keepdims=True)
    np.testing.assert_allclose(target * score_norm(sigma), centred, rtol=1e-5, atol=1e-5 / sigma)


def test_score_norm_closed_form_and_monte_carlo():
    # small sigma: the wrapped normal is a Gaussian, its score -d / sigma^2 has rms 1 / sigma
    np.testing.assert_allclose(score_norm(np.array([0.001, 0.01, 0.019])), [1000, 100, 1 / 0.019], rtol=1e-12)
    np.testing.assert_allclose(score_norm(0.021), 1 / 0.021, rtol=1e-3)     # continuous at the switch
    rng = np.random.default_rng(1)
    for sigma in (0.2, 0.35, 0.5):                                          # E[s^2] by Monte Carlo
        s = wrapped_normal_score(sigma * rng.standard_normal(200_000), sigma)
        np.testing.assert_allclose(score_norm(sigma), np.sqrt(np.mean(s ** 2)), rtol=0.01)
    assert score_norm(0.5) < 0.3 / 0.5      # near-uniform: far weaker than the Gaussian's 1 / sigma
    with pytest.raises(ValueError, match="sigma must lie in"):
        score_norm(0.0)
    with pytest.raises(ValueError, match="sigma must lie in"):
        score_norm(2.0)


def test_score_target_is_centred_and_masked():
    rng = np.random.default_rng(2)
    d = 0.01 * rng.standard_normal((4, 5, 3))
    mask = np.ones((4, 5), dtype=bool)
    mask[0, 3:] = False
    t = score_target(d, np.full(4, 0.01), mask)
    np.testing.assert_allclose(t.sum(axis=1), 0, atol=1e-12)
    assert np.all(t[~mask] == 0)
    np.testing.assert_allclose(t[1:], -(d[1:] - d[1:].mean(axis=1, keepdims=True)) / 0.01, rtol=1e-9)


def test_short_training_lowers_the_loss_and_is_reproducible():
    config = TorusConfig(n_freq=2, hidden=16, batch_size=8, max_steps=150, progress=False, seed=3)
    model = config.build_model()
    history = train_torus(model, demo_dataset(), config)
    assert history.n_steps == 150 and history.stopped_by == "steps"
    assert history.losses[-30:].mean() < 0.85 * history.losses[:30].mean()
    again = config.build_model()
    train_torus(again, demo_dataset(), config)
    for k, p in model.parameters().items():
        np.testing.assert_array_equal(p, again.parameters()[k])


def test_training_stops_on_time_and_callback():
    config = TorusConfig(n_freq=1, hidden=4, batch_size=4, max_steps=100_000, max_seconds=0.3, progress=False)
    history = train_torus(config.build_model(), demo_dataset(), config)
    # No upper bound on the time (a busy machine is slow); the loop stops only once 0.3 s have passed,
    # and long before the step budget.
    assert history.stopped_by == "time" and history.train_seconds >= 0.3 and history.n_steps < config.max_steps
    history = train_torus(config.build_model(), demo_dataset(), config, callback=lambda step, history: step == 4)
    assert history.stopped_by == "callback" and history.n_steps == 5


def test_sampler_shapes_determinism_and_trajectory():
    model = PairwiseDenoiser(n_freq=2, hidden=8, rng=0)
    crystals, traj = sample_torus(model, 3, 5, np.random.default_rng(4), n_steps=10, corrector_steps=1, record=True)
    assert len(crystals) == 5 and all(isinstance(c, Crystal) and c.n_atoms == 3 for c in crystals)
    assert traj.shape == (11, 5, 3, 3) and np.all((traj >= 0) & (traj < 1))
    np.testing.assert_array_equal(traj[-1], np.stack([c.frac_coords for c in crystals]))
    again = sample_torus(model, 3, 5, np.random.default_rng(4), n_steps=10, corrector_steps=1)
    np.testing.assert_array_equal(again[0].frac_coords, crystals[0].frac_coords)
    big = sample_torus(model, 2, 1, np.random.default_rng(0), n_steps=3, lattice=np.eye(3) * 7.0)[0]
    np.testing.assert_array_equal(big.lattice, np.eye(3) * 7.0)


def test_model_score_scales_the_output():
    model = PairwiseDenoiser(n_freq=2, hidden=8, rng=0)
    x = np.random.default_rng(5).random((2, 3, 3))
    np.testing.assert_allclose(model_score(model, x, 0.01), 100 * model.forward(x, np.full(2, 0.01)))


def test_sampler_bad_arguments():
    model = PairwiseDenoiser(n_freq=1, hidden=2, rng=0)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"n_atoms must be an integer in 1\.\.1000"):
        sample_torus(model, 0, 1, rng)
    with pytest.raises(ValueError, match=r"temperature must be a number in \(0, 100\]"):
        sample_torus(model, 2, 1, rng, temperature=0)
    with pytest.raises(TypeError, match="rng must be a np.random.Generator"):
        sample_torus(model, 2, 1, 0)
    with pytest.raises(TypeError, match="model must be a PairwiseDenoiser"):
        sample_torus(object(), 2, 1, rng)
    with pytest.raises(ValueError, match="lattice is singular"):
        sample_torus(model, 2, 1, rng, lattice=np.zeros((3, 3)))
    with pytest.raises(ValueError, match="lattice is too large"):
        sample_torus(model, 2, 1, rng, lattice=np.eye(3) * 1e120)


def test_config_validation():
    with pytest.raises(ValueError, match=r"batch_size must be an integer in 1\.\.1000000000, got 0"):
        TorusConfig(batch_size=0)
    with pytest.raises(ValueError, match=r"max_seconds must be a finite number > 0, got -1"):
        TorusConfig(max_seconds=-1)
    with pytest.raises(ValueError, match=r"sigma_max must be > sigma_min = 0.5, got 0.5"):
        TorusConfig(sigma_min=0.5, sigma_max=0.5)
    with pytest.raises(ValueError, match="two or more atoms"):
        train_torus(PairwiseDenoiser(n_freq=1, hidden=2), [demo_dataset()[0]], TorusConfig(progress=False))


def test_save_load_round_trip(tmp_path):
    config = TorusConfig(n_freq=3, hidden=10, message_passing=False, seed=7)
    model = config.build_model()
    path = checkpoint.save(tmp_path / "m", model, config)
    assert path.suffix == ".npz"
    loaded, cfg = load_model(path)
    assert cfg == config and loaded.config() == model.config()
    x = np.random.default_rng(0).random((2, 4, 3))
    np.testing.assert_array_equal(loaded.forward(x, 0.1), model.forward(x, 0.1))
    with np.load(path, allow_pickle=False) as data:               # plain arrays, no pickled objects
        assert json.loads(str(data["config"]))["model"]["n_freq"] == 3


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no weights file"):
        load_model(tmp_path / "missing.npz")
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="not a pairwise-model file"):
        load_model(tmp_path / "other.npz")


def test_pretrained_weights_are_small_and_make_crystals():
    assert PRETRAINED.is_file() and PRETRAINED.stat().st_size < 120_000
    model, config = load_model()
    assert isinstance(model, PairwiseDenoiser) and config is not None
    samples = sample_torus(model, 2, 20, np.random.default_rng(0), n_steps=50)
    assert np.mean([prototype_match(c, 0.25) == "bcc" for c in samples]) >= 0.9
