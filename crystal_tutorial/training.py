"""Training a DDPM denoiser: Algorithm 1 of Ho et al. (2020), vectorised over mini-batches of structures.

Each step draws a mini-batch of structures, one timestep t ~ U{1..T} per structure and Gaussian
noise eps, forms x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps in one go (``q_sample``),
and takes an Adam step on || eps - eps_theta(x_t, t) ||^2 averaged over the real atoms.
Coordinates are the centred fractional coordinates x_0 = frac - 0.5 (diffusion.to_centered).
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .crystals import Crystal
from .diffusion import cosine_schedule, linear_schedule, q_sample, to_centered
from .models import PerAtomMLP, masked_mse
from .nn import Adam, blas_threads, clip_grad_norm, load_checkpoint, save_checkpoint


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
    progress: bool = True      # show a tqdm progress bar
    blas_threads: int = 1      # one BLAS thread is fastest for these small matrices (benchmarks/bench_nn.py)

    def __post_init__(self):
        for name in ("epochs", "timesteps", "hidden", "batch_size", "blas_threads"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not (np.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a positive number, got {self.lr!r}")
        if not (0 < self.beta_start <= self.beta_end < 1):
            raise ValueError(f"need 0 < beta_start <= beta_end < 1, got {self.beta_start}, {self.beta_end}")
        if self.schedule not in ("linear", "cosine"):
            raise ValueError(f"schedule must be 'linear' or 'cosine', got {self.schedule!r}")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ValueError(f"grad_clip must be positive or None, got {self.grad_clip!r}")

    def make_schedule(self):
        if self.schedule == "cosine":
            return cosine_schedule(self.timesteps)
        return linear_schedule(self.timesteps, self.beta_start, self.beta_end)


@dataclass
class History:
    """What happened during training: one entry per Adam step, plus per-epoch means."""

    losses: np.ndarray = field(default_factory=lambda: np.zeros(0))       # (steps,) mini-batch loss
    timesteps: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), int))  # (steps, B) t drawn
    atom_losses: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (steps, B) loss per structure
    epoch_losses: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (epochs,) mean loss per epoch
    train_seconds: float = 0.0  # wall time of training, without the time spent in callbacks

    @property
    def final_loss(self) -> float:
        return float(self.epoch_losses[-1])

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
    crystals = list(crystals)
    if not crystals or not all(isinstance(c, Crystal) for c in crystals):
        raise TypeError("expected a non-empty list of Crystal objects")
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
        self.lr, self.factor, self.window = lr, factor, window
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


def train(model, dataset, config: TrainConfig | None = None, callback=None) -> History:
    """Train ``model`` on ``dataset`` (a list of Crystals) with the DDPM epsilon loss; returns a History.

    ``config.epochs`` passes over the data (one Adam step per mini-batch), so the same config and
    seed give the same weights: the budget is a number of steps, never a time.
    ``callback(epoch, history)`` runs after every epoch (for live plots and time limits); returning
    True stops early. Its ``history`` is a view of the arrays so far, built in O(1) per call.
    A loss that is not finite, or stays far above the first step's (:class:`DivergenceCheck`), stops
    training with a FloatingPointError that names the learning rate.
    """
    config = TrainConfig() if config is None else config
    if getattr(model, "T", config.timesteps) != config.timesteps:
        raise ValueError(f"model.T = {model.T} but config.timesteps = {config.timesteps}: build them to match")
    frac, mask = pad_batch(dataset)
    x0_all = to_centered(frac) * mask[..., None]                      # (S, N, 3) centred, 0 on padding
    schedule = config.make_schedule()
    rng = np.random.default_rng(config.seed + 1)
    optimizer = Adam(model.parameters(), lr=config.lr)
    S, B = len(x0_all), min(config.batch_size, len(x0_all))
    losses, ts, per_struct, epoch_losses = _Growing(), _Growing((B,), int), _Growing((B,)), _Growing()
    divergence = DivergenceCheck(config.lr)
    from tqdm.auto import tqdm
    bar = tqdm(range(config.epochs), desc="training", disable=not config.progress, leave=False)
    start, callback_seconds = time.perf_counter(), 0.0
    with blas_threads(config.blas_threads), np.errstate(over="ignore", invalid="ignore"):
        for epoch in bar:
            order = rng.permutation(S)
            batch_losses = []
            for k in range(0, S - B + 1, B):  # full mini-batches only, so every step has B structures
                idx = order[k:k + B]
                x0, m = x0_all[idx], mask[idx]                          # (B, N, 3), (B, N)
                t = rng.integers(1, config.timesteps + 1, size=B)      # (B,) t ~ U{1..T}
                x_t, eps = q_sample(schedule, x0, t, rng=rng)          # (B, N, 3) each
                pred = model.forward(x_t, t, m)                        # (B, N, 3)
                loss, grad = masked_mse(pred, eps, m)
                divergence.update(loss)
                model.backward(grad)
                grads = model.gradients()
                if config.grad_clip is not None:
                    clip_grad_norm(grads, config.grad_clip)
                optimizer.step(grads)
                err = ((pred - eps) ** 2).sum(axis=-1) * m            # (B, N) per-atom squared error
                per_struct.append(err.sum(axis=1) / (3 * m.sum(axis=1)))
                losses.append(loss)
                ts.append(t)
                batch_losses.append(loss)
            epoch_losses.append(float(np.mean(batch_losses)))
            bar.set_postfix(loss=f"{epoch_losses.view()[-1]:.4f}")
            if callback is not None:  # O(1): the snapshot holds views of the arrays, not copies
                tic = time.perf_counter()
                snapshot = History(losses.view(), ts.view(), per_struct.view(), epoch_losses.view(),
                                   tic - start - callback_seconds)
                stop = callback(epoch, snapshot)
                callback_seconds += time.perf_counter() - tic
                if stop:
                    break
    bar.close()
    seconds = time.perf_counter() - start - callback_seconds  # time spent in callbacks excluded
    return History(losses.view().copy(), ts.view().copy(), per_struct.view().copy(), epoch_losses.view().copy(),
                   seconds)


def save(path, model, config: TrainConfig) -> Path:
    """Save the model's weights and its TrainConfig (as JSON) in one ``.npz`` (no pickle)."""
    return save_checkpoint(path, model, asdict(config))


def load(path):
    """Load ``(model, config)`` written by :func:`save`; a mismatching file raises ValueError."""
    model, meta = load_checkpoint(path, lambda meta: build_model(TrainConfig(**meta)), "per-atom MLP checkpoint")
    return model, TrainConfig(**meta)
