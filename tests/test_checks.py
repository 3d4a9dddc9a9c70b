"""checks.check_config_fields: the hyperparameter dataclasses of chapters 08-10 name a bad field."""
import math

import pytest

from crystal_tutorial.csp import CSPConfig
from crystal_tutorial.joint_diffusion import JointConfig
from crystal_tutorial.torus import TorusConfig


@pytest.mark.parametrize("make, match", [
    (lambda: TorusConfig(lr=math.nan), r"lr must be a positive number, got nan"),
    (lambda: TorusConfig(hidden=True), r"hidden must be a positive integer, got True"),
    (lambda: TorusConfig(batch_size=0), r"batch_size must be a positive integer, got 0"),
    (lambda: JointConfig(strain=-0.1), r"strain must be a number >= 0, got -0.1"),
    (lambda: JointConfig(shape_scale=math.inf), r"shape_scale must be a positive number, got inf"),
    (lambda: JointConfig(T=2.5), r"T must be a positive integer, got 2.5"),
    (lambda: CSPConfig(min_scale="0.1"), r"min_scale must be a positive number, got '0.1'"),
    (lambda: CSPConfig(max_steps=-3), r"max_steps must be a positive integer, got -3"),
])
def test_bad_config_fields_are_named(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_defaults_are_accepted():
    TorusConfig(), JointConfig(), CSPConfig()
