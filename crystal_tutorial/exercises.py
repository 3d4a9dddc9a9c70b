"""Checkers for the notebooks' exercises.

Every exercise cell starts with ``answer = None``; the learner replaces ``None`` by their answer
and runs the check cell. An unattempted exercise is reported, not failed, so that a notebook
still runs top to bottom (and in CI) before anyone solves it.

    check("01.1 density of copper", answer, expected=8.93, rtol=1e-2)
    check("03.2 ReLU backward", my_backward, test=lambda f: gradient_ok(f))
"""
from __future__ import annotations

import numpy as np


class Result(str):
    """The verdict string; ``.ok`` is True, False, or None (not attempted)."""

    ok: bool | None

    def __new__(cls, text, ok):
        obj = super().__new__(cls, text)
        obj.ok = ok
        return obj

    def _ipython_display_(self):
        """Already printed by :func:`check`; show nothing more when it is a cell's last value."""


def check(name: str, answer, expected=None, *, rtol: float = 1e-6, atol: float = 0.0, test=None,
          hint: str = "") -> Result:
    """Compare ``answer`` with ``expected`` (numbers or arrays, to ``rtol``/``atol``), or run ``test(answer)``.

    ``test`` returns True/False (or raises). Prints and returns the verdict; ``None`` as answer
    means "not attempted yet".
    """
    if answer is None:
        verdict = Result(f"[ ] {name}: not attempted yet - replace None with your answer and re-run", None)
    else:
        try:
            if test is not None:
                ok = bool(test(answer))
            else:
                a = np.asarray(answer, dtype=float)
                e = np.asarray(expected, dtype=float)
                ok = a.shape == e.shape and bool(np.allclose(a, e, rtol=rtol, atol=atol))
            problem = ""
        except Exception as exc:  # the learner's code may fail in any way; say how
            ok, problem = False, f" ({type(exc).__name__}: {exc})"
        if ok:
            verdict = Result(f"[x] {name}: correct", True)
        else:
            verdict = Result(f"[!] {name}: not yet{problem}. {hint}".rstrip(), False)
    print(verdict)
    return verdict
