"""Pure render functions and measurements for notebook 08 (a denoiser that sees neighbours).

Every render function validates its slider values (ValueError outside the slider's range) and
returns figures; the widgets in the notebook only wrap them. Slow work (sampling, training) is
split from the fast views on its result: ``sample_set`` then ``render_sample_set`` (the sample
index slider reuses the samples); ``train_run`` then ``render_training_result`` (a new temperature
reuses the trained model). The slow functions take ``progress=report(done, total, text)``.
The sampling temperature is tau (the score is multiplied by 1/tau); T is the number of diffusion steps.
"""
from __future__ import annotations

import copy

import numpy as np

from ..checks import (
    check_array,
    check_crystal_list,
    check_int,
    check_number,
    check_positive,
    check_rng,
    check_seed,
    describe,
)
from ..crystals import DEMO_LATTICE_A, MAX_LATTICE_A, Crystal
from ..pbc import min_distance, pairwise_distances
from ..physics import MAX_SYMPREC

# Slider ranges, checked by the render functions (and used by the notebook to build the sliders).
RANGES = {"n_freq": (1, 8), "hidden": (8, 96), "train_steps": (20, 3000), "temperature": (0.1, 2.0),
          "corrector_steps": (0, 6), "n_atoms": (2, 8), "n_samples": (1, 200), "n_steps": (10, 400)}
EXPECTED = {1: "sc", 2: "bcc", 4: "fcc", 8: "diamond"}  # the demo prototype with that many atoms


# --- measurements ----------------------------------------------------------------------------------
def quality(samples, symprec: float = 0.25, min_distance_A: float = 0.7) -> dict:
    """Match and validity rates of a list of same-size samples (spglib through ``physics``).

    Returns ``{"n_atoms", "n", "expected", "match" (fraction recognised as the demo prototype with
    that many atoms), "any_prototype", "valid" (fraction with d_min >= min_distance_A),
    "d_min_min", "d_min_median"}`` (distances in Å). Cheaper than ``evaluate_samples`` (no
    uniqueness search), for the notebook's live table.
    """
    from ..physics import prototype_match
    samples = check_crystal_list("samples", samples)
    symprec = check_positive("symprec", symprec, upper=MAX_SYMPREC)
    min_distance_A = check_number("min_distance_A", min_distance_A, 0, 100)
    n_atoms = samples[0].n_atoms
    names = [prototype_match(c, symprec) for c in samples]
    lattice = samples[0].lattice                                 # (3, 3) Å
    if all(c.n_atoms == n_atoms and np.array_equal(c.lattice, lattice) for c in samples):  # one cell: one call
        d = np.atleast_1d(min_distance(np.stack([c.frac_coords for c in samples]), lattice))  # (n,) Å
    else:
        d = np.array([min_distance(c.frac_coords, c.lattice) for c in samples])  # (n,) Å
    expected = EXPECTED.get(n_atoms)
    return {"n_atoms": n_atoms, "n": len(samples), "expected": expected,
            "match": float(np.mean([p == expected for p in names])) if expected else 0.0,
            "any_prototype": float(np.mean([p is not None for p in names])),
            "valid": float(np.mean(d >= min_distance_A)), "d_min_min": float(d.min()),
            "d_min_median": float(np.median(d))}


def uniform_samples(n_atoms: int, n_samples: int, rng, a: float = DEMO_LATTICE_A, number: int = 14):
    """The baseline: every atom uniformly at random in the cubic cell of edge ``a`` Å."""
    n_atoms = check_int("n_atoms", n_atoms, 1, 1000)
    n_samples = check_int("n_samples", n_samples, 1, 100_000 // n_atoms)
    a = check_number("a", a, 0, MAX_LATTICE_A, low_open=True)
    number = check_int("number", number, 1, 118)
    frac = check_rng("rng", rng).random((n_samples, n_atoms, 3))  # (S, N, 3)
    return [Crystal(np.eye(3) * a, f, np.full(n_atoms, number)) for f in frac]


def format_table(rows) -> str:
    """A plain-text table of ``quality`` rows, each with an extra "model" key."""
    head = f"{'model':<22} {'N':>2}  {'target':<8} {'match':>6} {'any':>6} {'valid':>6} {'d_min min/median (Å)':>21}"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['model']:<22} {r['n_atoms']:>2}  {str(r['expected']):<8} {r['match']:>6.0%} "
                     f"{r['any_prototype']:>6.0%} {r['valid']:>6.0%} {r['d_min_min']:>10.2f} / {r['d_min_median']:.2f}")
    return "\n".join(lines)


# --- what the per-atom model learned ----------------------------------------------------------------
def render_marginals(coordinate_sets: dict, lattice_a: float = DEMO_LATTICE_A, bins: int = 40):
    """Two panels for ``{label: frac (S, N, 3)}`` sets of structures: (left) the density of one atom's
    fractional x coordinate, pooled over atoms and structures; (right) the nearest-neighbour distance.

    The per-atom model can get the left panel right and still fail the right one: a crystal is a
    statement about pairs. Returns a matplotlib Figure.
    """
    from matplotlib.figure import Figure
    if not isinstance(coordinate_sets, dict):
        raise TypeError(f"coordinate_sets must be a dict {{label: frac (S, N, 3)}}, got {describe(coordinate_sets)}")
    if not coordinate_sets:
        raise ValueError("coordinate_sets is empty")
    lattice_a = check_number("lattice_a", lattice_a, 0, MAX_LATTICE_A, low_open=True)
    bins = check_int("bins", bins, 1, 1000)
    fig = Figure(figsize=(10, 3.4))
    ax1, ax2 = fig.subplots(1, 2)
    lattice = np.eye(3) * lattice_a
    for label, frac in coordinate_sets.items():
        frac = check_array(f"coordinate_sets[{label!r}]", frac, ("S", "N", 3))
        ax1.hist(frac[..., 0].ravel() % 1.0, bins=bins, range=(0, 1), density=True, histtype="step", lw=1.6,
                 label=label)
        d = pairwise_distances(frac, lattice) + np.where(np.eye(frac.shape[1], dtype=bool), np.inf, 0)  # (S, N, N)
        ax2.hist(d.min(axis=-1).ravel(), bins=bins, range=(0, lattice_a * np.sqrt(3) / 2), density=True,
                 histtype="step", lw=1.6, label=label)
    ax1.set_xlabel("fractional x coordinate of an atom")
    ax1.set_ylabel("probability density")
    ax1.set_title("one atom at a time")
    ax2.set_xlabel("distance to the nearest other atom (Å)")
    ax2.set_ylabel("probability density")
    ax2.set_title("pairs of atoms")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    return fig


# --- sliders -----------------------------------------------------------------------------------------
def with_progress(model, progress, total: int, text: str = "network calls"):
    """A shallow copy of ``model`` whose ``forward`` calls ``progress(calls so far, total, text)``.

    Sampling calls the network a known number of times (noise levels x (1 + corrector moves)), so
    counting calls gives a progress bar with the real budget. ``progress=None`` returns ``model``.
    """
    if progress is None:
        return model
    if not callable(progress):
        raise TypeError(f"progress must be callable(done, total, text) or None, got {describe(progress)}")
    total = check_int("total", total, 0)
    counted, forward, calls = copy.copy(model), model.forward, [0]

    def forward_counted(*args, **kwargs):
        calls[0] += 1
        progress(calls[0], total, text)
        return forward(*args, **kwargs)

    counted.forward = forward_counted                        # an instance attribute shadows the method
    return counted


def sample_set(model, n_atoms: int = 4, temperature: float = 0.5, corrector_steps: int = 4, n_samples: int = 20,
               seed: int = 0, symprec: float = 0.25, n_steps: int = 100, progress=None) -> dict:
    """The slow part of the sample panel: ``n_samples`` structures from the pairwise ``model`` at
    temperature tau = ``temperature`` (``n_steps`` noise levels), each named by spglib.

    Returns ``{"samples", "names" (prototype or "none"), "d_min" (n_samples,) Å, "n_atoms",
    "temperature", "corrector_steps", "symprec"}``, the cache that ``render_sample_set`` draws from.
    """
    from ..physics import prototype_match
    from ..torus import sample_torus
    n_atoms = check_int("n_atoms", n_atoms, *RANGES["n_atoms"])
    temperature = check_number("temperature", temperature, *RANGES["temperature"])
    corrector_steps = check_int("corrector_steps", corrector_steps, *RANGES["corrector_steps"])
    n_samples = check_int("n_samples", n_samples, *RANGES["n_samples"])
    n_steps = check_int("n_steps", n_steps, *RANGES["n_steps"])
    calls = n_steps * (corrector_steps + 1)                 # network calls of sample_torus
    samples = sample_torus(with_progress(model, progress, calls, "network calls (sampling)"), n_atoms, n_samples,
                           np.random.default_rng(check_seed("seed", seed)), temperature=temperature,
                           corrector_steps=corrector_steps,
                           n_steps=n_steps)
    symprec = check_positive("symprec", symprec, upper=MAX_SYMPREC)
    names = [prototype_match(c, symprec) or "none" for c in samples]
    d = np.atleast_1d(min_distance(np.stack([c.frac_coords for c in samples]), samples[0].lattice))  # (S,) Å
    return {"samples": samples, "names": names, "d_min": d, "n_atoms": n_atoms, "temperature": temperature,
            "corrector_steps": corrector_steps, "symprec": symprec}


def render_sample_set(state: dict, index: int = 0):
    """The fast part of the sample panel: sample ``index`` of a ``sample_set`` in 3D, and what spglib
    recognised in all of them. Returns (plotly figure titled with spglib's verdict, matplotlib bar chart)."""
    from matplotlib.figure import Figure

    from ..viz.figures import plot_crystal
    if not isinstance(state, dict) or "samples" not in state:
        raise TypeError("state must be the dict returned by sample_set")
    samples, names, n_samples = state["samples"], state["names"], len(state["samples"])
    index = check_int("index", index, 0, n_samples - 1)
    fig3d = plot_crystal(samples[index], height=380, title=(
        f"sample {index} of {n_samples}: {names[index]} at symprec {state['symprec']} Å, "
        f"d_min {state['d_min'][index]:.2f} Å"))
    labels = ["sc", "bcc", "fcc", "diamond", "none"]
    fig = Figure(figsize=(5, 2.6))
    ax = fig.subplots()
    ax.bar(labels, [names.count(k) / n_samples for k in labels], color="tab:blue")
    ax.set_ylim(0, 1)
    ax.set_ylabel("fraction of samples")
    ax.set_xlabel(f"prototype recognised by spglib (symprec {state['symprec']} Å)")
    ax.set_title(f"{state['n_atoms']} atoms, temperature τ = {state['temperature']:g}, "
                 f"{state['corrector_steps']} corrector steps")
    fig.subplots_adjust(left=0.14, right=0.97, bottom=0.2, top=0.86)  # fixed margins: fast slider
    return fig3d, fig


def render_samples(model, n_atoms: int = 4, temperature: float = 0.5, corrector_steps: int = 4,
                   n_samples: int = 20, index: int = 0, seed: int = 0, symprec: float = 0.25, n_steps: int = 100):
    """``render_sample_set(sample_set(...), index)`` in one call: sample ``n_samples`` structures with
    the pairwise ``model`` at temperature tau = ``temperature`` and show sample ``index`` in 3D.

    Returns (plotly figure titled with spglib's verdict, matplotlib bar chart of what spglib
    recognised in all samples). In a notebook, use the two parts, so the index slider reuses the samples.
    """
    n_samples = check_int("n_samples", n_samples, *RANGES["n_samples"])
    index = check_int("index", index, 0, n_samples - 1)
    state = sample_set(model, n_atoms, temperature, corrector_steps, n_samples, seed, symprec, n_steps)
    return render_sample_set(state, index)


def render_reverse_process(trajectory, step: int, index: int = 0, lattice=None, sigmas=None):
    """The reverse-process scrubber: sample ``index`` of ``trajectory`` (steps + 1, S, N, 3) of
    fractional coordinates after ``step`` denoising steps, and d_min along the way.

    Returns (plotly figure, matplotlib figure); uses ``viz_sampling.render_reverse_step`` on the
    centred coordinates frac - 0.5.
    """
    from ..viz.sampling import render_reverse_step
    trajectory = check_array("trajectory", trajectory, ("steps + 1", "S", "N", 3))
    index = check_int("index", index, 0, trajectory.shape[1] - 1)
    lattice = np.eye(3) * DEMO_LATTICE_A if lattice is None else lattice
    fig3d, fig = render_reverse_step(trajectory[:, index] - 0.5, step, lattice)
    if sigmas is not None:  # sigmas[step] is the noise level left after `step` steps
        fig3d.update_layout(title=fig3d.layout.title.text + f", noise sigma = {sigmas[step]:.3f}")
    return fig3d, fig


def train_run(n_freq: int = 4, hidden: int = 48, train_steps: int = 200, warm_start: bool = True, seed: int = 0,
              progress=None) -> dict:
    """The slow part of the training panel: train a pairwise model for ``train_steps`` Adam steps (from
    the shipped weights if ``warm_start`` and the architecture matches them, else from scratch).

    The budget is a number of steps, so the same arguments give the same model on any machine;
    ``progress(step, train_steps, text)`` reports every step. Returns ``{"model", "history", "warm",
    "n_freq", "hidden", "train_steps"}``, the cache that ``render_training_result`` samples from.
    """
    from ..crystals import demo_dataset
    from ..torus import TorusConfig, load_model, train_torus
    n_freq = check_int("n_freq", n_freq, *RANGES["n_freq"])
    hidden = check_int("hidden", hidden, *RANGES["hidden"])
    train_steps = check_int("train_steps", train_steps, *RANGES["train_steps"])
    config = TorusConfig(n_freq=n_freq, hidden=hidden, max_steps=train_steps, seed=seed, progress=False,
                         max_seconds=3600.0)             # the step budget decides, not the wall clock
    model = config.build_model()
    pretrained, _ = load_model()
    warm = bool(warm_start) and pretrained.config() == model.config()
    if warm:
        model = copy.deepcopy(pretrained)                   # never change the shipped weights in memory
        config.lr = config.lr / 4  # fine-tuning: a smaller step keeps what the weights already know

    def report(step, history):
        if progress is not None:
            progress(step + 1, train_steps, f"Adam steps, loss {history.losses[-1]:.3f}")
        return False

    history = train_torus(model, demo_dataset(), config, callback=report)
    return {"model": model, "history": history, "warm": warm, "n_freq": n_freq, "hidden": hidden,
            "train_steps": train_steps}


def render_training_result(state: dict, temperature: float = 0.5, n_atoms: int = 4, n_samples: int = 30,
                           seed: int = 0, progress=None):
    """Sample ``n_samples`` structures of ``n_atoms`` from a ``train_run`` model at temperature tau =
    ``temperature`` (100 noise levels) and plot the loss curve titled with the match rate.

    Reuses the trained model: a new temperature or atom count costs sampling, not training.
    Returns a matplotlib Figure.
    """
    from matplotlib.figure import Figure

    from ..torus import sample_torus
    if not isinstance(state, dict) or "history" not in state:
        raise TypeError("state must be the dict returned by train_run")
    temperature = check_number("temperature", temperature, *RANGES["temperature"])
    n_atoms = check_int("n_atoms", n_atoms, *RANGES["n_atoms"])
    n_samples = check_int("n_samples", n_samples, *RANGES["n_samples"])
    model, history = state["model"], state["history"]
    samples = sample_torus(with_progress(model, progress, 100 * 5, "network calls (sampling)"), n_atoms, n_samples,
                           np.random.default_rng(check_seed("seed", seed)), temperature=temperature, n_steps=100)
    q = quality(samples)
    fig = Figure(figsize=(7, 3.2))
    ax = fig.subplots()
    steps = np.arange(1, history.n_steps + 1)
    ax.plot(steps, history.losses, color="tab:blue", alpha=0.3, lw=0.8)
    if history.n_steps >= 20:
        ax.plot(steps[19:], np.convolve(history.losses, np.ones(20) / 20, mode="valid"), color="tab:blue",
                label="running mean of 20 steps")
        ax.legend(fontsize=8)
    ax.set_xlabel("Adam step")
    ax.set_ylabel("loss (MSE of the normalised score)")
    start = "warm start from the shipped weights" if state["warm"] else "from scratch"
    ax.set_title(f"K = {state['n_freq']}, hidden = {state['hidden']}, {history.n_steps} steps ({start}); "
                 f"τ = {temperature:g}: {q['match']:.0%} {q['expected'] or 'match'}, {q['valid']:.0%} valid",
                 fontsize=9)
    fig.tight_layout()
    return fig


def render_training_run(n_freq: int = 4, hidden: int = 48, train_steps: int = 200, temperature: float = 0.5,
                        n_atoms: int = 4, warm_start: bool = True, n_samples: int = 30, seed: int = 0):
    """``render_training_result(train_run(...), ...)`` in one call: train for ``train_steps`` Adam steps
    (warm start from the shipped weights if the architecture matches), then sample ``n_samples``
    structures of ``n_atoms`` at temperature tau = ``temperature``. Returns a matplotlib Figure."""
    temperature = check_number("temperature", temperature, *RANGES["temperature"])
    n_atoms = check_int("n_atoms", n_atoms, *RANGES["n_atoms"])
    n_samples = check_int("n_samples", n_samples, *RANGES["n_samples"])
    state = train_run(n_freq, hidden, train_steps, warm_start, seed)
    return render_training_result(state, temperature, n_atoms, n_samples, seed)
