"""Teaching kit: the exercises' tagged cells, the answer key, and the notebooks' opening cells.

Every exercise in ``notebooks/`` is a run of tagged cells (cell metadata ``tags``):

- ``exercise``: the prompt (markdown) and the answer cell(s) the student edits (``answer = None``);
- ``check``: the code cell(s) that call ``check(...)`` (they never show the expected value);
- ``solution``: one markdown cell holding only ``<details><summary>Solution</summary> ... </details>``
  (and HTML comments: nbgrader's mark-scheme markers), with a fenced ```` ```python ```` block that sets
  ``answer`` (open exercises without a check may have a solution without code).

The same cells carry nbgrader's metadata (:mod:`.grading`), which also writes the students' copies
(``python -m crystal_tutorial student-edition OUT``) with nbgrader's own release step; the answer key
built here goes beside them.

    exercises(nbformat.read(path, as_version=4)) # [Exercise(name="01.1 density of BCC iron", ...), ...]
    answer_key(paths)                            # markdown: every prompt and folded solution
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..files import atomic_write_text

TAGS = ("exercise", "check", "solution")
NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"   # the repository's notebooks

# The repository Colab installs the package from: the single place to set it (README, "Colab"). None until
# the tutorial has a public address: the cell then says so in one sentence instead of showing a placeholder.
COLAB_REPOSITORY = None

RUN_FROM_THE_TOP = (
    "> **Run this notebook from the top** (Run ▸ Run All Cells, or Kernel ▸ Restart Kernel and Run All\n"
    "> Cells): each cell uses what the cells above it made. `NameError: name 'np' is not defined` means\n"
    "> the setup cell has not run since the kernel (re)started; after the setup cell, a missing name\n"
    "> says which section to run first.\n")


def colab_cell_source(repository: str | None = COLAB_REPOSITORY) -> str:
    """The first code cell of every notebook: installs the package in Google Colab, does nothing elsewhere.

    ``repository`` is the https:// address of a published copy; with None (no public address yet) the cell
    tells a Colab user, in one sentence, to upload the repository's ``crystal_tutorial`` folder instead.
    """
    if repository is not None and (not isinstance(repository, str) or not re.fullmatch(r"https://\S+", repository)):
        raise ValueError(f"repository must be an https:// address or None, got {repository!r}")
    head = "# Opened in Google Colab? This cell installs the tutorial's package there; anywhere else it does nothing.\n"
    if repository is None:
        return head + (
            "import sys\n"
            'if "google.colab" in sys.modules:\n'
            "    import importlib.util\n"
            '    if importlib.util.find_spec("crystal_tutorial") is None:\n'
            '        raise RuntimeError("This copy of the tutorial has no public address to install from yet: upload the "\n'  # noqa: E501
            '                           "repository\'s crystal_tutorial folder next to this notebook, then run this cell again.")\n'  # noqa: E501
            "    from google.colab import output\n"
            "    output.enable_custom_widget_manager()   # lets Colab show the ipywidgets sliders"
        )
    return head + (
        f'REPOSITORY = "{repository}"   # README, "Colab"\n'
        "import sys\n"
        'if "google.colab" in sys.modules:\n'
        "    import importlib.util, subprocess\n"
        '    if importlib.util.find_spec("crystal_tutorial") is None:\n'
        '        subprocess.run([sys.executable, "-m", "pip", "install", "-q", f"git+{REPOSITORY}"], check=True)\n'
        "    from google.colab import output\n"
        "    output.enable_custom_widget_manager()   # lets Colab show the ipywidgets sliders"
    )


# ---- reading the exercises of a notebook ----


def tags(cell) -> list[str]:
    """The cell's tags among ``TAGS`` (a ``tags`` that is not a list of strings is a ValueError:
    iterating the string ``"solution"`` letter by letter would keep a solution in the student edition)."""
    cell_tags = cell.get("metadata", {}).get("tags", [])
    if not isinstance(cell_tags, list) or not all(isinstance(t, str) for t in cell_tags):
        raise ValueError(f'a cell\'s metadata.tags must be a list of strings such as ["solution"], got {cell_tags!r}')
    return [t for t in cell_tags if t in TAGS]


def cell_text(cell) -> str:
    source = cell["source"]
    return source if isinstance(source, str) else "".join(source)


def notebook_json(path, text: str | None = None) -> dict:
    """The notebook file at ``path`` (or its ``text``) as JSON, checked to be a notebook: a JSON
    object with a ``cells`` list of cells, each an object with a ``cell_type``, a ``source`` (a
    string or a list of strings) and, if any, ``metadata.tags`` as a list of strings. Anything else
    (bad JSON, not UTF-8, a JSON list, a cell without ``source``) is a ValueError naming the file,
    the cell and what is wrong, instead of a KeyError or TypeError deep inside."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8") if text is None else text
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); a notebook is UTF-8 JSON"
        ) from None
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(nb, dict):
        raise ValueError(f"{path}: a notebook is a JSON object with a 'cells' list, got a JSON {type(nb).__name__}")
    if not isinstance(nb.get("cells"), list):
        got = type(nb["cells"]).__name__ if "cells" in nb else "none"
        raise ValueError(f"{path}: a notebook needs a 'cells' list, got {got}")
    for i, cell in enumerate(nb["cells"]):
        where = f"{path}: cell {i + 1} of {len(nb['cells'])}"
        if not isinstance(cell, dict):
            raise ValueError(f"{where} is a JSON {type(cell).__name__}, not an object")
        if cell.get("cell_type") not in ("code", "markdown", "raw"):
            raise ValueError(f"{where} has cell_type {cell.get('cell_type')!r}; expected 'code', 'markdown' or 'raw'")
        source = cell.get("source")
        if not (isinstance(source, str) or (isinstance(source, list) and all(isinstance(s, str) for s in source))):
            raise ValueError(f"{where} has no 'source' text (a string or a list of strings), got {source!r:.60}")
        if not isinstance(cell.get("metadata", {}), dict):
            raise ValueError(f"{where}: its 'metadata' must be an object, got {cell['metadata']!r:.60}")
        try:
            tags(cell)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
    return nb


_DETAILS = re.compile(r"\A\s*<details>\s*<summary>.*?</summary>\s*(.*?)\s*</details>\s*\Z", re.S)
_COMMENT_LINE = re.compile(r"^[ \t]*<!--.*?-->[ \t]*$\n?", re.M)  # e.g. <!-- BEGIN MARK SCHEME -->
_PYTHON = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)
_CHECK_NAME = re.compile(r"""\bcheck\(\s*(["'])(.+?)\1""")


def solution_body(source: str) -> str:
    """What a solution cell folds away (the text inside ``<details>``); ValueError if it is not one block."""
    match = _DETAILS.match(_COMMENT_LINE.sub("", source))
    if match is None:
        raise ValueError("a solution cell must hold exactly one <details><summary>...</summary> ... </details> block")
    return match.group(1)


def solution_code(source: str) -> str:
    """The Python code of a solution cell (its fenced python blocks joined), or "" if it has none."""
    return "\n".join(block.rstrip() for block in _PYTHON.findall(solution_body(source)))


@dataclass
class Exercise:
    """One exercise: the cells (indices into the notebook) of its prompt, answer, check and solution."""

    name: str = ""  # "01.1 density of BCC iron" (from its check call)
    prompt: list[int] = field(default_factory=list)  # markdown cells tagged "exercise"
    answer: list[int] = field(default_factory=list)  # code cells tagged "exercise"
    check: list[int] = field(default_factory=list)
    solution: list[int] = field(default_factory=list)


def exercises(nb) -> list[Exercise]:
    """The notebook's exercises, in order. A new exercise starts at an ``exercise`` cell that follows
    a ``check`` or ``solution`` cell; untagged cells in between are ignored."""
    found: list[Exercise] = []
    last = None
    for i, cell in enumerate(nb["cells"]):
        cell_tags = tags(cell)
        if not cell_tags:
            continue
        tag = cell_tags[0]
        if (
            not found
            or (tag == "exercise" and last in ("check", "solution"))
            or (tag == "check" and last == "solution")
        ):
            found.append(Exercise())
        ex = found[-1]
        if tag == "exercise":
            (ex.prompt if cell["cell_type"] == "markdown" else ex.answer).append(i)
        elif tag == "check":
            ex.check.append(i)
            names = _CHECK_NAME.findall(cell_text(cell))
            if names and not ex.name:
                ex.name = names[0][1]
        else:
            ex.solution.append(i)
        last = tag
    for k, ex in enumerate(found, start=1):
        if not ex.name:
            bold = re.search(r"\*\*(.+?)\*\*", "".join(cell_text(nb["cells"][i]) for i in ex.prompt))
            ex.name = bold.group(1).strip(" .") if bold else f"exercise {k}"
    return found


# ---- the student edition and the answer key ----


def _title(nb, path: Path) -> str:
    first = cell_text(nb["cells"][0]).splitlines() if nb["cells"] else []
    return first[0].lstrip("# ").strip() if first and first[0].startswith("#") else path.stem


def answer_key(paths) -> str:
    """Markdown with every exercise's prompt and folded solution, by notebook."""
    lines = [
        "# Answer key",
        "",
        "For instructors, never for students: the solutions that the students' copies leave out, made by",
        "`python -m crystal_tutorial student-edition`. A solution's code block sets `answer`: paste it into",
        "a new cell below the exercise's answer cell of the repository's notebook and run the check cell,",
        'which then says "correct".',
        "",
    ]
    for path in paths:
        path = Path(path)
        nb = notebook_json(path)
        found = exercises(nb)
        if not found:
            continue
        lines += [f"## {_title(nb, path)} (`{path.name}`)", ""]
        for ex in found:
            lines += [f"### {ex.name}", ""]
            lines += [cell_text(nb["cells"][i]).strip() + "\n" for i in ex.prompt]
            for i in ex.solution:
                lines += ["**Solution.**", "", solution_body(cell_text(nb["cells"][i])).strip(), ""]
            if not ex.solution:
                lines += ["*(open exercise: no folded solution)*", ""]
    return "\n".join(lines).rstrip() + "\n"


def write_colab_cells(repository: str | None = COLAB_REPOSITORY, notebooks=None) -> list[Path]:
    """Set the Colab install cell (the first code cell) of every notebook to install from ``repository``."""
    import nbformat

    source = colab_cell_source(repository)
    changed = []
    for path in sorted((Path(notebooks) if notebooks is not None else NOTEBOOKS).glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        first = next((c for c in nb.cells if c.cell_type == "code"), None)
        if first is None or "google.colab" not in first.source:
            raise ValueError(f"{path.name}: its first code cell is not the Colab install cell")
        if first.source != source:
            first.source = source
            atomic_write_text(path, nbformat.writes(nb) + "\n")
            changed.append(path)
    return changed
