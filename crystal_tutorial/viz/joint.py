"""Pure render functions of notebook 09's panels: guided samples in 3D, and the density histogram.

Sampling the joint model takes seconds, so each panel has a slow part behind a button that
samples (``guided_samples``, ``density_samples``; both take ``progress=report(done, total,
text)``) and a fast part that draws the result (``render_guided``, ``render_density_result``).
``render_guidance`` and ``render_density`` do both in one call. All validate the slider values
(``GUIDANCE_RANGE``, ``DENSITY_RANGE``, ``ATOMS_RANGE``) and are deterministic for a ``seed``.

The guidance weight w follows the convention y_w = y(c=0) + w (y(c) - y(c=0)): w = 0 is the
unconditional model, w = 1 the conditional one. Ho & Salimans (2022, eq. 6) write the same mix as
(1 + w) y(c) - w y(c=0), so their w is our w - 1.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..checks import check_instance, check_int, check_number, check_seed
from ..joint import JointDenoiser
from ..joint_diffusion import JointConfig, training_set
from ..joint_sampling import sample_joint
from ..physics import species_match
from ..viz.pairwise import with_progress

GUIDANCE_RANGE = (0.0, 5.0)     # w: 0 unconditional, 1 conditional, > 1 over-guided
DENSITY_RANGE = (0.5, 20.0)     # g/cm^3, the slider's range (the validity range of the PhysicsValidator)
ATOMS_RANGE = (2, 12)
SAMPLES_RANGE = (1, 200)
PHYSICAL_DENSITY = (0.5, 22.59)  # g/cm^3: below 0.5 no crystal of these elements; osmium, the densest element, 22.59


def _calls(model, corrector_steps):
    """Network calls of one ``sample_joint`` run: one check, then (1 + corrector moves) per step."""
    return 1 + int(getattr(model, "T", None) or JointConfig.T) * (corrector_steps + 1)


def trained_density_range(n_atoms: int | None = None, strain: float = JointConfig.strain) -> tuple:
    """(low, high) g/cm^3 the joint model saw in training: the training cells' densities (of
    ``n_atoms`` atoms, or all) times the scale augmentation's factors exp(-3 strain)..exp(3 strain).

    Outside it, the density condition asks for something the model never saw: guidance extrapolates.
    """
    n_atoms = None if n_atoms is None else check_int("n_atoms", n_atoms, 1, 1000)
    strain = check_number("strain", strain, 0, 1)
    rho = np.array([c.density for c in training_set() if n_atoms is None or c.n_atoms == n_atoms])
    if rho.size == 0:
        raise ValueError(f"no training crystal has {n_atoms} atoms")
    return float(rho.min() * np.exp(-3 * strain)), float(rho.max() * np.exp(3 * strain))


def guided_samples(model, guidance: float = 2.0, elements: str | None = "Na,Cl", n_atoms: int = 8,
                   n_samples: int = 3, seed: int = 0, corrector_steps: int = 5, progress=None) -> list:
    """The slow part of the guidance panel: ``n_samples`` samples guided with weight w towards ``elements``."""
    check_instance("model", model, JointDenoiser, "joint_diffusion.load_joint()")
    w = check_number("guidance", guidance, *GUIDANCE_RANGE)
    n_atoms = check_int("n_atoms", n_atoms, *ATOMS_RANGE)
    n_samples = check_int("n_samples", n_samples, 1, 6)
    corrector_steps = check_int("corrector_steps", corrector_steps, 0, 10)
    rng = np.random.default_rng(check_seed("seed", seed))
    counted = with_progress(model, progress, _calls(model, corrector_steps), "network calls (sampling)")
    return sample_joint(counted, n_atoms, n_samples, rng, elements=elements, guidance=w,
                        corrector_steps=corrector_steps)


def render_guided(samples, guidance: float, elements: str | None = None):
    """A plotly figure of guided ``samples`` side by side (rotatable 3D, coloured by element).

    The title gives the guidance weight, how many samples use only the asked elements, and how many
    match a training prototype with species (``physics.species_match``) at symprec 0.1 Å and
    0.25 Å: a sample that matches only at 0.25 Å is the prototype with atoms a little off their sites.
    """
    from plotly.subplots import make_subplots

    from ..viz.figures import plot_crystal
    w = check_number("guidance", guidance, *GUIDANCE_RANGE)
    n = len(samples)
    fig = make_subplots(rows=1, cols=n, specs=[[{"type": "scene"}] * n],
                        subplot_titles=[f"{c.formula}, {c.density:.2f} g/cm³" for c in samples])
    seen = set()
    for k, crystal in enumerate(samples):                   # loop over a few samples
        for trace in plot_crystal(crystal).data:
            trace.showlegend = trace.name not in seen and trace.name != "cell"
            seen.add(trace.name)
            fig.add_trace(trace, row=1, col=k + 1)
    for k in range(n):
        scene = "scene" if k == 0 else f"scene{k + 1}"
        fig.layout[scene].update(aspectmode="data", xaxis_title="x (Å)", yaxis_title="y (Å)", zaxis_title="z (Å)")
    text = f"guidance w = {w:g}"
    if elements:
        from ase.data import atomic_numbers
        symbols = elements.split(",") if isinstance(elements, str) else list(elements)
        wanted = {atomic_numbers[str(e).strip()] if not isinstance(e, (int, np.integer)) else int(e) for e in symbols}
        inside = sum(set(c.numbers.tolist()) <= wanted for c in samples)
        text += f", elements {elements}: {inside}/{n} samples use only these"
    train = training_set()
    strict, loose = (int(species_match(samples, train, symprec).sum()) for symprec in (0.1, 0.25))
    text += f"; match a training prototype: {strict}/{n} at symprec 0.1 Å, {loose}/{n} at 0.25 Å"
    fig.update_layout(title=text, height=380, margin=dict(l=0, r=0, t=70, b=0))
    return fig


def render_guidance(model, guidance: float = 2.0, elements: str | None = "Na,Cl", n_atoms: int = 8,
                    n_samples: int = 3, seed: int = 0, corrector_steps: int = 5):
    """``render_guided(guided_samples(...))`` in one call: a plotly figure of ``n_samples`` samples.

    ``corrector_steps`` is passed to ``sample_joint`` (fewer: faster, slightly worse 8-atom samples).
    """
    samples = guided_samples(model, guidance, elements, n_atoms, n_samples, seed, corrector_steps)
    return render_guided(samples, guidance, elements)


def sample_densities(model, density=None, guidance: float = 1.0, n_atoms: int = 4, n_samples: int = 24,
                     seed: int = 0, corrector_steps: int = 5, progress=None) -> np.ndarray:
    """Densities (g/cm^3) of ``n_samples`` samples for a target ``density`` (None: unconditional)."""
    check_instance("model", model, JointDenoiser, "joint_diffusion.load_joint()")
    n_atoms = check_int("n_atoms", n_atoms, *ATOMS_RANGE)
    n_samples = check_int("n_samples", n_samples, *SAMPLES_RANGE)
    corrector_steps = check_int("corrector_steps", corrector_steps, 0, 10)
    rng = np.random.default_rng(check_seed("seed", seed))
    counted = with_progress(model, progress, _calls(model, corrector_steps), "network calls (sampling)")
    samples = sample_joint(counted, n_atoms, n_samples, rng, density=density,
                           guidance=guidance if density is not None else 0.0, corrector_steps=corrector_steps)
    return np.array([c.density for c in samples])


def density_samples(model, density: float = 4.0, guidance: float = 1.0, n_atoms: int = 2, n_samples: int = 12,
                    seed: int = 0, corrector_steps: int = 5, progress=None) -> dict:
    """The slow part of the density panel: densities of ``n_samples`` samples for target D = ``density``.

    Returns ``{"rho" (n,), "density", "guidance", "n_atoms", "trained" (low, high)}`` for
    ``render_density_result``. Warns (UserWarning) when D lies outside the densities the model saw in
    training for this atom count (``trained_density_range``): guidance then extrapolates.
    """
    check_instance("model", model, JointDenoiser, "joint_diffusion.load_joint()")
    D = check_number("density (g/cm^3)", density, *DENSITY_RANGE)
    w = check_number("guidance", guidance, *GUIDANCE_RANGE)
    n_atoms = check_int("n_atoms", n_atoms, *ATOMS_RANGE)
    trained = trained_density_range(n_atoms) if any(c.n_atoms == n_atoms for c in training_set()) else None
    if trained is not None and not trained[0] <= D <= trained[1]:
        warnings.warn(f"target density {D:g} g/cm³ is outside the range the model was trained on for {n_atoms} "
                      f"atoms ({trained[0]:.2f}-{trained[1]:.2f} g/cm³): guidance extrapolates", stacklevel=2)
    rho = sample_densities(model, D, w, n_atoms, n_samples, seed, corrector_steps, progress)
    return {"rho": rho, "density": D, "guidance": w, "n_atoms": n_atoms, "trained": trained}


def render_density_result(state: dict, unconditional=None):
    """Matplotlib figure: histogram of ``state["rho"]`` for target D, beside the unconditional densities.

    The range follows the data (log scale, all samples, the target and the physical limits
    visible). Densities outside ``PHYSICAL_DENSITY`` (above osmium's 22.59 g/cm³, or below 0.5) are
    shaded and counted in the title; the green band is the range seen in training for this atom count.
    """
    from matplotlib.figure import Figure
    if not isinstance(state, dict) or "rho" not in state:
        raise TypeError("state must be the dict returned by density_samples")
    rho, D, w, n_atoms = state["rho"], state["density"], state["guidance"], state["n_atoms"]
    unconditional = np.asarray([] if unconditional is None else unconditional, dtype=float)
    everything = np.concatenate([rho, unconditional, [D, PHYSICAL_DENSITY[1]]])  # what must be visible
    lo, hi = min(everything.min(), PHYSICAL_DENSITY[0]) / 1.3, everything.max() * 1.3
    bins = np.geomspace(lo, hi, 41)
    fig = Figure(figsize=(7.5, 3.4))
    ax = fig.subplots()
    if unconditional.size:
        ax.hist(unconditional, bins=bins, alpha=0.5, color="grey",
                label=f"unconditional (median {np.median(unconditional):.2f})")
    ax.hist(rho, bins=bins, alpha=0.7, color="tab:blue", label=f"D = {D:g}, w = {w:g} (median {np.median(rho):.2f})")
    ax.axvline(D, color="tab:red", lw=2, label="target D")
    ax.axvspan(D / 1.15, D * 1.15, color="tab:red", alpha=0.1, label="±15 %")
    if state.get("trained") is not None:
        ax.axvspan(*state["trained"], color="tab:green", alpha=0.08, label=f"seen in training ({n_atoms} atoms)")
    ax.axvspan(lo, PHYSICAL_DENSITY[0], color="black", alpha=0.15, hatch="//", label="not physical")
    ax.axvspan(PHYSICAL_DENSITY[1], hi, color="black", alpha=0.15, hatch="//")
    ax.set_xlim(lo, hi)
    ax.set_xscale("log")
    ax.set_xlabel("density of the sample (g/cm³, log scale; osmium, the densest element: 22.59)")
    ax.set_ylabel("samples")
    impossible = int(np.sum((rho < PHYSICAL_DENSITY[0]) | (rho > PHYSICAL_DENSITY[1])))
    title = (f"{len(rho)} samples of {n_atoms} atoms: median {np.median(rho):.2f} g/cm³, "
             f"{(np.median(rho) - D) / D:+.0%} from the target")
    if impossible:
        title += f"\n{impossible}/{len(rho)} samples are physically impossible"
    trained = state.get("trained")
    if trained is not None and not trained[0] <= D <= trained[1]:
        title += f"{';' if impossible else chr(10)} target outside the trained range {trained[0]:.1f}-{trained[1]:.1f}"
    ax.set_title(title, fontsize=9, color="tab:red" if impossible else "black")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def render_density(model, density: float = 4.0, guidance: float = 2.0, n_atoms: int = 4, n_samples: int = 24,
                   seed: int = 0, unconditional=None, corrector_steps: int = 5):
    """``render_density_result(density_samples(...), unconditional)`` in one call.

    ``unconditional`` (optional array of densities) saves sampling them again for every call; None
    samples them (``n_samples``, seed + 1).
    """
    check_instance("model", model, JointDenoiser, "joint_diffusion.load_joint()")
    n_samples = check_int("n_samples", n_samples, 2, SAMPLES_RANGE[1])
    corrector_steps = check_int("corrector_steps", corrector_steps, 0, 10)
    state = density_samples(model, density, guidance, n_atoms, n_samples, seed, corrector_steps)
    if unconditional is None:
        unconditional = sample_densities(model, None, 0.0, n_atoms, n_samples, seed + 1, corrector_steps)
    return render_density_result(state, unconditional)
