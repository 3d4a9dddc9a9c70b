"""CIF files: read and write one ordered crystal through ASE, and load a folder of them.

CIF (Crystallographic Information File, Hall et al. 1991) is the exchange format of crystallography:
VESTA, ASE, pymatgen and OVITO read it. A cell is stored as lengths and angles, atoms as fractional
coordinates of the symmetry-distinct sites. ASE parses the file; the cell, the elements and the
expansion of the symmetry are checked here, so that a cell that does not exist, a symbol that names no
element, or two atoms on one site are errors naming the file, never a crystal read wrongly.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from .checks import check_crystal, check_int, check_number
from .crystals import MAX_LATTICE_LENGTH, MIN_LATTICE_LENGTH, MIN_NORMALISED_VOLUME, Crystal

OCCUPANCY_TOLERANCE = 1e-3  # |occupancy - 1| above this is partial occupancy (CIFs round to 3-4 digits)
# Atoms of two rows closer than this are an error: one site written twice, or two elements on one site. It is
# below any real distance (the shortest bond, H2, is 0.74 Å) yet lets you read back a generated sample whose
# atoms crowd (the papers' validity floor, 0.5 Å, is judged by ``metrics``, not by the reader).
MIN_ATOM_DISTANCE = 0.1  # Å
SITE_IMAGE_TOLERANCE = 0.05  # Å: symmetry images of one site closer than this are one atom (a special position)
SITE_IMAGE_DISTANCE = 0.5  # Å: images of one site further apart than the tolerance but closer than this: an error
CELL_TAGS = ("_cell_length_a", "_cell_length_b", "_cell_length_c",
             "_cell_angle_alpha", "_cell_angle_beta", "_cell_angle_gamma")
SYMBOL_PATTERN = re.compile(r"([A-Z][a-z]?)([^A-Za-z].*)?", re.DOTALL)  # "Na", "Na1", "Fe3+", "O2-", "C1'"


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


def _where(path, block) -> str:
    return f"{path} (data block {block.name!r})"


def _column(block, tag) -> list | None:
    """A CIF loop column as a list (a single site is stored as a scalar), or None if absent."""
    v = block.get(tag)
    return None if v is None else (v if isinstance(v, list) else [v])


def _finite_number(value) -> bool:
    """Whether a parsed CIF value is a finite number (ASE gives int, float, or the text it could not read)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:  # an integer of hundreds of digits
        return False


def _text(value) -> str:
    """A CIF value as text; ASE decodes files as Latin-1, so UTF-8 text (a Cyrillic "а") is shown as typed."""
    text = str(value).strip()
    try:
        return text.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return text


def _has_structure(block) -> bool:
    """Whether a data block lists atom sites: a symbol or label column and three coordinate columns.

    ASE's own ``has_structure`` guesses the elements while asking, and fails on a lower-case symbol.
    """
    return (("_atom_site_type_symbol" in block or "_atom_site_label" in block)
            and any(all(f"_atom_site_{kind}_{x}" in block for x in "xyz") for kind in ("fract", "cartn")))


def _cell(block, path) -> np.ndarray:
    """The (3, 3) lattice of a data block, after checking that its six cell parameters describe a real cell.

    Lengths must lie in the bounds of ``crystals.check_lattice_bounds`` (MIN_LATTICE_LENGTH to
    MAX_LATTICE_LENGTH Å), angles strictly between 0 and 180 degrees, and the three angles must make a
    cell together: the metric determinant g = 1 - cos^2 alpha - cos^2 beta - cos^2 gamma + 2 cos alpha
    cos beta cos gamma equals (V / abc)^2, and sqrt(g) must reach MIN_NORMALISED_VOLUME (120/120/120 gives
    g = 0: three vectors in one plane). ASE would build a cell anyway, or fail with AssertionError or
    LinAlgError; here every violation is one message naming the file and the value.
    """
    from ase.geometry import cellpar_to_cell
    values = []
    for tag in CELL_TAGS:
        v = block.get(tag)
        if v is None:
            raise ValueError(f"{_where(path, block)} has no {tag}: a crystal needs all six cell parameters "
                             f"({', '.join(CELL_TAGS)})")
        if not _finite_number(v):
            raise ValueError(f"{_where(path, block)}: {tag} must be a finite number, got {v!r}"[:300])
        values.append(float(v))
    for tag, v in zip(CELL_TAGS[:3], values[:3]):
        if not MIN_LATTICE_LENGTH <= v <= MAX_LATTICE_LENGTH:
            raise ValueError(f"{_where(path, block)}: {tag} = {v:g} Å is not a physical cell length; expected "
                             f"{MIN_LATTICE_LENGTH:g} to {MAX_LATTICE_LENGTH:g} Å")
    for tag, v in zip(CELL_TAGS[3:], values[3:]):
        if not 0 < v < 180:
            raise ValueError(f"{_where(path, block)}: {tag} = {v:g} degrees is not a cell angle; expected a value "
                             "strictly between 0 and 180 degrees")
    cos = np.cos(np.radians(values[3:]))  # (3,) cos alpha, cos beta, cos gamma
    g = 1.0 - np.sum(cos ** 2) + 2.0 * np.prod(cos)  # (V / abc)^2
    if not np.sqrt(max(g, 0.0)) >= MIN_NORMALISED_VOLUME:
        raise ValueError(
            f"{_where(path, block)}: the cell angles alpha = {values[3]:g}, beta = {values[4]:g}, gamma = "
            f"{values[5]:g} degrees describe no cell (V / abc = {np.sqrt(max(g, 0.0)):.2g}, expected at least "
            f"{MIN_NORMALISED_VOLUME:g}): each angle must be smaller than the sum of the other two, and the three "
            "must sum to less than 360 degrees")
    return cellpar_to_cell(values)  # (3, 3) ASE's orientation: a along x, b in the xy plane


def _sites(block, path) -> tuple[np.ndarray, list[str]]:
    """Atomic numbers (S,) of the atom sites and their names for messages ("Na1 (row 3)").

    The element comes from ``_atom_site_type_symbol`` if the file has it, else from ``_atom_site_label``:
    an ASCII element symbol ("Na"), optionally followed by text that does not start with a letter
    ("Na1", "Fe3+", "O2-"). Anything else is an error naming the row, never a guess: a look-alike
    letter (the Cyrillic "а" in "Nа" is not "a"), "CU" (C or Cu?), "Xx1", a lower-case "na". ASE would
    read "Nа" and "NA" as nitrogen and "CU" as carbon. "D" (deuterium) is read as hydrogen.
    """
    from ase.data import atomic_numbers
    column = "_atom_site_type_symbol" if "_atom_site_type_symbol" in block else "_atom_site_label"
    texts = _column(block, column)
    labels = _column(block, "_atom_site_label") or texts
    numbers, names = [], []
    for k, text in enumerate(texts):  # a loop over the sites written in the file, to name a bad one
        name = f"{_text(labels[k] if k < len(labels) else text)} (row {k + 1})"
        text = _text(text)
        foreign = [c for c in text if not c.isascii()]
        m = None if foreign else SYMBOL_PATTERN.fullmatch(text)
        symbol = m and ("H" if m.group(1) == "D" else m.group(1))
        if not symbol or symbol not in atomic_numbers:
            why = (f"it contains the non-ASCII character {foreign[0]!r} (U+{ord(foreign[0]):04X}), a look-alike "
                   "letter" if foreign else "it is not an element symbol optionally followed by a non-letter")
            raise ValueError(f"{_where(path, block)}: atom site {name} has {column} {text!r}, which names no "
                             f"element ({why}); expected e.g. 'Na', 'Na1' or 'Na1+'")
        numbers.append(atomic_numbers[symbol])
        names.append(name)
    return np.array(numbers, dtype=int), names


def _fractional(block, path, lattice, names) -> np.ndarray:
    """Fractional coordinates (S, 3) of the sites: ``_atom_site_fract_*``, else ``_atom_site_Cartn_*`` in Å."""
    for kind, tags in (("fract", ("_atom_site_fract_x", "_atom_site_fract_y", "_atom_site_fract_z")),
                       ("Cartn", ("_atom_site_Cartn_x", "_atom_site_Cartn_y", "_atom_site_Cartn_z"))):
        columns = [_column(block, t.lower()) for t in tags]  # ASE stores tags in lower case
        if all(c is not None for c in columns):
            break
    if any(len(c) != len(names) for c in columns):
        raise ValueError(f"{_where(path, block)}: the atom-site loop has {len(names)} symbols but "
                         f"{[len(c) for c in columns]} {kind} coordinates")
    for k, row in enumerate(zip(*columns)):  # a loop over the file's sites, to name a bad one
        if not all(_finite_number(v) for v in row):
            raise ValueError(f"{_where(path, block)}: atom site {names[k]} has coordinates {list(row)!r}"[:300]
                             + "; expected three finite numbers")
    coords = np.array(columns, dtype=float).T  # (S, 3)
    return coords if kind == "fract" else coords @ np.linalg.inv(lattice)  # Cartesian Å -> fractional


def _expand(block, path, lattice, frac) -> tuple[np.ndarray, np.ndarray]:
    """All atoms of the cell from the symmetry-distinct sites: fractional (M, 3) and their site (M,).

    Each site is mapped by every symmetry operation of the block's space group (ASE reads the
    operations or the group's name); images of one site closer than SITE_IMAGE_TOLERANCE Å are one
    atom (a site on a special position has fewer images). Unlike ASE, no image is compared with the
    images of *other* sites here: distinct atoms that coincide are found afterwards, and are an error.
    A file in P1 (only the identity) is not expanded at all, so reading it is linear in its atoms.
    """
    from .pbc import minimum_image, wrap
    try:
        ops = block.get_spacegroup(True).get_symop()
    except Exception as exc:  # ASE raises several kinds on unknown or inconsistent space groups
        raise ValueError(f"{_where(path, block)} names no usable space group: {type(exc).__name__}: {exc}") from None
    rotations = np.array([r for r, _ in ops], dtype=float)  # (O, 3, 3)
    translations = np.array([t for _, t in ops], dtype=float)  # (O, 3)
    if len(ops) == 1 and np.allclose(rotations[0], np.eye(3)) and np.allclose(translations[0], 0):
        return wrap(frac), np.arange(len(frac))  # P1: the sites are the atoms
    images = wrap(np.einsum("oij,sj->soi", rotations, frac) + translations)  # (S, O, 3)
    parts, owners = [], []
    for s, orbit in enumerate(images):  # a loop over the file's sites, each vectorised over the O operations
        _, d = minimum_image(orbit[None, :, :] - orbit[:, None, :], lattice, "exact")  # (O, O) Å
        first = np.argmax(d < SITE_IMAGE_TOLERANCE, axis=1)  # (O,) the first image each one coincides with
        keep = orbit[first == np.arange(len(orbit))]  # (K, 3) distinct images of site s
        parts.append(keep)
        owners.append(np.full(len(keep), s))
    return np.concatenate(parts), np.concatenate(owners)


def _check_distances(crystal, sites, names, min_distance, path, block) -> None:
    """Raise if atoms of two rows (or an atom and its own periodic image) are closer than ``min_distance`` Å,
    or two symmetry images of one site closer than SITE_IMAGE_DISTANCE (a site off its special position).

    A cell list (``neighbours.neighbour_pairs``) finds the close pairs in time linear in the atoms.
    """
    from .neighbours import neighbour_pairs
    pairs = neighbour_pairs(crystal, max(min_distance, SITE_IMAGE_DISTANCE))
    images = (sites[pairs.i] == sites[pairs.j]) & (pairs.i != pairs.j)  # (P,) two images of one site
    close = np.flatnonzero(pairs.distances < np.where(images, SITE_IMAGE_DISTANCE, min_distance))
    if close.size == 0:
        return
    k = close[np.argmin(pairs.distances[close])]  # report the closest pair
    i, j, d = int(pairs.i[k]), int(pairs.j[k]), float(pairs.distances[k])
    a, b = names[sites[i]], names[sites[j]]
    if i == j:
        what = f"an atom of site {a} is {d:.3g} Å from its own periodic image (the cell is too small)"
    elif sites[i] == sites[j]:
        what = (f"two symmetry images of site {a} are {d:.3g} Å apart (the site lies about {d / 2:.2g} Å off a "
                "special position, or the space group does not fit the coordinates)")
    else:
        what = f"site {a} and site {b} put atoms {d:.3g} Å apart (two atoms on one site?)"
    more = f"; {close.size} pairs are that close" if close.size > 1 else ""
    limit = (f"SITE_IMAGE_DISTANCE = {SITE_IMAGE_DISTANCE:g} Å" if images[k]
             else f"min_distance = {min_distance:g} Å")
    raise ValueError(f"{_where(path, block)}: {what}{more}. Atoms closer than {limit} are not merged or dropped: "
                     "fix the file" + ("" if images[k] else ", or pass a smaller min_distance to read it as it is"))


def read_cif(path, index: int | None = None, min_distance: float = MIN_ATOM_DISTANCE) -> Crystal:
    """Read one ordered structure from a CIF file: every atom the file describes, none merged, none guessed.

    A CIF file can hold several structures (data blocks). With ``index=None`` (the default) the file
    must hold exactly one; otherwise a ``ValueError`` lists the blocks and you pick one with
    ``index=k`` (0-based, in file order; negative counts from the end). Data blocks without atoms
    (e.g. a block of global metadata) are not counted.

    ASE parses the file and supplies the space group's operations; the cell, the elements and the
    symmetry expansion are checked here, and each problem is a ``ValueError`` naming the file:

    - the cell must exist: lengths within ``crystals``' physical bounds, angles in (0, 180) degrees
      that make a cell together (``_cell``);
    - every symbol must name an element, with no look-alike letters (``_sites``);
    - a site with partial occupancy (``_atom_site_occupancy`` other than 1, e.g. Fe0.5/Co0.5 on one
      site) is refused: this package models ordered crystals;
    - atoms of two rows closer than ``min_distance`` Å (default MIN_ATOM_DISTANCE = 0.1, Cartesian) are an error
      naming both sites (Na and Cl on one site, a row written twice), never merged into one atom as
      ASE does within 0.001 of the cell (a tolerance that grows with the cell: 0.1 Å in a 100 Å cube).
      ``min_distance=0`` reads atoms however close (a generated sample may have overlapping atoms).
      Symmetry images of one site closer than SITE_IMAGE_TOLERANCE (0.05 Å) are one atom on a special
      position; images up to SITE_IMAGE_DISTANCE (0.5 Å) apart are an error (the site is off its
      special position, or the space group does not fit).

    Time is linear in the atoms: a P1 file is not expanded, and the close pairs come from a cell list.
    """
    from ase.io.cif import parse_cif
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no CIF file at {path}")
    index = None if index is None else check_int("index", index)  # which data block (negative: from the end)
    min_distance = check_number("min_distance", min_distance, 0, MAX_LATTICE_LENGTH, high_open=True)  # Å; 0: off
    try:
        blocks = [b for b in parse_cif(str(path)) if _has_structure(b)]
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
    lattice = _cell(block, path)  # (3, 3)
    numbers, site_names = _sites(block, path)  # (S,), S names
    _check_occupancies(block, path)
    frac = _fractional(block, path, lattice, site_names)  # (S, 3)
    frac, sites = _expand(block, path, lattice, frac)  # (M, 3), (M,)
    try:
        crystal = Crystal(lattice, frac, numbers[sites])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{_where(path, block)} does not describe a valid crystal: {exc}") from None
    _check_distances(crystal, sites, site_names, float(min_distance), path, block)
    return crystal


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
    check_crystal("crystal", crystal)
    if crystal.handedness == "left":
        crystal = Crystal(-crystal.lattice, -crystal.frac_coords, crystal.numbers).wrapped()
    with atomic_path(path) as tmp:
        write(str(tmp), crystal.to_ase(), format="cif")
    return Path(path)



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
    max_atoms = None if max_atoms is None else check_int("max_atoms", max_atoms, 1)
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
