"""Training: one loop for every model (``fit``), and the hello-world's DDPM step (Ho et al. 2020, Algorithm 1).

``fit(step, model, config)`` is the loop (the role of d2l's ``Trainer.fit``): it calls the model's own
``step(rng)`` once per optimiser step and does everything else the same way for every model of the
tutorial: Adam, the learning-rate schedule, gradient clipping, step budgets (same seed, same bytes),
divergence detection, the progress bar, callbacks and one result type, :class:`History`. A model
supplies only its loss-and-gradients step: the per-atom MLP's ``ddpm_step`` here, the pairwise
model's ``torus.score_step``, the joint model's ``joint_diffusion.joint_step``, the CSP model's
``csp.csp_step``.

The hello-world's step draws a mini-batch of structures, one timestep t ~ U{1..T} per structure and
Gaussian noise eps, forms x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps in one go
(``q_sample``), and returns || eps - eps_theta(x_t, t) ||^2 averaged over the real atoms.
Coordinates are the centred fractional coordinates x_0 = frac - 0.5 (diffusion.to_centered).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from . import checkpoint
from .checks import (
    MAX_CONFIG_INT,
    check_config_fields,
    check_crystal_list,
    check_int,
    check_number,
    check_positive,
    check_rng,
)
from .diffusion import MAX_T, cosine_schedule, linear_schedule, q_sample, to_centered
from .models import PerAtomMLP, masked_mse
from .nn import blas_threads
from .optim import Adam, clip_grad_norm

LR_DECAYS = ("steps", "time", "none")


@dataclass
class TrainConfig:
    """Hyperparameters of the hello-world run; defaults reproduce its README."""

    epochs: int = 100          # passes over the data set (the hello-world's 100)
    timesteps: int = 100       # T, number of diffusion steps
    lr: float = 1e-3           # Adam step size
    beta_start: float = 1e-4   # linear schedule: beta_1
    beta_end: float = 0.02     # linear schedule: beta_T
    schedule: str = "linear"   # "linear" (the hello-world's) or "cosine" (Nichol & Dhariwal 2021)
    hidden: int = 64           # hidden width of the per-atom MLP (64 gives 4,675 parameters)
    batch_size: int = 10       # structures per step; 10 = the whole demo set, padded to 8 atoms = 80 rows
    seed: int = 0              # initial weights, batches, timesteps and noise all come from this seed
    grad_clip: float | None = None  # clip the global gradient norm to this value (None: off)
    lr_decay: str = "none"     # the hello-world keeps lr fixed; "steps" decays it along a cosine (see fit)
    progress: bool = True      # show a tqdm progress bar
    blas_threads: int = 1      # one BLAS thread is fastest for these small matrices (benchmarks/bench_nn.py)

    def __post_init__(self):
        check_config_fields(self, ("epochs", "hidden", "batch_size", "blas_threads"), ("lr",), flags=("progress",),
                            seeds=("seed",), choices={"schedule": ("linear", "cosine"), "lr_decay": ("steps", "none")})
        check_int("timesteps", self.timesteps, 1, MAX_T)
        beta_start = check_number("beta_start", self.beta_start, 0, 1, low_open=True, high_open=True)
        beta_end = check_number("beta_end", self.beta_end, 0, 1, low_open=True, high_open=True)
        if beta_end < beta_start:
            raise ValueError(f"beta_end must be >= beta_start = {beta_start:g}, got {beta_end:g}")
        if self.grad_clip is not None:
            check_positive("grad_clip", self.grad_clip)

    def make_schedule(self):
        if self.schedule == "cosine":
            return cosine_schedule(self.timesteps)
        return linear_schedule(self.timesteps, self.beta_start, self.beta_end)


@dataclass
class History:
    """What happened during training (returned by :func:`fit`): one entry per optimiser step.

    ``losses`` (steps,) the mini-batch loss; ``seconds`` (steps,) the training time up to each step,
    time spent in callbacks excluded; ``records`` {name: (steps, ...)}: what the model's step returned
    besides its loss (loss parts, the timesteps drawn, ...); ``stopped_by``: "steps" (the budget),
    "time" (``max_seconds``) or "callback"; ``steps_per_epoch`` groups steps into epochs.
    """

    losses: np.ndarray = field(default_factory=lambda: np.zeros(0))     # (steps,)
    seconds: np.ndarray = field(default_factory=lambda: np.zeros(0))    # (steps,)
    records: dict = field(default_factory=dict)                         # name -> (steps, ...)
    stopped_by: str = "steps"
    steps_per_epoch: int = 1

    @property
    def n_steps(self) -> int:
        return len(self.losses)

    @property
    def train_seconds(self) -> float:
        return float(self.seconds[-1]) if len(self.seconds) else 0.0

    @property
    def epoch_losses(self) -> np.ndarray:
        """(epochs,) mean loss of each complete epoch."""
        k = self.steps_per_epoch
        n = len(self.losses) // k
        return self.losses[:n * k].reshape(n, k).mean(axis=1)

    @property
    def final_loss(self) -> float:
        return float(self.epoch_losses[-1])

    @property
    def timesteps(self) -> np.ndarray:
        """(steps, B) the diffusion steps t drawn (models whose step records ``"t"``)."""
        return self.records["t"]

    @property
    def atom_losses(self) -> np.ndarray:
        """(steps, B) the loss of each structure of the mini-batch (the per-atom MLP records it)."""
        return self.records["structure_loss"]

    def loss_by_timestep(self, n_buckets: int = 10, T: int | None = None):
        """Mean per-structure loss in ``n_buckets`` equal ranges of t: (bucket edges (n+1,), means (n,))."""
        t, loss = self.timesteps.reshape(-1), self.atom_losses.reshape(-1)
        T = int(t.max()) if T is None else T
        edges = np.linspace(0, T, n_buckets + 1)
        idx = np.clip(np.searchsorted(edges, t, side="left") - 1, 0, n_buckets - 1)
        means = np.array([loss[idx == k].mean() if np.any(idx == k) else np.nan for k in range(n_buckets)])
        return edges, means


def pad_batch(crystals):
    """Stack structures of different sizes: frac (S, N_max, 3) padded with zeros, mask (S, N_max)."""
    crystals = check_crystal_list("crystals", crystals)
    n_max = max(c.n_atoms for c in crystals)
    frac = np.zeros((len(crystals), n_max, 3))                         # (S, N, 3)
    mask = np.zeros((len(crystals), n_max), dtype=bool)               # (S, N)
    for s, c in enumerate(crystals):  # a loop over structures, not atoms
        frac[s, :c.n_atoms] = c.frac_coords
        mask[s, :c.n_atoms] = True
    return frac, mask


def build_model(config: TrainConfig, rng=None) -> PerAtomMLP:
    """The per-atom MLP that ``config`` describes, initialised from ``rng`` (default: config.seed)."""
    return PerAtomMLP(T=config.timesteps, hidden=config.hidden,
                      rng=np.random.default_rng(config.seed) if rng is None else rng)


class DivergenceCheck:
    """Stop training that diverged: ``update(loss)`` raises FloatingPointError, naming the learning rate,
    when the loss is not finite or the mean of the last ``window`` losses exceeds ``factor`` times the
    first step's loss. A single spike that training recovers from (Adam with a large step, notebook 03)
    passes; a loss that stays far up does not (measured on the hello-world MLP: lr = 0.3 jumps to 400x
    for one step and recovers, lr = 1 stays above 100x, lr = 10 reaches 1e10 at step 2). O(1) per step.
    """

    def __init__(self, lr: float, factor: float = 100.0, window: int = 10):
        self.lr = check_positive("lr", lr)
        self.factor = check_number("factor", factor, 1, 1e12)
        self.window = check_int("window", window, 1, 100_000)
        self.first, self.recent, self.step = None, [], 0

    def update(self, loss: float) -> None:
        self.step += 1
        if not np.isfinite(loss):
            raise FloatingPointError(f"training diverged at step {self.step}: the loss is {loss}. Lower the "
                                     f"learning rate (lr = {self.lr:g}).")
        self.first = loss if self.first is None else self.first
        self.recent = (self.recent + [loss])[-self.window:]
        mean = sum(self.recent) / len(self.recent)
        if len(self.recent) == self.window and mean > self.factor * self.first:
            raise FloatingPointError(f"training diverged at step {self.step}: the mean loss of the last "
                                     f"{self.window} steps, {mean:.3g}, is more than {self.factor:g} times the "
                                     f"first step's {self.first:.3g}. Lower the learning rate (lr = {self.lr:g}).")


class _Growing:
    """An array that grows along axis 0 by doubling: ``append`` is amortised O(1), ``view()`` is O(1)."""

    def __init__(self, row_shape=(), dtype=float):
        self.data, self.n = np.zeros((16, *row_shape), dtype=dtype), 0

    def append(self, row):
        if self.n == len(self.data):
            self.data = np.concatenate([self.data, np.zeros_like(self.data)])
        self.data[self.n] = row
        self.n += 1

    def view(self) -> np.ndarray:
        return self.data[:self.n]      # a view (no copy); later appends never change it


def epoch_batches(n: int, batch_size: int, rng):
    """Mini-batch indices, epoch after epoch: each epoch a fresh permutation of range(n) cut into full
    batches of ``batch_size`` (a remainder is left out, so every step sees the same number of rows)."""
    n = check_int("n", n, 1, MAX_CONFIG_INT)
    batch_size = check_int("batch_size", batch_size, 1, n)
    check_rng("rng", rng)
    while True:
        order = rng.permutation(n)
        for k in range(0, n - batch_size + 1, batch_size):
            yield order[k:k + batch_size]


def fit(step, model, config, callback=None, *, rng, max_steps: int | None = None, steps_per_epoch: int = 1,
        desc: str = "training") -> History:
    """Train ``model``: call ``step(rng)`` once per Adam step, up to the budget; returns a :class:`History`.

    ``step(rng)`` is the model's part: draw a mini-batch with ``rng``, run the model forward, and return
    ``(loss, grad_out)`` or ``(loss, grad_out, record)``: the loss, its gradient with respect to the
    model's output (a tuple for a model with several outputs; ``fit`` calls ``model.backward(grad_out)``)
    and a dict of values to keep for every step (``History.records``). ``fit`` does the rest, the same
    for every model:

    * Adam on ``model.parameters()`` with step size ``config.lr``, decayed to 0 along a cosine
      (Loshchilov & Hutter 2017) over the step budget (``config.lr_decay = "steps"``, the default, a
      function of the step: reproducible), over ``config.max_seconds`` ("time": for live demos only,
      NOT reproducible) or kept ("none");
    * the global gradient norm clipped to ``config.grad_clip`` (if the config has one and it is set);
    * a budget of ``max_steps`` steps (default ``config.max_steps``), or ``config.max_seconds`` of
      training time if the config has it, whichever comes first: a run that ends by steps gives the
      same weights, bit for bit, for the same seed;
    * :class:`DivergenceCheck`: a loss that is not finite or stays far above the first step's raises
      FloatingPointError naming the learning rate;
    * ``callback(step, history)`` after every step, with ``history`` a snapshot (views, O(1)); returning
      True stops training;
    * a tqdm progress bar (``config.progress``) and ``config.blas_threads`` BLAS threads.

    ``steps_per_epoch`` only groups the history into epochs (``History.epoch_losses``).
    """
    max_steps = getattr(config, "max_steps", None) if max_steps is None else max_steps
    max_seconds = getattr(config, "max_seconds", np.inf)
    lr_decay, grad_clip = getattr(config, "lr_decay", "steps"), getattr(config, "grad_clip", None)
    max_steps = check_int("max_steps", max_steps, 1, MAX_CONFIG_INT)
    steps_per_epoch = check_int("steps_per_epoch", steps_per_epoch, 1, MAX_CONFIG_INT)
    if lr_decay not in LR_DECAYS or (lr_decay == "time" and not np.isfinite(max_seconds)):
        raise ValueError(f"lr_decay must be one of {LR_DECAYS} ('time' needs a finite max_seconds), "
                         f"got {lr_decay!r}")
    check_rng("rng", rng)
    optimizer = Adam(model.parameters(), lr=config.lr)
    divergence = DivergenceCheck(config.lr)
    losses, seconds, records = _Growing(), _Growing(), {}
    from tqdm.auto import tqdm
    by_time = lr_decay == "time"                             # the bar counts seconds or steps
    bar = tqdm(total=max_seconds if by_time else max_steps, unit="s" if by_time else "step", desc=desc,
               disable=not config.progress, leave=False,
               bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f} s {postfix}" if by_time else None)
    stopped_by, start, in_callbacks = "steps", time.perf_counter(), 0.0

    def snapshot():
        return History(losses.view(), seconds.view(), {k: v.view() for k, v in records.items()},
                       stopped_by, steps_per_epoch)

    with blas_threads(config.blas_threads), np.errstate(over="ignore", invalid="ignore"):
        for i in range(max_steps):
            if lr_decay != "none":   # cosine decay over the budget
                trained = time.perf_counter() - start - in_callbacks
                used = i / max_steps if lr_decay == "steps" else trained / max_seconds
                optimizer.lr = 0.5 * config.lr * (1 + np.cos(np.pi * min(used, 1.0)))
            loss, grad_out, *record = step(rng)
            divergence.update(float(loss))                   # before backward: a NaN stops here, named
            if isinstance(grad_out, tuple):                  # a model with several outputs (joint, CSP)
                model.backward(*grad_out)
            else:
                model.backward(grad_out)
            grads = model.gradients()
            if grad_clip is not None:
                clip_grad_norm(grads, grad_clip)
            optimizer.step(grads)
            losses.append(float(loss))
            seconds.append(time.perf_counter() - start - in_callbacks)
            for name, value in (record[0] if record else {}).items():
                if name not in records:
                    records[name] = _Growing(np.shape(value), np.asarray(value).dtype)
                records[name].append(value)
            bar.update(min(seconds.view()[-1], max_seconds) - bar.n if by_time else 1)
            if i % 50 == 0:
                bar.set_postfix(loss=f"{losses.view()[-50:].mean():.4f}")
            if callback is not None:
                tic = time.perf_counter()
                stop = callback(i, snapshot())
                in_callbacks += time.perf_counter() - tic
                if stop:
                    stopped_by = "callback"
                    break
            if seconds.view()[-1] >= max_seconds:
                stopped_by = "time"
                break
    bar.close()
    final = snapshot()
    return History(final.losses.copy(), final.seconds.copy(), {k: v.copy() for k, v in final.records.items()},
                   stopped_by, steps_per_epoch)


# --- the hello-world's step ---------------------------------------------------------------------
def ddpm_step(model: PerAtomMLP, x0_all, mask_all, schedule, batches, rng):
    """One DDPM training step (Ho et al. 2020, Algorithm 1) of the per-atom MLP: (loss, dL/d(output), record).

    ``x0_all`` (S, N, 3) centred coordinates (0 on padding), ``mask_all`` (S, N), ``batches`` yields
    the indices of each mini-batch (:func:`epoch_batches`). ``training.fit`` backpropagates and steps.
    """
    idx = next(batches)
    x0, m = x0_all[idx], mask_all[idx]                       # (B, N, 3), (B, N)
    t = rng.integers(1, schedule.T + 1, size=len(idx))       # (B,) t ~ U{1..T}
    x_t, eps = q_sample(schedule, x0, t, rng=rng)            # (B, N, 3) each
    pred = model.forward(x_t, t, m)                          # (B, N, 3) predicted noise
    loss, grad = masked_mse(pred, eps, m)                    # || eps - eps_theta(x_t, t) ||^2
    err = ((pred - eps) ** 2).sum(axis=-1) * m               # (B, N) per-atom squared error
    return loss, grad, {"t": t, "structure_loss": err.sum(axis=1) / (3 * m.sum(axis=1))}


def train(model, dataset, config: TrainConfig | None = None, callback=None) -> History:
    """Train the per-atom MLP on ``dataset`` (a list of Crystals) with the DDPM epsilon loss: :func:`fit`
    with :func:`ddpm_step`. ``config.epochs`` passes over the data, one Adam step per full mini-batch
    (a reproducible step budget); ``callback(step, history)`` as in :func:`fit`."""
    config = TrainConfig() if config is None else config
    if getattr(model, "T", config.timesteps) != config.timesteps:
        raise ValueError(f"model.T = {model.T} but config.timesteps = {config.timesteps}: build them to match")
    frac, mask = pad_batch(dataset)
    x0_all = to_centered(frac) * mask[..., None]             # (S, N, 3) centred, 0 on padding
    schedule, rng = config.make_schedule(), np.random.default_rng(config.seed + 1)
    B = min(config.batch_size, len(x0_all))
    batches = epoch_batches(len(x0_all), B, rng)
    per_epoch = len(x0_all) // B
    return fit(lambda rng: ddpm_step(model, x0_all, mask, schedule, batches, rng), model, config, callback,
               rng=rng, max_steps=config.epochs * per_epoch, steps_per_epoch=per_epoch)


def load(path):
    """``(model, config)`` from a ``checkpoint.save(path, model, config)`` file of the per-atom MLP."""
    def build(meta):   # files written before checkpoint.save held the TrainConfig alone
        return build_model(TrainConfig(**(meta["train"] if "model" in meta else meta)))
    model, meta = checkpoint.load(path, build=build, what="per-atom MLP checkpoint")
    return model, TrainConfig(**(meta["train"] if "model" in meta else meta))
