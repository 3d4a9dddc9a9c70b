"""The ``generate`` command: argument parsing, CIF files, summary.json, weights, one-line errors."""
import argparse
import json
import subprocess
import sys

import numpy as np
import pytest

from crystal_tutorial.cif import read_cif
from crystal_tutorial.cli.generate import add_generate_arguments, run_generate
from crystal_tutorial.cli.runs import UsageError


def _parse(*argv):
    parser = add_generate_arguments(argparse.ArgumentParser(prog="generate"))
    return parser.parse_args(list(argv))


def _run(*argv):
    lines = []
    assert run_generate(_parse(*argv), log=lines.append) == 0
    return lines


def _check_output(out, n_atoms, n_samples, lattice_a=5.0):
    cifs = sorted(out.glob("sample_*.cif"))
    assert [p.name for p in cifs] == [f"sample_{k:03d}.cif" for k in range(n_samples)]
    for path in cifs:  # ASE reads them back as crystals with the asked atom count and cell
        crystal = read_cif(path)
        assert crystal.n_atoms == n_atoms
        np.testing.assert_allclose(crystal.lattice, np.eye(3) * lattice_a, atol=1e-6)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n"] == n_samples and summary["generate"]["n_atoms"] == n_atoms
    return summary


def test_pairwise_with_pretrained_weights(tmp_path):
    out = tmp_path / "run"
    lines = _run("--model", "pairwise", "--n-atoms", "2", "--n-samples", "5", "--seed", "1", "--out", str(out),
                 "--weights", "pretrained")
    summary = _check_output(out, 2, 5)
    assert summary["prototype_rates"]["bcc"] >= 0.6 and summary["symprec_A"] == 0.25
    assert "wrote 5 CIF files" in lines[-1]
    assert not (out / "model.npz").exists()  # loaded, not trained


def test_pairwise_short_training_saves_weights_that_load_again(tmp_path):
    out = tmp_path / "trained"
    _run("--n-atoms", "4", "--n-samples", "3", "--out", str(out), "--train-steps", "30", "--lattice-a", "4.0")
    summary = _check_output(out, 4, 3, lattice_a=4.0)
    assert summary["generate"]["train_steps"] == 30 and summary["generate"]["lattice_a"] == 4.0
    again = tmp_path / "again"
    _run("--n-atoms", "4", "--n-samples", "2", "--out", str(again), "--weights", str(out / "model.npz"))
    _check_output(again, 4, 2)


def test_mlp_model(tmp_path):
    out = tmp_path / "mlp"
    _run("--model", "mlp", "--n-atoms", "4", "--n-samples", "3", "--out", str(out), "--train-steps", "20")
    _check_output(out, 4, 3)
    assert (out / "model.npz").is_file()
    _run("--model", "mlp", "--n-atoms", "3", "--n-samples", "2", "--out", str(tmp_path / "m2"),
         "--weights", str(out / "model.npz"))
    _check_output(tmp_path / "m2", 3, 2)


@pytest.mark.parametrize("argv, message", [
    (["--n-atoms", "0"], "--n-atoms: expected an integer in 1..64, got 0"),
    (["--n-samples", "many"], "--n-samples: expected an integer, got 'many'"),
    (["--lattice-a", "-5"], "--lattice-a: expected a positive finite number, got -5"),
    (["--lattice-a", "1e-3"], "--lattice-a: expected a number in 1..1000, got 1e-3"),
    (["--lattice-a", "1e200"], "--lattice-a: expected a number in 1..1000, got 1e200"),
    (["--seed", "-1"], "--seed: expected an integer in 0..9223372036854775807, got -1"),
    (["--guidance", "nan"], "--guidance: expected a finite number, got nan"),
    (["--temperature", "1e-300"], "--temperature: expected a number in 0.01..100"),
    (["--train-steps", "0"], "--train-steps: expected an integer in 1..1000000, got 0"),
    (["--model", "gan"], "--model: invalid choice: 'gan'"),
])
def test_bad_arguments_are_argparse_errors(argv, message, capsys):
    with pytest.raises(SystemExit):
        _parse("--out", "x", *argv)
    assert message in capsys.readouterr().err


def test_bad_combinations_exit_with_one_line(tmp_path):
    with pytest.raises(UsageError, match="either --weights .* or --train-steps/--train-seconds"):
        run_generate(_parse("--out", str(tmp_path / "a"), "--weights", "pretrained", "--train-seconds", "3"))
    with pytest.raises(UsageError, match="either --weights .* or --train-steps/--train-seconds"):
        run_generate(_parse("--out", str(tmp_path / "a"), "--weights", "pretrained", "--train-steps", "3"))
    with pytest.raises(UsageError, match="--weights: no file at"):
        run_generate(_parse("--out", str(tmp_path / "b"), "--weights", str(tmp_path / "missing.npz")))
    bad = tmp_path / "bad.npz"
    np.savez(bad, x=np.zeros(2))
    with pytest.raises(ValueError, match="--weights: .*not a pairwise-model file"):
        run_generate(_parse("--out", str(tmp_path / "c"), "--weights", str(bad)))
    (tmp_path / "file").write_text("")
    with pytest.raises(UsageError, match="--out: .* is not a folder"):
        run_generate(_parse("--out", str(tmp_path / "file"), "--weights", "pretrained"))


def test_command_line_entry_point(tmp_path):
    """Through ``python -m crystal_tutorial generate`` (wired by __main__.py): files, and one-line errors."""
    out = tmp_path / "cli"
    cmd = [sys.executable, "-m", "crystal_tutorial", "generate"]
    run = subprocess.run(cmd + ["--n-atoms", "2", "--n-samples", "2", "--out", str(out), "--weights", "pretrained"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    _check_output(out, 2, 2)
    bad = subprocess.run(
        cmd + ["--n-atoms", "2", "--out", str(tmp_path / "cli2"), "--weights", str(tmp_path / "nope.npz")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1 and "--weights: no file at" in bad.stderr


def test_joint_model_through_the_command_line(tmp_path):
    out = tmp_path / "joint"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "crystal_tutorial",
            "generate",
            "--model",
            "joint",
            "--n-atoms",
            "4",
            "--n-samples",
            "3",
            "--seed",
            "1",
            "--out",
            str(out),
            "--density",
            "4",
            "--elements",
            "Na,Cl",
            "--guidance",
            "1.5",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    cifs = sorted(out.glob("sample_*.cif"))
    assert len(cifs) == 3
    crystals = [read_cif(p) for p in cifs]
    assert all(c.n_atoms == 4 for c in crystals)
    assert all(set(c.numbers) <= {11, 17} for c in crystals)  # the chemical system was respected
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n"] == 3 and summary["generate"]["guidance"] == 1.5


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--model", "pairwise", "--density", "3"], "--density needs --model joint"),
        (["--model", "joint", "--train-seconds", "5"], "--train-seconds: the joint model is not trained here"),
        (["--model", "joint", "--train-steps", "5"], "--train-steps: the joint model is not trained here"),
        (["--model", "pairwise", "--guidance", "2"], "--guidance needs --model joint"),
        (["--model", "mlp", "--guidance", "0"], "--guidance needs --model joint"),
        (
            ["--model", "joint", "--density", "1000"],
            r"--density 1000 g/cm\^3 lies outside the range the model was "
            r"trained on, 0.64..17.80",
        ),
    ],
)
def test_joint_only_options_are_checked(tmp_path, argv, message):
    with pytest.raises(UsageError, match=message):
        run_generate(_parse(*argv, "--out", str(tmp_path / "x")), log=lambda *a: None)
    assert not (tmp_path / "x").exists()
