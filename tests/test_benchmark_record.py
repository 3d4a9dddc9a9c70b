"""benchmark.records_csv / scores_from_csv: the per-structure record re-scores a run exactly (issue 22.2)."""
import numpy as np
import pytest

from crystal_tutorial.benchmark import RECORD_FIELDS, records_csv, scores_from_csv, summarize


def _scores(rng, n, k):
    rms = rng.random((n, k)) * 0.3                                  # (n, k) normalised RMS distances
    rms[rng.random((n, k)) < 0.4] = np.nan                          # no match
    return {"rms": rms, "dmax": rms * 1.7, "valid": rng.random((n, k)) < 0.7, "target_valid": rng.random(n) < 0.8}


def test_the_record_gives_back_every_score_and_summary():
    rng = np.random.default_rng(0)
    table = {"model": _scores(rng, 7, 3), "template, learned": _scores(rng, 7, 3)}
    ids = [f"mp-{i}" for i in range(7)]
    text = records_csv(table, ids, file_of=lambda m, i, j: f"{m[:5]}/{i:05d}_{j}.cif")
    lines = text.splitlines()
    assert lines[0] == ",".join(RECORD_FIELDS) and len(lines) == 1 + 2 * 7 * 3
    assert lines[1].startswith("model,0,mp-0,0,model/00000_0.cif,")
    back = scores_from_csv(text)
    assert list(back) == list(table)
    for method, s in table.items():
        for key in ("rms", "dmax", "valid", "target_valid"):
            np.testing.assert_array_equal(back[method][key], s[key])     # exact: repr() round-trips floats
        for k in (1, 3):
            assert summarize(back[method], k=k) == summarize(s, k=k)


def test_an_incomplete_or_inconsistent_record_is_refused():
    rng = np.random.default_rng(1)
    s = _scores(rng, 3, 2)
    s["rms"][0, 0] = 0.1                                             # row 1 is a match
    text = records_csv({"m": s}, ["a", "b", "c"])
    lines = text.splitlines(keepends=True)
    with pytest.raises(ValueError, match="5 rows, expected 3 structures x 2 samples"):
        scores_from_csv("".join(lines[:-1]))
    with pytest.raises(ValueError, match="repeated"):
        scores_from_csv("".join(lines + [lines[1]]))
    with pytest.raises(ValueError, match="columns"):
        scores_from_csv("method,index\n")
    with pytest.raises(ValueError, match="line 2 cannot be read"):
        scores_from_csv("".join([lines[0], lines[1].replace(",1,", ",yes,", 1)] + lines[2:]))
    s["target_valid"] = np.array([True, False, True])
    bad = records_csv({"m": s}, ["a", "b", "c"]).replace("m,0,a,1,,", "m,0,a,1,,X", 1)
    with pytest.raises(ValueError, match="line 3 cannot be read"):
        scores_from_csv(bad)
    with pytest.raises(ValueError, match="ids must name the 3 scored structures"):
        records_csv({"m": s}, ["a", "b"])
