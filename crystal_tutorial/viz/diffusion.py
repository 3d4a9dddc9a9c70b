"""The timestep scrubber of notebook 02: a pure render function for a slider over t = 0..T.

:func:`render_scrubber` noises one crystal prototype with a fixed noise draw (the same z for every
t, so the picture changes smoothly as you scrub) and returns two plotly figures: the noised
crystal in 3D, and a histogram of the coordinates of many noised copies against the density they
should reach at t = T (the standard normal for naive DDPM, the uniform density on the torus for
the wrapped normal).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..checks import check_choice, check_int, check_seed
from ..crystals import PROTOTYPES, Crystal, prototype
from ..diffusion import (
    cosine_schedule,
    from_centered,
    linear_schedule,
    q_sample,
    to_centered,
    ve_sample,
    ve_sigmas_from_schedule,
    wrapped_normal_pdf,
)

SCHEDULES = ("linear", "cosine")
NOISE_KINDS = ("naive", "wrapped")
N_COPIES = 1000  # noised copies of the crystal behind the histogram
N_CLOUD = 200    # of which the 3D view shows copy 0 as atoms and the others as a cloud of dots


@lru_cache(maxsize=16)
def _schedule(name: str, T: int):
    return linear_schedule(T) if name == "linear" else cosine_schedule(T)


@lru_cache(maxsize=16)
def _fixed_noise(proto: str, seed: int):
    """The clean crystal and one noise draw z, (N_COPIES, N, 3), reused for every t."""
    crystal = prototype(proto)
    z = np.random.default_rng(seed).standard_normal((N_COPIES,) + crystal.frac_coords.shape)
    z.setflags(write=False)
    return crystal, z


def forward_noised(t: int, proto: str = "fcc", schedule: str = "linear", noise: str = "naive",
                   T: int = 100, seed: int = 0):
    """Noise N_COPIES copies of a prototype to step t with a fixed draw.

    Returns ``(crystal, frac_t, values, info)``: the clean crystal, noised fractional coordinates
    (N_COPIES, N, 3) in [0, 1), the coordinates the histogram shows (centred x_t for "naive",
    wrapped fractional for "wrapped"), and ``info`` with alpha_bar, snr and sigma at t.
    """
    check_choice("prototype", proto, PROTOTYPES)
    check_choice("schedule", schedule, SCHEDULES)
    check_choice("noise", noise, NOISE_KINDS)
    T = check_int("T", T, 1, 10_000)
    t = check_int("t", t, 0, T)
    sched = _schedule(schedule, T)
    crystal, z = _fixed_noise(proto, check_seed("seed", seed))
    x0 = np.broadcast_to(crystal.frac_coords, z.shape)  # (C, N, 3)
    info = dict(alpha_bar=float(sched.alpha_bars[t]), snr=float(sched.snr[t]), sigma=None)
    if noise == "naive":
        values, _ = q_sample(sched, to_centered(x0), int(t), noise=z)  # (C, N, 3) in R^3
        frac_t = from_centered(values)
    else:
        sigma = float(ve_sigmas_from_schedule(sched)[t])  # same SNR as the DDPM at this t
        frac_t, _ = ve_sample(x0, sigma, noise=z)
        values, info["sigma"] = frac_t, sigma
    return crystal, frac_t, values, info


def _title(t, T, info):
    snr = "∞" if np.isinf(info["snr"]) else f"{info['snr']:.3g}"
    text = f"t = {t}/{T}, ᾱ<sub>t</sub> = {info['alpha_bar']:.3g}, SNR = {snr}"
    return text + (f", σ<sub>t</sub> = {info['sigma']:.3g}" if info["sigma"] is not None else "")


def render_scrubber(t: int = 10, prototype: str = "fcc", schedule: str = "linear", noise: str = "naive",
                    T: int = 100, seed: int = 0):
    """The scrubber's two figures at step ``t``: ``(3D crystal, coordinate histogram)``, plotly.

    3D: copy 0 of the noised crystal (wrapped into the cell) as atoms, N_CLOUD - 1 other noise
    draws as dots, the clean sites as open circles. Histogram: all coordinates of N_COPIES noised
    copies, as a density, against the closed-form density of x_t and the density x_T should reach:
    the standard normal ("naive": centred coordinates in R^3) or the uniform density ("wrapped").
    """
    import plotly.graph_objects as go

    from ..viz.figures import image_coords, plot_crystal
    crystal, frac_t, values, info = forward_noised(t, prototype, schedule, noise, T, seed)
    title = _title(t, T, info)

    noisy = Crystal(crystal.lattice, frac_t[0], crystal.numbers)
    fig3d = plot_crystal(noisy, title=f"{prototype.upper()}, {noise} noise: {title}", height=400)
    cloud = frac_t[1:N_CLOUD].reshape(-1, 3) @ crystal.lattice  # (M, 3) Å, other noise draws
    sites = image_coords(crystal, boundary_images=True)[0] @ crystal.lattice  # (S, 3) Å, clean sites
    fig3d.add_trace(go.Scatter3d(x=cloud[:, 0], y=cloud[:, 1], z=cloud[:, 2], mode="markers",
                                 name=f"{N_CLOUD - 1} other draws", hoverinfo="skip",
                                 marker=dict(size=1.5, color="steelblue", opacity=0.5)))
    fig3d.add_trace(go.Scatter3d(x=sites[:, 0], y=sites[:, 1], z=sites[:, 2], mode="markers",
                                 name="x<sub>0</sub> sites", hoverinfo="skip",
                                 marker=dict(size=6, color="rgba(0,0,0,0)", line=dict(color="gray", width=2))))

    c0 = crystal.frac_coords.reshape(-1)  # (3N,) clean coordinate values; q(x_t) mixes one bump per value
    if noise == "naive":
        edges, grid = np.linspace(-3.5, 3.5, 71), np.linspace(-3.5, 3.5, 301)
        ref, ref_name, xlabel = np.exp(-grid ** 2 / 2) / np.sqrt(2 * np.pi), "N(0, 1)", "centred coordinate x_t"
        mu, var = np.sqrt(info["alpha_bar"]) * (c0 - 0.5), 1.0 - info["alpha_bar"]  # eq. 4 of Ho et al.
        exact = (np.exp(-(grid[:, None] - mu) ** 2 / (2 * var)) / np.sqrt(2 * np.pi * var)).mean(1) if var else None
    else:
        edges, grid = np.linspace(0.0, 1.0, 41), np.linspace(0.0, 1.0, 201)
        ref, ref_name, xlabel = np.ones_like(grid), "uniform", "fractional coordinate (wrapped)"
        exact = wrapped_normal_pdf(grid[:, None] - c0, info["sigma"]).mean(1) if info["sigma"] else None
    counts, _ = np.histogram(values, bins=edges)
    density = counts / (values.size * np.diff(edges))  # fraction per unit length
    traces = [go.Bar(x=0.5 * (edges[1:] + edges[:-1]), y=density, width=np.diff(edges), name="x_t, all copies",
                     marker_color="steelblue", opacity=0.75),
              go.Scatter(x=grid, y=ref, mode="lines", name=ref_name, line=dict(color="black", dash="dash"))]
    if exact is not None:  # the closed-form density of x_t (a delta comb at t = 0, not drawn)
        traces.append(go.Scatter(x=grid, y=exact, mode="lines", name="exact q(x_t)", line=dict(color="crimson")))
    fig_hist = go.Figure(traces)
    fig_hist.update_layout(title=title, height=300, margin=dict(l=50, r=10, t=40, b=40), bargap=0,
                           xaxis_title=xlabel + " (fractional units)", yaxis_title="density (1 / fractional unit)",
                           yaxis_range=[0, 1.1 * max(density.max(), ref.max())])
    return fig3d, fig_hist
