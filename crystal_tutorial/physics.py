"""Physics validation: minimum distance, repulsion correction, density, symmetry.

A generated structure is *valid* when no two atoms are closer than ``min_distance`` (0.7 Å by
default: closer nuclei would overlap their core electrons, which Pauli exclusion forbids; real
bonds are >= ~0.74 Å, the H2 bond) and its density lies in a plausible range (0.5-20 g/cm^3).
Symmetry comes from spglib (Togo & Tanaka, "Spglib: a software library for crystal symmetry
search", 2018): a structure *matches a prototype* when spglib finds the prototype's space group
and its standardized conventional cell holds the prototype's number of atoms.

The report on many generated samples (validity, symmetry, uniqueness, novelty) lives in
``metrics.py`` (``evaluate_samples``, ``SampleReport``), which builds on this module; the argument
checks both use live in ``checks.py``.
"""
from __future__ import annotations

import dataclasses
import os
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from .checks import (
    check_array,
    check_crystal,
    check_crystal_list,
    check_int,
    check_lattice,
    check_number,
    check_positive,
    describe,
    group_indices,
    mic_method,
    stack_group,
)
from .crystals import Crystal
from .pbc import displacements, min_distance, minimum_image, wrap

# Space group number and atoms in the standardized conventional cubic cell of each prototype.
MAX_SYMPREC = 10.0  # Å: spglib's tolerance; beyond a few Å every cell looks cubic
MAX_DENSITY = 1000.0  # g/cm^3: bounds of a density window (osmium, the densest element, is 22.6)
PROTOTYPE_SPACE_GROUPS = {"sc": (221, 1), "bcc": (229, 2), "fcc": (225, 4), "diamond": (227, 8)}
_MAX_HALVINGS = 30  # backtracking: a step is halved at most this often (2^-30 ~ 1e-9) before giving up
_COINCIDENT = 1e-8  # Å; closer pairs get a fixed tie-break direction instead of r_ij / d_ij


# --- symmetry through spglib ------------------------------------------------------------------
@contextmanager
def _quiet_spglib():
    """Silence spglib's C-level failure messages and its per-call DeprecationWarning (spglib 2.7+)."""
    old = os.environ.get("SPGLIB_WARNING")
    os.environ["SPGLIB_WARNING"] = "OFF" if old is None else old
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            yield
    finally:
        if old is None:
            os.environ.pop("SPGLIB_WARNING", None)


_PER_ATOM_FIELDS = ("wyckoffs", "site_symmetry_symbols", "crystallographic_orbits", "equivalent_atoms",
                    "mapping_to_primitive")  # spglib dataset fields with one entry per input atom
_ATOM_INDEX_FIELDS = ("crystallographic_orbits", "equivalent_atoms")  # ... whose values are atom indices


def canonical_order(crystal: Crystal) -> np.ndarray:
    """(N,) the permutation that sorts atoms by atomic number, then wrapped x, y, z.

    It depends only on the set of atoms, not on the order they are listed in, so spglib sees the
    same input for every permutation of a crystal (``symmetry_dataset``).
    """
    frac = wrap(crystal.frac_coords)  # (N, 3) in [0, 1)
    return np.lexsort((frac[:, 2], frac[:, 1], frac[:, 0], crystal.numbers))


def symmetry_dataset(crystal: Crystal, symprec: float = 0.1):
    """spglib's symmetry dataset of ``crystal`` (``.number``, ``.international``, ``.std_positions``,
    ...), or ``None`` when spglib fails (for example two atoms closer than ``symprec``).

    spglib's verdict on a noisy structure can depend on the order of its atoms (at symprec 0.1 Å,
    random orders of one noisy FCC cell gave space groups 5 and 8), so the atoms are passed in
    ``canonical_order``: every permutation of a crystal gets the same verdict. The per-atom fields
    (``equivalent_atoms``, ``wyckoffs``, ...) are mapped back to the crystal's own atom order.
    """
    import spglib
    check_crystal("crystal", crystal)
    symprec = check_positive("symprec (a distance tolerance in Å)", symprec, upper=MAX_SYMPREC)
    error = getattr(getattr(spglib, "error", None), "SpglibError", ())  # raised when errors are opted in
    order = canonical_order(crystal)  # (N,) spglib's atom k is the crystal's atom order[k]
    cell = (crystal.lattice, crystal.frac_coords[order], crystal.numbers[order])
    with _quiet_spglib():
        try:
            ds = spglib.get_symmetry_dataset(cell, symprec=symprec)
        except error:
            return None
    if ds is None:
        return None
    fields = {}
    for name in _PER_ATOM_FIELDS:
        values = np.asarray(getattr(ds, name))
        if name in _ATOM_INDEX_FIELDS:
            values = order[values]  # sorted index -> the crystal's index
        restored = np.empty_like(values)
        restored[order] = values  # entry of the crystal's atom order[k] is spglib's entry k
        fields[name] = restored if isinstance(getattr(ds, name), np.ndarray) else restored.tolist()
    return dataclasses.replace(ds, **fields)


def space_group(crystal: Crystal, symprec: float = 0.1) -> tuple[int | None, str | None]:
    """Space group ``(number, international symbol)`` of ``crystal``, e.g. ``(225, "Fm-3m")``.

    ``symprec`` is a distance in Å (the unit of ``crystal.lattice``): spglib accepts a symmetry
    operation when it maps every atom to within ``symprec`` of an atom of the same species. Larger
    values forgive more noise, and too large values merge atoms. Errors add up along the way, so
    noise needs a margin: prototypes whose atoms are each displaced by 0.25 x symprec are always
    recognised, at 0.3 x symprec about 70% and at 0.4 x symprec about 25% of the time
    (benchmarks/bench_physics.py). Returns ``(None, None)`` if spglib fails.
    """
    ds = symmetry_dataset(crystal, symprec)
    return (None, None) if ds is None else (int(ds.number), str(ds.international))


def prototype_from_dataset(ds) -> str | None:
    if ds is None:
        return None
    n_conventional = len(ds.std_types)  # atoms in the standardized conventional cell
    for name, (number, n_atoms) in PROTOTYPE_SPACE_GROUPS.items():
        if ds.number == number and n_conventional == n_atoms:
            return name
    return None


def prototype_match(crystal: Crystal, symprec: float = 0.1) -> str | None:
    """``"sc"``, ``"bcc"``, ``"fcc"``, ``"diamond"`` or ``None``.

    A match needs the prototype's space group (221, 229, 225, 227) *and* its atom count in
    spglib's standardized conventional cell (1, 2, 4, 8). Counting atoms in the conventional cell,
    not in the given cell, makes supercells and primitive cells match, and rejects look-alikes such
    as rock salt (225, 8 atoms) or CsCl (221, 2 atoms). ``symprec`` is in Å (see ``space_group``).
    """
    return prototype_from_dataset(symmetry_dataset(crystal, symprec))


def prototype_key(crystal: Crystal, symprec: float = 0.1):
    """(space group, sorted ((atoms of a species in the conventional cell, its Wyckoff orbits), ...)) or None.

    Species-blind but pattern-aware: NaCl and MgO share (225, ((4, 1), (4, 1))), Cu has
    (225, ((4, 1),)) and CaF2 (225, ((4, 1), (8, 1))), so a rock-salt sample matches a rock-salt
    prototype only if its two species alternate (otherwise spglib finds a lower symmetry). Wyckoff
    letters are not compared: they depend on the origin (FCC sits on 4a or, shifted by half a
    cell, on the equivalent 4b). From spglib's dataset (``physics.symmetry_dataset``).
    """
    ds = symmetry_dataset(crystal, symprec)
    if ds is None:
        return None
    orbits = np.unique(ds.equivalent_atoms)                  # one representative atom per orbit
    std_types = np.asarray(ds.std_types)
    per_species = [(int(np.sum(std_types == z)), int(np.sum(crystal.numbers[orbits] == z)))
                   for z in np.unique(crystal.numbers)]      # loop over species (a handful)
    return int(ds.number), tuple(sorted(per_species))


def species_match(samples, reference, symprec: float = 0.1) -> np.ndarray:
    """(n,) bool: sample k has the ``prototype_key`` of some reference crystal (e.g. the training set)."""
    keys = {prototype_key(c, 0.01) for c in reference} - {None}
    return np.array([prototype_key(c, symprec) in keys for c in samples])


# --- the validator ------------------------------------------------------------------------------
@dataclass(frozen=True)
class CorrectionResult:
    """Outcome of ``PhysicsValidator.correct_structure``."""

    crystal: Crystal
    iterations: int  # accepted steps
    success: bool  # d_min_after >= min_distance
    d_min_before: float  # Å
    d_min_after: float  # Å
    n_violations_before: int  # pairs closer than min_distance
    n_violations_after: int
    n_violations_history: tuple = ()  # after each accepted step, starting with the input
    d_min_history: tuple = ()


def _fibonacci_directions(n):
    """n distinct unit vectors (n, 3): tie-break directions for atoms that sit on top of each other."""
    k = np.arange(n) + 0.5
    z = 1.0 - 2.0 * k / n
    phi = np.pi * (1.0 + 5 ** 0.5) * k
    r = np.sqrt(1.0 - z * z)
    return np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=-1)


@dataclass(frozen=True)
class PhysicsValidator:
    """Checks and repairs generated crystals. ``min_distance`` in Å, ``density_range`` in g/cm^3.

    Example::

        v = PhysicsValidator()
        v.check_minimum_distance(prototype("fcc"))   # (True, 3.5355...): a / sqrt(2) for a = 5 Å
        v.correct_structure(crystal).crystal         # atoms pushed apart to >= 0.7 Å

    The report on many samples is ``metrics.evaluate_samples(samples, validator=v)``.
    """

    min_distance: float = 0.7  # Å: below the shortest real bond (H2, 0.74 Å)
    density_range: tuple = (0.5, 20.0)  # g/cm^3: the hello-world's bounds; Li (0.53) fits, Os (22.6) not

    def __post_init__(self):
        object.__setattr__(self, "min_distance", check_positive("min_distance (Å)", self.min_distance))
        rng = self.density_range
        if not isinstance(rng, (tuple, list)) or len(rng) != 2:
            raise TypeError(f"density_range must be a pair (low, high) in g/cm^3, got {describe(rng)}")
        low = check_number("density_range[0] (g/cm^3)", rng[0], 0, MAX_DENSITY)
        high = check_number("density_range[1] (g/cm^3)", rng[1], 0, MAX_DENSITY)
        if not low < high:
            raise ValueError(f"density_range must be (low, high) g/cm^3 with low < high, got {rng!r}")
        object.__setattr__(self, "density_range", (low, high))

    space_group = staticmethod(space_group)
    prototype_match = staticmethod(prototype_match)

    # --- minimum distance ---
    def check_minimum_distance(self, crystal: Crystal) -> tuple[bool, float]:
        """``(valid, d_min)``: d_min is the exact minimum-image distance (Å) between two atoms,
        or to an atom's own periodic image (the shortest lattice vector) if that is shorter."""
        check_crystal("crystal", crystal)
        d = min_distance(crystal.frac_coords, crystal.lattice)
        return bool(d >= self.min_distance), float(d)

    def check_minimum_distance_batch(self, frac_coords, lattice) -> tuple[np.ndarray, np.ndarray]:
        """Vectorised check of B structures: frac_coords (B, N, 3), lattice (3, 3) or (B, 3, 3).

        Returns ``valid`` (B,) bool and ``d_min`` (B,) in Å.
        """
        frac_coords = check_array("frac_coords", frac_coords, ("B", "N", 3))  # (B, N, 3)
        if frac_coords.shape[0] == 0:
            raise ValueError(f"frac_coords must have shape (B, N, 3) with B >= 1, got {frac_coords.shape}")
        lattice = check_lattice("lattice", lattice, batched=True)
        if lattice.shape not in ((3, 3), (frac_coords.shape[0], 3, 3)):
            raise ValueError(f"lattice must have shape (3, 3) or (B, 3, 3) = ({frac_coords.shape[0]}, 3, 3), "
                             f"got {lattice.shape}")
        d = np.atleast_1d(min_distance(frac_coords, lattice))  # (B,)
        return d >= self.min_distance, d

    def check_minimum_distance_many(self, crystals) -> tuple[np.ndarray, np.ndarray]:
        """``check_minimum_distance`` for a list of Crystals, batched by atom count and lattice (in chunks
        of about 2^20 atom pairs, so memory stays bounded for any number of crystals)."""
        crystals = check_crystal_list("crystals", crystals)
        d = np.empty(len(crystals))
        for group in group_indices(crystals, lattice_tol=None):  # loop over groups of equal atom count
            size = max(1, 2**20 // crystals[group[0]].n_atoms ** 2)  # ~170 B per pair: chunks under ~200 MB
            for idx in (group[k:k + size] for k in range(0, len(group), size)):
                frac, _, lattice = stack_group(crystals, idx)  # (G, N, 3), _, (3, 3) or (G, 3, 3)
                d[idx] = self.check_minimum_distance_batch(frac, lattice)[1]
        return d >= self.min_distance, d

    # --- repulsion correction ---
    def _pair_state(self, frac, lattice, target, tie_unit):
        """Violations, overlap energy E, forces (N, 3) and d_min over pairs for positions ``frac`` (N, 3)."""
        vec, d = minimum_image(displacements(frac), lattice, mic_method(lattice))  # (N, N, 3) r_j - r_i, (N, N)
        off = ~np.eye(d.shape[0], dtype=bool)
        overlap = np.where(off, np.maximum(target - d, 0.0), 0.0)  # (N, N) Å
        unit = np.where((d < _COINCIDENT)[..., None], tie_unit,
                        vec / np.maximum(d, _COINCIDENT)[..., None])  # (N, N, 3) unit vector i -> j
        n_viol = int(np.count_nonzero(np.triu(off & (d < self.min_distance))))
        energy = 0.25 * float(np.sum(overlap ** 2))  # E = 1/2 sum_{i<j} max(0, target - d_ij)^2
        force = -np.einsum("ij,ijk->ik", overlap, unit)  # (N, 3) Å, F_i = -dE/dr_i
        d_pairs = float(d[off].min()) if d.shape[0] > 1 else np.inf
        return n_viol, energy, force, d_pairs

    def correct_structure(self, crystal: Crystal, max_iterations: int = 100, step: float = 0.1,
                          margin: float = 0.05) -> CorrectionResult:
        """Push apart atoms closer than ``min_distance`` by gradient descent on an overlap energy.

        E = 1/2 sum over pairs of max(0, target - d_ij)^2, minimum-image d_ij, target =
        min_distance + ``margin`` (Å). Each atom moves by ``step`` times its force F_i = -dE/dr_i (Å),
        away from each close neighbour in proportion to the overlap; the move is converted to
        fractional coordinates (df = dr @ inverse(lattice)) and wrapped. ``step = 0.5`` resolves an
        isolated pair in one move. A step is accepted only if it lowers E without raising the number
        of violating pairs, else it is halved (backtracking, up to 30 times). If no step helps (an
        atom is pressed against the min_distance wall of a valid pair), the margin is doubled, up to
        min_distance / 2, so that near pairs push back harder; then the correction gives up.
        Coincident atoms separate along fixed distinct directions. Stops when no pair violates or
        after ``max_iterations`` accepted steps. A cell whose shortest lattice vector is below
        ``min_distance`` never succeeds (an atom is too close to its own image).
        """
        check_crystal("crystal", crystal)
        max_iterations = check_int("max_iterations", max_iterations, 0, 100_000)
        step = check_positive("step", step, upper=1.0)
        margin = check_positive("margin (Å; with 0 pairs only creep towards min_distance)", margin,
                                 upper=self.min_distance / 2)
        lattice, inv_lattice = crystal.lattice, np.linalg.inv(crystal.lattice)
        shortest = min_distance(np.zeros((1, 3)), lattice)  # Å, an atom to its own nearest image
        v = _fibonacci_directions(crystal.n_atoms)  # (N, 3) distinct fixed directions
        tie = v[None, :, :] - v[:, None, :]  # (N, N, 3), antisymmetric: pushes a coincident pair apart
        tie_unit = tie / np.maximum(np.linalg.norm(tie, axis=-1, keepdims=True), 1e-300)
        frac = wrap(crystal.frac_coords)  # (N, 3)
        n_viol, energy, force, d_pairs = self._pair_state(frac, lattice, self.min_distance + margin, tie_unit)
        n_hist, d_hist = [n_viol], [min(d_pairs, shortest)]
        while len(n_hist) <= max_iterations and n_viol > 0:  # loop over correction steps
            s = step
            for _ in range(_MAX_HALVINGS):
                trial = wrap(frac + (s * force) @ inv_lattice)  # (N, 3) dr -> df = dr @ L^-1, then wrap
                new = self._pair_state(trial, lattice, self.min_distance + margin, tie_unit)
                if new[0] <= n_viol and new[1] < energy:
                    break
                s /= 2
            else:  # stuck: stiffen the near pairs, or stop if already at the largest margin
                if margin >= self.min_distance / 2:
                    break
                margin = min(2 * margin, self.min_distance / 2)
                n_viol, energy, force, d_pairs = self._pair_state(frac, lattice, self.min_distance + margin, tie_unit)
                continue
            frac, (n_viol, energy, force, d_pairs) = trial, new
            n_hist.append(n_viol), d_hist.append(min(d_pairs, shortest))
        return CorrectionResult(
            crystal=Crystal(lattice, frac, crystal.numbers), iterations=len(n_hist) - 1,
            success=bool(d_hist[-1] >= self.min_distance), d_min_before=float(d_hist[0]),
            d_min_after=float(d_hist[-1]), n_violations_before=n_hist[0], n_violations_after=n_viol,
            n_violations_history=tuple(n_hist), d_min_history=tuple(float(x) for x in d_hist))

    # --- density ---
    def density_check(self, crystal: Crystal) -> tuple[bool, float]:
        """``(valid, density)``: density in g/cm^3 and whether it lies in ``density_range``."""
        rho = check_crystal("crystal", crystal).density
        lo, hi = self.density_range
        return bool(lo <= rho <= hi), float(rho)
