"""Render functions of notebook 09's sliders, at the sliders' extremes, and their input checks."""
import numpy as np
import pytest

from crystal_tutorial.joint_diffusion import JointConfig, training_set
from crystal_tutorial.viz.joint import (
    DENSITY_RANGE,
    GUIDANCE_RANGE,
    PHYSICAL_DENSITY,
    density_samples,
    guided_samples,
    render_density,
    render_density_result,
    render_guidance,
    render_guided,
    sample_densities,
    trained_density_range,
)


@pytest.fixture(scope="module")
def model():
    config = JointConfig(hidden=8, embed=4, n_freq=2, n_rbf=4)
    return config.build_model(training_set())     # untrained: the renderers only need the interface


@pytest.mark.parametrize("guidance", GUIDANCE_RANGE)
def test_render_guidance_at_the_extremes(model, guidance):
    import plotly.graph_objects as go
    fig = render_guidance(model, guidance=guidance, elements="Na,Cl", n_atoms=2, n_samples=2, corrector_steps=1)
    assert isinstance(fig, go.Figure)
    assert f"guidance w = {guidance:g}" in fig.layout.title.text
    assert "scene2" in fig.layout                                     # one rotatable scene per sample
    assert any(t.mode == "markers" for t in fig.data)


@pytest.mark.filterwarnings("ignore:target density")
@pytest.mark.parametrize("density", DENSITY_RANGE)
def test_render_density_at_the_extremes(model, density):
    import matplotlib.figure
    fig = render_density(model, density=density, guidance=GUIDANCE_RANGE[1], n_atoms=2, n_samples=3,
                         unconditional=np.array([1.0, 2.0, 3.0]))
    assert isinstance(fig, matplotlib.figure.Figure)
    ax = fig.axes[0]
    assert "g/cm³" in ax.get_xlabel() and ax.get_ylabel() == "samples"


def test_sample_densities_deterministic(model):
    a = sample_densities(model, 4.0, 1.0, n_atoms=2, n_samples=2, seed=3)
    b = sample_densities(model, 4.0, 1.0, n_atoms=2, n_samples=2, seed=3)
    assert np.array_equal(a, b) and a.shape == (2,)


@pytest.mark.parametrize("kwargs, message", [
    (dict(guidance=5.5), r"guidance must be a number in \[0, 5\]"),
    (dict(guidance=-0.1), r"guidance must be a number in \[0, 5\]"),
    (dict(n_atoms=1), r"n_atoms must be an integer in 2..12"),
    (dict(n_samples=7), r"n_samples must be an integer in 1..6"),
    (dict(corrector_steps=11), r"corrector_steps must be an integer in 0..10"),
])
def test_render_guidance_rejects_bad_slider_values(model, kwargs, message):
    with pytest.raises(ValueError, match=message):
        render_guidance(model, **kwargs)


@pytest.mark.parametrize("kwargs, message", [
    (dict(density=0.4), r"density \(g/cm\^3\) must be a number in \[0.5, 20\]"),
    (dict(density=21.0), r"density \(g/cm\^3\) must be a number in \[0.5, 20\]"),
    (dict(guidance=float("nan")), "guidance must be a number"),
])
def test_render_density_rejects_bad_slider_values(model, kwargs, message):
    with pytest.raises(ValueError, match=message):
        render_density(model, **kwargs)


def test_renderers_need_a_joint_model():
    with pytest.raises(TypeError, match="model must be a JointDenoiser"):
        render_guidance("not a model")
    with pytest.raises(TypeError, match="model must be a JointDenoiser"):
        render_density(None)


def _state(rho, D=20.0, n_atoms=8):
    return {"rho": np.asarray(rho, dtype=float), "density": D, "guidance": 1.0, "n_atoms": n_atoms,
            "trained": trained_density_range(n_atoms)}


def test_density_histogram_range_follows_the_data_and_flags_impossible_samples():
    """Issue: at D = 20, 8 atoms, every sample (34-72 g/cm³) fell outside a fixed 0.5-20 axis."""
    rho = [34.0, 40.0, 72.0, 15.0]
    fig = render_density_result(_state(rho), unconditional=[2.0, 3.0, 4.0])
    ax = fig.axes[0]
    lo, hi = ax.get_xlim()
    assert lo < min(rho) and hi > max(rho) and lo < PHYSICAL_DENSITY[0] and hi > PHYSICAL_DENSITY[1]
    counted = sum(p.get_height() for p in ax.patches if p.get_facecolor()[:3] == (0.12156862745098039,
                                                                                     0.4666666666666667,
                                                                                     0.7058823529411765))
    assert counted == len(rho)                                     # every sample is in a visible bar
    assert "3/4 samples are physically impossible" in ax.get_title()
    assert "outside the trained range" in ax.get_title()


def test_density_histogram_shows_samples_below_the_floor():
    fig = render_density_result(_state([0.2, 0.21, 0.28], D=0.5), unconditional=[2.0])
    lo, _ = fig.axes[0].get_xlim()
    assert lo < 0.2 and "3/3 samples are physically impossible" in fig.axes[0].get_title()


def test_a_sensible_target_has_no_flags():
    fig = render_density_result(_state([3.5, 4.2, 4.4], D=4.0), unconditional=[2.0, 5.0])
    assert "impossible" not in fig.axes[0].get_title() and "outside" not in fig.axes[0].get_title()


def test_trained_density_range_and_the_warning_outside_it(model):
    rho = [c.density for c in training_set() if c.n_atoms == 8]
    lo, hi = trained_density_range(8)
    assert np.isclose(lo, min(rho) * np.exp(-0.45)) and np.isclose(hi, max(rho) * np.exp(0.45))
    with pytest.warns(UserWarning, match="outside the range the model was trained on for 8 atoms"):
        density_samples(model, density=20.0, n_atoms=8, n_samples=1, corrector_steps=0)
    with pytest.raises(ValueError, match="no training crystal has 3 atoms"):
        trained_density_range(3)


def test_sampling_progress_counts_every_network_call(model):
    reports = []
    guided_samples(model, 1.0, "Na,Cl", n_atoms=2, n_samples=1, corrector_steps=1,
                   progress=lambda done, total, text: reports.append((done, total)))
    assert reports[-1] == (1 + 100 * 2, 1 + 100 * 2) and len(reports) == 201   # the bar's total is the real work
    fig = render_guided(guided_samples(model, 0.0, None, n_atoms=2, n_samples=2, corrector_steps=0), 0.0)
    assert "guidance w = 0" in fig.layout.title.text and "use only" not in fig.layout.title.text
