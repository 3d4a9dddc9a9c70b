"""Data sets beyond the demo: real binary crystals (chapter 09) and the published benchmarks (chapter 10).

``binary_dataset`` builds cubic binary crystals (rock salt, cesium chloride, zinc blende, fluorite,
perovskite) from tabulated lattice constants; ``load_benchmark`` reads perov-5 and carbon-24, converted
from the CDVAE repository (DATA.md).
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np

from .crystals import REFERENCE_ELEMENTS, Crystal, reference_crystals

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



# --- published benchmarks (chapter 10): perov-5 and carbon-24 from the CDVAE repository ----------
BENCHMARKS = ("perov_5", "carbon_24")
BENCHMARK_SPLITS = ("val", "test")  # no train split is shipped: train on val, test on test (DATA.md)


DATA = Path(__file__).resolve().parent / "data"
# A material_id is a short name of letters, digits, ".", "_" and "-" (perov-5: "3961"; carbon-24:
# "C-13927-8536-14"), unique in its split: it goes into predictions.csv, never into a file name.
SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_ARRAY_KINDS = {"lattice": "f", "frac": "f", "numbers": "iu", "offsets": "iu", "ids": "U"}  # numpy dtype kinds
REGENERATE = ("regenerate it with `python benchmarks/convert_benchmarks.py` (from the CDVAE CSVs, DATA.md) "
              "or restore the shipped file with `git checkout -- crystal_tutorial/data/{name}`")


def _damaged(path: Path, reason: str) -> ValueError:
    return ValueError(f"the benchmark data file {path} is damaged ({reason}); {REGENERATE.format(name=path.name)}")


def _check_benchmark_arrays(path: Path, split: str, a: dict) -> None:
    """One lattice, one offset pair and one safe, unique material_id per structure; atoms add up."""
    S = len(a["lattice"])
    off = a["offsets"]
    shapes = {"lattice": (S, 3, 3), "offsets": (S + 1,), "ids": (S,), "frac": (len(a["numbers"]), 3)}
    for key, shape in shapes.items():
        if a[key].shape != shape:
            raise _damaged(path, f"{split}_{key} has shape {a[key].shape}, expected {shape} for {S} structures")
    if S == 0 or off[0] != 0 or np.any(np.diff(off) < 1) or off[-1] != len(a["numbers"]):
        raise _damaged(path, f"{split}_offsets do not split {len(a['numbers'])} atoms into {S} structures")
    if not (np.all(np.isfinite(a["lattice"])) and np.all(np.isfinite(a["frac"]))):
        raise _damaged(path, f"{split} holds NaN or infinite coordinates")
    bad = [i for i, v in enumerate(a["ids"]) if not SAFE_ID.fullmatch(str(v))]
    if bad:
        raise _damaged(path, f"{split}_ids[{bad[0]}] = {str(a['ids'][bad[0]])!r} is not a material_id (1-64 "
                             "letters, digits, '.', '_', '-', starting with a letter or digit)")
    counts = Counter(str(v) for v in a["ids"])
    if len(counts) != S:
        dup = next(v for v, c in counts.items() if c > 1)
        raise _damaged(path, f"{split}_ids repeats {dup!r}: each structure needs its own material_id")


def _benchmark_arrays(name: str, split: str) -> dict:
    """The five arrays of one split, read through the one hardened .npz reader (``checkpoint.NpzReader``):
    a missing, truncated, non-zip or inconsistent file raises one clear error naming it and the fix."""
    from .checkpoint import NpzReader
    if name not in BENCHMARKS:
        raise ValueError(f"name must be one of {BENCHMARKS}, got {name!r}")
    if split not in BENCHMARK_SPLITS:
        raise ValueError(f"split must be one of {BENCHMARK_SPLITS} (there is no train split), got {split!r}")
    path = DATA / f"{name}.npz"
    if not path.is_file():
        raise FileNotFoundError(f"the benchmark data file {path} is missing; {REGENERATE.format(name=path.name)}")
    try:
        with NpzReader(path, "benchmark data") as reader:
            for key, kinds in _ARRAY_KINDS.items():  # names and dtypes from the headers, before any data
                if f"{split}_{key}" not in reader.headers:
                    raise ValueError(f"it has no array {split}_{key}")
                dtype = reader.headers[f"{split}_{key}"][1]
                if dtype.kind not in kinds:
                    raise ValueError(f"array {split}_{key} has dtype {dtype}")
            arrays = {key: reader.read(f"{split}_{key}") for key in _ARRAY_KINDS}
    except ValueError as exc:
        reason, prefix = str(exc), f"{path} is not a benchmark data file: "
        raise _damaged(path, reason[len(prefix):] if reason.startswith(prefix) else reason) from None
    _check_benchmark_arrays(path, split, arrays)
    return arrays


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
    """The material_id of every structure of ``load_benchmark(name, split)``, same order (each matches
    ``SAFE_ID`` and is unique in its split: checked on loading)."""
    return [str(i) for i in _benchmark_arrays(name, split)["ids"]]
