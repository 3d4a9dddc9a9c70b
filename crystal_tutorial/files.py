"""Atomic file writes: every file the package writes goes through here.

A write that fails halfway (disk full, ``ulimit -f``, Ctrl-C) must never destroy the good file that
was there before. So each writer writes a temporary file in the same folder (same file system, so
the rename is atomic on POSIX and Windows) and renames it onto the final path only once the data
is complete and flushed. Readers see the old file or the new one, never half of one.

    atomic_write_text(path, json.dumps(summary))
    atomic_write_bytes(path, data)
    with atomic_path(path) as tmp:   # for libraries that want a path: np.savez, ase.io.write, savefig
        np.savez(tmp, **arrays)
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from .checks import check_path


def _set_mode(tmp: Path, path: Path) -> None:
    """Give the temporary file the mode a plain ``open(path, "w")`` would: the old file's, else
    0o666 minus the umask (mkstemp makes it 0o600, readable by its owner only)."""
    try:
        mode = path.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0o022)
        os.umask(umask)
        mode = 0o666 & ~umask
    os.chmod(tmp, mode)


@contextlib.contextmanager
def atomic_path(path, suffix: str | None = None):
    """Yield a temporary path beside ``path``; on success rename it onto ``path``, else delete it.

    ``suffix`` (default: ``path``'s own suffix) is kept so that writers that choose a format by
    extension (``np.savez`` adds ``.npz`` when it is missing, ASE and matplotlib read the extension)
    write the right format to the temporary file.
    """
    path = check_path("path", path)
    folder = path.parent
    if not folder.is_dir():
        raise FileNotFoundError(f"cannot write {path}: folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix if suffix is None else suffix,
                               dir=folder)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        _set_mode(tmp, path)
        with open(tmp, "rb+") as fh:  # the data is on disk before the rename makes it visible
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    with atomic_path(path) as tmp:
        tmp.write_bytes(bytes(data))
    return Path(path)


def atomic_write_text(path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8, ``\\n`` line ends on every platform); returns the path."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return atomic_write_bytes(path, text.encode(encoding))
