"""An independent check of the package's ``unique`` and ``novel`` (used by bench_quality.py and bench_joint.py).

The samples and the training structures are written as CIF files (``crystals.write_cif``, as the
``generate`` command does) and read back with pymatgen's own CIF parser; then every pair is compared
with a plain ``StructureMatcher(**MATCHER_SETTINGS).fit`` call: no grouping by formula, no
pre-reduced cells, no ``group_structures``. Two rules for *unique* are recomputed:

- **group rule** (the package's): sample k matches no earlier sample that is itself unique;
- **any earlier**: sample k matches no earlier sample at all (all pairs; differs only where matching
  is not transitive, A ~ B and B ~ C but not A ~ C). Quadratic in the samples; optional.
"""
from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np

from crystal_tutorial.cif import write_cif
from crystal_tutorial.metrics import MATCHER_SETTINGS


def _read_back(crystals, folder: Path, stem: str):
    from pymatgen.core import Structure
    paths = [write_cif(c, folder / f"{stem}_{k:03d}.cif") for k, c in enumerate(crystals)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pymatgen warns about rounded occupancies in ASE's CIFs
        return [Structure.from_file(str(p)) for p in paths]


def independent_check(samples, report, reference=None, all_pairs: bool = False) -> dict:
    """Recompute unique (and novel, if ``reference``) from CIFs; compare with ``report`` sample by sample."""
    from pymatgen.analysis.structure_matcher import StructureMatcher
    matcher = StructureMatcher(**MATCHER_SETTINGS)
    with tempfile.TemporaryDirectory() as tmp:
        s = _read_back(samples, Path(tmp), "sample")
        refs = None if reference is None else _read_back(reference, Path(tmp), "train")
    unique = []
    for k in range(len(s)):  # loop over samples, each against the earlier unique ones
        unique.append(not any(matcher.fit(s[j], s[k]) for j in range(k) if unique[j]))
    out = {"n": len(s), "unique_rate": float(np.mean(unique)),
           "unique_disagree": int(np.sum(np.array(unique) != report.unique))}
    if all_pairs:
        any_earlier = [not any(matcher.fit(s[j], s[k]) for j in range(k)) for k in range(len(s))]
        out.update(unique_any_rate=float(np.mean(any_earlier)),
                   unique_any_differs=int(np.sum(np.array(any_earlier) != report.unique)))
    if refs is not None:
        novel = np.array([not any(matcher.fit(r, x) for r in refs) for x in s])
        out.update(novel_rate=float(novel.mean()), novel_disagree=int(np.sum(novel != report.novel)))
    return out


def format_check(check: dict) -> str:
    text = (f"independent StructureMatcher on CIFs: unique {check['unique_rate']:.0%} "
            f"({check['unique_disagree']} of {check['n']} samples disagree)")
    if "novel_rate" in check:
        text += f", novel {check['novel_rate']:.0%} ({check['novel_disagree']} disagree)"
    if "unique_any_rate" in check:
        text += (f"; 'no earlier sample at all' rule: unique {check['unique_any_rate']:.0%} "
                 f"({check['unique_any_differs']} samples differ from the group rule)")
    return text
