"""Issue 13: runs that never mix or lose data, reproducible runs, weights files that cannot hurt,
clear errors before any work, bounded memory. Command-line cases run in a subprocess."""
import io
import json
import os
import subprocess
import sys
import time
import tracemalloc
import zipfile
from argparse import Namespace
from pathlib import Path

import numpy as np
import pytest

from crystal_tutorial import checkpoint, nn
from crystal_tutorial.cli import runs
from crystal_tutorial.cli.main import main
from crystal_tutorial.cli.runs import RunFolder, UsageError, check_memory, memory_estimate, sample_batch_size
from crystal_tutorial.crystals import demo_dataset
from crystal_tutorial.joint_diffusion import PRETRAINED_JOINT, load_joint
from crystal_tutorial.torus import PRETRAINED, load_model
from crystal_tutorial.training import DivergenceCheck, TrainConfig, build_model, load, train

ROOT = Path(__file__).resolve().parents[1]


def cli(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "crystal_tutorial", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=300, env=env)


def one_line_error(result, status, *needles):
    assert result.returncode == status, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def hidden_leftovers(folder):
    return [p.name for p in Path(folder).iterdir() if ".partial-" in p.name or ".old-" in p.name]


# --- 1. a rerun into the same --out never mixes runs --------------------------------------------
def test_rerun_is_refused_and_overwrite_replaces_the_whole_folder(tmp_path):
    out = tmp_path / "run"
    first = ["generate", "--out", out, "--weights", "pretrained", "--n-atoms", 4, "--n-samples", 5, "--seed", 0]
    assert cli(*first).returncode == 0
    assert json.loads((out / "run.json").read_text())["command"] == "generate"
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    second = ["generate", "--out", out, "--weights", "pretrained", "--n-atoms", 2, "--n-samples", 2, "--seed", 1]
    one_line_error(cli(*second), 2, "--out", "holds a finished run", "--overwrite")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before      # untouched
    assert cli(*second, "--overwrite").returncode == 0
    assert sorted(p.name for p in out.iterdir()) == ["run.json", "sample_000.cif", "sample_001.cif", "summary.json"]
    assert json.loads((out / "summary.json").read_text())["n"] == 2
    assert hidden_leftovers(tmp_path) == []
    if os.name == "posix":  # files and folder get the modes a plain write would give (mkstemp's are private)
        umask = os.umask(0o022)
        os.umask(umask)
        assert (out.stat().st_mode & 0o777) == 0o777 & ~umask
        assert all((p.stat().st_mode & 0o777) == 0o666 & ~umask for p in out.iterdir())


def test_a_folder_that_is_not_our_run_is_refused_even_with_overwrite(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    for extra in ([], ["--overwrite"]):
        one_line_error(cli("generate", "--out", out, "--weights", "pretrained", *extra), 2,
                       "not a finished run")
    assert (out / "thesis.tex").read_text() == "precious" and len(list(out.iterdir())) == 1
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli("generate", "--out", empty, "--weights", "pretrained", "--n-samples", 1).returncode == 0


def test_an_interrupted_run_leaves_no_out_and_says_so(tmp_path, monkeypatch, capsys):
    import crystal_tutorial.torus as torus

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(torus, "sample_torus", interrupted)
    out = tmp_path / "run"
    assert main(["generate", "--out", str(out), "--weights", "pretrained"]) == 130
    err = capsys.readouterr().err
    assert "interrupted; nothing was written to" in err and len(err.strip().splitlines()) == 1
    assert not out.exists() and hidden_leftovers(tmp_path) == []


def test_an_interrupted_overwrite_keeps_the_old_run(tmp_path, monkeypatch):
    out = tmp_path / "run"
    with RunFolder(out, "generate") as run:
        (run.tmp / "sample_000.cif").write_text("old")
    with pytest.raises(RuntimeError):
        with RunFolder(out, "generate", overwrite=True) as run:
            (run.tmp / "sample_000.cif").write_text("new")
            raise RuntimeError("disk full")
    assert (out / "sample_000.cif").read_text() == "old" and hidden_leftovers(tmp_path) == []


def test_sigterm_cleans_up_like_ctrl_c(tmp_path):
    out = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "crystal_tutorial", "generate", "--out", str(out),
                             "--train-steps", "1000000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    for _ in range(600):  # wait until the run folder exists (training started), at most 60 s
        if hidden_leftovers(tmp_path):
            break
        time.sleep(0.1)
    proc.terminate()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and "interrupted by SIGTERM" in err, (proc.returncode, err[-3000:])
    assert not out.exists() and hidden_leftovers(tmp_path) == []


# --- 11. every argument is checked before any work, one line, exit 2 or 1 ---------------------
@pytest.mark.parametrize("argv, needles", [
    (["--out", ""], ["--out must name a folder"]),
    (["--lattice-a", "1e-3"], ["--lattice-a", "1..1000"]),
    (["--lattice-a", "1e200"], ["--lattice-a", "1..1000"]),
    (["--seed", "-1"], ["--seed", "got -1"]),
    (["--model", "pairwise", "--guidance", "nan"], ["--guidance"]),
    (["--model", "mlp", "--guidance", "1"], ["--guidance needs --model joint"]),
    (["--model", "joint", "--density", "1000"], ["--density 1000", "trained on", "0.64..17.80"]),
    (["--n-atoms", "64", "--n-samples", "10000"], ["would need about 2.4 GiB", "1 GiB"]),
])
def test_bad_arguments_fail_before_work_with_exit_2(tmp_path, argv, needles):
    argv = argv if "--out" in argv else ["--out", str(tmp_path / "o"), *argv]
    result = cli("generate", *argv)
    one_line_error(result, 2, *needles)
    assert "training" not in result.stdout and not (tmp_path / "o").exists()


def test_unusable_out_fails_before_training(tmp_path):
    (tmp_path / "afile").write_text("")
    for out, needle in ((tmp_path / "afile", "exists and is not a folder"),
                        (tmp_path / "afile" / "sub", "which is a file, not a folder")):
        result = cli("generate", "--out", out, "--train-steps", "1000000")
        one_line_error(result, 2, "--out", needle)
        assert "training" not in result.stdout


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a user that permissions apply to")
def test_read_only_parent_fails_before_training(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        result = cli("generate", "--out", ro / "x", "--train-steps", "1000000")
        one_line_error(result, 1, "Permission denied")
        assert "training" not in result.stdout
    finally:
        ro.chmod(0o755)


def test_main_turns_memory_and_os_errors_into_one_line(monkeypatch, capsys, tmp_path):
    import crystal_tutorial.cli.generate as generate
    for exc, needle in ((MemoryError(), "out of memory"), (PermissionError(13, "Permission denied", "/x"),
                                                           "Permission denied: /x")):
        def boom(args, log=print, exc=exc):
            raise exc
        monkeypatch.setattr(generate, "run_generate", boom)
        monkeypatch.setattr("crystal_tutorial.cli.main.run_generate", boom)
        assert main(["generate", "--out", str(tmp_path / "o")]) == 1
        err = capsys.readouterr().err
        assert needle in err and len(err.strip().splitlines()) == 1


# --- 3, 4. weights files: one clear error naming the file, headers checked before data --------------
def _bad_files(tmp_path, good: Path):
    data = good.read_bytes()
    files = {"truncated": data[:2000], "empty": b"", "text": b"hello, I am not weights\n" * 10}
    paths = {}
    for name, content in files.items():
        paths[name] = tmp_path / f"{good.stem}_{name}.npz"
        paths[name].write_bytes(content)
    paths["wrong arrays"] = tmp_path / f"{good.stem}_wrong.npz"
    np.savez(paths["wrong arrays"], x=np.zeros(3))
    return paths


@pytest.fixture(scope="module")
def mlp_weights(tmp_path_factory):
    config = TrainConfig(epochs=2, progress=False)
    model = build_model(config)
    return checkpoint.save(tmp_path_factory.mktemp("w") / "mlp.npz", model, config)


@pytest.mark.parametrize("model", ["mlp", "pairwise", "joint"])
def test_unreadable_weights_give_one_error_naming_the_file(tmp_path, mlp_weights, model):
    good, loader = {"mlp": (mlp_weights, load), "pairwise": (PRETRAINED, load_model),
                    "joint": (PRETRAINED_JOINT, load_joint)}[model]
    for kind, path in _bad_files(tmp_path, Path(good)).items():
        with pytest.raises(ValueError) as info:
            loader(path)
        message = str(info.value)
        assert str(path) in message and "allow_pickle" not in message, (kind, message)
    # and through the command line: exit 2 (a bad option value), one line, the file named
    for kind in ("truncated", "text"):
        path = _bad_files(tmp_path, Path(good))[kind]
        result = cli("generate", "--model", model, "--out", tmp_path / f"o_{kind}", "--weights", path,
                     "--n-atoms", 4, "--n-samples", 1)
        one_line_error(result, 2, "--weights", str(path))
        assert "allow_pickle" not in result.stderr and not (tmp_path / f"o_{kind}").exists()


def test_load_weights_of_a_plain_module_names_the_file(tmp_path):
    (tmp_path / "t.npz").write_text("not a zip")
    with pytest.raises(ValueError, match=r"t\.npz is not a weights file: BadZipFile"):
        checkpoint.load_weights(tmp_path / "t.npz", nn.MLP([2, 3], rng=0))


def _bomb(path: Path, shape, dtype="<f8", name="weights/psi.layers.0.W"):
    """A small .npz whose member's header announces ``shape``: its zeros compress ~1000x."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": dtype, "fortran_order": False, "shape": shape})
    n_bytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("config.npy", _npy(np.array(json.dumps({"model": {"n_freq": 4, "hidden": 48}}))))
        with zf.open(name + ".npy", "w", force_zip64=True) as fh:
            fh.write(header.getvalue())
            chunk = bytes(2**22)
            for _ in range(n_bytes // len(chunk)):
                fh.write(chunk)
    return n_bytes


def _npy(array):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array)
    return buffer.getvalue()


def test_decompression_bomb_is_refused_from_its_header_without_allocating(tmp_path):
    path = tmp_path / "bomb.npz"
    n_bytes = _bomb(path, (8192, 4096))                  # inflates to 256 MiB
    assert path.stat().st_size < n_bytes / 200           # a small file
    tracemalloc.start()
    with pytest.raises(ValueError, match=r"bomb\.npz is not a pairwise-model file: array 'weights/psi\.layers\.0\.W' "
                                         r"of shape \(8192, 4096\) would need 256 MiB"):
        load_model(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 4 * 2**20                              # nothing near the array's size was allocated


def test_checkpoint_metadata_cannot_ask_for_a_huge_model(tmp_path):
    path = tmp_path / "huge.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("config.npy", _npy(np.array(json.dumps({"model": {"n_freq": 4, "hidden": 10**9}}))))
    with pytest.raises(ValueError, match=r"config.hidden = 1000000000 is larger than any model here"):
        load_model(path)


def test_object_arrays_are_refused_without_the_pickle_hint(tmp_path):
    path = tmp_path / "pickled.npz"
    np.savez(path, config=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError) as info:
        load_model(path)
    assert "allow_pickle" not in str(info.value) and str(path) in str(info.value)


def test_saving_is_atomic_and_keeps_the_old_file_when_it_fails(tmp_path, monkeypatch):
    model = nn.MLP([2, 3], rng=0)
    path = checkpoint.save(tmp_path / "m.npz", model)
    good = path.read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(np.lib.format, "write_array", disk_full)
    with pytest.raises(OSError):
        checkpoint.save(path, model)
    assert path.read_bytes() == good and [p.name for p in tmp_path.iterdir()] == ["m.npz"]


# --- 5, 6. reproducibility: the same command and seed write the same bytes ---------------------------
@pytest.mark.parametrize("argv", [
    ["--model", "pairwise", "--train-steps", "25", "--n-atoms", "4", "--n-samples", "3"],
    ["--model", "mlp", "--train-steps", "25", "--n-atoms", "4", "--n-samples", "3"],
    ["--model", "joint", "--n-atoms", "4", "--n-samples", "2", "--density", "5"],
])
def test_same_command_and_seed_write_identical_files(tmp_path, argv):
    for name in ("a", "b"):
        result = cli("generate", *argv, "--seed", 3, "--out", tmp_path / name)
        assert result.returncode == 0, result.stderr
    a, b = tmp_path / "a", tmp_path / "b"
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir()) and "summary.json" in names
    for name in names:
        if name == "summary.json":
            sa, sb = (json.loads((d / name).read_text()) for d in (a, b))
            assert set(sa.pop("timings")) >= {"sample_seconds"} and sb.pop("timings")
            assert sa == sb
        else:
            assert (a / name).read_bytes() == (b / name).read_bytes(), name
    if "--train-steps" in argv:
        assert json.loads((a / "summary.json").read_text())["generate"]["train_steps"] == 25


def test_mlp_callbacks_get_o1_views():
    """The per-atom MLP's callback gets views of the arrays (O(1)), not copies that grow with the epoch."""
    config = TrainConfig(epochs=300, progress=False)
    views = []
    history = train(build_model(config), demo_dataset(), config,
                    callback=lambda step, h: views.append(h.losses.base is not None and h.timesteps.base is not None))
    assert len(views) == 300 and all(views) and len(history.losses) == 300


def test_train_seconds_stops_the_mlp_by_wall_time(tmp_path):
    import argparse

    from crystal_tutorial.cli.generate import add_generate_arguments, run_generate
    args = add_generate_arguments(argparse.ArgumentParser()).parse_args(
        ["--model", "mlp", "--out", str(tmp_path / "o"), "--train-seconds", "0.5", "--n-samples", "1"])
    assert run_generate(args, log=lambda *a: None) == 0
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["generate"]["stopped_by"] == "time" and summary["timings"]["train_seconds"] >= 0.5


# --- 7. divergence ---------------------------------------------------------------------------------
def test_demo_with_a_huge_learning_rate_fails_naming_it(tmp_path):
    result = cli("demo", "--lr", 10, "--out", tmp_path / "d")
    one_line_error(result, 1, "training diverged", "lr = 10")
    assert not (tmp_path / "d").exists()


def test_divergence_check_lets_a_recovered_spike_pass():
    check = DivergenceCheck(lr=0.3)
    for loss in [1.5, 626.0, 100.0, 3.5] + [1.0] * 20:       # measured with lr = 0.3: a jump, then recovery
        check.update(loss)
    check = DivergenceCheck(lr=1.0)
    with pytest.raises(FloatingPointError, match=r"lr = 1\)"):
        for loss in [1.5] + [1e3] * 20:
            check.update(loss)
    with pytest.raises(FloatingPointError, match="the loss is nan"):
        DivergenceCheck(lr=1.0).update(float("nan"))


# --- 12. memory ------------------------------------------------------------------------------------
def test_memory_estimate_refuses_what_would_not_fit_and_batches_the_rest():
    with pytest.raises(UsageError, match=r"would need about 2\.4 GiB of memory, more than the 1 GiB"):
        check_memory("pairwise", 64, 10_000)
    assert memory_estimate("pairwise", 64, 1000) < runs.MEMORY_LIMIT
    assert sample_batch_size("pairwise", 64) == 10 and sample_batch_size("pairwise", 4) > 1000
    for model in ("pairwise", "joint", "mlp"):
        for n in (1, 8, 64):   # one batch always fits the batch budget (or is a single structure)
            b = sample_batch_size(model, n)
            assert b == 1 or b * runs.BYTES_PER_PAIR[model] * n * n <= runs.BATCH_MEMORY


def test_sampling_in_batches_measures_under_the_estimate(tmp_path, monkeypatch):
    """A pairwise job sampled in small batches: the same number of CIFs, and tracemalloc's peak stays
    under the batch rule's estimate."""
    import argparse

    from crystal_tutorial.cli.generate import add_generate_arguments, run_generate
    monkeypatch.setattr(runs, "BATCH_MEMORY", 6_000 * 16 * 16 * 3)   # 3 structures of 16 atoms per batch
    args = add_generate_arguments(argparse.ArgumentParser()).parse_args(
        ["--out", str(tmp_path / "o"), "--weights", "pretrained", "--n-atoms", "16", "--n-samples", "7"])
    lines = []
    tracemalloc.start()
    run_generate(args, log=lines.append)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert "sampled 3/7" in lines and "sampled 7/7" in lines
    assert len(list((tmp_path / "o").glob("sample_*.cif"))) == 7
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["generate"]["sample_batch"] == 3
    assert peak < memory_estimate("pairwise", 16, 7) + 64 * 2**20   # + imports and caches


def test_joint_namespace_without_new_fields_still_works(tmp_path):
    """run_generate_joint takes a plain Namespace (notebook 09's way), without overwrite/train_steps."""
    from crystal_tutorial.cli.generate import run_generate_joint
    args = Namespace(n_atoms=2, n_samples=1, seed=0, out=str(tmp_path / "j"), density=None, elements=None,
                     guidance=1.0, weights=None)
    assert run_generate_joint(args, log=lambda *a: None) == 0 and (tmp_path / "j" / "run.json").is_file()
