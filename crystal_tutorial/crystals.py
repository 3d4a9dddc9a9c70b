"""Crystals: a periodic unit cell, the four cubic prototypes, the demo data set, real crystals.

CIF files are read and written in ``cif``; larger data sets live in ``datasets``.

A crystal is a lattice (three vectors a, b, c, the rows of a (3, 3) matrix, in Å) plus the
fractional coordinates of the atoms in one cell and their atomic numbers. Cartesian positions
are ``cart_coords = frac_coords @ lattice`` (the convention of ASE, pymatgen and spglib).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .checks import (
    check_array,
    check_choice,
    check_crystal,
    check_int,
    check_lattice,
    check_number,
    check_rng,
    check_seed,
)

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
MAX_LATTICE_A = 1000.0  # Å: prototype's largest lattice constant (real cells are a few Å)
MAX_REPS = 100  # largest repeat along one axis in Crystal.supercell
MAX_SUPERCELL_ATOMS = 100_000  # largest supercell (the pairwise tools are O(N^2))

# The demo data set (the hello-world's 10 structures) lives in a 5 Å cubic cell of silicon.
DEMO_LATTICE_A = 5.0
DEMO_NUMBER = 14
DEMO_JITTER = 0.01  # standard deviation of the Gaussian jitter, in fractional units (0.05 Å)

# Physical bounds of a lattice (the reasons are in Crystal's docstring).
MIN_LATTICE_LENGTH = 0.1  # Å, shortest lattice vector
MAX_LATTICE_LENGTH = 1e4  # Å, longest lattice vector
MIN_NORMALISED_VOLUME = 1e-6  # V / (|a| |b| |c|): flatter cells are refused

# Real elemental crystals, conventional cubic cells, lattice constants from ASE's
# ``ase.data.reference_states`` (experimental values, Kittel, "Introduction to Solid State Physics").
REFERENCE_ELEMENTS = ("Cu", "Al", "Ni", "Ag", "Au", "Pb", "Fe", "W", "Na", "Mo", "Cr",
                      "Si", "C", "Ge", "Po")


def check_lattice_bounds(lattice, det: float, lengths) -> None:
    """Raise ValueError unless ``lattice`` (det and row lengths given) is a cell of physical size and shape.

    The bounds and why are in ``Crystal``'s docstring; ``cif.read_cif`` checks a file's cell against
    the same constants before building it.
    """
    if lengths.min() < 1e-8 or abs(det) < 1e-8 * float(np.prod(lengths)):
        raise ValueError(
            f"lattice is singular (volume {det:.3g} Å^3): its three vectors lie in a plane or one is "
            "zero; a unit cell needs three independent lattice vectors")
    if lengths.min() < MIN_LATTICE_LENGTH or lengths.max() > MAX_LATTICE_LENGTH:
        raise ValueError(
            f"lattice vector lengths must lie between MIN_LATTICE_LENGTH = {MIN_LATTICE_LENGTH:g} Å and "
            f"MAX_LATTICE_LENGTH = {MAX_LATTICE_LENGTH:g} Å (a physical cell; see Crystal's docstring), got "
            f"{', '.join(f'{v:.3g}' for v in lengths)} Å")
    if abs(det) < MIN_NORMALISED_VOLUME * float(np.prod(lengths)):
        raise ValueError(
            f"lattice is nearly flat: V / (|a| |b| |c|) = {abs(det) / float(np.prod(lengths)):.2g}, below "
            f"MIN_NORMALISED_VOLUME = {MIN_NORMALISED_VOLUME:g} (no physical cell is that flat; 0 means the "
            "three vectors lie in a plane)")


@dataclass(frozen=True, eq=False)
class Crystal:
    """A periodic crystal: ``lattice`` (3, 3) rows a, b, c in Å; ``frac_coords`` (N, 3); ``numbers`` (N,).

    Validated on construction: shapes, finite values, N >= 1, atomic numbers (integers, not ``bool``
    or ``str``) in 1..118, and a lattice of physical size and shape (``check_lattice_bounds``):

    - every lattice vector is MIN_LATTICE_LENGTH = 0.1 Å to MAX_LATTICE_LENGTH = 1e4 Å long. Real
      crystals have lattice vectors from about 2 Å (the primitive vectors of diamond, 2.5 Å) to about
      2,000 Å (virus crystals), and a sample of a diffusion model stays far inside. Outside, the
      numbers stop meaning anything (a 1e-6 Å cell has a density of 1e19 g/cm^3) and the field's tools
      stop working: pymatgen's StructureMatcher took 20 s on a 0.01 Å cube and ran out of memory on a
      1e6 Å cube (issue 25).
    - the cell is not flat: V / (|a| |b| |c|) >= MIN_NORMALISED_VOLUME = 1e-6 (1 for a cube, about
      0.04 for angles of 10 degrees; 0 when the three vectors lie in a plane, e.g. angles 120/120/120).

    Left-handed lattices are allowed (``handedness`` says which). The arrays are stored read-only, so
    a ``Crystal`` cannot change after it is made; copies (``copy.deepcopy``, pickle) are read-only too.
    """

    lattice: np.ndarray
    frac_coords: np.ndarray
    numbers: np.ndarray
    _volume: float = field(init=False, repr=False)

    def __post_init__(self):
        lattice = check_lattice("lattice", self.lattice).copy()  # (3, 3) Å, a copy of our own
        det = float(np.linalg.det(lattice))
        check_lattice_bounds(lattice, det, np.linalg.norm(lattice, axis=1))
        frac = check_array("frac_coords", self.frac_coords, ("N", 3)).copy()  # (N, 3), a copy of our own
        if frac.shape[0] < 1:
            raise ValueError("a crystal needs at least one atom (frac_coords has N = 0 rows)")
        numbers = np.asarray(self.numbers) if isinstance(self.numbers, np.ndarray) else self.numbers
        if np.ndim(numbers) == 0:  # one atomic number for every atom
            numbers = [numbers] * frac.shape[0]
        # validated as given (1e30 stays 1e+30 in the message), then converted to int
        numbers = check_array("numbers", numbers, (frac.shape[0],), integer=True, low=1, high=118).copy()  # (N,)
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
        """The crystal repeated ``reps`` = (n_a, n_b, n_c) times along a, b, c (one integer: all three).

        Each repeat is a whole number in 1..``MAX_REPS``, and the result holds at most
        ``MAX_SUPERCELL_ATOMS`` atoms (2.5 or True are refused, not truncated).
        """
        reps = (reps,) * 3 if np.ndim(reps) == 0 else reps  # supercell(2) = supercell((2, 2, 2))
        if np.ndim(reps) != 1 or len(reps) != 3:
            raise ValueError(f"reps must be one integer or three integers (n_a, n_b, n_c), got {reps!r}")
        reps = np.array([check_int(f"reps[{i}]", n, 1, MAX_REPS) for i, n in enumerate(reps)])  # (3,)
        if int(np.prod(reps)) * self.n_atoms > MAX_SUPERCELL_ATOMS:
            raise ValueError(f"reps {reps.tolist()} would make {int(np.prod(reps)) * self.n_atoms} atoms; "
                             f"expected at most {MAX_SUPERCELL_ATOMS}")
        shifts = np.stack(np.meshgrid(*[np.arange(n) for n in reps], indexing="ij"), -1).reshape(-1, 3)  # (R, 3)
        frac = (self.frac_coords[None, :, :] + shifts[:, None, :]) / reps  # (R, N, 3)
        return Crystal(self.lattice * reps[:, None], frac.reshape(-1, 3), np.tile(self.numbers, len(shifts)))


def prototype(name: str, a: float = DEMO_LATTICE_A, number: int = DEMO_NUMBER) -> Crystal:
    """Conventional cubic cell of ``"sc"`` (1 atom), ``"bcc"`` (2), ``"fcc"`` (4) or ``"diamond"`` (8).

    ``a`` is the cubic lattice constant in Å, ``number`` the atomic number of every atom.
    """
    check_choice("name", name, PROTOTYPES)
    a = check_number("a", a, 0, MAX_LATTICE_A, low_open=True)
    number = check_int("number", number, 1, 118)
    sites = np.array(PROTOTYPE_SITES[name])
    return Crystal(np.eye(3) * a, sites, np.full(len(sites), number))


def jitter(crystal: Crystal, sigma: float, rng: np.random.Generator) -> Crystal:
    """Add Gaussian noise of standard deviation ``sigma`` (fractional units) to every coordinate, then wrap."""
    check_crystal("crystal", crystal)
    sigma = check_number("sigma", sigma, 0, 1)  # fractional units: 1 is a whole cell
    check_rng("rng", rng)
    from .pbc import wrap
    frac = crystal.frac_coords + sigma * rng.standard_normal(crystal.frac_coords.shape)
    return Crystal(crystal.lattice, wrap(frac), crystal.numbers)


def demo_dataset(seed: int = 0) -> list[Crystal]:
    """The hello-world's 10 training structures, deterministic for a ``seed``.

    The four prototypes (SC, FCC, BCC, diamond; silicon in a 5 Å cubic cell), then six perturbed
    variants, cycling SC, FCC, BCC, diamond, SC, FCC: each fractional coordinate gets Gaussian
    jitter of standard deviation ``DEMO_JITTER`` = 0.01 (0.05 Å) and is wrapped into [0, 1).
    """
    rng = np.random.default_rng(check_seed("seed", seed))
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
    if isinstance(elements, str):
        raise TypeError(f"elements must be a list of element symbols such as ['Cu'], got str {elements!r}")
    out = {}
    for symbol in elements:
        if not isinstance(symbol, str) or symbol not in atomic_numbers:
            raise ValueError(f"elements must hold element symbols such as 'Cu', got {symbol!r}")
        state = reference_states[atomic_numbers[symbol]]
        if not state or state.get("symmetry") not in PROTOTYPE_SITES:
            raise ValueError(f"{symbol} has no cubic sc/fcc/bcc/diamond reference structure in ASE's data")
        out[symbol] = Crystal.from_ase(bulk(symbol, state["symmetry"], a=state["a"], cubic=True)).wrapped()
    return out
