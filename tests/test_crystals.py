"""Crystal, prototypes, data sets and CIF I/O, checked against ASE and spglib."""
import numpy as np
import pytest
import spglib

from crystal_tutorial.crystals import (Crystal, demo_dataset, jitter, prototype, read_cif, reference_crystals,
                                       write_cif, DEMO_JITTER)


def test_prototype_atom_counts_and_space_groups():
    expected = {"sc": (1, 221), "bcc": (2, 229), "fcc": (4, 225), "diamond": (8, 227)}
    for name, (n, sg) in expected.items():
        c = prototype(name, a=4.0, number=29)
        assert c.n_atoms == n
        assert spglib.get_symmetry_dataset(c.to_spglib(), symprec=1e-3).number == sg


def test_volume_density_against_ase():
    cu = reference_crystals(["Cu"])["Cu"]
    atoms = cu.to_ase()
    assert cu.volume == pytest.approx(atoms.get_volume())
    mass_g = atoms.get_masses().sum() * 1.66053906660e-24
    assert cu.density == pytest.approx(mass_g / (atoms.get_volume() * 1e-24))
    assert cu.density == pytest.approx(8.97, abs=0.05)  # copper: 8.96 g/cm^3 measured


def test_cart_coords_and_ase_round_trip():
    rng = np.random.default_rng(0)
    lattice = np.array([[4.0, 0.1, 0.0], [1.0, 3.5, 0.2], [0.3, -0.4, 5.0]])
    c = Crystal(lattice, rng.uniform(0, 1, (5, 3)), [1, 6, 8, 14, 29])
    np.testing.assert_allclose(c.cart_coords, c.to_ase().get_positions())
    back = Crystal.from_ase(c.to_ase())
    np.testing.assert_allclose(back.frac_coords, c.frac_coords, atol=1e-12)
    np.testing.assert_array_equal(back.numbers, c.numbers)
    assert c.handedness == "right"
    assert Crystal(-lattice, c.frac_coords, c.numbers).handedness == "left"


def test_crystal_is_immutable():
    c = prototype("fcc")
    with pytest.raises(ValueError):
        c.frac_coords[0, 0] = 0.3
    with pytest.raises(AttributeError):
        c.lattice = np.eye(3)


@pytest.mark.parametrize("kwargs, message", [
    (dict(lattice=np.eye(2), frac_coords=[[0, 0, 0]], numbers=[1]), r"lattice must have shape \(3, 3\)"),
    (dict(lattice=[[1, 0, 0], [2, 0, 0], [0, 0, 1]], frac_coords=[[0, 0, 0]], numbers=[1]), "singular"),
    (dict(lattice=np.eye(3) * np.nan, frac_coords=[[0, 0, 0]], numbers=[1]), "NaN"),
    (dict(lattice=np.eye(3), frac_coords=[[0, 0]], numbers=[1]), r"frac_coords must have shape \(N, 3\)"),
    (dict(lattice=np.eye(3), frac_coords=np.zeros((0, 3)), numbers=[]), "at least one atom"),
    (dict(lattice=np.eye(3), frac_coords=[[np.nan, 0, 0]], numbers=[1]), "frac_coords contains NaN"),
    (dict(lattice=np.eye(3), frac_coords=[[0, 0, 0]], numbers=[0]), "1..118"),
    (dict(lattice=np.eye(3), frac_coords=[[0, 0, 0]], numbers=[119]), "1..118"),
    (dict(lattice=np.eye(3), frac_coords=[[0, 0, 0]], numbers=[1.5]), "whole atomic numbers"),
    (dict(lattice=np.eye(3), frac_coords=[[0, 0, 0], [0.5, 0.5, 0.5]], numbers=[1]), "numbers must have shape"),
])
def test_bad_crystals_raise_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Crystal(**kwargs)


def test_bad_types_raise_type_error():
    with pytest.raises(TypeError, match="lattice"):
        Crystal("abc", [[0, 0, 0]], [1])


def test_prototype_bad_input():
    with pytest.raises(ValueError, match="unknown prototype"):
        prototype("hcp")
    with pytest.raises(ValueError, match="positive"):
        prototype("fcc", a=-1.0)


def test_wrapped_is_in_unit_cube_and_same_crystal():
    c = Crystal(np.eye(3) * 3, [[-0.25, 1.5, 2.0], [-1e-18, 0.999, 0.5]], [1, 1])
    w = c.wrapped()
    assert np.all((w.frac_coords >= 0) & (w.frac_coords < 1))
    np.testing.assert_allclose(w.frac_coords[0], [0.75, 0.5, 0.0])


def test_demo_dataset_is_deterministic_and_documented():
    a, b, c = demo_dataset(0), demo_dataset(0), demo_dataset(1)
    assert len(a) == 10
    assert [x.n_atoms for x in a] == [1, 4, 2, 8, 1, 4, 2, 8, 1, 4]
    assert all(x == y for x, y in zip(a, b))
    assert not all(x == y for x, y in zip(a, c))
    # jitter is small: each perturbed variant stays within a few sigma of its prototype
    for base, variant in zip(a[:4] + a[:2], a[4:]):
        d = variant.frac_coords - base.frac_coords
        d -= np.round(d)
        assert np.abs(d).max() < 6 * DEMO_JITTER


def test_jitter_validates_sigma():
    with pytest.raises(ValueError, match="sigma"):
        jitter(prototype("sc"), -0.1, np.random.default_rng(0))


def test_reference_crystals_match_ase_reference_states():
    refs = reference_crystals()
    assert {"Cu", "Fe", "Si", "Po"} <= set(refs)
    expected_sg = {"Cu": 225, "Fe": 229, "Si": 227, "Po": 221, "W": 229, "C": 227}
    for sym, sg in expected_sg.items():
        assert spglib.get_symmetry_dataset(refs[sym].to_spglib(), symprec=1e-3).number == sg
    assert refs["Cu"].lattice[0, 0] == pytest.approx(3.61)
    with pytest.raises(ValueError, match="no cubic"):
        reference_crystals(["Mg"])  # hcp


def test_cif_round_trip(tmp_path):
    c = jitter(prototype("diamond", a=5.43), 0.02, np.random.default_rng(3))
    path = write_cif(c, tmp_path / "si.cif")
    back = read_cif(path)
    np.testing.assert_allclose(back.lattice, c.lattice, atol=1e-5)
    np.testing.assert_allclose(back.frac_coords, c.frac_coords, atol=1e-5)
    np.testing.assert_array_equal(back.numbers, c.numbers)


def test_malformed_cif_names_file_and_problem(tmp_path):
    bad = tmp_path / "broken.cif"
    bad.write_text("data_broken\n_cell_length_a 5.0\nthis is not a cif loop\n")
    with pytest.raises(ValueError, match="broken.cif"):
        read_cif(bad)
    with pytest.raises(FileNotFoundError, match="no CIF file"):
        read_cif(tmp_path / "missing.cif")
    with pytest.raises(TypeError, match="Crystal"):
        write_cif("not a crystal", tmp_path / "x.cif")


def test_supercell_has_same_density_and_more_atoms():
    c = prototype("bcc", a=3.0, number=26)
    s = c.supercell((2, 1, 3))
    assert s.n_atoms == 12
    assert s.density == pytest.approx(c.density)
    with pytest.raises(ValueError, match="reps"):
        c.supercell((0, 1, 1))
