"""Crystals: a periodic unit cell, the four cubic prototypes, the demo data set, real crystals.

A crystal is a lattice (three vectors a, b, c, the rows of a (3, 3) matrix, in Å) plus the
fractional coordinates of the atoms in one cell and their atomic numbers. Cartesian positions
are ``cart_coords = frac_coords @ lattice`` (the convention of ASE, pymatgen and spglib).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# 1 amu in grams divided by 1 Å^3 in cm^3: converts amu / Å^3 to g / cm^3.
AMU_PER_A3_TO_G_PER_CM3 = 1.66053906660

PROTOTYPE_SITES = {
    # Fractional coordinates of the conventional cubic cells.
    "sc": [[0.0, 0.0, 0.0]],
    "bcc": [[0.0, 0.0, 0.0], [0.5, 0.5, 0.5]],
    "fcc": [[0.0, 0.0, 0.0], [0.0, 0.5, 0.5], [0.5, 0.0, 0.5], [0.5, 0.5, 0.0]],
    "diamond": [[0.0, 0.0, 0.0], [0.0, 0.5, 0.5], [0.5, 0.0, 0.5], [0.5, 0.5, 0.0],
                [0.25, 0.25, 0.25], [0.25, 0.75, 0.75], [0.75, 0.25, 0.75], [0.75, 0.75, 0.25]],
}
PROTOTYPES = tuple(PROTOTYPE_SITES)  # ("sc", "bcc", "fcc", "diamond")

# The demo data set (the hello-world's 10 structures) lives in a 5 Å cubic cell of silicon.
DEMO_LATTICE_A = 5.0
DEMO_NUMBER = 14
DEMO_JITTER = 0.01  # standard deviation of the Gaussian jitter, in fractional units (0.05 Å)

# Real elemental crystals, conventional cubic cells, lattice constants from ASE's
# ``ase.data.reference_states`` (experimental values, Kittel, "Introduction to Solid State Physics").
REFERENCE_ELEMENTS = ("Cu", "Al", "Ni", "Ag", "Au", "Pb", "Fe", "W", "Na", "Mo", "Cr",
                      "Si", "C", "Ge", "Po")


def _as_float_array(name, value):
    """A float64 copy of ``value`` (so the Crystal owns its arrays), or a TypeError naming ``name``."""
    try:
        return np.array(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of numbers, got {type(value).__name__}: {exc}") from None


@dataclass(frozen=True, eq=False)
class Crystal:
    """A periodic crystal: ``lattice`` (3, 3) rows a, b, c in Å; ``frac_coords`` (N, 3); ``numbers`` (N,).

    Validated on construction: shapes, finite values, a non-singular lattice with a finite volume,
    N >= 1 and atomic numbers (integers, not ``bool`` or ``str``) in 1..118. Left-handed lattices are
    allowed (``handedness`` says which). The arrays are stored read-only, so a ``Crystal`` cannot
    change after it is made; copies (``copy.deepcopy``, pickle) are read-only too.
    """

    lattice: np.ndarray
    frac_coords: np.ndarray
    numbers: np.ndarray
    _volume: float = field(init=False, repr=False)

    def __post_init__(self):
        lattice = _as_float_array("lattice", self.lattice)
        if lattice.shape != (3, 3):
            raise ValueError(f"lattice must have shape (3, 3) (rows a, b, c in Å), got {lattice.shape}")
        if not np.all(np.isfinite(lattice)):
            raise ValueError("lattice contains NaN or infinite values")
        with np.errstate(over="ignore"):
            det = float(np.linalg.det(lattice))
            lengths = np.linalg.norm(lattice, axis=1)
        if not (np.isfinite(det) and np.all(np.isfinite(lengths))):
            raise ValueError(
                f"lattice is too large: vectors of up to {np.abs(lattice).max():.3g} Å give a cell volume that "
                "overflows float64 (infinite); expected lattice vectors of a real cell (a few Å to a few hundred Å)")
        if lengths.min() < 1e-8 or abs(det) < 1e-8 * float(np.prod(lengths)):
            raise ValueError(
                f"lattice is singular (volume {det:.3g} Å^3): its three vectors lie in a plane or one is "
                "zero; a unit cell needs three independent lattice vectors")
        frac = _as_float_array("frac_coords", self.frac_coords)
        if frac.ndim != 2 or frac.shape[1] != 3:
            raise ValueError(f"frac_coords must have shape (N, 3), got {frac.shape}")
        if frac.shape[0] < 1:
            raise ValueError("a crystal needs at least one atom (frac_coords has N = 0 rows)")
        if not np.all(np.isfinite(frac)):
            raise ValueError("frac_coords contains NaN or infinite values")
        numbers = np.asarray(self.numbers)
        if numbers.dtype.kind not in "iuf":  # bool is not an atomic number (True would become hydrogen)
            raise TypeError(f"numbers must be integer atomic numbers (e.g. 14 for Si), got "
                            f"{type(self.numbers).__name__} of {numbers.dtype.name}: {self.numbers!r}"[:200])
        if numbers.ndim == 0:
            numbers = np.full(frac.shape[0], numbers)
        if numbers.shape != (frac.shape[0],):
            raise ValueError(
                f"numbers must have shape (N,) = ({frac.shape[0]},) to match frac_coords, got {numbers.shape}")
        if not np.all(np.isfinite(numbers.astype(float))) or not np.all(np.mod(numbers, 1) == 0):
            raise ValueError(f"numbers must be whole atomic numbers, got {numbers}")
        numbers = numbers.astype(int)
        if numbers.min() < 1 or numbers.max() > 118:
            raise ValueError(f"atomic numbers must lie in 1..118, got values from {numbers.min()} to {numbers.max()}")
        for arr in (lattice, frac, numbers):
            arr.setflags(write=False)
        object.__setattr__(self, "lattice", lattice)
        object.__setattr__(self, "frac_coords", frac)
        object.__setattr__(self, "numbers", numbers)
        object.__setattr__(self, "_volume", det)

    # --- derived quantities -------------------------------------------------------------
    @property
    def n_atoms(self) -> int:
        return int(self.frac_coords.shape[0])

    @property
    def cart_coords(self) -> np.ndarray:
        """Cartesian positions in Å, (N, 3) = frac_coords (N, 3) @ lattice (3, 3)."""
        return self.frac_coords @ self.lattice

    @property
    def volume(self) -> float:
        """Cell volume |det(lattice)| in Å^3."""
        return abs(self._volume)

    @property
    def handedness(self) -> str:
        """"right" if det(lattice) > 0 (a, b, c form a right-handed set), else "left"."""
        return "right" if self._volume > 0 else "left"

    @property
    def density(self) -> float:
        """Mass density in g/cm^3: sum of atomic masses (amu) / volume (Å^3) x 1.6605."""
        from ase.data import atomic_masses
        return float(atomic_masses[self.numbers].sum() / self.volume * AMU_PER_A3_TO_G_PER_CM3)

    @property
    def symbols(self) -> list[str]:
        from ase.data import chemical_symbols
        return [chemical_symbols[z] for z in self.numbers]

    @property
    def formula(self) -> str:
        symbols = self.symbols
        return "".join(f"{s}{symbols.count(s) if symbols.count(s) > 1 else ''}"
                       for s in dict.fromkeys(symbols))

    def wrapped(self) -> "Crystal":
        """The same crystal with every fractional coordinate wrapped into [0, 1)."""
        from .pbc import wrap
        return Crystal(self.lattice, wrap(self.frac_coords), self.numbers)

    def __repr__(self) -> str:
        a, b, c = np.linalg.norm(self.lattice, axis=1)
        return (f"Crystal({self.formula}, N={self.n_atoms}, a={a:.3f} b={b:.3f} c={c:.3f} Å, "
                f"V={self.volume:.2f} Å^3, density={self.density:.3f} g/cm^3)")

    def __eq__(self, other) -> bool:
        if not isinstance(other, Crystal):
            return NotImplemented
        return (np.array_equal(self.lattice, other.lattice) and np.array_equal(self.frac_coords, other.frac_coords)
                and np.array_equal(self.numbers, other.numbers))

    __hash__ = None

    def __reduce__(self):
        # copy.copy, copy.deepcopy and pickle rebuild through __init__, so the copy is validated and
        # its arrays are read-only like the original's (a plain dataclass copy would make them writable).
        return (Crystal, (np.array(self.lattice), np.array(self.frac_coords), np.array(self.numbers)))

    # --- conversions --------------------------------------------------------------------
    def to_ase(self):
        """An ``ase.Atoms`` with the same cell, scaled positions and numbers, periodic in 3D."""
        from ase import Atoms
        return Atoms(numbers=self.numbers, cell=self.lattice, scaled_positions=self.frac_coords, pbc=True)

    @classmethod
    def from_ase(cls, atoms) -> "Crystal":
        """Build a ``Crystal`` from an ``ase.Atoms`` (which must have a full 3D cell)."""
        if not hasattr(atoms, "get_scaled_positions"):
            raise TypeError(f"from_ase expects an ase.Atoms, got {type(atoms).__name__}")
        if atoms.cell.rank != 3:
            raise ValueError(f"the Atoms object has a {atoms.cell.rank}D cell; a crystal needs three lattice vectors")
        return cls(np.array(atoms.cell[:]), atoms.get_scaled_positions(wrap=False), atoms.numbers)

    def to_pymatgen(self):
        """A pymatgen ``Structure`` with the same lattice (rows a, b, c), fractional coordinates and elements."""
        from pymatgen.core import Lattice, Structure
        return Structure(Lattice(self.lattice), self.symbols, self.frac_coords)

    @classmethod
    def from_pymatgen(cls, structure) -> "Crystal":
        """Build a ``Crystal`` from a pymatgen ``Structure`` (ordered: one element per site).

        Oxidation states are dropped (``Na+`` becomes Na); partial occupancies and dummy species
        raise ``ValueError``, since a Crystal holds one atomic number per site.
        """
        if not (hasattr(structure, "lattice") and hasattr(structure, "frac_coords") and hasattr(structure, "sites")):
            raise TypeError(f"from_pymatgen expects a pymatgen Structure, got {type(structure).__name__}")
        if not structure.is_ordered:
            raise ValueError("the Structure has partially occupied sites; a Crystal needs one element per site")
        numbers = [getattr(site.specie, "Z", 0) for site in structure]  # Element and Species have Z
        if len(numbers) == 0 or min(numbers) < 1:
            raise ValueError(f"the Structure needs at least one site, each a real element; got species "
                             f"{[str(site.specie) for site in structure]}")
        return cls(np.array(structure.lattice.matrix), np.array(structure.frac_coords), numbers)

    def to_spglib(self) -> tuple:
        """The ``(lattice, positions, numbers)`` tuple spglib takes."""
        return (np.array(self.lattice), np.array(self.frac_coords), np.array(self.numbers))

    def supercell(self, reps=(2, 2, 2)) -> "Crystal":
        """The crystal repeated ``reps`` = (n_a, n_b, n_c) times along a, b, c."""
        reps = np.asarray(reps, dtype=int).reshape(-1)
        if reps.shape != (3,) or reps.min() < 1:
            raise ValueError(f"reps must be three positive integers, got {reps.tolist()}")
        shifts = np.stack(np.meshgrid(*[np.arange(n) for n in reps], indexing="ij"), -1).reshape(-1, 3)  # (R, 3)
        frac = (self.frac_coords[None, :, :] + shifts[:, None, :]) / reps  # (R, N, 3)
        return Crystal(self.lattice * reps[:, None], frac.reshape(-1, 3), np.tile(self.numbers, len(shifts)))


def prototype(name: str, a: float = DEMO_LATTICE_A, number: int = DEMO_NUMBER) -> Crystal:
    """Conventional cubic cell of ``"sc"`` (1 atom), ``"bcc"`` (2), ``"fcc"`` (4) or ``"diamond"`` (8).

    ``a`` is the cubic lattice constant in Å, ``number`` the atomic number of every atom.
    """
    if name not in PROTOTYPE_SITES:
        raise ValueError(f"unknown prototype {name!r}; expected one of {list(PROTOTYPE_SITES)}")
    if not np.isfinite(a) or a <= 0:
        raise ValueError(f"lattice constant a must be a positive number of Å, got {a}")
    sites = np.array(PROTOTYPE_SITES[name])
    return Crystal(np.eye(3) * float(a), sites, np.full(len(sites), number))


def jitter(crystal: Crystal, sigma: float, rng: np.random.Generator) -> Crystal:
    """Add Gaussian noise of standard deviation ``sigma`` (fractional units) to every coordinate, then wrap."""
    if not np.isfinite(sigma) or sigma < 0:
        raise ValueError(f"sigma must be a non-negative fractional displacement, got {sigma}")
    from .pbc import wrap
    frac = crystal.frac_coords + sigma * rng.standard_normal(crystal.frac_coords.shape)
    return Crystal(crystal.lattice, wrap(frac), crystal.numbers)


def demo_dataset(seed: int = 0) -> list[Crystal]:
    """The hello-world's 10 training structures, deterministic for a ``seed``.

    The four prototypes (SC, FCC, BCC, diamond; silicon in a 5 Å cubic cell), then six perturbed
    variants, cycling SC, FCC, BCC, diamond, SC, FCC: each fractional coordinate gets Gaussian
    jitter of standard deviation ``DEMO_JITTER`` = 0.01 (0.05 Å) and is wrapped into [0, 1).
    """
    rng = np.random.default_rng(seed)
    bases = [prototype(name) for name in ("sc", "fcc", "bcc", "diamond")]
    variants = [jitter(bases[i % 4], DEMO_JITTER, rng) for i in range(6)]
    return bases + variants


def reference_crystals(elements=REFERENCE_ELEMENTS) -> dict[str, Crystal]:
    """Real elemental crystals in their conventional cubic cells, built by ``ase.build.bulk``.

    Lattice constants are ASE's experimental reference values (``ase.data.reference_states``).
    Returns ``{symbol: Crystal}``, e.g. ``reference_crystals()["Cu"]`` is FCC copper, a = 3.61 Å.
    """
    from ase.build import bulk
    from ase.data import atomic_numbers, reference_states
    out = {}
    for symbol in elements:
        if symbol not in atomic_numbers:
            raise ValueError(f"unknown element symbol {symbol!r}")
        state = reference_states[atomic_numbers[symbol]]
        if not state or state.get("symmetry") not in PROTOTYPE_SITES:
            raise ValueError(f"{symbol} has no cubic sc/fcc/bcc/diamond reference structure in ASE's data")
        out[symbol] = Crystal.from_ase(bulk(symbol, state["symmetry"], a=state["a"], cubic=True)).wrapped()
    return out


OCCUPANCY_TOLERANCE = 1e-3  # |occupancy - 1| above this is partial occupancy (CIFs round to 3-4 digits)


def _check_occupancies(block, path):
    """Raise if a CIF data block has a site with occupancy other than 1 (a disordered crystal)."""
    occupancies = block.get("_atom_site_occupancy")
    if occupancies is None:
        return  # no occupancy column: every site is full (the CIF default)
    labels = block.get("_atom_site_label") or block.get("_atom_site_type_symbol") or []
    occupancies = occupancies if isinstance(occupancies, list) else [occupancies]  # one site: not a loop
    labels = labels if isinstance(labels, list) else [labels]
    partial = []
    for k, occ in enumerate(occupancies):  # a loop over the sites written in the file, to name them
        try:
            occ = float(occ)
        except (TypeError, ValueError):
            continue  # "?" (unknown) or "." (inapplicable): CIF's default occupancy is 1
        if not np.isfinite(occ) or abs(occ - 1.0) > OCCUPANCY_TOLERANCE:
            label = labels[k] if k < len(labels) else f"site {k}"
            partial.append(f"{label} {occ:g}")
    if partial:
        shown = ", ".join(partial[:6]) + (f", ... ({len(partial)} sites)" if len(partial) > 6 else "")
        raise ValueError(
            f"{path} (data block {block.name!r}) has partial occupancies ({shown}): a disordered crystal. "
            "This package models ordered crystals, one atom per site; choose an ordered structure "
            "(e.g. an ordered supercell made with pymatgen's OrderDisorderedStructureTransformation)")


def read_cif(path, index: int | None = None) -> Crystal:
    """Read one ordered structure from a CIF file through ASE.

    A CIF file can hold several structures (data blocks). With ``index=None`` (the default) the file
    must hold exactly one; otherwise a ``ValueError`` lists the blocks and you pick one with
    ``index=k`` (0-based, in file order; negative counts from the end). Data blocks without atoms
    (e.g. a block of global metadata) are not counted.

    This package models ordered crystals: a site with partial occupancy (``_atom_site_occupancy``
    other than 1, e.g. Fe0.5/Co0.5 on one site, or O at 0.3) raises ``ValueError`` instead of being
    silently dropped or filled. A malformed file raises ``ValueError`` naming the file.
    """
    from ase.io.cif import parse_cif
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no CIF file at {path}")
    if index is not None and (isinstance(index, bool) or not isinstance(index, (int, np.integer))):
        raise TypeError(f"index must be an integer (which data block) or None, got {type(index).__name__} {index!r}")
    try:
        blocks = [b for b in parse_cif(str(path)) if b.has_structure()]
    except Exception as exc:  # ASE raises many kinds of errors on bad CIFs
        raise ValueError(f"could not read {path} as CIF: {type(exc).__name__}: {exc}") from None
    if not blocks:
        raise ValueError(f"{path} holds no structure (no data block with a cell and atom sites)")
    names = [b.name for b in blocks]
    if index is None:
        if len(blocks) > 1:
            raise ValueError(
                f"{path} holds {len(blocks)} structures (data blocks {names}); pass index=k with k in "
                f"0..{len(blocks) - 1} to pick one")
        index = 0
    if not -len(blocks) <= index < len(blocks):
        raise ValueError(f"index must lie in 0..{len(blocks) - 1} for {path} (data blocks {names}), got {index}")
    block = blocks[index]
    _check_occupancies(block, path)
    try:
        atoms = block.get_atoms()
    except Exception as exc:
        raise ValueError(f"could not read {path} (data block {block.name!r}) as CIF: {type(exc).__name__}: {exc}") \
            from None
    try:
        return Crystal.from_ase(atoms)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path} does not describe a valid crystal: {exc}") from None


def write_cif(crystal: Crystal, path) -> Path:
    """Write ``crystal`` to ``path`` as CIF through ASE (VESTA, pymatgen and OVITO read it); returns the path.

    CIF stores a cell as lengths and angles, which always describe a right-handed cell. A
    left-handed lattice (det < 0) is therefore written as the same atoms in the right-handed cell
    -a, -b, -c, with fractional coordinates -x (the Cartesian positions -x @ -L = x @ L are unchanged);
    otherwise the file would read back as the mirror image. The file is written atomically
    (``files.atomic_path``): an interrupted write leaves the previous file intact.
    """
    from ase.io import write
    from .files import atomic_path
    if not isinstance(crystal, Crystal):
        raise TypeError(f"write_cif expects a Crystal, got {type(crystal).__name__}")
    if crystal.handedness == "left":
        crystal = Crystal(-crystal.lattice, -crystal.frac_coords, crystal.numbers).wrapped()
    with atomic_path(path) as tmp:
        write(str(tmp), crystal.to_ase(), format="cif")
    return Path(path)


# --- real binary crystals (notebook 09) ------------------------------------------------------------
# Experimental room-temperature cubic lattice constants in Å, rounded to 0.01 Å (SrTiO3: 0.001 Å):
# the values tabulated in Kittel, "Introduction to Solid State Physics" (8th ed., ch. 1, tables of
# the NaCl, CsCl and cubic zinc sulfide structures) and in the CRC Handbook of Chemistry and Physics,
# "Lattice constants of crystals" (these agree to within 0.01 Å). Each entry: (formula, ASE
# ``crystalstructure`` or "perovskite", a, source).
BINARY_CRYSTALS = (
    ("NaCl", "rocksalt", 5.64, "Kittel table 1.3 (5.63) / CRC (5.640)"),
    ("KCl", "rocksalt", 6.29, "Kittel table 1.3 / CRC (6.293)"),
    ("LiF", "rocksalt", 4.03, "Kittel table 1.3 (4.02) / CRC (4.027)"),
    ("MgO", "rocksalt", 4.21, "Kittel table 1.3 (4.21) / CRC (4.212)"),
    ("CsCl", "cesiumchloride", 4.12, "Kittel table 1.4 (4.11) / CRC (4.123)"),
    ("GaAs", "zincblende", 5.65, "CRC (5.653)"),
    ("ZnS", "zincblende", 5.41, "Kittel table 1.5 (5.41), sphalerite"),
    ("CaF2", "fluorite", 5.46, "CRC (5.463)"),
    ("SrTiO3", "perovskite", 3.905, "CRC (3.905), cubic above 105 K"),
)
# Cubic perovskite ABO3 (space group 221, 5 atoms): A at the corner, B at the body centre, O on the faces.
PEROVSKITE_SITES = [[0.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, 0.5, 0.0], [0.5, 0.0, 0.5], [0.0, 0.5, 0.5]]
BINARY_ELEMENTS = tuple(s for s in REFERENCE_ELEMENTS if s != "Po")  # FCC, BCC, diamond (Po is SC, 1 atom)


def binary_dataset(include_elements: bool = True) -> dict[str, Crystal]:
    """Real binary (and ternary SrTiO3) crystals plus elemental FCC/BCC/diamond, conventional cubic cells.

    Rock salt (NaCl, KCl, LiF, MgO; 8 atoms, space group 225), cesium chloride (CsCl; 2 atoms, 221),
    zinc blende (GaAs, ZnS; 8 atoms, 216), fluorite (CaF2; 12 atoms, 225), built by
    ``ase.build.bulk(formula, crystalstructure, a=..., cubic=True)``, and cubic perovskite SrTiO3
    (5 atoms, 221) built by hand; the lattice constants and their sources are in ``BINARY_CRYSTALS``.
    ``include_elements`` adds ``reference_crystals(BINARY_ELEMENTS)`` (ASE's experimental values).
    Returns ``{name: Crystal}`` in that order, every cell at most 12 atoms, coordinates in [0, 1).
    """
    from ase.build import bulk
    from ase.symbols import string2symbols
    out = {}
    for formula, structure, a, _source in BINARY_CRYSTALS:
        if structure == "perovskite":
            from ase.data import atomic_numbers
            numbers = [atomic_numbers[s] for s in string2symbols(formula)]  # Sr, Ti, O, O, O
            out[formula] = Crystal(np.eye(3) * a, PEROVSKITE_SITES, numbers)
        else:
            out[formula] = Crystal.from_ase(bulk(formula, structure, a=a, cubic=True)).wrapped()
    if include_elements:
        out.update(reference_crystals(BINARY_ELEMENTS))
    return out


def load_cif_folder(path, max_atoms: int | None = None, on_error: str = "warn") -> list[Crystal]:
    """Every ``*.cif`` in the folder ``path`` (sorted by name) as a Crystal, coordinates wrapped into [0, 1).

    The same kind of list as ``list(binary_dataset().values())``, so your own structures train the
    same way. Each file goes through ``read_cif`` (one ordered structure per file), and a structure
    with more than ``max_atoms`` atoms (if given) is refused too.

    Bad files do not stop the others: every file is tried, and the bad ones are reported together,
    one line per file with its name and the reason. ``on_error="warn"`` (default) returns the good
    crystals and issues one ``UserWarning`` listing the bad files; ``on_error="raise"`` raises one
    ``ValueError`` listing them instead (use it when every file must load). If no file loads, that
    is always a ``ValueError``.
    """
    import warnings
    folder = Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(f"path must be a folder of .cif files, but {folder} is not a folder")
    if max_atoms is not None and (isinstance(max_atoms, bool) or not isinstance(max_atoms, (int, np.integer))
                                  or max_atoms < 1):
        raise ValueError(f"max_atoms must be a positive integer or None, got {max_atoms!r}")
    if on_error not in ("warn", "raise"):
        raise ValueError(f"on_error must be 'warn' or 'raise', got {on_error!r}")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".cif")
    if not files:
        raise ValueError(f"no .cif files in {folder}")
    crystals, errors = [], []
    for f in files:  # a loop over files, not atoms
        try:
            crystal = read_cif(f).wrapped()  # read_cif's errors name the file
            if max_atoms is not None and crystal.n_atoms > max_atoms:
                raise ValueError(f"{f} holds {crystal.n_atoms} atoms; at most max_atoms = {max_atoms} are allowed")
        except (ValueError, TypeError, OSError) as exc:
            errors.append(f"  {f.name}: {exc}")
            continue
        crystals.append(crystal)
    if errors:
        report = f"{len(errors)} of {len(files)} CIF files in {folder} could not be loaded:\n" + "\n".join(errors)
        if not crystals or on_error == "raise":
            raise ValueError(report)
        warnings.warn(report + f"\nloaded the other {len(crystals)} files", UserWarning, stacklevel=2)
    return crystals


# --- published benchmarks (chapter 10): perov-5 and carbon-24 from the CDVAE repository ----------
BENCHMARKS = ("perov_5", "carbon_24")
BENCHMARK_SPLITS = ("val", "test")  # no train split is shipped: train on val, test on test (DATA.md)


def _benchmark_arrays(name: str, split: str) -> dict:
    if name not in BENCHMARKS:
        raise ValueError(f"name must be one of {BENCHMARKS}, got {name!r}")
    if split not in BENCHMARK_SPLITS:
        raise ValueError(f"split must be one of {BENCHMARK_SPLITS} (there is no train split), got {split!r}")
    with np.load(Path(__file__).resolve().parent / "data" / f"{name}.npz", allow_pickle=False) as z:
        return {k: z[f"{split}_{k}"] for k in ("lattice", "frac", "numbers", "offsets", "ids")}


def load_benchmark(name: str, split: str = "test") -> list[Crystal]:
    """The ``split`` ("val" or "test") of benchmark ``name`` ("perov_5", "carbon_24") as Crystals, CSV row order.

    Converted from the CDVAE CSVs by ``benchmarks/convert_benchmarks.py`` (float32, under 1e-6 Å from
    pymatgen's parse); ids in ``benchmark_ids``; sources, licences and citations in DATA.md.
    """
    a = _benchmark_arrays(name, split)
    off = a["offsets"]
    return [Crystal(a["lattice"][s], a["frac"][off[s]:off[s + 1]], a["numbers"][off[s]:off[s + 1]])
            for s in range(len(off) - 1)]  # loop over structures


def benchmark_ids(name: str, split: str = "test") -> list[str]:
    """The material_id of every structure of ``load_benchmark(name, split)``, same order."""
    return [str(i) for i in _benchmark_arrays(name, split)["ids"]]
