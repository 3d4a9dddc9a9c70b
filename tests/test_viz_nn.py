"""Notebook 03's optimiser race: the divergence rule and the render function's bounds."""
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from crystal_tutorial.viz import nn as viz_nn


def test_divergence_step_ignores_a_spike_the_run_recovers_from():
    assert viz_nn.divergence_step([1.0, 50.0, 0.5, 0.4]) is None          # a large first step
    assert viz_nn.divergence_step([1.0, 50.0, 0.5, 20.0, 30.0]) == 3      # above 10x from step 3 to the end
    assert viz_nn.divergence_step([1.0, 11.0]) == 1
    assert viz_nn.divergence_step([1.0, 9.9, 9.9]) is None
    with pytest.raises(ValueError, match="finite"):
        viz_nn.divergence_step([1.0, np.nan])


def test_large_lr_adam_jumps_but_does_not_diverge_while_sgd_does():
    """Notebook 03 section 5's claim: at lr 1 both SGDs diverge, Adam's loss spike is bounded."""
    runs = {opt: viz_nn.fit_toy_regression(opt, lr=1.0, steps=100) for opt in ("adam", "sgd", "momentum")}
    assert runs["sgd"]["diverged"] and runs["momentum"]["diverged"]
    assert not runs["adam"]["diverged"] and runs["adam"]["loss"][1] > 10 * runs["adam"]["loss"][0]
    assert runs["adam"]["loss"].max() < 1e-6 * runs["sgd"]["loss"].max()
    assert runs["adam"]["stuck"]                                          # ends at the constant prediction
    assert np.isclose(runs["adam"]["loss"][-1], runs["adam"]["baseline"], rtol=0.1)
    for run in runs.values():
        assert np.all(np.isfinite(run["loss"]))
        if run["diverged"]:
            assert np.all(run["loss"][run["diverged_at"]:] > 10 * run["loss"][0])


def test_small_lr_neither_diverges_nor_sticks():
    for opt in ("adam", "sgd", "momentum"):
        run = viz_nn.fit_toy_regression(opt, lr=1e-2, steps=100)
        assert not run["diverged"] and not run["stuck"] and run["diverged_at"] is None


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(steps=10 ** 7), ValueError, r"steps must be an integer in 1\.\.2000, got 10000000"),
    (dict(steps=0), ValueError, r"steps must be an integer in 1\.\.2000, got 0"),
    (dict(hidden=10 ** 5), ValueError, r"hidden must be an integer in 1\.\.256"),
    (dict(n_data=10 ** 8), ValueError, r"n_data must be an integer in 2\.\.4096"),
    (dict(lr=np.inf), ValueError, r"lr must be a number in \[1e-08, 10\], got inf"),
    (dict(beta1=True), TypeError, r"beta1 must be a number in \[0, 0.999\], got bool True")])
def test_fit_toy_regression_refuses_unbounded_work(kwargs, error, match):
    with pytest.raises(error, match=match):
        viz_nn.fit_toy_regression(**kwargs)


@pytest.mark.parametrize("steps", [10 ** 7, 5, 2001, 1.5])
def test_render_optimizer_race_has_an_upper_bound_on_steps(steps):
    with pytest.raises(ValueError, match=r"steps must be an integer in 10\.\.2000"):
        viz_nn.render_optimizer_race(steps=steps)


def test_render_optimizer_race_marks_divergence_and_the_mean_baseline():
    fig = viz_nn.render_optimizer_race(lr=1.0, steps=100)
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert "SGD (diverged)" in labels and "predict the mean of y" in labels
    assert not any(label.startswith("Adam (diverged)") for label in labels)
