"""Issue 27, items 1 and 3: ``--overwrite`` never deletes a file the package did not write, for every
command that writes a folder; leftovers of a killed run are removed by the next run."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crystal_tutorial.cli import runs
from crystal_tutorial.cli.runs import RunFolder, UsageError, check_out, foreign_files, remove_stale

ROOT = Path(__file__).resolve().parents[1]


def cli(*args, cwd=None, timeout=300):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "crystal_tutorial", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=timeout, env=env)


def one_line_error(result, status, *needles):
    assert result.returncode == status, (result.returncode, result.stderr[-2000:])
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def hidden(folder):
    return sorted(p.name for p in Path(folder).iterdir() if p.name.startswith("."))


def finished_run(out, command="generate", files=("sample_000.cif", "summary.json")):
    with RunFolder(out, command) as run:
        for name in files:
            (run.tmp / name).parent.mkdir(parents=True, exist_ok=True)
            (run.tmp / name).write_text(name)
    return out


def snapshot(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in Path(folder).rglob("*") if p.is_file()}


# --- 27.1: the manifest names the command and every file; anything else is refused ----------------
def test_the_manifest_names_the_command_and_every_file(tmp_path):
    out = finished_run(tmp_path / "run", files=("a.cif", "predictions/x_0.cif"))
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["command"] == "generate" and manifest["files"] == ["a.cif", "predictions/x_0.cif"]
    assert foreign_files(out) == []


def test_overwrite_replaces_a_run_holding_exactly_its_files(tmp_path):
    out = finished_run(tmp_path / "run")
    with RunFolder(out, "generate", overwrite=True) as run:
        (run.tmp / "summary.json").write_text("new")
    assert sorted(p.name for p in out.iterdir()) == ["run.json", "summary.json"]
    assert hidden(tmp_path) == []


@pytest.mark.parametrize("extra", ["notes.txt", "sub/notes.txt", "empty_folder/"])
def test_overwrite_refuses_a_run_holding_a_users_file_and_names_it(tmp_path, extra):
    out = finished_run(tmp_path / "run")
    target = out / extra.rstrip("/")
    if extra.endswith("/"):
        target.mkdir()
    else:
        target.parent.mkdir(exist_ok=True)
        target.write_text("mine")
    before = snapshot(out)
    with pytest.raises(UsageError, match="did not write: " + extra.split("/")[0]):
        RunFolder(out, "generate", overwrite=True)
    assert snapshot(out) == before and target.exists()


def test_a_symbolic_link_inside_a_run_is_foreign(tmp_path):
    out = finished_run(tmp_path / "run")
    (out / "link.cif").symlink_to(tmp_path)
    assert foreign_files(out) == ["link.cif"]
    with pytest.raises(UsageError, match="link.cif"):
        check_out(out, True, "generate")


def test_a_run_of_another_command_is_never_replaced(tmp_path):
    out = finished_run(tmp_path / "run", "generate")
    for command in ("benchmark", "student-edition", "demo", "site"):
        with pytest.raises(UsageError, match=f"finished `generate` run, not a `{command}` run"):
            RunFolder(out, command, overwrite=True)
    assert json.loads((out / "run.json").read_text())["command"] == "generate"


def test_a_folder_without_manifest_is_refused_naming_its_files(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    with pytest.raises(UsageError, match="thesis.tex"):
        RunFolder(out, "site", overwrite=True, option="OUT")


def test_generate_overwrite_keeps_a_users_notes(tmp_path):
    """The issue's case, on the command line: generate, add notes.txt, generate --overwrite."""
    out = tmp_path / "g"
    argv = ["generate", "--out", out, "--n-samples", 1, "--n-atoms", 2, "--weights", "pretrained"]
    assert cli(*argv).returncode == 0
    (out / "notes.txt").write_text("notes")
    one_line_error(cli(*argv, "--overwrite"), 2, "--out", "notes.txt")
    assert (out / "notes.txt").read_text() == "notes"
    assert hidden(tmp_path) == []


def test_student_edition_overwrite_keeps_a_teachers_grades(tmp_path):
    out = finished_run(tmp_path / "class", "student-edition", files=("01_crystals_and_pbc.ipynb",))
    (out / "grades.csv").write_text("alice,10\n")
    one_line_error(cli("student-edition", out, "--overwrite"), 2, "OUT", "grades.csv")
    assert (out / "grades.csv").read_text() == "alice,10\n"


def test_a_generate_run_is_not_replaced_by_a_student_edition(tmp_path):
    out = finished_run(tmp_path / "g", "generate")
    one_line_error(cli("student-edition", out, "--overwrite"), 2, "`generate` run", "`student-edition`")
    assert (out / "summary.json").read_text() == "summary.json"


@pytest.mark.parametrize("out", [".", "", " "])
def test_site_refuses_the_current_folder_and_an_empty_name(tmp_path, out):
    (tmp_path / "keep.txt").write_text("mine")
    result = cli("site", out, "--notebooks", ROOT / "notebooks", cwd=tmp_path)
    one_line_error(result, 2, "OUT")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]   # no ..old.* or partial folder left


def test_the_current_folder_by_its_full_path_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match="current folder"):
        RunFolder(tmp_path, "site", overwrite=True, option="OUT")
    with pytest.raises(UsageError, match="current folder"):
        RunFolder(tmp_path.parent, "site", overwrite=True, option="OUT")


def test_a_symlinked_out_receives_the_run_in_its_target(tmp_path):
    target = finished_run(tmp_path / "target", "site", files=("index.html",))
    link = tmp_path / "link"
    link.symlink_to(target)
    with RunFolder(link, "site", overwrite=True, option="OUT") as run:
        (run.tmp / "index.html").write_text("new")
    assert link.is_symlink() and link.resolve() == target.resolve()
    assert (target / "index.html").read_text() == "new" and hidden(tmp_path) == []
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "missing")
    with pytest.raises(UsageError, match="symbolic link"):
        RunFolder(dangling, "site", option="OUT")


# --- 27.3: a killed run's partial folder is removed by the next run -----------------------------------
KILLED = """
import sys, time
from crystal_tutorial.cli.runs import RunFolder
with RunFolder(sys.argv[1], "generate") as run:
    (run.tmp / "big.bin").write_bytes(b"x" * 2_000_000)
    print(run.tmp, flush=True)
    time.sleep(600)
"""


def test_a_killed_runs_partial_folder_is_removed_by_the_next_run(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-c", KILLED, str(out)], stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    partial = Path(proc.stdout.readline().strip())
    assert partial.is_dir() and f".run.partial-{proc.pid}-" in partial.name
    assert remove_stale(tmp_path, "run") == [] and partial.is_dir()     # its process lives: kept
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    assert partial.is_dir()                                               # SIGKILL: nothing could clean up
    with RunFolder(out, "generate") as run:
        (run.tmp / "a.cif").write_text("a")
    assert not partial.exists() and hidden(tmp_path) == []


def test_a_reused_process_id_without_the_lock_is_stale(tmp_path):
    if runs.fcntl is None:
        pytest.skip("no flock on this platform: the process id alone decides")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:   # a live process that is not the owner: the folder is unlocked, and older than STALE_AFTER
        stale = tmp_path / f".run.partial-{sleeper.pid}-abc123"
        stale.mkdir()
        young = tmp_path / f".run.partial-{sleeper.pid}-young1"
        young.mkdir()
        old = time.time() - runs.STALE_AFTER - 5
        os.utime(stale, (old, old))
        assert remove_stale(tmp_path, "run") == [stale] and young.is_dir()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_only_our_own_pattern_is_ever_removed(tmp_path):
    for name in (".run.partial-notapid", ".run.partial-99999999", ".other.partial-99999999-abc",
                 "run.partial-99999999-abc"):
        (tmp_path / name).mkdir()
    (tmp_path / ".run.partial-99999999-abc").mkdir()   # a process id that cannot exist: removed
    removed = remove_stale(tmp_path, "run")
    assert [p.name for p in removed] == [".run.partial-99999999-abc"]
    assert len(list(tmp_path.iterdir())) == 4
