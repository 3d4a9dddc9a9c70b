"""Per-atom MLP, DDPM training loop, save/load."""
import numpy as np
import pytest

from crystal_tutorial import checkpoint
from crystal_tutorial.crystals import demo_dataset, prototype
from crystal_tutorial.diffusion import q_sample, to_centered
from crystal_tutorial.models import PerAtomMLP, masked_mse
from crystal_tutorial.nn import gradient_check
from crystal_tutorial.training import TrainConfig, build_model, load, pad_batch, train

FAST = dict(progress=False)


def test_hello_world_model_has_4675_parameters():
    assert PerAtomMLP(T=100, hidden=64, rng=np.random.default_rng(0)).n_parameters == 4675


def test_full_backward_passes_gradient_check():
    rng = np.random.default_rng(0)
    model = PerAtomMLP(T=10, hidden=8, rng=rng)
    x = rng.normal(size=(3, 4, 3))
    t = np.array([1, 5, 10])
    mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]], bool)
    eps = rng.normal(size=x.shape)
    for p in model.parameters().values():  # random biases too: with zero biases a dead row sits on the ReLU kink
        p[...] = rng.normal(scale=0.5, size=p.shape)

    def f():
        loss, grad = masked_mse(model.forward(x, t, mask), eps, mask)
        model.backward(grad)
        return loss, model.gradients()

    errors = gradient_check(f, model.parameters())
    assert max(errors.values()) < 1e-6, errors


def test_padded_atoms_get_zero_prediction_and_do_not_change_loss():
    rng = np.random.default_rng(1)
    model = PerAtomMLP(T=10, hidden=8, rng=rng)
    x = rng.normal(size=(1, 3, 3))
    mask = np.array([[True, True, False]])
    pred = model.forward(x, np.array([3]), mask)
    assert np.all(pred[0, 2] == 0)
    x2 = x.copy()
    x2[0, 2] = 100.0  # garbage in the padding
    np.testing.assert_allclose(model.forward(x2, np.array([3]), mask)[:, :2], pred[:, :2])


@pytest.mark.parametrize("call, err, message", [
    (lambda m: m.forward(np.zeros((2, 3)), 1), ValueError, r"x_t must have shape \(B, N, 3\)"),
    (lambda m: m.forward(np.zeros((1, 2, 3)), 11), ValueError, r"t must hold integers in 0\.\.10, got 11"),
    (lambda m: m.forward(np.full((1, 2, 3), np.nan), 1), ValueError, "NaN"),
    (lambda m: m.forward(np.zeros((1, 2, 3)), 1, np.ones((1, 3), dtype=bool)), ValueError, "mask must have shape"),
    (lambda m: m.forward(np.zeros((1, 2, 3)), 1.5), ValueError, "integer"),
])
def test_model_bad_input(call, err, message):
    with pytest.raises(err, match=message):
        call(PerAtomMLP(T=10, hidden=4, rng=np.random.default_rng(0)))


def test_one_training_step_lowers_loss_on_a_fixed_batch():
    rng = np.random.default_rng(2)
    config = TrainConfig(epochs=1, lr=1e-3, **FAST)
    model = build_model(config)
    frac, mask = pad_batch(demo_dataset())
    x0 = to_centered(frac) * mask[..., None]
    t = rng.integers(1, 101, size=len(x0))
    x_t, eps = q_sample(config.make_schedule(), x0, t, rng=rng)
    from crystal_tutorial.optim import Adam
    opt = Adam(model.parameters(), lr=1e-3)
    loss0, grad = masked_mse(model.forward(x_t, t, mask), eps, mask)
    model.backward(grad)
    opt.step(model.gradients())
    loss1, _ = masked_mse(model.forward(x_t, t, mask), eps, mask)
    assert loss1 < loss0


def test_training_reduces_loss_and_is_bit_reproducible():
    config = TrainConfig(epochs=60, **FAST)
    h1 = train(build_model(config), demo_dataset(), config)
    h2 = train(build_model(config), demo_dataset(), config)
    np.testing.assert_array_equal(h1.losses, h2.losses)
    assert h1.losses[-20:].mean() < 0.7 * h1.losses[:5].mean()
    assert h1.timesteps.min() >= 1 and h1.timesteps.max() <= 100
    edges, means = h1.loss_by_timestep(4, T=100)
    assert len(edges) == 5 and means.shape == (4,)


def test_callback_can_stop_early():
    config = TrainConfig(epochs=50, **FAST)
    history = train(build_model(config), demo_dataset(), config, callback=lambda step, h: step >= 4)
    assert len(history.epoch_losses) == 5


def test_divergence_guard_names_learning_rate():
    config = TrainConfig(epochs=50, lr=1e120, **FAST)
    with pytest.raises(FloatingPointError, match="lr = 1e\\+120"):
        train(build_model(config), demo_dataset(), config)


@pytest.mark.parametrize("kwargs, message", [
    (dict(lr=0), "lr"), (dict(epochs=0), "epochs"), (dict(beta_start=0.1, beta_end=0.01), "beta_start"),
    (dict(schedule="quadratic"), "schedule"), (dict(batch_size=1.5), "batch_size"), (dict(grad_clip=-1.0), "grad_clip"),
])
def test_config_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**kwargs)


def test_model_and_config_must_agree():
    with pytest.raises(ValueError, match="model.T"):
        train(PerAtomMLP(T=50, rng=np.random.default_rng(0)), demo_dataset(), TrainConfig(**FAST))


def test_pad_batch():
    frac, mask = pad_batch([prototype("sc"), prototype("diamond")])
    assert frac.shape == (2, 8, 3) and mask.sum() == 9
    with pytest.raises(TypeError, match="Crystal"):
        pad_batch([np.zeros((3, 3))])


def test_save_load_round_trip_gives_identical_outputs(tmp_path):
    config = TrainConfig(epochs=5, hidden=16, **FAST)
    model = build_model(config)
    train(model, demo_dataset(), config)
    path = checkpoint.save(tmp_path / "m", model, config)
    model2, config2 = load(path)
    assert config2 == config
    x = np.random.default_rng(0).normal(size=(2, 4, 3))
    np.testing.assert_array_equal(model.forward(x, np.array([1, 7])), model2.forward(x, np.array([1, 7])))
    np.savez(tmp_path / "bad.npz", config=np.array("{}"))
    with pytest.raises(ValueError, match="do not fit"):
        load(tmp_path / "bad.npz")
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.npz")
