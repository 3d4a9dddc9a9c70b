"""render_table at the sliders' extremes, and its argument checks."""
import numpy as np
import pytest

from crystal_tutorial import benchmark as B
from crystal_tutorial.datasets import load_benchmark
from crystal_tutorial.viz.benchmark import STOL_RANGE, render_table


@pytest.fixture(scope="module")
def scores():
    t = load_benchmark("perov_5", "test")[:6]
    rng = np.random.default_rng(0)
    return {
        "random coordinates, true cell": B.score([B.random_coordinates(t, rng) for _ in range(2)][0], t, processes=1),
        "template": B.score([[c, c] for c in B.perovskite_template(t, "random", rng=rng)], t, processes=1),
    }


@pytest.mark.parametrize("k, stol", [(1, STOL_RANGE[0]), (1, STOL_RANGE[1]), (2, STOL_RANGE[1])])
def test_render_table_at_the_extremes(scores, k, stol):
    scores = {"template": scores["template"]} if k == 2 else scores
    fig = render_table(scores, k=k, stol=stol, published={"DiffCSP": (52.02, 0.076)})
    assert len(fig.axes) == 2
    assert len(fig.axes[0].patches) == len(scores) + 1


def test_smaller_stol_never_raises_the_match_rate(scores):
    s = scores["template"]
    assert B.summarize(s, stol=0.1)["match_rate"] <= B.summarize(s, stol=0.5)["match_rate"]


def test_bad_slider_values_are_named(scores):
    with pytest.raises(ValueError, match="k must"):
        render_table(scores, k=3)
    with pytest.raises(ValueError, match="stol"):
        render_table(scores, stol=0.9)
