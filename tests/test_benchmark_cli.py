"""python -m crystal_tutorial benchmark: results.json and one CIF per prediction, same seed same bytes."""
import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

from crystal_tutorial import checkpoint
from crystal_tutorial.benchmark import run_table, scores_from_csv, summarize
from crystal_tutorial.cif import read_cif
from crystal_tutorial.cli.main import main
from crystal_tutorial.csp import CSPConfig, train_csp
from crystal_tutorial.datasets import benchmark_ids, load_benchmark

PKG = Path(__file__).resolve().parents[1] / "crystal_tutorial"


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    val = load_benchmark("perov_5", "val")[:32]
    config = CSPConfig(hidden=8, embed=2, max_steps=3, batch_size=4, progress=False)
    model = config.build_model(load_benchmark("perov_5", "val"))  # vocabulary of the whole split
    train_csp(model, val, config)
    return checkpoint.save(tmp_path_factory.mktemp("w") / "tiny.npz", model, config, {"steps": 3}, dtype=np.float32)


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
    cifs = sorted(p.name for p in (tmp_path / "a" / "predictions").glob("*.cif"))
    assert cifs == [f"{i:05d}_{j}.cif" for i in range(3) for j in range(2)]   # by row, not by material_id
    target = load_benchmark("perov_5", "test")[0]
    assert sorted(read_cif(tmp_path / "a" / "predictions" / "00000_0.cif").numbers) == sorted(target.numbers)
    assert len(list((tmp_path / "a" / "baselines").iterdir())) == 4


def test_results_are_computed_from_the_per_structure_record(weights, tmp_path):
    assert _run(weights, tmp_path / "a") == 0
    results = json.loads((tmp_path / "a" / "results.json").read_text())
    text = (tmp_path / "a" / "predictions.csv").read_text()
    scores = scores_from_csv(text)
    assert list(scores) == list(results["results"])
    assert {m: summarize(s) for m, s in scores.items()} == results["results"]   # re-scored from the CSV alone
    rows = list(csv.DictReader(io.StringIO(text)))
    ids = benchmark_ids("perov_5", "test")[:3]
    assert len(rows) == 5 * 3 * 2 and [r["material_id"] for r in rows[:6:2]] == ids
    for r in rows:                                              # every row names a CIF that exists
        assert (tmp_path / "a" / r["file"]).is_file() and r["file"].endswith(f"{int(r['index']):05d}_{r['sample']}.cif")
    manifest = json.loads((tmp_path / "a" / "run.json").read_text())
    assert "predictions.csv" in manifest["files"]


def _bad(weights, tmp_path, *extra):
    from crystal_tutorial.cli.runs import UsageError
    argv = ["benchmark", "--dataset", "perov_5", "--n-test", "3", "--weights", str(weights),
            "--processes", "1", "--out", str(tmp_path / "o"), *extra]
    with pytest.raises(SystemExit) as err:
        main(argv)
    assert err.value.code == 2 or isinstance(err.value, UsageError)
    assert not (tmp_path / "o").exists()


def test_n_test_beyond_the_split_is_refused(weights, tmp_path, capsys):
    _bad(weights, tmp_path, "--n-test", "3786")
    assert "--n-test 3786 is more than the 3785 structures of the perov_5 test split" in capsys.readouterr().err
    with pytest.raises(ValueError, match="n_test must be an integer in 1..3"):
        run_table("perov_5", 4, targets=load_benchmark("perov_5", "test")[:3])


def test_more_processes_than_cores_are_refused(weights, tmp_path, capsys):
    from crystal_tutorial.parallel import available_cores
    n = available_cores() + 1
    _bad(weights, tmp_path, "--processes", str(n))
    assert f"--processes {n} is more than the {available_cores()} CPU core" in capsys.readouterr().err


def test_weights_that_are_not_a_usable_csp_model_are_named(weights, tmp_path, capsys):
    import numpy as np

    from crystal_tutorial.csp import load_csp
    model, meta = load_csp(weights)
    model.parameters()[next(iter(model.parameters()))][...] = np.nan
    nan = checkpoint.save(tmp_path / "nan.npz", model, CSPConfig(**meta["train"]), meta["extra"], dtype=np.float32)
    _bad(nan, tmp_path)
    assert f"--weights: {nan} holds NaN or infinite weights" in capsys.readouterr().err
    joint = PKG / "data" / "joint_binary.npz"
    _bad(joint, tmp_path)
    assert f"--weights: {joint} holds a joint generation model" in capsys.readouterr().err


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


@pytest.mark.parametrize("factor", [1e30, 1e100])
def test_a_model_whose_output_overflows_is_an_error_not_zero_percent(weights, factor):
    from crystal_tutorial.benchmark import predict
    from crystal_tutorial.csp import load_csp
    model, _ = load_csp(weights)
    for v in model.parameters().values():
        v *= factor            # finite weights: absurd but finite scores (1e30) or overflowing activations (1e100)
    with pytest.raises(FloatingPointError, match="the CSP model's output is not finite"):
        predict("CSP model, generated cell", "perov_5", load_benchmark("perov_5", "test")[:2], 1, 0, model)
