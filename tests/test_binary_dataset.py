"""Real binary crystals (crystals.binary_dataset) and loading a folder of CIFs."""
import numpy as np
import pytest

from crystal_tutorial.cif import load_cif_folder, write_cif
from crystal_tutorial.crystals import Crystal, reference_crystals
from crystal_tutorial.datasets import BINARY_CRYSTALS, binary_dataset
from crystal_tutorial.physics import symmetry_dataset

EXPECTED = {  # formula: (space group, atoms in the conventional cell)
    "NaCl": (225, 8), "KCl": (225, 8), "LiF": (225, 8), "MgO": (225, 8), "CsCl": (221, 2),
    "GaAs": (216, 8), "ZnS": (216, 8), "CaF2": (225, 12), "SrTiO3": (221, 5)}


def test_binary_crystals_have_their_space_groups_and_lattice_constants():
    data = binary_dataset()
    for formula, structure, a, source in BINARY_CRYSTALS:
        c = data[formula]
        assert source                                                   # every value has a documented source
        np.testing.assert_allclose(c.lattice, np.eye(3) * a, atol=1e-12)  # conventional cubic cell
        ds = symmetry_dataset(c, 1e-3)
        assert (int(ds.number), c.n_atoms) == EXPECTED[formula], formula
        assert np.all((c.frac_coords >= 0) & (c.frac_coords < 1))


def test_densities_match_experiment_and_elements_are_included():
    data = binary_dataset()
    # room-temperature densities (g/cm^3, CRC): within 2 %
    for formula, rho in {"NaCl": 2.165, "MgO": 3.58, "CsCl": 3.99, "GaAs": 5.32, "CaF2": 3.18, "SrTiO3": 5.12}.items():
        assert abs(data[formula].density - rho) / rho < 0.02, formula
    ref = reference_crystals(["Cu", "Fe", "Si"])
    for symbol in ref:
        assert data[symbol] == ref[symbol]
    assert "Po" not in data                                             # simple cubic, one atom: not in the set
    assert all(c.n_atoms <= 12 for c in data.values())
    assert set(binary_dataset(include_elements=False)) == set(EXPECTED)


def test_rocksalt_species_alternate():
    nacl = binary_dataset()["NaCl"]
    nearest = {}
    for i in range(nacl.n_atoms):           # nearest neighbours of each atom are of the other species
        d = nacl.frac_coords - nacl.frac_coords[i]
        d -= np.round(d)
        r = np.linalg.norm(d @ nacl.lattice, axis=1)
        r[i] = np.inf
        nearest[i] = set(nacl.numbers[np.isclose(r, r.min())])
        assert nearest[i] == {17 if nacl.numbers[i] == 11 else 11}


def test_load_cif_folder_round_trip(tmp_path):
    data = binary_dataset()
    for name in ("NaCl", "CsCl", "Cu"):
        write_cif(data[name], tmp_path / f"{name}.cif")
    (tmp_path / "notes.txt").write_text("not a CIF, ignored")
    loaded = load_cif_folder(tmp_path)
    assert [c.formula for c in loaded] == ["CsCl", "Cu4", "Na4Cl4"]     # sorted by file name
    for c, name in zip(loaded, ("CsCl", "Cu", "NaCl")):
        assert isinstance(c, Crystal)
        np.testing.assert_allclose(c.lattice, data[name].lattice, atol=1e-6)
        assert abs(c.density - data[name].density) < 1e-6


def test_load_cif_folder_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a folder"):
        load_cif_folder(tmp_path / "missing")
    with pytest.raises(ValueError, match="no .cif files"):
        load_cif_folder(tmp_path)
    write_cif(binary_dataset()["CaF2"], tmp_path / "a.cif")
    with pytest.raises(ValueError, match=r"a.cif holds 12 atoms; at most max_atoms = 8"):
        load_cif_folder(tmp_path, max_atoms=8)                 # no file loads: always an error
    with pytest.raises(ValueError, match=r"max_atoms must be an integer >= 1, got 0"):
        load_cif_folder(tmp_path, max_atoms=0)
    with pytest.raises(ValueError, match="on_error must be"):
        load_cif_folder(tmp_path, on_error="ignore")


def test_load_cif_folder_loads_the_good_files_and_names_every_bad_one(tmp_path):
    """Issue 13, item 8: bad files are reported by name, each with its reason; the good ones load."""
    data = binary_dataset()
    write_cif(data["NaCl"], tmp_path / "a_good.cif")
    write_cif(data["Cu"], tmp_path / "d_good.cif")
    (tmp_path / "b_broken.cif").write_text("data_x\n_cell_length_a 5\nthis is not a CIF loop\n")
    (tmp_path / "c_two.cif").write_text((tmp_path / "a_good.cif").read_text() + (tmp_path / "d_good.cif").read_text()
                                        .replace("data_", "data_second_", 1))
    with pytest.warns(UserWarning) as record:
        loaded = load_cif_folder(tmp_path)
    assert [c.formula for c in loaded] == ["Na4Cl4", "Cu4"]
    message = str(record[0].message)
    assert message.startswith(f"2 of 4 CIF files in {tmp_path} could not be loaded")
    assert "b_broken.cif: could not read" in message and "c_two.cif: " in message and "2 structures" in message
    assert "good.cif" not in message.replace("loaded the other", "")
    with pytest.raises(ValueError, match=r"(?s)2 of 4 CIF files.*b_broken.cif.*c_two.cif"):
        load_cif_folder(tmp_path, on_error="raise")
