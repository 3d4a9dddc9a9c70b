"""Crystal, prototypes, data sets and CIF I/O, checked against ASE and spglib."""
import numpy as np
import pytest
import spglib

from crystal_tutorial.cif import read_cif, write_cif
from crystal_tutorial.crystals import DEMO_JITTER, Crystal, demo_dataset, jitter, prototype, reference_crystals


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
    (dict(lattice=np.eye(3), frac_coords=[[0, 0, 0]], numbers=[1.5]),
     r"numbers must hold integers in 1..118 \(whole numbers\)"),
    (dict(lattice=np.eye(3), frac_coords=[[0, 0, 0], [0.5, 0.5, 0.5]], numbers=[1]), "numbers must have shape"),
])
def test_bad_crystals_raise_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Crystal(**kwargs)


def test_bad_types_raise_type_error():
    with pytest.raises(TypeError, match="lattice"):
        Crystal("abc", [[0, 0, 0]], [1])


def test_prototype_bad_input():
    with pytest.raises(ValueError, match=r"name must be one of \['sc', 'bcc', 'fcc', 'diamond'\], got 'hcp'"):
        prototype("hcp")
    with pytest.raises(ValueError, match=r"a must be a number in \(0, 1000\], got -1.0"):
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


# --- issue 13, item 10: Crystal refuses what it cannot represent; copies stay read-only --------------
def test_crystal_refuses_an_infinite_volume():
    with pytest.raises(ValueError, match="too large.*overflows"):
        Crystal(np.eye(3) * 1e120, [[0, 0, 0]], [14])       # det = 1e360 = inf in float64
    with pytest.raises(ValueError, match="MAX_LATTICE_LENGTH"):  # representable, but no crystal (issue 25, item 6)
        Crystal(np.eye(3) * 1e90, [[0, 0, 0]], [14])


@pytest.mark.parametrize("numbers", [True, [True], np.array([False, True])])
def test_bool_is_not_an_atomic_number(numbers):
    n = np.size(numbers)
    with pytest.raises(TypeError, match="numbers must be an array of real numbers, got .*bool"):
        Crystal(np.eye(3) * 5, np.zeros((n, 3)) + np.arange(n)[:, None] * 0.5, numbers)


@pytest.mark.parametrize("numbers", ["14", ["14"], [None]])
def test_a_string_atomic_number_is_a_clear_type_error(numbers):
    with pytest.raises(TypeError, match="numbers must be an array of real numbers, got .*(str|None)"):
        Crystal(np.eye(3) * 5, [[0, 0, 0]], numbers)
    with pytest.raises(TypeError, match="number must be an integer in 1..118, got (str|NoneType)"):
        prototype("sc", number=numbers if np.ndim(numbers) == 0 else numbers[0])


def test_copies_and_pickles_are_read_only_like_the_original():
    import copy
    import pickle
    c = jitter(prototype("fcc"), 0.01, np.random.default_rng(0))
    for other in (copy.deepcopy(c), pickle.loads(pickle.dumps(c)), copy.copy(c)):
        assert other == c and other is not c
        for name in ("lattice", "frac_coords", "numbers"):
            arr = getattr(other, name)
            assert not arr.flags.writeable, name
            with pytest.raises(ValueError, match="read-only"):
                arr[0] = 1
        assert other.frac_coords is not c.frac_coords      # a real copy, not a shared buffer


# --- issue 13, item 8: read_cif refuses disordered structures and ambiguous files ---------------------
CELL = """_cell_length_a 3.0
_cell_length_b 3.0
_cell_length_c 3.0
_cell_angle_alpha 90
_cell_angle_beta 90
_cell_angle_gamma 90
_symmetry_space_group_name_H-M 'P 1'
"""


def _cif(name, rows, occupancy=False):
    head = "loop_\n_atom_site_label\n_atom_site_type_symbol\n_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\n"  # noqa: E501
    head += "_atom_site_occupancy\n" if occupancy else ""
    return f"data_{name}\n{CELL}{head}" + "".join(" ".join(map(str, r)) + "\n" for r in rows)


@pytest.mark.parametrize(
    "rows, shown",
    [
        ([("Fe1", "Fe", 0, 0, 0, 0.5), ("Co1", "Co", 0, 0, 0, 0.5)], "Fe1 0.5, Co1 0.5"),  # mixed site
        ([("Cu1", "Cu", 0, 0, 0, 1.0), ("O1", "O", 0.5, 0.5, 0.5, 0.3)], "O1 0.3"),  # vacancy
    ],
)
def test_partial_occupancy_is_an_error_that_says_so(tmp_path, rows, shown):
    path = tmp_path / "disordered.cif"
    path.write_text(_cif("disordered", rows, occupancy=True))
    with pytest.raises(ValueError, match=rf"disordered.cif .*partial occupancies \({shown}\).*ordered crystals"):
        read_cif(path)


def test_full_occupancy_column_reads_normally(tmp_path):
    path = tmp_path / "ordered.cif"
    path.write_text(
        _cif(
            "ordered",
            [("Na1", "Na", 0, 0, 0, 1.0), ("Cl1", "Cl", 0.5, 0.5, 0.5, "1.000"), ("Cl2", "Cl", 0.5, 0, 0, "?")],
            occupancy=True,
        )
    )
    assert read_cif(path).formula == "NaCl2"


def test_several_data_blocks_need_an_index(tmp_path):
    path = tmp_path / "two.cif"
    path.write_text(
        _cif("first", [("Cu1", "Cu", 0, 0, 0)]) + _cif("second", [("Na1", "Na", 0, 0, 0), ("Cl1", "Cl", 0.5, 0.5, 0.5)])
    )
    with pytest.raises(
        ValueError,
        match=r"two.cif holds 2 structures \(data blocks \['first', 'second'\]\); "
        r"pass index=k with k in 0..1",
    ):
        read_cif(path)
    assert read_cif(path, index=0).formula == "Cu"
    assert read_cif(path, index=1).formula == "NaCl"
    assert read_cif(path, index=-1).formula == "NaCl"
    with pytest.raises(ValueError, match="index must lie in 0..1"):
        read_cif(path, index=2)
    with pytest.raises(TypeError, match="index must be an integer"):
        read_cif(path, index="1")
    one = tmp_path / "one.cif"
    one.write_text(_cif("only", [("Cu1", "Cu", 0, 0, 0)]))
    assert read_cif(one).formula == read_cif(one, index=0).formula == "Cu"
    assert "index" in read_cif.__doc__ and "the first" not in read_cif.__doc__


# --- issue 13, item 9: a left-handed cell is written as the same atoms, not as their mirror image ----
def _selenium_p3121(a=4.366, c=4.954, x=0.2254):
    """Trigonal selenium, space group P3_121 (152): helices of one hand (its mirror image is P3_221, 154)."""
    lattice = np.array([[a, 0, 0], [-a / 2, a * np.sqrt(3) / 2, 0], [0, 0, c]])
    return Crystal(lattice, [[x, 0, 1 / 3], [0, x, 2 / 3], [-x, -x, 0]], 34).wrapped()


def _signed_volume(crystal):
    """(r01 x r02) . r03 of minimum-image bond vectors: unchanged by rotations, negated by a mirror."""
    from ase.geometry import find_mic

    r = find_mic(crystal.cart_coords[1:4] - crystal.cart_coords[0], crystal.lattice, pbc=True)[0]  # (3, 3)
    return float(np.dot(np.cross(r[0], r[1]), r[2]))


def test_left_handed_cell_round_trip_keeps_the_chirality(tmp_path):
    se = _selenium_p3121()
    flip = np.diag([1.0, 1.0, -1.0])  # c -> -c and z -> -z: the same atoms
    left = Crystal(flip @ se.lattice, se.frac_coords @ flip, se.numbers)
    assert left.handedness == "left"
    np.testing.assert_allclose(left.cart_coords, se.cart_coords, atol=1e-12)
    assert spglib.get_symmetry_dataset(left.to_spglib()).number == 152
    back = read_cif(write_cif(left, tmp_path / "se.cif"))
    assert back.handedness == "right"
    assert spglib.get_symmetry_dataset(back.to_spglib()).number == 152  # not 154, its mirror image

    # A chiral tetrahedron of four different atoms in a skewed, left-handed triclinic cell.
    lattice = np.array([[4.1, 0.3, -0.2], [0.9, 4.6, 0.4], [0.5, -0.7, -5.2]])
    assert np.linalg.det(lattice) < 0
    mol = Crystal(lattice, [[0.1, 0.2, 0.3], [0.35, 0.2, 0.3], [0.12, 0.45, 0.28], [0.15, 0.22, 0.55]], [6, 7, 8, 9])
    back = read_cif(write_cif(mol, tmp_path / "mol.cif"))
    np.testing.assert_array_equal(back.numbers, mol.numbers)
    assert back.volume == pytest.approx(mol.volume, rel=1e-5)
    assert _signed_volume(back) == pytest.approx(_signed_volume(mol), rel=1e-4)  # same sign: not mirrored
    assert abs(_signed_volume(mol)) > 0.5
    d_ase = mol.to_ase().get_all_distances(mic=True)  # the reference: ASE on the original
    np.testing.assert_allclose(back.to_ase().get_all_distances(mic=True), d_ase, atol=1e-4)


def test_write_cif_is_atomic(tmp_path, monkeypatch):
    path = write_cif(prototype("fcc"), tmp_path / "x.cif")
    good = path.read_bytes()
    import ase.io

    def broken_write(filename, *args, **kwargs):  # a writer that dies halfway, as on a full disk
        with open(filename, "w") as fh:
            fh.write("data_half")
        raise OSError("No space left on device")

    monkeypatch.setattr(ase.io, "write", broken_write)
    with pytest.raises(OSError, match="No space"):
        write_cif(prototype("bcc"), path)
    assert path.read_bytes() == good  # the earlier file is intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.cif"]  # and no temporary file is left
