"""Tests for crystal_tutorial.diffusion, the scrubber in crystal_tutorial.viz.diffusion, and the
folded exercise solutions of notebook 02."""
import itertools
import json
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crystal_tutorial import diffusion as D
from crystal_tutorial.crystals import PROTOTYPES, prototype
from crystal_tutorial.viz.diffusion import NOISE_KINDS, SCHEDULES, forward_noised, render_scrubber


# --- schedules -------------------------------------------------------------------------------------
def test_linear_schedule_hand_computed():
    s = D.linear_schedule(T=3, beta_start=0.1, beta_end=0.3)
    np.testing.assert_allclose(s.betas, [0.0, 0.1, 0.2, 0.3])
    np.testing.assert_allclose(s.alpha_bars, [1.0, 0.9, 0.9 * 0.8, 0.9 * 0.8 * 0.7])
    np.testing.assert_allclose(s.alpha_bars_prev, [1.0, 1.0, 0.9, 0.72])
    np.testing.assert_allclose(s.sqrt_alpha_bars ** 2 + s.sqrt_one_minus_alpha_bars ** 2, 1.0)
    # t = 2: coef1 = sqrt(0.9) * 0.2 / 0.28, coef2 = sqrt(0.8) * 0.1 / 0.28, var = 0.1 / 0.28 * 0.2
    np.testing.assert_allclose(s.posterior_mean_coef1[2], np.sqrt(0.9) * 0.2 / 0.28)
    np.testing.assert_allclose(s.posterior_mean_coef2[2], np.sqrt(0.8) * 0.1 / 0.28)
    np.testing.assert_allclose(s.posterior_variance[2], 0.1 / 0.28 * 0.2)
    # t = 1: the posterior is exact, x_0 itself
    assert s.posterior_mean_coef1[1] == pytest.approx(1.0) and s.posterior_variance[1] == 0.0
    assert s.T == 3 and len(s.snr) == 4 and np.isinf(s.snr[0])


def test_hello_world_schedule_does_not_reach_noise():
    s = D.linear_schedule()
    expected = np.prod(1 - np.linspace(1e-4, 0.02, 100))
    assert s.alpha_bars[-1] == pytest.approx(expected, rel=1e-12)
    assert 0.35 < s.alpha_bars[-1] < 0.38  # measured fact: docs/hello-world.md
    assert D.linear_schedule(T=1000).alpha_bars[-1] < 1e-4
    assert D.cosine_schedule(100).alpha_bars[-1] < 1e-6


def test_cosine_schedule_matches_formula():
    T, s = 50, 0.008
    sched = D.cosine_schedule(T, s=s)
    f = np.cos((np.arange(T + 1) / T + s) / (1 + s) * np.pi / 2) ** 2
    # away from the clipped last step, alpha_bar_t = f(t) / f(0) exactly
    np.testing.assert_allclose(sched.alpha_bars[:-1], (f / f[0])[:-1], rtol=1e-12)
    assert sched.betas[-1] == pytest.approx(0.999)
    assert np.all(np.diff(sched.betas[1:]) >= 0)
    np.testing.assert_allclose(sched.alpha_bars[1:], np.cumprod(1 - sched.betas[1:]))


def test_schedule_arrays_are_read_only():
    s = D.linear_schedule(10)
    with pytest.raises(ValueError):
        s.alpha_bars[3] = 0.5


@pytest.mark.parametrize("kwargs, match", [
    (dict(T=0), r"T must be an integer in 1\.\.100000, got 0"), (dict(T=2.5), "T must be"),
    (dict(beta_start=0.0), r"beta_start must be a number in \(0, 1\), got 0.0"),
    (dict(beta_end=1.0), r"beta_end must be a number in \(0, 1\), got 1.0"),
    (dict(beta_start=0.1, beta_end=0.01), "beta_end .* must be >= beta_start"),
    (dict(beta_start=float("nan")), "beta_start"),
])
def test_linear_schedule_bad_inputs(kwargs, match):
    with pytest.raises(ValueError, match=match):
        D.linear_schedule(**kwargs)


def test_schedule_from_betas_bad_inputs():
    with pytest.raises(ValueError, match="non-decreasing"):
        D.schedule_from_betas([0.1, 0.05])
    with pytest.raises(ValueError, match=r"in \(0, 1\)"):
        D.schedule_from_betas([0.1, 1.5])
    with pytest.raises(ValueError, match=r"betas must have shape \(T,\)"):
        D.schedule_from_betas([[0.1]])
    with pytest.raises(ValueError, match="max_beta"):
        D.cosine_schedule(10, max_beta=1.0)


# --- q_sample, q_step, posterior -------------------------------------------------------------------
def test_q_sample_statistics_match_closed_form():
    s = D.linear_schedule()
    x0 = D.to_centered(prototype("fcc").frac_coords)  # (4, 3)
    rng = np.random.default_rng(0)
    B, t = 40_000, 60
    xt, eps = D.q_sample(s, np.broadcast_to(x0, (B, 4, 3)), np.full(B, t), rng=rng)
    se = np.sqrt((1 - s.alpha_bars[t]) / B)  # standard error of the mean
    np.testing.assert_allclose(xt.mean(0), s.sqrt_alpha_bars[t] * x0, atol=5 * se)
    np.testing.assert_allclose(xt.var(0), 1 - s.alpha_bars[t], rtol=0.05)
    np.testing.assert_allclose(xt, s.sqrt_alpha_bars[t] * x0 + s.sqrt_one_minus_alpha_bars[t] * eps)


def test_q_sample_per_structure_t_and_fixed_noise():
    s = D.cosine_schedule(20)
    x0 = np.random.default_rng(1).uniform(-0.5, 0.5, (3, 2, 3))
    noise = np.random.default_rng(2).standard_normal((3, 2, 3))
    t = np.array([0, 7, 20])
    xt, eps = s.q_sample(x0, t, noise=noise)
    assert eps is not None and np.array_equal(eps, noise)
    for b in range(3):  # each structure uses its own t
        single, _ = D.q_sample(s, x0[b], int(t[b]), noise=noise[b])
        np.testing.assert_allclose(xt[b], single)
    np.testing.assert_allclose(xt[0], x0[0])  # t = 0 is the data


def test_markov_chain_matches_closed_form():
    s = D.linear_schedule(30)
    rng = np.random.default_rng(3)
    x0 = np.array([[0.3, -0.2, 0.1]])
    x = np.broadcast_to(x0, (20_000, 1, 3)).copy()
    for t in range(1, s.T + 1):
        x = D.q_step(s, x, t, rng=rng)
    np.testing.assert_allclose(x.mean(0), s.sqrt_alpha_bars[-1] * x0, atol=0.02)
    np.testing.assert_allclose(x.var(0), 1 - s.alpha_bars[-1], rtol=0.05)


def test_posterior_matches_formula_and_bayes():
    s = D.linear_schedule(10, 0.01, 0.2)
    rng = np.random.default_rng(4)
    x0, xt = rng.standard_normal((5, 2, 3)), rng.standard_normal((5, 2, 3))
    t = np.array([1, 2, 5, 9, 10])
    mean, var = s.posterior(x0, xt, t)
    ab, ab_prev, beta = s.alpha_bars[t], s.alpha_bars[t - 1], s.betas[t]
    c1 = np.sqrt(ab_prev) * beta / (1 - ab)
    c2 = np.sqrt(1 - beta) * (1 - ab_prev) / (1 - ab)
    np.testing.assert_allclose(mean, c1[:, None, None] * x0 + c2[:, None, None] * xt)
    np.testing.assert_allclose(var[:, 0, 0], (1 - ab_prev) / (1 - ab) * beta)
    # Bayes (t >= 2): prior N(sqrt(ab_prev) x0, 1 - ab_prev) times likelihood N(x_t; sqrt(alpha) x, beta)
    ab_prev, beta = ab_prev[1:], beta[1:]
    prec = 1 / (1 - ab_prev) + (1 - beta) / beta
    np.testing.assert_allclose(var[1:, 0, 0], 1 / prec)
    bayes_mean = (np.sqrt(ab_prev)[:, None, None] * x0[1:] / (1 - ab_prev)[:, None, None]
                  + (np.sqrt(1 - beta) / beta)[:, None, None] * xt[1:]) / prec[:, None, None]
    np.testing.assert_allclose(mean[1:], bayes_mean)
    np.testing.assert_allclose(mean[0], x0[0])  # t = 1: x_0 is known exactly


def test_prior_kl():
    x0 = np.zeros((2, 3))
    assert D.prior_kl(D.linear_schedule(1000), x0) < 1e-3
    ab = D.linear_schedule().alpha_bars[-1]
    assert D.prior_kl(D.linear_schedule(), x0) == pytest.approx(6 * 0.5 * (-ab - np.log(1 - ab)))
    assert D.prior_kl(D.linear_schedule(), np.zeros((4, 2, 3))).shape == (4,)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (
            lambda s: s.q_sample(np.zeros((4, 3)), 101, rng=np.random.default_rng()),
            ValueError,
            r"t must hold integers in 0\.\.100, got 101",
        ),
        (
            lambda s: s.q_sample(np.zeros((4, 3)), -1, rng=np.random.default_rng()),
            ValueError,
            r"t must hold integers in 0\.\.100, got -1",
        ),
        (
            lambda s: s.q_sample(np.zeros((4, 3)), 2.5, rng=np.random.default_rng()),
            ValueError,
            r"t must hold .*whole numbers",
        ),
        (
            lambda s: s.q_sample(np.zeros((4, 3)), True, rng=np.random.default_rng()),
            TypeError,
            "t must be an array of real",
        ),
        (
            lambda s: s.q_sample(np.zeros((2, 4, 3)), np.array([1, 2, 3]), rng=np.random.default_rng()),
            ValueError,
            r"shape \(B,\) = \(2,\)",
        ),
        (lambda s: s.q_sample(np.zeros((4, 3)), np.array([1, 2]), rng=np.random.default_rng()), ValueError, "scalar"),
        (lambda s: s.q_sample(np.zeros((4, 2)), 1, rng=np.random.default_rng()), ValueError, r"\(N, 3\)"),
        (lambda s: s.q_sample(np.full((4, 3), np.nan), 1, rng=np.random.default_rng()), ValueError, "x0 contains NaN"),
        (lambda s: s.q_sample(np.zeros((4, 3)), 1), TypeError, r"rng \(or pass noise\) must be a np.random.Generator"),
        (
            lambda s: s.q_sample(np.zeros((4, 3)), 1, noise=np.zeros((3, 3))),
            ValueError,
            r"noise must have shape \(4, 3\), got \(3, 3\)",
        ),
        (lambda s: s.q_sample(np.zeros((4, 3)), 1, noise=np.full((4, 3), np.inf)), ValueError, "noise contains"),
        (
            lambda s: s.posterior(np.zeros((4, 3)), np.zeros((4, 3)), 0),
            ValueError,
            r"t must hold integers in 1\.\.100, got 0",
        ),
        (lambda s: s.posterior(np.zeros((4, 3)), np.zeros((5, 3)), 1), ValueError, "xt must have the shape"),
        (
            lambda s: D.q_step(s, np.zeros((4, 3)), 0, rng=np.random.default_rng()),
            ValueError,
            r"t must hold integers in 1\.\.100, got 0",
        ),
    ],
)
def test_bad_inputs_raise_clear_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call(D.linear_schedule())


# --- the torus -------------------------------------------------------------------------------------
def test_centering_round_trip():
    frac = np.random.default_rng(5).uniform(0, 1, (6, 3))
    x = D.to_centered(frac)
    assert x.min() >= -0.5 and x.max() < 0.5
    np.testing.assert_allclose(D.from_centered(x), frac, atol=1e-15)
    np.testing.assert_allclose(D.from_centered(x + 3.0), frac, atol=1e-12)  # wrapping forgets whole cells


def test_geometric_sigmas():
    sig = D.geometric_sigmas(5, 0.01, 1.0)
    np.testing.assert_allclose(sig, [0, 0.01, 10**-1.5, 0.1, 10**-0.5, 1.0])
    assert D.geometric_sigmas(1)[1] == 0.5
    with pytest.raises(ValueError, match=r"sigma_max must be >= sigma_min = 0.5, got 0.1"):
        D.geometric_sigmas(5, 0.5, 0.1)


def test_ve_sample():
    rng = np.random.default_rng(6)
    x0 = np.broadcast_to(prototype("bcc").frac_coords, (3, 2, 3))
    xt, d = D.ve_sample(x0, np.array([0.0, 0.1, 2.0]), rng)
    np.testing.assert_allclose(xt[0], x0[0])
    np.testing.assert_allclose(xt, D.from_centered(D.to_centered(x0) + d))
    assert xt.min() >= 0 and xt.max() < 1
    with pytest.raises(ValueError, match=r"sigma must hold numbers in \[0, 100\], got -0.1"):
        D.ve_sample(x0, -0.1, rng)
    with pytest.raises(ValueError, match="sigma must be a scalar or have shape"):
        D.ve_sample(x0, np.ones(4), rng)


@pytest.mark.parametrize("sigma", [0.005, 0.05, 0.2, 0.5, 1.0])
def test_wrapped_normal_density_integrates_to_one(sigma):
    # the density is periodic and smooth, so the trapezoid rule over one period is spectrally exact
    d = np.linspace(-0.5, 0.5, 20_001)
    assert np.trapezoid(D.wrapped_normal_pdf(d, sigma), d) == pytest.approx(1.0, abs=1e-10)


def test_wrapped_normal_limits():
    d = np.linspace(-0.3, 0.3, 7)
    # small sigma: the nearest image dominates, a plain Gaussian
    np.testing.assert_allclose(
        D.wrapped_normal_log_pdf(d, 0.01), -(d**2) / (2e-4) - np.log(0.01 * np.sqrt(2 * np.pi)), rtol=1e-12
    )
    np.testing.assert_allclose(D.wrapped_normal_score(d, 0.01), -d / 1e-4, rtol=1e-12)
    # large sigma: uniform on the circle; Jacobi theta: p = 1 + 2 sum_n exp(-2 pi^2 n^2 s^2) cos(2 pi n d)
    for s in (0.3, 0.6):
        n = np.arange(1, 20)[:, None]
        theta = 1 + 2 * (np.exp(-2 * np.pi**2 * n**2 * s**2) * np.cos(2 * np.pi * n * d)).sum(0)
        np.testing.assert_allclose(D.wrapped_normal_pdf(d, s), theta, rtol=1e-13)
    # tiny sigma far from the centre: log-sum-exp keeps the log density finite
    assert np.isfinite(D.wrapped_normal_log_pdf(0.5, 1e-3)) and D.wrapped_normal_pdf(0.5, 1e-3) == 0.0


@settings(max_examples=60, deadline=None)
@given(d=st.floats(-3, 3), sigma=st.floats(0.005, 1.2))
def test_score_matches_finite_differences(d, sigma):
    h = 1e-4 * sigma
    fd = (D.wrapped_normal_log_pdf(d + h, sigma) - D.wrapped_normal_log_pdf(d - h, sigma)) / (2 * h)
    score = D.wrapped_normal_score(d, sigma)
    assert abs(score - fd) <= 1e-6 * (abs(score) + 1 / sigma)


def test_score_is_periodic_and_odd():
    d = np.linspace(-0.45, 0.45, 11)
    np.testing.assert_allclose(D.wrapped_normal_score(d + 2, 0.3), D.wrapped_normal_score(d, 0.3), atol=1e-10)
    np.testing.assert_allclose(D.wrapped_normal_score(-d, 0.3), -D.wrapped_normal_score(d, 0.3), atol=1e-12)


def test_wrapped_normal_broadcasts_sigma():
    d = np.random.default_rng(7).uniform(-0.5, 0.5, (4, 2, 3))
    sigma = np.array([0.01, 0.1, 0.5, 1.0])[:, None, None]
    out = D.wrapped_normal_score(d, sigma)
    assert out.shape == (4, 2, 3)
    np.testing.assert_allclose(out[2], D.wrapped_normal_score(d[2], 0.5))


@pytest.mark.parametrize("sigma", [0.005, 0.1, 0.3, 0.5, 0.8, 1.0, 1.5])
def test_truncated_image_sum_converges(sigma):
    K = D.images_needed(sigma)
    d = np.linspace(-0.5, 0.5, 101)
    ref_log = D.wrapped_normal_log_pdf(d, sigma, n_images=K + 30)
    ref_score = D.wrapped_normal_score(d, sigma, n_images=K + 30)
    np.testing.assert_allclose(D.wrapped_normal_log_pdf(d, sigma, n_images=K), ref_log, rtol=0, atol=1e-15)
    np.testing.assert_allclose(D.wrapped_normal_score(d, sigma, n_images=K), ref_score, rtol=0, atol=1e-15 / sigma)
    if K > 1:  # and one image fewer is not enough to reach machine precision (the count is tight)
        fewer = D.wrapped_normal_pdf(d, sigma, n_images=K - 2)
        assert np.abs(fewer - np.exp(ref_log)).max() > 1e-16


def test_images_needed_grows_with_sigma():
    counts = [D.images_needed(s) for s in (0.01, 0.1, 0.5, 1.0, 2.0)]
    assert counts == sorted(counts) and counts[0] == 1 and 7 <= counts[3] <= 11
    with pytest.raises(ValueError, match="tol"):
        D.images_needed(0.1, tol=0)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: D.wrapped_normal_pdf(0.1, 0.0), r"sigma must hold numbers in \(0, 100\], got 0"),
        (lambda: D.wrapped_normal_score(0.1, np.nan), "sigma contains NaN or infinite values"),
        (lambda: D.wrapped_normal_score(np.nan, 0.1), "d contains NaN"),
        (lambda: D.wrapped_normal_log_pdf(0.1, 0.1, n_images=-1), "n_images must be"),
    ],
)
def test_wrapped_normal_bad_inputs(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- the scrubber's render function ----------------------------------------------------------------
@pytest.mark.parametrize("proto, schedule, noise", list(itertools.product(PROTOTYPES, SCHEDULES, NOISE_KINDS)))
@pytest.mark.parametrize("t", [0, 100])
def test_render_scrubber_extremes(t, proto, schedule, noise):
    fig3d, fig_hist = render_scrubber(t, proto, schedule, noise)
    n_atoms = prototype(proto).n_atoms
    atoms = [tr for tr in fig3d.data if tr.name == "Si"][0]
    assert len(atoms.x) >= n_atoms
    assert f"t = {t}/100" in fig_hist.layout.title.text
    assert fig_hist.layout.xaxis.title.text and fig_hist.layout.yaxis.title.text
    bars = fig_hist.data[0]
    assert np.sum(np.asarray(bars.y) * np.asarray(bars.width)) == pytest.approx(1.0, abs=0.02)


def test_scrubber_is_smooth_and_reaches_its_prior():
    _, a, _, _ = forward_noised(40, "fcc", "linear", "naive")
    _, b, _, _ = forward_noised(41, "fcc", "linear", "naive")
    assert np.abs(D.to_centered(a - b + 0.5)).max() < 0.05  # same noise draw: neighbours look alike
    _, _, values, info = forward_noised(100, "fcc", "cosine", "naive")
    assert abs(values.std() - 1) < 0.03 and info["alpha_bar"] < 1e-6
    _, _, values, info = forward_noised(100, "fcc", "linear", "naive")
    assert abs(values.std() - np.sqrt(1 - info["alpha_bar"] + info["alpha_bar"] * 0.0625)) < 0.03  # not 1
    _, _, values, _ = forward_noised(100, "diamond", "linear", "wrapped")
    hist, _ = np.histogram(values, bins=10, range=(0, 1), density=True)
    assert np.abs(hist - 1).max() < 0.1  # uniform on the torus


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(t=101), r"t must be an integer in 0..100"),
        (dict(t=-1), "t must be"),
        (dict(t=2.5), "t must be"),
        (dict(t=3, prototype="hcp"), "prototype must be one of"),
        (dict(t=3, schedule="sqrt"), "schedule must be"),
        (dict(t=3, noise="gauss"), "noise must be one of"),
    ],
)
def test_render_scrubber_bad_inputs(kwargs, match):
    with pytest.raises(ValueError, match=match):
        render_scrubber(**kwargs)


# --- notebook 02's folded exercise solutions pass their checkers -----------------------------------
NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "02_forward_diffusion.ipynb"


def _exercises():
    """(solution code, check-cell code) pairs, in order, read from the notebook itself."""
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    source = ["".join(c["source"]) for c in cells]
    checks = [
        s
        for c, s in zip(
            cells,
            (re.sub(r"^(# nbgrader hides .*|### (BEGIN|END) HIDDEN TESTS)\n?", "", s, flags=re.M) for s in source),
        )
        if c["cell_type"] == "code" and s.lstrip().startswith(("check(", "d_grid"))
    ]
    solutions = [
        re.search(r"```python\n(.*?)```", s, re.S).group(1)
        for c, s in zip(cells, source)
        if c["cell_type"] == "markdown" and "<details>" in s
    ]
    setup = next(s for c, s in zip(cells, source) if c["cell_type"] == "code" and "from crystal_tutorial" in s)
    return list(zip(solutions, checks)), setup


@pytest.mark.parametrize("index", range(4))
def test_notebook_solutions_pass_their_checkers(index):
    pairs, setup = _exercises()
    assert len(pairs) == 4
    solution, check_cell = pairs[index]
    namespace = {}
    exec(setup, namespace)
    verdicts = []
    real_check = namespace["check"]
    namespace["check"] = lambda *a, **k: verdicts.append(real_check(*a, **k))
    exec(solution, namespace)
    exec(check_cell, namespace)
    assert verdicts and verdicts[0].ok is True, verdicts
    namespace["answer"] = WRONG[index](namespace["answer"])  # a near miss is rejected
    exec(check_cell, namespace)
    assert verdicts[1].ok is False
    namespace["answer"] = None  # and an unattempted exercise is reported, not failed
    exec(check_cell, namespace)
    assert verdicts[2].ok is None


WRONG = [
    lambda a: a * 1.01,  # 02.1 accepts 3 significant figures (rtol 2e-3): 1% is a miss
    lambda a: a + 1,
    lambda a: a * 1.01,
    lambda a: lambda d, sigma: -D.to_centered(np.asarray(d) + 0.5) / sigma**2,
]  # Gaussian score
