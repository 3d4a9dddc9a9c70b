"""Pure render function of notebook 10's sliders: the benchmark table at best of k and a matcher stol.

``render_table(scores, k, stol)`` draws, for every method, the match rate (%) and the mean RMSE of the
best of k predictions (k = 1: one sample, with DiffCSP's validity rule), counting only matches whose
largest site distance is within ``stol`` (``benchmark.summarize``). It only reads precomputed scores
(``benchmark.score``), so a slider move costs a few milliseconds plus drawing.
"""
from __future__ import annotations

import numpy as np

from ..benchmark import MATCHER_SETTINGS, check_scores, summarize
from ..checks import check_int, check_number, describe

STOL_RANGE = (0.05, float(MATCHER_SETTINGS["stol"]))  # below the scoring run's stol only


def render_table(scores: dict, k: int = 1, stol: float = STOL_RANGE[1], published: dict | None = None):
    """Two bar panels (match rate %, RMSE) for ``scores`` = {method: benchmark.score(...)} at best of ``k``.

    ``published`` = {name: (match %, RMSE)} adds the papers' one-sample figures as hatched bars.
    Returns the matplotlib Figure.
    """
    import matplotlib.pyplot as plt
    if not isinstance(scores, dict):
        raise TypeError(f"scores must be a non-empty dict {{method: benchmark.score(...)}}, got {describe(scores)}")
    if not scores:
        raise ValueError("scores is empty; expected a dict {method: benchmark.score(...)}")
    k_max = min(check_scores(f"scores[{name!r}]", s)["rms"].shape[1] for name, s in scores.items())
    k = check_int("k", k, 1, k_max)
    stol = check_number("stol", stol, *STOL_RANGE)
    rows = {name: summarize(s, k=k, stol=stol) for name, s in scores.items()}
    key_rate, key_rmse = ("match_rate", "rmse") if k == 1 else (f"match_rate_best_of_{k}", f"rmse_best_of_{k}")
    names = list(rows) + list(published or {})
    rate = [rows[n][key_rate] for n in rows] + [v[0] for v in (published or {}).values()]
    rmse = [rows[n][key_rmse] or 0.0 for n in rows] + [v[1] for v in (published or {}).values()]
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.45 * len(names) + 1.5), sharey=True)
    y = np.arange(len(names))
    hatch = [""] * len(rows) + ["//"] * len(published or {})
    for ax, values, label in ((axes[0], rate, "match rate (%)"), (axes[1], rmse, "mean RMSE over matches")):
        bars = ax.barh(
            y, values, color=["C0" if n.startswith("CSP") else "C7" for n in rows] + ["C3"] * len(published or {})
        )
        for b, h in zip(bars, hatch):
            b.set_hatch(h)
        ax.set_xlabel(label)
        for yi, v in zip(y, values):
            ax.text(v, yi, f" {v:.1f}" if label.startswith("match") else f" {v:.3f}", va="center", fontsize=8)
    axes[0].set_yticks(y, names)
    axes[0].invert_yaxis()
    axes[0].set_xlim(0, 105)
    axes[1].set_xlim(0, max(max(rmse) * 1.25, 0.05))
    what = "one sample (pred. and test structure valid)" if k == 1 else f"best of {k}"
    fig.suptitle(f"{what}, stol = {stol:.2f}; papers (hatched): one sample, trained on the train split")
    fig.tight_layout()
    plt.close(fig)
    return fig
