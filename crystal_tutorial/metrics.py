"""Sample metrics: are generated crystals valid, new, and different from each other?

``evaluate_samples`` measures what the papers this series leads to report (CDVAE, Xie et al. 2022,
Appendix; DiffCSP, Jiao et al. 2023; MatterGen, Zeni et al. 2025), with pymatgen, the library
their evaluation code uses:

- **valid_structure**: every interatomic distance is > 0.5 Å (the papers' rule). Our d_min also
  counts an atom's distance to its own periodic image; CDVAE's check (pymatgen's distance matrix)
  skips it and instead rejects cells below 0.1 Å³. The 0.7 Å physics check of ``physics`` stays a
  field of its own (``distance_valid``).
- **valid_composition**: CDVAE's ``smact_validity`` (``scripts/eval_utils.py`` of CDVAE; DiffCSP and
  FlowMM copy it), computed by the field's library SMACT (Davies et al. 2019): the composition is
  reduced (Mg4O4 -> MgO); a single element passes, and so does any composition of metals only (an
  alloy, SMACT's ``metals`` list); otherwise some choice of one SMACT oxidation state per element
  (SMACT's original list, ``oxidation_states_set="smact14"``, the list CDVAE's SMACT version used)
  must be charge neutral with the given counts *and* pass Pauling's electronegativity test (every
  cation less electronegative than every anion). ``rule="pymatgen"`` keeps this series' earlier rule
  for comparison: pymatgen's ``Composition.oxi_state_guesses`` (ICSD-frequent states, each site its
  own integer state, no electronegativity test). The two disagree on about 10% of perov-5 (notebook 10).
- **unique**: the sample is the first of its group when pymatgen's ``StructureMatcher.group_structures``
  groups the samples in order, i.e. it matches no earlier unique sample.
- **novel**: it matches no training structure; **memorised** = 1 - novel.

Matching uses ``StructureMatcher`` with ``MATCHER_SETTINGS`` (the papers' ltol 0.3, stol 0.5,
angle_tol 10 deg; pymatgen's defaults otherwise: primitive cells, volumes scaled to equal, no
supercells). Two cells of one crystal match whatever their lattice basis, orientation, origin and
atom order. Cost: a failed comparison of two 8-atom P1 cells takes tens of ms (pymatgen tries many
lattice mappings), so samples are first grouped by reduced formula and primitive atom count (exact:
the matcher rejects other pairs anyway), and within a group compared only with the unique ones.

``structure_distance`` is the hand-written RMS distance that notebook 06 derives; it compares cells
as given (same lattice), which is why it cannot judge samples with their own lattices.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import lru_cache
from math import gcd
from types import MappingProxyType

import numpy as np

from .checks import (
    LATTICE_TOL,
    check_bool,
    check_crystal,
    check_crystal_list,
    check_positive,
    describe,
    group_indices,
    mic_method,
    stack_group,
)
from .crystals import PROTOTYPES, Crystal
from .pbc import min_distance, minimum_image, pairwise_distances
from .physics import MAX_SYMPREC, PhysicsValidator, prototype_from_dataset, symmetry_dataset

# StructureMatcher settings of CDVAE, DiffCSP and MatterGen: lattice lengths within 30%, angles within
# 10 deg, atoms within 0.5 (V / N)^(1/3) after the best translation. Read-only; override per call.
MATCHER_SETTINGS = MappingProxyType({"ltol": 0.3, "stol": 0.5, "angle_tol": 10.0})
MATCHER_LIMITS = MappingProxyType({"ltol": 1.0, "stol": 1.0, "angle_tol": 30.0})  # largest allowed values
VALID_STRUCTURE_DISTANCE = 0.5  # Å: the papers' structure-validity floor
DISTANCE_BLOCK = 2 ** 18  # atom pairs per block of translations in structure_distance: ~40 MB peak
MAX_DISTANCE_ATOMS = 64  # structure_distance refuses larger cells: N^2 assignments of N x N (12 s at 64 atoms)


# --- structure matching with pymatgen ------------------------------------------------------------
def structure_matcher(**settings):
    """A pymatgen ``StructureMatcher`` with ``MATCHER_SETTINGS``, updated by ``settings`` (ltol, stol, angle_tol).

    Each setting must lie in (0, ``MATCHER_LIMITS``]: a huge ltol lets every lattice map onto every
    other, and the matcher's search then never ends (ltol 1e9 did not return).
    """
    from pymatgen.analysis.structure_matcher import StructureMatcher
    unknown = set(settings) - set(MATCHER_SETTINGS)
    if unknown:
        raise ValueError(f"matcher settings must be among {sorted(MATCHER_SETTINGS)}, got {sorted(unknown)}")
    merged = {**MATCHER_SETTINGS, **{k: check_positive(k, v, upper=MATCHER_LIMITS[k]) for k, v in settings.items()}}
    return StructureMatcher(**merged), merged


UNIQUE_CANDIDATES = 4  # a sample is matched against at most this many earlier unique samples (nearest first)
MATCHER_LATTICE_BUDGET = 2e6  # lattice points StructureMatcher's lattice search may visit for one cell
SCORING_BUDGET_SECONDS = 1800.0  # ``scoring_cost`` above this: refuse the job, or score without uniqueness
# StructureMatcher seconds per compared pair of N-atom P1 cells that do not match (the expensive case),
# c * N^p fitted to CPU seconds measured on this machine (benchmarks/bench_scoring.py): 0.13 s at 8 atoms,
# 1.7 s at 64 atoms.
PAIR_SECONDS = (0.0101, 1.236)


def _heights(lattice) -> np.ndarray:
    """(3,) distances between opposite faces of the cell spanned by the rows of ``lattice`` (Å)."""
    volume = abs(np.linalg.det(lattice))
    return volume / np.linalg.norm(np.cross(lattice[[1, 2, 0]], lattice[[2, 0, 1]]), axis=1)


def check_matcher_budget(name: str, lattice, ltol: float = MATCHER_SETTINGS["ltol"]) -> float:
    """Refuse (ValueError naming ``name``) a cell whose StructureMatcher lattice search would exceed the budget.

    pymatgen's matcher (its Niggli reduction and ``Lattice.find_all_mappings``) lists every lattice point
    within (1 + ltol) x the longest reduced lattice vector: a box of prod_k (2 ceil(r / h_k) + 1) cells,
    h_k the cell's heights (of the given and of the Minkowski-reduced basis). A cell much longer than it
    is thick makes that enormous: a 5 x 5 x 1e6 Å cell asked for 3.6-8 GB and died with MemoryError.
    Returns the estimate (lattice points) if it is at most MATCHER_LATTICE_BUDGET; checked before any
    pymatgen call, so nothing is allocated.
    """
    from ase.geometry import minkowski_reduce
    lattice = np.asarray(lattice, dtype=float)
    reduced, _ = minkowski_reduce(lattice)  # (3, 3) short, nearly orthogonal basis of the same lattice
    r = (1 + ltol) * np.linalg.norm(reduced, axis=1).max()  # Å, radius of the search
    estimate = max(float(np.prod(2 * np.ceil(r / _heights(basis)) + 1)) for basis in (lattice, reduced))
    if estimate > MATCHER_LATTICE_BUDGET:
        lengths = ", ".join(f"{v:.3g}" for v in np.linalg.norm(lattice, axis=1))
        raise ValueError(f"{name}: comparing this cell (lattice vectors {lengths} Å, thinnest height "
                         f"{_heights(reduced).min():.3g} Å) with StructureMatcher would search about {estimate:.2g} "
                         f"lattice points, above the budget of {MATCHER_LATTICE_BUDGET:.0g}: the cell is far longer "
                         "than it is thick, no crystal's primitive cell is; refused before allocating anything")
    return estimate


def _reduced(structure):
    """Niggli-reduced primitive cell, as ``StructureMatcher`` prepares a structure (done once per structure)."""
    return structure.get_reduced_structure(reduction_algo="niggli").get_primitive_structure()


def _match_key(reduced) -> tuple:
    """(reduced formula, atoms in the primitive cell): structures with different keys never match."""
    return reduced.composition.reduced_formula, len(reduced)


def fingerprint(structure) -> np.ndarray:
    """(N,) a cheap fingerprint of a pymatgen Structure that StructureMatcher's freedoms leave unchanged.

    Each atom's nearest-neighbour distance (to another atom or to its own periodic image), divided by
    the mean spacing (V / N)^(1/3), sorted within each species, species by atomic number. It does not
    change with the lattice basis, origin, rotation, atom order or volume (the matcher scales volumes
    to equal), and costs one N x N distance matrix. Use it on primitive cells (``_reduced``), so that
    supercells of one crystal get the same fingerprint.
    """
    frac = np.asarray(structure.frac_coords)  # (N, 3)
    lattice = np.asarray(structure.lattice.matrix)  # (3, 3)
    d = pairwise_distances(frac, lattice)  # (N, N) Å, minimum image
    np.fill_diagonal(d, np.inf)
    own = float(min_distance(np.zeros((1, 3)), lattice))  # Å, an atom to its own nearest image
    nn = np.minimum(d.min(axis=1), own)  # (N,) Å
    numbers = np.array([site.specie.Z for site in structure])  # (N,)
    order = np.lexsort((nn, numbers))  # by species, then by distance
    return nn[order] / (structure.volume / len(structure)) ** (1 / 3)


def unique_mask(structures, matcher, max_candidates: int = UNIQUE_CANDIDATES, stats: dict | None = None) -> np.ndarray:
    """(n,) bool: structure k matches none of the unique structures before it (it leads a new group).

    ``structures`` are pymatgen Structures, taken in order as ``matcher.group_structures`` does: each
    one is compared with the unique ones before it and is unique if it fits none of them. The
    comparisons are limited to those that can succeed, so the cost grows linearly with n:

    1. only structures with the same reduced formula and atoms in the primitive cell are compared
       (exact: the matcher rejects other pairs; ``group_structures`` groups by composition too);
    2. of those, at most ``max_candidates`` (UNIQUE_CANDIDATES) are compared, nearest ``fingerprint``
       first (infinity norm of the difference). A near copy of an earlier sample is its nearest
       fingerprint, so this is the exact answer whenever fewer candidates exist, and in practice for a
       model that repeats itself; a sample whose candidate list was cut is counted in
       ``stats["capped"]``, the number of ``matcher.fit`` calls in ``stats["calls"]``.

    Each cell passes ``check_matcher_budget`` first.
    """
    if isinstance(max_candidates, bool) or not isinstance(max_candidates, (int, np.integer)) or max_candidates < 1:
        raise ValueError(f"max_candidates must be a positive integer, got {max_candidates!r}")
    for k, s in enumerate(structures):
        check_matcher_budget(f"structures[{k}]", s.lattice.matrix, matcher.ltol)
    leaders = {}  # match key -> [(reduced structure, fingerprint (N,))] of the unique structures so far
    unique = np.zeros(len(structures), dtype=bool)
    calls = capped = 0
    for k, s in enumerate(structures):  # loop over structures, then over a bounded number of candidates
        red = _reduced(s)
        fp = fingerprint(red)
        group = leaders.setdefault(_match_key(red), [])
        distance = np.array([np.abs(f - fp).max() for _, f in group])  # (G,) fingerprint distances
        order = np.argsort(distance, kind="stable")[:max_candidates]
        capped += len(group) > max_candidates
        calls += len(order)  # an upper bound: any() stops at the first match
        if not any(matcher.fit(group[i][0], red, skip_structure_reduction=True) for i in order):
            unique[k] = True
            group.append((red, fp))
    if stats is not None:
        stats.update(calls=calls, capped=capped)
    return unique


def novel_mask(structures, reference, matcher) -> np.ndarray:
    """(n,) bool: structure k fits no reference structure (``matcher.fit(reference, sample)``).

    Each sample is compared with the references of the same reduced formula and primitive atom count
    only; every cell passes ``check_matcher_budget`` first.
    """
    for name, group in (("structures", structures), ("reference", reference)):
        for k, s in enumerate(group):
            check_matcher_budget(f"{name}[{k}]", s.lattice.matrix, matcher.ltol)
    refs = {}  # match key -> reduced reference structures
    for r in reference:
        red = _reduced(r)
        refs.setdefault(_match_key(red), []).append(red)
    novel = np.ones(len(structures), dtype=bool)
    for k, s in enumerate(structures):  # loop over samples, then over the few references they could match
        red = _reduced(s)
        novel[k] = not any(matcher.fit(r, red, skip_structure_reduction=True) for r in refs.get(_match_key(red), ()))
    return novel


def scoring_cost(n_samples: int, n_atoms: int, n_reference: int = 0,
                 max_candidates: int = UNIQUE_CANDIDATES) -> float:
    """Estimated seconds of StructureMatcher work to score ``n_samples`` samples of ``n_atoms`` atoms.

    An upper bound made before a job starts (``generate`` refuses a job above SCORING_BUDGET_SECONDS
    unless uniqueness is switched off): uniqueness compares sample k with at most
    min(k, max_candidates) earlier ones, novelty each sample with up to ``n_reference`` references of
    its size, and each comparison costs PAIR_SECONDS(N) = c N^p (a failed match of two P1 cells, the
    expensive case; measured by benchmarks/bench_scoring.py).
    """
    for name, v in (("n_samples", n_samples), ("n_atoms", n_atoms), ("max_candidates", max_candidates)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if isinstance(n_reference, bool) or not isinstance(n_reference, (int, np.integer)) or n_reference < 0:
        raise ValueError(f"n_reference must be an integer >= 0, got {n_reference!r}")
    k = np.arange(int(n_samples))
    pairs = float(np.minimum(k, max_candidates).sum()) + float(n_samples) * n_reference
    c, p = PAIR_SECONDS
    return pairs * c * float(n_atoms) ** p


# --- charge neutrality -----------------------------------------------------------------------------
COMPOSITION_RULES = ("smact", "pymatgen")  # valid_composition(rule=...): the papers' rule first (the default)


@lru_cache(maxsize=8192)
def _charge_neutral(reduced: tuple, rule: str, alloys: bool) -> bool:
    """``reduced`` = ((symbol, count), ...) with coprime counts."""
    if len(reduced) == 1:
        return True  # a single element: oxidation state 0
    if rule == "smact":
        from smact.screening import smact_validity
        formula = "".join(f"{symbol}{count}" for symbol, count in reduced)
        # CDVAE's rule: alloys pass, else any neutral combination of SMACT-14 states that passes Pauling's test
        return bool(smact_validity(formula, use_pauling_test=True, include_alloys=alloys,
                                   oxidation_states_set="smact14"))
    from pymatgen.core import Composition, Element
    if alloys and all(Element(symbol).is_metal for symbol, _ in reduced):
        return True
    return len(Composition(dict(reduced)).oxi_state_guesses()) > 0


def valid_composition(crystal, rule: str = "smact", alloys: bool = True) -> bool:
    """Whether the composition of ``crystal`` (a Crystal, or a formula such as "Na2Cl") is chemically valid.

    ``rule="smact"`` (default) is the papers' ``smact_validity`` (module docstring): NaCl yes, Na2Cl no,
    Cl8 yes, Mg7O no, CrFe yes (an alloy), CdCuN3 yes (Cd+2 Cu+1 N-1 is neutral and passes Pauling's
    test). ``rule="pymatgen"``: pymatgen's ``oxi_state_guesses`` finds common oxidation states that sum
    to 0 (CdCuN3 no: N is -3 there). ``alloys=False`` stops all-metal compositions passing unchecked
    (CDVAE's ``include_alloys``; with the pymatgen rule, metals are pymatgen's ``Element.is_metal``).
    """
    if rule not in COMPOSITION_RULES:
        raise ValueError(f"rule must be one of {COMPOSITION_RULES}, got {rule!r}")
    if isinstance(crystal, str):
        from pymatgen.core import Composition
        try:
            amounts = Composition(crystal).get_el_amt_dict()
        except Exception as exc:  # pymatgen raises several kinds on bad formulas
            raise ValueError(f"crystal must be a Crystal or a chemical formula, got {crystal!r}: {exc}") from None
        from ase.data import atomic_numbers
        unknown = [symbol for symbol in amounts if symbol not in atomic_numbers]
        if unknown:
            raise ValueError(f"crystal must be a Crystal or a chemical formula; {crystal!r} has unknown "
                             f"elements {unknown}")
        if not amounts or any(float(v) != int(v) or v <= 0 for v in amounts.values()):
            raise ValueError(f"crystal must be a Crystal or a chemical formula with whole, positive atom counts, "
                             f"got {crystal!r}")
        symbols, counts = list(amounts), [int(v) for v in amounts.values()]
    else:
        symbols, counts = np.unique(check_crystal("crystal", crystal).symbols, return_counts=True)
        symbols, counts = symbols.tolist(), counts.tolist()
    g = 0
    for c in counts:
        g = gcd(g, c)
    return _charge_neutral(tuple(sorted((s, c // g) for s, c in zip(symbols, counts))), rule, bool(alloys))


# --- the hand-written structure distance (notebook 06) ---------------------------------------------
def _distances_to_many(a: Crystal, frac_b, numbers_b) -> np.ndarray:
    """RMS distances (Å) from ``a`` to M structures in a's lattice: frac_b (M, N, 3), numbers_b (M, N).

    Memory O(N^2): the N^2 candidate translations are taken in blocks of at most ``DISTANCE_BLOCK``
    atom pairs, (k, N, N, 3) each, never all N^4 pair vectors at once.
    """
    from scipy.optimize import linear_sum_assignment
    M, N = numbers_b.shape
    method = mic_method(a.lattice)
    inv_lattice = np.linalg.inv(a.lattice)
    penalty = np.where(a.numbers[:, None] == numbers_b[:, None, :], 0.0, 1e6)  # (M, N_a, N_b) other species
    block = max(1, DISTANCE_BLOCK // (N * N))  # translations per block
    best = np.full(M, np.inf)
    ai = np.arange(N)
    for m in range(M):  # loop over structures, then over blocks of translations
        # candidate translations t = b_k - a_i put atom i of a onto atom k of b
        t_all = (frac_b[m][None, :, :] - a.frac_coords[:, None, :]).reshape(N * N, 3)  # (K, 3), K = N^2
        for start in range(0, N * N, block):
            t = t_all[start:start + block]  # (k, 3)
            shifted = a.frac_coords[None] + t[:, None]  # (k, N, 3) translated copies of a
            diff = frac_b[m][None, None] - shifted[:, :, None]  # (k, N_a, N_b, 3) fractional
            vec, d = minimum_image(diff, a.lattice, method)  # (k, N_a, N_b, 3) Å, (k, N_a, N_b) Å
            cost = d ** 2 + penalty[m]  # (k, N_a, N_b)
            # the assignment solver is not vectorised: one call per candidate translation
            cols = np.array([linear_sum_assignment(c)[1] for c in cost])  # (k, N) partner in b of each atom of a
            residual = vec[np.arange(len(t))[:, None], ai, cols]  # (k, N, 3) Å, a_i + t -> b_sigma(i)
            # The best translation for a fixed pairing moves a by the mean residual; re-take the minimum image.
            residual = residual - residual.mean(axis=1, keepdims=True)
            _, d_ref = minimum_image(residual @ inv_lattice, a.lattice, method)  # (k, N) Å
            rms = np.sqrt(np.mean(d_ref ** 2, axis=1))  # (k,)
            bad_species = penalty[m][ai, cols].max(axis=1) > 0  # (k,)
            best[m] = min(best[m], float(np.where(bad_species, np.inf, rms).min()))
    return best  # (M,)


def _distance_budget(n_atoms: int) -> None:
    if n_atoms > MAX_DISTANCE_ATOMS:
        raise ValueError(f"structure_distance compares every one of the N^2 = {n_atoms ** 2} translations with an "
                         f"N x N assignment (about N^5 work); N = {n_atoms} atoms is above the budget of "
                         f"{MAX_DISTANCE_ATOMS}; use evaluate_samples (pymatgen's StructureMatcher) for large cells")


def _same_cell(a: Crystal, b: Crystal, lattice_tol: float) -> bool:
    return (a.n_atoms == b.n_atoms and np.array_equal(np.sort(a.numbers), np.sort(b.numbers))
            and np.allclose(a.lattice, b.lattice, atol=lattice_tol, rtol=0))


def structure_distance(a: Crystal, b: Crystal, lattice_tol: float = LATTICE_TOL) -> float:
    """RMS distance in Å between two structures, minimised over translations and permutations.

    For each of the N^2 translations that put an atom of ``a`` onto an atom of ``b``, atoms of the
    same species are paired by an optimal assignment (Hungarian algorithm, Kuhn 1955, through
    ``scipy.optimize.linear_sum_assignment``) of squared minimum-image distances; the translation
    is then refined to the mean residual. The result is symmetric, 0 for a permuted, translated
    copy, exact for small distortions and otherwise an upper bound on the true minimum. Cost: N^2
    assignments of N x N. Structures with different atom counts, compositions or lattices (beyond
    ``lattice_tol`` Å) give ``inf``: the function compares cells as given, without searching other
    bases, rotations or supercells (``StructureMatcher`` does; ``evaluate_samples`` uses it).
    """
    check_crystal("a", a), check_crystal("b", b)
    lattice_tol = check_positive("lattice_tol", lattice_tol)
    if not _same_cell(a, b, lattice_tol):
        return float("inf")
    _distance_budget(a.n_atoms)
    return float(_distances_to_many(a, b.frac_coords[None], b.numbers[None])[0])


def nearest_distance(samples, reference) -> np.ndarray:
    """(n,) Å: ``structure_distance`` from each sample to its nearest reference in the same cell (inf if none)."""
    samples = check_crystal_list("samples", samples)
    reference = check_crystal_list("reference", reference)
    nearest = np.full(len(samples), np.inf)
    for idx in group_indices(samples):  # loop over groups of samples in one cell, then over the references
        frac, numbers, _ = stack_group(samples, idx)  # (G, N, 3), (G, N)
        _distance_budget(frac.shape[1])
        for ref in reference:
            if _same_cell(ref, samples[idx[0]], LATTICE_TOL):
                nearest[idx] = np.minimum(nearest[idx], _distances_to_many(ref, frac, numbers))  # (G,)
    return nearest


# --- the report ------------------------------------------------------------------------------------
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


def _rate(mask):
    return None if mask is None else float(np.mean(mask))


def _finite_list(x) -> list:
    return [float(v) if np.isfinite(v) else None for v in x]


@dataclass(frozen=True)
class SampleReport:
    """Metrics of n generated samples (``evaluate_samples``); arrays are per sample, rates are their means.

    The papers' measures (module docstring): ``valid_structure`` (every distance > 0.5 Å),
    ``valid_composition`` (SMACT's ``smact_validity``), ``unique`` (first of its
    StructureMatcher group), ``novel`` (matches no training structure; None without a reference),
    ``memorised`` = not novel. The physics checks of notebook 06: ``distance_valid`` (d_min >=
    ``min_distance``, 0.7 Å) and ``density_valid``; symmetry from spglib at ``symprec`` Å.
    """

    d_min: np.ndarray  # (n,) Å, minimum-image nearest-neighbour distance (own images included)
    density: np.ndarray  # (n,) g/cm^3
    distance_valid: np.ndarray  # (n,) bool, d_min >= min_distance (the 0.7 Å physics check)
    density_valid: np.ndarray  # (n,) bool, density inside density_range
    valid_structure: np.ndarray  # (n,) bool, d_min > 0.5 Å (the papers' rule)
    valid_composition: np.ndarray  # (n,) bool, SMACT's smact_validity (the papers' rule)
    space_groups: list  # (n,) space group number, None where spglib failed
    space_group_symbols: dict  # number -> international symbol
    prototypes: list  # (n,) "sc" | "bcc" | "fcc" | "diamond" | None
    unique: np.ndarray | None  # (n,) bool, matches no earlier unique sample (None: uniqueness not scored)
    novel: np.ndarray | None  # (n,) bool, matches no training structure (None: no reference given)
    formulas: list  # (n,) reduced formulas, e.g. "NaCl"
    min_distance: float
    density_range: tuple
    symprec: float
    matcher: dict  # StructureMatcher settings (MATCHER_SETTINGS unless the caller changed them)
    seconds: dict = field(default_factory=dict)  # wall-clock cost of each part (noisy on a busy machine)
    extra: dict = field(default_factory=dict)  # free-form notes (e.g. the sampler's settings)

    @property
    def n(self) -> int:
        return len(self.d_min)

    @property
    def valid(self) -> np.ndarray:
        """(n,) bool, the physics checks of notebook 06: d_min >= 0.7 Å and density in range."""
        return self.distance_valid & self.density_valid

    @property
    def validity_rate(self) -> float:
        return float(self.valid.mean())

    @property
    def memorised(self) -> np.ndarray | None:
        """(n,) bool, matches a training structure (= not novel); None without a reference."""
        return None if self.novel is None else ~self.novel

    @property
    def rates(self) -> dict:
        """{"valid_structure", "valid_composition", "unique", "novel", "memorised": fraction (None if unmeasured)}."""
        return {"valid_structure": _rate(self.valid_structure), "valid_composition": _rate(self.valid_composition),
                "unique": _rate(self.unique), "novel": _rate(self.novel), "memorised": _rate(self.memorised)}

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
    def formula_counts(self) -> dict:
        """{reduced formula: count}, most frequent first."""
        keys, counts = np.unique(np.array(self.formulas), return_counts=True)
        return {str(keys[i]): int(counts[i]) for i in np.argsort(-counts, kind="stable")}

    def to_dict(self, per_sample: bool = False) -> dict:
        """A JSON-serialisable summary (``json.dump(report.to_dict(), f)``); inf becomes None."""
        out = {
            "n": self.n, **self.rates,
            "matcher": dict(self.matcher), "valid_structure_distance_A": VALID_STRUCTURE_DISTANCE,
            "min_distance_A": self.min_distance, "density_range_g_cm3": list(self.density_range),
            "symprec_A": self.symprec,
            "validity_rate": self.validity_rate, "distance_valid_rate": float(self.distance_valid.mean()),
            "density_valid_rate": float(self.density_valid.mean()),
            "d_min_A": _summary(self.d_min), "density_g_cm3": _summary(self.density),
            "space_groups": {("failed" if k is None else str(k)): v for k, v in self.space_group_histogram.items()},
            "space_group_symbols": {str(k): v for k, v in sorted(self.space_group_symbols.items())},
            "prototype_counts": self.prototype_counts, "prototype_rates": self.prototype_rates,
            "match_rate": self.match_rate, "formulas": self.formula_counts,
            "extra": dict(self.extra),
        }
        if per_sample:
            out["per_sample"] = {
                "d_min_A": _finite_list(self.d_min), "density_g_cm3": _finite_list(self.density),
                "space_group": list(self.space_groups), "prototype": list(self.prototypes),
                "formula": list(self.formulas), "valid_structure": self.valid_structure.tolist(),
                "valid_composition": self.valid_composition.tolist(),
                "unique": None if self.unique is None else self.unique.tolist(),
                "novel": None if self.novel is None else self.novel.tolist()}
        return out

    def summary_line(self) -> str:
        """One line of the papers' measures, e.g. for the command line's summary."""
        r = self.rates
        return (f"valid structure {_fmt_rate(r['valid_structure'])}, valid composition "
                f"{_fmt_rate(r['valid_composition'])}, unique {_fmt_rate(r['unique'])}, novel {_fmt_rate(r['novel'])}, "
                f"memorised {_fmt_rate(r['memorised'])} (StructureMatcher "
                + ", ".join(f"{k} {v:g}" for k, v in self.matcher.items()) + ")")

    def _rows(self) -> list[tuple[str, str]]:
        counts = self.prototype_counts
        groups = ", ".join(("failed" if k is None else f"{k} {self.space_group_symbols[k]}") + f": {v}"
                           for k, v in list(self.space_group_histogram.items())[:5])
        r = self.rates
        count = lambda mask: "" if mask is None else f" ({int(np.sum(mask))}/{self.n})"  # noqa: E731
        return [
            ("samples", f"{self.n}"),
            ("matcher (pymatgen StructureMatcher)", ", ".join(f"{k} {v:g}" for k, v in self.matcher.items())),
            (f"valid structure (all distances > {VALID_STRUCTURE_DISTANCE:g} Å)",
             _fmt_rate(r["valid_structure"]) + count(self.valid_structure)),
            ("valid composition (SMACT, the papers' rule)",
             _fmt_rate(r["valid_composition"]) + count(self.valid_composition)),
            ("unique (matches no earlier sample)", _fmt_rate(r["unique"]) + count(self.unique)),
            ("novel (matches no training structure)", _fmt_rate(r["novel"]) + count(self.novel)),
            ("memorised (= 1 - novel)", _fmt_rate(r["memorised"]) + count(self.memorised)),
            ("physics: d_min >= min distance", f"{_fmt_rate(float(self.distance_valid.mean()))} "
                                               f"(min distance {self.min_distance:g} Å)"),
            ("physics: density in range", "{} ({:g}-{:g} g/cm³)".format(
                _fmt_rate(float(self.density_valid.mean())), *self.density_range)),
            ("d_min min / median / max", _fmt_summary(self.d_min, "Å")),
            ("density min / median / max", _fmt_summary(self.density, "g/cm³")),
            (f"prototype match (spglib, symprec {self.symprec:g} Å)", _fmt_rate(self.match_rate)),
            ("  " + " / ".join(PROTOTYPES), " / ".join(str(counts[p]) for p in PROTOTYPES)),
            ("space groups (top 5)", groups),
            ("formulas (top 5)", ", ".join(f"{k}: {v}" for k, v in list(self.formula_counts.items())[:5])),
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


def evaluate_samples(samples, reference=None, *, validator: PhysicsValidator | None = None, symprec: float = 0.1,
                     matcher_settings: dict | None = None, uniqueness: bool = True) -> SampleReport:
    """A ``SampleReport`` on a list of generated Crystals (the fields are defined in ``SampleReport``).

    ``reference`` (the training set, optional) enables novelty and memorisation. ``validator``
    (default ``PhysicsValidator()``) sets the physics checks (0.7 Å, 0.5-20 g/cm³); ``symprec`` is
    spglib's tolerance in Å; ``matcher_settings`` overrides ``MATCHER_SETTINGS`` (e.g. ``{"stol": 0.3}``).
    ``uniqueness=False`` skips the uniqueness check (``unique`` is None), the costly part for many
    large samples (``scoring_cost`` estimates it). A cell that StructureMatcher could not compare
    within MATCHER_LATTICE_BUDGET is refused before any comparison (``check_matcher_budget``).
    ``report.extra["matcher"]`` records the matcher calls and the samples whose candidate list was cut.
    """
    samples = check_crystal_list("samples", samples)
    reference = None if reference is None else check_crystal_list("reference", reference)
    validator = PhysicsValidator() if validator is None else validator
    if not isinstance(validator, PhysicsValidator):
        raise TypeError(f"validator must be a PhysicsValidator or None, got {describe(validator)}")
    symprec = check_positive("symprec (Å)", symprec, upper=MAX_SYMPREC)
    if matcher_settings is not None and not isinstance(matcher_settings, dict):
        raise TypeError(f"matcher_settings must be a dict such as {{'stol': 0.3}} or None, "
                        f"got {describe(matcher_settings)}")
    uniqueness = check_bool("uniqueness", uniqueness)
    matcher, settings = structure_matcher(**(matcher_settings or {}))
    for name, crystals in (("samples", samples), ("reference", reference or [])):
        for k, c in enumerate(crystals):  # before any work: a cell the matcher cannot handle is refused now
            check_matcher_budget(f"{name}[{k}]", c.lattice, settings["ltol"])
    seconds, stats = {}, {}
    t0 = time.perf_counter()
    distance_valid, d_min = validator.check_minimum_distance_many(samples)
    density = np.array([c.density for c in samples])  # (n,) g/cm^3
    lo, hi = validator.density_range
    composition = np.array([valid_composition(c) for c in samples])  # cached per reduced formula
    t1 = time.perf_counter()
    datasets = [symmetry_dataset(c, symprec) for c in samples]  # one spglib call per sample
    t2 = time.perf_counter()
    structures = [c.to_pymatgen() for c in samples]
    unique = unique_mask(structures, matcher, stats=stats) if uniqueness else None
    t3 = time.perf_counter()
    novel = None if reference is None else novel_mask(structures, [c.to_pymatgen() for c in reference], matcher)
    t4 = time.perf_counter()
    seconds.update(physics=t1 - t0, spglib=t2 - t1, unique=t3 - t2, novel=t4 - t3)
    return SampleReport(
        d_min=d_min, density=density, distance_valid=distance_valid,
        density_valid=(density >= lo) & (density <= hi), valid_structure=d_min > VALID_STRUCTURE_DISTANCE,
        valid_composition=composition,
        space_groups=[None if ds is None else int(ds.number) for ds in datasets],
        space_group_symbols={int(ds.number): str(ds.international) for ds in datasets if ds is not None},
        prototypes=[prototype_from_dataset(ds) for ds in datasets], unique=unique, novel=novel,
        formulas=[s.composition.reduced_formula for s in structures],
        min_distance=validator.min_distance, density_range=validator.density_range, symprec=symprec,
        matcher=settings, seconds=seconds,
        extra={"matcher": {"unique_calls": stats.get("calls", 0), "unique_capped": stats.get("capped", 0),
                           "max_candidates": UNIQUE_CANDIDATES}})


def compare_reports(reports: dict) -> str:
    """Side-by-side text table of several reports, e.g. ``{"per-atom MLP": r1, "uniform random": r2}``."""
    if not isinstance(reports, dict) or not all(isinstance(r, SampleReport) for r in reports.values()):
        raise TypeError(f"reports must be a non-empty dict {{name: SampleReport}}, got {describe(reports)}")
    if not reports:
        raise ValueError("reports is empty; expected a dict {name: SampleReport}")
    columns = {name: dict(r._rows()) for name, r in reports.items()}  # name -> {metric: value}
    labels = list(dict.fromkeys(k for col in columns.values() for k in col))  # union, in order
    widths = [max(map(len, labels))] + [max(len(name), *(len(c.get(k, "n/a")) for k in labels))
                                        for name, c in columns.items()]
    table = [["metric", *columns]] + [[k, *(c.get(k, "n/a") for c in columns.values())] for k in labels]
    return "\n".join("  ".join(f"{v:<{w}}" for v, w in zip(row, widths)).rstrip() for row in table)
