"""Pictures of crystals: rotatable plotly 3D unit cells, and matplotlib counterparts for static figures.

Atoms are coloured by element (Jmol colours, as VESTA and ASE use) and sized by covalent radius.
"""
from __future__ import annotations

import itertools

import numpy as np

from ..checks import (
    check_bool,
    check_choice,
    check_crystal,
    check_int,
    check_lattice,
    check_number,
    check_positive,
    check_seed,
)
from ..crystals import Crystal

GREY = (0.5, 0.5, 0.5)  # atoms beyond ASE's colour table (Z > 109)

# The 12 edges of the unit cube, as pairs of corner indices into CUBE_CORNERS.
CUBE_CORNERS = np.array(list(itertools.product((0, 1), repeat=3)), dtype=float)  # (8, 3)
CUBE_EDGES = [(i, j) for i in range(8) for j in range(i + 1, 8)
              if np.abs(CUBE_CORNERS[i] - CUBE_CORNERS[j]).sum() == 1]


def element_color(number: int) -> str:
    """Jmol colour of an element as a CSS ``rgb(...)`` string."""
    from ase.data.colors import jmol_colors
    number = check_int("number", number, 1, 118)
    rgb = jmol_colors[number] if number < len(jmol_colors) else GREY  # ASE's table stops at Z = 109
    r, g, b = (np.clip(rgb, 0, 1) * 255).astype(int)
    return f"rgb({r},{g},{b})"


def element_size(number: int, scale: float = 22.0) -> float:
    """Marker size (px) proportional to the covalent radius (ASE's data)."""
    from ase.data import covalent_radii
    number = check_int("number", number, 1, 118)
    return float(check_positive("scale", scale, upper=1e4) * covalent_radii[number])


def cell_edges(lattice) -> np.ndarray:
    """Cartesian line segments of the cell edges, (3 * 12, 3), with NaN rows separating segments."""
    lattice = check_lattice("lattice", lattice)  # (3, 3) Å
    corners = CUBE_CORNERS @ lattice  # (8, 3)
    segments = [np.vstack([corners[i], corners[j], [np.nan] * 3]) for i, j in CUBE_EDGES]
    return np.vstack(segments)


def image_coords(crystal: Crystal, supercell=(1, 1, 1), boundary_images: bool = False):
    """Fractional coordinates and numbers to draw: the supercell, plus (optionally) the periodic
    images that sit on the far faces and corners, so that a cubic cell looks complete."""
    check_crystal("crystal", crystal)
    if np.ndim(supercell) != 1 or len(supercell) != 3:
        raise ValueError(f"supercell must be three integers in 1..6, got {supercell!r}")
    supercell = tuple(check_int(f"supercell[{i}]", n, 1, 6) for i, n in enumerate(supercell))
    boundary_images = check_bool("boundary_images", boundary_images)
    frac = crystal.wrapped().frac_coords
    shifts = np.array(list(itertools.product(*[range(n + 1 if boundary_images else n) for n in supercell])),
                      dtype=float)  # (S, 3)
    all_frac = (frac[None, :, :] + shifts[:, None, :]).reshape(-1, 3)  # (S * N, 3)
    numbers = np.tile(crystal.numbers, len(shifts))
    keep = np.all(all_frac <= np.array(supercell) + 1e-6, axis=1)
    return all_frac[keep], numbers[keep]


def plot_crystal(crystal: Crystal, supercell=(1, 1, 1), boundary_images: bool = True, title: str | None = None,
                 show_cell: bool = True, height: int = 420, marker_scale: float = 22.0, fig=None):
    """A rotatable plotly 3D figure of ``crystal``: cell edges, atoms coloured by element.

    ``supercell`` repeats the cell; ``boundary_images`` also draws the atoms on the far faces.
    Returns a ``plotly.graph_objects.Figure``.
    """
    import plotly.graph_objects as go
    check_crystal("crystal", crystal)
    height = check_int("height", height, 100, 4000)  # px
    marker_scale = check_positive("marker_scale", marker_scale, upper=1e4)
    frac, numbers = image_coords(crystal, supercell, boundary_images)
    cart = frac @ crystal.lattice  # (M, 3) Å
    fig = go.Figure() if fig is None else fig
    if show_cell:
        big = crystal.lattice * np.array(supercell)[:, None]
        edges = cell_edges(big)
        fig.add_trace(go.Scatter3d(x=edges[:, 0], y=edges[:, 1], z=edges[:, 2], mode="lines",
                                   line=dict(color="black", width=3), name="cell", hoverinfo="skip"))
    from ase.data import chemical_symbols
    for z in np.unique(numbers):
        sel = numbers == z
        fig.add_trace(go.Scatter3d(
            x=cart[sel, 0], y=cart[sel, 1], z=cart[sel, 2], mode="markers", name=chemical_symbols[z],
            marker=dict(size=element_size(z, marker_scale), color=element_color(z),
                        line=dict(color="black", width=1), opacity=0.95),
            hovertemplate=chemical_symbols[z] + " (%{x:.2f}, %{y:.2f}, %{z:.2f}) Å<extra></extra>"))
    fig.update_layout(
        title=title if title is not None else f"{crystal.formula}, {crystal.n_atoms} atoms",
        height=height, margin=dict(l=0, r=0, t=40, b=0), showlegend=True,
        scene=dict(aspectmode="data", xaxis_title="x (Å)", yaxis_title="y (Å)", zaxis_title="z (Å)"))
    return fig


def plot_crystal_mpl(crystal: Crystal, ax=None, supercell=(1, 1, 1), boundary_images: bool = True,
                     title: str | None = None, marker_scale: float = 300.0):
    """Static matplotlib 3D counterpart of :func:`plot_crystal`; returns the Axes."""
    import matplotlib.pyplot as plt
    from ase.data import chemical_symbols, covalent_radii
    from ase.data.colors import jmol_colors
    check_crystal("crystal", crystal)
    marker_scale = check_positive("marker_scale", marker_scale, upper=1e5)
    if ax is None:
        ax = plt.figure(figsize=(4.5, 4.5)).add_subplot(projection="3d")
    frac, numbers = image_coords(crystal, supercell, boundary_images)
    cart = frac @ crystal.lattice
    edges = cell_edges(crystal.lattice * np.array(supercell)[:, None])
    ax.plot(edges[:, 0], edges[:, 1], edges[:, 2], color="black", lw=1)
    for z in np.unique(numbers):
        sel = numbers == z
        ax.scatter(cart[sel, 0], cart[sel, 1], cart[sel, 2], s=marker_scale * covalent_radii[z],
                   color=np.clip(jmol_colors[z], 0, 1), edgecolor="black", depthshade=True,
                   label=chemical_symbols[z])
    ax.set_xlabel("x (Å)")
    ax.set_ylabel("y (Å)")
    ax.set_zlabel("z (Å)")
    ax.set_box_aspect(np.ptp(np.vstack([cart, edges[~np.isnan(edges[:, 0])]]), axis=0) + 1e-9)
    ax.set_title(title if title is not None else f"{crystal.formula}, {crystal.n_atoms} atoms")
    return ax


# Slider ranges of the notebook 01 crystal explorer, checked by render_prototype_explorer.
EXPLORER_RANGES = {"a": (2.0, 8.0), "perturbation": (0.0, 0.2), "supercell": (1, 3)}


def render_prototype_explorer(name: str = "fcc", a: float = 4.0, perturbation: float = 0.0, supercell: int = 1,
                              number: int = 29, seed: int = 0):
    """Notebook 01's explorer: prototype ``name`` with lattice constant ``a`` (Å), Gaussian jitter of
    ``perturbation`` (fractional units) and an ``supercell`` x ``supercell`` x ``supercell`` repeat.

    Returns a plotly figure titled with the nearest-neighbour distance and density.
    """
    from ..crystals import PROTOTYPES, jitter, prototype
    from ..pbc import min_distance
    check_choice("name", name, PROTOTYPES)
    a = check_number("a", a, *EXPLORER_RANGES["a"])
    perturbation = check_number("perturbation", perturbation, *EXPLORER_RANGES["perturbation"])
    supercell = check_int("supercell", supercell, *EXPLORER_RANGES["supercell"])
    number = check_int("number", number, 1, 118)
    seed = check_seed("seed", seed)
    crystal = prototype(name, a=a, number=number)
    if perturbation > 0:
        crystal = jitter(crystal, perturbation, np.random.default_rng(seed))
    d_min = min_distance(crystal.frac_coords, crystal.lattice)
    title = (f"{name.upper()}, a = {a:.2f} Å: nearest neighbour {d_min:.3f} Å, "
             f"density {crystal.density:.2f} g/cm³")
    return plot_crystal(crystal, supercell=(int(supercell),) * 3, boundary_images=perturbation == 0, title=title)
