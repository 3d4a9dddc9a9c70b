"""Data sets beyond the demo: real binary crystals (chapter 09) and the published benchmarks (chapter 10).

``binary_dataset`` builds cubic binary crystals (rock salt, cesium chloride, zinc blende, fluorite,
perovskite) from tabulated lattice constants; ``load_benchmark`` reads perov-5 and carbon-24, converted
from the CDVAE repository (DATA.md).
"""
from __future__ import annotations

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
