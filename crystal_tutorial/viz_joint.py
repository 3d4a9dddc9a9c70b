"""Pure render functions of notebook 09's sliders: guided samples in 3D, and the density histogram.

``render_guidance`` draws a few samples of the joint model, coloured by element
(``viz.plot_crystal``), for a guidance weight w and a chemical system; ``render_density`` draws
the histogram of sample densities for a target density D beside the unconditional histogram.
Both validate the slider values (``GUIDANCE_RANGE``, ``DENSITY_RANGE``) and are deterministic
for a ``seed``.
"""
from __future__ import annotations

from numbers import Real

import numpy as np

from .joint import JointDenoiser
from .joint_diffusion import sample_joint, species_match, training_set

GUIDANCE_RANGE = (0.0, 5.0)     # w: 0 unconditional, 1 conditional, > 1 over-guided
DENSITY_RANGE = (0.5, 20.0)     # g/cm^3, the validity range of the PhysicsValidator
ATOMS_RANGE = (2, 12)


def _check_number(name, value, low, high):
    if isinstance(value, bool) or not isinstance(value, Real) or not np.isfinite(value) or not low <= value <= high:
        raise ValueError(f"{name} must be a number in [{low:g}, {high:g}], got {value!r}")
    return float(value)


def _check_int(name, value, low, high):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer in {low}..{high}, got {value!r}")
    return int(value)


def _check_model(model):
    if not isinstance(model, JointDenoiser):
        raise TypeError(f"model must be a JointDenoiser (joint_diffusion.load_joint()), got {type(model).__name__}")


def render_guidance(model, guidance: float = 2.0, elements: str | None = "Na,Cl", n_atoms: int = 8,
                    n_samples: int = 3, seed: int = 0, corrector_steps: int = 5):
    """A plotly figure of ``n_samples`` samples side by side (rotatable 3D, coloured by element).

    ``corrector_steps`` is passed to ``sample_joint`` (fewer: a faster slider, slightly worse 8-atom samples).

    The title gives the guidance weight, how many samples use only the asked elements, and how many
    match a training prototype with species (``joint_diffusion.species_match``).
    """
    from plotly.subplots import make_subplots

    from .viz import plot_crystal
    _check_model(model)
    w = _check_number("guidance", guidance, *GUIDANCE_RANGE)
    n_atoms = _check_int("n_atoms", n_atoms, *ATOMS_RANGE)
    n_samples = _check_int("n_samples", n_samples, 1, 6)
    corrector_steps = _check_int("corrector_steps", corrector_steps, 0, 10)
    samples = sample_joint(model, n_atoms, n_samples, np.random.default_rng(seed), elements=elements, guidance=w,
                           corrector_steps=corrector_steps)
    fig = make_subplots(rows=1, cols=n_samples, specs=[[{"type": "scene"}] * n_samples],
                        subplot_titles=[f"{c.formula}, {c.density:.2f} g/cm³" for c in samples])
    seen = set()
    for k, crystal in enumerate(samples):                   # loop over a few samples
        for trace in plot_crystal(crystal).data:
            trace.showlegend = trace.name not in seen and trace.name != "cell"
            seen.add(trace.name)
            fig.add_trace(trace, row=1, col=k + 1)
    for k in range(n_samples):
        scene = "scene" if k == 0 else f"scene{k + 1}"
        fig.layout[scene].update(aspectmode="data", xaxis_title="x (Å)", yaxis_title="y (Å)", zaxis_title="z (Å)")
    text = f"guidance w = {w:g}"
    if elements:
        from .joint_diffusion import _symbols_to_numbers
        wanted = set(_symbols_to_numbers(elements))
        inside = sum(set(c.numbers.tolist()) <= wanted for c in samples)
        text += f", elements {elements}: {inside}/{n_samples} samples use only these"
    text += f"; {int(species_match(samples, training_set()).sum())}/{n_samples} match a training prototype"
    fig.update_layout(title=text, height=380, margin=dict(l=0, r=0, t=70, b=0))
    return fig


def sample_densities(model, density=None, guidance: float = 1.0, n_atoms: int = 4, n_samples: int = 24,
                     seed: int = 0, corrector_steps: int = 5) -> np.ndarray:
    """Densities (g/cm^3) of ``n_samples`` samples for a target ``density`` (None: unconditional)."""
    _check_model(model)
    samples = sample_joint(model, n_atoms, n_samples, np.random.default_rng(seed), density=density,
                           guidance=guidance if density is not None else 0.0, corrector_steps=corrector_steps)
    return np.array([c.density for c in samples])


def render_density(model, density: float = 4.0, guidance: float = 2.0, n_atoms: int = 4, n_samples: int = 24,
                   seed: int = 0, unconditional=None, corrector_steps: int = 5):
    """Matplotlib figure: histogram of sample densities for target D, beside the unconditional ones.

    ``unconditional`` (optional array of densities) saves sampling them again for every slider move.
    """
    import matplotlib.pyplot as plt
    _check_model(model)
    D = _check_number("density (g/cm^3)", density, *DENSITY_RANGE)
    w = _check_number("guidance", guidance, *GUIDANCE_RANGE)
    n_atoms = _check_int("n_atoms", n_atoms, *ATOMS_RANGE)
    n_samples = _check_int("n_samples", n_samples, 2, 200)
    corrector_steps = _check_int("corrector_steps", corrector_steps, 0, 10)
    rho = sample_densities(model, D, w, n_atoms, n_samples, seed, corrector_steps)
    if unconditional is None:
        unconditional = sample_densities(model, None, 0.0, n_atoms, n_samples, seed + 1, corrector_steps)
    unconditional = np.asarray(unconditional, dtype=float)
    fig, ax = plt.subplots(figsize=(7, 3.2))
    bins = np.geomspace(0.5, 20, 31)
    ax.hist(unconditional, bins=bins, alpha=0.5, color="grey", label=f"unconditional (median {np.median(unconditional):.2f})")
    ax.hist(rho, bins=bins, alpha=0.7, color="tab:blue", label=f"D = {D:g}, w = {w:g} (median {np.median(rho):.2f})")
    ax.axvline(D, color="tab:red", lw=2, label="target D")
    ax.axvspan(D / 1.15, D * 1.15, color="tab:red", alpha=0.1, label="±15 %")
    ax.set_xscale("log")
    ax.set_xlabel("density of the sample (g/cm³, log scale)")
    ax.set_ylabel("samples")
    ax.set_title(f"{n_samples} samples of {n_atoms} atoms: median {np.median(rho):.2f} g/cm³, "
                 f"{(np.median(rho) - D) / D:+.0%} from the target")
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    plt.close(fig)
    return fig
