"""Pure helpers of notebook 07 (complexity in practice): fits of sweeps, log-log plots, the summary
table and the live brute-force-against-cell-list timing behind the notebook's slider.

Every function validates its arguments and returns a value or a matplotlib ``Figure`` (``plot_sweep``
draws on the axes it is given); none keeps state. Timings come from ``crystal_tutorial.complexity``.
"""
from __future__ import annotations

import re
import time
from dataclasses import replace

import numpy as np

from ..checks import check_bool, check_choice, check_instance, check_int, check_number, check_seed, describe
from ..complexity import (
    BRUTE_FORCE_BYTES_PER_PAIR,
    PowerLawFit,
    Sweep,
    Timing,
    brute_force_min_distance,
    fit_power_law,
    scaling_sweep,
    time_call,
)
from ..crystals import Crystal
from ..neighbours import min_distance_cell_list

STATISTICS = ("min", "median")
COPPER_VOLUME_PER_ATOM = 11.81  # Å^3: FCC copper, a = 3.615 Å, 4 atoms per cubic cell
N_ATOMS_RANGE = (2, 20_000)  # the slider's range of atom counts
BRUTE_FORCE_LIVE_MAX = 700  # above this the slider predicts the brute force instead of running it (~0.5 s)


def _times(sweep: Sweep, statistic: str) -> np.ndarray:
    check_instance("sweep", sweep, Sweep, "from scaling_sweep")
    check_choice("statistic", statistic, STATISTICS)
    return np.array([getattr(t, statistic) for t in sweep.timings])  # (K,) seconds


def interleaved_sweep(make_input, fn, sizes, rounds: int = 3, repeats: int = 1, number: int = 1) -> Sweep:
    """``scaling_sweep`` over all ``sizes``, ``rounds`` times; the timings of each size are pooled.

    A burst of load from another process usually lasts longer than one call. One sweep times each
    size in one go, so a burst can spoil every repeat of one size and bend the fit; sweeping all
    sizes several times spreads a burst over the sizes, and the fastest repeat of each size is
    then far more likely to be clean. Only the first round has a warm-up call.
    """
    rounds = check_int("rounds", rounds, 1, 1000)
    sweeps = [scaling_sweep(make_input, fn, sizes, repeats, warmup=1 if r == 0 else 0, number=number)
              for r in range(rounds)]  # loop over rounds, each over all sizes
    pooled = tuple(Timing(np.concatenate([sw.timings[k].times for sw in sweeps]))  # (rounds * repeats,) each
                   for k in range(len(sweeps[0].sizes)))
    return Sweep(sweeps[0].sizes, pooled)


def fit_sweep(sweep: Sweep, statistic: str = "min", confidence: float = 0.95, variable: str = "N") -> PowerLawFit:
    """Power law fitted to the fastest (``"min"``) or the median repeat at each size.

    ``variable`` names the swept size in the printed fit ("t ~ P^1.02" for a sweep over parameters P).

    On a shared machine other processes only ever add time to a run, so the fastest repeat is
    the closest to the cost of the code itself (the advice of Python's ``timeit`` documentation);
    ``Sweep.fit`` uses the median.
    """
    times = _times(sweep, statistic)  # (K,) seconds; validates sweep and statistic
    return _named(fit_power_law(sweep.sizes, times, confidence), variable)


def _named(fit: PowerLawFit, variable: str) -> PowerLawFit:
    if not isinstance(variable, str):
        raise TypeError(f"variable must be a name such as 'N' or 'D', got {describe(variable)}")
    if not variable.strip():
        raise ValueError(f"variable must be a non-empty name such as 'N' or 'D', got {variable!r}")
    return replace(fit, variable=variable.strip())


def _variable_of(xlabel: str) -> str:
    """The size a plot sweeps, from its axis label: "hidden width D" -> "D", "rows N (atoms)" -> "N"."""
    found = re.search(r"\b([A-Z])\b", xlabel)
    return found.group(1) if found else "N"


def window(sweep: Sweep, low: float, high: float) -> Sweep:
    """The part of ``sweep`` with ``low <= size <= high``: fit where the asymptotic term dominates."""
    _times(sweep, "min")  # validates sweep
    low, high = check_number("low", low), check_number("high", high)
    keep = (sweep.sizes >= low) & (sweep.sizes <= high)  # (K,) bool
    if keep.sum() < 3:
        raise ValueError(f"the window [low, high] = [{low:g}, {high:g}] holds {int(keep.sum())} sizes of "
                         f"{sweep.sizes.tolist()}; "
                         "a fit needs at least 3")
    return Sweep(sweep.sizes[keep], tuple(t for t, k in zip(sweep.timings, keep) if k))


def _tidy_log_axis(axis, low: float, high: float):
    """Plain-number tick labels (1e-3 -> "0.001", 2000 -> "2,000"); label the 2x and 5x minor
    ticks too when the axis spans fewer than 2.5 decades, so short axes are not left bare."""
    from matplotlib.ticker import FuncFormatter

    def plain(v, _=None):
        return f"{v:,.0f}" if v >= 1 else f"{v:.1g}"

    few = np.log10(high / low) < 2.5
    axis.set_major_formatter(FuncFormatter(plain))
    axis.set_minor_formatter(FuncFormatter(
        lambda v, _: plain(v) if few and round(v / 10 ** np.floor(np.log10(v) + 1e-9), 6) in (2, 5) else ""))


def plot_sweep(ax, sweep: Sweep, claimed: float | None = None, label: str = "", color=None,
               statistic: str = "min", xlabel: str = "size N", variable: str | None = None) -> PowerLawFit:
    """Draw one sweep on log-log axes ``ax``: measured times, the fitted line, the claimed slope.

    Points are the ``statistic`` of the repeats at each size, with a bar from the fastest to the
    slowest repeat. The fitted line t = c N^k is labelled with k and its 95% interval; the claimed
    exponent (if given) is a dashed line through the middle of the data. Returns the fit, which
    prints with ``variable`` (default: the capital letter in ``xlabel``, e.g. "t ~ D^1.8").
    """
    claimed = None if claimed is None else check_number("claimed", claimed, -100, 100)  # an exponent
    t = _times(sweep, statistic)  # (K,) seconds
    fit = _named(fit_power_law(sweep.sizes, t), _variable_of(xlabel) if variable is None else variable)
    n = np.asarray(sweep.sizes, dtype=float)  # (K,)
    lo = np.array([x.min for x in sweep.timings])
    hi = np.array([x.max for x in sweep.timings])
    line = ax.plot(n, t, "o", color=color, ms=5)[0]
    color = line.get_color()
    ax.vlines(n, lo, hi, color=color, alpha=0.35, lw=2)
    grid = np.geomspace(n.min(), n.max(), 50)  # (50,)
    ax.plot(grid, fit.predict(grid), "-", color=color,
            label=f"{label + ': ' if label else ''}k = {fit.exponent:.2f} [{fit.ci_low:.2f}, {fit.ci_high:.2f}]")
    if claimed is not None:
        n_mid, t_mid = np.exp(np.mean(np.log(n))), np.exp(np.mean(np.log(t)))  # the fit passes through here
        ax.plot(grid, t_mid * (grid / n_mid) ** claimed, "--", color="grey", lw=1,
                label=f"claimed slope {claimed:g}" if not any(
                    h.get_label() == f"claimed slope {claimed:g}" for h in ax.get_lines()) else None)
    ax.set_xscale("log")
    ax.set_yscale("log")
    _tidy_log_axis(ax.xaxis, *ax.get_xlim())
    _tidy_log_axis(ax.yaxis, *ax.get_ylim())
    ax.set_xlabel(xlabel)
    ax.set_ylabel("time per call (s)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return fit


def summary_table(rows) -> str:
    """A Markdown table from ``rows``: dicts with keys operation, claimed (e.g. "O(N^2)"), variable,
    exponent (the claimed exponent in that variable), fit (a PowerLawFit) and note."""
    keys = ("operation", "claimed", "variable", "exponent", "fit", "note")
    rows = list(rows)
    if not rows:
        raise ValueError("rows is empty: measure at least one sweep first")
    lines = ["| operation | claimed | swept | claimed exponent | measured exponent (95% CI) | note |",
             "|---|---|---|---|---|---|"]
    for i, row in enumerate(rows):
        missing = [k for k in keys if k not in row]
        if missing:
            raise ValueError(f"rows[{i}] lacks the keys {missing}; each row needs {keys}")
        fit = row["fit"]
        check_instance(f"rows[{i}]['fit']", fit, PowerLawFit)
        lines.append(f"| {row['operation']} | {row['claimed']} | {row['variable']} | {row['exponent']:g} | "
                     f"{fit.exponent:.2f} [{fit.ci_low:.2f}, {fit.ci_high:.2f}] | {row['note']} |")
    return "\n".join(lines)


# --- the slider: brute force against the cell list for one structure --------------------------------
def random_gas(n_atoms: int, seed: int = 0, volume_per_atom: float = COPPER_VOLUME_PER_ATOM) -> Crystal:
    """``n_atoms`` copper atoms at uniformly random positions in a cube at copper's density."""
    n_atoms = check_int("n_atoms", n_atoms, *N_ATOMS_RANGE)
    volume_per_atom = check_number("volume_per_atom", volume_per_atom, 1, 1000)  # Å^3
    rng = np.random.default_rng(check_seed("seed", seed))
    a = (n_atoms * volume_per_atom) ** (1 / 3)  # Å, cube edge
    return Crystal(np.eye(3) * a, rng.random((n_atoms, 3)), np.full(n_atoms, 29))


def jittered_supercell(reps, sigma: float = 0.2, seed: int = 0, a: float = 3.61) -> Crystal:
    """An FCC copper supercell ``reps`` = (n1, n2, n3) (4 n1 n2 n3 atoms, lattice constant ``a`` Å),
    every atom moved by Gaussian noise of ``sigma`` Å along x, y and z (Cartesian, so the same
    noise along every axis whatever the supercell's shape)."""
    from ..crystals import prototype
    sigma = check_number("sigma", sigma, 0, 10)  # Å
    crystal = prototype("fcc", a=check_number("a", a, 1, 100), number=29).supercell(reps)
    rng = np.random.default_rng(check_seed("seed", seed))
    cart = crystal.cart_coords + rng.normal(0.0, sigma, (crystal.n_atoms, 3))  # (N, 3) Å
    return Crystal(crystal.lattice, cart @ np.linalg.inv(crystal.lattice), crystal.numbers)


def time_min_distance(n_atoms: int, seed: int = 0, repeats: int = 3, brute_force: bool = True) -> dict:
    """Time the cell list and (if ``brute_force``) the brute force on ``random_gas(n_atoms, seed)``.

    Returns ``{"n_atoms", "d_cells", "t_cells", "d_brute", "t_brute"}`` (Å and seconds, the fastest
    of ``repeats``; above 300 atoms the brute force runs once, and its entries are None when skipped).
    """
    from ..nn import blas_threads
    repeats = check_int("repeats", repeats, 1, 100)
    brute_force = check_bool("brute_force", brute_force)
    crystal = random_gas(n_atoms, seed)
    out = {"n_atoms": crystal.n_atoms, "d_cells": min_distance_cell_list(crystal), "d_brute": None, "t_brute": None}
    with blas_threads(1):  # small (N, 3) @ (3, 3) products: one BLAS thread, as in the notebook's sweeps
        out["t_cells"] = time_call(lambda: min_distance_cell_list(crystal), repeats, warmup=0).min
        if brute_force:
            start = time.perf_counter()
            out["d_brute"] = brute_force_min_distance(crystal)
            out["t_brute"] = time.perf_counter() - start
            if crystal.n_atoms <= 300 and repeats > 1:  # cheap: a few more runs, keep the fastest
                more = time_call(lambda: brute_force_min_distance(crystal), repeats - 1, warmup=0).min
                out["t_brute"] = min(out["t_brute"], more)
    return out


def _ratio(t_brute: float, t_cells: float) -> str:
    """"3.2x slower" or "1.5x faster": the brute force against the cell list, never "1x slower"."""
    r = t_brute / t_cells
    x = r if r >= 1 else 1 / r
    return (f"{x:,.0f}x" if x >= 10 else f"{x:.2g}x") + (" slower" if r >= 1 else " faster")


def render_min_distance_timing(n_atoms: int = 400, fits: dict | None = None, seed: int = 0):
    """The slider's view: brute force and cell list on one random structure of ``n_atoms`` atoms.

    Both run live up to ``BRUTE_FORCE_LIVE_MAX`` atoms; above it only the cell list runs and the
    brute force is predicted from ``fits["brute force"]`` (if given), with its memory estimate.
    ``fits`` maps "brute force" and "cell list" to PowerLawFits, drawn as lines. Returns a Figure.
    """
    from matplotlib.figure import Figure
    n_atoms = check_int("n_atoms", n_atoms, *N_ATOMS_RANGE)
    fits = {} if fits is None else fits
    if not isinstance(fits, dict) or not all(isinstance(f, PowerLawFit) for f in fits.values()):
        raise TypeError(f"fits must be a dict of name -> PowerLawFit, e.g. {{'brute force': fit}}, "
                        f"got {describe(fits)}")
    live = n_atoms <= BRUTE_FORCE_LIVE_MAX
    r = time_min_distance(n_atoms, seed, brute_force=live)
    if live and abs(r["d_brute"] - r["d_cells"]) > 1e-9:
        raise RuntimeError(f"cell list ({r['d_cells']}) and brute force ({r['d_brute']}) disagree")
    fig = Figure(figsize=(7, 3.8))
    ax = fig.add_subplot()
    grid = np.geomspace(*N_ATOMS_RANGE, 60)  # (60,)
    colors = {"brute force": "C3", "cell list": "C0"}
    for name, fit in fits.items():
        ax.plot(grid, fit.predict(grid), "-", color=colors.get(name, "grey"), alpha=0.5,
                label=f"{name} fit: N^{fit.exponent:.2f}")
    ax.plot(n_atoms, r["t_cells"], "o", color="C0", ms=10, label="cell list, now")
    memory = BRUTE_FORCE_BYTES_PER_PAIR * float(n_atoms) ** 2  # bytes
    if live:
        ax.plot(n_atoms, r["t_brute"], "s", color="C3", ms=10, label="brute force, now")
        brute = f"brute force {r['t_brute'] * 1e3:.3g} ms"
        ratio = f" ({_ratio(r['t_brute'], r['t_cells'])} than the cell list)"
    elif "brute force" in fits:
        t_pred = float(fits["brute force"].predict(n_atoms))
        ax.plot(n_atoms, t_pred, "s", mfc="none", color="C3", ms=10, label="brute force, predicted")
        brute, ratio = f"brute force predicted {t_pred:.3g} s", f" ({_ratio(t_pred, r['t_cells'])} than the cell list)"
    else:
        brute, ratio = "brute force not run", ""
    ax.set_xscale("log")
    ax.set_yscale("log")
    _tidy_log_axis(ax.xaxis, *N_ATOMS_RANGE)
    ax.set_xlabel("atoms N")
    ax.set_ylabel("time per call (s)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="upper left")
    ax.set_title(f"N = {n_atoms}: cell list {r['t_cells'] * 1e3:.3g} ms, {brute}{ratio}\n"
                 f"d_min = {r['d_cells']:.4f} Å; brute-force memory about "
                 f"{f'{memory / 1e9:.3g} GB' if memory >= 1e9 else f'{memory / 1e6:.3g} MB'}", fontsize=9)
    fig.subplots_adjust(left=0.12, right=0.97, bottom=0.14, top=0.85)  # fixed margins: tight_layout is slow
    return fig
