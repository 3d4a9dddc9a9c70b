"""Convert the CDVAE benchmark CSVs (perov-5, carbon-24; val and test) into the package's compact arrays.

    python benchmarks/convert_benchmarks.py [--src ../shared/data/benchmarks] [--out crystal_tutorial/data]

Reads ``{perov_5,carbon_24}_{val,test}.csv`` (each row's ``cif`` is a P1 CIF written by pymatgen),
checks them against ``SHA256SUMS``, parses every CIF with pymatgen and writes one ``<name>.npz`` per data
set with, for each split, flat arrays plus offsets (structure s owns atoms offsets[s]:offsets[s + 1]):

    {split}_lattice (S, 3, 3) float32, Å      {split}_frac (A, 3) float32      {split}_numbers (A,) uint8
    {split}_offsets (S + 1,) int32            {split}_ids (S,) str (material_id)

float32 keeps about 7 significant digits: the script prints the largest round-trip error in Å
(lattice and Cartesian positions) against the float64 values pymatgen parsed, which must stay below
1e-5 Å (it is about 1e-6 Å). ``crystals.load_benchmark`` reads the files. Provenance: DATA.md.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import io
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from crystal_tutorial.files import atomic_path  # noqa: E402

DATASETS = ("perov_5", "carbon_24")
SPLITS = ("val", "test")
MAX_ROUND_TRIP_A = 1e-5


def check_sums(src: Path) -> None:
    """Raise ValueError if a CSV's SHA-256 differs from SHA256SUMS."""
    for line in (src / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        got = hashlib.sha256((src / name).read_bytes()).hexdigest()
        if got != digest:
            raise ValueError(f"{name}: SHA-256 {got} differs from SHA256SUMS ({digest})")


def read_split(path: Path):
    """(ids, [pymatgen Structure, ...]) in the CSV's row order."""
    from pymatgen.core import Structure
    csv.field_size_limit(10 ** 7)
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [r["material_id"] for r in rows], [Structure.from_str(r["cif"], fmt="cif") for r in rows]


def to_arrays(ids, structures, split: str) -> dict:
    counts = np.array([len(s) for s in structures])
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)       # (S + 1,)
    return {f"{split}_lattice": np.stack([s.lattice.matrix for s in structures]).astype(np.float32),  # (S, 3, 3)
            f"{split}_frac": np.concatenate([s.frac_coords for s in structures]).astype(np.float32),   # (A, 3)
            f"{split}_numbers": np.concatenate([s.atomic_numbers for s in structures]).astype(np.uint8),  # (A,)
            f"{split}_offsets": offsets,
            f"{split}_ids": np.array(ids, dtype=str)}


def round_trip_error(arrays: dict, structures, split: str) -> float:
    """Largest |float32 - float64| in Å over lattice vectors and Cartesian positions."""
    L32 = arrays[f"{split}_lattice"].astype(float)
    off, f32 = arrays[f"{split}_offsets"], arrays[f"{split}_frac"].astype(float)
    worst = 0.0
    for s, st in enumerate(structures):  # loop over structures
        worst = max(worst, np.abs(L32[s] - st.lattice.matrix).max(),
                    np.abs(f32[off[s]:off[s + 1]] @ L32[s] - st.cart_coords).max())
    return float(worst)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--src", default=str(ROOT.parent / "shared" / "data" / "benchmarks"))
    parser.add_argument("--out", default=str(ROOT / "crystal_tutorial" / "data"))
    args = parser.parse_args(argv)
    src, out = Path(args.src), Path(args.out)
    check_sums(src)
    print(f"SHA256SUMS verified in {src}")
    for name in DATASETS:
        arrays = {}
        for split in SPLITS:
            ids, structures = read_split(src / f"{name}_{split}.csv")
            part = to_arrays(ids, structures, split)
            err = round_trip_error(part, structures, split)
            if err > MAX_ROUND_TRIP_A:
                raise ValueError(f"{name} {split}: float32 round-trip error {err:.2e} Å above {MAX_ROUND_TRIP_A:g} Å")
            counts = np.diff(part[f"{split}_offsets"])
            print(f"{name} {split}: {len(ids)} structures, {counts.sum()} atoms ({counts.min()}-{counts.max()} "
                  f"per cell), float32 round-trip error {err:.1e} Å")
            arrays.update(part)
        path = out / f"{name}.npz"
        with atomic_path(path) as tmp:
            buf = io.BytesIO()
            np.savez_compressed(buf, **arrays)
            tmp.write_bytes(buf.getvalue())
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
