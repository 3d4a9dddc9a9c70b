"""How long every widget panel of notebooks 01-09 takes, at its defaults and at its slowest setting.

A panel control is either a *slider* (the panel redraws on every change: ``widgets.panel``, or the
view controls of ``widgets.cached_panel``) or sits behind a *button* (``button_panel``, the compute
part of ``cached_panel``: training, sampling). The rule of the notebooks: a slider answers in under
0.3 s; anything slower sits behind a button with a progress bar. This script calls the render
function behind every control, the way the notebook calls it, and prints the times; sliders over
0.3 s are marked. A benchmark, not a test: timings on a shared machine are noisy (sliders: the best
of ``--repeats`` calls after a warm-up; buttons: one call).

    python benchmarks/bench_widgets.py            # everything, several minutes on 2 busy cores
    python benchmarks/bench_widgets.py --quick    # buttons at their defaults only
"""
from __future__ import annotations

import argparse
import time
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

SLIDER_LIMIT = 0.3  # seconds


def seconds(fn, repeats: int) -> float:
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
        plt.close("all")
    return best


def panels():
    """(notebook, control, kind, {setting: callable}) for every panel control of notebooks 01-09."""
    from crystal_tutorial.crystals import Crystal, demo_dataset
    from crystal_tutorial.joint_diffusion import load_joint
    from crystal_tutorial.physics import PhysicsValidator
    from crystal_tutorial.sampling import sample_ddpm
    from crystal_tutorial.torus import load_model, sample_torus
    from crystal_tutorial.training import TrainConfig, build_model, train
    from crystal_tutorial.viz import nn as viz_nn
    from crystal_tutorial.viz.complexity import render_min_distance_timing
    from crystal_tutorial.viz.diffusion import render_scrubber
    from crystal_tutorial.viz.figures import render_prototype_explorer
    from crystal_tutorial.viz.joint import (
        density_samples,
        guided_samples,
        render_density_result,
        render_guided,
        sample_densities,
    )
    from crystal_tutorial.viz.pairwise import (
        render_reverse_process,
        render_sample_set,
        render_training_result,
        sample_set,
        train_run,
    )
    from crystal_tutorial.viz.physics import render_correction, render_symprec
    from crystal_tutorial.viz.sampling import (
        render_ddim,
        render_loss_curves,
        render_reverse_step,
        trajectory_min_distances,
    )

    def train_and_compare(epochs, lr, hidden, T, schedule):  # notebook 04's button
        cfg = TrainConfig(epochs=epochs, lr=lr, hidden=hidden, timesteps=T, schedule=schedule, progress=False)
        return render_loss_curves([("run", train(build_model(cfg), demo_dataset(), cfg))])

    config = TrainConfig(epochs=100, timesteps=100, lr=1e-3, seed=0, progress=False)  # notebook 05's model
    mlp = build_model(config)
    train(mlp, demo_dataset(), config)
    schedule, cell = config.make_schedule(), np.eye(3) * 5.0
    _, traj05 = sample_ddpm(mlp, schedule, 4, cell, 1, np.random.default_rng(0), record=True)
    d05 = trajectory_min_distances(traj05[:, 0], cell)                     # computed once, as in the notebook
    moved = iter(np.linspace(0.01, 0.3, 1000))                              # a new displacement every call
    crowded = Crystal(cell, np.random.default_rng(1).random((32, 3)), 14)  # notebook 06's worst structure
    validator = PhysicsValidator()
    pairwise, _ = load_model()
    _, traj08 = sample_torus(pairwise, 8, 6, np.random.default_rng(0), n_steps=100, record=True)
    cached08 = {n: sample_set(pairwise, n_atoms=n, n_samples=20) for n in (4, 8)}
    trained08 = train_run(train_steps=200)
    joint, _ = load_joint()

    def density_panel(density, guidance, n_atoms):  # notebook 09's button, first press for this atom count
        unconditional = sample_densities(joint, None, 0.0, n_atoms, 12, 1, 2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            state = density_samples(joint, density, guidance, n_atoms, 12, 0, 2)
        return render_density_result(state, unconditional)

    return [
        ("01", "prototype explorer", "slider", {
            "default": lambda: render_prototype_explorer("fcc"),
            "diamond, 3x3x3, a 8 Å, perturbed": lambda: render_prototype_explorer("diamond", 8.0, 0.2, 3)}),
        ("02", "timestep scrubber", "slider", {
            "default": lambda: render_scrubber(),
            "diamond, cosine, wrapped, t = T": lambda: render_scrubber(100, "diamond", "cosine", "wrapped")}),
        ("03", "optimiser race", "button", {
            "default": lambda: viz_nn.render_optimizer_race(),
            "batch 256, lr 1": lambda: viz_nn.render_optimizer_race(lr=1.0, batch_size=256)}),
        ("04", "hyperparameters: train", "button", {
            "default": lambda: train_and_compare(500, 1e-3, 64, 100, "linear"),
            "3000 epochs, hidden 128, T = 1000": lambda: train_and_compare(3000, 1e-3, 128, 1000, "cosine")}),
        ("05", "reverse scrubber", "slider", {
            "default": lambda: render_reverse_step(traj05[:, 0], 100, cell, d05),
            "step 0": lambda: render_reverse_step(traj05[:, 0], 0, cell, d05)}),
        ("05", "DDIM steps", "slider", {
            "default (10 steps)": lambda: render_ddim(mlp, schedule, 10, n_samples=50),
            "100 steps": lambda: render_ddim(mlp, schedule, 100, n_samples=50)}),
        ("06", "repulsion correction", "slider", {
            "default": lambda: render_correction(crowded, 20, 0.1, validator),
            "100 steps of 0.01": lambda: render_correction(crowded, 100, 0.01, validator)}),
        ("06", "symprec", "slider", {
            "default": lambda: render_symprec("fcc", 0.05, 0.1),
            "symprec 1 Å (cached scan)": lambda: render_symprec("fcc", 0.05, 1.0),
            "diamond, a new displacement (new scan)": lambda: render_symprec("diamond", float(next(moved)), 1.0)}),
        ("07", "minimum distance timing", "button", {
            "default (400 atoms)": lambda: render_min_distance_timing(400),
            "700 atoms (brute force live)": lambda: render_min_distance_timing(700),
            "20,000 atoms": lambda: render_min_distance_timing(20000)}),
        ("08", "reverse process scrubber", "slider", {
            "default": lambda: render_reverse_process(traj08, 100, index=0),
            "step 0": lambda: render_reverse_process(traj08, 0, index=5)}),
        ("08", "samples: sample (atoms, τ, corrector)", "button", {
            "default (4 atoms)": lambda: sample_set(pairwise, n_samples=20),
            "8 atoms, 6 corrector moves": lambda: sample_set(pairwise, 8, 0.5, 6, n_samples=20)}),
        ("08", "samples: index", "slider", {
            "default (4 atoms)": lambda: render_sample_set(cached08[4], 0),
            "8 atoms, last sample": lambda: render_sample_set(cached08[8], 19)}),
        ("08", "hyperparameters: train", "button", {
            "default (200 steps, warm)": lambda: train_run(train_steps=200),
            "K 8, hidden 96, 3000 steps": lambda: train_run(8, 96, 3000, False)}),
        ("08", "hyperparameters: sample (τ, atoms)", "button", {
            "default (4 atoms)": lambda: render_training_result(trained08),
            "8 atoms": lambda: render_training_result(trained08, 0.5, 8)}),
        ("09", "guidance: sample", "button", {
            "default (Na,Cl, w 2, 8 atoms)": lambda: render_guided(guided_samples(joint, 2.0, "Na,Cl", 8, 3, 0, 2),
                                                                  2.0, "Na,Cl"),
            "w 5": lambda: render_guided(guided_samples(joint, 5.0, "Na,Cl", 8, 3, 0, 2), 5.0, "Na,Cl")}),
        ("09", "density: sample", "button", {
            "default (D 4, w 1, 2 atoms)": lambda: density_panel(4.0, 1.0, 2),
            "D 20, w 5, 8 atoms": lambda: density_panel(20.0, 5.0, 8)}),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="buttons at their defaults only")
    parser.add_argument("--repeats", type=int, default=3, help="calls per slider setting (the best is printed)")
    args = parser.parse_args()
    print("setting up (training the notebook-05 model, sampling the notebook-08 caches) ...", flush=True)
    rows = panels()
    print(f"\n{'nb':<3} {'control':<40} {'kind':<7} {'setting':<36} {'seconds':>8}")
    print("-" * 98)
    too_slow = []
    for notebook, control, kind, settings in rows:
        for k, (setting, fn) in enumerate(settings.items()):
            if args.quick and kind == "button" and k > 0:
                continue
            if kind == "slider":
                fn()                                         # warm-up: imports and caches
                plt.close("all")
            t = seconds(fn, args.repeats if kind == "slider" else 1)
            flag = ""
            if kind == "slider" and t > SLIDER_LIMIT:
                flag = f"  > {SLIDER_LIMIT} s: put it behind a button"
                too_slow.append((notebook, control, setting))
            print(f"{notebook:<3} {control:<40} {kind:<7} {setting:<36} {t:8.3f}{flag}", flush=True)
    print(f"\n{len(too_slow)} slider settings above {SLIDER_LIMIT} s" + (": " + "; ".join(
        " / ".join(x) for x in too_slow) if too_slow else ""))


if __name__ == "__main__":
    main()
