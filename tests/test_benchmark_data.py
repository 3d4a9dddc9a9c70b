"""The shipped benchmark arrays (benchmarks/convert_benchmarks.py) against the CDVAE CSVs they came from."""
import csv
import re
from pathlib import Path

import numpy as np
import pytest

from crystal_tutorial import datasets
from crystal_tutorial.checkpoint import write_npz
from crystal_tutorial.crystals import Crystal
from crystal_tutorial.datasets import benchmark_ids, load_benchmark
from crystal_tutorial.joint import lattice_params

CSV_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "benchmarks"


@pytest.mark.parametrize("name, split, rows", [("perov_5", "val", 3787), ("perov_5", "test", 3785),
                                               ("carbon_24", "val", 2032), ("carbon_24", "test", 2030)])
def test_row_counts_and_ids(name, split, rows):
    crystals = load_benchmark(name, split)
    ids = benchmark_ids(name, split)
    assert len(crystals) == len(ids) == rows
    assert all(isinstance(c, Crystal) for c in crystals[:5])
    assert len(set(ids)) == rows


def test_perov_5_cells_are_cubic_with_five_atoms():
    for split in ("val", "test"):
        crystals = load_benchmark("perov_5", split)
        assert {c.n_atoms for c in crystals} == {5}
        p = lattice_params(np.stack([c.lattice for c in crystals]))  # (S, 6) log lengths, cosines
        assert np.abs(p[:, :3] - p[:, :1]).max() < 1e-6               # a = b = c
        assert np.abs(p[:, 3:]).max() < 1e-6                           # all angles 90 degrees


def test_carbon_24_is_carbon_with_6_to_24_atoms():
    crystals = load_benchmark("carbon_24", "test")
    counts = np.array([c.n_atoms for c in crystals])
    assert counts.min() == 6 and counts.max() == 24
    assert all(np.all(c.numbers == 6) for c in crystals)


def test_bad_name_or_split_is_rejected():
    with pytest.raises(ValueError, match="name"):
        load_benchmark("mp_20")
    with pytest.raises(ValueError, match="train split"):
        load_benchmark("perov_5", "train")


@pytest.mark.skipif(not CSV_DIR.is_dir(), reason="the CDVAE CSVs (../shared/data/benchmarks) are not here")
@pytest.mark.parametrize("name, split", [("perov_5", "test"), ("carbon_24", "val")])
def test_structures_equal_pymatgen_parse_of_the_csv(name, split):
    from pymatgen.core import Structure
    csv.field_size_limit(10 ** 7)
    with open(CSV_DIR / f"{name}_{split}.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    crystals, ids = load_benchmark(name, split), benchmark_ids(name, split)
    for i in (0, 1, len(rows) // 2, len(rows) - 1):
        s = Structure.from_str(rows[i]["cif"], fmt="cif")
        c = crystals[i]
        assert ids[i] == rows[i]["material_id"]
        assert c.numbers.tolist() == list(s.atomic_numbers)
        np.testing.assert_allclose(c.lattice, s.lattice.matrix, atol=1e-5)       # Å, float32 storage
        np.testing.assert_allclose(c.cart_coords, s.cart_coords, atol=1e-5)      # Å


# --- a damaged or hostile data file: one clear error naming it and the fix (issues 25.5, 27.2) ---------
def _arrays(name="perov_5"):
    with np.load(datasets.DATA / f"{name}.npz", allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _use(monkeypatch, tmp_path, data: bytes):
    (tmp_path / "perov_5.npz").write_bytes(data)
    monkeypatch.setattr(datasets, "DATA", tmp_path)


@pytest.mark.parametrize("case", ["truncated", "html", "empty", "no_ids"])
def test_a_damaged_data_file_is_named_with_the_fix(monkeypatch, tmp_path, case):
    good = (datasets.DATA / "perov_5.npz").read_bytes()
    if case == "no_ids":
        arrays = _arrays()
        arrays.pop("test_ids")
        write_npz(tmp_path / "src.npz", arrays)
    data = {"truncated": good[: len(good) // 2], "empty": b"",
            "html": b"<!DOCTYPE html><html><body>404 Not Found</body></html>\n",
            "no_ids": (tmp_path / "src.npz").read_bytes() if case == "no_ids" else b""}[case]
    _use(monkeypatch, tmp_path, data)
    with pytest.raises(ValueError) as err:
        load_benchmark("perov_5", "test")
    message = str(err.value)
    assert f"{tmp_path / 'perov_5.npz'} is damaged" in message and "benchmarks/convert_benchmarks.py" in message
    assert "allow_pickle" not in message and "\n" not in message


@pytest.mark.parametrize("change, needle", [
    (lambda ids: np.array(["../../escaped", *ids[1:]]), "test_ids[0] = '../../escaped' is not a material_id"),
    (lambda ids: np.array([ids[1], *ids[1:]]), "test_ids repeats"),
    (lambda ids: ids[:-1], "test_ids has shape"),
])
def test_unsafe_repeated_or_missing_ids_are_refused(monkeypatch, tmp_path, change, needle):
    arrays = _arrays()
    arrays["test_ids"] = change(arrays["test_ids"])
    write_npz(tmp_path / "src.npz", arrays)
    _use(monkeypatch, tmp_path, (tmp_path / "src.npz").read_bytes())
    for load in (load_benchmark, benchmark_ids):
        with pytest.raises(ValueError, match=re.escape(needle)):
            load("perov_5", "test")
    assert len(load_benchmark("perov_5", "val")) == 3787          # the other split is intact


def test_the_cli_reports_a_damaged_data_file_in_one_line(monkeypatch, tmp_path, capsys):
    from crystal_tutorial.cli.main import main
    _use(monkeypatch, tmp_path, b"<html>not data</html>")
    out = tmp_path / "run"
    assert main(["benchmark", "--n-test", "2", "--processes", "1", "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "perov_5.npz is damaged" in err and "convert_benchmarks.py" in err
    assert not out.exists()
