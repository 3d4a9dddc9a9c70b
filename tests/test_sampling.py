"""DDPM and DDIM samplers: an oracle denoiser recovers the data; shapes, wrapping, determinism."""
import numpy as np
import pytest

from crystal_tutorial.crystals import Crystal, prototype
from crystal_tutorial.diffusion import cosine_schedule, linear_schedule, to_centered
from crystal_tutorial.sampling import ddim_timesteps, sample_ddim, sample_ddpm
from crystal_tutorial.training import TrainConfig, build_model


class Oracle:
    """The perfect noise predictor for a data set of one structure x0: eps = (x_t - sqrt(abar) x0) / sqrt(1 - abar)."""

    def __init__(self, x0, schedule):
        self.x0, self.s = x0, schedule

    def forward(self, x_t, t, mask=None):
        ab = self.s.alpha_bars[t][:, None, None]
        return (x_t - np.sqrt(ab) * self.x0) / np.sqrt(1 - ab)


@pytest.mark.parametrize("schedule", [linear_schedule(100), cosine_schedule(50)])
def test_ddpm_with_oracle_recovers_x0(schedule):
    fcc = prototype("fcc")
    x0 = to_centered(fcc.frac_coords + 0.1)
    samples = sample_ddpm(Oracle(x0, schedule), schedule, 4, fcc.lattice, 5, np.random.default_rng(0))
    for s in samples:
        np.testing.assert_allclose(s.frac_coords, (x0 + 0.5) % 1.0, atol=1e-8)


@pytest.mark.parametrize("steps", [1, 10, 100])
def test_ddim_with_oracle_recovers_x0(steps):
    schedule = linear_schedule(100)
    x0 = to_centered(prototype("bcc").frac_coords + 0.2)
    samples = sample_ddim(Oracle(x0, schedule), schedule, 2, np.eye(3) * 5, 3, np.random.default_rng(1), steps=steps)
    for s in samples:
        np.testing.assert_allclose(s.frac_coords, (x0 + 0.5) % 1.0, atol=1e-8)


def test_ddim_eta0_deterministic_and_trajectory_shapes():
    config = TrainConfig(progress=False)
    model, schedule = build_model(config), config.make_schedule()
    a, traj = sample_ddim(model, schedule, 4, np.eye(3) * 5, 6, np.random.default_rng(3), steps=10, record=True)
    b = sample_ddim(model, schedule, 4, np.eye(3) * 5, 6, np.random.default_rng(3), steps=10)
    assert all(np.array_equal(x.frac_coords, y.frac_coords) for x, y in zip(a, b))
    assert traj.shape == (11, 6, 4, 3)
    c = sample_ddim(model, schedule, 4, np.eye(3) * 5, 6, np.random.default_rng(3), steps=10, eta=1.0)
    assert not all(np.array_equal(x.frac_coords, y.frac_coords) for x, y in zip(a, c))


def test_ddpm_output_is_wrapped_crystals():
    config = TrainConfig(progress=False)
    samples, traj = sample_ddpm(build_model(config), config.make_schedule(), 3, np.eye(3) * 4, 7,
                                np.random.default_rng(0), record=True, number=29)
    assert len(samples) == 7 and all(isinstance(s, Crystal) for s in samples)
    assert all(s.n_atoms == 3 and np.all(s.numbers == 29) for s in samples)
    assert all(np.all((s.frac_coords >= 0) & (s.frac_coords < 1)) for s in samples)
    assert traj.shape == (101, 7, 3, 3)


def test_ddim_timesteps():
    np.testing.assert_array_equal(ddim_timesteps(100, 1), [100, 0])
    taus = ddim_timesteps(100, 10)
    assert taus[0] == 100 and taus[-1] == 0 and np.all(np.diff(taus) < 0) and len(taus) == 11
    assert len(ddim_timesteps(100, 100)) == 101
    with pytest.raises(ValueError, match="steps"):
        ddim_timesteps(100, 0)


@pytest.mark.parametrize("kwargs, err, message", [
    (dict(n_atoms=0), ValueError, "n_atoms"), (dict(n_samples=-1), ValueError, "n_samples"),
    (dict(lattice=np.zeros((3, 3))), ValueError, "lattice"), (dict(rng=0), TypeError, "rng"),
    (dict(lattice=np.eye(3) * 1e120), ValueError, "lattice is too large"),     # volume overflows to inf
])
def test_sampler_bad_arguments(kwargs, err, message):
    config = TrainConfig(progress=False)
    args = dict(model=build_model(config), schedule=config.make_schedule(), n_atoms=2, lattice=np.eye(3),
                n_samples=2, rng=np.random.default_rng(0))
    args.update(kwargs)
    with pytest.raises(err, match=message):
        sample_ddpm(**args)
    with pytest.raises(ValueError, match="eta"):
        sample_ddim(**{**args, **dict(rng=np.random.default_rng(0), n_atoms=2, n_samples=2,
                                      lattice=np.eye(3))}, eta=2.0)


# --- issue 13, item 10: a sampler refuses a schedule whose T is not the model's ----------------------
def test_ddpm_and_ddim_refuse_a_schedule_of_another_T():
    config = TrainConfig(progress=False)                      # T = 100
    model = build_model(config)
    assert model.T == config.make_schedule().T == 100
    for schedule in (linear_schedule(50), cosine_schedule(200)):
        with pytest.raises(ValueError, match=rf"schedule.T = {schedule.T} does not match the model's T = 100"):
            sample_ddpm(model, schedule, 2, np.eye(3) * 5, 1, np.random.default_rng(0))
        with pytest.raises(ValueError, match=rf"schedule.T = {schedule.T} does not match the model's T = 100"):
            sample_ddim(model, schedule, 2, np.eye(3) * 5, 1, np.random.default_rng(0), steps=5)
    assert len(sample_ddim(model, cosine_schedule(100), 2, np.eye(3) * 5, 1, np.random.default_rng(0), steps=5)) == 1


def test_sample_joint_uses_and_checks_the_T_it_was_trained_with(tmp_path):
    from crystal_tutorial import checkpoint
    from crystal_tutorial.joint_diffusion import JointConfig, load_joint, training_set
    from crystal_tutorial.joint_sampling import sample_joint
    config = JointConfig(hidden=8, embed=4, n_freq=2, n_rbf=4, T=6, max_steps=1, progress=False)
    model, _ = load_joint(checkpoint.save(tmp_path / "m.npz", config.build_model(training_set()), config))
    assert model.T == 6
    with pytest.raises(ValueError, match="T = 100 does not match the model's T = 6.*T=None"):
        sample_joint(model, 2, 1, np.random.default_rng(0), T=100)
    _, (lattices, _) = sample_joint(model, 2, 1, np.random.default_rng(0), record=True)  # T=None: the model's 6
    assert len(lattices) == 6 + 1
    assert len(sample_joint(model, 2, 1, np.random.default_rng(0), T=6)) == 1


def test_sample_torus_has_no_T_to_match():
    from crystal_tutorial.torus import TorusConfig, sample_torus
    model = TorusConfig(hidden=8, n_freq=2, progress=False).build_model()
    assert not hasattr(model, "T")                           # sigma-conditioned: any number of levels works
    for n_steps in (3, 7):
        assert len(sample_torus(model, 2, 1, np.random.default_rng(0), n_steps=n_steps, corrector_steps=0)) == 1
