"""The command line's argument parser on hostile values: a one-line usage error naming the option, or the value asked
for (issue 25, item 9). Nothing is run: parsing and ``generate``'s checks before any work only."""
from __future__ import annotations

import contextlib
import io
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crystal_tutorial.cli.generate import _check_args
from crystal_tutorial.cli.main import build_parser
from crystal_tutorial.cli.runs import UsageError

NUMERIC_OPTIONS = {  # option -> (subcommand, attribute)
    "--n-atoms": ("generate", "n_atoms"), "--n-samples": ("generate", "n_samples"), "--seed": ("generate", "seed"),
    "--lattice-a": ("generate", "lattice_a"), "--temperature": ("generate", "temperature"),
    "--symprec": ("generate", "symprec"), "--train-steps": ("generate", "train_steps"),
    "--train-seconds": ("generate", "train_seconds"), "--density": ("generate", "density"),
    "--guidance": ("generate", "guidance"), "--epochs": ("demo", "epochs"), "--timesteps": ("demo", "timesteps"),
    "--lr": ("demo", "lr"),
}
HOSTILE = st.one_of(
    st.sampled_from(["nan", "NaN", "inf", "-inf", "1e999", "-1", "0", "-0", "1e-320", "True", "None", "0x10", "1_000",
                     " 5", "5 ", "", "1.5", "2.5e1", "\u0663", "\uff15", "1e18", "9" * 30, "-" * 3, "--out", "1,5"]),
    st.integers(-10**30, 10**30).map(str), st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=8))


def _same_number(text: str, value) -> bool:
    """The parsed value is the number the text spells (Python's own int or float reading of it)."""
    return value == (int(text) if isinstance(value, int) else float(text))


@settings(max_examples=300, deadline=None)
@given(option=st.sampled_from(sorted(NUMERIC_OPTIONS)), text=HOSTILE)
def test_hostile_option_values_give_a_usage_error_or_the_value(option, text):
    command, attribute = NUMERIC_OPTIONS[option]
    argv = [command, option, text] + (["--out", "never_created"] if command == "generate" else [])
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse's usage error: exit 2, one line on stderr
        err = stderr.getvalue().strip()
        assert exc.code == 2 and len(err.splitlines()) == 1 and "error:" in err, err
        return
    value = getattr(args, attribute)
    assert not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value), value
    assert _same_number(text, value), (text, value)
    if command == "generate":  # the checks made before any work accept it, or name the option
        args.model = "joint" if option in ("--density", "--guidance") else args.model
        try:
            _check_args(args)
        except UsageError as exc:
            assert option in str(exc) or "--n-samples" in str(exc), exc


@pytest.mark.parametrize("n_samples", ["2000", "300"])
def test_a_job_too_costly_to_score_is_refused_unless_uniqueness_is_skipped(n_samples):
    """``generate --model mlp --n-atoms 64 --n-samples 2000`` was accepted and would need days to score."""
    argv = ["generate", "--out", "x", "--n-atoms", "64", "--n-samples", n_samples, "--model", "mlp"]
    with pytest.raises(UsageError, match="--no-uniqueness"):
        _check_args(build_parser().parse_args(argv))
    _check_args(build_parser().parse_args(argv + ["--no-uniqueness"]))
