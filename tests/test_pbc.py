"""Minimum image and distances, checked against ASE's get_distances(mic=True)."""
import numpy as np
import pytest
from ase.geometry import get_distances
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from crystal_tutorial.crystals import prototype
from crystal_tutorial.pbc import min_distance, minimum_image, pairwise_distances, wrap, wrap_centered


def skewed_lattice(rng):
    """A random, strongly skewed (but well-conditioned in volume) cell."""
    while True:
        lattice = np.diag(rng.uniform(3, 6, 3)) + rng.normal(0, 0.5, (3, 3))
        lattice[1] += rng.uniform(-3, 3) * lattice[0]
        lattice[2] += rng.uniform(-3, 3) * lattice[1] + rng.uniform(-2, 2) * lattice[0]
        if abs(np.linalg.det(lattice)) > 10:
            return lattice


def ase_distances(frac, lattice):
    _, d = get_distances(frac @ lattice, cell=lattice, pbc=True)
    return d


def test_exact_matches_ase_on_skewed_cells_and_rounding_fails():
    rng = np.random.default_rng(42)
    rounding_failures = 0
    for _ in range(20):
        lattice = skewed_lattice(rng)
        frac = rng.uniform(-0.2, 1.2, (7, 3))
        ref = ase_distances(frac, lattice)
        np.testing.assert_allclose(pairwise_distances(frac, lattice), ref, atol=1e-9, rtol=0)
        rounding = pairwise_distances(frac, lattice, method="round")
        assert np.all(rounding >= ref - 1e-9)  # rounding finds an image, never a shorter one
        rounding_failures += not np.allclose(rounding, ref, atol=1e-9)
    assert rounding_failures >= 1


def test_rounding_is_exact_for_orthorhombic_cells():
    rng = np.random.default_rng(1)
    lattice = np.diag([3.0, 4.5, 7.0])
    frac = rng.uniform(0, 1, (10, 3))
    np.testing.assert_allclose(pairwise_distances(frac, lattice, "round"), ase_distances(frac, lattice), atol=1e-12)


def test_batched_distances_equal_one_by_one():
    rng = np.random.default_rng(2)
    frac = rng.uniform(0, 1, (4, 5, 3))
    lattices = np.stack([skewed_lattice(rng) for _ in range(4)])
    batch = pairwise_distances(frac, lattices)
    assert batch.shape == (4, 5, 5)
    for b in range(4):
        np.testing.assert_allclose(batch[b], ase_distances(frac[b], lattices[b]), atol=1e-9)
    shared = pairwise_distances(frac, lattices[0])  # one lattice for the whole batch
    np.testing.assert_allclose(shared[2], ase_distances(frac[2], lattices[0]), atol=1e-9)
    np.testing.assert_allclose(min_distance(frac, lattices),
                               [min_distance(frac[b], lattices[b]) for b in range(4)])


def test_minimum_image_vectors_are_images_of_the_input():
    rng = np.random.default_rng(3)
    lattice = skewed_lattice(rng)
    d = rng.uniform(-2, 2, (50, 3))
    vectors, lengths = minimum_image(d, lattice)
    k = np.linalg.solve(lattice.T, (vectors - d @ lattice).T).T  # integer image shifts
    np.testing.assert_allclose(k, np.round(k), atol=1e-9)
    np.testing.assert_allclose(lengths, np.linalg.norm(vectors, axis=-1))


def test_min_distance_prototypes():
    a = 4.0
    assert min_distance(prototype("fcc", a).frac_coords, np.eye(3) * a) == pytest.approx(a / np.sqrt(2))
    assert min_distance(prototype("bcc", a).frac_coords, np.eye(3) * a) == pytest.approx(a * np.sqrt(3) / 2)
    assert min_distance(prototype("diamond", a).frac_coords, np.eye(3) * a) == pytest.approx(a * np.sqrt(3) / 4)
    assert min_distance(prototype("sc", a).frac_coords, np.eye(3) * a) == pytest.approx(a)  # its own image


@pytest.mark.parametrize("call, message", [
    (lambda: pairwise_distances(np.zeros((3, 2)), np.eye(3)), r"frac_coords must have shape"),
    (lambda: pairwise_distances(np.zeros((3, 3)), np.eye(2)), r"lattice must have shape"),
    (lambda: pairwise_distances(np.full((3, 3), np.nan), np.eye(3)), "NaN"),
    (lambda: pairwise_distances(np.zeros((3, 3)), np.zeros((3, 3))), "singular"),
    (lambda: min_distance(np.zeros((1, 3)), np.eye(3) * 1e120), "too large"),   # volume 1e360 = inf
    (lambda: pairwise_distances(np.zeros((3, 3)), np.eye(3), method="fast"), "method"),
    (lambda: wrap([np.inf, 0, 0]), "NaN or infinite"),
    (lambda: minimum_image(np.zeros((2, 2, 3)), np.stack([np.eye(3)] * 3)), "batch of 3 lattices"),
])
def test_bad_input_raises_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


coords = arrays(np.float64, (5, 3), elements=st.floats(-3, 3, allow_nan=False, allow_subnormal=False))


@settings(max_examples=40, deadline=None)
@given(frac=coords, shift=arrays(np.int64, (5, 3), elements=st.integers(-3, 3)),
       perm=st.permutations(range(5)), seed=st.integers(0, 10_000))
def test_distance_invariances(frac, shift, perm, seed):
    lattice = skewed_lattice(np.random.default_rng(seed))
    d = pairwise_distances(frac, lattice)
    np.testing.assert_allclose(d, d.T, atol=1e-9)  # symmetric
    np.testing.assert_allclose(np.diag(d), 0.0, atol=1e-9)
    np.testing.assert_allclose(pairwise_distances(frac + shift, lattice), d, atol=1e-8)  # lattice translations
    perm = np.array(perm)
    np.testing.assert_allclose(pairwise_distances(frac[perm], lattice), d[np.ix_(perm, perm)], atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(frac=coords)
def test_wrap_is_idempotent_and_in_range(frac):
    w = wrap(frac)
    assert np.all((w >= 0) & (w < 1))
    np.testing.assert_array_equal(wrap(w), w)
    np.testing.assert_allclose(np.round(frac - w), frac - w, atol=1e-9)  # differs by whole cells
    c = wrap_centered(frac)
    assert np.all((c >= -0.5) & (c < 0.5))


def test_wrap_scalars_and_zero_d_arrays():
    assert wrap(1.25) == 0.25 and wrap(np.float64(-0.25)) == 0.75 and wrap(-1e-17) == 0.0
    assert wrap_centered(0.75) == -0.25


# --- issue 13, item 10: no distance for no atoms; one atom's nearest neighbour is its own image ------
def test_min_distance_of_zero_atoms_is_an_error_not_a_number():
    with pytest.raises(ValueError, match="at least one atom.*N = 0"):
        min_distance(np.zeros((0, 3)), np.eye(3) * 5)
    with pytest.raises(ValueError, match="at least one atom"):
        min_distance(np.zeros((4, 0, 3)), np.eye(3) * 5)


def test_min_distance_of_one_atom_is_the_shortest_lattice_vector():
    from ase.neighborlist import neighbor_list
    rng = np.random.default_rng(5)
    for _ in range(5):
        lattice = skewed_lattice(rng)
        frac = rng.random((1, 3))
        # reference: ASE's neighbour list of the single atom (its periodic images) within a big cutoff
        cutoff = 1.01 * np.linalg.norm(lattice, axis=1).max()
        from ase import Atoms
        atoms = Atoms("Si", scaled_positions=frac, cell=lattice, pbc=True)
        d_ase = neighbor_list("d", atoms, cutoff).min()
        assert min_distance(frac, lattice) == pytest.approx(d_ase, rel=1e-12)
        batch = min_distance(np.stack([frac, frac]), np.stack([lattice, lattice]))
        np.testing.assert_allclose(batch, d_ase, rtol=1e-12)
