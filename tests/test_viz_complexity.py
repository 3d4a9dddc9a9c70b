"""Tests for crystal_tutorial.viz.complexity: sweep fits, plots, the summary table and the slider's view."""
import matplotlib

matplotlib.use("Agg")
import numpy as np
import pytest
from matplotlib.figure import Figure

from crystal_tutorial.complexity import Sweep, Timing, fit_power_law
from crystal_tutorial.neighbours import min_distance_cell_list
from crystal_tutorial.pbc import min_distance
from crystal_tutorial.viz.complexity import (
    BRUTE_FORCE_LIVE_MAX,
    N_ATOMS_RANGE,
    fit_sweep,
    interleaved_sweep,
    jittered_supercell,
    plot_sweep,
    random_gas,
    render_min_distance_timing,
    summary_table,
    time_min_distance,
    window,
)


def synthetic_sweep(exponent=2.0, sizes=(10, 20, 40, 80, 160), c=1e-6):
    """Timings t = c n^k exactly for the fastest repeat; the other repeats are slower."""
    sizes = np.array(sizes)
    timings = tuple(Timing(np.array([1.0, 1.5, 3.0]) * c * n ** exponent) for n in sizes)
    return Sweep(sizes, timings)


def test_fit_sweep_uses_the_chosen_statistic():
    sweep = synthetic_sweep(2.0)
    fit = fit_sweep(sweep)
    assert fit.exponent == pytest.approx(2.0) and fit.prefactor == pytest.approx(1e-6)
    assert fit_sweep(sweep, "median").prefactor == pytest.approx(1.5e-6)
    with pytest.raises(ValueError, match="statistic must be one of"):
        fit_sweep(sweep, "mean")
    with pytest.raises(TypeError, match=r"sweep must be a Sweep \(from scaling_sweep\), got list"):
        fit_sweep([1, 2, 3])


def test_interleaved_sweep_pools_rounds_in_order():
    calls = []
    sweep = interleaved_sweep(lambda n: n, calls.append, [1, 2, 3], rounds=3, repeats=2)
    assert sweep.sizes.tolist() == [1, 2, 3]
    assert all(len(t.times) == 6 for t in sweep.timings)
    # round 1: warm-up + 2 repeats per size; rounds 2 and 3: 2 repeats, sizes in turn each time
    assert calls == [1] * 3 + [2] * 3 + [3] * 3 + ([1, 1, 2, 2, 3, 3] * 2)
    for bad in (0, 1.5, True):
        with pytest.raises((TypeError, ValueError), match=r"rounds must be an integer in 1\.\.1000"):
            interleaved_sweep(lambda n: n, calls.append, [1, 2], rounds=bad)


def test_window_keeps_the_sizes_in_range():
    sweep = synthetic_sweep(1.0)
    part = window(sweep, 20, 80)
    assert part.sizes.tolist() == [20, 40, 80] and len(part.timings) == 3
    assert part.timings[0] is sweep.timings[1]
    with pytest.raises(ValueError, match="a fit needs at least 3"):
        window(sweep, 10, 20)


def test_plot_sweep_draws_points_fit_and_claim():
    fig = Figure()
    ax = fig.add_subplot()
    fit = plot_sweep(ax, synthetic_sweep(1.0), claimed=2, label="x")
    assert fit.exponent == pytest.approx(1.0)
    assert ax.get_xscale() == ax.get_yscale() == "log"
    labels = [line.get_label() for line in ax.get_lines()]
    assert any(label.startswith("x: k = 1.00") for label in labels) and "claimed slope 2" in labels
    plot_sweep(ax, synthetic_sweep(1.0, sizes=(5, 10, 20)), claimed=2)  # a second claim line is not labelled twice
    assert [line.get_label() for line in ax.get_lines()].count("claimed slope 2") == 1
    with pytest.raises(TypeError, match="claimed must be a number"):
        plot_sweep(ax, synthetic_sweep(), claimed="2")


def test_summary_table():
    fit = fit_power_law([1, 2, 4, 8], [1, 4.1, 15.8, 64.5])
    text = summary_table([dict(operation="brute force", claimed="O(N²)", variable="N", exponent=2, fit=fit,
                               note="holds")])
    lines = text.splitlines()
    assert len(lines) == 3 and lines[2].startswith("| brute force | O(N²) | N | 2 | 2.0")
    with pytest.raises(ValueError, match="empty"):
        summary_table([])
    with pytest.raises(ValueError, match="lacks the keys"):
        summary_table([dict(operation="x")])
    with pytest.raises(TypeError, match="PowerLawFit"):
        summary_table([dict(operation="x", claimed="", variable="", exponent=1, fit=1.0, note="")])


def test_random_gas_and_jittered_supercell():
    gas = random_gas(50, seed=1)
    assert gas.n_atoms == 50 and gas.volume == pytest.approx(50 * 11.81)
    assert np.array_equal(gas.frac_coords, random_gas(50, seed=1).frac_coords)
    with pytest.raises(ValueError, match="volume_per_atom"):
        random_gas(50, volume_per_atom=0)
    crystal = jittered_supercell((2, 2, 3), sigma=0.0)
    assert crystal.n_atoms == 48 and min_distance(crystal.frac_coords, crystal.lattice) == pytest.approx(3.61 / 2**0.5)
    noisy = jittered_supercell((2, 2, 3), sigma=0.2, seed=3)
    moved = (noisy.frac_coords - crystal.frac_coords) @ crystal.lattice  # (N, 3) Å
    assert 0.1 < moved.std() < 0.3  # the same noise in Å along every axis
    with pytest.raises(ValueError, match="sigma"):
        jittered_supercell((2, 2, 2), sigma=-1)


@pytest.mark.parametrize("n_atoms", [N_ATOMS_RANGE[0], 300])
def test_time_min_distance_agrees(n_atoms):
    r = time_min_distance(n_atoms, seed=2, repeats=1)
    assert r["d_brute"] == pytest.approx(r["d_cells"], abs=1e-9)
    assert r["t_cells"] > 0 and r["t_brute"] > 0
    skipped = time_min_distance(n_atoms, seed=2, repeats=1, brute_force=False)
    assert skipped["d_brute"] is None and skipped["t_brute"] is None


@pytest.mark.parametrize("n_atoms", [N_ATOMS_RANGE[0], BRUTE_FORCE_LIVE_MAX, N_ATOMS_RANGE[1]])
def test_render_min_distance_timing_at_the_slider_extremes(n_atoms):
    fits = {
        "brute force": fit_power_law([100, 200, 400], [1e-3, 4e-3, 1.6e-2]),
        "cell list": fit_power_law([1000, 2000, 4000], [1e-3, 2e-3, 4e-3]),
    }
    fig = render_min_distance_timing(n_atoms, fits=fits)
    ax = fig.axes[0]
    title = ax.get_title()
    assert f"N = {n_atoms}:" in title
    labels = [line.get_label() for line in ax.get_lines()]
    assert "cell list, now" in labels
    if n_atoms <= BRUTE_FORCE_LIVE_MAX:
        assert "brute force, now" in labels
    else:
        assert "brute force, predicted" in labels and "brute force predicted" in title
        d = min_distance_cell_list(random_gas(n_atoms))
        assert f"d_min = {d:.4f}" in title


def test_render_min_distance_timing_rejects_bad_values():
    for bad in (N_ATOMS_RANGE[0] - 1, N_ATOMS_RANGE[1] + 1, 10.5, True):
        with pytest.raises(TypeError if bad is True else ValueError, match="n_atoms must be an integer in"):
            render_min_distance_timing(bad)
    with pytest.raises(TypeError, match="fits must be a dict"):
        render_min_distance_timing(10, fits={"brute force": 2.0})
    fig = render_min_distance_timing(N_ATOMS_RANGE[1], fits=None)  # no fit: nothing predicted
    assert "brute force not run" in fig.axes[0].get_title()


def test_fits_print_the_swept_variable_and_ratios_say_faster_or_slower():
    """Notebook 07 printed "t ~ N^k" for sweeps over D, T, E, P and "(1x slower)" for a faster brute force."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from crystal_tutorial.complexity import Sweep, Timing
    from crystal_tutorial.viz.complexity import _ratio, fit_sweep, plot_sweep

    sizes = np.array([10, 20, 40, 80])
    sweep = Sweep(sizes, tuple(Timing(np.full(2, 1e-6 * n**2)) for n in sizes))  # exactly t = c n^2
    ax = Figure().add_subplot()
    assert str(plot_sweep(ax, sweep, xlabel="hidden width D")).startswith("t ~ D^2.00")
    assert str(plot_sweep(ax, sweep, xlabel="diffusion steps T")).startswith("t ~ T^")
    assert str(plot_sweep(ax, sweep, xlabel="rows N (atoms)")).startswith("t ~ N^")
    assert str(fit_sweep(sweep, variable="P")).startswith("t ~ P^")
    assert str(fit_sweep(sweep)).startswith("t ~ N^")
    assert _ratio(1.66e-3, 1.8e-3) == "1.1x faster" and _ratio(3e-3, 1e-3) == "3x slower"
    assert _ratio(2.0, 1e-3) == "2,000x slower"
