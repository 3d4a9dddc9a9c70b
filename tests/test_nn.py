"""Tests of crystal_tutorial.nn and .optim: gradients against central differences, Adam against a
hand-computed example, both against PyTorch when it is installed (CI installs it), clear errors."""
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crystal_tutorial import checkpoint, nn, optim
from crystal_tutorial.course.exercises import check
from crystal_tutorial.viz import nn as viz_nn

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "03_mlp_and_adam.ipynb"
GOOD = 1e-7  # cs231n: relative error below 1e-7 is good


def away_from_zero(rng, shape, gap=1e-3):
    """Random inputs with |z| > gap, so that ReLU's kink at 0 cannot fool a finite difference."""
    z = rng.standard_normal(shape)
    return np.where(np.abs(z) < gap, gap * 10, z)


# ---- gradients of every layer, against finite differences ----

@settings(max_examples=15, deadline=None)
@given(lead=st.lists(st.integers(1, 3), min_size=0, max_size=3), d_in=st.integers(1, 5),
       d_out=st.integers(1, 5), seed=st.integers(0, 2**32 - 1))
def test_linear_gradients_any_leading_shape(lead, d_in, d_out, seed):
    rng = np.random.default_rng(seed)
    layer = nn.Linear(d_in, d_out, rng=rng)
    layer.b[:] = rng.standard_normal(d_out)
    errors = nn.layer_gradient_check(layer, rng.standard_normal((*lead, d_in)), rng=rng)
    assert set(errors) == {"input", "W", "b"}
    assert max(errors.values()) < GOOD, errors


@pytest.mark.parametrize("cls", [nn.ReLU, nn.SiLU])
@pytest.mark.parametrize("shape", [(7,), (4, 5), (2, 3, 3, 4)])
def test_activation_gradients(cls, shape):
    rng = np.random.default_rng(1)
    errors = nn.layer_gradient_check(cls(), away_from_zero(rng, shape), rng=rng)
    assert errors["input"] < GOOD


def test_activation_values():
    z = np.array([-2.0, 0.0, 3.0])
    assert np.array_equal(nn.ReLU().forward(z), [0.0, 0.0, 3.0])
    np.testing.assert_allclose(nn.SiLU().forward(z), z / (1 + np.exp(-z)), rtol=1e-14)
    # Large negative inputs: no overflow warning, output -> 0.
    with np.errstate(all="raise"):
        assert abs(nn.SiLU().forward(np.array([-1000.0]))[0]) < 1e-300


@settings(max_examples=10, deadline=None)
@given(sizes=st.lists(st.integers(1, 6), min_size=2, max_size=5), batch=st.integers(1, 6),
       activation=st.sampled_from(["relu", "silu"]), seed=st.integers(0, 2**32 - 1))
def test_mlp_gradients_random_shapes(sizes, batch, activation, seed):
    rng = np.random.default_rng(seed)
    model = nn.MLP(sizes, activation=activation, rng=rng)
    for p in model.parameters().values():  # non-zero biases too
        p += 0.1 * rng.standard_normal(p.shape)
    x = rng.standard_normal((batch, sizes[0]))
    errors = nn.layer_gradient_check(model, x, rng=rng)
    # ReLU: a pre-activation within eps of its kink makes the finite difference wrong; that
    # has probability ~1e-6 per unit here, so every tensor passes.
    assert max(errors.values()) < 1e-6, errors


def test_full_mlp_gradient_check_with_mse_loss():
    rng = np.random.default_rng(0)
    model = nn.MLP([4, 64, 64, 3], rng=rng)
    x, y = rng.random((8, 4)), rng.standard_normal((8, 3))

    def f():
        loss, grad = nn.mse_loss(model.forward(x), y)
        model.backward(grad)
        return loss, model.gradients()

    errors = nn.gradient_check(f, model.parameters(), max_per_tensor=40, rng=rng)
    assert list(errors) == ["layers.0.W", "layers.0.b", "layers.1.W", "layers.1.b", "layers.2.W", "layers.2.b"]
    assert max(errors.values()) < 1e-6, errors


def test_gradient_check_catches_a_wrong_gradient():
    theta = {"w": np.array([1.0, 2.0])}

    def f():  # L = sum(w^2), true gradient 2 w, but we claim 3 w
        return float(np.sum(theta["w"] ** 2)), {"w": 3 * theta["w"]}

    assert nn.gradient_check(f, theta)["w"] > 1e-2
    np.testing.assert_array_equal(theta["w"], [1.0, 2.0])  # restored after the nudges


def test_mse_loss_gradient():
    rng = np.random.default_rng(2)
    pred, target = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))

    def f():
        loss, grad = nn.mse_loss(pred, target)
        return loss, {"pred": grad}

    assert nn.gradient_check(f, {"pred": pred})["pred"] < GOOD


def test_linear_accepts_pair_features_and_sums_gradients_over_leading_axes():
    rng = np.random.default_rng(3)
    layer = nn.Linear(5, 2, rng=rng)
    x = rng.standard_normal((2, 4, 4, 5))  # (B, N, N, d)
    g = rng.standard_normal((2, 4, 4, 2))
    y = layer.forward(x)
    assert y.shape == (2, 4, 4, 2)
    gx = layer.backward(g)
    assert gx.shape == x.shape
    np.testing.assert_allclose(layer.dW, np.einsum("bijk,bijl->kl", x, g), rtol=1e-12)
    np.testing.assert_allclose(layer.db, g.sum(axis=(0, 1, 2)), rtol=1e-12)


# ---- parameters, names, the 4,675-parameter configuration ----

def test_hello_world_mlp_has_4675_parameters():
    model = nn.MLP([4, 64, 64, 3], rng=0)
    assert model.n_parameters == 4675 == (4 * 64 + 64) + (64 * 64 + 64) + (64 * 3 + 3)
    shapes = {k: v.shape for k, v in model.parameters().items()}
    assert shapes == {"layers.0.W": (4, 64), "layers.0.b": (64,), "layers.1.W": (64, 64),
                      "layers.1.b": (64,), "layers.2.W": (64, 3), "layers.2.b": (3,)}
    assert model.gradients().keys() == model.parameters().keys()
    assert "4,675" in repr(model)


def test_init_statistics_and_seed():
    w = nn.Linear(500, 400, rng=0).W
    assert abs(w.std() - np.sqrt(2 / 500)) < 0.01 * np.sqrt(2 / 500) * 3   # He
    w = nn.Linear(500, 400, rng=0, init="glorot").W
    assert abs(w.std() - np.sqrt(2 / 900)) < 0.01 * np.sqrt(2 / 900) * 3
    assert not nn.Linear(3, 2, init="zeros").W.any()
    a, b = nn.MLP([3, 8, 2], rng=7), nn.MLP([3, 8, 2], rng=np.random.default_rng(7))
    assert all(np.array_equal(a.parameters()[k], b.parameters()[k]) for k in a.parameters())


def test_composed_module_names():
    class Pair(nn.Module):
        def __init__(self):
            self.edge = nn.MLP([2, 3, 1], rng=0)
            self.out = nn.Linear(1, 1, rng=0)

    assert list(Pair().parameters()) == ["edge.layers.0.W", "edge.layers.0.b", "edge.layers.1.W",
                                         "edge.layers.1.b", "out.W", "out.b"]
    assert Pair().n_parameters == (2 * 3 + 3) + (3 + 1) + 2


def test_residual_example_of_the_module_docstring():
    class Residual(nn.Module):
        def __init__(self, d, rng=None):
            self.mlp = nn.MLP([d, 2 * d, d], activation="silu", rng=rng)

        def forward(self, x):
            return x + self.mlp.forward(x)

        def backward(self, grad_out):
            return grad_out + self.mlp.backward(grad_out)

    rng = np.random.default_rng(9)
    block = Residual(3, rng=rng)
    assert list(block.parameters())[0] == "mlp.layers.0.W"
    errors = nn.layer_gradient_check(block, rng.standard_normal((2, 4, 4, 3)), rng=rng)  # pair-shaped input
    assert max(errors.values()) < GOOD, errors


def test_backward_overwrites_gradients_in_the_same_arrays():
    rng = np.random.default_rng(4)
    layer = nn.Linear(3, 2, rng=rng)
    dW = layer.gradients()["W"]
    x = rng.standard_normal((4, 3))
    layer.forward(x)
    layer.backward(np.ones((4, 2)))
    first = dW.copy()
    layer.forward(x)
    layer.backward(np.ones((4, 2)))
    assert layer.dW is dW
    np.testing.assert_array_equal(dW, first)  # overwritten, not accumulated


# ---- optimisers ----

def test_adam_two_steps_by_hand():
    # theta0 = 1, lr = 0.1, betas = (0.9, 0.999), eps = 1e-8, gradients g1 = 0.5 then g2 = -1.
    # t=1: m = 0.1*0.5 = 0.05, v = 0.001*0.25 = 0.00025, m_hat = 0.5, v_hat = 0.25
    #      theta1 = 1 - 0.1 * 0.5 / (0.5 + 1e-8) = 0.90000000199999996...
    # t=2: m = 0.9*0.05 - 0.1 = -0.055, v = 0.999*0.00025 + 0.001 = 0.00124975
    #      m_hat = -0.055 / 0.19 = -0.28947368421..., v_hat = 0.00124975 / 0.001999 = 0.62518759379...
    #      theta2 = theta1 + 0.1 * 0.28947368421 / (0.79068804...) = 0.93661035424056560...
    theta = np.array([1.0])
    opt = optim.Adam({"theta": theta}, lr=0.1, betas=(0.9, 0.999), eps=1e-8)
    opt.step({"theta": np.array([0.5])})
    assert theta[0] == pytest.approx(0.90000000199999996, rel=1e-15)
    np.testing.assert_allclose([opt.m[0], opt.v[0]], [0.05, 0.00025], rtol=1e-15)
    opt.step({"theta": np.array([-1.0])})
    np.testing.assert_allclose([opt.m[0], opt.v[0]], [-0.055, 0.00124975], rtol=1e-14)
    assert theta[0] == pytest.approx(0.93661035424056560, rel=1e-14)
    assert opt.t == 2


def test_adam_first_step_has_size_lr_and_uncorrected_does_not():
    for g in (1e-4, 3.0, -50.0):
        theta = np.zeros(1)
        optim.Adam({"t": theta}, lr=0.01, eps=1e-12).step({"t": np.array([g])})
        assert theta[0] == pytest.approx(-0.01 * np.sign(g), rel=1e-6)
        theta = np.zeros(1)
        optim.Adam({"t": theta}, lr=0.01, eps=1e-12, bias_correction=False).step({"t": np.array([g])})
        assert theta[0] == pytest.approx(-0.01 * np.sign(g) * 0.1 / np.sqrt(0.001), rel=1e-6)


def test_optimisers_update_the_model_arrays_in_place():
    rng = np.random.default_rng(5)
    model = nn.MLP([3, 4, 2], rng=rng)
    before = {k: (id(v), v.copy()) for k, v in model.parameters().items()}
    for opt in (optim.Adam(model.parameters(), lr=1e-2), optim.SGD(model, lr=1e-2, momentum=0.9)):
        _, g = nn.mse_loss(model.forward(rng.random((5, 3))), np.zeros((5, 2)))
        model.backward(g)
        opt.step(model.gradients())
    for k, v in model.parameters().items():
        assert id(v) == before[k][0]
        assert not np.array_equal(v, before[k][1])


def test_sgd_momentum_and_weight_decay_by_hand():
    theta = np.array([1.0, -2.0])
    opt = optim.SGD({"p": theta}, lr=0.1, momentum=0.5, weight_decay=0.1)
    opt.step({"p": np.array([1.0, 1.0])})      # g + 0.1 theta = [1.1, 0.8]; buf = g
    np.testing.assert_allclose(theta, [1.0 - 0.11, -2.0 - 0.08])
    opt.step({"p": np.array([0.0, 0.0])})      # g = 0.1 theta = [0.089, -0.208]; buf = 0.5 buf + g
    np.testing.assert_allclose(theta, [0.89 - 0.1 * (0.55 + 0.089), -2.08 - 0.1 * (0.4 - 0.208)])


def test_clip_grad_norm():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[4.0]])}
    assert optim.clip_grad_norm(grads, 1.0) == pytest.approx(5.0)
    np.testing.assert_allclose(grads["a"], [0.6, 0.0])
    np.testing.assert_allclose(grads["b"], [[0.8]])
    assert optim.clip_grad_norm(grads, 10.0) == pytest.approx(1.0)  # below the limit: unchanged
    np.testing.assert_allclose(grads["a"], [0.6, 0.0])
    # The optimiser option clips the same way: one SGD step of lr 1 moves theta by the clipped g.
    theta = np.zeros(2)
    opt = optim.SGD({"p": theta}, lr=1.0, max_grad_norm=1.0)
    opt.step({"p": np.array([30.0, 40.0])})
    np.testing.assert_allclose(theta, [-0.6, -0.8])
    assert opt.last_grad_norm == pytest.approx(50.0)


def _torch():
    """torch, or a skip where it is not installed; CI sets CRYSTAL_TUTORIAL_REQUIRE_TORCH=1, so there a
    missing torch fails instead of skipping (.ci/run installs the CPU build for these tests)."""
    if os.environ.get("CRYSTAL_TUTORIAL_REQUIRE_TORCH"):
        import torch
        return torch
    return pytest.importorskip("torch")


def test_adam_and_sgd_match_pytorch():
    torch = _torch()
    rng = np.random.default_rng(6)
    p0, grads = rng.standard_normal((3, 4)), rng.standard_normal((5, 3, 4))
    for make_np, make_torch in (
            (lambda p: optim.Adam({"p": p}, lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01),
             lambda p: torch.optim.Adam([p], lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01)),
            (lambda p: optim.SGD({"p": p}, lr=0.05, momentum=0.9),
             lambda p: torch.optim.SGD([p], lr=0.05, momentum=0.9))):
        p_np, p_t = p0.copy(), torch.tensor(p0, requires_grad=True)
        opt_np, opt_t = make_np(p_np), make_torch(p_t)
        for g in grads:
            opt_np.step({"p": g})
            p_t.grad = torch.tensor(g)
            opt_t.step()
        np.testing.assert_allclose(p_np, p_t.detach().numpy(), rtol=1e-12, atol=1e-14)



def test_mlp_forward_and_gradients_match_pytorch():
    """The hand-written backward of the hello-world MLP against torch.autograd (float64, both)."""
    torch = _torch()
    rng = np.random.default_rng(7)
    for activation, act_t in (("relu", torch.nn.functional.relu), ("silu", torch.nn.functional.silu)):
        model = nn.MLP([4, 64, 64, 3], activation=activation, rng=rng)
        x, target = rng.standard_normal((80, 4)), rng.standard_normal((80, 3))
        loss, grad = nn.mse_loss(model.forward(x), target)
        dx = model.backward(grad)
        params = {k: torch.tensor(v, requires_grad=True) for k, v in model.parameters().items()}
        x_t = torch.tensor(x, requires_grad=True)
        h = x_t
        for i in range(3):
            h = h @ params[f"layers.{i}.W"] + params[f"layers.{i}.b"]
            h = act_t(h) if i < 2 else h
        loss_t = torch.mean((h - torch.tensor(target)) ** 2)
        loss_t.backward()
        assert loss == pytest.approx(loss_t.item(), rel=1e-14)
        np.testing.assert_allclose(dx, x_t.grad.numpy(), rtol=1e-12, atol=1e-14)
        for k, g in model.gradients().items():
            np.testing.assert_allclose(g, params[k].grad.numpy(), rtol=1e-12, atol=1e-14, err_msg=k)

# ---- time embeddings ----

def test_time_embeddings():
    t = np.array([0, 50, 100])
    np.testing.assert_array_equal(nn.scalar_time_embedding(t, 100), [[0.0], [0.5], [1.0]])
    assert nn.scalar_time_embedding(np.zeros((2, 4)), 10).shape == (2, 4, 1)
    e = nn.sinusoidal_embedding(t, 8)
    assert e.shape == (3, 8)
    np.testing.assert_array_equal(e[0], [0, 0, 0, 0, 1, 1, 1, 1])  # sin 0 = 0, cos 0 = 1
    np.testing.assert_allclose(e[1, 0], np.sin(50.0))              # w_0 = 1
    np.testing.assert_allclose(e[2, 3], np.sin(100 * 10_000 ** (-3 / 4)))
    np.testing.assert_allclose(e[:, :4] ** 2 + e[:, 4:] ** 2, 1.0)
    assert nn.sinusoidal_embedding(np.zeros((2, 3)), 4).shape == (2, 3, 4)


# ---- clear errors ----

def test_bad_inputs_raise_clear_errors():
    model = nn.MLP([4, 8, 3], rng=0)
    with pytest.raises(ValueError, match=r"x must have shape \(\.\.\., 4\), got \(5, 3\)"):
        model.forward(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="x contains NaN"):
        model.forward(np.full((2, 4), np.nan))
    with pytest.raises(TypeError, match="x must be an array of real numbers"):
        model.forward("abc")
    with pytest.raises(RuntimeError, match="backward called before forward"):
        nn.MLP([4, 8, 3], rng=0).backward(np.zeros((5, 3)))
    model.forward(np.zeros((5, 4)))
    with pytest.raises(ValueError, match=r"grad_out must have the shape of the last forward output \(5, 3\), got \(5, 2\)"):  # noqa: E501
        model.backward(np.zeros((5, 2)))
    with pytest.raises(ValueError, match="grad_out contains NaN"):
        model.backward(np.full((5, 3), np.inf))
    with pytest.raises(ValueError, match="z contains NaN"):
        nn.ReLU().forward(np.array([np.nan]))
    with pytest.raises(ValueError, match="sizes must be a list of at least two positive ints"):
        nn.MLP([4])
    with pytest.raises(ValueError, match=r"sizes\[1\] must be an integer in 1\.\.100000, got 0"):
        nn.MLP([4, 0, 3])
    with pytest.raises(ValueError, match="activation must be one of"):
        nn.MLP([4, 3], activation="tanh")
    with pytest.raises(ValueError, match=r"d_in must be an integer in 1\.\.100000, got 0"):
        nn.Linear(0, 3)
    with pytest.raises(ValueError, match="init must be one of"):
        nn.Linear(2, 3, init="uniform")
    with pytest.raises(TypeError, match="rng must be a np.random.Generator"):
        nn.Linear(2, 3, rng="seed")
    with pytest.raises(ValueError, match="pred and target must have the same shape"):
        nn.mse_loss(np.zeros(3), np.zeros(4))


def test_optimiser_bad_inputs():
    p = {"p": np.zeros(3)}
    for lr in (0, -1e-3, float("nan")):
        with pytest.raises(ValueError, match="lr must be a finite number > 0"):
            optim.Adam(p, lr=lr)
        with pytest.raises(ValueError, match="lr must be a finite number > 0"):
            optim.SGD(p, lr=lr)
    with pytest.raises(ValueError, match=r"betas\[1\] \(beta2\) must be a number in \[0, 1\), got 1.0"):
        optim.Adam(p, betas=(0.9, 1.0))
    with pytest.raises(TypeError, match="betas must be a pair"):
        optim.Adam(p, betas=0.9)
    with pytest.raises(ValueError, match="eps must be a finite number > 0"):
        optim.Adam(p, eps=0)
    with pytest.raises(ValueError, match=r"momentum must be a number in \[0, 1\), got 1.0"):
        optim.SGD(p, lr=0.1, momentum=1.0)
    with pytest.raises(ValueError, match="max_grad_norm must be a finite number > 0"):
        optim.SGD(p, lr=0.1, max_grad_norm=0)
    with pytest.raises(TypeError, match="params must be a non-empty dict of float64 arrays"):
        optim.Adam({"p": np.zeros(3, dtype=int)})
    with pytest.raises(TypeError, match="params must be a non-empty dict"):
        optim.Adam({})
    opt = optim.Adam(p)
    with pytest.raises(ValueError, match=r"grads must be a dict with the keys of params \['p'\]"):
        opt.step({"q": np.zeros(3)})
    with pytest.raises(ValueError, match=r"grads\['p'\] must have shape \(3,\), got \(2,\)"):
        opt.step({"p": np.zeros(2)})
    with pytest.raises(ValueError, match=r"gradients \['p'\] contain NaN"):
        opt.step({"p": np.array([0.0, np.nan, 0.0])})
    with pytest.raises(ValueError, match="max_norm must be a finite number > 0"):
        optim.clip_grad_norm({"p": np.ones(2)}, -1)
    with pytest.raises(ValueError, match=r"T must be an integer in 1\.\."):
        nn.scalar_time_embedding(np.array([1]), 0)
    with pytest.raises(ValueError, match=r"t must lie in \[0, 10\]"):
        nn.scalar_time_embedding(np.array([11]), 10)
    with pytest.raises(ValueError, match="dim must be an even integer"):
        nn.sinusoidal_embedding(np.array([1]), 5)
    with pytest.raises(TypeError, match="f must be a callable"):
        nn.gradient_check(None, p)
    with pytest.raises(ValueError, match=r"f\(\) returned no gradients for \['p'\]"):
        nn.gradient_check(lambda: (0.0, {}), p)
    with pytest.raises(ValueError, match="gradients whose shapes differ"):
        nn.gradient_check(lambda: (0.0, {"p": np.zeros(2)}), p)
    with pytest.raises(ValueError, match=r"n must be an integer in 1\.\.1024, got 0"):
        nn.blas_threads(0)


def test_blas_threads_limits_and_restores():
    from threadpoolctl import threadpool_info

    def blas():
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    before = blas()
    with nn.blas_threads(1):
        assert all(n == 1 for n in blas())
    assert blas() == before


# ---- the toy regression and the slider render function of notebook 03 ----


def test_fit_toy_regression_adam_beats_sgd_and_is_deterministic():
    adam = viz_nn.fit_toy_regression("adam", lr=1e-2, steps=200)
    sgd = viz_nn.fit_toy_regression("sgd", lr=1e-2, steps=200)
    assert adam["loss"].shape == adam["step"].shape == (201,)
    assert adam["loss"][0] == sgd["loss"][0]  # same data and initial weights
    assert adam["loss"][-1] < 0.3 * adam["loss"][0]
    assert adam["loss"][-1] < sgd["loss"][-1]
    assert np.array_equal(
        viz_nn.fit_toy_regression("adam", steps=20)["loss"], viz_nn.fit_toy_regression("adam", steps=20)["loss"]
    )
    bad = viz_nn.fit_toy_regression("sgd", lr=1.0, steps=50)
    assert bad["diverged"] and np.all(np.isfinite(bad["loss"]))
    with pytest.raises(ValueError, match=r"batch_size must be an integer in 1\.\.256, got 0"):
        viz_nn.fit_toy_regression(batch_size=0)
    with pytest.raises(ValueError, match="optimizer must be"):
        viz_nn.fit_toy_regression("rmsprop")


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(),
        dict(lr=1e-5, beta1=0.0, beta2=0.0, batch_size=1),
        dict(lr=1.0, beta1=0.999, beta2=0.99999, batch_size=256),
    ],
)
def test_render_optimizer_race_at_slider_extremes(kwargs):
    import matplotlib.figure

    fig = viz_nn.render_optimizer_race(steps=60, **kwargs)
    assert isinstance(fig, matplotlib.figure.Figure)
    ax = fig.axes[0]
    assert ax.get_xlabel() and ax.get_ylabel()
    assert sum(1 for line in ax.get_lines() if line.get_label().startswith(("Adam", "SGD"))) == 3


@pytest.mark.parametrize(
    "name,value", [("lr", 2.0), ("lr", 0.0), ("beta1", 1.0), ("beta2", -0.1), ("batch_size", 0), ("batch_size", 300)]
)
def test_render_optimizer_race_rejects_out_of_range_sliders(name, value):
    with pytest.raises(ValueError, match=f"{name} must be (a number|an integer) in"):
        viz_nn.render_optimizer_race(**{name: value})


# ---- notebook 03: committed clean, and each folded solution passes its checker ----


def _cells():
    if not NOTEBOOK.exists():
        pytest.skip("notebook 03 not built yet")
    return json.loads(NOTEBOOK.read_text())["cells"]


def test_notebook_has_no_outputs():
    for cell in _cells():
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None


def test_notebook_exercise_solutions_pass_their_checks(capsys):
    cells = _cells()
    tagged = {tag: [] for tag in ("solution", "check")}
    for cell in cells:
        for tag in cell["metadata"].get("tags", []):
            if tag in tagged:
                tagged[tag].append("".join(cell["source"]))
    assert len(tagged["solution"]) == len(tagged["check"]) >= 3
    for solution, check_src in zip(tagged["solution"], tagged["check"]):
        code = re.search(r"```python\n(.*?)```", solution, re.S).group(1)
        results = []
        namespace = {
            "np": np,
            "nn": nn,
            "optim": optim,
            "checkpoint": checkpoint,
            "check": lambda *a, **k: results.append(check(*a, **k)),
        }
        exec(code, namespace)
        exec(check_src, namespace)
        assert len(results) == 1 and results[0].ok, (results, code)
