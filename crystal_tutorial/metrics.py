"""Sample metrics: how far apart two structures are, and the report on many generated samples.

``structure_distance`` is the RMS distance in Å between two structures with the same lattice and
composition, minimised over translations and atom permutations: the measure behind uniqueness
(is a sample a duplicate of an earlier one?) and memorisation (is it a copy of a training
structure?). ``SampleReport`` collects validity, d_min, density, space groups, prototype matches,
uniqueness and memorisation of many samples; ``PhysicsValidator.evaluate_samples`` builds it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .crystals import PROTOTYPES, Crystal
from .pbc import minimum_image, pairwise_distances
from .physics import _LATTICE_TOL, _check_crystal, _check_positive, _groups, _mic_method, _stack


# --- structure distance under permutation and translation -----------------------------------
def _distances_to_many(a: Crystal, frac_b, numbers_b) -> np.ndarray:
    """RMS distances (Å) from ``a`` to M structures in a's lattice: frac_b (M, N, 3), numbers_b (M, N)."""
    from scipy.optimize import linear_sum_assignment
    M, N = numbers_b.shape
    chunk = max(1, 2 ** 20 // N ** 4)  # keep the (M, K, N, N, 3) tensor below ~25 MB per call
    if M > chunk:  # loop over chunks of structures
        return np.concatenate([_distances_to_many(a, frac_b[i:i + chunk], numbers_b[i:i + chunk])
                               for i in range(0, M, chunk)])
    K = N * N  # candidate translations t = b_k - a_i put atom i of a onto atom k of b
    t = (frac_b[:, None, :, :] - a.frac_coords[None, :, None, :]).reshape(M, K, 3)  # (M, K, 3)
    shifted = a.frac_coords[None, None] + t[:, :, None]  # (M, K, N, 3) translated copies of a
    method = _mic_method(a.lattice)
    diff = frac_b[:, None, None] - shifted[:, :, :, None]  # (M, K, N_a, N_b, 3) fractional
    vec, d = minimum_image(diff, a.lattice, method)  # (M, K, N_a, N_b, 3) Å, (M, K, N_a, N_b) Å
    penalty = np.where(a.numbers[:, None] == numbers_b[:, None, :], 0.0, 1e6)  # (M, N_a, N_b) other species
    cost = d ** 2 + penalty[:, None]  # (M, K, N_a, N_b)
    cols = np.empty((M, K, N), dtype=int)  # partner in b of each atom of a
    for m in range(M):  # the assignment solver is not vectorised: one call per candidate translation
        for k in range(K):
            cols[m, k] = linear_sum_assignment(cost[m, k])[1]
    mi, ki, ai = np.ogrid[:M, :K, :N]
    residual = vec[mi, ki, ai, cols]  # (M, K, N, 3) Å, a_i + t -> b_sigma(i)
    # The best translation for a fixed pairing moves a by the mean residual; re-take the minimum image.
    residual = residual - residual.mean(axis=2, keepdims=True)
    _, d_ref = minimum_image(residual @ np.linalg.inv(a.lattice), a.lattice, method)  # (M, K, N) Å
    rms = np.sqrt(np.mean(d_ref ** 2, axis=2))  # (M, K)
    bad_species = penalty[mi, ai, cols].max(axis=2) > 0  # (M, K)
    return np.where(bad_species, np.inf, rms).min(axis=1)  # (M,)


def _same_cell(a: Crystal, b: Crystal, lattice_tol: float) -> bool:
    return (a.n_atoms == b.n_atoms and np.array_equal(np.sort(a.numbers), np.sort(b.numbers))
            and np.allclose(a.lattice, b.lattice, atol=lattice_tol, rtol=0))


def structure_distance(a: Crystal, b: Crystal, lattice_tol: float = 1e-3) -> float:
    """RMS distance in Å between two structures, minimised over translations and permutations.

    For each of the N^2 translations that put an atom of ``a`` onto an atom of ``b``, atoms of the
    same species are paired by an optimal assignment (Hungarian algorithm, Kuhn 1955, through
    ``scipy.optimize.linear_sum_assignment``) of squared minimum-image distances; the translation
    is then refined to the mean residual. The result is symmetric, 0 for a permuted, translated
    copy, exact for small distortions and otherwise an upper bound on the true minimum (it matched
    a brute-force search over all permutations and a translation grid on random 3- and 4-atom
    cells). Cost: N^2 assignments of N x N. Structures with different atom counts, compositions or
    lattices (beyond ``lattice_tol`` Å) give ``inf``: the function compares cells as given,
    without searching supercells or rotations.
    """
    _check_crystal("a", a), _check_crystal("b", b)
    lattice_tol = _check_positive("lattice_tol", lattice_tol)
    if not _same_cell(a, b, lattice_tol):
        return float("inf")
    return float(_distances_to_many(a, b.frac_coords[None], b.numbers[None])[0])


# --- helpers of evaluate_samples ------------------------------------------------------------------
def _unique(samples, tol) -> np.ndarray:
    """(n,) bool: sample i is not within ``tol`` Å RMS of any earlier sample.

    A cheap exact filter first: if two structures are within RMS r, each sorted list of pair
    distances moves by at most sqrt(2N) r entrywise and N r in the 2-norm (distances are 1-Lipschitz
    and sorting never increases the largest difference), so farther pairs are skipped.
    """
    unique = np.ones(len(samples), dtype=bool)
    for idx in _groups(samples):
        frac, numbers, lattice = _stack(samples, idx)  # (G, N, 3), (G, N), (3, 3) or (G, 3, 3)
        G, N = numbers.shape
        iu = np.triu_indices(N, 1)
        fingerprint = np.sort(pairwise_distances(frac, lattice)[:, iu[0], iu[1]], axis=1)  # (G, P) sorted
        reps = np.zeros(G, dtype=bool)  # samples found unique so far: compared first
        for g in range(G):  # loop over samples, each compared with all earlier ones at once
            diff = fingerprint[:g] - fingerprint[g]  # (g, P)
            slack = 1e-9  # Å, rounding
            maybe = (np.abs(diff).max(axis=1, initial=0.0) <= np.sqrt(2 * N) * tol + slack) \
                & (np.linalg.norm(diff, axis=1) <= N * tol + slack)  # (g,)
            for candidates in (np.flatnonzero(maybe & reps[:g]), np.flatnonzero(maybe & ~reps[:g])):
                if candidates.size and _distances_to_many(samples[idx[g]], frac[candidates],
                                                          numbers[candidates]).min() <= tol:
                    unique[idx[g]] = False
                    break
            reps[g] = unique[idx[g]]
    return unique


def _nearest(samples, reference) -> np.ndarray:
    """(n,) Å: structure_distance from each sample to its nearest comparable reference (inf if none)."""
    nearest = np.full(len(samples), np.inf)
    for idx in _groups(samples):  # loop over groups of samples, then over the (few) references
        frac, numbers, _ = _stack(samples, idx)  # (G, N, 3), (G, N)
        for ref in reference:
            if _same_cell(ref, samples[idx[0]], _LATTICE_TOL):
                nearest[idx] = np.minimum(nearest[idx], _distances_to_many(ref, frac, numbers))  # (G,)
    return nearest


def _summary(x) -> dict:
    """min / median / max of the finite values (None if there are none)."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return {"min": None, "median": None, "max": None}
    return {"min": float(x.min()), "median": float(np.median(x)), "max": float(x.max())}


def _fmt_summary(x, unit) -> str:
    s = _summary(x)
    return "n/a" if s["min"] is None else f"{s['min']:.3g} / {s['median']:.3g} / {s['max']:.3g} {unit}"


def _fmt_rate(x) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _finite_list(x) -> list:
    return [float(v) if np.isfinite(v) else None for v in x]


@dataclass(frozen=True)
class SampleReport:
    """Metrics of n generated samples (``PhysicsValidator.evaluate_samples``); arrays are per sample."""

    d_min: np.ndarray  # (n,) Å, minimum-image nearest-neighbour distance
    density: np.ndarray  # (n,) g/cm^3
    distance_valid: np.ndarray  # (n,) bool, d_min >= min_distance
    density_valid: np.ndarray  # (n,) bool, density inside density_range
    space_groups: list  # (n,) space group number, None where spglib failed
    space_group_symbols: dict  # number -> international symbol
    prototypes: list  # (n,) "sc" | "bcc" | "fcc" | "diamond" | None
    unique: np.ndarray  # (n,) bool, not within match_tol of an earlier sample
    nearest_reference: np.ndarray | None  # (n,) Å to the nearest training structure (None: no reference)
    min_distance: float
    density_range: tuple
    symprec: float
    match_tol: float
    extra: dict = field(default_factory=dict)  # free-form notes (e.g. the sampler's settings)

    @property
    def n(self) -> int:
        return len(self.d_min)

    @property
    def valid(self) -> np.ndarray:
        return self.distance_valid & self.density_valid

    @property
    def validity_rate(self) -> float:
        return float(self.valid.mean())

    @property
    def space_group_histogram(self) -> dict:
        """{space group number (None = spglib failed): count}, most frequent first."""
        keys, counts = np.unique(np.array([-1 if g is None else g for g in self.space_groups]), return_counts=True)
        order = np.argsort(-counts, kind="stable")
        return {(None if keys[i] == -1 else int(keys[i])): int(counts[i]) for i in order}

    @property
    def prototype_counts(self) -> dict:
        return {name: sum(p == name for p in self.prototypes) for name in PROTOTYPES}

    @property
    def prototype_rates(self) -> dict:
        return {name: count / self.n for name, count in self.prototype_counts.items()}

    @property
    def match_rate(self) -> float:
        """Fraction of samples that match any of the four prototypes."""
        return sum(p is not None for p in self.prototypes) / self.n

    @property
    def uniqueness(self) -> float:
        return float(self.unique.mean())

    @property
    def memorised(self) -> np.ndarray | None:
        return None if self.nearest_reference is None else self.nearest_reference <= self.match_tol

    @property
    def memorised_rate(self) -> float | None:
        return None if self.memorised is None else float(self.memorised.mean())

    def to_dict(self, per_sample: bool = False) -> dict:
        """A JSON-serialisable summary (``json.dump(report.to_dict(), f)``); inf becomes None."""
        out = {
            "n": self.n, "min_distance_A": self.min_distance, "density_range_g_cm3": list(self.density_range),
            "symprec_A": self.symprec, "match_tol_A": self.match_tol,
            "validity_rate": self.validity_rate, "distance_valid_rate": float(self.distance_valid.mean()),
            "density_valid_rate": float(self.density_valid.mean()),
            "d_min_A": _summary(self.d_min), "density_g_cm3": _summary(self.density),
            "space_groups": {("failed" if k is None else str(k)): v for k, v in self.space_group_histogram.items()},
            "space_group_symbols": {str(k): v for k, v in sorted(self.space_group_symbols.items())},
            "prototype_counts": self.prototype_counts, "prototype_rates": self.prototype_rates,
            "match_rate": self.match_rate, "uniqueness": self.uniqueness,
            "memorised_rate": self.memorised_rate,
            "nearest_reference_A": None if self.nearest_reference is None else _summary(self.nearest_reference),
            "extra": dict(self.extra),
        }
        if per_sample:
            near = self.nearest_reference
            out["per_sample"] = {
                "d_min_A": _finite_list(self.d_min), "density_g_cm3": _finite_list(self.density),
                "space_group": list(self.space_groups), "prototype": list(self.prototypes),
                "unique": self.unique.tolist(), "nearest_reference_A": None if near is None else _finite_list(near)}
        return out

    def _rows(self) -> list[tuple[str, str]]:
        counts = self.prototype_counts
        groups = ", ".join(("failed" if k is None else f"{k} {self.space_group_symbols[k]}") + f": {v}"
                           for k, v in list(self.space_group_histogram.items())[:5])
        near = self.nearest_reference
        return [
            ("samples", f"{self.n}"),
            ("min distance / density range",
             "{:g} Å / {:g}-{:g} g/cm³".format(self.min_distance, *self.density_range)),
            ("symprec / duplicate tolerance", f"{self.symprec:g} Å / {self.match_tol:g} Å RMS"),
            ("valid (distance and density)", f"{_fmt_rate(self.validity_rate)} ({int(self.valid.sum())}/{self.n})"),
            ("  d_min >= min distance", _fmt_rate(float(self.distance_valid.mean()))),
            ("  density in range", _fmt_rate(float(self.density_valid.mean()))),
            ("d_min min / median / max", _fmt_summary(self.d_min, "Å")),
            ("density min / median / max", _fmt_summary(self.density, "g/cm³")),
            ("prototype match (spglib)", _fmt_rate(self.match_rate)),
            ("  " + " / ".join(PROTOTYPES), " / ".join(str(counts[p]) for p in PROTOTYPES)),
            ("space groups (top 5)", groups),
            ("unique (no earlier duplicate)", _fmt_rate(self.uniqueness)),
            ("memorised (copy of a training structure)", _fmt_rate(self.memorised_rate)),
            ("nearest training structure min/med/max", "n/a" if near is None else _fmt_summary(near, "Å")),
        ]

    def __str__(self) -> str:
        rows = self._rows()
        width = max(len(k) for k, _ in rows)
        lines = [f"{'metric':<{width}}  value", f"{'-' * width}  {'-' * 24}"]
        return "\n".join(lines + [f"{k:<{width}}  {v}" for k, v in rows])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        from html import escape
        cell = "<td style='text-align:left'>{}</td>"
        body = "".join(f"<tr>{cell.format(escape(k))}{cell.format(escape(v))}</tr>" for k, v in self._rows())
        return f"<table><thead><tr><th>metric</th><th>value</th></tr></thead><tbody>{body}</tbody></table>"


def compare_reports(reports: dict) -> str:
    """Side-by-side text table of several reports, e.g. ``{"per-atom MLP": r1, "uniform random": r2}``."""
    if not isinstance(reports, dict) or not reports or not all(isinstance(r, SampleReport) for r in reports.values()):
        raise TypeError(f"reports must be a non-empty dict {{name: SampleReport}}, got {type(reports).__name__}")
    columns = {name: dict(r._rows()) for name, r in reports.items()}  # name -> {metric: value}
    labels = list(dict.fromkeys(k for col in columns.values() for k in col))  # union, in order
    widths = [max(map(len, labels))] + [max(len(name), *(len(c.get(k, "n/a")) for k in labels))
                                        for name, c in columns.items()]
    table = [["metric", *columns]] + [[k, *(c.get(k, "n/a") for c in columns.values())] for k in labels]
    return "\n".join("  ".join(f"{v:<{w}}" for v, w in zip(row, widths)).rstrip() for row in table)
