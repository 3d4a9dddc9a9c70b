"""benchmarks/bench_csp.py: a best-of-k run added to a saved record (issue 22.4) on a tiny split."""
import importlib.util
import json
from pathlib import Path

import pytest

from crystal_tutorial import benchmark as B

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_csp", ROOT / "benchmarks" / "bench_csp.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def saved(bench, tmp_path_factory):
    """A one-seed record of the first 3 perov-5 test structures (model row only), then a best of 2 on 2 of them."""
    folder = tmp_path_factory.mktemp("bench")
    path = folder / "r.json"
    common = ["--datasets", "perov_5", "--n", "3", "--processes", "1", "--json", str(path)]
    assert bench.main(common + ["--seeds", "0", "--rows", "none"]) == 0
    before = json.loads(path.read_text())
    assert bench.main(common + ["--best-of", "2", "--best-of-n", "2", "--best-of-only"]) == 0
    return before, json.loads(path.read_text()), folder


def test_best_of_only_adds_its_run_and_keeps_the_rows(saved):
    before, after, folder = saved
    record, old = after["datasets"]["perov_5"], before["datasets"]["perov_5"]
    assert record["rows"] == old["rows"] and record["command"] == old["command"] and old["best_of_k"] is None
    best = record["best_of_k"]
    assert (best["k"], best["n"], best["seed"], best["split"]) == (2, 2, 0, "test")
    assert "--best-of-only" in best["command"]
    assert best["match_rate"] >= best["first_sample"]["match_rate"]  # best of 2 cannot match fewer than sample 1
    assert sorted(p.name for p in folder.iterdir()) == ["r.json"]  # the lock wrote nothing beside the JSON


def test_the_table_says_the_best_of_run_covers_fewer_structures(saved):
    best = saved[1]["datasets"]["perov_5"]["best_of_k"]
    text = B.results_table(saved[1]["datasets"]["perov_5"])
    line = next(x for x in text.splitlines() if x.startswith("CSP model, generated cell, best of 2"))
    assert line.endswith(f"{best['seconds']['predict'] + best['seconds']['score']:7.0f} (first 2 test structures)")


def test_best_of_only_needs_a_record_to_add_to(bench, tmp_path, capsys):
    with pytest.raises(SystemExit):
        bench.main(["--datasets", "perov_5", "--best-of", "2", "--best-of-only", "--json", str(tmp_path / "no.json")])
    assert "needs --best-of K" in capsys.readouterr().err
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"datasets": {}}))
    with pytest.raises(SystemExit):
        bench.main(["--datasets", "perov_5", "--best-of", "2", "--best-of-only", "--json", str(other)])
    assert "has no test record of perov_5" in capsys.readouterr().err
    # every data set is checked before any sampling: a missing second one fails at once, the file untouched
    only_perov = json.dumps({"datasets": {"perov_5": {"split": "test"}}})
    other.write_text(only_perov)
    with pytest.raises(SystemExit):
        bench.main(["--datasets", "perov_5", "carbon_24", "--best-of", "2", "--best-of-n", "1", "--best-of-only",
                    "--json", str(other)])
    assert "has no test record of carbon_24" in capsys.readouterr().err and other.read_text() == only_perov
