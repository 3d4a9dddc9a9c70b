"""Output folders of the command line: a run is complete or absent, never mixed with another one.

Every command that writes a folder (``demo``, ``generate``, ``benchmark``, ``student-edition``,
``site``) builds its files in a hidden temporary folder beside ``--out``
(``.NAME.partial-PID-XXXX``, same file system) and renames it onto ``--out`` only when every file is
written. A finished run carries a small manifest, ``run.json``, that names the command and every
file the run wrote; that is how a later command tells its own finished runs from anything else:

* ``--out`` missing or an empty folder: the run goes there;
* ``--out`` holds a finished run of the same command and nothing but the files its manifest names:
  refused, unless ``overwrite=True`` (``--overwrite``), which replaces the whole folder at the end
  (the old run stays intact until the new one is complete);
* anything else is refused, even with ``--overwrite``, naming what is in the way: a file the run did
  not write (a user's ``notes.txt`` beside the CIFs), a run of another command, a folder without a
  manifest. We never delete files we did not write;
* ``--out`` a symbolic link to a folder: the run goes into the link's target (the link stays);
  ``--out`` the current folder or one that contains it is refused (it cannot be renamed away);
* an exception or Ctrl-C while the run is built deletes the temporary folder: ``--out`` is unchanged.
  A run killed outright (SIGKILL, a power cut) cannot clean up: its folder carries the process id in
  its name and is locked while the process lives, and the next run beside it removes it.

    with RunFolder(args.out, "generate", overwrite=args.overwrite) as run:   # checks --out before any work
        atomic_write_text(run.tmp / "summary.json", text)                    # write into run.tmp
    # here run.out holds the complete run

Memory: sampling runs in batches of a fixed size per model and atom count (:func:`sample_batch_size`,
so the same command draws the same random numbers), and a job whose :func:`memory_estimate` exceeds
``MEMORY_LIMIT`` (1 GiB) is refused up front with the estimate (:func:`check_memory`).

Errors on the command line itself are :class:`UsageError` (``main()`` exits with 2); an ``OSError``
(no permission, a path through a file, disk full) propagates and ``main()`` exits with 1.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

from ..checks import check_choice, check_int
from ..files import atomic_write_text

try:  # POSIX: a run holds a lock on its temporary folder while its process lives
    import fcntl
except ImportError:  # Windows: the process id in the folder's name decides alone
    fcntl = None

MANIFEST = "run.json"
MAX_SAMPLES = 10_000
FORMAT = "crystal_tutorial run"
STALE_AFTER = 60.0   # s: an unlocked folder of a live process id is stale after this (the id was reused)
SHOWN = 5            # foreign files named in a refusal


class UsageError(ValueError, SystemExit):
    """A command-line option is wrong (value, combination, or ``--out``); the message names the option.

    ``main()`` prints ``PROG CMD: error: MESSAGE`` on one line and exits with status 2 (as argparse does).
    It is a ValueError (the package's convention for bad arguments) and also a SystemExit, so code that
    caught the command functions' earlier ``SystemExit`` keeps working, and a script that calls
    ``run_generate`` directly ends with the message instead of a traceback.
    """


def read_manifest(folder) -> dict | None:
    """The manifest of a run this package finished in ``folder`` (a dict with ``command`` and
    ``files``), or None when ``folder`` holds no readable manifest of ours."""
    try:
        manifest = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not (isinstance(manifest, dict) and manifest.get("format") == FORMAT
            and isinstance(manifest.get("command"), str) and isinstance(manifest.get("files"), list)
            and all(isinstance(f, str) for f in manifest["files"])):
        return None
    return manifest


def is_finished_run(folder) -> bool:
    """True if ``folder`` holds a run this package finished (a readable ``run.json`` manifest)."""
    return read_manifest(folder) is not None


def foreign_files(folder, manifest: dict | None = None) -> list[str]:
    """What ``folder`` holds that the run of ``manifest`` (default: the folder's own) did not write,
    as paths relative to ``folder``: files not named in the manifest, symbolic links, folders that
    hold none of its files (named once, not their contents). Everything, if there is no manifest."""
    folder = Path(folder)
    manifest = read_manifest(folder) if manifest is None else manifest
    ours = set() if manifest is None else set(manifest["files"]) | {MANIFEST}
    dirs = {parent.as_posix() for name in ours for parent in Path(name).parents} - {"."}
    foreign = []
    for root, subdirs, files in os.walk(folder):   # does not follow links to folders
        rel = Path(root).relative_to(folder)
        for d in sorted(subdirs):
            path = (rel / d).as_posix()
            if os.path.islink(os.path.join(root, d)) or path not in dirs:
                foreign.append(path + ("" if os.path.islink(os.path.join(root, d)) else "/"))
        subdirs[:] = [d for d in subdirs if (rel / d).as_posix() in dirs and not os.path.islink(os.path.join(root, d))]
        foreign += [(rel / f).as_posix() for f in sorted(files)
                    if (rel / f).as_posix() not in ours or os.path.islink(os.path.join(root, f))]
    return sorted(foreign)


def _named(paths: list[str]) -> str:
    shown = ", ".join(paths[:SHOWN])
    return shown + (f" and {len(paths) - SHOWN} more" if len(paths) > SHOWN else "")


def check_out(out, overwrite: bool = False, command: str | None = None, option: str = "--out") -> Path:
    """Validate the output folder before any work; returns the folder the run will replace (a symbolic
    link's target). ``command`` is the command about to write (None: any finished run counts as ours);
    ``option`` names the folder in messages (``--out``, or ``OUT`` for a positional argument).
    Raises UsageError (or OSError)."""
    if not isinstance(out, (str, os.PathLike)) or str(out).strip() == "":
        raise UsageError(f"{option} must name a folder, got {str(out)!r}")
    given = out = Path(out)
    if out.is_symlink():   # follow it: the link stays, its target receives the run
        target = Path(os.path.realpath(out))
        if not target.exists():
            raise UsageError(f"{option}: {given} is a symbolic link to {target}, which does not exist")
        out = target
    if out.name in ("", ".", ".."):  # the current folder, its parent or the root: not a folder of its own
        raise UsageError(f"{option} must name a folder of its own (the run is renamed onto it), got {str(given)!r}")
    cwd = Path.cwd().resolve()
    if out.exists() and (out.resolve() == cwd or out.resolve() in cwd.parents):
        raise UsageError(f"{option}: {given} is the current folder or contains it; the run is renamed onto "
                         f"{option} at the end, so name a new folder (e.g. {option} site-build)")
    if out.exists():
        if not out.is_dir():
            raise UsageError(f"{option}: {given} exists and is not a folder")
        if any(out.iterdir()):
            manifest = read_manifest(out)
            if manifest is None:
                raise UsageError(f"{option}: {given} is a non-empty folder that is not a finished run of this "
                                 f"command (it holds {_named(foreign_files(out, {'files': []}))}); choose a new or "
                                 "empty folder (nothing was written)")
            if command is not None and manifest["command"] != command:
                raise UsageError(f"{option}: {given} holds a finished `{manifest['command']}` run, not a "
                                 f"`{command}` run; choose another folder (nothing was written)")
            foreign = foreign_files(out, manifest)
            if foreign:
                raise UsageError(f"{option}: {given} holds files the earlier run did not write: {_named(foreign)}; "
                                 "move them out or choose a new folder (nothing was written or deleted)")
            if not overwrite:
                raise UsageError(f"{option}: {given} holds a finished run; pass --overwrite to replace it "
                                 "as a whole, or choose a new folder")
    for parent in out.absolute().parents:  # the first existing ancestor must be a folder
        if parent.exists():
            if not parent.is_dir():
                raise UsageError(f"{option}: {given} lies under {parent}, which is a file, not a folder")
            break
    return out


# --- leftovers of killed runs ----------------------------------------------------------------------
def _owner_alive(pid: int, folder: Path) -> bool:
    """Whether the process that made ``folder`` (``pid``, from its name) may still be writing it."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        pass    # someone else's process: alive
    if fcntl is None or pid == os.getpid():
        return True
    try:   # alive, but is it still the owner? The owner holds a lock; a reused id does not
        if time.time() - folder.stat().st_mtime < STALE_AFTER:
            return True     # just made: its owner may not have locked it yet
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True         # locked: the owner is at work
    finally:
        os.close(fd)
    return False


def remove_stale(parent, name: str) -> list[Path]:
    """Delete the temporary folders of runs onto ``parent/name`` whose process is gone (killed with
    SIGKILL, a crash of the machine); returns them. A folder counts as ours only by its exact name
    pattern ``.NAME.partial-PID-XXXX`` (or ``.NAME.old-PID-XXXX``, an old run being replaced)."""
    pattern = re.compile(rf"\.{re.escape(name)}\.(?:partial|old)-(\d+)-[A-Za-z0-9_]+")
    removed = []
    try:
        entries = list(Path(parent).iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match and entry.is_dir() and not entry.is_symlink() and not _owner_alive(int(match.group(1)), entry):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


class RunFolder:
    """Context manager: ``run.tmp`` is the folder to write into; on success it becomes ``run.out``.

    Entering checks ``out`` (:func:`check_out`), removes leftovers of killed runs beside it
    (:func:`remove_stale`) and creates the temporary folder (so a read-only or unusable place fails
    before any training). Leaving without an exception writes the manifest and renames the folder into
    place; leaving with one (including KeyboardInterrupt) deletes it. ``option`` names the folder in
    messages (``--out``, or ``OUT`` for a positional argument).
    """

    def __init__(self, out, command: str, overwrite: bool = False, option: str = "--out"):
        self.command, self.overwrite, self.option, self.tmp, self._lock = command, bool(overwrite), option, None, None
        self.out = check_out(out, overwrite, command, option)

    def __enter__(self) -> "RunFolder":
        parent = self.out.absolute().parent
        parent.mkdir(parents=True, exist_ok=True)
        remove_stale(parent, self.out.name)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.partial-{os.getpid()}-", dir=parent))
        try:  # a Ctrl-C right here must not leave the folder behind (__exit__ does not run for __enter__)
            if fcntl is not None:   # held until the run ends; the kernel drops it when the process dies
                self._lock = os.open(self.tmp, os.O_RDONLY)
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            umask = os.umask(0o022)
            os.umask(umask)
            os.chmod(self.tmp, 0o777 & ~umask)  # as a plain mkdir would (mkdtemp makes it private)
        except BaseException:
            self._unlock()
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise
        return self

    def _unlock(self):
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is not None:
                shutil.rmtree(self.tmp, ignore_errors=True)
                return False
            try:
                self._finish()
            except BaseException:
                shutil.rmtree(self.tmp, ignore_errors=True)
                raise
            return False
        finally:
            self._unlock()

    def _finish(self):
        files = sorted(p.relative_to(self.tmp).as_posix() for p in self.tmp.rglob("*") if p.is_file())
        atomic_write_text(self.tmp / MANIFEST, json.dumps(
            {"format": FORMAT, "version": 1, "command": self.command, "files": files}, indent=2) + "\n")
        check_out(self.out, self.overwrite, self.command, self.option)  # nobody filled it meanwhile
        old = None
        if self.out.is_dir():
            if any(self.out.iterdir()):  # our finished run, and overwrite=True: move it aside first
                old = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.old-{os.getpid()}-",
                                            dir=self.out.absolute().parent))
                os.replace(self.out, old / "run")
            else:
                self.out.rmdir()
        os.replace(self.tmp, self.out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


# --- memory: every accepted job stays under MEMORY_LIMIT ------------------------------------------
MEMORY_LIMIT = 2**30          # bytes (1 GiB) for any accepted job: the whole process, as `top` shows it
BATCH_MEMORY = 2**28          # bytes (256 MiB) per sampling batch
# Peak bytes per sample and atom pair (N^2) while sampling, measured with tracemalloc (a few
# structures of 16-64 atoms): pairwise ~4.9 kB (pair features and hidden layers (B, N, N, 48)),
# joint ~21 kB (conditional and unconditional passes at once); the per-atom MLP has no pairs (~0.2 kB).
# Peak RSS of whole `generate` processes agrees (benchmarks/bench_memory.py): 5.1-5.3 kB per pair for
# pairwise batches of 5-10 structures of 64 atoms.
BYTES_PER_PAIR = {"pairwise": 6_000, "joint": 24_000, "mlp": 200}
BYTES_PER_SAMPLE = 4_000      # a Crystal (~2.7 kB measured) and its CIF text and report entries
BYTES_PER_ATOM = 3_000        # the pymatgen Structure the report builds for every sample (~2.3 kB per site measured)
EVAL_BYTES_PER_PAIR = 200     # physics' d_min check: ~170 B per pair measured, in chunks of 2^20 pairs
EVAL_CHUNK_PAIRS = 2**20
# The process before any job: Python, NumPy, pymatgen, ASE, spglib, the model and its reference
# structures. Peak RSS of `generate` for the smallest job (measured 2026-12-07 with bench_memory.py):
# pairwise 1 atom x 1 sample 99 MiB, joint 2 atoms x 1 sample 149 MiB (it also loads its training
# set); without this term the estimate was 1.5-6x below the measured peak (issue 27.12).
BASE_BYTES = {"pairwise": 128 * 2**20, "mlp": 128 * 2**20, "joint": 192 * 2**20}


def sample_batch_size(model: str, n_atoms: int) -> int:
    """Structures sampled at once so that one batch needs at most BATCH_MEMORY (a fixed rule of the
    model and atom count, so the same command samples the same batches and writes the same bytes)."""
    check_choice("model", model, tuple(BYTES_PER_PAIR))
    n_atoms = check_int("n_atoms", n_atoms, 1, 10_000)  # generate allows 64; the rule holds far beyond
    return int(max(1, min(MAX_SAMPLES, BATCH_MEMORY // (BYTES_PER_PAIR[model] * n_atoms * n_atoms))))


def memory_estimate(model: str, n_atoms: int, n_samples: int) -> int:
    """Peak bytes of a ``generate`` process: the process itself (imports), one sampling batch, the
    samples kept (as Crystals and as the pymatgen Structures of the report) and one chunk of the
    distance check. The rule, from the measured constants above:
    base_model + batch * c_model * N^2 + S * (4 kB + 3 kB * N) + 200 B * min(S N^2, 2^20).
    benchmarks/bench_memory.py measures the peak RSS of real runs against it (1.2-1.4x margin)."""
    n_samples = check_int("n_samples", n_samples, 1, MAX_SAMPLES)
    batch = min(n_samples, sample_batch_size(model, n_atoms))
    return int(
        BASE_BYTES[model]
        + batch * BYTES_PER_PAIR[model] * n_atoms**2
        + n_samples * (BYTES_PER_SAMPLE + BYTES_PER_ATOM * n_atoms)
        + min(n_samples * n_atoms**2, EVAL_CHUNK_PAIRS) * EVAL_BYTES_PER_PAIR
    )


def check_memory(model: str, n_atoms: int, n_samples: int) -> int:
    """Refuse (UsageError, with the estimate) a job whose :func:`memory_estimate` exceeds MEMORY_LIMIT."""
    need = memory_estimate(model, n_atoms, n_samples)
    if need > MEMORY_LIMIT:
        raise UsageError(
            f"--n-samples {n_samples} with --n-atoms {n_atoms} would need about {need / 2**30:.1f} GiB "
            f"of memory, more than the {MEMORY_LIMIT / 2**30:g} GiB allowed; ask for fewer samples or atoms"
        )
    return need


def sample_in_batches(sample, n_samples: int, batch: int, log=None) -> list:
    """``sample(k)`` returns k Crystals; call it for batches of at most ``batch`` until ``n_samples``."""
    n_samples = check_int("n_samples", n_samples, 0, MAX_SAMPLES)
    batch = check_int("batch", batch, 1, MAX_SAMPLES)
    out = []
    while len(out) < n_samples:
        out.extend(sample(min(batch, n_samples - len(out))))
        if log is not None and n_samples > batch:
            log(f"sampled {len(out)}/{n_samples}")
    return out
