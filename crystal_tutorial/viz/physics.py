"""Pure render functions of notebook 06 (physics validation); the sliders wrap them.

- ``render_correction``: a structure before and after the repulsion correction (plotly, two 3D
  scenes, with the violating pairs drawn in red) and its history (violations and d_min per step).
- ``render_symprec``: a prototype whose atoms are each displaced by a fixed distance, what spglib
  finds at one ``symprec``, and the space group it finds over a whole range of ``symprec``.
- Static figures: bond lengths from covalent radii, overlaid histograms, match-rate bars.

Every function validates its slider values (ValueError naming the argument, its range and what
it got) and returns figures. ``render_symprec`` remembers the last few symprec scans (they depend
on the prototype and the displacement, not on ``symprec``), so moving the symprec slider costs one
spglib call instead of a whole scan.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..checks import (
    check_array,
    check_choice,
    check_crystal,
    check_instance,
    check_int,
    check_number,
    check_rng,
    check_seed,
    describe,
)
from ..crystals import PROTOTYPES, Crystal, prototype
from ..pbc import displacements, minimum_image, wrap
from ..physics import MAX_SYMPREC, PhysicsValidator, prototype_from_dataset, symmetry_dataset
from ..viz.figures import plot_crystal

CORRECTION_RANGES = {"max_iterations": (0, 200), "step": (0.01, 1.0)}  # the correction sliders
SYMPREC_RANGES = {"displacement": (0.0, 0.5), "symprec": (0.01, 1.0)}  # Å, the symmetry sliders
SCAN_SYMPRECS = np.geomspace(0.01, 1.0, 17)  # Å, the symprec axis of render_symprec's scan (17: a fast slider)
MAX_DISPLACEMENT = 100.0  # Å: displacements and distance thresholds beyond this are not about atoms
H2_BOND = 0.741  # Å, the shortest bond there is (H2 molecule, NIST CCCBDB experimental r_e)


# --- structures ---------------------------------------------------------------------------------
def displace(crystal: Crystal, distance: float, rng: np.random.Generator) -> Crystal:
    """``crystal`` with every atom moved by exactly ``distance`` Å in a uniformly random direction."""
    check_crystal("crystal", crystal)
    distance = check_number("distance", distance, 0, MAX_DISPLACEMENT)  # Å
    check_rng("rng", rng)
    u = rng.standard_normal((crystal.n_atoms, 3))  # (N, 3) isotropic directions
    u *= distance / np.maximum(np.linalg.norm(u, axis=1, keepdims=True), 1e-300)  # (N, 3) Å, length `distance`
    frac = crystal.frac_coords + u @ np.linalg.inv(crystal.lattice)  # dr -> df = dr @ L^-1
    return Crystal(crystal.lattice, wrap(frac), crystal.numbers)


def violating_pairs(crystal: Crystal, min_distance: float = 0.7):
    """Pairs closer than ``min_distance`` Å: (P, 2) indices i < j and (P, 3) minimum-image vectors r_j - r_i (Å)."""
    check_crystal("crystal", crystal)
    vec, d = minimum_image(displacements(crystal.frac_coords), crystal.lattice)  # (N, N, 3), (N, N)
    min_distance = check_number("min_distance", min_distance, 0, MAX_DISPLACEMENT)  # Å
    i, j = np.nonzero(np.triu(d < min_distance, k=1))  # (P,), (P,) upper triangle: each pair once
    return np.stack([i, j], axis=1), vec[i, j]


def symmetry_scan(crystal: Crystal, symprecs=SCAN_SYMPRECS):
    """Space group number (0 where spglib fails) and prototype (or None) at each ``symprec`` (Å)."""
    check_crystal("crystal", crystal)
    symprecs = check_array("symprecs", symprecs, ("K",), low=0, low_open=True, high=MAX_SYMPREC)  # (K,) Å
    if symprecs.size == 0:
        raise ValueError("symprecs is empty; expected at least one tolerance in Å")
    datasets = [symmetry_dataset(crystal, float(s)) for s in symprecs]  # one spglib call per tolerance
    numbers = np.array([0 if ds is None else int(ds.number) for ds in datasets])  # (K,)
    return numbers, [prototype_from_dataset(ds) for ds in datasets]


# --- notebook 06: the correction panel ----------------------------------------------------------------
def _scene_figure(crystals, titles, pairs_by_crystal, height):
    """One plotly figure with a 3D scene per crystal; violating pairs drawn as red segments."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots
    fig = make_subplots(rows=1, cols=len(crystals), specs=[[{"type": "scene"}] * len(crystals)],
                        subplot_titles=titles, horizontal_spacing=0.02)
    for col, (crystal, (pairs, vecs)) in enumerate(zip(crystals, pairs_by_crystal), start=1):
        for trace in plot_crystal(crystal, boundary_images=False, marker_scale=9.0).data:  # small: pairs show
            trace.showlegend = col == 1
            fig.add_trace(trace, row=1, col=col)
        if len(pairs):
            start = crystal.cart_coords[pairs[:, 0]]  # (P, 3) Å
            seg = np.stack([start, start + vecs, np.full_like(start, np.nan)], axis=1).reshape(-1, 3)  # (3P, 3)
            fig.add_trace(go.Scatter3d(x=seg[:, 0], y=seg[:, 1], z=seg[:, 2], mode="lines",
                                       line=dict(color="red", width=8), name="pair < min distance",
                                       showlegend=col == 1, hoverinfo="skip"), row=1, col=col)
    scene = dict(aspectmode="data", xaxis_title="x (Å)", yaxis_title="y (Å)", zaxis_title="z (Å)")
    fig.update_layout(height=height, margin=dict(l=0, r=0, t=80, b=0),
                      **{f"scene{'' if k == 1 else k}": scene for k in range(1, len(crystals) + 1)})
    return fig


def render_correction(crystal: Crystal, max_iterations: int = 20, step: float = 0.1, validator=None,
                      height: int = 420):
    """Before/after of ``PhysicsValidator.correct_structure(crystal, max_iterations, step)``.

    Returns (plotly figure: the structure before and after, pairs closer than min_distance in red;
    matplotlib figure: violating pairs and d_min after each accepted step). The title reports how
    far the atoms moved (RMS, minimum image), the price of the correction.
    """
    import matplotlib.pyplot as plt
    check_crystal("crystal", crystal)
    max_iterations = check_int("max_iterations", max_iterations, *CORRECTION_RANGES["max_iterations"])
    step = check_number("step", step, *CORRECTION_RANGES["step"])
    validator = PhysicsValidator() if validator is None else validator
    check_instance("validator", validator, PhysicsValidator)
    height = check_int("height", height, 100, 4000)  # px
    result = validator.correct_structure(crystal, max_iterations=max_iterations, step=step)
    _, moved = minimum_image(result.crystal.frac_coords - wrap(crystal.frac_coords), crystal.lattice)  # (N,) Å
    rms = float(np.sqrt(np.mean(moved ** 2)))
    fig3d = _scene_figure(
        [crystal, result.crystal],
        [f"before: {result.n_violations_before} pairs < {validator.min_distance:g} Å, "
         f"d_min = {result.d_min_before:.2f} Å",
         f"after {result.iterations} steps: {result.n_violations_after} pairs, d_min = {result.d_min_after:.2f} Å"],
        [violating_pairs(c, validator.min_distance) for c in (crystal, result.crystal)], height)
    verdict = "valid" if result.success else "still invalid"
    fig3d.update_layout(title=f"step = {step:g}, at most {max_iterations} steps: {verdict}; "
                              f"atoms moved {rms:.3f} Å RMS (max {moved.max():.3f} Å)")

    steps = np.arange(len(result.n_violations_history))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3))
    ax1.step(steps, result.n_violations_history, where="post", color="tab:red")
    ax1.set_xlabel("accepted correction step")
    ax1.set_ylabel("pairs closer than min distance")
    ax1.set_ylim(bottom=0)
    ax2.plot(steps, result.d_min_history, "o-", ms=3, color="tab:blue", label="d_min")
    ax2.axhline(validator.min_distance, color="red", ls="--", lw=1, label=f"{validator.min_distance:g} Å")
    ax2.set_xlabel("accepted correction step")
    ax2.set_ylabel("d_min (Å)")
    ax2.legend(fontsize=8, loc="lower right")
    for ax in (ax1, ax2):
        ax.set_xlim(-0.5, max(1, steps[-1]) + 0.5)
    fig.suptitle(f"Correction history: {result.iterations} steps, {verdict}", fontsize=10)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.17, top=0.85, wspace=0.3)  # fixed margins: tight_layout is slow
    return fig3d, fig


# --- notebook 06: the symprec panel -----------------------------------------------------------------
@lru_cache(maxsize=32)
def _displaced_scan(name: str, displacement: float, seed: int):
    """The displaced prototype and its symmetry scan, cached: the symprec slider reuses them."""
    crystal = displace(prototype(name), displacement, np.random.default_rng(seed))
    numbers, protos = symmetry_scan(crystal)
    numbers.setflags(write=False)
    return crystal, numbers, tuple(protos)


def render_symprec(name: str = "fcc", displacement: float = 0.05, symprec: float = 0.1, seed: int = 0,
                   height: int = 380):
    """What spglib finds for prototype ``name`` (5 Å cell) with every atom moved ``displacement`` Å.

    Returns (plotly figure of the displaced structure, titled with spglib's verdict at ``symprec``;
    matplotlib figure: the space group number spglib finds for each symprec from 0.01 to 1 Å,
    with ``symprec`` and the displacement marked). Both distances are in Å.
    """
    import matplotlib.pyplot as plt
    check_choice("name", name, PROTOTYPES)
    seed = check_seed("seed", seed)
    height = check_int("height", height, 100, 4000)  # px
    displacement = check_number("displacement", displacement, *SYMPREC_RANGES["displacement"])
    symprec = check_number("symprec", symprec, *SYMPREC_RANGES["symprec"])
    crystal, numbers, protos = _displaced_scan(name, displacement, seed)
    ds = symmetry_dataset(crystal, symprec)
    found = "spglib failed" if ds is None else f"space group {ds.number} ({ds.international})"
    match = prototype_from_dataset(ds)
    fig3d = plot_crystal(crystal, boundary_images=displacement == 0, height=height,
                         title=f"{name.upper()}, atoms moved {displacement:.3f} Å; symprec {symprec:.3f} Å: "
                               f"{found} -> {match or 'no prototype'}")

    fig, ax = plt.subplots(figsize=(7, 3))
    ok = np.array([p == name for p in protos])  # (K,) recognised as the right prototype
    ax.semilogx(SCAN_SYMPRECS, numbers, "-", color="grey", lw=1)
    ax.semilogx(SCAN_SYMPRECS[ok], numbers[ok], "o", color="tab:green", ms=4, label=f"recognised as {name}")
    ax.semilogx(SCAN_SYMPRECS[~ok], numbers[~ok], "x", color="tab:red", ms=4, label="other group (0 = failed)")
    ax.axvline(symprec, color="black", lw=1.5, label=f"symprec = {symprec:.3f} Å")
    if displacement > 0:
        ax.axvspan(SCAN_SYMPRECS[0], min(4 * displacement, SCAN_SYMPRECS[-1]), color="tab:orange", alpha=0.15,
                   label="symprec < 4 x displacement")
    ax.set_xlabel("symprec (Å)")
    ax.set_ylabel("space group number")
    ax.set_ylim(-10, 240)
    ax.set_title(f"What spglib finds as the tolerance grows ({name}, atoms moved {displacement:.3f} Å)", fontsize=10)
    ax.legend(fontsize=7, loc="center left")
    fig.subplots_adjust(left=0.1, right=0.98, bottom=0.17, top=0.88)  # fixed margins: fast slider
    return fig3d, fig


# --- static figures -------------------------------------------------------------------------------------
def plot_bond_lengths(reference=None, min_distance: float = 0.7, z_max: int = 86):
    """2 x covalent radius (ASE) for elements 1..z_max, the nearest-neighbour distance of ``reference``
    crystals ({symbol: Crystal}) and the ``min_distance`` threshold, in Å."""
    import matplotlib.pyplot as plt
    from ase.data import chemical_symbols, covalent_radii

    from ..pbc import min_distance as d_min
    z_max = check_int("z_max", z_max, 1, len(covalent_radii) - 1)  # ASE has radii up to Z = 118
    min_distance = check_number("min_distance", min_distance, 0, MAX_DISPLACEMENT)  # Å
    if reference is not None and (not isinstance(reference, dict)
                                  or not all(isinstance(c, Crystal) for c in reference.values())):
        raise TypeError(f"reference must be a dict {{symbol: Crystal}} or None, got {describe(reference)}")
    z = np.arange(1, z_max + 1)
    fig, ax = plt.subplots(figsize=(8, 3.4))
    ax.plot(z, 2 * covalent_radii[z], ".", color="tab:blue", label="2 x covalent radius (ASE)")
    for symbol, crystal in (reference or {}).items():
        zz = int(crystal.numbers[0])
        ax.plot(zz, d_min(crystal.frac_coords, crystal.lattice), "x", color="black", ms=7)
        ax.annotate(symbol, (zz, d_min(crystal.frac_coords, crystal.lattice)), textcoords="offset points",
                    xytext=(3, 4), fontsize=7)
    if reference:
        ax.plot([], [], "x", color="black", label="nearest neighbour in the real crystal")
    ax.plot(1, H2_BOND, "+", color="tab:green", ms=9, label=f"H2 molecule, measured ({H2_BOND} Å)")
    ax.axhline(min_distance, color="red", ls="--", lw=1, label=f"validity threshold {min_distance:g} Å")
    for zz, offset in ((1, (-10, 5)), (2, (4, -10))):
        ax.annotate(chemical_symbols[zz], (zz, 2 * covalent_radii[zz]), textcoords="offset points",
                    xytext=offset, fontsize=7, color="tab:blue")
    ax.set_xlabel("atomic number Z")
    ax.set_ylabel("bond length (Å)")
    ax.set_ylim(0, None)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def plot_histograms(groups: dict, xlabel: str, title: str = "", threshold: float | None = None, bins=30,
                    threshold_label: str | None = None):
    """Overlaid step histograms of ``groups`` ({label: values}), infinite values dropped, and an
    optional vertical line at ``threshold``."""
    import matplotlib.pyplot as plt
    if not isinstance(groups, dict):
        raise TypeError(f"groups must be a non-empty dict {{label: values}}, got {describe(groups)}")
    if not groups:
        raise ValueError("groups is empty; expected a dict {label: values}")
    finite = {k: (lambda a: a[np.isfinite(a)])(check_array(f"groups[{k!r}]", v, ("n",), finite=False))
              for k, v in groups.items()}  # label -> (n,) finite values
    everything = np.concatenate(list(finite.values()))
    if everything.size == 0:
        raise ValueError("groups hold no finite values to plot")
    bins = check_int("bins", bins, 1, 1000) if np.ndim(bins) == 0 else check_array("bins", bins, ("K",))
    edges = np.histogram_bin_edges(everything, bins=bins)
    fig, ax = plt.subplots(figsize=(7, 3))
    for label, values in finite.items():
        ax.hist(values, bins=edges, histtype="step", lw=1.8, label=f"{label} ({values.size})")
    if threshold is not None:
        threshold = check_number("threshold", threshold)
        ax.axvline(threshold, color="red", ls="--", lw=1,
                   label=f"threshold {threshold:g}" if threshold_label is None else threshold_label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("structures")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_match_rates(rates: dict, symprecs):
    """Grouped bars: ``rates`` = {label: [prototype match rate at each symprec]}, symprecs in Å."""
    import matplotlib.pyplot as plt
    symprecs = list(symprecs)
    if not isinstance(rates, dict) or not rates or any(len(r) != len(symprecs) for r in rates.values()):
        raise ValueError(f"rates must be a non-empty dict {{label: one rate per symprec ({len(symprecs)})}}")
    width = 0.8 / len(rates)
    x = np.arange(len(symprecs))
    fig, ax = plt.subplots(figsize=(7, 3))
    for k, (label, r) in enumerate(rates.items()):
        bars = ax.bar(x + (k - (len(rates) - 1) / 2) * width, 100 * np.asarray(r), width, label=label)
        ax.bar_label(bars, fmt="%.0f", fontsize=7)
    ax.set_xticks(x, [f"{s:g} Å" for s in symprecs])
    ax.set_xlabel("spglib tolerance symprec")
    ax.set_ylabel("matches a prototype (%)")
    ax.set_ylim(0, 110)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig
