"""Render functions of notebooks 04 and 05 at their sliders' extremes, and the training widgets."""
import matplotlib

matplotlib.use("Agg")
import numpy as np
import pytest

from crystal_tutorial.crystals import demo_dataset
from crystal_tutorial.sampling import sample_ddpm
from crystal_tutorial.training import TrainConfig, build_model, train
from crystal_tutorial.viz.sampling import (
    render_ddim,
    render_loss_by_timestep,
    render_loss_curves,
    render_reverse_step,
    running_mean,
    trajectory_min_distances,
)
from crystal_tutorial.viz.widgets import button_panel, live_loss_plot

LATTICE = np.eye(3) * 5.0


@pytest.fixture(scope="module")
def trained():
    config = TrainConfig(epochs=20, progress=False)
    model = build_model(config)
    history = train(model, demo_dataset(), config)
    return model, config.make_schedule(), history


def test_loss_plots(trained):
    _, _, history = trained
    fig = render_loss_curves([("a", history), ("b", history)])
    assert len(fig.axes[0].lines) == 5  # two runs (raw and smoothed) and the zero-predictor line
    with pytest.raises(ValueError, match="empty"):
        render_loss_curves([])
    fig = render_loss_by_timestep(history, T=100, n_buckets=10)
    assert len(fig.axes[0].patches) == 10
    with pytest.raises(ValueError, match="n_buckets"):
        render_loss_by_timestep(history, T=100, n_buckets=0)


def test_reverse_scrubber_at_extremes(trained):
    model, schedule, _ = trained
    _, traj = sample_ddpm(model, schedule, 4, LATTICE, 2, np.random.default_rng(0), record=True)
    one = traj[:, 0]
    d = trajectory_min_distances(one, LATTICE)
    assert d.shape == (101,) and np.all(d > 0)
    for step in (0, 100):
        fig3d, fig = render_reverse_step(one, step, LATTICE, d)
        assert sum(len(t.x) for t in fig3d.data if t.mode == "markers") == 4
        assert f"after {step} of 100" in fig3d.layout.title.text
    for bad in (-1, 101, 2.5):
        with pytest.raises(ValueError, match="step must be an integer in 0..100"):
            render_reverse_step(one, bad, LATTICE, d)
    with pytest.raises(ValueError, match="trajectory"):
        trajectory_min_distances(traj, LATTICE)


@pytest.mark.parametrize("steps", [1, 100])
def test_ddim_render_at_extremes(trained, steps):
    model, schedule, _ = trained
    fig3d, fig = render_ddim(model, schedule, steps, n_samples=10)
    assert f"DDIM, {steps} steps" in fig3d.layout.title.text
    assert "10 samples in" in fig.axes[0].get_title()


def test_ddim_render_rejects_bad_steps(trained):
    model, schedule, _ = trained
    with pytest.raises(ValueError, match="steps"):
        render_ddim(model, schedule, 0)
    with pytest.raises(ValueError, match="n_samples must be an integer in 1..1000"):
        render_ddim(model, schedule, 10, n_samples=10 ** 7)   # upper bound: no slider move runs for minutes
    with pytest.raises(ValueError, match="n_atoms must be an integer in 1..64"):
        render_ddim(model, schedule, 10, n_atoms=10 ** 4)


def test_button_panel_runs_once_and_on_click():
    import ipywidgets as W
    calls = []
    box = button_panel(lambda x: calls.append(x), {"x": W.IntSlider(value=3)}, label="go")
    assert calls == [3]
    box.controls["x"].value = 5
    assert calls == [3]  # moving a slider does not run the action
    box.click()
    assert calls == [3, 5] and box.button.disabled is False


def test_live_loss_plot_callback(trained):
    _, _, history = trained
    out, callback = live_loss_plot(every=5)
    assert callback(3, history) is False and callback(4, history) is False
    with pytest.raises(ValueError, match="every"):
        live_loss_plot(every=0)


def test_running_mean():
    np.testing.assert_allclose(running_mean([1, 2, 3, 4], 2), [1, 1.5, 2.5, 3.5])
    np.testing.assert_allclose(running_mean([5.0], 1), [5.0])
    with pytest.raises(ValueError, match="window"):
        running_mean([1, 2], 0)
