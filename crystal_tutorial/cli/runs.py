"""Output folders of the command line: a run is complete or absent, never mixed with another one.

``demo`` and ``generate`` build their files in a hidden temporary folder beside ``--out``
(``.NAME.partial-XXXX``, same file system) and rename it onto ``--out`` only when every file is
written. A finished run carries a small manifest, ``run.json``, that names the command and its files;
that is how a later command tells its own finished runs from anything else:

* ``--out`` missing or an empty folder: the run goes there;
* ``--out`` holds a finished run (``run.json``): refused, unless ``overwrite=True`` (``--overwrite``),
  which replaces the whole folder at the end (the old run stays intact until the new one is complete);
* ``--out`` holds anything else: refused, even with ``--overwrite`` (we never delete files we did not write);
* an exception or Ctrl-C while the run is built deletes the temporary folder: ``--out`` is unchanged.

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
import shutil
import tempfile
from pathlib import Path

from ..checks import check_choice, check_int
from ..files import atomic_write_text

MANIFEST = "run.json"
MAX_SAMPLES = 10_000
FORMAT = "crystal_tutorial run"


class UsageError(ValueError, SystemExit):
    """A command-line option is wrong (value, combination, or ``--out``); the message names the option.

    ``main()`` prints ``PROG CMD: error: MESSAGE`` on one line and exits with status 2 (as argparse does).
    It is a ValueError (the package's convention for bad arguments) and also a SystemExit, so code that
    caught the command functions' earlier ``SystemExit`` keeps working, and a script that calls
    ``run_generate`` directly ends with the message instead of a traceback.
    """


def is_finished_run(folder) -> bool:
    """True if ``folder`` holds a run this package finished (a readable ``run.json`` manifest)."""
    try:
        manifest = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("format") == FORMAT


def check_out(out, overwrite: bool = False) -> Path:
    """Validate ``--out`` before any work; returns it as a Path. Raises UsageError (or OSError)."""
    if not isinstance(out, (str, os.PathLike)) or str(out).strip() == "":
        raise UsageError(f"--out must name a folder, got {str(out)!r}")
    out = Path(out)
    if out.name in ("", ".", ".."):  # the current folder, its parent or the root: not a folder of its own
        raise UsageError(f"--out must name a folder of its own (the run is renamed onto it), got {str(out)!r}")
    if out.exists() or out.is_symlink():
        if not out.is_dir():
            raise UsageError(f"--out: {out} exists and is not a folder")
        if any(out.iterdir()):
            if not is_finished_run(out):
                raise UsageError(f"--out: {out} is a non-empty folder that is not a finished run of this "
                                 "command; choose a new folder (nothing was written)")
            if not overwrite:
                raise UsageError(f"--out: {out} holds a finished run; pass --overwrite to replace it "
                                 "as a whole, or choose a new folder")
    for parent in out.absolute().parents:  # the first existing ancestor must be a folder
        if parent.exists():
            if not parent.is_dir():
                raise UsageError(f"--out: {out} lies under {parent}, which is a file, not a folder")
            break
    return out


class RunFolder:
    """Context manager: ``run.tmp`` is the folder to write into; on success it becomes ``run.out``.

    Entering checks ``out`` (:func:`check_out`) and creates the temporary folder (so a read-only or
    unusable place fails before any training). Leaving without an exception writes the manifest and
    renames the folder into place; leaving with one (including KeyboardInterrupt) deletes it.
    """

    def __init__(self, out, command: str, overwrite: bool = False):
        self.out = check_out(out, overwrite)
        self.command, self.overwrite, self.tmp = command, bool(overwrite), None

    def __enter__(self) -> "RunFolder":
        parent = self.out.absolute().parent
        parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.partial-", dir=parent))
        try:  # a Ctrl-C right here must not leave the folder behind (__exit__ does not run for __enter__)
            umask = os.umask(0o022)
            os.umask(umask)
            os.chmod(self.tmp, 0o777 & ~umask)  # as a plain mkdir would (mkdtemp makes it private)
        except BaseException:
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return False
        try:
            self._finish()
        except BaseException:
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise
        return False

    def _finish(self):
        files = sorted(p.relative_to(self.tmp).as_posix() for p in self.tmp.rglob("*") if p.is_file())
        atomic_write_text(self.tmp / MANIFEST, json.dumps(
            {"format": FORMAT, "version": 1, "command": self.command, "files": files}, indent=2) + "\n")
        check_out(self.out, self.overwrite)  # nobody filled --out meanwhile
        old = None
        if self.out.is_dir():
            if any(self.out.iterdir()):  # our finished run, and overwrite=True: move it aside first
                old = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.old-", dir=self.out.absolute().parent))
                os.replace(self.out, old / "run")
            else:
                self.out.rmdir()
        os.replace(self.tmp, self.out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


# --- memory: every accepted job stays under MEMORY_LIMIT ------------------------------------------
MEMORY_LIMIT = 2**30          # bytes (1 GiB) for any accepted job
BATCH_MEMORY = 2**28          # bytes (256 MiB) per sampling batch
# Peak bytes per sample and atom pair (N^2) while sampling, measured with tracemalloc (a few
# structures of 16-64 atoms): pairwise ~4.9 kB (pair features and hidden layers (B, N, N, 48)),
# joint ~21 kB (conditional and unconditional passes at once); the per-atom MLP has no pairs (~0.2 kB).
BYTES_PER_PAIR = {"pairwise": 6_000, "joint": 24_000, "mlp": 200}
BYTES_PER_SAMPLE = 4_000      # a Crystal (~2.7 kB measured) and its CIF text and report entries
BYTES_PER_ATOM = 3_000        # the pymatgen Structure the report builds for every sample (~2.3 kB per site measured)
EVAL_BYTES_PER_PAIR = 200     # physics' d_min check: ~170 B per pair measured, in chunks of 2^20 pairs
EVAL_CHUNK_PAIRS = 2**20


def sample_batch_size(model: str, n_atoms: int) -> int:
    """Structures sampled at once so that one batch needs at most BATCH_MEMORY (a fixed rule of the
    model and atom count, so the same command samples the same batches and writes the same bytes)."""
    check_choice("model", model, tuple(BYTES_PER_PAIR))
    n_atoms = check_int("n_atoms", n_atoms, 1, 10_000)  # generate allows 64; the rule holds far beyond
    return int(max(1, min(MAX_SAMPLES, BATCH_MEMORY // (BYTES_PER_PAIR[model] * n_atoms * n_atoms))))


def memory_estimate(model: str, n_atoms: int, n_samples: int) -> int:
    """Peak bytes of a ``generate`` job: one sampling batch, the samples kept (as Crystals and as the
    pymatgen Structures of the report) and one chunk of the distance check. The rule, from the
    measured constants above: batch * c_model * N^2 + S * (4 kB + 3 kB * N) + 200 B * min(S N^2, 2^20)."""
    n_samples = check_int("n_samples", n_samples, 1, MAX_SAMPLES)
    batch = min(n_samples, sample_batch_size(model, n_atoms))
    return int(batch * BYTES_PER_PAIR[model] * n_atoms ** 2 + n_samples * (BYTES_PER_SAMPLE + BYTES_PER_ATOM * n_atoms)
               + min(n_samples * n_atoms ** 2, EVAL_CHUNK_PAIRS) * EVAL_BYTES_PER_PAIR)


def check_memory(model: str, n_atoms: int, n_samples: int) -> int:
    """Refuse (UsageError, with the estimate) a job whose :func:`memory_estimate` exceeds MEMORY_LIMIT."""
    need = memory_estimate(model, n_atoms, n_samples)
    if need > MEMORY_LIMIT:
        raise UsageError(f"--n-samples {n_samples} with --n-atoms {n_atoms} would need about {need / 2**30:.1f} GiB "
                         f"of memory, more than the {MEMORY_LIMIT / 2**30:g} GiB allowed; ask for fewer samples or atoms")
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
