"""files.py: atomic writes keep the old file when a write fails and leave no temporary files."""
import os

import numpy as np
import pytest

from crystal_tutorial.files import atomic_path, atomic_write_bytes, atomic_write_text


def test_write_text_and_bytes(tmp_path):
    p = atomic_write_text(tmp_path / "a.json", '{"x": 1}\n')
    assert p.read_text() == '{"x": 1}\n'
    atomic_write_bytes(tmp_path / "b.bin", b"\x00\x01")
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert sorted(os.listdir(tmp_path)) == ["a.json", "b.bin"]


def test_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "model.npz"
    np.savez(path, w=np.ones(3))
    before = path.read_bytes()
    with pytest.raises(RuntimeError):
        with atomic_path(path) as tmp:
            np.savez(tmp, w=np.zeros(3))
            raise RuntimeError("disk full")
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.npz"]


def test_savez_through_atomic_path_keeps_the_name(tmp_path):
    path = tmp_path / "w.npz"
    with atomic_path(path) as tmp:
        assert tmp.suffix == ".npz" and tmp.parent == tmp_path
        np.savez(tmp, w=np.arange(3.0))
    assert np.array_equal(np.load(path)["w"], np.arange(3.0))
    assert os.listdir(tmp_path) == ["w.npz"]


def test_bad_arguments(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        atomic_write_text(tmp_path / "missing" / "x.txt", "x")
    with pytest.raises(ValueError, match="must name a file"):
        atomic_write_text("", "x")
    with pytest.raises(TypeError, match="text must be a str"):
        atomic_write_text(tmp_path / "x.txt", b"x")
    with pytest.raises(TypeError, match="data must be bytes"):
        atomic_write_bytes(tmp_path / "x.bin", "x")
