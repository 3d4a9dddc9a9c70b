"""Tests for crystal_tutorial.physics: minimum distance (against ASE), repulsion correction,
density (closed form) and symmetry (spglib on prototypes, real crystals and look-alikes).
The structure distance and the sample report are tested in test_metrics.py."""
import numpy as np
import pytest
from crystal_helpers import moved_copy, random_crystal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crystal_tutorial.crystals import Crystal, prototype, reference_crystals
from crystal_tutorial.physics import (
    PROTOTYPE_SPACE_GROUPS,
    CorrectionResult,
    PhysicsValidator,
    prototype_match,
    space_group,
    symmetry_dataset,
)

NAMES = ("sc", "bcc", "fcc", "diamond")
SKEWED = np.array([[4.0, 0.0, 0.0], [3.2, 2.5, 0.0], [1.1, 0.9, 3.0]])  # a strongly sheared cell


@pytest.fixture(scope="module")
def validator():
    return PhysicsValidator()


# --- minimum distance -----------------------------------------------------------------------
def test_min_distance_matches_ase_on_a_skewed_cell(validator):
    c = random_crystal(3, n=6, lattice=SKEWED)
    ase_d = c.to_ase().get_all_distances(mic=True)
    expected = ase_d[~np.eye(6, dtype=bool)].min()
    valid, d = validator.check_minimum_distance(c)
    assert d == pytest.approx(min(expected, 3.0), abs=1e-9) and valid == (d >= 0.7)


def test_min_distance_of_prototypes(validator):
    a = 5.0  # nearest neighbours: sc a, bcc a sqrt(3)/2, fcc a/sqrt(2), diamond a sqrt(3)/4
    for name, d in zip(NAMES, (a, a * 3 ** 0.5 / 2, a / 2 ** 0.5, a * 3 ** 0.5 / 4)):
        assert validator.check_minimum_distance(prototype(name)) == (True, pytest.approx(d))
    assert validator.check_minimum_distance(prototype("fcc", a=0.9)) == (False, pytest.approx(0.9 / 2 ** 0.5))


def test_batch_and_many_agree_with_single(validator):
    crystals = [random_crystal(s, n=5, lattice=SKEWED) for s in range(6)]
    single = np.array([validator.check_minimum_distance(c)[1] for c in crystals])
    valid, d = validator.check_minimum_distance_batch(np.stack([c.frac_coords for c in crystals]), SKEWED)
    assert d.shape == (6,) and np.allclose(d, single) and np.array_equal(valid, single >= 0.7)
    lattices = np.stack([SKEWED * (1 + 0.1 * i) for i in range(6)])  # (B, 3, 3), one cell per structure
    mixed = [Crystal(l, c.frac_coords, 14) for l, c in zip(lattices, crystals)]
    _, d_batch = validator.check_minimum_distance_batch(np.stack([c.frac_coords for c in mixed]), lattices)
    assert np.allclose(d_batch, [validator.check_minimum_distance(c)[1] for c in mixed])
    many = crystals[:3] + [random_crystal(9, n=2), prototype("diamond")]  # mixed atom counts
    _, d_many = validator.check_minimum_distance_many(many)
    assert np.allclose(d_many, [validator.check_minimum_distance(c)[1] for c in many])


# --- repulsion correction --------------------------------------------------------------------
def assert_monotone(result, max_iterations):
    hist = np.array(result.n_violations_history)
    assert isinstance(result, CorrectionResult)
    assert np.all(np.diff(hist) <= 0), f"violations went up: {hist}"
    assert result.iterations == len(hist) - 1 <= max_iterations
    assert result.n_violations_after <= result.n_violations_before


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2 ** 32 - 1), n=st.integers(2, 10), a=st.floats(1.2, 6.0),
       shear=st.floats(0.0, 0.9), step=st.floats(0.01, 1.0))
def test_correction_never_increases_violations(seed, n, a, shear, step):
    lattice = np.array([[a, 0, 0], [shear * a, a, 0], [0, shear * a, a]])
    c = random_crystal(seed, n=n, lattice=lattice)
    validator = PhysicsValidator()
    result = validator.correct_structure(c, max_iterations=40, step=step)
    assert_monotone(result, 40)
    valid, d = validator.check_minimum_distance(result.crystal)  # the report matches a fresh check
    assert d == pytest.approx(result.d_min_after) and valid == result.success
    assert np.all((result.crystal.frac_coords >= 0) & (result.crystal.frac_coords < 1))


@pytest.mark.parametrize("n", [2, 3, 8, 20])
def test_correction_separates_atoms_at_one_point(validator, n):
    c = Crystal(np.eye(3) * 4.0, np.full((n, 3), 0.3), 14)
    result = validator.correct_structure(c)
    assert_monotone(result, 100)
    assert result.success and result.d_min_before == 0.0 and result.d_min_after >= 0.7
    assert result.n_violations_before == n * (n - 1) // 2 and result.n_violations_after == 0


@pytest.mark.parametrize("n", [16, 32])
def test_correction_fixes_crowded_random_cells(validator, n):
    """Random positions in a 5 Å cell: 16 atoms (~90% invalid) and 32 atoms (all invalid)."""
    results = [validator.correct_structure(random_crystal(seed, n=n)) for seed in range(15)]
    for r in results:
        assert_monotone(r, 100)
    assert sum(r.n_violations_before > 0 for r in results) >= 10 and all(r.success for r in results)


def test_correction_terminates_when_impossible(validator):
    crowded = Crystal(np.eye(3) * 2.0, np.zeros((50, 3)), 14)  # 50 atoms of 0.7 Å cannot fit in 8 Å^3
    result = validator.correct_structure(crowded, max_iterations=30)
    assert_monotone(result, 30) and not result.success
    tiny = Crystal(np.eye(3) * 0.5, [[0.0, 0.0, 0.0]], 14)  # an atom 0.5 Å from its own image
    result = validator.correct_structure(tiny)
    assert not result.success and result.iterations == 0 and result.d_min_after == pytest.approx(0.5)


def test_isolated_pair_step_and_direction_in_a_skewed_cell(validator):
    """One step of 0.5 resolves a lone pair exactly (each atom moves half the overlap), and the
    move is along the Cartesian pair vector even in a sheared cell (df = dr @ inverse(lattice))."""
    lattice = SKEWED * 2
    frac = np.array([[0.2, 0.2, 0.2], [0.2, 0.2, 0.2]]) + np.array([[0, 0, 0], [0.05, -0.03, 0.02]])
    c = Crystal(lattice, frac, 14)
    r0 = c.cart_coords[1] - c.cart_coords[0]  # (3,) Å
    result = validator.correct_structure(c, step=0.5, margin=0.05, max_iterations=1)
    assert result.iterations == 1 and result.d_min_after == pytest.approx(0.75)
    r1 = result.crystal.cart_coords[1] - result.crystal.cart_coords[0]
    r1 = r1 - np.round((r1 @ np.linalg.inv(lattice))) @ lattice  # undo a wrap
    assert np.allclose(np.cross(r0, r1), 0, atol=1e-9) and r0 @ r1 > 0


def test_correction_leaves_valid_structures_alone(validator):
    c = prototype("diamond")
    result = validator.correct_structure(c)
    assert result.iterations == 0 and result.success and np.allclose(result.crystal.frac_coords, c.frac_coords)


# --- density --------------------------------------------------------------------------------
def test_density_check(validator):
    ok, rho = validator.density_check(prototype("fcc"))  # 4 Si (28.085 amu) in 125 Å^3
    assert ok and rho == pytest.approx(4 * 28.085 / 125 * 1.66053906660, rel=1e-4)
    assert validator.density_check(prototype("sc")) == (False, pytest.approx(0.373, abs=1e-3))  # below 0.5
    assert PhysicsValidator(density_range=(0.1, 1.0)).density_check(prototype("sc"))[0]


# --- symmetry -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_spglib_recognises_each_prototype(name):
    number, n_conv = PROTOTYPE_SPACE_GROUPS[name]
    c = prototype(name)
    assert space_group(c)[0] == number and prototype_match(c) == name
    assert prototype_match(c.supercell((2, 1, 1))) == name  # 2, 4, 8 or 16 atoms, still the prototype
    for seed in range(10):
        rng = np.random.default_rng(seed)
        for symprec in (0.05, 0.1, 0.3):
            # A symmetry operation found from one displaced pair carries that pair's error to the
            # others: spglib needs symprec of about 4x the displacement (3x fails ~30% of the time).
            moved = moved_copy(c, rng, displacement=0.2 * symprec)
            assert prototype_match(moved, symprec) == name, (seed, symprec)
            assert prototype_match(moved.supercell((2, 1, 1)), symprec) == name


def test_prototype_match_real_crystals_and_lookalikes():
    from ase.build import bulk
    refs = reference_crystals()
    assert {k: prototype_match(refs[k]) for k in ("Cu", "Fe", "Si", "Po")} == \
        {"Cu": "fcc", "Fe": "bcc", "Si": "diamond", "Po": "sc"}
    assert prototype_match(Crystal.from_ase(bulk("Cu", "fcc", a=3.61))) == "fcc"  # 1-atom primitive cell
    bcc_in_sc = Crystal(np.eye(3) * 3.0, [[0, 0, 0], [0.5, 0.5, 0.5]], 26)
    assert space_group(bcc_in_sc) == (229, "Im-3m") and prototype_match(bcc_in_sc) == "bcc"
    for lookalike in (bulk("NaCl", "rocksalt", a=5.64, cubic=True), bulk("CsCl", "cesiumchloride", a=4.1),
                      bulk("GaAs", "zincblende", a=5.65, cubic=True)):
        assert prototype_match(Crystal.from_ase(lookalike)) is None  # 225 with 8 atoms, 221 with 2, 216


def test_fcc_supercell_with_8_atoms_is_fcc_not_diamond():
    c = prototype("fcc").supercell((2, 1, 1))
    assert c.n_atoms == 8 and prototype_match(c) == "fcc"


@pytest.mark.parametrize("n", [2, 4, 8])
def test_prototype_match_is_none_for_random_structures(n):
    matches = [prototype_match(random_crystal(seed, n=n)) for seed in range(100)]
    assert matches.count(None) == 100


def test_spglib_failure_returns_none_quietly(capfd):
    c = Crystal(np.eye(3) * 5.0, np.zeros((2, 3)), 14)  # two atoms on one site
    assert symmetry_dataset(c) is None and space_group(c) == (None, None) and prototype_match(c) is None
    for seed in range(20):  # spglib prints C-level messages for some random cells at large symprec
        space_group(random_crystal(seed, n=8), symprec=1.0)
    assert capfd.readouterr().err == ""


def test_spglib_errors_as_exceptions_also_give_none(monkeypatch):
    monkeypatch.setenv("SPGLIB_OLD_ERROR_HANDLING", "false")  # spglib's opt-in (future default) errors
    assert space_group(Crystal(np.eye(3) * 5.0, np.zeros((2, 3)), 14)) == (None, None)
    assert space_group(prototype("fcc")) == (225, "Fm-3m")


# --- bad inputs -----------------------------------------------------------------------------
def test_bad_inputs_raise_clear_errors(validator):
    c = prototype("fcc")
    with pytest.raises(ValueError, match="min_distance"):
        PhysicsValidator(min_distance=-1)
    with pytest.raises(ValueError, match="density_range"):
        PhysicsValidator(density_range=(5, 1))
    with pytest.raises(TypeError, match="crystal must be a crystal_tutorial.crystals.Crystal"):
        validator.check_minimum_distance(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"frac_coords must have shape \(B, N, 3\)"):
        validator.check_minimum_distance_batch(np.zeros((4, 3)), np.eye(3))
    with pytest.raises(ValueError, match="lattice must have shape"):
        validator.check_minimum_distance_batch(np.zeros((2, 4, 3)), np.eye(2))
    with pytest.raises(ValueError, match="step"):
        validator.correct_structure(c, step=0)
    with pytest.raises(ValueError, match="step"):
        validator.correct_structure(c, step=float("nan"))
    with pytest.raises(TypeError, match="step must be a number"):
        validator.correct_structure(c, step="big")
    with pytest.raises(ValueError, match="max_iterations"):
        validator.correct_structure(c, max_iterations=-1)
    with pytest.raises(ValueError, match=r"max_iterations must be an integer in 0\.\.100000 \(a whole number\)"):
        validator.correct_structure(c, max_iterations=2.5)
    with pytest.raises(TypeError, match=r"max_iterations must be an integer in 0\.\.100000, got NoneType"):
        validator.correct_structure(c, max_iterations=None)
    with pytest.raises(ValueError, match="frac_coords contains NaN"):
        validator.check_minimum_distance_batch(np.full((2, 4, 3), np.nan), np.eye(3))
    for margin in (-0.1, 0.0, 0.5):  # must lie in (0, min_distance / 2]
        with pytest.raises(ValueError, match="margin"):
            validator.correct_structure(c, margin=margin)
    with pytest.raises(ValueError, match="symprec"):
        space_group(c, symprec=0)
    with pytest.raises(TypeError, match="crystal"):
        prototype_match("fcc")


def test_rounding_shortcut_only_for_orthogonal_cells():
    from crystal_tutorial.checks import mic_method
    from crystal_tutorial.pbc import minimum_image
    rotation = np.linalg.qr(np.random.default_rng(0).standard_normal((3, 3)))[0]
    ortho = np.diag([3.0, 4.0, 5.0]) @ rotation.T  # rows still mutually orthogonal
    assert mic_method(ortho) == "round" and mic_method(SKEWED) == "exact"
    diff = np.random.default_rng(1).uniform(-2, 2, (500, 3))
    assert np.allclose(minimum_image(diff, ortho, "round")[1], minimum_image(diff, ortho, "exact")[1])


# --- issue 25, item 8: spglib's verdict does not depend on the order of the atoms ---------------------------------
def test_space_group_does_not_depend_on_atom_order():
    """A noisy FCC cell at symprec 0.1 Å: random atom orders gave space groups 5 and 8; now one verdict."""
    from crystal_tutorial.datasets import binary_dataset
    from crystal_tutorial.physics import canonical_order, prototype_key
    rng = np.random.default_rng(2)
    fcc = prototype("fcc")
    noisy = Crystal(fcc.lattice, fcc.frac_coords + rng.normal(0, 0.012, (4, 3)), fcc.numbers)
    groups = set()
    for _ in range(60):
        p = rng.permutation(4)
        groups.add(space_group(Crystal(noisy.lattice, noisy.frac_coords[p], noisy.numbers[p]), 0.1))
    assert len(groups) == 1, groups
    # the per-atom fields refer to the crystal's own atoms: equivalent atoms are of one species
    nacl = binary_dataset()["NaCl"]
    p = rng.permutation(nacl.n_atoms)
    shuffled = Crystal(nacl.lattice, nacl.frac_coords[p], nacl.numbers[p])
    ds = symmetry_dataset(shuffled, 1e-3)
    assert np.array_equal(shuffled.numbers[ds.equivalent_atoms], shuffled.numbers)
    assert [ds.wyckoffs[k] for k in np.argsort(p)] == symmetry_dataset(nacl, 1e-3).wyckoffs
    assert prototype_key(shuffled, 0.01) == prototype_key(nacl, 0.01) == (225, ((4, 1), (4, 1)))
    assert sorted(canonical_order(shuffled)) == list(range(nacl.n_atoms))
