"""Notebook 08's render functions at their sliders' extremes, and the quality measurement."""
import numpy as np
import plotly.graph_objects as go
import pytest
from matplotlib.figure import Figure

from crystal_tutorial.crystals import Crystal, prototype
from crystal_tutorial.torus import load_model, sample_torus
from crystal_tutorial.viz.pairwise import (
    RANGES,
    format_table,
    quality,
    render_marginals,
    render_reverse_process,
    render_sample_set,
    render_samples,
    render_training_result,
    render_training_run,
    sample_set,
    train_run,
    uniform_samples,
    with_progress,
)


@pytest.fixture(scope="module")
def model():
    return load_model()[0]


def test_quality_of_prototypes_and_random_positions():
    q = quality([prototype("fcc")] * 3)
    assert q["match"] == 1.0 and q["valid"] == 1.0 and np.isclose(q["d_min_min"], 5 / np.sqrt(2))
    q = quality(uniform_samples(4, 30, np.random.default_rng(0)))
    assert q["expected"] == "fcc" and q["match"] == 0.0
    assert "uniform" in format_table([{"model": "uniform", **q}])
    mixed = [prototype("fcc"), Crystal(np.eye(3) * 4.0, prototype("fcc").frac_coords, prototype("fcc").numbers)]
    q = quality(mixed)                                      # two cells: one distance call per sample
    assert np.isclose(q["d_min_min"], 4 / np.sqrt(2)) and np.isclose(q["d_min_median"], 4.5 / np.sqrt(2))
    with pytest.raises(ValueError, match="samples is empty"):
        quality([])
    with pytest.raises(TypeError, match=r"samples\[0\] must be a crystal_tutorial.crystals.Crystal"):
        quality(["fcc"])


def test_render_marginals():
    rng = np.random.default_rng(0)
    fig = render_marginals({"a": rng.random((5, 4, 3)), "b": rng.random((3, 2, 3))})
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    with pytest.raises(ValueError, match="must have shape"):
        render_marginals({"a": rng.random((4, 3))})


@pytest.mark.parametrize("kw", [
    dict(n_atoms=2, temperature=RANGES["temperature"][0], corrector_steps=0),
    dict(n_atoms=8, temperature=RANGES["temperature"][1], corrector_steps=RANGES["corrector_steps"][1]),
])
def test_render_samples_at_extremes(model, kw):
    fig3d, fig = render_samples(model, n_samples=3, index=2, **kw)
    assert isinstance(fig3d, go.Figure) and isinstance(fig, Figure)
    assert "sample 2 of 3" in fig3d.layout.title.text


def test_render_samples_rejects_out_of_range(model):
    with pytest.raises(ValueError, match="temperature must be a number in"):
        render_samples(model, temperature=5.0)
    with pytest.raises(ValueError, match="index must be an integer in"):
        render_samples(model, n_samples=3, index=3)
    with pytest.raises(ValueError, match="n_atoms must be an integer in"):
        render_samples(model, n_atoms=9)


def test_render_reverse_process(model):
    _, traj = sample_torus(model, 2, 2, np.random.default_rng(0), n_steps=5, record=True)
    for step in (0, 5):
        fig3d, fig = render_reverse_process(traj, step, index=1, sigmas=np.linspace(0.5, 0, 6))
        assert isinstance(fig3d, go.Figure) and "sigma" in fig3d.layout.title.text
    with pytest.raises(ValueError):
        render_reverse_process(traj, 6)
    with pytest.raises(ValueError, match="index must be"):
        render_reverse_process(traj, 0, index=2)


@pytest.mark.parametrize("kw", [
    dict(n_freq=RANGES["n_freq"][0], hidden=RANGES["hidden"][0], temperature=RANGES["temperature"][0], n_atoms=2),
    dict(n_freq=RANGES["n_freq"][1], hidden=RANGES["hidden"][1], temperature=RANGES["temperature"][1], n_atoms=8),
    dict(warm_start=True),  # the default architecture: fine-tunes the shipped weights
])
def test_render_training_run_at_extremes(kw):
    fig = render_training_run(train_steps=RANGES["train_steps"][0], n_samples=4, **kw)
    assert isinstance(fig, Figure)
    assert ("warm start" in fig.axes[0].get_title()) == ("warm_start" in kw)
    assert f"{RANGES['train_steps'][0]} steps" in fig.axes[0].get_title()


def test_render_training_run_rejects_out_of_range():
    with pytest.raises(ValueError, match="train_steps must be an integer in"):
        render_training_run(train_steps=10 ** 6)      # an upper bound: no slider value runs for hours
    with pytest.raises(ValueError, match="train_steps must be an integer in"):
        render_training_run(train_steps=2.5)
    with pytest.raises(ValueError, match="n_freq must be an integer in"):
        render_training_run(n_freq=0)
    with pytest.raises(ValueError, match="n_samples must be an integer in"):
        render_training_run(n_samples=10 ** 6)


def test_training_progress_counts_the_real_step_budget():
    reports = []
    state = train_run(train_steps=25, progress=lambda done, total, text: reports.append((done, total)))
    assert state["history"].n_steps == 25 and state["warm"]
    assert reports[-1] == (25, 25) and {total for _, total in reports} == {25}   # the bar's total is the budget
    reports.clear()
    fig = render_training_result(state, temperature=1.0, n_atoms=2, n_samples=3,
                                 progress=lambda done, total, text: reports.append((done, total)))
    assert reports[-1][0] == reports[-1][1] == len(reports)                     # every network call, no more
    assert "τ = 1" in fig.axes[0].get_title()


def test_warm_start_does_not_change_the_shipped_weights(model):
    before = {k: v.copy() for k, v in load_model()[0].parameters().items()}
    train_run(train_steps=20)
    after = load_model()[0].parameters()
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_sample_set_is_cached_and_the_index_view_reuses_it(model):
    reports = []
    state = sample_set(model, n_atoms=2, n_samples=4, n_steps=10, corrector_steps=1,
                       progress=lambda done, total, text: reports.append((done, total)))
    assert reports[-1] == (20, 20) and len(reports) == 20                       # 10 levels x (1 + 1 corrector)
    for index in (0, 3):
        fig3d, fig = render_sample_set(state, index)
        assert f"sample {index} of 4" in fig3d.layout.title.text
    with pytest.raises(ValueError, match="index must be"):
        render_sample_set(state, 4)
    with pytest.raises(ValueError, match="n_steps must be an integer in"):
        sample_set(model, n_steps=10 ** 5)
    fig3d, _ = render_samples(model, n_atoms=2, n_samples=4, index=3, n_steps=10, corrector_steps=1)
    assert fig3d.layout.title.text == render_sample_set(state, 3)[0].layout.title.text  # same seed, same samples


def test_with_progress_leaves_the_model_alone(model):
    assert with_progress(model, None, 10) is model
    counted = with_progress(model, lambda *a: None, 10)
    assert counted is not model and "forward" not in vars(model)
    with pytest.raises(TypeError, match="progress must be callable"):
        with_progress(model, 3, 10)
