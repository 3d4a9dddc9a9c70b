"""Tests for crystal_tutorial.metrics and the Crystal <-> pymatgen / ASE conversions.

References: pymatgen's StructureMatcher (plain ``fit`` calls, all pairs), ASE's and pymatgen's own
converters (``AseAtomsAdaptor``), a brute-force search for the hand-written structure distance.
"""
import itertools
import json

import numpy as np
import pytest
from crystal_helpers import moved_copy, random_crystal
from hypothesis import given, settings
from hypothesis import strategies as st

from crystal_tutorial.checks import mic_method
from crystal_tutorial.crystals import Crystal, demo_dataset, prototype
from crystal_tutorial.datasets import binary_dataset
from crystal_tutorial.metrics import (
    MATCHER_SETTINGS,
    SampleReport,
    compare_reports,
    evaluate_samples,
    nearest_distance,
    structure_distance,
    structure_matcher,
    valid_composition,
)
from crystal_tutorial.pbc import minimum_image
from crystal_tutorial.physics import PhysicsValidator

NAMES = ("sc", "bcc", "fcc", "diamond")
SKEWED = np.array([[4.0, 0.0, 0.0], [3.2, 2.5, 0.0], [1.1, 0.9, 3.0]])  # a strongly sheared cell


def copies_in_other_cells(c, rng):
    """The same crystal four ways: another basis (no supercell), rotated, origin shifted, atoms permuted."""
    M = np.array([[1, 1, 0], [0, 1, 0], [1, 0, 1]])  # det 1: a new basis of the same lattice
    R = np.linalg.qr(rng.standard_normal((3, 3)))[0]  # (3, 3) orthogonal
    perm = rng.permutation(c.n_atoms)
    return [Crystal(M @ c.lattice, (c.frac_coords @ np.linalg.inv(M)) % 1.0, c.numbers),  # r = f L = f' M L
            Crystal(c.lattice @ R.T, c.frac_coords, c.numbers),  # every Cartesian vector rotated
            Crystal(c.lattice, (c.frac_coords + rng.random(3)) % 1.0, c.numbers),
            Crystal(c.lattice, c.frac_coords[perm], c.numbers[perm])]


# --- conversions -------------------------------------------------------------------------------
def test_pymatgen_round_trip_and_agreement_with_pymatgen():
    from pymatgen.core import Lattice, Structure
    for c in [random_crystal(0, n=5, lattice=SKEWED, numbers=[11, 17, 11, 17, 8]), *binary_dataset().values()]:
        s = c.to_pymatgen()
        assert np.array_equal(s.lattice.matrix, c.lattice) and np.array_equal(s.frac_coords, c.frac_coords)
        assert [site.specie.Z for site in s] == c.numbers.tolist()
        assert np.allclose(s.cart_coords, c.cart_coords) and s.volume == pytest.approx(c.volume)
        assert s.density == pytest.approx(c.density, rel=1e-3)  # masses and constants differ in the 4th digit
        assert Crystal.from_pymatgen(s) == c
    built = Structure(Lattice.hexagonal(3.0, 5.0), ["Zn", "O"], [[1 / 3, 2 / 3, 0], [1 / 3, 2 / 3, 0.38]])
    back = Crystal.from_pymatgen(built)
    assert np.allclose(back.lattice, built.lattice.matrix) and back.numbers.tolist() == [30, 8]
    built.add_oxidation_state_by_element({"Zn": 2, "O": -2})  # Species, not Element: still Z
    assert Crystal.from_pymatgen(built) == back


def test_ase_and_pymatgen_agree_through_pymatgens_adaptor():
    from pymatgen.io.ase import AseAtomsAdaptor
    c = random_crystal(1, n=6, lattice=SKEWED, numbers=[31, 33, 31, 33, 31, 33])
    back = Crystal.from_ase(c.to_ase())  # ASE stores Cartesian positions: round trip to rounding
    assert np.allclose(back.frac_coords, c.frac_coords, atol=1e-12) and np.array_equal(back.lattice, c.lattice)
    via_ase = AseAtomsAdaptor.get_structure(c.to_ase())  # ASE -> pymatgen by pymatgen's own converter
    assert np.allclose(via_ase.lattice.matrix, c.lattice) and np.allclose(via_ase.frac_coords, c.frac_coords)
    assert Crystal.from_pymatgen(via_ase).numbers.tolist() == c.numbers.tolist()
    atoms = AseAtomsAdaptor.get_atoms(c.to_pymatgen())  # pymatgen -> ASE
    assert np.allclose(atoms.get_scaled_positions(wrap=False), c.frac_coords) and np.allclose(atoms.cell[:], c.lattice)


def test_from_pymatgen_rejects_what_a_crystal_cannot_hold():
    from pymatgen.core import Lattice, Structure
    with pytest.raises(TypeError, match="pymatgen Structure"):
        Crystal.from_pymatgen(prototype("fcc"))
    disordered = Structure(Lattice.cubic(4.0), [{"Na": 0.5, "K": 0.5}], [[0, 0, 0]])
    with pytest.raises(ValueError, match="partially occupied"):
        Crystal.from_pymatgen(disordered)


# --- uniqueness and novelty with StructureMatcher ----------------------------------------------
@pytest.mark.parametrize("base", ["random binary", "rock salt", "diamond"])
def test_copies_in_other_cells_are_one_structure(base):
    rng = np.random.default_rng(7)
    c = {"random binary": random_crystal(3, n=4, lattice=SKEWED, numbers=[11, 17, 17, 11]),
         "rock salt": binary_dataset()["NaCl"], "diamond": prototype("diamond")}[base]
    copies = copies_in_other_cells(c, rng)
    assert all(np.isinf(structure_distance(c, k)) for k in copies[:2])  # other lattices: the old check gave up
    report = evaluate_samples([c, *copies], reference=[c])
    assert report.unique.tolist() == [True, False, False, False, False]
    assert report.rates["unique"] == 0.2 and report.rates["novel"] == 0.0 and report.rates["memorised"] == 1.0


def test_different_prototypes_are_different_structures():
    samples = [prototype("fcc"), prototype("bcc"), prototype("fcc", a=4.0), binary_dataset()["NaCl"],
               binary_dataset()["CsCl"]]
    report = evaluate_samples(samples, reference=[prototype("sc")])
    assert report.unique.tolist() == [True, True, False, True, True]  # FCC at another a: the matcher scales volumes
    assert report.novel.all() and report.rates["memorised"] == 0.0


def test_unique_and_novel_agree_with_plain_structure_matcher_calls():
    """Against pymatgen directly: every pair compared with ``fit``, no grouping shortcuts."""
    rng = np.random.default_rng(2)
    base = [binary_dataset()["NaCl"], binary_dataset()["ZnS"], prototype("fcc"), random_crystal(4, n=4)]
    samples = [
        moved_copy(base[k], rng, displacement=d) for k, d in zip(rng.integers(0, 4, 24), rng.uniform(0, 1.2, 24))
    ]
    reference = [base[0], base[2], prototype("bcc")]
    report = evaluate_samples(samples, reference=reference)
    matcher = structure_matcher()[0]
    s = [c.to_pymatgen() for c in samples]
    unique = []
    for k in range(len(s)):  # unique: no earlier *unique* sample fits it (group_structures' rule)
        unique.append(not any(matcher.fit(s[j], s[k]) for j in range(k) if unique[j]))
    novel = [not any(matcher.fit(r.to_pymatgen(), x) for r in reference) for x in s]
    assert report.unique.tolist() == unique and report.novel.tolist() == novel
    assert 0 < report.rates["unique"] < 1 and 0 < report.rates["novel"] < 1


def test_report_on_the_training_set_itself():
    for train in (demo_dataset(), list(binary_dataset().values())):
        report = evaluate_samples(train, reference=train)
        assert report.rates["novel"] == 0.0 and report.rates["memorised"] == 1.0
        assert report.memorised.all() and report.valid_structure.all() and report.valid_composition.all()
    assert evaluate_samples(demo_dataset()).unique.sum() == 4  # SC, FCC, BCC, diamond: jitter is forgiven


def test_matcher_settings_are_the_papers_and_can_be_overridden():
    assert dict(MATCHER_SETTINGS) == {"ltol": 0.3, "stol": 0.5, "angle_tol": 10.0}
    with pytest.raises(TypeError):
        MATCHER_SETTINGS["stol"] = 1.0  # read-only
    matcher, used = structure_matcher(stol=0.1)
    assert (matcher.stol, matcher.ltol, matcher.angle_tol) == (0.1, 0.3, 10.0) and used["stol"] == 0.1
    c = random_crystal(2, n=4)  # P1; (V/N)^(1/3) = 3.15 Å
    shaken = moved_copy(c, np.random.default_rng(0), displacement=0.3)  # every atom moved 0.3 Å
    assert evaluate_samples([c, shaken]).unique.tolist() == [True, False]
    strict = evaluate_samples([c, shaken], matcher_settings={"stol": 0.05})
    assert strict.unique.tolist() == [True, True] and strict.matcher["stol"] == 0.05
    assert "stol 0.05" in str(strict)


# --- composition --------------------------------------------------------------------------------
# Hand-checked with SMACT's 2014 oxidation states (one state per element, counts reduced, cations less
# electronegative than anions) and with pymatgen's oxi_state_guesses (common states, one per site).
@pytest.mark.parametrize(
    "formula, smact, pymatgen",
    [
        ("NaCl", True, True),  # Na+1 Cl-1
        ("Na2Cl", False, False),  # 2(+1) - 1 != 0 for every state of Cl
        ("Cl8", True, True),  # a single element: oxidation state 0
        ("Si", True, True),
        ("Mg7O", False, False),
        ("Mg4O4", True, True),  # reduced to MgO
        ("SrTiO3", True, True),  # Sr+2 Ti+4 O-2
        ("CdCuN3", True, True),  # perov-5: SMACT Cd+2 Cu+1 N-1 (one state per element); pymatgen finds a mix too
        ("KAlO3", True, False),  # perov-5: SMACT K+1 Al+2 O-1; pymatgen's common states (Al+3, O-2) cannot sum to 0
        ("KLiN3", False, True),  # perov-5: one N state x would need 2 + 3x = 0; pymatgen mixes N states per site
        ("Fe3O4", False, True),  # mixed valence Fe+2/Fe+3: SMACT gives every Fe one state
        ("CrFe", True, False),  # all metals: an alloy passes SMACT's rule unchecked
        ("AlNi3", True, False),
    ],
)
def test_valid_composition_smact_and_pymatgen_rules(formula, smact, pymatgen):
    assert valid_composition(formula) is smact
    assert valid_composition(formula, rule="smact") is smact
    assert valid_composition(formula, rule="pymatgen", alloys=False) is pymatgen


def test_smact_rule_is_cdvae_smact_validity():
    """The rule, written out as CDVAE's eval_utils.smact_validity (SMACT's 2014 states), on the same formulas."""
    import itertools

    import smact
    from smact.screening import pauling_test

    def cdvae(symbols, counts):
        elements = [smact.Element(s) for s in symbols]
        if len(set(symbols)) == 1 or all(s in smact.metals for s in symbols):
            return True
        for ox in itertools.product(*[e.oxidation_states_smact14 or [] for e in elements]):
            if smact.neutral_ratios(ox, stoichs=[(c,) for c in counts], threshold=max(counts)):
                try:
                    if pauling_test(ox, [e.pauling_eneg for e in elements]):
                        return True
                except TypeError:  # no electronegativity data: CDVAE assumes it passes
                    return True
        return False

    rng = np.random.default_rng(0)
    symbols = [
        "H",
        "Li",
        "C",
        "N",
        "O",
        "F",
        "Na",
        "Mg",
        "Al",
        "Si",
        "S",
        "Cl",
        "K",
        "Ca",
        "Ti",
        "Fe",
        "Cu",
        "Zn",
        "Sr",
        "Ba",
        "Cd",
        "Bi",
    ]
    for _ in range(150):  # loop over random two- and three-element compositions with coprime counts
        els = sorted(rng.choice(symbols, rng.integers(2, 4), replace=False).tolist())
        counts = rng.integers(1, 5, len(els)).tolist()
        g = np.gcd.reduce(counts)
        formula = "".join(f"{e}{c}" for e, c in zip(els, counts))
        assert valid_composition(formula) is cdvae(els, [c // g for c in counts]), formula


def test_valid_composition_of_crystals_and_the_alloy_rule():
    data = binary_dataset()
    assert all(valid_composition(c) for c in data.values())
    mg7o = Crystal(np.eye(3) * 4.0, np.random.default_rng(0).random((8, 3)), [12] * 7 + [8])
    assert not valid_composition(mg7o) and not valid_composition("Mg7O", rule="pymatgen")
    assert valid_composition("CrFe", rule="pymatgen") and valid_composition("AlNi3", rule="pymatgen")
    assert not valid_composition("CrFe", rule="pymatgen", alloys=False)
    report = evaluate_samples([data["NaCl"], mg7o, prototype("sc", number=17)])
    assert report.valid_composition.tolist() == [True, False, True] and report.formulas == ["NaCl", "Mg7O", "Cl2"]
    with pytest.raises(ValueError, match="unknown elements"):
        valid_composition("Xx2")
    with pytest.raises(ValueError, match="chemical formula"):
        valid_composition("Na0.5Cl")
    with pytest.raises(TypeError, match="crystal must be"):
        valid_composition(42)
    with pytest.raises(ValueError, match="rule must be one of"):
        valid_composition("NaCl", rule="icsd")


# --- the hand-written structure distance ---------------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), name=st.sampled_from(NAMES + ("random",)))
def test_structure_distance_zero_for_permuted_translated_copy(seed, name):
    rng = np.random.default_rng(seed)
    c = random_crystal(seed, n=5, lattice=SKEWED) if name == "random" else prototype(name)
    assert structure_distance(c, moved_copy(c, rng)) == pytest.approx(0.0, abs=1e-9)


def test_structure_distance_agrees_with_structure_matcher():
    """Same cell, small displacements: pymatgen's RMS (in units of (V/N)^(1/3)) times that length is
    our RMS in Å, and both call a permuted, translated copy identical."""
    matcher = structure_matcher()[0]
    rng = np.random.default_rng(5)
    for seed in range(6):
        c = random_crystal(seed, n=4, lattice=np.diag([4.0, 5.0, 6.0]), numbers=[11, 11, 17, 17])
        moved = moved_copy(c, rng, displacement=0.05)
        rms, _ = matcher.get_rms_dist(c.to_pymatgen(), moved.to_pymatgen())
        ours = structure_distance(c, moved)
        assert 0.01 < ours < 0.05 and rms * (c.volume / c.n_atoms) ** (1 / 3) == pytest.approx(ours, rel=1e-6)
        same = moved_copy(c, rng)
        assert (
            structure_distance(c, same) < 1e-9 and matcher.get_rms_dist(c.to_pymatgen(), same.to_pymatgen())[0] < 1e-6
        )


def test_structure_distance_of_a_jittered_copy_is_the_centred_rms():
    rng = np.random.default_rng(0)
    c = prototype("diamond")
    u = 0.05 * rng.standard_normal((8, 3))  # (N, 3) Å, small: the identity pairing stays optimal
    moved = Crystal(c.lattice, c.frac_coords + u @ np.linalg.inv(c.lattice), 14)
    expected = np.sqrt(np.mean(np.sum((u - u.mean(0)) ** 2, axis=1)))  # best translation removes the mean
    assert expected > 0 and structure_distance(c, moved) == pytest.approx(expected, rel=1e-9)
    shuffled = moved_copy(moved, rng)
    assert structure_distance(shuffled, c) == pytest.approx(expected, rel=1e-9)  # symmetric, invariant


def test_structure_distance_of_different_cells_is_inf():
    fcc = prototype("fcc")
    assert structure_distance(fcc, prototype("diamond")) == np.inf  # 4 vs 8 atoms
    assert structure_distance(fcc, prototype("fcc", a=5.5)) == np.inf  # another lattice
    assert structure_distance(fcc, prototype("fcc", number=29)) == np.inf  # another element


def brute_force_distance(a, b, grid=12):
    """All permutations x a grid of translations, each refined to the mean residual."""
    inv = np.linalg.inv(a.lattice)
    shifts = np.stack(np.meshgrid(*[np.arange(grid) / grid] * 3, indexing="ij"), -1).reshape(-1, 3)  # (G, 3)
    best = np.inf
    for perm in itertools.permutations(range(b.n_atoms)):
        fb = b.frac_coords[list(perm)]  # (N, 3)
        _, d = minimum_image(fb[None] - a.frac_coords[None] - shifts[:, None], a.lattice)  # (G, N)
        for t in shifts[np.argsort(np.mean(d**2, axis=1))[:4]]:
            for _ in range(10):
                vec, d = minimum_image(fb - a.frac_coords - t, a.lattice)  # (N, 3), (N,)
                t = t + vec.mean(axis=0) @ inv
            best = min(best, np.sqrt(np.mean(minimum_image(fb - a.frac_coords - t, a.lattice)[1] ** 2)))
    return best


def test_structure_distance_matches_brute_force():
    for seed in range(6):
        a, b = random_crystal(seed, n=3), random_crystal(100 + seed, n=3)
        assert structure_distance(a, b) == pytest.approx(brute_force_distance(a, b), abs=1e-6)
        assert structure_distance(a, b) == pytest.approx(structure_distance(b, a), abs=1e-12)


def test_nearest_distance():
    train = demo_dataset()
    rng = np.random.default_rng(3)
    samples = [moved_copy(train[1], rng), moved_copy(train[1], rng, 0.05), random_crystal(1, n=8), prototype("fcc", 4)]
    d = nearest_distance(samples, train)
    assert d[0] < 1e-9 and 0.02 < d[1] <= 0.05 + 1e-9 and d[2] > 0.3 and d[3] == np.inf
    assert mic_method(np.eye(3)) == "round"


# --- the report ---------------------------------------------------------------------------------
def test_report_fields_and_physics_checks():
    samples = [random_crystal(seed) for seed in range(30)] + [prototype(n) for n in NAMES]
    validator = PhysicsValidator()
    report = evaluate_samples(samples, reference=demo_dataset(), validator=validator)
    assert isinstance(report, SampleReport) and report.n == 34
    d = np.array([validator.check_minimum_distance(c)[1] for c in samples])
    assert np.allclose(report.d_min, d) and np.array_equal(report.distance_valid, d >= 0.7)
    assert np.array_equal(report.valid_structure, d > 0.5)
    assert report.prototypes[-4:] == list(NAMES) and report.novel[-4:].tolist() == [False] * 4
    assert report.novel[:30].all() and report.space_group_histogram[1] >= 25  # random cells: P1
    assert sum(report.space_group_histogram.values()) == 34 and report.formula_counts == {"Si": 34}
    strict = evaluate_samples(samples, validator=PhysicsValidator(min_distance=2.0))
    assert strict.min_distance == 2.0 and strict.distance_valid.sum() < report.distance_valid.sum()
    assert strict.novel is None and strict.memorised is None and strict.rates["novel"] is None


def test_report_formats():
    samples = [random_crystal(s) for s in range(5)] + [prototype("fcc"), prototype("sc")]
    report = evaluate_samples(samples, reference=[prototype("fcc")])
    text = str(report)
    for key in (
        "valid structure",
        "valid composition",
        "unique",
        "novel",
        "memorised",
        "ltol 0.3, stol 0.5, angle_tol 10",
        "d_min",
        "density",
        "prototype match",
        "space groups",
        "symprec",
    ):
        assert key in text
    assert repr(report) == text and report._repr_html_().startswith("<table>")
    d = report.to_dict(per_sample=True)
    json.dumps(d, allow_nan=False)
    for key in ("valid_structure", "valid_composition", "unique", "novel", "memorised"):
        assert d[key] == report.rates[key] and len(d["per_sample"].get(key, [0] * 7)) == 7
    assert d["matcher"] == dict(MATCHER_SETTINGS) and d["memorised"] == pytest.approx(1 / 7)
    assert d["n"] == 7 and d["match_rate"] == pytest.approx(2 / 7) and d["prototype_counts"]["fcc"] == 1
    table = compare_reports({"model": report, "uniform random": evaluate_samples(samples[:5])})
    lines = table.splitlines()
    assert lines[0].split() == ["metric", "model", "uniform", "random"] and len(lines) == len(report._rows()) + 1
    assert "28.6%" in table and "n/a" in table  # match rate; no reference in column 2
    with pytest.raises(TypeError, match="reports must be"):
        compare_reports([report])


def test_bad_inputs_raise_clear_errors():
    c = prototype("fcc")
    with pytest.raises(ValueError, match="samples is empty"):
        evaluate_samples([])
    with pytest.raises(TypeError, match=r"samples\[1\]"):
        evaluate_samples([c, "fcc"])
    with pytest.raises(TypeError, match="list of Crystal"):
        evaluate_samples(c)
    with pytest.raises(TypeError, match=r"reference\[0\]"):
        evaluate_samples([c], reference=[None])
    with pytest.raises(ValueError, match="symprec"):
        evaluate_samples([c], symprec=-1)
    with pytest.raises(TypeError, match="validator"):
        evaluate_samples([c], validator="strict")
    with pytest.raises(ValueError, match="matcher settings must be among"):
        evaluate_samples([c], matcher_settings={"tolerance": 1})
    with pytest.raises(ValueError, match="stol"):
        evaluate_samples([c], matcher_settings={"stol": 0})
    with pytest.raises(TypeError, match="matcher_settings"):
        evaluate_samples([c], matcher_settings=0.3)
    with pytest.raises(TypeError, match="b must be"):
        structure_distance(c, None)


# --- the command line's summary ------------------------------------------------------------------
@pytest.mark.parametrize("model, n_atoms", [("pairwise", 4), ("joint", 2)])
def test_generate_summary_carries_the_metrics(tmp_path, model, n_atoms):
    import argparse

    from crystal_tutorial.cli.generate import add_generate_arguments, run_generate

    args = add_generate_arguments(argparse.ArgumentParser()).parse_args(
        [
            "--model",
            model,
            "--n-atoms",
            str(n_atoms),
            "--n-samples",
            "4",
            "--out",
            str(tmp_path / "run"),
            "--weights",
            "pretrained",
        ]
    )
    lines = []
    assert run_generate(args, log=lines.append) == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    for key in ("valid_structure", "valid_composition", "unique", "novel", "memorised"):
        assert 0.0 <= summary[key] <= 1.0 and f"{key.replace('_', ' ')} " in lines[-1]
    assert summary["memorised"] == pytest.approx(1 - summary["novel"]) and summary["matcher"] == dict(MATCHER_SETTINGS)
    assert "StructureMatcher ltol 0.3, stol 0.5, angle_tol 10" in lines[-1]


# --- issue 25, item 6: absurd cells are refused before any allocation ----------------------------------------------
_ABSURD = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1536 * 2**20, 1536 * 2**20))  # 1.5 GiB: today's MemoryError needs 3.6-8 GB
import numpy as np
from crystal_tutorial.crystals import Crystal
from crystal_tutorial.metrics import evaluate_samples
cells = {"5 x 5 x 1e4 A": Crystal(np.diag([5.0, 5.0, 1e4]), [[0, 0, 0]], [14]),
         "1e4 x 1e4 x 0.1 A": Crystal(np.diag([1e4, 1e4, 0.1]), [[0, 0, 0]], [14])}
for name, c in cells.items():
    try:
        evaluate_samples([c, c])
        print(name, "scored")
    except ValueError as exc:
        print(name, "refused:", exc)
"""


def test_metrics_refuse_absurd_cells_with_a_message_before_allocating(tmp_path):
    """Today: MemoryError after asking for gigabytes; wanted: a ValueError naming the sample and the budget."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", _ABSURD], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2 and all("refused: samples[0]:" in line and "budget" in line for line in lines), lines
    for bad in ([[1e-3, 0, 0], [0, 1e-3, 0], [0, 0, 1e-3]], np.eye(3) * 1e6, np.diag([5.0, 5.0, 1e6])):
        with pytest.raises(ValueError, match="MIN_LATTICE_LENGTH .* MAX_LATTICE_LENGTH"):
            Crystal(bad, [[0, 0, 0]], [14])  # such cells are not crystals in the first place


def test_matcher_budget_passes_real_cells():
    from crystal_tutorial.metrics import MATCHER_LATTICE_BUDGET, check_matcher_budget

    for c in [
        *binary_dataset().values(),
        prototype("fcc"),
        Crystal(SKEWED, [[0, 0, 0]], [14]),
        Crystal(np.diag([3.0, 3.0, 30.0]), [[0, 0, 0]], [14]),
    ]:  # a layered cell, 10:1
        assert check_matcher_budget("c", c.lattice) <= MATCHER_LATTICE_BUDGET


# --- issue 25, item 7: uniqueness compares only what can match, a bounded number of pairs per sample ----------------
def test_uniqueness_makes_a_bounded_number_of_matcher_calls(monkeypatch):
    """24 random 4-atom samples: group_structures called fit on up to 276 pairs; now at most 4 per sample."""
    from pymatgen.analysis.structure_matcher import StructureMatcher

    from crystal_tutorial.metrics import UNIQUE_CANDIDATES

    calls = []
    fit = StructureMatcher.fit
    monkeypatch.setattr(StructureMatcher, "fit", lambda self, *a, **k: calls.append(1) or fit(self, *a, **k))
    samples = [random_crystal(seed, n=4) for seed in range(24)]
    report = evaluate_samples(samples, uniqueness=True)
    bound = sum(min(k, UNIQUE_CANDIDATES) for k in range(len(samples)))
    assert len(calls) <= bound < len(samples) * (len(samples) - 1) // 2
    assert report.extra["matcher"]["unique_calls"] <= bound
    assert report.unique[0] and report.unique.sum() >= 1


def test_uniqueness_is_exact_while_groups_are_small():
    """Jittered copies of four structures, shuffled: the same verdicts as plain fit calls on every pair."""
    rng = np.random.default_rng(5)
    base = [prototype("fcc"), prototype("diamond"), binary_dataset()["NaCl"], random_crystal(1, n=6)]
    samples = [moved_copy(base[k], rng, displacement=0.05) for k in rng.integers(0, 4, 16)]
    report = evaluate_samples(samples)
    matcher = structure_matcher()[0]
    s = [c.to_pymatgen() for c in samples]
    unique = []
    for k in range(len(s)):
        unique.append(not any(matcher.fit(s[j], s[k]) for j in range(k) if unique[j]))
    assert report.unique.tolist() == unique and report.extra["matcher"]["unique_capped"] == 0


def test_fingerprint_ignores_what_the_matcher_ignores():
    from crystal_tutorial.metrics import fingerprint

    rng = np.random.default_rng(3)
    c = binary_dataset()["NaCl"]
    f = fingerprint(c.to_pymatgen())
    for other in copies_in_other_cells(c, rng) + [Crystal(c.lattice * 1.3, c.frac_coords, c.numbers)]:
        np.testing.assert_allclose(fingerprint(other.to_pymatgen()), f, atol=1e-9)


def test_scoring_cost_and_no_uniqueness():
    from crystal_tutorial.metrics import SCORING_BUDGET_SECONDS, scoring_cost

    assert scoring_cost(2000, 64) > SCORING_BUDGET_SECONDS > scoring_cost(10, 64, n_reference=10)
    assert scoring_cost(200, 8) < scoring_cost(400, 8) < 2.1 * scoring_cost(200, 8)  # linear, not quadratic
    with pytest.raises(ValueError, match="n_samples"):
        scoring_cost(0, 8)
    report = evaluate_samples([prototype("fcc")] * 3, uniqueness=False)
    assert report.unique is None and report.rates["unique"] is None and "unique" in str(report)
    assert json.loads(json.dumps(report.to_dict(per_sample=True)))["per_sample"]["unique"] is None
    with pytest.raises(TypeError, match="uniqueness"):
        evaluate_samples([prototype("fcc")], uniqueness="no")


# --- issue 25, item 8: a report does not depend on the order of the atoms ------------------------------------------
def test_a_permutation_of_the_atoms_does_not_change_the_report():
    rng = np.random.default_rng(2)
    fcc = prototype("fcc")
    noisy = Crystal(fcc.lattice, fcc.frac_coords + rng.normal(0, 0.012, (4, 3)), fcc.numbers)  # spglib: 5 or 8
    samples = [noisy, Crystal(fcc.lattice, fcc.frac_coords + rng.normal(0, 0.02, (4, 3)), fcc.numbers)]
    reference = demo_dataset()
    first = evaluate_samples(samples, reference).to_dict(per_sample=True)
    for _ in range(20):
        permuted = []
        for c in samples:
            p = rng.permutation(c.n_atoms)
            permuted.append(Crystal(c.lattice, c.frac_coords[p], c.numbers[p]))
        assert evaluate_samples(permuted, reference).to_dict(per_sample=True) == first
