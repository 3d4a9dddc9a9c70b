"""Weights on disk: one checkpoint format, one writer (:func:`save`) and one reader (:func:`load`) for every model.

An ``.npz`` file is a zip archive of ``.npy`` files. We write it ourselves (uncompressed, as ``np.savez``
does) with a fixed timestamp, so the same weights give the same bytes, through ``files.atomic_path`` (a
failed save never destroys the previous file). We read it with :class:`NpzReader`, which checks every
member's ``.npy`` header (name, dtype, shape) before reading any data, so a damaged or hostile file (a
text file renamed .npz, a truncated download, a small file whose member inflates to gigabytes) is
refused with one clear ValueError; the benchmark data loaders read their arrays through it too.

A checkpoint holds ``config`` (one JSON string: ``{"model": architecture, "train": training config,
"extra": ...}``) and ``weights/NAME`` (one float array per parameter). ``save_weights`` /
``load_weights`` store the bare parameter arrays of a module whose shape the caller knows (notebook 03).
"""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from .nn import Module

__all__ = ["save", "load", "save_weights", "load_weights", "write_npz", "NpzReader"]

MAX_ARRAY_BYTES = 64 * 2**20   # no model here comes near (the largest, the joint model, has ~45k parameters)
MAX_CONFIG_CHARS = 2**16       # the JSON metadata of a checkpoint is a few hundred characters
MAX_CONFIG_INT = 4096          # widths, frequencies and steps in a checkpoint's architecture stay below this
_SIZE_KEYS = ("sizes", "hidden", "n_freq", "n_rbf", "embed", "vocab", "cond_dim")  # metadata that sets array sizes
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date zip can store: no clock in the file


def _npz_path(path) -> Path:
    path = Path(path)
    return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")


def write_npz(path, arrays: dict) -> Path:
    """Write ``{name: array}`` as an uncompressed ``.npz`` (no pickle), atomically and byte-reproducibly."""
    import zipfile

    from .files import atomic_path
    path = _npz_path(path)
    with atomic_path(path) as tmp:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
            for name, value in arrays.items():
                info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_DATE)
                info.external_attr = 0o644 << 16
                with zf.open(info, "w", force_zip64=True) as fh:
                    np.lib.format.write_array(fh, np.asanyarray(value), allow_pickle=False)
    return path


def _read_header(fh):
    """(shape, dtype) from an open .npy stream, reading the header only (no data, no pickle)."""
    version = np.lib.format.read_magic(fh)
    read = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}.get(version)
    if read is None:
        raise ValueError(f"unsupported .npy format version {version}")
    shape, _, dtype = read(fh, max_header_size=10_000)
    return shape, dtype


class NpzReader:
    """The members of an .npz file by name, headers first: ``headers[name] = (shape, dtype)``, then ``read(name)``."""

    def __init__(self, path, what: str):
        import zipfile
        self.path, self.what = Path(path), what
        if not self.path.is_file():
            raise FileNotFoundError(f"no weights file at {self.path}")
        try:
            self.zip = zipfile.ZipFile(self.path)
            self.members = {i.filename[:-4]: i for i in self.zip.infolist() if i.filename.endswith(".npy")}
            if len(self.members) != len(self.zip.infolist()):
                raise ValueError("it holds members that are not .npy arrays")
            self.headers = {}
            for name, info in self.members.items():
                with self.zip.open(info) as fh:
                    self.headers[name] = _read_header(fh)
        except Exception as exc:  # zipfile.BadZipFile, EOFError, zlib.error, OSError, ValueError, ...
            self.fail(f"{type(exc).__name__}: {exc}" if not isinstance(exc, ValueError) else str(exc))

    def fail(self, reason):
        raise ValueError(f"{self.path} is not a {self.what} file: {reason}") from None

    def check_float(self, name, shape=None):
        """Refuse (before reading) an array that is not a float array of ``shape`` or is too large."""
        got, dtype = self.headers[name]
        if dtype.kind != "f" or dtype.itemsize > 8:
            self.fail(f"array {name!r} has dtype {dtype}, expected float32 or float64 "
                      "(other arrays would need pickle, which can run code: refused)")
        nbytes = int(np.prod(got, dtype=np.float64)) * dtype.itemsize
        if nbytes > MAX_ARRAY_BYTES:
            self.fail(f"array {name!r} of shape {got} would need {nbytes / 2**20:.0f} MiB, more than any model "
                      f"here ({MAX_ARRAY_BYTES // 2**20} MiB); refused before reading it")
        if shape is not None and tuple(got) != tuple(shape):
            return f"{name}: file {tuple(got)}, model {tuple(shape)}"
        return None

    def read(self, name):
        try:
            with self.zip.open(self.members[name]) as fh:
                return np.lib.format.read_array(fh, allow_pickle=False)
        except Exception as exc:  # a member cut short or corrupted after its header
            self.fail(f"array {name!r} cannot be read ({type(exc).__name__}: {exc})")

    def close(self):
        self.zip.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _copy_in(reader: NpzReader, params: dict, names: dict, module) -> None:
    """Check the file's arrays ``names`` (file name -> parameter name) against ``params``, then copy them in."""
    inverse = {v: k for k, v in names.items()}
    missing, extra = sorted(set(params) - set(inverse)), sorted(set(inverse) - set(params))
    wrong = [w for k in params if k in inverse for w in [reader.check_float(inverse[k], params[k].shape)] if w]
    problems = [f"{what} {items}" for what, items in
                (("missing", missing), ("unexpected", extra), ("shape mismatch", wrong)) if items]
    if problems:
        raise ValueError(f"weights in {reader.path} do not fit {module!r}: {'; '.join(problems)}")
    arrays = {k: reader.read(inverse[k]) for k in params}   # every check passed: now read the data
    for k, p in params.items():
        p[...] = arrays[k]


def save_weights(path, module: Module) -> Path:
    """Save ``module.parameters()`` to an ``.npz`` file (".npz" is appended if missing); atomic."""
    return write_npz(path, module.parameters())


def load_weights(path, module: Module) -> Module:
    """Copy the arrays of an ``.npz`` file into ``module``'s parameters (in place; no pickle).

    Raises ValueError naming the file and every missing, unexpected or wrongly shaped array (checked
    from the array headers before any data is read); nothing is changed then.
    """
    with NpzReader(path, "weights") as reader:
        for name in reader.headers:
            reader.check_float(name)
        _copy_in(reader, module.parameters(), {k: k for k in reader.headers}, module)
    return module


def save(path, model: Module, config=None, extra: dict | None = None, dtype=np.float64) -> Path:
    """Save any model of the package in one ``.npz``: its weights, its architecture, its training config.

    The one writer for every model (per-atom MLP, pairwise, joint, CSP): ``model.config()`` (the
    constructor arguments), ``config`` (a dataclass such as ``TorusConfig``, or None) and ``extra``
    (a dict of JSON values, such as the steps trained) go into one JSON string, so loading needs no
    pickle. ``dtype=np.float32`` halves the file (the shipped weights use it); loading casts back to
    float64. ".npz" is appended to ``path`` when missing; the path written is returned. The write is
    atomic (a failed save leaves the old file) and reproducible (same weights and config, same bytes).
    """
    if not isinstance(model, Module) or not callable(getattr(model, "config", None)):
        raise TypeError(f"model must be a Module with a config() method, got {type(model).__name__}")
    meta = {"model": model.config(), "train": asdict(config) if config is not None else None}
    if extra is not None:
        if not isinstance(extra, dict):
            raise TypeError(f"extra must be a dict of JSON values or None, got {type(extra).__name__}")
        meta["extra"] = extra
    arrays = {f"weights/{k}": np.asarray(v).astype(dtype) for k, v in model.parameters().items()}
    return write_npz(path, {"config": np.array(json.dumps(meta)), **arrays})


def _check_meta_sizes(value, where="config"):
    """Refuse architecture numbers no model here uses, before ``build`` allocates weights of that size."""
    if isinstance(value, dict):
        for k, v in value.items():
            _check_meta_sizes(v, f"{where}.{k}")
    elif isinstance(value, list):
        if len(value) > MAX_CONFIG_INT:
            raise ValueError(f"{where} lists {len(value)} entries, more than {MAX_CONFIG_INT}")
        for v in value:
            _check_meta_sizes(v, where)
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_CONFIG_INT:
        raise ValueError(f"{where} = {value} is larger than any model here uses (<= {MAX_CONFIG_INT})")


def load(path, model_class=None, what: str = "checkpoint", build=None):
    """Read a file written by :func:`save`: ``(model, meta)``, the model rebuilt with the file's weights.

    The one reader for every model. The model is ``model_class(**meta["model"])`` (or ``build(meta)``,
    for files of another layout); ``meta`` is the file's JSON metadata: ``meta["model"]`` the
    architecture, ``meta["train"]`` the training config as a dict (or None), ``meta.get("extra")``.
    A missing file raises FileNotFoundError; a file that is not such a checkpoint (not a zip,
    truncated, empty, other arrays, too large, ...), or whose arrays do not fit the model, raises
    ValueError naming the file and what is wrong. Names, dtypes and shapes are checked from the array
    headers before any array data is read.
    """
    if (model_class is None) == (build is None):
        raise TypeError("load needs exactly one of model_class (a Module class) or build (a function of meta)")
    if build is None:
        def build(meta):
            return model_class(**meta["model"])
    with NpzReader(path, what) as reader:
        if "config" not in reader.headers:
            reader.fail("it has no 'config' array (JSON metadata)")
        shape, dtype = reader.headers["config"]
        if shape != () or dtype.kind != "U" or dtype.itemsize // 4 > MAX_CONFIG_CHARS:
            reader.fail(f"its 'config' is {dtype}{list(shape)}, expected one JSON string")
        weights = [k for k in reader.headers if k.startswith("weights/")]
        extra = sorted(set(reader.headers) - set(weights) - {"config"})
        if extra:
            reader.fail(f"unexpected arrays {extra}")
        for name in weights:
            reader.check_float(name)
        try:
            meta = json.loads(str(reader.read("config")))
            if not isinstance(meta, dict):
                raise ValueError(f"its metadata is a {type(meta).__name__}, expected a JSON object")
            sizes = meta["model"] if isinstance(meta.get("model"), dict) else meta
            _check_meta_sizes({k: v for k, v in sizes.items() if k in _SIZE_KEYS})
            module = build(meta)
        except (KeyError, TypeError, ValueError, MemoryError) as exc:
            reader.fail(f"{type(exc).__name__}: {exc}")
        _copy_in(reader, module.parameters(), {k: k[len("weights/"):] for k in weights}, module)
    return module, meta
