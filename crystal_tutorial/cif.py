"""CIF files: read and write one ordered crystal through ASE, and load a folder of them.

CIF (Crystallographic Information File, Hall et al. 1991) is the exchange format of crystallography:
VESTA, ASE, pymatgen and OVITO read it. A cell is stored as lengths and angles, atoms as fractional
coordinates of the symmetry-distinct sites; ASE expands the symmetry and builds the cell.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .checks import check_crystal, check_int
from .crystals import Crystal

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
    index = None if index is None else check_int("index", index)  # which data block (negative: from the end)
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
