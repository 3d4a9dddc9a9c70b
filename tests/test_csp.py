"""CSP mode of the joint denoiser: composition fixed, lattice generated or given."""
import numpy as np
import pytest

from crystal_tutorial import checkpoint
from crystal_tutorial.csp import CSPConfig, load_csp, sample_csp, train_csp
from crystal_tutorial.datasets import load_benchmark


@pytest.fixture(scope="module")
def tiny():
    val = load_benchmark("perov_5", "val")[:64]
    config = CSPConfig(hidden=16, embed=4, max_steps=5, batch_size=8, progress=False)
    model = config.build_model(val)
    history = train_csp(model, val, config)
    return model, config, val, history


def test_training_runs_and_reports_losses(tiny):
    _, _, _, history = tiny
    assert history.n_steps == 5 and np.all(np.isfinite(history.losses))
    np.testing.assert_allclose(history.losses, history.records["x"] + history.records["lattice"])


def test_samples_keep_the_composition_and_the_true_cell(tiny):
    model, _, val, _ = tiny
    targets = val[:6]
    for lattice in ("generated", "true"):
        out = sample_csp(model, targets, np.random.default_rng(0), lattice=lattice, T=4, chunk=4)
        assert len(out) == 6
        assert all(np.array_equal(p.numbers, t.numbers) for p, t in zip(out, targets))
        if lattice == "true":
            assert all(np.allclose(p.lattice, t.lattice) for p, t in zip(out, targets))


def test_same_seed_same_crystals_and_variable_sizes(tiny):
    model, _, val, _ = tiny
    a = sample_csp(model, val[:3], np.random.default_rng(1), T=3)
    b = sample_csp(model, val[:3], np.random.default_rng(1), T=3)
    assert all(np.array_equal(x.frac_coords, y.frac_coords) and np.array_equal(x.lattice, y.lattice)
               for x, y in zip(a, b))


def test_carbon_cells_of_different_sizes_are_padded():
    val = load_benchmark("carbon_24", "val")
    pick = [c for c in val if c.n_atoms in (6, 8)][:6]
    config = CSPConfig(hidden=8, embed=2, max_steps=2, batch_size=4, progress=False)
    model = config.build_model(pick)
    train_csp(model, pick, config)
    out = sample_csp(model, pick, np.random.default_rng(0), T=2)
    assert [c.n_atoms for c in out] == [c.n_atoms for c in pick]


def test_save_and_load_round_trip(tiny, tmp_path):
    model, config, val, _ = tiny
    path = checkpoint.save(tmp_path / "m.npz", model, config, {"steps": 5}, dtype=np.float32)
    loaded, meta = load_csp(path)
    assert meta["extra"]["steps"] == 5
    a = sample_csp(model, val[:2], np.random.default_rng(0), T=3)
    b = sample_csp(loaded, val[:2], np.random.default_rng(0), T=3)
    assert all(np.allclose(x.frac_coords, y.frac_coords, atol=1e-4) for x, y in zip(a, b))  # float32 weights


def test_bad_arguments_are_named(tiny):
    model, _, val, _ = tiny
    with pytest.raises(ValueError, match="lattice"):
        sample_csp(model, val[:1], np.random.default_rng(0), lattice="given")
    with pytest.raises(TypeError, match="rng"):
        sample_csp(model, val[:1], 0)
    with pytest.raises(ValueError, match="p_true_lattice"):
        CSPConfig(p_true_lattice=2)
