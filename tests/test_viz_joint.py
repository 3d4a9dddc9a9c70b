"""Render functions of notebook 09's sliders, at the sliders' extremes, and their input checks."""
import numpy as np
import pytest

from crystal_tutorial.joint_diffusion import JointConfig, training_set
from crystal_tutorial.viz_joint import (DENSITY_RANGE, GUIDANCE_RANGE, render_density, render_guidance,
                                        sample_densities)


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
