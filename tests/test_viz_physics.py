"""Render functions of notebook 06 (crystal_tutorial.viz.physics) at their sliders' extremes, and
clear errors for slider values out of range."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest

from crystal_tutorial.crystals import Crystal, prototype, reference_crystals
from crystal_tutorial.pbc import minimum_image
from crystal_tutorial.physics import PhysicsValidator
from crystal_tutorial.viz.physics import (
    CORRECTION_RANGES,
    SCAN_SYMPRECS,
    SYMPREC_RANGES,
    displace,
    plot_bond_lengths,
    plot_histograms,
    plot_match_rates,
    render_correction,
    render_symprec,
    symmetry_scan,
    violating_pairs,
)

LATTICE = np.eye(3) * 5.0
CROWDED = Crystal(LATTICE, np.random.default_rng(1).random((32, 3)), 14)  # 7 pairs closer than 0.7 Å


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def marker_count(fig3d):
    return sum(len(t.x) for t in fig3d.data if t.mode == "markers")


# --- helpers ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("distance", [0.0, 0.05, 0.3])
def test_displace_moves_every_atom_by_exactly_the_distance(distance):
    skewed = Crystal(np.array([[4.0, 0, 0], [1.5, 4.0, 0], [0.5, 0.7, 4.5]]), prototype("diamond").frac_coords, 14)
    moved = displace(skewed, distance, np.random.default_rng(0))
    _, d = minimum_image(moved.frac_coords - skewed.frac_coords, skewed.lattice)  # (N,) Å
    assert np.allclose(d, distance, atol=1e-12)
    assert np.all((moved.frac_coords >= 0) & (moved.frac_coords < 1))


def test_displace_rejects_bad_input():
    with pytest.raises(ValueError, match=r"distance must be a number in \[0, 100\], got -0.1"):
        displace(prototype("fcc"), -0.1, np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng must be a np.random.Generator"):
        displace(prototype("fcc"), 0.1, 0)
    with pytest.raises(TypeError, match="crystal must be"):
        displace("fcc", 0.1, np.random.default_rng(0))


def test_violating_pairs_finds_the_close_pair_across_the_boundary():
    c = Crystal(LATTICE, [[0.01, 0.5, 0.5], [0.95, 0.5, 0.5], [0.5, 0.0, 0.0]], 14)  # atoms 0, 1: 0.3 Å apart
    pairs, vecs = violating_pairs(c)
    assert pairs.tolist() == [[0, 1]] and np.allclose(vecs, [[-0.3, 0, 0]])
    assert violating_pairs(prototype("fcc"))[0].shape == (0, 2)


def test_symmetry_scan():
    numbers, protos = symmetry_scan(prototype("fcc"))
    assert numbers.shape == SCAN_SYMPRECS.shape and np.all(numbers == 225) and set(protos) == {"fcc"}
    moved = displace(prototype("fcc"), 0.05, np.random.default_rng(0))
    numbers, protos = symmetry_scan(moved, [0.01, 1.0])
    assert numbers[0] != 225 and protos == [None, "fcc"]
    for bad in ([], [0.1, -0.1], [[0.1]]):
        with pytest.raises(ValueError, match="symprecs (is empty|must hold numbers in|must have shape)"):
            symmetry_scan(moved, bad)


# --- the correction panel --------------------------------------------------------------------------------
@pytest.mark.parametrize("max_iterations", CORRECTION_RANGES["max_iterations"])
@pytest.mark.parametrize("step", CORRECTION_RANGES["step"])
def test_render_correction_at_extremes(max_iterations, step):
    fig3d, fig = render_correction(CROWDED, max_iterations, step)
    assert marker_count(fig3d) == 2 * CROWDED.n_atoms  # before and after
    assert len([k for k in fig3d.layout if k.startswith("scene")]) == 2
    before, after = (a.text for a in fig3d.layout.annotations)
    assert before.startswith("before: 7 pairs < 0.7 Å")
    result = PhysicsValidator().correct_structure(CROWDED, max_iterations=max_iterations, step=step)
    assert after.startswith(f"after {result.iterations} steps: {result.n_violations_after} pairs")
    assert f"step = {step:g}, at most {max_iterations} steps" in fig3d.layout.title.text
    assert (": valid;" in fig3d.layout.title.text) == result.success
    red = [t for t in fig3d.data if t.name == "pair < min distance"]
    assert len(red) == 1 + (result.n_violations_after > 0)  # red segments only where pairs violate
    violations = fig.axes[0].lines[0].get_ydata()
    assert np.all(np.diff(violations) <= 0) and violations[0] == 7
    if max_iterations == 0:
        assert result.iterations == 0 and "0.000 Å RMS" in fig3d.layout.title.text


def test_render_correction_on_a_valid_structure_and_a_custom_validator():
    fig3d, fig = render_correction(prototype("diamond"), 20, 0.1)
    assert not [t for t in fig3d.data if t.name == "pair < min distance"]
    assert "0 steps, valid" in fig._suptitle.get_text()
    fig3d, _ = render_correction(prototype("fcc"), 5, 0.5, validator=PhysicsValidator(min_distance=3.6))
    assert "before: 6 pairs < 3.6 Å" in fig3d.layout.annotations[0].text  # FCC a = 5 Å: d_nn 3.54 Å


@pytest.mark.parametrize("bad", [-1, 201, 2.5, True, None])
def test_render_correction_rejects_bad_iterations(bad):
    error = TypeError if isinstance(bad, bool) or bad is None else ValueError  # wrong type, or out of range
    with pytest.raises(error, match=r"max_iterations must be an integer in 0..200"):
        render_correction(CROWDED, bad, 0.1)


@pytest.mark.parametrize("bad", [0.0, 0.005, 1.5, float("nan"), "0.1"])
def test_render_correction_rejects_bad_step(bad):
    error = TypeError if isinstance(bad, str) else ValueError
    with pytest.raises(error, match=r"step must be a number in \[0.01, 1\]"):
        render_correction(CROWDED, 10, bad)


def test_render_correction_rejects_bad_objects():
    with pytest.raises(TypeError, match="crystal must be"):
        render_correction(CROWDED.frac_coords, 10, 0.1)
    with pytest.raises(TypeError, match="validator must be a PhysicsValidator"):
        render_correction(CROWDED, 10, 0.1, validator=0.7)


# --- the symprec panel ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["sc", "bcc", "fcc", "diamond"])
def test_render_symprec_exact_prototypes_match_at_the_smallest_symprec(name):
    fig3d, fig = render_symprec(name, SYMPREC_RANGES["displacement"][0], SYMPREC_RANGES["symprec"][0])
    assert fig3d.layout.title.text.endswith(f"-> {name}")
    assert fig.axes[0].get_xlabel() == "symprec (Å)"
    green = fig.axes[0].lines[1].get_xdata()  # symprecs at which the prototype is recognised
    assert len(green) == len(SCAN_SYMPRECS)


@pytest.mark.parametrize("symprec", SYMPREC_RANGES["symprec"])
def test_render_symprec_at_the_largest_displacement(symprec):
    fig3d, fig = render_symprec("fcc", SYMPREC_RANGES["displacement"][1], symprec)
    title = fig3d.layout.title.text
    assert "atoms moved 0.500 Å" in title and f"symprec {symprec:.3f} Å" in title
    assert title.endswith("-> no prototype")  # with seed 0, 0.5 Å of noise defeats every symprec up to 1 Å
    assert marker_count(fig3d) == 4


def test_render_symprec_sc_is_always_sc():
    """One atom in a cubic cell is simple cubic wherever it sits."""
    fig3d, _ = render_symprec("sc", 0.5, 0.01)
    assert fig3d.layout.title.text.endswith("-> sc")


def test_render_symprec_jittered_fcc_needs_a_margin():
    low, _ = render_symprec("fcc", 0.05, 0.1)
    high, _ = render_symprec("fcc", 0.05, 0.25)
    assert low.layout.title.text.endswith("-> no prototype") and high.layout.title.text.endswith("-> fcc")


@pytest.mark.parametrize("kwargs, match", [
    (dict(name="hcp"), "name must be one of"),
    (dict(displacement=-0.01), r"displacement must be a number in \[0, 0.5\], got -0.01"),
    (dict(displacement=0.6), r"displacement must be a number in \[0, 0.5\], got 0.6"),
    (dict(symprec=0.0), r"symprec must be a number in \[0.01, 1\], got 0.0"),
    (dict(symprec=1.5), r"symprec must be a number in \[0.01, 1\], got 1.5"),
    (dict(symprec=float("inf")), r"symprec must be a number"),
])
def test_render_symprec_rejects_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        render_symprec(**kwargs)


# --- static figures ---------------------------------------------------------------------------------------
def test_plot_bond_lengths():
    real = reference_crystals(("Cu", "Si", "Po"))
    ax = plot_bond_lengths(real).axes[0]
    assert ax.get_xlabel() == "atomic number Z" and ax.get_ylabel() == "bond length (Å)"
    assert len(ax.lines[0].get_xdata()) == 86
    assert plot_bond_lengths(None, z_max=10).axes[0].lines[0].get_xdata().max() == 10


def test_plot_histograms_and_errors():
    ax = plot_histograms({"a": [1.0, 2.0, np.inf], "b": [1.5]}, "d (Å)", threshold=0.7).axes[0]
    assert ax.get_xlabel() == "d (Å)" and "threshold 0.7" in [t.get_text() for t in ax.get_legend().get_texts()]
    with pytest.raises(ValueError, match="groups is empty"):
        plot_histograms({}, "x")
    with pytest.raises(ValueError, match="no finite values"):
        plot_histograms({"a": [np.inf]}, "x")


def test_plot_match_rates_and_errors():
    ax = plot_match_rates({"a": [0.6, 0.8, 1.0], "b": [0, 0, 0]}, (0.1, 0.25, 0.5)).axes[0]
    assert len(ax.patches) == 6 and ax.get_ylabel() == "matches a prototype (%)"
    with pytest.raises(ValueError, match="one rate per symprec"):
        plot_match_rates({"a": [0.6]}, (0.1, 0.25))
