"""Argument checks shared by every module, and the batching helpers of ``physics`` and ``metrics``.

One home for argument checks, so that the same mistake gets the same exception and the same words
everywhere:

- ``TypeError`` when the *type* is wrong: a string, ``None``, a bool or a complex number where a
  number belongs, a list where a Crystal belongs, an array of strings or booleans;
- ``ValueError`` when the type is right but the *value* is not: out of range, NaN or infinite, a
  fraction where a whole number belongs, an array of the wrong shape.

Every message names the argument, what it got and what it expects: ``n_atoms must be an integer
in 1..64, got 2.5``. Each check returns the value converted (``int``, ``float``, a float64 array),
validated *before* it is converted, so that 1e30 is reported as 1e+30 and not as whatever an
integer conversion makes of it.
"""
from __future__ import annotations

import math
import os
from numbers import Integral, Real
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # crystals imports this module: Crystal is imported where a check needs it
    from .crystals import Crystal

LATTICE_TOL = 1e-3  # Å: lattices closer than this count as the same cell
NOT_NUMBERS = {bool, np.bool_, str, bytes, complex, type(None)}  # entry types that are never real numbers
MAX_CONFIG_INT = 10**9  # largest integer field of a config (steps, widths, batch sizes)
SEED_MAX = 2**63 - 1  # the largest seed every command accepts (one rule for demo, generate, benchmark)


def describe(value) -> str:
    """``value``'s type and a short repr, for messages: ``str '4'``, ``NoneType None``, ``bool True``."""
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _scalar(value):
    """A 0-d NumPy array as its scalar (``np.float64(2.0)`` passes as a number), anything else unchanged."""
    return value[()] if isinstance(value, np.ndarray) and value.ndim == 0 else value


def _is_real(value) -> bool:
    """A real number that is not a bool (True is not the number 1 here)."""
    return isinstance(value, Real) and not isinstance(value, (bool, np.bool_))


def _bounds_text(low, high, low_open=False, high_open=False, integer=False) -> str:
    if integer:
        if low is not None and high is not None:
            return f"an integer in {low}..{high}"
        if low is not None:
            return f"an integer >= {low}"
        return f"an integer <= {high}" if high is not None else "an integer"
    if low is not None and high is not None:
        return f"a number in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if low is not None:
        return f"a finite number {'>' if low_open else '>='} {low:g}"
    if high is not None:
        return f"a finite number {'<' if high_open else '<='} {high:g}"
    return "a finite number"


def check_int(name: str, value, low: int | None = None, high: int | None = None) -> int:
    """``value`` as an ``int`` if it is a whole number in ``low..high`` (either bound may be None).

    TypeError for a string, None, a bool, a complex number or any other non-number; ValueError for
    NaN, infinity, a fraction (2.5) or a value outside the bounds. A float that is whole (4.0) passes.
    """
    value = _scalar(value)
    expected = _bounds_text(low, high, integer=True)
    if not _is_real(value):
        raise TypeError(f"{name} must be {expected}, got {describe(value)}")
    if not isinstance(value, Integral):
        try:
            as_float = float(value)
        except OverflowError:  # a Fraction beyond float range
            raise ValueError(f"{name} must be {expected}, got {_short(value)}") from None
        if not math.isfinite(as_float) or as_float != math.floor(as_float):
            raise ValueError(f"{name} must be {expected} (a whole number), got {_short(value)}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name} must be {expected}, got {_short(value)}")
    return int(value)


def check_number(name: str, value, low: float | None = None, high: float | None = None, *,
                 low_open: bool = False, high_open: bool = False) -> float:
    """``value`` as a finite ``float`` within the bounds (closed unless ``low_open`` / ``high_open``).

    TypeError for a string, None, a bool, a complex number or any other non-number; ValueError for
    NaN, infinity, a number too large for a float, or a value outside the bounds.
    """
    value = _scalar(value)
    expected = _bounds_text(low, high, low_open, high_open)
    if not _is_real(value):
        raise TypeError(f"{name} must be {expected}, got {describe(value)}")
    try:
        as_float = float(value)
    except OverflowError:  # an int of 400 digits
        raise ValueError(f"{name} must be {expected}, got {_short(value)} (too large for a float)") from None
    if (not math.isfinite(as_float)
            or (low is not None and (as_float <= low if low_open else as_float < low))
            or (high is not None and (as_float >= high if high_open else as_float > high))):
        raise ValueError(f"{name} must be {expected}, got {_short(value)}")
    return as_float


def check_positive(name: str, value, upper: float | None = None) -> float:
    """``value`` as a float if it is a finite number > 0 (and <= ``upper``)."""
    return check_number(name, value, 0, upper, low_open=True)


def check_bool(name: str, value) -> bool:
    """``value`` if it is True or False (a NumPy bool too); a TypeError otherwise (1 and "yes" are not)."""
    value = _scalar(value)
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {describe(value)}")
    return bool(value)


def check_rng(name: str, value) -> np.random.Generator:
    """``value`` if it is a ``np.random.Generator``; a TypeError otherwise."""
    if not isinstance(value, np.random.Generator):
        raise TypeError(f"{name} must be a np.random.Generator (e.g. np.random.default_rng(0)), "
                        f"got {describe(value)}")
    return value


def check_instance(name: str, value, cls, hint: str = ""):
    """``value`` if it is an instance of ``cls`` (a class or a tuple of classes), else a TypeError.

    ``hint`` says where a right value comes from, e.g. "joint_diffusion.load_joint()".
    """
    if not isinstance(value, cls):
        names = " or ".join(c.__name__ for c in (cls if isinstance(cls, tuple) else (cls,)))
        raise TypeError(f"{name} must be a {names}{f' ({hint})' if hint else ''}, got {describe(value)}")
    return value


def check_seed(name: str, value) -> int:
    """A seed: an integer in 0..2**63 - 1, the one range every command and function accepts."""
    return check_int(name, value, 0, SEED_MAX)


def check_choice(name: str, value, choices):
    """``value`` if it is one of ``choices``; a TypeError if it is not even of their type, else ValueError."""
    choices = tuple(choices)
    if all(isinstance(c, str) for c in choices) and not isinstance(value, str):
        raise TypeError(f"{name} must be one of {list(choices)}, got {describe(value)}")
    try:
        known = value in choices
    except (TypeError, ValueError):  # an array compared with strings
        known = False
    if not known:
        raise ValueError(f"{name} must be one of {list(choices)}, got {_short(value)}")
    return value


def _shape_fits(spec, shape) -> bool:
    """Whether ``shape`` fits ``spec``: sizes must equal, labels ("N") match any size, a leading "..."
    matches any number of leading axes (including none)."""
    if spec and spec[0] == "...":
        spec = spec[1:]
        shape = shape[len(shape) - len(spec):] if len(shape) >= len(spec) else None
    return (shape is not None and len(shape) == len(spec)
            and all(isinstance(d, str) or d == n for d, n in zip(spec, shape)))


def _shape_text(shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def check_array(name: str, value, shape=None, *, finite: bool = True, integer: bool = False,
                low: float | None = None, high: float | None = None, low_open: bool = False,
                high_open: bool = False) -> np.ndarray:
    """``value`` as a float64 array (int64 if ``integer``), checked before it is converted (not copied).

    ``shape`` is one shape or a list of alternatives; an entry is a size (3) or a label ("N") that
    matches any size, and a leading "..." matches any leading axes:
    ``check_array("x", x, [("N", 3), ("B", "N", 3)])``. TypeError for arrays of
    strings, booleans, complex numbers or objects that are not numbers; ValueError for a ragged
    nesting, a wrong shape, NaN or infinity (when ``finite``), fractions (when ``integer``) or values
    outside ``low``..``high``.
    """
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a regular array of numbers, got a ragged {type(value).__name__}") from None
    if not isinstance(value, np.ndarray) and arr.dtype.kind in "iuf" and 0 < arr.size <= 100_000:
        # a list that mixes True or "1" with numbers would pass as numbers: look at the entries as given
        wrong = {type(v) for v in np.asarray(value, dtype=object).flat} & NOT_NUMBERS
        if wrong:
            raise TypeError(f"{name} must be an array of real numbers, got an entry of type "
                            f"{sorted(t.__name__ for t in wrong)[0]}: {_short(value)}")
    if arr.dtype.kind == "O":  # a list of Fractions, None or mixed objects: each entry must be a real number
        bad = [v for v in arr.ravel()[:10_000] if not _is_real(v)]  # loop over entries (rare, small)
        if bad:
            raise TypeError(f"{name} must be an array of real numbers, got an entry {describe(bad[0])}")
        try:
            arr = arr.astype(float)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be an array of real numbers, got {_short(value)}") from None
    if arr.dtype.kind not in "iuf":
        what = {"b": "booleans", "U": "strings", "S": "bytes", "c": "complex numbers"}.get(arr.dtype.kind,
                                                                                          arr.dtype.name)
        raise TypeError(f"{name} must be an array of real numbers, got an array of {what}: {_short(value)}")
    if shape is not None:
        options = shape if isinstance(shape, list) else [shape]
        if not any(_shape_fits(s, arr.shape) for s in options):
            wanted = " or ".join(_shape_text(s) for s in options)
            raise ValueError(f"{name} must have shape {wanted}, got {arr.shape}")
    as_float = arr if arr.dtype == np.float64 else arr.astype(np.float64)  # (...) the values, as given (no copy)
    if finite and not np.all(np.isfinite(as_float)):
        raise ValueError(f"{name} contains NaN or infinite values; expected finite numbers")
    bounds = _bounds_text(low, high, low_open, high_open, integer=integer).replace("an integer", "integers") \
        .replace("a finite number", "numbers").replace("a number", "numbers")
    if integer and not np.all(np.mod(as_float[np.isfinite(as_float)], 1) == 0):
        raise ValueError(f"{name} must hold {bounds} (whole numbers), got {_short(value)}")
    if as_float.size and ((low is not None and (as_float.min() <= low if low_open else as_float.min() < low))
                          or (high is not None and (as_float.max() >= high if high_open else as_float.max() > high))):
        lo, hi = as_float.min(), as_float.max()
        got = f"{lo:g}" if lo == hi else f"values from {lo:g} to {hi:g}"
        raise ValueError(f"{name} must hold {bounds}, got {got}")
    return arr.astype(np.int64) if integer else as_float


def check_timesteps(name: str, value, low: int, high: int, batch: int | None = None) -> np.ndarray:
    """Diffusion steps: an integer, or an integer array of shape (B,) = (``batch``,), each in low..high.

    ``batch`` None allows only a scalar (one structure). Returns an int64 array of shape () or (B,).
    """
    arr = check_array(name, value, integer=True, low=low, high=high)  # () or (B,) int64
    if arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] != batch):
        expected = f"a scalar or shape (B,) = ({batch},)" if batch is not None else "a scalar for one structure"
        raise ValueError(f"{name} must be {expected}, got shape {arr.shape}")
    return arr


def check_mask(name: str, value, shape) -> np.ndarray:
    """A boolean mask of real atoms of ``shape`` (B, N); None means every atom is real."""
    if value is None:
        return np.ones(shape, dtype=bool)
    mask = np.asarray(value)
    if mask.dtype != bool:
        raise TypeError(f"{name} must be a bool array of shape {_shape_text(shape)}, got an array of {mask.dtype}")
    if mask.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {_shape_text(shape)}, got {mask.shape}")
    return mask


def check_lattice(name: str, value, batched: bool = False) -> np.ndarray:
    """A lattice (3, 3) (or (B, 3, 3) if ``batched``), rows a, b, c in Å: finite, non-singular, finite volume."""
    lattice = check_array(name, value, [(3, 3), ("B", 3, 3)] if batched else (3, 3))
    with np.errstate(over="ignore", invalid="ignore"):
        det = np.linalg.det(lattice)  # () or (B,) signed volumes in Å^3
        lengths = np.linalg.norm(lattice, axis=-1)  # (..., 3)
    if not (np.all(np.isfinite(det)) and np.all(np.isfinite(lengths))):
        raise ValueError(f"{name} is too large: vectors of up to {np.abs(lattice).max():.3g} Å give a cell volume "
                         "that overflows float64; expected the lattice vectors of a real cell in Å")
    if np.any(lengths.min(axis=-1) < 1e-8) or np.any(np.abs(det) < 1e-8 * np.prod(lengths, axis=-1)):
        raise ValueError(f"{name} is singular (volume {np.min(np.abs(det)):.3g} Å^3): its vectors lie in a plane "
                         "or one is zero; a unit cell needs three independent lattice vectors")
    return lattice


def check_path(name: str, value) -> Path:
    """``value`` as a Path if it is a str or os.PathLike naming a file (not "" or ".")."""
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a str or os.PathLike, got {describe(value)}")
    path = Path(value)
    if str(path) in ("", "."):
        raise ValueError(f"{name} must name a file, got {str(value)!r}")
    return path


def check_crystal(name: str, value) -> Crystal:
    """``value`` if it is a Crystal, else a TypeError naming ``name``."""
    from .crystals import Crystal
    if not isinstance(value, Crystal):
        raise TypeError(f"{name} must be a crystal_tutorial.crystals.Crystal, got {describe(value)}")
    return value


def check_crystal_list(name: str, values, min_atoms: int = 1) -> list[Crystal]:
    """``values`` as a non-empty list of Crystals of at least ``min_atoms`` atoms each."""
    from .crystals import Crystal
    if isinstance(values, (Crystal, str, bytes, dict)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a list of Crystal objects, got {describe(values)}")
    values = list(values)
    if not values:
        raise ValueError(f"{name} is empty; expected at least one Crystal")
    for i, c in enumerate(values):
        check_crystal(f"{name}[{i}]", c)
        if c.n_atoms < min_atoms:
            raise ValueError(f"{name}[{i}] has {c.n_atoms} atom(s); expected at least {min_atoms}")
    return values


def check_config_fields(config, positive_ints=(), positive_numbers=(), non_negative=(), *, fractions=(),
                        flags=(), seeds=(), choices=None, sigma_range=None) -> None:
    """Check the named fields of a config dataclass, in one way for every config of the package.

    ``positive_ints``: integers in 1..``MAX_CONFIG_INT``; ``positive_numbers``: finite numbers > 0;
    ``non_negative``: finite numbers >= 0; ``fractions``: numbers in [0, 1]; ``flags``: True or False;
    ``seeds``: ``check_seed``; ``choices``: {field: allowed values}; ``sigma_range``: (low field, high field)
    with 0 < low < high <= 1. Raises TypeError/ValueError naming the first bad field, what it holds and
    what it should hold.
    """
    for name in positive_ints:
        check_int(name, getattr(config, name), 1, MAX_CONFIG_INT)
    for name in positive_numbers:
        check_positive(name, getattr(config, name))
    for name in non_negative:
        check_number(name, getattr(config, name), 0)
    for name in fractions:
        check_number(name, getattr(config, name), 0, 1)
    for name in flags:
        check_bool(name, getattr(config, name))
    for name in seeds:
        check_seed(name, getattr(config, name))
    for name, allowed in (choices or {}).items():
        check_choice(name, getattr(config, name), allowed)
    if sigma_range is not None:
        low_name, high_name = sigma_range
        low = check_number(low_name, getattr(config, low_name), 0, 1, low_open=True)
        high = check_number(high_name, getattr(config, high_name), 0, 1, low_open=True)
        if not low < high:
            raise ValueError(f"{high_name} must be > {low_name} = {low:g}, got {high:g}")


# --- batching shared by physics and metrics ---------------------------------------------------------
def mic_method(lattice) -> str:
    """"round" for orthogonal cells, where rounding fractional differences is already the exact
    minimum image and ~27x cheaper (see ``pbc``), else "exact"."""
    gram = lattice @ lattice.T  # (3, 3) dot products of the lattice vectors
    off = gram - np.diag(np.diag(gram))
    return "round" if np.all(np.abs(off) <= 1e-12 * np.trace(gram)) else "exact"


def group_indices(crystals, lattice_tol=LATTICE_TOL) -> list[np.ndarray]:
    """Index arrays of crystals with the same atom count and composition (and lattice, if a tol is given)."""
    buckets = {}  # (N, composition) -> [(lattice, [indices])]
    for i, c in enumerate(crystals):  # loop over structures
        bucket = buckets.setdefault((c.n_atoms, tuple(np.sort(c.numbers))), [])
        for lattice, idx in bucket:
            if lattice_tol is None or np.allclose(lattice, c.lattice, atol=lattice_tol, rtol=0):
                idx.append(i)
                break
        else:
            bucket.append((c.lattice, [i]))
    return [np.array(idx) for bucket in buckets.values() for _, idx in bucket]


def stack_group(crystals, idx):
    """frac_coords (G, N, 3), numbers (G, N) and lattice: (3, 3) if all share one cell, else (G, 3, 3)."""
    lattice = np.stack([crystals[i].lattice for i in idx])  # (G, 3, 3)
    return (np.stack([crystals[i].frac_coords for i in idx]), np.stack([crystals[i].numbers for i in idx]),
            lattice[0] if np.all(lattice == lattice[0]) else lattice)
