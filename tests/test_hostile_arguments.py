"""Hostile arguments (issue 27): every public function that takes numbers, driven with strings, None,
booleans, NaN, +-inf, fractions and huge values, fails only with the package's own ValueError or
TypeError, and the message names the argument.

Each case is ``(name, argument, call)``: ``call(value)`` runs the function with ``value`` in place of
``argument`` and cheap, valid values everywhere else. A hostile value may also be a valid one (2.5 Å is
a fine cutoff); then the call must simply return. A string, a complex number, a bool where a number
belongs and NaN must never be accepted, and None only where the argument defaults to None.
``test_every_public_function_with_numbers_is_driven`` keeps the list complete: a new public function
with a numeric argument fails it until a case drives it (or it is listed with the reason it is not).
"""
from __future__ import annotations

import importlib
import inspect
import math
import pkgutil
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import crystal_tutorial
from crystal_tutorial import (
    benchmark,
    complexity,
    crystals,
    diffusion,
    metrics,
    models,
    neighbours,
    pairwise,
    pbc,
    physics,
    sampling,
)
from crystal_tutorial.crystals import prototype
from crystal_tutorial.joint import JointDenoiser
from crystal_tutorial.viz import benchmark as viz_benchmark
from crystal_tutorial.viz import complexity as viz_complexity
from crystal_tutorial.viz import diffusion as viz_diffusion
from crystal_tutorial.viz import figures, widgets
from crystal_tutorial.viz import nn as viz_nn
from crystal_tutorial.viz import pairwise as viz_pairwise
from crystal_tutorial.viz import physics as viz_physics
from crystal_tutorial.viz import sampling as viz_sampling

HOSTILE = ["4", "", None, True, False, math.nan, math.inf, -math.inf, 2.5, -2.5, Fraction(7, 3), 1e300, -1e300,
           10 ** 30, -10 ** 30, 2 ** 63, 1 + 2j, np.float64(np.nan), np.int64(-1)]
NEVER_VALID = (str, complex, bool, np.bool_)  # where a number belongs, these are always a mistake

FCC = prototype("fcc")
RNG = np.random.default_rng
SCHEDULE = diffusion.linear_schedule(10)
MLP = models.PerAtomMLP(T=10, hidden=4, rng=0)
PAIRWISE = pairwise.PairwiseDenoiser(n_freq=1, hidden=2, rng=0)
SCORES = {"rms": np.array([[0.1], [np.nan]]), "dmax": np.array([[0.2], [np.nan]]),
          "valid": np.array([[True], [False]]), "target_valid": np.array([True, True])}
TRAJECTORY = np.random.default_rng(0).random((3, 2, 2, 3))  # (steps + 1, S, N, 3) fractional


def _sweep():
    return complexity.scaling_sweep(lambda n: n, lambda n: None, [1, 2, 4], repeats=1, warmup=0)


SWEEP = _sweep()
FIT = complexity.fit_power_law([1, 2, 4], [1.0, 2.1, 3.9])


def _with(array, value):
    """``array`` (a nested list) with its first entry replaced by ``value``: a hostile value inside an array."""
    out = np.asarray(array, dtype=object).copy()
    out.flat[0] = value
    return out.tolist()


# (function, argument, call(value), the argument defaults to None)
CASES = [
    # crystals
    ("crystals.prototype", "a", lambda v: prototype("fcc", a=v), False),
    ("crystals.prototype", "number", lambda v: prototype("fcc", number=v), False),
    ("crystals.jitter", "sigma", lambda v: crystals.jitter(FCC, v, RNG(0)), False),
    ("crystals.jitter", "rng", lambda v: crystals.jitter(FCC, 0.01, v), False),
    ("crystals.demo_dataset", "seed", lambda v: crystals.demo_dataset(seed=v), False),
    ("crystals.Crystal.supercell", "reps", lambda v: FCC.supercell(v), False),
    ("crystals.Crystal.supercell", "reps[0]", lambda v: FCC.supercell((v, 1, 1)), False),
    ("crystals.Crystal", "lattice", lambda v: crystals.Crystal(_with(np.eye(3) * 4, v), [[0, 0, 0]], [14]), False),
    ("crystals.Crystal", "frac_coords", lambda v: crystals.Crystal(np.eye(3) * 4, _with([[0, 0, 0]], v), [14]), False),
    ("crystals.Crystal", "numbers", lambda v: crystals.Crystal(np.eye(3) * 4, [[0, 0, 0]], [v]), False),
    # pbc
    ("pbc.wrap", "frac", lambda v: pbc.wrap(_with([[0.1, 0.2, 0.3]], v)), False),
    ("pbc.minimum_image", "lattice", lambda v: pbc.minimum_image([[0.1, 0, 0]], _with(np.eye(3), v)), False),
    ("pbc.pairwise_distances", "frac_coords",
     lambda v: pbc.pairwise_distances(_with([[0, 0, 0], [0.5, 0.5, 0.5]], v), np.eye(3)), False),
    ("pbc.min_distance", "lattice", lambda v: pbc.min_distance([[0, 0, 0]], _with(np.eye(3), v)), False),
    # diffusion
    ("diffusion.linear_schedule", "T", lambda v: diffusion.linear_schedule(T=v), False),
    ("diffusion.linear_schedule", "beta_start", lambda v: diffusion.linear_schedule(10, beta_start=v), False),
    ("diffusion.linear_schedule", "beta_end", lambda v: diffusion.linear_schedule(10, beta_end=v), False),
    ("diffusion.cosine_schedule", "T", lambda v: diffusion.cosine_schedule(T=v), False),
    ("diffusion.cosine_schedule", "s", lambda v: diffusion.cosine_schedule(10, s=v), False),
    ("diffusion.cosine_schedule", "max_beta", lambda v: diffusion.cosine_schedule(10, max_beta=v), False),
    ("diffusion.schedule_from_betas", "betas", lambda v: diffusion.schedule_from_betas(_with([0.1, 0.2], v)), False),
    ("diffusion.geometric_sigmas", "T", lambda v: diffusion.geometric_sigmas(v), False),
    ("diffusion.geometric_sigmas", "sigma_min", lambda v: diffusion.geometric_sigmas(5, sigma_min=v), False),
    ("diffusion.geometric_sigmas", "sigma_max", lambda v: diffusion.geometric_sigmas(5, sigma_max=v), False),
    ("diffusion.ve_sigmas_from_schedule", "sigma_cap",
     lambda v: diffusion.ve_sigmas_from_schedule(SCHEDULE, sigma_cap=v), False),
    ("diffusion.images_needed", "sigma", lambda v: diffusion.images_needed(v), False),
    ("diffusion.images_needed", "tol", lambda v: diffusion.images_needed(0.1, tol=v), False),
    ("diffusion.wrapped_normal_pdf", "sigma", lambda v: diffusion.wrapped_normal_pdf(0.1, v), False),
    ("diffusion.wrapped_normal_score", "n_images", lambda v: diffusion.wrapped_normal_score(0.1, 0.1, v), True),
    ("diffusion.wrapped_normal_log_pdf", "d", lambda v: diffusion.wrapped_normal_log_pdf(v, 0.1), False),
    ("diffusion.q_sample", "t", lambda v: diffusion.q_sample(SCHEDULE, np.zeros((2, 3)), v, RNG(0)), False),
    ("diffusion.q_sample", "rng", lambda v: diffusion.q_sample(SCHEDULE, np.zeros((2, 3)), 1, v), True),
    ("diffusion.ve_sample", "sigma", lambda v: diffusion.ve_sample(np.zeros((2, 3)), v, RNG(0)), False),
    # models and sampling
    ("models.PerAtomMLP", "T", lambda v: models.PerAtomMLP(T=v, hidden=2), False),
    ("models.PerAtomMLP", "hidden", lambda v: models.PerAtomMLP(T=10, hidden=v), False),
    ("models.PerAtomMLP.forward", "t", lambda v: MLP.forward(np.zeros((1, 2, 3)), v), False),
    ("sampling.sample_ddpm", "n_atoms", lambda v: sampling.sample_ddpm(MLP, SCHEDULE, v, np.eye(3) * 5, 2, RNG(0)),
     False),
    ("sampling.sample_ddpm", "n_samples",
     lambda v: sampling.sample_ddpm(MLP, SCHEDULE, 2, np.eye(3) * 5, v, RNG(0)), False),
    ("sampling.sample_ddpm", "number",
     lambda v: sampling.sample_ddpm(MLP, SCHEDULE, 2, np.eye(3) * 5, 2, RNG(0), number=v), False),
    ("sampling.sample_ddpm", "rng", lambda v: sampling.sample_ddpm(MLP, SCHEDULE, 2, np.eye(3) * 5, 2, v), False),
    ("sampling.sample_ddpm", "lattice",
     lambda v: sampling.sample_ddpm(MLP, SCHEDULE, 2, _with(np.eye(3) * 5, v), 2, RNG(0)), False),
    ("sampling.sample_ddim", "steps",
     lambda v: sampling.sample_ddim(MLP, SCHEDULE, 2, np.eye(3) * 5, 2, RNG(0), steps=v), False),
    ("sampling.sample_ddim", "eta",
     lambda v: sampling.sample_ddim(MLP, SCHEDULE, 2, np.eye(3) * 5, 2, RNG(0), eta=v), False),
    ("sampling.ddim_timesteps", "T", lambda v: sampling.ddim_timesteps(v, 2), False),
    ("sampling.ddim_timesteps", "steps", lambda v: sampling.ddim_timesteps(10, v), False),
    ("sampling.to_crystals", "number", lambda v: sampling.to_crystals(np.zeros((1, 2, 3)), np.eye(3) * 5, v), False),
    ("sampling.check_model_T", "schedule.T", lambda v: sampling.check_model_T(MLP, v), False),
    # physics and metrics
    ("physics.symmetry_dataset", "symprec", lambda v: physics.symmetry_dataset(FCC, v), False),
    ("physics.space_group", "symprec", lambda v: physics.space_group(FCC, v), False),
    ("physics.prototype_match", "symprec", lambda v: physics.prototype_match(FCC, v), False),
    ("physics.PhysicsValidator", "min_distance", lambda v: physics.PhysicsValidator(min_distance=v), False),
    ("physics.PhysicsValidator", "density_range", lambda v: physics.PhysicsValidator(density_range=(0.5, v)),
     False),
    ("physics.PhysicsValidator.correct_structure", "max_iterations",
     lambda v: physics.PhysicsValidator().correct_structure(FCC, max_iterations=v), False),
    ("physics.PhysicsValidator.correct_structure", "step",
     lambda v: physics.PhysicsValidator().correct_structure(FCC, step=v), False),
    ("physics.PhysicsValidator.correct_structure", "margin",
     lambda v: physics.PhysicsValidator().correct_structure(FCC, margin=v), False),
    ("metrics.structure_distance", "lattice_tol", lambda v: metrics.structure_distance(FCC, FCC, v), False),
    ("metrics.structure_matcher", "ltol", lambda v: metrics.structure_matcher(ltol=v), False),
    ("metrics.structure_matcher", "stol", lambda v: metrics.structure_matcher(stol=v), False),
    ("metrics.structure_matcher", "angle_tol", lambda v: metrics.structure_matcher(angle_tol=v), False),
    ("metrics.evaluate_samples", "symprec", lambda v: metrics.evaluate_samples([FCC], symprec=v), False),
    # complexity and neighbours
    ("complexity.time_call", "repeats", lambda v: complexity.time_call(lambda: None, repeats=v), False),
    ("complexity.time_call", "warmup", lambda v: complexity.time_call(lambda: None, warmup=v), False),
    ("complexity.time_call", "number", lambda v: complexity.time_call(lambda: None, number=v), False),
    ("complexity.scaling_sweep", "repeats",
     lambda v: complexity.scaling_sweep(lambda n: n, lambda n: None, [1, 2], repeats=v), False),
    ("complexity.scaling_sweep", "sizes",
     lambda v: complexity.scaling_sweep(lambda n: n, lambda n: None, [1, v]), False),
    ("complexity.fit_power_law", "confidence",
     lambda v: complexity.fit_power_law([1, 2, 4], [1, 2, 4], confidence=v), False),
    ("complexity.fit_power_law", "times", lambda v: complexity.fit_power_law([1, 2, 4], [1, 2, v]), False),
    ("complexity.brute_force_min_distance", "max_bytes",
     lambda v: complexity.brute_force_min_distance(FCC, max_bytes=v), False),
    ("neighbours.neighbour_pairs", "cutoff", lambda v: neighbours.neighbour_pairs(FCC, v), False),
    # pairwise and joint models
    ("pairwise.PairwiseDenoiser", "n_freq", lambda v: pairwise.PairwiseDenoiser(n_freq=v, hidden=2), False),
    ("pairwise.PairwiseDenoiser", "hidden", lambda v: pairwise.PairwiseDenoiser(n_freq=1, hidden=v), False),
    ("pairwise.PairwiseDenoiser", "sigma_min", lambda v: pairwise.PairwiseDenoiser(1, 2, sigma_min=v), False),
    ("pairwise.PairwiseDenoiser", "sigma_max", lambda v: pairwise.PairwiseDenoiser(1, 2, sigma_max=v), False),
    ("pairwise.PairwiseDenoiser.forward", "sigma", lambda v: PAIRWISE.forward(np.zeros((1, 2, 3)), v), False),
    ("pairwise.fourier_features", "n_freq", lambda v: pairwise.fourier_features(np.zeros((2, 3)), v), False),
    ("pairwise.noise_features", "sigma_min", lambda v: pairwise.noise_features([0.1], v, 0.5), False),
    ("pairwise.noise_features", "n_freq", lambda v: pairwise.noise_features([0.1], 0.005, 0.5, v), False),
    ("joint.JointDenoiser", "cond_dim", lambda v: JointDenoiser([14], v, [0] * 6, [1] * 6, 1, 2, 2, 2), False),
    ("joint.JointDenoiser", "n_rbf", lambda v: JointDenoiser([14], 1, [0] * 6, [1] * 6, 1, v, 2, 2), False),
    ("joint.JointDenoiser", "vocab", lambda v: JointDenoiser([v], 1, [0] * 6, [1] * 6, 1, 2, 2, 2), False),
    ("joint.JointDenoiser", "lat_scale", lambda v: JointDenoiser([14], 1, [0] * 6, [v] * 6, 1, 2, 2, 2), False),
    # benchmark
    ("benchmark.structure_valid", "cutoff", lambda v: benchmark.structure_valid(FCC, v), False),
    ("benchmark.score", "processes", lambda v: benchmark.score([FCC], [FCC], processes=v), False),
    ("benchmark.summarize", "k", lambda v: benchmark.summarize(SCORES, k=v), True),
    ("benchmark.summarize", "stol", lambda v: benchmark.summarize(SCORES, stol=v), True),
    ("benchmark.predict", "k",
     lambda v: benchmark.predict("random coordinates, true cell", "perov_5", [FCC], v, 0), False),
    ("benchmark.predict", "seed",
     lambda v: benchmark.predict("random coordinates, true cell", "perov_5", [FCC], 1, v), False),
    ("benchmark.run_table", "n_test", lambda v: benchmark.run_table("perov_5", v), False),
    ("benchmark.run_table", "seed", lambda v: benchmark.run_table("perov_5", 1, seed=v, methods=[]), False),
    ("benchmark.random_coordinates", "rng", lambda v: benchmark.random_coordinates([FCC], v), False),
    # the notebooks' panels
    ("viz.figures.element_color", "number", lambda v: figures.element_color(v), False),
    ("viz.figures.element_size", "number", lambda v: figures.element_size(v), False),
    ("viz.figures.element_size", "scale", lambda v: figures.element_size(14, v), False),
    ("viz.figures.plot_crystal", "height", lambda v: figures.plot_crystal(FCC, height=v), False),
    ("viz.figures.plot_crystal", "supercell[0]", lambda v: figures.plot_crystal(FCC, supercell=(v, 1, 1)), False),
    ("viz.figures.render_prototype_explorer", "a", lambda v: figures.render_prototype_explorer(a=v), False),
    ("viz.figures.render_prototype_explorer", "perturbation",
     lambda v: figures.render_prototype_explorer(perturbation=v), False),
    ("viz.figures.render_prototype_explorer", "supercell",
     lambda v: figures.render_prototype_explorer(supercell=v), False),
    ("viz.figures.render_prototype_explorer", "number", lambda v: figures.render_prototype_explorer(number=v), False),
    ("viz.figures.render_prototype_explorer", "seed",
     lambda v: figures.render_prototype_explorer(perturbation=0.01, seed=v), False),
    ("viz.diffusion.forward_noised", "t", lambda v: viz_diffusion.forward_noised(v), False),
    ("viz.diffusion.forward_noised", "T", lambda v: viz_diffusion.forward_noised(1, T=v), False),
    ("viz.diffusion.forward_noised", "seed", lambda v: viz_diffusion.forward_noised(1, seed=v), False),
    ("viz.nn.divergence_step", "factor", lambda v: viz_nn.divergence_step([1.0, 2.0], factor=v), False),
    ("viz.nn.fit_toy_regression", "lr", lambda v: viz_nn.fit_toy_regression(lr=v, steps=2, n_data=32), False),
    ("viz.nn.fit_toy_regression", "batch_size",
     lambda v: viz_nn.fit_toy_regression(batch_size=v, steps=2, n_data=32), False),
    ("viz.nn.fit_toy_regression", "seed", lambda v: viz_nn.fit_toy_regression(seed=v, steps=2, n_data=32), False),
    ("viz.nn.render_optimizer_race", "beta2", lambda v: viz_nn.render_optimizer_race(beta2=v, steps=10), False),
    ("viz.sampling.running_mean", "window", lambda v: viz_sampling.running_mean([1.0, 2.0, 3.0], v), False),
    ("viz.sampling.render_ddim", "steps", lambda v: viz_sampling.render_ddim(MLP, SCHEDULE, v, n_samples=2), False),
    ("viz.sampling.render_ddim", "n_atoms",
     lambda v: viz_sampling.render_ddim(MLP, SCHEDULE, 2, n_samples=2, n_atoms=v), False),
    ("viz.sampling.render_ddim", "seed", lambda v: viz_sampling.render_ddim(MLP, SCHEDULE, 2, n_samples=2, seed=v),
     False),
    ("viz.sampling.render_ddim", "lattice",
     lambda v: viz_sampling.render_ddim(MLP, SCHEDULE, 2, n_samples=2, lattice=_with(np.eye(3) * 5, v)), True),
    ("viz.sampling.render_reverse_step", "step",
     lambda v: viz_sampling.render_reverse_step(TRAJECTORY[:, 0] - 0.5, v, np.eye(3) * 5), False),
    ("viz.physics.displace", "distance", lambda v: viz_physics.displace(FCC, v, RNG(0)), False),
    ("viz.physics.violating_pairs", "min_distance", lambda v: viz_physics.violating_pairs(FCC, v), False),
    ("viz.physics.render_correction", "max_iterations", lambda v: viz_physics.render_correction(FCC, v), False),
    ("viz.physics.render_symprec", "symprec", lambda v: viz_physics.render_symprec(symprec=v), False),
    ("viz.physics.render_symprec", "seed", lambda v: viz_physics.render_symprec(seed=v), False),
    ("viz.physics.plot_bond_lengths", "z_max", lambda v: viz_physics.plot_bond_lengths(z_max=v), False),
    ("viz.physics.plot_bond_lengths", "min_distance", lambda v: viz_physics.plot_bond_lengths(min_distance=v), False),
    ("viz.physics.plot_histograms", "threshold",
     lambda v: viz_physics.plot_histograms({"a": [1.0, 2.0]}, "x", threshold=v), True),
    ("viz.physics.plot_histograms", "bins", lambda v: viz_physics.plot_histograms({"a": [1.0, 2.0]}, "x", bins=v),
     False),
    ("viz.complexity.interleaved_sweep", "rounds",
     lambda v: viz_complexity.interleaved_sweep(lambda n: n, lambda n: None, [1, 2], rounds=v), False),
    ("viz.complexity.fit_sweep", "confidence", lambda v: viz_complexity.fit_sweep(SWEEP, confidence=v), False),
    ("viz.complexity.window", "low", lambda v: viz_complexity.window(SWEEP, v, 4), False),
    ("viz.complexity.random_gas", "n_atoms", lambda v: viz_complexity.random_gas(v), False),
    ("viz.complexity.random_gas", "volume_per_atom", lambda v: viz_complexity.random_gas(4, volume_per_atom=v),
     False),
    ("viz.complexity.jittered_supercell", "sigma", lambda v: viz_complexity.jittered_supercell(1, sigma=v), False),
    ("viz.complexity.jittered_supercell", "a", lambda v: viz_complexity.jittered_supercell(1, a=v), False),
    ("viz.complexity.time_min_distance", "repeats", lambda v: viz_complexity.time_min_distance(4, repeats=v), False),
    ("viz.complexity.render_min_distance_timing", "n_atoms",
     lambda v: viz_complexity.render_min_distance_timing(v), False),
    ("viz.pairwise.quality", "symprec", lambda v: viz_pairwise.quality([FCC], symprec=v), False),
    ("viz.pairwise.uniform_samples", "n_atoms", lambda v: viz_pairwise.uniform_samples(v, 2, RNG(0)), False),
    ("viz.pairwise.uniform_samples", "a", lambda v: viz_pairwise.uniform_samples(2, 2, RNG(0), a=v), False),
    ("viz.pairwise.render_marginals", "bins",
     lambda v: viz_pairwise.render_marginals({"a": TRAJECTORY[0]}, bins=v), False),
    ("viz.pairwise.render_marginals", "lattice_a",
     lambda v: viz_pairwise.render_marginals({"a": TRAJECTORY[0]}, lattice_a=v), False),
    ("viz.pairwise.render_reverse_process", "index",
     lambda v: viz_pairwise.render_reverse_process(TRAJECTORY, 1, index=v), False),
    ("viz.pairwise.sample_set", "temperature",
     lambda v: viz_pairwise.sample_set(PAIRWISE, 2, temperature=v, corrector_steps=0, n_samples=1, n_steps=10),
     False),
    ("viz.pairwise.sample_set", "seed",
     lambda v: viz_pairwise.sample_set(PAIRWISE, 2, corrector_steps=0, n_samples=1, n_steps=10, seed=v), False),
    ("viz.benchmark.render_table", "k", lambda v: viz_benchmark.render_table({"m": SCORES}, k=v), False),
    ("viz.benchmark.render_table", "stol", lambda v: viz_benchmark.render_table({"m": SCORES}, stol=v), False),
    ("viz.widgets.live_loss_plot", "every", lambda v: widgets.live_loss_plot(every=v), False),
    ("viz.widgets.play_slider", "max_value", lambda v: widgets.play_slider(v), False),
]

# Public functions with numeric arguments that this test does not drive, and why.
NOT_DRIVEN = {
    # results, not inputs: dataclasses the package fills in itself
    "complexity.PowerLawFit", "physics.CorrectionResult", "metrics.SampleReport", "training.History",
    "diffusion.Schedule",
    # the argument checks themselves (test_checks.py drives them)
    "checks.check_int", "checks.check_number", "checks.check_positive", "checks.check_array",
    "checks.check_crystal_list", "checks.check_timesteps", "checks.group_indices",
}


def _call_and_judge(name, arg, call, none_ok, value):
    try:
        call(value)
    except (TypeError, ValueError) as exc:
        module = type(exc).__module__
        assert module == "builtins" or module.startswith("crystal_tutorial"), f"{name}: {exc!r}"
        short = arg.split("[")[0].split(".")[-1]
        assert short in str(exc), f"{name}({arg}={value!r}) raised {type(exc).__name__} without naming {arg}: {exc}"
        return
    accepted_wrongly = (isinstance(value, NEVER_VALID) or (value is None and not none_ok)
                        or (isinstance(value, float) and math.isnan(value)))
    assert not accepted_wrongly, f"{name} accepted {arg}={value!r}"


@pytest.mark.parametrize("name, arg, call, none_ok", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
@settings(max_examples=len(HOSTILE), deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(value=st.sampled_from(HOSTILE))
def test_hostile_values_give_the_packages_own_clear_errors(name, arg, call, none_ok, value):
    _call_and_judge(name, arg, call, none_ok, value)


def _public_functions_with_numbers():
    """'module.function' (and 'module.Class') of every public callable with an int/float default or annotation."""
    found = set()
    for info in pkgutil.walk_packages(crystal_tutorial.__path__, "crystal_tutorial."):
        if info.name.endswith("__main__") or "site_template" in info.name:
            continue
        module = importlib.import_module(info.name)
        for fname, fn in vars(module).items():
            if fname.startswith("_") or not callable(fn) or getattr(fn, "__module__", None) != info.name:
                continue
            try:
                params = inspect.signature(fn).parameters.values()
            except (TypeError, ValueError):
                continue
            if any((isinstance(p.default, (int, float)) and not isinstance(p.default, bool))
                   or p.annotation in ("int", "float", "int | None", "float | None") for p in params):
                found.add(f"{info.name[len('crystal_tutorial.'):]}.{fname}")
    return found


def test_every_public_function_with_numbers_is_driven():
    driven = {c[0] for c in CASES} | {c[0].rsplit(".", 1)[0] for c in CASES}  # a method's case drives its class
    missing = sorted(_public_functions_with_numbers() - driven - set(NOT_DRIVEN))
    assert not missing, f"public functions with numeric arguments that no hostile case drives: {missing}"
