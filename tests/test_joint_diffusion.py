"""Joint diffusion: conditions, classifier-free guidance, training, sampling, weights, generate."""
import json
from argparse import Namespace

import numpy as np
import pytest

from crystal_tutorial import checkpoint
from crystal_tutorial.cif import read_cif
from crystal_tutorial.cli.generate import run_generate_joint
from crystal_tutorial.crystals import Crystal
from crystal_tutorial.datasets import binary_dataset
from crystal_tutorial.joint_diffusion import (
    PRETRAINED_JOINT,
    JointConfig,
    condition_vector,
    load_joint,
    train_joint,
    training_set,
)
from crystal_tutorial.joint_sampling import guided_outputs, sample_joint
from crystal_tutorial.physics import prototype_key, species_match


@pytest.fixture(scope="module")
def tiny():
    """A small model trained for a few steps (fast; quality is not tested here)."""
    config = JointConfig(hidden=8, embed=4, n_freq=2, n_rbf=4, max_steps=4, batch_size=4, progress=False)
    data = training_set()
    model = config.build_model(data)
    history = train_joint(model, data, config)
    return model, config, history


def test_training_set_and_vocabulary(tiny):
    model, _, history = tiny
    data = training_set()
    assert all(c.n_atoms in (2, 4, 8) and c.density < 15 for c in data)
    assert {c.formula for c in data} >= {"Na4Cl4", "CsCl", "Ga4As4", "Cu4", "Si8"}
    assert len(training_set(atom_counts=(2, 4, 5, 8, 12))) == len(data) + 2   # + CaF2 and SrTiO3
    assert not {"Au4", "W2"} & {c.formula for c in data}             # at the 20 g/cm^3 validity limit
    assert model.vocab.tolist() == sorted({int(z) for c in data for z in c.numbers})
    assert history.losses.shape == (4,) and np.all(np.isfinite(history.losses))
    parts = np.stack([history.records[k] for k in ("x", "lattice", "types")], axis=1)   # (4, 3)
    assert parts.shape == (4, 3) and np.all(np.isfinite(parts))


def test_condition_vector(tiny):
    model = tiny[0]
    c = condition_vector(model, density=8.0, elements="Na,Cl", n=2)
    V = model.vocab_size
    assert c.shape == (2, V + 3)
    np.testing.assert_allclose(c[:, :2], [[np.log(2.0), 1.0]] * 2)
    assert c[0, 2:2 + V].sum() == 2 and c[0, -1] == 1
    assert set(model.vocab[c[0, 2:2 + V] == 1]) == {11, 17}
    assert np.all(condition_vector(model) == 0)                       # no condition: all zeros
    with pytest.raises(ValueError, match="unknown element symbol 'Xx'"):
        condition_vector(model, elements="Na,Xx")
    with pytest.raises(ValueError, match="in the model's vocabulary"):
        condition_vector(model, elements="Au")
    with pytest.raises(ValueError, match=r"density must hold numbers > 0, got -1"):
        condition_vector(model, density=-1.0)
    with pytest.raises(TypeError, match=r"density must be an array of real numbers, got an array of strings"):
        condition_vector(model, density="4")


def test_guidance_zero_is_exactly_the_unconditional_model(tiny):
    model = tiny[0]
    rng = np.random.default_rng(0)
    B, N, V = 3, 4, model.vocab_size
    x, z, a = rng.random((B, N, 3)), rng.standard_normal((B, 6)), rng.standard_normal((B, N, V))
    sigma = np.full(B, 0.1)
    cond = condition_vector(model, density=4.0, elements="Mg,O", n=B)
    uncond = model.forward(x, z, a, sigma, np.zeros_like(cond))
    for o, u in zip(guided_outputs(model, x, z, a, sigma, cond, guidance=0.0), uncond):
        assert np.array_equal(o, u)
    conditional = model.forward(x, z, a, sigma, cond)
    for o, c in zip(guided_outputs(model, x, z, a, sigma, cond, guidance=1.0), conditional):
        np.testing.assert_allclose(o, c, atol=1e-12)                  # w = 1: the conditional model
    for o, c, u in zip(guided_outputs(model, x, z, a, sigma, cond, guidance=3.0), conditional, uncond):
        np.testing.assert_allclose(o, u + 3.0 * (c - u), atol=1e-12)
    # whole sampler: w = 0 with a condition gives the same crystals as no condition at all
    s0 = sample_joint(model, 4, 3, np.random.default_rng(7), density=8.0, elements="Cu", guidance=0.0, T=5)
    su = sample_joint(model, 4, 3, np.random.default_rng(7), guidance=0.0, T=5)
    for c1, c2 in zip(s0, su):
        assert c1 == c2
    with pytest.raises(ValueError, match=r"guidance must be a number in \[0, 100\], got -1.0"):
        guided_outputs(model, x, z, a, sigma, cond, guidance=-1.0)


def test_sampler_output_and_bad_arguments(tiny):
    model = tiny[0]
    samples, (lattices, frac) = sample_joint(model, 3, 2, np.random.default_rng(1), T=4, record=True)
    assert len(samples) == 2 and all(c.n_atoms == 3 for c in samples)
    assert lattices.shape == (5, 2, 3, 3) and frac.shape == (5, 2, 3, 3)
    assert all(set(c.numbers) <= set(model.vocab) for c in samples)
    for kwargs, message in ((dict(n_atoms=1), r"n_atoms must be an integer in 2\.\.1000, got 1"),
                            (dict(n_samples=0), r"n_samples must be an integer in 1\.\."),
                            (dict(temperature=0), r"temperature must be a number in \(0, 100\], got 0"),
                            (dict(guidance=-0.5), r"guidance must be a number in \[0, 100\], got -0.5"),
                            (dict(elements="Na,Qq"), "unknown element symbol")):
        args = dict(n_atoms=3, n_samples=2, T=3) | kwargs
        with pytest.raises(ValueError, match=message):
            sample_joint(model, rng=np.random.default_rng(0), **args)
    with pytest.raises(TypeError, match="rng must be a np.random.Generator"):
        sample_joint(model, 3, 2, rng=0)


def test_prototype_key_compares_species_patterns():
    data = binary_dataset()
    assert prototype_key(data["NaCl"]) == prototype_key(data["MgO"]) == (225, ((4, 1), (4, 1)))
    assert prototype_key(data["Cu"]) == (225, ((4, 1),))
    assert prototype_key(data["CaF2"]) == (225, ((4, 1), (8, 1)))
    from crystal_tutorial.pbc import wrap
    cu = data["Cu"]
    shifted = Crystal(cu.lattice, wrap(cu.frac_coords + 0.5), cu.numbers)   # FCC on 4b instead of 4a
    assert prototype_key(shifted) == prototype_key(cu)
    assert prototype_key(data["GaAs"]) == prototype_key(data["ZnS"])
    assert prototype_key(data["NaCl"]) != prototype_key(data["Si"])
    # NaCl positions with one species = simple cubic at a/2, not a training prototype
    nacl = data["NaCl"]
    one_species = Crystal(nacl.lattice, nacl.frac_coords, np.full(8, 11))
    swapped = Crystal(nacl.lattice, nacl.frac_coords, np.r_[11, 11, 11, 11, 17, 17, 17, 17])  # not alternating
    assert species_match([nacl, one_species, swapped], [data["KCl"], data["Cu"]]).tolist() == [True, False, False]


def test_save_load_round_trip(tiny, tmp_path):
    model, config, _ = tiny
    path = checkpoint.save(tmp_path / "m", model, config)
    assert path.suffix == ".npz"
    loaded, cfg = load_joint(path)
    assert cfg == config and loaded.vocab.tolist() == model.vocab.tolist()
    for k, v in model.parameters().items():
        assert np.array_equal(loaded.parameters()[k], v)
    np.savez(tmp_path / "bad.npz", x=np.zeros(3))
    with pytest.raises(ValueError, match="not a joint-model file"):
        load_joint(tmp_path / "bad.npz")
    with pytest.raises(FileNotFoundError, match="no weights file"):
        load_joint(tmp_path / "missing.npz")


def _args(tmp_path, **kw):
    return Namespace(**(dict(n_atoms=4, n_samples=3, seed=0, out=str(tmp_path / "out"), density=None,
                             elements=None, guidance=1.0, weights=None) | kw))


def test_run_generate_joint_writes_readable_cifs(tiny, tmp_path):
    weights = checkpoint.save(tmp_path / "tiny.npz", tiny[0], tiny[1])
    args = _args(tmp_path, density=4.0, elements="Na,Cl", guidance=2.0, weights=str(weights), n_samples=2)
    assert run_generate_joint(args, log=lambda *_: None) == 0
    out = tmp_path / "out"
    cifs = sorted(out.glob("sample_*.cif"))
    assert [p.name for p in cifs] == ["sample_000.cif", "sample_001.cif"]
    for p in cifs:
        assert read_cif(p, min_distance=0).n_atoms == 4  # an untrained model's atoms may overlap
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n"] == 2 and summary["generate"]["guidance"] == 2.0
    assert summary["generate"]["condition"] == {"density_g_cm3": 4.0, "elements": "Na,Cl"}


@pytest.mark.skipif(not PRETRAINED_JOINT.is_file(), reason="shipped weights not generated yet")
def test_run_generate_joint_with_shipped_weights(tmp_path):
    assert run_generate_joint(_args(tmp_path, n_atoms=8, n_samples=2), log=lambda *_: None) == 0
    assert all(read_cif(p).n_atoms == 8 for p in (tmp_path / "out").glob("*.cif"))


@pytest.mark.parametrize("kw, message", [
    (dict(n_atoms=1), "--n-atoms must be an integer in 2..12"),
    (dict(n_atoms=13), "--n-atoms must be an integer in 2..12"),
    (dict(n_samples=0), "--n-samples must be an integer"),
    (dict(density=-2.0), "--density must be a positive number"),
    (dict(guidance=-1.0), "--guidance must be a non-negative number"),
    (dict(elements="Na,Qq"), "--elements: .*unknown element symbol 'Qq'"),
    (dict(weights="/nonexistent/w.npz"), "--weights: no file at"),
])
def test_run_generate_joint_bad_arguments(tiny, tmp_path, kw, message):
    weights = str(checkpoint.save(tmp_path / "tiny.npz", tiny[0], tiny[1]))
    with pytest.raises(SystemExit, match=message):
        run_generate_joint(_args(tmp_path, **({"weights": weights} | kw)), log=lambda *_: None)
