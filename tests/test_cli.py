"""python -m crystal_tutorial demo: the hello-world's five steps, files and JSON summary."""
import json
import subprocess
import sys

import pytest


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "crystal_tutorial", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def test_demo_runs_and_writes_files(tmp_path):
    result = run("demo", "--epochs", "2", "--out", str(tmp_path / "out"), "--json")
    assert result.returncode == 0, result.stderr
    for step in range(1, 6):
        assert f"[Step {step}/5]" in result.stdout
    assert "Model parameters: 4,675" in result.stdout
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(summary) >= {"train_seconds", "final_loss", "min_distance", "valid"}
    assert summary["min_distance"] > 0 and isinstance(summary["valid"], bool)
    for name in ("training_loss.png", "generated_crystal.png", "real_crystal.png", "model.npz"):
        assert (tmp_path / "out" / name).stat().st_size > 1000


def test_demo_default_out_is_a_new_folder(tmp_path):
    result = run("demo", "--epochs", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(list(tmp_path.glob("demo_output-*"))) == 1


@pytest.mark.parametrize("args, message", [
    (["demo", "--epochs", "-3"], "integer in 1..100000"),
    (["demo", "--lr", "abc"], "positive number"),
    (["demo", "--lr", "nan"], "positive finite"),
    (["fly"], "invalid choice"),
])
def test_bad_arguments_are_argparse_errors(args, message):
    result = run(*args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_demo_out_is_never_mixed(tmp_path):
    out = tmp_path / "d"
    assert run("demo", "--epochs", "1", "--out", str(out)).returncode == 0
    assert json.loads((out / "run.json").read_text())["command"] == "demo"
    again = run("demo", "--epochs", "1", "--out", str(out))
    assert again.returncode == 2 and "--overwrite" in again.stderr and len(again.stderr.strip().splitlines()) == 1
    assert run("demo", "--epochs", "1", "--out", str(out), "--overwrite").returncode == 0
    assert sorted(p.name for p in out.iterdir()) == ["generated_crystal.png", "model.npz", "real_crystal.png",
                                                     "run.json", "training_loss.png"]
    for bad in ("", ".", ".."):
        result = run("demo", "--out", bad, cwd=tmp_path)
        assert result.returncode == 2 and "--out must name a folder" in result.stderr, result.stderr
