"""Pictures and widget plumbing: pure render functions at the sliders' extremes."""
import ipywidgets as W
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from crystal_tutorial.course.exercises import check
from crystal_tutorial.crystals import Crystal, prototype, reference_crystals
from crystal_tutorial.viz.figures import (
    EXPLORER_RANGES,
    cell_edges,
    image_coords,
    plot_crystal,
    plot_crystal_mpl,
    render_prototype_explorer,
)
from crystal_tutorial.viz.widgets import panel, play_slider


def atom_traces(fig):
    return [t for t in fig.data if t.mode == "markers"]


def test_plot_crystal_draws_cell_and_atoms_by_element():
    c = Crystal(np.eye(3) * 4.0, [[0, 0, 0], [0.5, 0.5, 0.5]], [55, 17])  # CsCl
    fig = plot_crystal(c, boundary_images=False)
    traces = atom_traces(fig)
    assert sorted(t.name for t in traces) == ["Cl", "Cs"]
    assert sum(len(t.x) for t in traces) == 2
    assert traces[0].marker.color != traces[1].marker.color
    assert fig.layout.scene.aspectmode == "data"
    edges = [t for t in fig.data if t.mode == "lines"][0]
    assert np.nanmax(np.asarray(edges.x, dtype=float)) == pytest.approx(4.0)


def test_boundary_images_complete_the_cube():
    frac, numbers = image_coords(prototype("sc"), boundary_images=True)
    assert len(frac) == 8  # the 8 corners of the cube
    frac, _ = image_coords(prototype("fcc"), supercell=(2, 2, 2), boundary_images=False)
    assert len(frac) == 32
    with pytest.raises(ValueError, match="supercell"):
        image_coords(prototype("fcc"), supercell=(0, 1, 1))


def test_cell_edges_has_twelve_edges_of_lattice_lengths():
    lattice = np.array([[3.0, 0, 0], [1.0, 4.0, 0], [0, 0.5, 5.0]])
    seg = cell_edges(lattice).reshape(12, 3, 3)[:, :2]  # drop the NaN separators
    lengths = np.sort(np.linalg.norm(seg[:, 1] - seg[:, 0], axis=1))
    np.testing.assert_allclose(lengths, np.sort(np.repeat(np.linalg.norm(lattice, axis=1), 4)))


def test_matplotlib_counterpart():
    ax = plot_crystal_mpl(reference_crystals(["Si"])["Si"])
    assert ax.get_xlabel() == "x (Å)"
    with pytest.raises(TypeError, match="Crystal"):
        plot_crystal_mpl(np.eye(3))


@pytest.mark.parametrize("a", EXPLORER_RANGES["a"])
@pytest.mark.parametrize("perturbation", EXPLORER_RANGES["perturbation"])
@pytest.mark.parametrize("supercell", EXPLORER_RANGES["supercell"])
def test_explorer_renders_at_slider_extremes(a, perturbation, supercell):
    fig = render_prototype_explorer("diamond", a=a, perturbation=perturbation, supercell=supercell)
    n = sum(len(t.x) for t in atom_traces(fig))
    assert n >= 8 * supercell ** 3
    assert "nearest neighbour" in fig.layout.title.text


def test_explorer_nearest_neighbour_in_title():
    fig = render_prototype_explorer("fcc", a=4.0)
    assert f"{4 / np.sqrt(2):.3f} Å" in fig.layout.title.text


@pytest.mark.parametrize("kwargs", [dict(a=1.0), dict(a=np.nan), dict(perturbation=0.5), dict(supercell=4)])
def test_explorer_rejects_out_of_range_values(kwargs):
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=rf"{name} must be (a number|an integer) in .*, got"):
        render_prototype_explorer("fcc", **kwargs)


def test_panel_redraws_on_change():
    calls = []

    def render(x):
        calls.append(x)
        return None

    slider = W.IntSlider(value=1, min=0, max=5)
    box = panel(render, {"x": slider})
    assert calls == [1]  # drawn once with the default
    slider.value = 4
    assert calls == [1, 4]
    assert box.controls["x"] is slider and slider.continuous_update is False


def test_play_slider_linked():
    slider, box = play_slider(10, description="t")
    assert slider.max == 10 and isinstance(box.children[0], W.Play)
    with pytest.raises(ValueError, match="max_value"):
        play_slider(0)


def test_exercise_checker_verdicts(capsys):
    assert check("x", None).ok is None
    assert check("x", 1.0, expected=1.0).ok is True
    assert check("x", [1.0, 2.0], expected=[1.0, 2.1]).ok is False
    assert check("x", [1.0, 2.0], expected=[1.0, 2.0, 3.0]).ok is False  # wrong shape
    assert check("x", "abc", expected=1.0).ok is False  # not a number: reported, not raised
    assert check("f", lambda v: v * 2, test=lambda f: f(2) == 4).ok is True
    assert "not attempted" in capsys.readouterr().out


def test_progress_bar_shows_the_real_total():
    from crystal_tutorial.viz.widgets import Progress
    bar = Progress(redraws=10)
    for step in range(1, 101):
        bar(step, 100, "Adam steps")
    assert bar.bar.max == 100 and bar.bar.value == 100 and bar.label.value == "100 / 100 Adam steps"
    bar(5, 0)                                   # a zero total never divides by zero
    assert bar.bar.max == 1


def test_button_panel_with_progress_passes_a_reporter():
    from crystal_tutorial.viz.widgets import button_panel
    seen = []

    def action(n, progress):
        for k in range(n):
            progress(k + 1, n, "steps")
        seen.append(n)

    box = button_panel(action, {"n": W.IntSlider(value=7)}, progress=True)
    assert seen == [7] and box.progress.bar.max == 7 and box.progress.bar.value == 7
    box.controls["n"].value = 3
    assert seen == [7]                          # a slider move does not run the action
    box.click()
    assert seen == [7, 3] and box.progress.bar.max == 3


def test_cached_panel_view_controls_reuse_the_computed_state():
    from crystal_tutorial.viz.widgets import cached_panel
    computed, viewed = [], []

    def compute(a, progress):
        progress(1, 1, "done")
        computed.append(a)
        return {"a": a}

    def view(state, index):
        viewed.append((state["a"], index))

    box = cached_panel(compute, view, {"a": W.IntSlider(value=2)}, {"index": W.IntSlider(value=0, max=9)})
    assert computed == [2] and viewed == [(2, 0)] and box.state() == {"a": 2}
    box.controls["index"].value = 4             # a view control: no new computation
    assert computed == [2] and viewed[-1] == (2, 4)
    box.controls["a"].value = 5                 # a compute control: nothing until the button
    assert computed == [2]
    box.click()
    assert computed == [2, 5] and viewed[-1] == (5, 4)


def test_cached_panel_with_a_slow_view_waits_for_its_own_button():
    from crystal_tutorial.viz.widgets import cached_panel
    computed, viewed = [], []
    box = cached_panel(lambda a, progress: computed.append(a) or a,
                       lambda state, t, progress: viewed.append((state, t)),
                       {"a": W.IntSlider(value=1)}, {"t": W.FloatSlider(value=0.5)}, view_label="sample")
    assert viewed == [(1, 0.5)]
    box.controls["t"].value = 1.0
    assert viewed == [(1, 0.5)]                 # a slow view waits for its button ...
    box.view_button.click()
    assert viewed[-1] == (1, 1.0) and computed == [1]   # ... and reuses the computed state
