"""python -m crystal_tutorial benchmark: results.json and one CIF per prediction, same seed same bytes."""
import json

import pytest

from crystal_tutorial.cif import read_cif
from crystal_tutorial.cli.main import main
from crystal_tutorial.csp import CSPConfig, save_csp, train_csp
from crystal_tutorial.datasets import benchmark_ids, load_benchmark


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    val = load_benchmark("perov_5", "val")[:32]
    config = CSPConfig(hidden=8, embed=2, max_steps=3, batch_size=4, progress=False)
    model = config.build_model(load_benchmark("perov_5", "val"))  # vocabulary of the whole split
    train_csp(model, val, config)
    return save_csp(tmp_path_factory.mktemp("w") / "tiny.npz", model, config, {"steps": 3})


def _run(weights, out):
    return main(["benchmark", "--dataset", "perov_5", "--n-test", "3", "--k", "2", "--seed", "1",
                 "--weights", str(weights), "--processes", "1", "--out", str(out)])


def test_cli_writes_results_and_every_prediction(weights, tmp_path):
    assert _run(weights, tmp_path / "a") == 0
    results = json.loads((tmp_path / "a" / "results.json").read_text())
    assert results["n_test"] == 3 and results["k"] == 2
    for name, row in results["results"].items():
        assert {"match_rate", "rmse", "valid_rate", "match_rate_best_of_2"} <= set(row), name
    assert "DiffCSP" in results["published"]
    ids = benchmark_ids("perov_5", "test")[:3]
    cifs = sorted(p.name for p in (tmp_path / "a" / "predictions").glob("*.cif"))
    assert cifs == sorted(f"{i}_{j}.cif" for i in ids for j in range(2))
    target = load_benchmark("perov_5", "test")[0]
    assert sorted(read_cif(tmp_path / "a" / "predictions" / f"{ids[0]}_0.cif").numbers) == sorted(target.numbers)
    assert len(list((tmp_path / "a" / "baselines").iterdir())) == 4


def test_same_seed_same_bytes_and_no_mixing(weights, tmp_path):
    _run(weights, tmp_path / "a")
    _run(weights, tmp_path / "b")
    a, b = (json.loads((tmp_path / d / "results.json").read_text()) for d in "ab")
    a.pop("timings"), b.pop("timings")
    assert a == b
    for p in (tmp_path / "a" / "predictions").glob("*.cif"):
        assert p.read_bytes() == (tmp_path / "b" / "predictions" / p.name).read_bytes()
    with pytest.raises(SystemExit):
        _run(weights, tmp_path / "a")                          # a finished run is refused without --overwrite
    assert json.loads((tmp_path / "a" / "run.json").read_text())["command"] == "benchmark"
