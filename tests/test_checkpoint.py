"""crystal_tutorial.checkpoint: one format, one writer and one reader for the weights of every model."""
import numpy as np
import pytest

from crystal_tutorial import checkpoint, nn


def test_save_load_round_trip_is_bit_identical(tmp_path):
    rng = np.random.default_rng(8)
    model, other = nn.MLP([4, 64, 64, 3], rng=rng), nn.MLP([4, 64, 64, 3], rng=rng)
    x = rng.random((80, 4))
    path = checkpoint.save_weights(tmp_path / "w", model)
    assert path.name == "w.npz"
    arrays_before = {k: id(v) for k, v in other.parameters().items()}
    checkpoint.load_weights(path, other)
    assert np.array_equal(model.forward(x), other.forward(x))
    assert {k: id(v) for k, v in other.parameters().items()} == arrays_before  # loaded in place
    with np.load(path, allow_pickle=False) as data:
        assert sorted(data.files) == sorted(model.parameters())


def test_load_weights_rejects_files_that_do_not_fit(tmp_path):
    path = checkpoint.save_weights(tmp_path / "w.npz", nn.MLP([4, 8, 3], rng=0))
    with pytest.raises(ValueError, match=r"shape mismatch \['layers.0.W: file \(4, 8\), model \(4, 16\)"):
        checkpoint.load_weights(path, nn.MLP([4, 16, 3], rng=0))
    with pytest.raises(ValueError, match=r"missing \['layers.2.W'"):
        checkpoint.load_weights(path, nn.MLP([4, 8, 3, 3], rng=0))
    np.savez(tmp_path / "extra.npz", **nn.MLP([4, 8, 3], rng=0).parameters(), junk=np.zeros(2))
    with pytest.raises(ValueError, match=r"unexpected \['junk'\]"):
        checkpoint.load_weights(tmp_path / "extra.npz", nn.MLP([4, 8, 3], rng=0))
    np.savez(tmp_path / "pickled.npz", **{"layers.0.W": np.array([{"a": 1}], dtype=object)})
    with pytest.raises(ValueError, match="dtype object, expected float32 or float64"):
        checkpoint.load_weights(tmp_path / "pickled.npz", nn.MLP([4, 8, 3], rng=0))


def test_checkpoint_round_trip_and_clear_errors(tmp_path):
    model = nn.MLP([3, 5, 2], rng=0)
    path = checkpoint.save(tmp_path / "ckpt", model, dtype=np.float32)
    assert path.suffix == ".npz"
    back, meta = checkpoint.load(path, nn.MLP)
    assert meta == {"model": {"sizes": [3, 5, 2], "activation": "relu"}, "train": None}
    for k, p in model.parameters().items():
        np.testing.assert_array_equal(back.parameters()[k], p.astype(np.float32).astype(np.float64))
    with pytest.raises(ValueError, match="do not fit"):
        checkpoint.load(path, build=lambda m: nn.MLP([3, 6, 2], rng=1))
    np.savez(tmp_path / "plain.npz", x=np.zeros(2))
    with pytest.raises(ValueError, match="is not a checkpoint file"):
        checkpoint.load(tmp_path / "plain.npz", nn.MLP)
    with pytest.raises(FileNotFoundError, match="no weights file"):
        checkpoint.load(tmp_path / "missing.npz", nn.MLP)


def _models():
    """One small model of each kind, with its config and its loader."""
    from crystal_tutorial.crystals import demo_dataset
    from crystal_tutorial.csp import CSPConfig, load_csp
    from crystal_tutorial.datasets import load_benchmark
    from crystal_tutorial.joint_diffusion import JointConfig, load_joint, training_set
    from crystal_tutorial.torus import TorusConfig, load_model
    from crystal_tutorial.training import TrainConfig, build_model, load
    mlp = TrainConfig(hidden=8)
    torus = TorusConfig(hidden=8, n_freq=2)
    joint = JointConfig(hidden=8, embed=4)
    csp = CSPConfig(hidden=8, embed=4)
    val = load_benchmark("perov_5", "val")[:8]
    assert demo_dataset()
    return {"mlp": (build_model(mlp), mlp, load), "pairwise": (torus.build_model(), torus, load_model),
            "joint": (joint.build_model(training_set()), joint, load_joint),
            "csp": (csp.build_model(val), csp, lambda p: (load_csp(p)[0], None))}


@pytest.mark.parametrize("kind", ["mlp", "pairwise", "joint", "csp"])
def test_every_model_round_trips_through_the_one_writer(tmp_path, kind):
    model, config, loader = _models()[kind]
    path = checkpoint.save(tmp_path / kind, model, config, extra={"steps": 0})
    assert path == tmp_path / f"{kind}.npz"
    back, back_config = loader(path)
    assert type(back) is type(model) and (back_config is None or back_config == config)
    for name, p in model.parameters().items():
        np.testing.assert_array_equal(back.parameters()[name], p)
    again = checkpoint.save(tmp_path / "again", model, config, extra={"steps": 0})
    assert again.read_bytes() == path.read_bytes()          # same weights and config, same bytes


def test_a_path_without_suffix_gets_a_loadable_file_and_nothing_else(tmp_path):
    """Issue 20: save_csp("w", model) used to leave an empty "w" and the weights in a hidden ".w.XXXX.npz"."""
    from crystal_tutorial.csp import load_csp
    model, config, _ = _models()["csp"]
    path = checkpoint.save(tmp_path / "w", model, config, extra={"steps": 3}, dtype=np.float32)
    assert path == tmp_path / "w.npz" and sorted(p.name for p in tmp_path.iterdir()) == ["w.npz"]
    back, meta = load_csp(path)
    assert meta["extra"] == {"steps": 3} and meta["train"] == {**meta["train"], "hidden": 8}
    for name, p in model.parameters().items():
        np.testing.assert_array_equal(back.parameters()[name], p.astype(np.float32).astype(np.float64))


def test_mlp_files_of_the_older_layout_still_load(tmp_path):
    """Before checkpoint.save, the per-atom MLP's file held its TrainConfig alone as the metadata."""
    import json
    from dataclasses import asdict

    from crystal_tutorial.training import TrainConfig, build_model, load
    config = TrainConfig(hidden=8, seed=4)
    model = build_model(config)
    arrays = {f"weights/{k}": v for k, v in model.parameters().items()}
    path = checkpoint.write_npz(tmp_path / "old.npz", {"config": np.array(json.dumps(asdict(config))), **arrays})
    back, back_config = load(path)
    assert back_config == config
    np.testing.assert_array_equal(back.parameters()["mlp.layers.0.W"], model.parameters()["mlp.layers.0.W"])


def test_save_refuses_what_it_cannot_rebuild(tmp_path):
    with pytest.raises(TypeError, match="model must be a Module with a config"):
        checkpoint.save(tmp_path / "x", nn.Linear(2, 3))
    with pytest.raises(TypeError, match="extra must be a dict"):
        checkpoint.save(tmp_path / "x", nn.MLP([2, 3]), extra=[1])
    with pytest.raises(TypeError, match="exactly one of model_class"):
        checkpoint.load(tmp_path / "x.npz")
