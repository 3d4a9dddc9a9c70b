"""checks: one home for argument checks; the same mistake gets the same exception and wording everywhere."""
import math
from fractions import Fraction

import numpy as np
import pytest

from crystal_tutorial.checks import (
    check_array,
    check_bool,
    check_choice,
    check_config_fields,
    check_crystal,
    check_crystal_list,
    check_int,
    check_lattice,
    check_number,
    check_path,
    check_positive,
    check_rng,
    check_seed,
)
from crystal_tutorial.crystals import prototype
from crystal_tutorial.csp import CSPConfig
from crystal_tutorial.joint_diffusion import JointConfig
from crystal_tutorial.torus import TorusConfig


# --- type errors: a string, None, a bool, a complex number where a number belongs -------------------
@pytest.mark.parametrize("check", [check_int, check_number, check_positive, check_seed])
@pytest.mark.parametrize("value", ["4", None, True, np.bool_(False), 1 + 2j, [1], object()])
def test_wrong_type_is_a_type_error_naming_the_argument(check, value):
    with pytest.raises(TypeError, match=r"^n_atoms must be .*, got (str|NoneType|bool|bool_|complex|list|object)"):
        check("n_atoms", value)


# --- value errors: NaN, infinity, fractions, out of range ------------------------------------------
@pytest.mark.parametrize("value, match", [
    (math.nan, r"n must be an integer in 1\.\.10 \(a whole number\), got nan"),
    (math.inf, r"n must be an integer in 1\.\.10 \(a whole number\), got inf"),
    (2.5, r"n must be an integer in 1\.\.10 \(a whole number\), got 2\.5"),
    (Fraction(5, 2), r"n must be an integer in 1\.\.10 \(a whole number\), got Fraction\(5, 2\)"),
    (0, r"n must be an integer in 1\.\.10, got 0"),
    (11, r"n must be an integer in 1\.\.10, got 11"),
    (1e30, r"n must be an integer in 1\.\.10, got 1e\+30"),  # validated as a float, not converted first
    (10 ** 30, r"n must be an integer in 1\.\.10, got 1000000000000000000000000000000"),
])
def test_bad_integer_values_are_value_errors(value, match):
    with pytest.raises(ValueError, match=match):
        check_int("n", value, 1, 10)


def test_integers_convert_after_validation():
    assert check_int("n", 4.0, 1, 10) == 4 and type(check_int("n", np.int64(4))) is int
    assert check_int("n", np.array(3)) == 3
    assert check_int("n", 10 ** 30) == 10 ** 30  # no bounds, no overflow


@pytest.mark.parametrize("value, kwargs, match", [
    (math.nan, {}, r"x must be a finite number, got nan"),
    (-math.inf, dict(low=0), r"x must be a finite number >= 0, got -inf"),
    (0.0, dict(low=0, low_open=True), r"x must be a finite number > 0, got 0\.0"),
    (1.0, dict(low=0, high=1, high_open=True), r"x must be a number in \[0, 1\), got 1\.0"),
    (10 ** 400, {}, r"x must be a finite number, got 1000.*\.\.\. \(too large for a float\)"),
])
def test_bad_number_values_are_value_errors(value, kwargs, match):
    with pytest.raises(ValueError, match=match):
        check_number("x", value, **kwargs)


def test_numbers():
    assert check_number("x", Fraction(1, 4), 0, 1) == 0.25 and check_number("x", np.float32(2)) == 2.0
    assert check_positive("sigma", 0.1) == 0.1
    with pytest.raises(ValueError, match=r"sigma must be a finite number > 0, got 0"):
        check_positive("sigma", 0)


def test_bool_rng_seed_choice_path():
    assert check_bool("flag", np.bool_(True)) is True
    with pytest.raises(TypeError, match=r"flag must be True or False, got int 1"):
        check_bool("flag", 1)
    rng = np.random.default_rng(0)
    assert check_rng("rng", rng) is rng
    with pytest.raises(TypeError, match=r"rng must be a np.random.Generator .*, got NoneType None"):
        check_rng("rng", None)
    with pytest.raises(ValueError, match=r"seed must be an integer in 0\.\.9223372036854775807, got -1"):
        check_seed("seed", -1)
    with pytest.raises(ValueError, match=r"seed must be an integer in .*, got 123456789012345678901234"):
        check_seed("seed", 123456789012345678901234)
    assert check_choice("name", "fcc", ("fcc", "bcc")) == "fcc"
    with pytest.raises(ValueError, match=r"name must be one of \['fcc', 'bcc'\], got 'hcp'"):
        check_choice("name", "hcp", ("fcc", "bcc"))
    with pytest.raises(TypeError, match=r"name must be one of \['fcc', 'bcc'\], got NoneType None"):
        check_choice("name", None, ("fcc", "bcc"))
    with pytest.raises(ValueError, match=r"path must name a file, got ''"):
        check_path("path", "")
    with pytest.raises(TypeError, match=r"path must be a str or os.PathLike, got int 3"):
        check_path("path", 3)


# --- arrays -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("value, what", [
    (np.eye(3, dtype=bool), "booleans"), ([["1", "0", "0"]] * 3, "strings"), (np.eye(3) * 1j, "complex numbers"),
    ([[None, 0, 0]] * 3, "NoneType"),
])
def test_arrays_of_non_numbers_are_type_errors(value, what):
    with pytest.raises(TypeError, match=rf"lattice must be an array of real numbers, got .*{what}"):
        check_array("lattice", value, (3, 3))


def test_array_shapes_values_and_integers():
    with pytest.raises(ValueError, match=r"x must have shape \(N, 3\) or \(B, N, 3\), got \(4,\)"):
        check_array("x", np.zeros(4), [("N", 3), ("B", "N", 3)])
    with pytest.raises(ValueError, match=r"x contains NaN or infinite values"):
        check_array("x", [[0, 0, np.nan]], ("N", 3))
    with pytest.raises(ValueError, match=r"x must be a regular array of numbers, got a ragged list"):
        check_array("x", [[0, 0], [0]])
    with pytest.raises(ValueError, match=r"numbers must hold integers in 1\.\.118, got values from 1 to 1e\+30"):
        check_array("numbers", [1.0, 1e30], integer=True, low=1, high=118)
    with pytest.raises(ValueError, match=r"numbers must hold integers \(whole numbers\), got \[1\.5\]"):
        check_array("numbers", [1.5], integer=True)
    out = check_array("numbers", [14.0, 8.0], integer=True)
    assert out.dtype == np.int64 and out.tolist() == [14, 8]
    assert check_array("x", [[1, 2, 3]], ("N", 3)).dtype == np.float64


def test_lattice():
    with pytest.raises(ValueError, match=r"lattice is singular"):
        check_lattice("lattice", np.diag([1.0, 1.0, 0.0]))
    with pytest.raises(ValueError, match=r"lattice is too large"):
        check_lattice("lattice", np.eye(3) * 1e200)
    assert check_lattice("lattice", np.eye(3)[None].repeat(2, 0), batched=True).shape == (2, 3, 3)
    with pytest.raises(ValueError, match=r"lattice must have shape \(3, 3\), got \(2, 3, 3\)"):
        check_lattice("lattice", np.eye(3)[None].repeat(2, 0))


def test_crystals():
    fcc = prototype("fcc")
    assert check_crystal("c", fcc) is fcc
    with pytest.raises(TypeError, match=r"c must be a crystal_tutorial.crystals.Crystal, got dict \{\}"):
        check_crystal("c", {})
    with pytest.raises(ValueError, match=r"samples is empty"):
        check_crystal_list("samples", [])
    with pytest.raises(TypeError, match=r"samples\[1\] must be a crystal_tutorial.crystals.Crystal, got int 3"):
        check_crystal_list("samples", [fcc, 3])
    with pytest.raises(ValueError, match=r"dataset\[0\] has 1 atom\(s\); expected at least 2"):
        check_crystal_list("dataset", [prototype("sc")], min_atoms=2)


# --- the hyperparameter dataclasses of chapters 08-10 name a bad field -------------------------------
@pytest.mark.parametrize("make, error, match", [
    (lambda: TorusConfig(lr=math.nan), ValueError, r"lr must be a finite number > 0, got nan"),
    (lambda: TorusConfig(hidden=True), TypeError, r"hidden must be an integer in 1\.\.1000000000, got bool True"),
    (lambda: TorusConfig(batch_size=0), ValueError, r"batch_size must be an integer in 1\.\.1000000000, got 0"),
    (lambda: TorusConfig(batch_size=2.5), ValueError, r"batch_size must be an integer .*\(a whole number\), got 2.5"),
    (lambda: JointConfig(strain=-0.1), ValueError, r"strain must be a finite number >= 0, got -0.1"),
    (lambda: JointConfig(shape_scale=math.inf), ValueError, r"shape_scale must be a finite number > 0, got inf"),
    (lambda: JointConfig(T=2.5), ValueError, r"T must be an integer in 1\.\.1000000000 \(a whole number\), got 2.5"),
    (lambda: CSPConfig(min_scale="0.1"), TypeError, r"min_scale must be a finite number > 0, got str '0.1'"),
    (lambda: CSPConfig(max_steps=-3), ValueError, r"max_steps must be an integer in 1\.\.1000000000, got -3"),
])
def test_bad_config_fields_are_named(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_defaults_are_accepted():
    TorusConfig(), JointConfig(), CSPConfig()


def test_check_config_fields_directly():
    class C:
        n, lr, decay = 3, 1e-3, 0.0
    check_config_fields(C(), positive_ints=("n",), positive_numbers=("lr",), non_negative=("decay",))
