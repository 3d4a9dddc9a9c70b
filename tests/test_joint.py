"""The joint denoiser: gradient check, lattice representation, invariances, bad inputs."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crystal_tutorial.datasets import binary_dataset
from crystal_tutorial.joint import JointDenoiser, lattice_params, metric_from_params, params_to_lattice
from crystal_tutorial.nn import gradient_check

VOCAB = [3, 8, 11, 17, 29]


def small_model(seed=1):
    return JointDenoiser(VOCAB, 8, lat_shift=[2.6] + [0] * 5, lat_scale=[0.4] + [0.05] * 5,
                         n_freq=2, n_rbf=4, embed=3, hidden=6, rng=seed)


def inputs(rng, B=2, N=4, V=5, C=8):
    return (rng.random((B, N, 3)), rng.standard_normal((B, 6)), rng.standard_normal((B, N, V)),
            np.array([0.01, 0.3])[:B], rng.standard_normal((B, C)))


def random_rotation(rng):
    q, r = np.linalg.qr(rng.standard_normal((3, 3)))
    q *= np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def test_gradient_check_of_the_whole_model():
    rng = np.random.default_rng(0)
    model = small_model()
    x, lat, a, sigma, cond = inputs(rng)
    mask = np.array([[True, True, True, False], [True, True, True, True]])   # one padded atom
    w = [rng.standard_normal(s) for s in ((2, 4, 3), (2, 6), (2, 4, 5))]

    def f():
        outs = model.forward(x, lat, a, sigma, cond, mask)
        model.backward(*w)
        return sum(float(np.sum(wi * o)) for wi, o in zip(w, outs)), model.gradients()

    errors = gradient_check(f, model.parameters())
    # phi's output bias cancels in P_ij - P_ji: its gradient is exactly 0 (numerically ~1e-11 noise)
    assert np.abs(model.gradients()["phi.layers.2.b"]).max() < 1e-12
    errors.pop("phi.layers.2.b")
    assert max(errors.values()) < 1e-6, {k: v for k, v in errors.items() if v > 1e-6}


@settings(max_examples=30, deadline=None)
@given(lengths=st.lists(st.floats(2.0, 12.0), min_size=3, max_size=3),
       angles=st.lists(st.floats(60.0, 120.0), min_size=3, max_size=3), seed=st.integers(0, 1000))
def test_lattice_round_trip_up_to_rotation(lengths, angles, seed):
    from ase.geometry import cell_to_cellpar, cellpar_to_cell
    cellpar = np.r_[lengths, angles]
    try:
        L = cellpar_to_cell(cellpar)
    except Exception:
        return
    if abs(np.linalg.det(L)) < 1e-3 * np.prod(lengths):
        return
    L = L @ random_rotation(np.random.default_rng(seed)).T            # an arbitrary orientation
    p = lattice_params(L)
    np.testing.assert_allclose(np.exp(p[:3]), cell_to_cellpar(L)[:3], rtol=1e-10)          # lengths, as ASE
    np.testing.assert_allclose(np.degrees(np.arccos(p[3:])), cell_to_cellpar(L)[3:], atol=1e-8)  # angles
    back = params_to_lattice(p)
    np.testing.assert_allclose(back @ back.T, L @ L.T, atol=1e-9)      # same metric tensor: same cell up to rotation
    np.testing.assert_allclose(metric_from_params(p), L @ L.T, atol=1e-9)
    np.testing.assert_allclose(lattice_params(back), p, atol=1e-12)


def test_normalised_lattice_round_trip():
    model = small_model()
    p = lattice_params(np.array([[4.0, 0.3, 0.1], [0.2, 5.0, -0.4], [0.5, 0.1, 4.5]]))
    np.testing.assert_allclose(model.z_to_params(model.params_to_z(p)), p, atol=1e-12)
    z = model.params_to_z(lattice_params(np.eye(3) * 4.0))
    np.testing.assert_allclose(z[1:], 0, atol=1e-12)                 # a cube has zero shape and cosines


def test_lattice_params_of_cubic_cells_and_bad_input():
    p = lattice_params(binary_dataset()["NaCl"].lattice)
    np.testing.assert_allclose(p, [np.log(5.64)] * 3 + [0, 0, 0], atol=1e-12)
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 3, 3\)"):
        lattice_params(np.eye(2))
    with pytest.raises(ValueError, match="admit no cell"):
        params_to_lattice([1, 1, 1, 0.9, 0.9, -0.9])
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 6\)"):
        params_to_lattice([1, 1, 1])


def test_rotating_the_cartesian_frame_leaves_outputs_unchanged():
    rng = np.random.default_rng(3)
    model = small_model()
    L = np.array([[4.0, 0.3, 0.1], [0.2, 5.0, -0.4], [0.5, 0.1, 4.5]])  # a skewed cell
    x, _, a, sigma, cond = inputs(rng, B=1, N=4)
    sigma = sigma[:1]
    outs = []
    for R in (np.eye(3), random_rotation(rng), random_rotation(rng)):
        lat = model.params_to_z(lattice_params(L @ R.T))              # rows rotated: L -> L R^T
        outs.append(model.forward(x, lat[None], a, sigma, cond))
    for other in outs[1:]:
        for o1, o2 in zip(outs[0], other):
            np.testing.assert_allclose(o1, o2, atol=1e-12)


def test_permutation_and_translation():
    rng = np.random.default_rng(4)
    model = small_model()
    x, lat, a, sigma, cond = inputs(rng)
    ox, ol, oa = model.forward(x, lat, a, sigma, cond)
    perm = rng.permutation(4)
    px, pl, pa = model.forward(x[:, perm], lat, a[:, perm], sigma, cond)
    np.testing.assert_allclose(px, ox[:, perm], atol=1e-12)           # permuting atoms permutes outputs
    np.testing.assert_allclose(pa, oa[:, perm], atol=1e-12)
    np.testing.assert_allclose(pl, ol, atol=1e-12)                    # the lattice output is invariant
    tx, tl, ta = model.forward(x + rng.random((2, 1, 3)) + 3, lat, a, sigma, cond)  # shift, and periodic images
    for o1, o2 in ((tx, ox), (tl, ol), (ta, oa)):
        np.testing.assert_allclose(o1, o2, atol=1e-10)
    np.testing.assert_allclose(ox.sum(axis=1), 0, atol=1e-12)        # equal and opposite pair updates


def test_padded_atoms_do_not_change_real_outputs():
    rng = np.random.default_rng(5)
    model = small_model()
    x, lat, a, sigma, cond = inputs(rng, B=1, N=3)
    sigma = sigma[:1]
    ox, ol, oa = model.forward(x, lat, a, sigma, cond)
    xp = np.concatenate([x, rng.random((1, 2, 3))], axis=1)
    ap = np.concatenate([a, rng.standard_normal((1, 2, 5))], axis=1)
    mask = np.array([[True, True, True, False, False]])
    px, pl, pa = model.forward(xp, lat, ap, sigma, cond, mask)
    np.testing.assert_allclose(px[:, :3], ox, atol=1e-12)
    np.testing.assert_allclose(pl, ol, atol=1e-12)
    np.testing.assert_allclose(pa[:, :3], oa, atol=1e-12)
    assert np.all(pa[:, 3:] == 0)


def test_bad_inputs_raise_clear_errors():
    rng = np.random.default_rng(6)
    model = small_model()
    x, lat, a, sigma, cond = inputs(rng)
    with pytest.raises(ValueError, match=r"x must have shape \(B, N, 3\), got \(2, 4, 2\)"):
        model.forward(x[..., :2], lat, a, sigma, cond)
    with pytest.raises(ValueError, match=r"lat must have shape \(2, 6\), got \(2, 3\)"):
        model.forward(x, lat[:, :3], a, sigma, cond)
    with pytest.raises(ValueError, match=r"a must have shape \(2, 4, 5\), got \(2, 4, 4\)"):
        model.forward(x, lat, a[..., :4], sigma, cond)
    with pytest.raises(ValueError, match=r"cond must have shape \(2, 8\), got \(2, 3\)"):
        model.forward(x, lat, a, sigma, cond[:, :3])
    with pytest.raises(ValueError, match=r"sigma must hold numbers > 0, got -1"):
        model.forward(x, lat, a, -1.0, cond)
    with pytest.raises(ValueError, match="mask must mark at least one real atom in every structure"):
        model.forward(x, lat, a, sigma, cond, np.zeros((2, 4), dtype=bool))
    with pytest.raises(RuntimeError, match="before forward"):
        small_model().backward(np.zeros((2, 4, 3)), np.zeros((2, 6)), np.zeros((2, 4, 5)))
    model.forward(x, lat, a, sigma, cond)
    with pytest.raises(ValueError, match="grad_l must have the shape"):
        model.backward(np.zeros((2, 4, 3)), np.zeros((2, 5)), np.zeros((2, 4, 5)))
    with pytest.raises(ValueError, match="vocab must be increasing atomic numbers"):
        JointDenoiser([8, 3], 4, [0] * 6, [1] * 6)
    with pytest.raises(ValueError, match=r"lat_scale must hold numbers > 0, got 0"):
        JointDenoiser([3, 8], 4, [0] * 6, [0] * 6)


# --- notebook 09's exercises: the folded solutions pass their checkers --------------------------
def test_notebook_09_solutions_pass_their_checks():
    from crystal_tutorial.course.exercises import check
    L = np.array([[3, 0, 0], [1.5, 2.598, 0], [0, 0, 5.0]])
    assert check("09.1", np.degrees(np.arccos(lattice_params(L)[5])), expected=60.0, atol=0.05).ok
    assert not check("09.1", 90.0, expected=60.0, atol=0.05).ok

    def guide(out_cond, out_uncond, w):
        return out_uncond + w * (out_cond - out_uncond)

    def guide_ok(f):
        oc, ou = np.array([1.0, 2.0]), np.array([0.5, -1.0])
        return all(np.allclose(f(oc, ou, w), ou + w * (oc - ou)) for w in (0.0, 1.0, 3.0))

    assert check("09.2", guide, test=guide_ok).ok
    assert not check("09.2", lambda oc, ou, w: oc + w * (oc - ou), test=guide_ok).ok  # the wrong base
    rho = binary_dataset()["NaCl"].density
    expected = 5.64 * (rho / 2.0) ** (1 / 3)
    assert check("09.3", 5.64 * (rho / 2.0) ** (1 / 3), expected=expected, rtol=1e-3).ok
    assert 5.75 < expected < 5.85
