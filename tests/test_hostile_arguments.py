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

import functools
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
    nn,
    optim,
    pairwise,
    parallel,
    pbc,
    physics,
    sampling,
    training,
)
from crystal_tutorial.cif import load_cif_folder, read_cif, write_cif
from crystal_tutorial.cli import runs
from crystal_tutorial.course import exercises, site
from crystal_tutorial.crystals import prototype
from crystal_tutorial.csp import CSPConfig, coordinate_loss, sample_csp
from crystal_tutorial.joint import JointDenoiser
from crystal_tutorial.joint_diffusion import (
    JointConfig,
    condition_vector,
    noise_schedules,
    training_condition,
    training_set,
)
from crystal_tutorial.joint_sampling import ddpm_step_from_x0, guided_outputs, predicted_z0, sample_joint
from crystal_tutorial.physics import prototype_key, species_match
from crystal_tutorial.torus import TorusConfig, pc_sample, pc_step, sample_torus
from crystal_tutorial.viz import benchmark as viz_benchmark
from crystal_tutorial.viz import complexity as viz_complexity
from crystal_tutorial.viz import diffusion as viz_diffusion
from crystal_tutorial.viz import figures, widgets
from crystal_tutorial.viz import joint as viz_joint
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
# untrained, with a narrow lattice normalisation (cubic ~4 Å cells) so that any sample is a physical cell
LAT_SHIFT, LAT_SCALE = [np.sqrt(3) * np.log(4.0)] + [0.0] * 5, [0.05] * 6
JOINT = JointDenoiser([11, 17], 5, LAT_SHIFT, LAT_SCALE, n_freq=1, n_rbf=2, embed=2, hidden=2, rng=0)  # cond: 2 + 3
CSP = JointDenoiser([14], 1, LAT_SHIFT, LAT_SCALE, n_freq=1, n_rbf=2, embed=2, hidden=2, rng=0)
SCORES = {"rms": np.array([[0.1], [np.nan]]), "dmax": np.array([[0.2], [np.nan]]),
          "valid": np.array([[True], [False]]), "target_valid": np.array([True, True])}
TRAJECTORY = np.random.default_rng(0).random((3, 2, 2, 3))  # (steps + 1, S, N, 3) fractional


def _sweep():
    return complexity.scaling_sweep(lambda n: n, lambda n: None, [1, 2, 4], repeats=1, warmup=0)


SWEEP = _sweep()
FIT = complexity.fit_power_law([1, 2, 4], [1.0, 2.1, 3.9])


def _cif_file():
    import tempfile
    from pathlib import Path
    folder = Path(tempfile.mkdtemp(prefix="hostile_cif_"))
    return write_cif(prototype("sc"), folder / "sc.cif")


CIF_FILE = _cif_file()


def _axes():
    from matplotlib.figure import Figure
    return Figure().subplots()


@functools.lru_cache(maxsize=1)
def _sample_state():
    return viz_pairwise.sample_set(PAIRWISE, 2, corrector_steps=0, n_samples=2, n_steps=10)


@functools.lru_cache(maxsize=1)
def _train_state():
    return viz_pairwise.train_run(1, 8, 20, warm_start=False)


@functools.lru_cache(maxsize=1)
def _history():
    config = training.TrainConfig(epochs=2, timesteps=10, hidden=4, progress=False)
    return training.train(training.build_model(config), crystals.demo_dataset(), config)


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
    # training configs and loops' numbers (the engine)
    ("training.TrainConfig", "lr", lambda v: training.TrainConfig(lr=v), False),
    ("training.TrainConfig", "batch_size", lambda v: training.TrainConfig(batch_size=v), False),
    ("training.TrainConfig", "seed", lambda v: training.TrainConfig(seed=v), False),
    ("training.TrainConfig", "grad_clip", lambda v: training.TrainConfig(grad_clip=v), True),
    ("training.TrainConfig", "beta_end", lambda v: training.TrainConfig(beta_end=v), False),
    ("training.DivergenceCheck", "factor", lambda v: training.DivergenceCheck(1e-3, factor=v), False),
    ("torus.TorusConfig", "sigma_max", lambda v: TorusConfig(sigma_max=v), False),
    ("torus.TorusConfig", "max_seconds", lambda v: TorusConfig(max_seconds=v), False),
    ("torus.TorusConfig", "progress", lambda v: TorusConfig(progress=v if not isinstance(v, bool) else "yes"),
     False),
    ("joint_diffusion.JointConfig", "p_drop", lambda v: JointConfig(p_drop=v), False),
    ("joint_diffusion.JointConfig", "T", lambda v: JointConfig(T=v), False),
    ("csp.CSPConfig", "p_true_lattice", lambda v: CSPConfig(p_true_lattice=v), False),
    ("csp.CSPConfig", "seed", lambda v: CSPConfig(seed=v), False),
    ("torus.sample_torus", "n_atoms", lambda v: sample_torus(PAIRWISE, v, 1, RNG(0), n_steps=2, corrector_steps=0),
     False),
    ("torus.sample_torus", "temperature",
     lambda v: sample_torus(PAIRWISE, 2, 1, RNG(0), n_steps=2, corrector_steps=0, temperature=v), False),
    ("torus.sample_torus", "n_samples", lambda v: sample_torus(PAIRWISE, 2, v, RNG(0), n_steps=2), False),
    ("torus.sample_torus", "lattice",
     lambda v: sample_torus(PAIRWISE, 2, 1, RNG(0), n_steps=2, lattice=_with(np.eye(3) * 5, v)), True),
    ("joint_sampling.sample_joint", "n_samples",
     lambda v: sample_joint(JOINT, 2, v, RNG(0), corrector_steps=0, T=2), False),
    ("joint_sampling.sample_joint", "guidance",
     lambda v: sample_joint(JOINT, 2, 1, RNG(0), guidance=v, corrector_steps=0, T=2), False),
    ("joint_sampling.sample_joint", "T", lambda v: sample_joint(JOINT, 2, 1, RNG(0), corrector_steps=0, T=v), True),
    ("joint_diffusion.condition_vector", "density", lambda v: condition_vector(JOINT, density=v), True),
    ("joint_diffusion.condition_vector", "n", lambda v: condition_vector(JOINT, n=v), False),
    ("joint_sampling.guided_outputs", "guidance",
     lambda v: guided_outputs(JOINT, np.zeros((1, 2, 3)), np.zeros((1, 6)), np.zeros((1, 2, 2)), np.full(1, 0.1),
                              np.zeros((1, 5)), guidance=v), False),
    ("physics.prototype_key", "symprec", lambda v: prototype_key(FCC, v), False),
    ("physics.species_match", "symprec", lambda v: species_match([FCC], [FCC], v), False),
    ("joint_diffusion.training_set", "max_density", lambda v: training_set(max_density=v), False),
    ("csp.sample_csp", "T", lambda v: sample_csp(CSP, [FCC], RNG(0), "true", T=v, corrector_steps=0), False),
    ("csp.sample_csp", "temperature",
     lambda v: sample_csp(CSP, [FCC], RNG(0), "true", T=2, corrector_steps=0, temperature=v), False),
    ("csp.sample_csp", "chunk",
     lambda v: sample_csp(CSP, [FCC], RNG(0), "true", T=2, corrector_steps=0, chunk=v), False),
    ("csp.coordinate_loss", "T", lambda v: coordinate_loss(CSP, [FCC], T=v), False),
    ("csp.coordinate_loss", "seed", lambda v: coordinate_loss(CSP, [FCC], seed=v), False),
    # layers and optimisers
    ("nn.Linear", "d_in", lambda v: nn.Linear(v, 2), False),
    ("nn.Linear", "d_out", lambda v: nn.Linear(2, v), False),
    ("nn.scalar_time_embedding", "T", lambda v: nn.scalar_time_embedding(np.array([1]), v), False),
    ("nn.sinusoidal_embedding", "dim", lambda v: nn.sinusoidal_embedding(np.array([1]), v), False),
    ("nn.sinusoidal_embedding", "max_period", lambda v: nn.sinusoidal_embedding(np.array([1]), 4, v), False),
    ("nn.blas_threads", "n", lambda v: nn.blas_threads(v).__enter__(), False),
    ("nn.gradient_check", "eps", lambda v: nn.gradient_check(lambda: (0.0, {"w": np.zeros(2)}),
                                                            {"w": np.zeros(2)}, eps=v), False),
    ("nn.layer_gradient_check", "eps", lambda v: nn.layer_gradient_check(nn.Linear(2, 2, rng=0), np.ones((1, 2)),
                                                                        eps=v), False),
    ("optim.Adam", "lr", lambda v: optim.Adam({"w": np.zeros(2)}, lr=v), False),
    ("optim.Adam", "eps", lambda v: optim.Adam({"w": np.zeros(2)}, eps=v), False),
    ("optim.SGD", "momentum", lambda v: optim.SGD({"w": np.zeros(2)}, 0.1, momentum=v), False),
    ("optim.clip_grad_norm", "max_norm", lambda v: optim.clip_grad_norm({"w": np.ones(2)}, v), False),
    ("pairwise.PairLinear", "d_out", lambda v: pairwise.PairLinear(2, 2, v), False),
    ("pairwise.pair_features", "n_freq", lambda v: pairwise.pair_features(np.zeros((1, 2, 3)), [0.1], v, 0.005, 0.5),
     False),
    # files and the course
    ("cif.read_cif", "index", lambda v: read_cif(CIF_FILE, index=v), True),
    ("cif.load_cif_folder", "max_atoms", lambda v: load_cif_folder(CIF_FILE.parent, max_atoms=v), True),
    ("course.exercises.check", "rtol", lambda v: exercises.check("x", 1.0, 1.0, rtol=v), False),
    ("course.exercises.check", "atol", lambda v: exercises.check("x", 1.0, 1.0, atol=v), False),
    ("cli.runs.sample_batch_size", "n_atoms", lambda v: runs.sample_batch_size("pairwise", v), False),
    ("cli.runs.memory_estimate", "n_samples", lambda v: runs.memory_estimate("mlp", 4, v), False),
    ("cli.runs.check_memory", "n_atoms", lambda v: runs.check_memory("joint", v, 2), False),
    ("cli.runs.sample_in_batches", "batch", lambda v: runs.sample_in_batches(lambda k: [FCC] * k, 3, v), False),
    ("course.exercises.measured_again", "rtol", lambda v: exercises.measured_again(len, len, rtol=v), False),
    ("course.site.execute_notebook", "timeout", lambda v: site.execute_notebook("missing.ipynb", timeout=v), False),
    ("course.site.build_site", "timeout", lambda v: site.build_site("site_out", "missing_dir", timeout=v), False),
    ("joint_diffusion.noise_schedules", "T", lambda v: noise_schedules(JOINT, v), False),
    ("joint_sampling.predicted_z0", "t", lambda v: predicted_z0(np.zeros((1, 6)), np.zeros((1, 6)), SCHEDULE, v),
     False),
    ("joint_sampling.ddpm_step_from_x0", "t",
     lambda v: ddpm_step_from_x0(np.zeros((1, 6)), np.zeros((1, 6)), SCHEDULE, v, RNG(0)), False),
    ("joint_diffusion.training_condition", "p_drop",
     lambda v: training_condition(JOINT, [4.0], np.zeros((1, 2, 2)), v, RNG(0)), False),
    ("parallel.map_in_processes", "processes", lambda v: parallel.map_in_processes(abs, [], v), False),
    ("torus.pc_step", "temperature",
     lambda v: pc_step(np.zeros((1, 2, 3)), 0.1, 0.05, lambda x: (np.zeros_like(x), None), RNG(0), temperature=v),
     False),
    ("torus.pc_sample", "corrector_steps",
     lambda v: pc_sample(np.zeros((1, 2, 3)), np.array([0.0, 0.1]), lambda x, i: (np.zeros_like(x), None), RNG(0),
                         corrector_steps=v), False),
    ("training.epoch_batches", "batch_size", lambda v: next(training.epoch_batches(4, v, RNG(0))), False),
    ("training.fit", "max_steps",
     lambda v: training.fit(None, MLP, training.TrainConfig(progress=False), rng=RNG(0), max_steps=v), True),
    ("viz.complexity.plot_sweep", "claimed", lambda v: viz_complexity.plot_sweep(_axes(), SWEEP, claimed=v), True),
    ("viz.diffusion.render_scrubber", "t", lambda v: viz_diffusion.render_scrubber(t=v), False),
    ("viz.figures.plot_crystal_mpl", "marker_scale", lambda v: figures.plot_crystal_mpl(FCC, marker_scale=v), False),
    ("viz.joint.trained_density_range", "strain", lambda v: viz_joint.trained_density_range(strain=v), False),
    ("viz.joint.guided_samples", "guidance",
     lambda v: viz_joint.guided_samples(JOINT, v, n_atoms=2, n_samples=1, corrector_steps=0), False),
    ("viz.joint.render_guidance", "n_atoms",
     lambda v: viz_joint.render_guidance(JOINT, n_atoms=v, n_samples=1, corrector_steps=0), False),
    ("viz.joint.render_guided", "guidance", lambda v: viz_joint.render_guided([FCC], v), False),
    ("viz.joint.density_samples", "density",
     lambda v: viz_joint.density_samples(JOINT, v, n_atoms=2, n_samples=1, corrector_steps=0), False),
    ("viz.joint.sample_densities", "n_samples",
     lambda v: viz_joint.sample_densities(JOINT, 4.0, n_atoms=2, n_samples=v, corrector_steps=0), False),
    ("viz.joint.render_density", "seed",
     lambda v: viz_joint.render_density(JOINT, n_atoms=2, n_samples=2, seed=v, corrector_steps=0), False),
    ("viz.pairwise.render_sample_set", "index", lambda v: viz_pairwise.render_sample_set(_sample_state(), v), False),
    ("viz.pairwise.render_samples", "index",
     lambda v: viz_pairwise.render_samples(PAIRWISE, 2, n_samples=1, index=v, corrector_steps=0, n_steps=10), False),
    ("viz.pairwise.train_run", "train_steps", lambda v: viz_pairwise.train_run(1, 8, v, warm_start=False), False),
    ("viz.pairwise.render_training_run", "hidden",
     lambda v: viz_pairwise.render_training_run(1, v, 20, warm_start=False, n_samples=1), False),
    ("viz.pairwise.render_training_result", "temperature",
     lambda v: viz_pairwise.render_training_result(_train_state(), v, n_samples=1), False),
    ("viz.pairwise.with_progress", "total", lambda v: viz_pairwise.with_progress(PAIRWISE, print, v), False),
    ("viz.sampling.render_loss_by_timestep", "n_buckets",
     lambda v: viz_sampling.render_loss_by_timestep(_history(), 10, v), False),
    ("viz.widgets.Progress", "redraws", lambda v: widgets.Progress(redraws=v), False),
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
    "crystals.check_lattice_bounds", "metrics.check_matcher_budget",
    # landed on main while this test was written; not driven yet (named in the issue-27 closing note)
    "course.hub.NotebookRun", "course.hub.TrialHub", "metrics.scoring_cost", "metrics.unique_mask",
}


def _call_and_judge(name, arg, call, none_ok, value):
    import matplotlib.pyplot as plt
    try:
        call(value)
    except (TypeError, ValueError) as exc:
        module = type(exc).__module__
        assert module == "builtins" or module.startswith("crystal_tutorial"), f"{name}: {exc!r}"
        short = arg.split("[")[0].split(".")[-1]
        assert short in str(exc), f"{name}({arg}={value!r}) raised {type(exc).__name__} without naming {arg}: {exc}"
        return
    finally:
        plt.close("all")  # figures of accepted values
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


# --- issue 27, items 9 and 10: each case named there ----------------------------------------------------
ITEM_9 = [
    ("TrainConfig(lr='1e-3')", lambda: training.TrainConfig(lr="1e-3"), TypeError, r"lr must be a finite number > 0"),
    ("prototype(a='4')", lambda: prototype("fcc", a="4"), TypeError, r"a must be a number in \(0, 1000\], got str"),
    ("jitter(sigma='0.1')", lambda: crystals.jitter(FCC, "0.1", RNG(0)), TypeError, r"sigma must be a number"),
    ("jitter(rng=None)", lambda: crystals.jitter(FCC, 0.1, None), TypeError, r"rng must be a np.random.Generator"),
    ("explorer a='4'", lambda: figures.render_prototype_explorer(a="4"), TypeError, r"a must be a number in \[2, 8\]"),
    ("explorer a=None", lambda: figures.render_prototype_explorer(a=None), TypeError, r"a must be a number.*NoneType"),
    ("element_color(200)", lambda: figures.element_color(200), ValueError, r"number must be an integer in 1\.\.118"),
    ("plot_bond_lengths(z_max=200)", lambda: viz_physics.plot_bond_lengths(z_max=200), ValueError,
     r"z_max must be an integer in 1\.\.118, got 200"),
    ("summarize({})", lambda: benchmark.summarize({}), ValueError,
     r"scores must be the dict that benchmark.score returns; it lacks \['rms', 'dmax', 'valid', 'target_valid'\]"),
    ("random_coordinates(reference=[])", lambda: benchmark.random_coordinates([FCC], RNG(0), reference=[]),
     ValueError, r"reference is empty"),
    ("supercell(2.5)", lambda: FCC.supercell(2.5), ValueError, r"reps\[0\] must be an integer in 1\.\.100 \(a whole"),
    ("supercell(True)", lambda: FCC.supercell(True), TypeError, r"reps\[0\] must be an integer .*got bool True"),
    ("supercell((2.5, 2, 2))", lambda: FCC.supercell((2.5, 2, 2)), ValueError, r"reps\[0\] .*got 2\.5"),
    ("TrainConfig(batch_size=2.5)", lambda: training.TrainConfig(batch_size=2.5), ValueError,
     r"batch_size must be an integer .*\(a whole number\), got 2\.5"),
    ("TorusConfig(batch_size=2.5)", lambda: TorusConfig(batch_size=2.5), ValueError, r"batch_size .*got 2\.5"),
    ("prototype('fcc', a=True)", lambda: prototype("fcc", a=True), TypeError, r"a must be a number .*got bool True"),
    ("lattice of booleans", lambda: crystals.Crystal(np.eye(3, dtype=bool), [[0, 0, 0]], [14]), TypeError,
     r"lattice must be an array of real numbers, got an array of booleans"),
    ("lattice of strings", lambda: crystals.Crystal([["4", "0", "0"], ["0", "4", "0"], ["0", "0", "4"]],
                                                    [[0, 0, 0]], [14]), TypeError,
     r"lattice must be an array of real numbers, got an array of strings"),
    ("lattice of complex numbers", lambda: crystals.Crystal(np.eye(3) * (4 + 0j), [[0, 0, 0]], [14]), TypeError,
     r"lattice must be an array of real numbers, got an array of complex numbers"),
    ("run_table(n_test=-1)", lambda: benchmark.run_table("perov_5", -1), ValueError,
     r"n_test must be an integer in 1\.\.100000, got -1"),
    ("summarize(stol=-1)", lambda: benchmark.summarize(SCORES, stol=-1), ValueError,
     r"stol must be a number in \(0, 1\], got -1"),
    ("summarize(stol=nan)", lambda: benchmark.summarize(SCORES, stol=math.nan), ValueError,
     r"stol must be a number in \(0, 1\], got nan"),
    ("reference_crystals('Cu')", lambda: crystals.reference_crystals("Cu"), TypeError,
     r"elements must be a list of element symbols such as \['Cu'\], got str 'Cu'"),
    ("atomic number 1e30 (issue 25.4)", lambda: crystals.Crystal(np.eye(3) * 4, [[0, 0, 0]], [1e30]), ValueError,
     r"numbers must hold integers in 1\.\.118, got 1e\+30"),
]


@pytest.mark.parametrize("case, call, error, match", ITEM_9, ids=[c[0] for c in ITEM_9])
def test_item_9_cases_give_clear_errors(case, call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_item_9_real_values_work():
    """What used to fail on valid input: element 118 in the explorer, a left-handed lattice in render_ddim."""
    assert figures.element_color(118) == "rgb(127,127,127)"  # beyond ASE's colour table: grey, not IndexError
    fig = figures.render_prototype_explorer(number=118)
    assert "density" in fig.layout.title.text
    viz_physics.plot_bond_lengths(z_max=118)
    left = np.diag([5.0, 5.0, -5.0])  # det < 0: a left-handed cell
    _, hist = viz_sampling.render_ddim(MLP, SCHEDULE, 2, n_samples=4, lattice=left)
    assert "samples in" in hist.axes[0].get_title()


@pytest.mark.parametrize("argv, option", [
    (["generate", "--seed", "-1", "--out", "x"], "--seed"),
    (["demo", "--seed", "-1"], "--seed"),
    (["benchmark", "--seed", "-1", "--out", "x"], "--seed"),
    (["benchmark", "--seed", "123456789012345678901234", "--out", "x"], "--seed"),  # 24 digits: as demo/generate
    (["generate", "--seed", "123456789012345678901234", "--out", "x"], "--seed"),
])
def test_cli_seeds_are_one_rule_and_name_the_option(argv, option, capsys):
    from crystal_tutorial.cli.main import build_parser
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}: expected an integer in 0..9223372036854775807" in err


def test_structure_distance_memory_is_bounded_and_large_cells_are_refused():
    """Item 10: blocks of translations keep memory O(N^2) (it was an N^4 array: 1.5 GB at 64 atoms), and
    cells above MAX_DISTANCE_ATOMS are refused with a message instead of running for minutes."""
    import tracemalloc
    a = prototype("diamond").supercell((2, 2, 1))  # 32 atoms: the N^4 array alone was 25 MB, with copies ~10x
    b = crystals.jitter(a, 0.01, RNG(0))
    tracemalloc.start()
    d = metrics.structure_distance(a, b)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert 0 < d < 0.2 and peak < 60e6, (d, peak / 1e6)
    big = prototype("fcc").supercell((3, 3, 2))  # 72 atoms
    with pytest.raises(ValueError, match=r"N = 72 atoms is above the budget of 64"):
        metrics.structure_distance(big, big)


def test_matcher_settings_are_bounded():
    """Item 10: ltol 1e9 never returned; now every setting must lie in (0, MATCHER_LIMITS]."""
    with pytest.raises(ValueError, match=r"ltol must be a number in \(0, 1\], got 1000000000\.0"):
        metrics.evaluate_samples([FCC], matcher_settings={"ltol": 1e9})
    with pytest.raises(ValueError, match=r"angle_tol must be a number in \(0, 30\]"):
        metrics.structure_matcher(angle_tol=90)
