"""Checkers for the notebooks' exercises, and a clear message for cells run out of order.

Every exercise has an answer cell that starts with ``answer = None``; the learner replaces ``None``
by their answer and runs the check cell below it. An unattempted exercise is reported, not failed,
so that a notebook still runs top to bottom (and in CI) before anyone solves it.

    check("01.1 density of copper", answer, expected=8.93, rtol=5e-3)
    check("03.2 ReLU backward", MyReLU, test=lambda cls: gradient_ok(cls))

``check`` takes a right answer in any reasonable form: numbers as numbers (``0.001``, ``1e-3``,
``"1e-3"``, ``"90,000"``, ``"36%"`` as 0.36 or as 36, a NumPy scalar, a list for an array; an
answer in words stays text for a ``test``), and a function or class
whose method still returns ``None`` gets "your ... returned None", not a shape error from NumPy.
It never prints the expected value. Under ``nbgrader autograde`` (which sets ``NBGRADER_EXECUTION=autograde``)
a verdict other than "correct" raises ``AssertionError(verdict)``: the check cell is
nbgrader's test cell, and a test cell that raises scores 0 (:mod:`.grading`).

Each notebook's setup cell calls ``explain_missing_names("NN_name.ipynb")``: from then on a
``NameError`` (a cell run before the cells it needs) ends with the section of the notebook that
makes the missing name, e.g. "``skewed`` is made in section "4. Minimum image ..."; run the notebook
from the top".
"""
from __future__ import annotations

import ast
import functools
import inspect
import json
import os
import re
from pathlib import Path

import numpy as np

from ..checks import check_number


class Problem(Exception):
    """An answer that is unfinished or has the wrong form; ``check`` prints the message as it is."""


class Result(str):
    """The verdict string; ``.ok`` is True, False, or None (not attempted)."""

    ok: bool | None

    def __new__(cls, text, ok):
        obj = super().__new__(cls, text)
        obj.ok = ok
        return obj

    def _ipython_display_(self):
        """Already printed by :func:`check`; show nothing more when it is a cell's last value."""


# ---- answers in any reasonable form ----

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")


def as_number(text: str) -> float:
    """Read a number typed as text: "0.001", "1e-3", "90,000", "90_000", "36%", "7.85 g/cm3", "2.74 Å".

    A unit after the number is ignored (the question fixes the unit); "%" divides by 100.
    Raises :class:`Problem` if the text holds no single number.
    """
    s = text.strip().replace("_", "").replace("\u2212", "-")   # U+2212 is the typographic minus
    percent = s.endswith("%")
    s = s.rstrip("%").strip()
    head = _THOUSANDS.match(s) or _NUMBER.match(s)
    rest = s[head.end():].strip() if head else s
    unit_ok = not rest or (re.match(r"[^\W\d_]|°", rest) and not re.search(r"(^|[\s,;=])[+-]?\.?\d", rest))
    if head is None or not unit_ok:
        raise Problem(f"your answer is the text {text!r}; give a number, e.g. answer = 0.25")
    value = float(head.group(0).replace(",", ""))
    return value / 100 if percent else value


def _as_array(answer, name="your answer") -> np.ndarray:
    """The answer as a float array; numbers typed as text are read as numbers."""
    if isinstance(answer, (bool, np.bool_)):
        raise Problem(f"{name} is {answer}, a truth value; the exercise asks for a number")
    if callable(answer):
        raise Problem(f"{name} is a function or class; the exercise asks for a number "
                      "(call your function and store its result)")
    if isinstance(answer, str):
        return np.asarray(as_number(answer))
    if isinstance(answer, (list, tuple)):
        answer = [as_number(a) if isinstance(a, str) else a for a in answer]
    try:
        return np.asarray(answer, dtype=float)
    except (TypeError, ValueError) as exc:
        raise Problem(f"{name} ({type(answer).__name__}) cannot be read as numbers: {exc}") from None


def _percent_readings(answer):
    """"36%" may mean 0.36 (a fraction) or 36 (a question that asks in %): both readings, else the answer."""
    if isinstance(answer, str) and answer.strip().endswith("%"):
        value = as_number(answer)
        return [value, value * 100]
    return [answer]


def _close(answer, expected, rtol: float, atol: float) -> bool:
    readings = _percent_readings(answer)
    if len(readings) > 1:
        return any(_close(r, expected, rtol, atol) for r in readings)
    a, e = _as_array(answer), np.asarray(expected, dtype=float)
    if a.size != e.size or np.squeeze(a).shape != np.squeeze(e).shape:
        raise Problem(f"your answer has shape {a.shape}; expected {e.size} number(s), shape {e.shape}")
    if not np.all(np.isfinite(a)):
        raise Problem("your answer contains NaN or infinity")
    return bool(np.allclose(np.squeeze(a), np.squeeze(e), rtol=rtol, atol=atol))


def _returns_something(f, label):
    """``f`` wrapped so that returning None raises a Problem that names it (an unfinished stub)."""
    @functools.wraps(f)
    def guarded(*args, **kwargs):
        out = f(*args, **kwargs)
        if out is None:
            raise Problem(f"your {label} returned None: it is not finished yet (it needs a `return ...`)")
        return out
    return guarded


def _guard(answer):
    """Functions and classes from the learner, with every own public method guarded against None."""
    if inspect.isclass(answer):
        own = {k: v for k, v in vars(answer).items() if inspect.isfunction(v) and not k.startswith("_")}
        if not own:
            return answer
        methods = {k: _returns_something(v, f"{answer.__name__}.{k}") for k, v in own.items()}
        return type(answer.__name__, (answer,), methods)
    if inspect.isfunction(answer):
        return _returns_something(answer, f"{answer.__name__}()" if answer.__name__ != "<lambda>" else "function")
    return answer


def _test_readings(answer):
    """What a ``test`` is given: a number typed as text as a number (both readings of a percentage),
    other text as it is, functions and classes guarded against returning None."""
    if isinstance(answer, str):
        try:
            return _percent_readings(answer) if answer.strip().endswith("%") else [as_number(answer)]
        except Problem:
            return [answer]   # an answer in words, e.g. "novel"
    return [_guard(answer)]


def check(name: str, answer, expected=None, *, rtol: float = 1e-6, atol: float = 0.0, test=None,
          hint: str = "") -> Result:
    """Compare ``answer`` with ``expected`` (numbers or arrays, to ``rtol``/``atol``), or run ``test(answer)``.

    ``test`` returns True/False (or raises). A number typed as text is read as a number first (see
    :func:`as_number`; "36%" passes if 0.36 or 36 is right), other text is given to ``test`` as it
    is. Prints and returns the verdict (never the expected value); ``None`` as answer means "not
    attempted yet". A NameError (a cell above has not run) says which section makes the name.
    """
    rtol, atol = check_number("rtol", rtol, 0, 1), check_number("atol", atol, 0)
    if answer is None:
        verdict = Result(f"[ ] {name}: not attempted yet - replace None with your answer and re-run", None)
    else:
        try:
            if test is not None:
                ok = any(bool(test(given)) for given in _test_readings(answer))
            else:
                ok = _close(answer, expected, rtol, atol)
            problem = ""
        except Problem as exc:
            ok, problem = False, f" - {exc}"
        except UnboundLocalError as exc:
            ok, problem = False, f" ({type(exc).__name__}: {exc})"
        except NameError as exc:   # most often a cell above has not run: say which one
            return _report(Result(f"[!] {name}: cannot check yet ({type(exc).__name__}: {exc}). "
                                  f"{missing_name_hint(exc.name, _notebook)}", False))
        except Exception as exc:  # the learner's code may fail in any way; say how
            ok, problem = False, f" ({type(exc).__name__}: {exc})"
        if ok:
            verdict = Result(f"[x] {name}: correct", True)
        else:
            verdict = Result(f"[!] {name}: not yet{problem}. {hint}".rstrip(), False)
    return _report(verdict)


GRADING = "autograde"   # the value of NBGRADER_EXECUTION while `nbgrader autograde` runs a notebook


def _report(verdict: Result) -> Result:
    """Print the verdict; under `nbgrader autograde` one that is not "correct" also raises, so
    that the test cell scores 0 and the feedback shows the verdict with its hint."""
    print(verdict)
    if verdict.ok is not True and os.environ.get("NBGRADER_EXECUTION") == GRADING:
        raise AssertionError(str(verdict))
    return verdict



def measured_again(call, measure, rtol: float = 1e-9):
    """A ``test`` for :func:`check` in a "change the model" exercise, whose answer is ``(function, value)``.

    The learner changes a model or a sampler, writes it as ``function`` and measures it: ``value`` is a
    number or a list of numbers (None for a measurement that does not exist, e.g. an RMSE without
    matches). ``call(function)`` runs it again as the exercise says (same arguments, same seed) and
    ``measure`` turns what it returns into the number(s) asked for. The test passes when they equal
    ``value`` (to ``rtol``): any change passes, with its honest measurement. The check knows no answer;
    it re-runs the learner's code.

        check("08.5 ...", answer, test=measured_again(lambda f: f(8, 20, np.random.default_rng(0)),
                                                      lambda samples: quality(samples)["match"]))
    """
    rtol = check_number("rtol", rtol, 0, 1)

    def test(given):
        if not (isinstance(given, (tuple, list)) and len(given) == 2 and callable(given[0])):
            raise Problem("the answer is (your function, what you measured), e.g. answer = (my_sampler, rate)")
        function, value = given
        return _same_measurement(measure(call(_guard(function))), value, rtol)
    return test


def _same_measurement(again, value, rtol: float) -> bool:
    again = np.atleast_1d(np.array(again, dtype=object))
    value = np.atleast_1d(np.array(value, dtype=object))
    if again.shape != value.shape:
        raise Problem(f"you measured {value.size} number(s); the exercise asks for {again.size}")
    for a, v in zip(again.ravel(), value.ravel()):
        if a is None or v is None:
            if a is not v:
                return False
        elif not np.isclose(float(_as_array(v)), float(a), rtol=rtol, atol=1e-12):
            return False
    return True

# ---- cells run out of order ----

_notebook: Path | None = None   # set by explain_missing_names: the notebook this kernel runs


def names_made(source: str) -> set[str]:
    """Names that a code cell's top level assigns, defines or imports (IPython magics are skipped)."""
    code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    made: set[str] = set()

    def visit(node):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            made.add(node.name)
            return                                   # names inside a function are its own
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            return
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            made.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            made.update((a.asname or a.name).split(".")[0] for a in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return made


def where_made(notebook, name: str) -> str | None:
    """Which part of ``notebook`` (a path) first makes ``name``: 'section "4. ..."' or 'the setup cell'."""
    cells = json.loads(Path(notebook).read_text(encoding="utf-8"))["cells"]
    section = None
    for cell in cells:
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            headings = re.findall(r"^##+\s+(.+?)\s*$", source, flags=re.M)
            section = headings[-1] if headings else section
        elif cell["cell_type"] == "code" and name in names_made(source):
            return f'section "{section}"' if section else "the setup cell at the top"
    return None


def missing_name_hint(name: str | None, notebook=None) -> str:
    """The sentence added to a NameError: where ``name`` is made, and to run from the top."""
    how = "run the notebook from the top (Run > Run All Cells, or Kernel > Restart Kernel and Run All Cells)"
    where = None
    if name and notebook is not None and Path(notebook).is_file():
        try:
            where = where_made(notebook, name)
        except (OSError, ValueError, KeyError):
            where = None
    if where:
        return f"`{name}` is made in {where} of this notebook: {how}, or run that section first."
    return f"If `{name}` is made by a cell above, {how}."


def explain_missing_names(notebook: str) -> None:
    """Called by a notebook's setup cell: a later NameError also says which section makes the name.

    ``notebook`` is the notebook's file name; it is looked up in the kernel's working folder (the
    notebook's own folder in Jupyter and nbval). Outside IPython this does nothing. A cell run
    *before* the setup cell cannot be helped (nothing is installed yet): the first markdown cell
    of every notebook says what that bare ``NameError`` means.
    """
    if not isinstance(notebook, str) or not notebook.endswith(".ipynb"):
        raise ValueError(f"notebook must be a notebook file name ending in .ipynb, got {notebook!r}")
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    global _notebook
    path = _notebook = Path(os.getcwd()) / notebook

    # Every traceback IPython shows passes through ``_showtraceback``: the cell's own error, and one
    # that an ipywidgets ``Output`` context shows itself (``with out: ...`` catches the error and calls
    # ``showtraceback``; IPython's custom exception handlers never see it). The class's method is
    # wrapped, so running the setup cell again does not add the hint twice.
    show = type(shell)._showtraceback.__get__(shell)

    def show_with_hint(etype, value, stb):
        # a local variable used too early (UnboundLocalError) is not about cell order
        if isinstance(value, NameError) and not isinstance(value, UnboundLocalError):
            stb = list(stb) + ["", "Hint: " + missing_name_hint(getattr(value, "name", None), path)]
        show(etype, value, stb)

    shell._showtraceback = show_with_hint
