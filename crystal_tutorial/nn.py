"""Neural networks from scratch: layers with hand-written backward passes, Adam, gradient checks.

Every layer has ``forward(x)``, which caches what the chain rule needs, and ``backward(grad_out)``
right beside it, which applies one chain-rule step: it returns dL/d(input) and stores
dL/d(parameter) in the layer (``dW``, ``db``). ``backward`` OVERWRITES the stored gradients (no
accumulation, so there is no ``zero_grad``): run one ``forward`` and then one ``backward`` per
step. To apply one layer to two inputs, stack them along a leading axis and call it once.

Layers take inputs of shape (..., d_in): any leading batch axes, e.g. (B, N, N, d) pair features;
parameter gradients are summed over all leading axes.

Composition: a ``Module`` finds parameters in its own ``_param_names`` and in every attribute that
is a Module or a list of Modules, so ``parameters()`` / ``gradients()`` return dicts with stable
dotted names such as ``"layers.0.W"``. Optimisers take ``model.parameters()`` and update those
arrays IN PLACE (the model keeps the same array objects); ``step(model.gradients())``.

Randomness: ``rng`` arguments take a ``np.random.Generator``, an int seed, or None (a fresh,
unseeded generator). Speed: for small matrices wrap training loops in ``blas_threads(1)``.
The last section holds notebook 03's toy regression and the pure render function of its sliders.
"""
from __future__ import annotations

import json
from numbers import Real
from pathlib import Path

import numpy as np

__all__ = ["Module", "Linear", "ReLU", "SiLU", "MLP", "mse_loss", "scalar_time_embedding",
           "sinusoidal_embedding", "clip_grad_norm", "SGD", "Adam", "gradient_check",
           "layer_gradient_check", "save_weights", "load_weights", "save_checkpoint", "load_checkpoint",
           "blas_threads"]


def _as_rng(rng):
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a np.random.Generator, an int seed or None, got {type(rng).__name__}")
    return rng


def _as_input(name, x, last_dim=None):
    """``x`` as a float64 array with finite values and (optionally) last axis ``last_dim``."""
    try:
        x = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of numbers, got {type(x).__name__}: {exc}") from None
    if last_dim is not None and (x.ndim == 0 or x.shape[-1] != last_dim):
        raise ValueError(f"{name} must have shape (..., {last_dim}), got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return x


class Module:
    """Base class: named parameters and gradients over a tree of submodules.

    A subclass lists its own parameters in ``_param_names`` (e.g. ``("W", "b")``) and keeps each
    gradient in the attribute ``"d" + name``. Submodules are found in attributes that are Modules
    or lists of Modules, in the order they were assigned. A composed model only writes
    ``forward`` and ``backward``; parameters, gradients, optimisers and weight files just work::

        class Residual(Module):
            def __init__(self, d, rng=None):
                self.mlp = MLP([d, 2 * d, d], rng=rng)       # names "mlp.layers.0.W", ...
            def forward(self, x):                            # (..., d) -> (..., d)
                return x + self.mlp.forward(x)
            def backward(self, grad_out):                    # d(x + f(x))/dx = 1 + f'(x)
                return grad_out + self.mlp.backward(grad_out)
    """

    _param_names: tuple = ()

    def _children(self):
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value
            elif isinstance(value, (list, tuple)) and value and isinstance(value[0], Module):
                for i, v in enumerate(value):  # a list of submodules, e.g. MLP.layers
                    yield f"{name}.{i}", v

    def parameters(self, prefix: str = "") -> dict[str, np.ndarray]:
        """The parameter arrays themselves (not copies), by dotted name."""
        out = {prefix + n: getattr(self, n) for n in self._param_names}
        for name, child in self._children():
            out.update(child.parameters(f"{prefix}{name}."))
        return out

    def gradients(self, prefix: str = "") -> dict[str, np.ndarray]:
        """dL/d(parameter) from the last ``backward``, with the same names as ``parameters()``."""
        out = {prefix + n: getattr(self, "d" + n) for n in self._param_names}
        for name, child in self._children():
            out.update(child.gradients(f"{prefix}{name}."))
        return out

    @property
    def n_parameters(self) -> int:
        return sum(p.size for p in self.parameters().values())

    def __call__(self, x):
        return self.forward(x)

    def _check_grad_out(self, grad_out, shape):
        """Validated ``grad_out``: backward must follow a forward whose output had ``shape``."""
        if getattr(self, "_out_shape", None) is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        grad_out = _as_input("grad_out", grad_out)
        if grad_out.shape != shape:
            raise ValueError(f"grad_out must have the shape of the last forward output {shape}, "
                             f"got {grad_out.shape}")
        return grad_out


class Linear(Module):
    """Affine map ``y = x @ W + b`` with ``W`` (d_in, d_out) and ``b`` (d_out,), on x (..., d_in).

    ``init="he"``: W ~ N(0, 2 / d_in), which keeps the activation variance through ReLU layers
    (He et al. 2015, eq. 10). ``init="glorot"``: W ~ N(0, 2 / (d_in + d_out)) (Glorot & Bengio
    2010, eq. 12 in its normal form). ``init="zeros"``: W = 0 (a network that starts at its bias).
    Biases start at zero. ``rng``: Generator, int seed or None.
    """

    _param_names = ("W", "b")
    INITS = ("he", "glorot", "zeros")

    def __init__(self, d_in: int, d_out: int, rng=None, init: str = "he"):
        for name, d in (("d_in", d_in), ("d_out", d_out)):
            if not isinstance(d, (int, np.integer)) or isinstance(d, bool) or d < 1:
                raise ValueError(f"{name} must be a positive int, got {d!r}")
        if init not in self.INITS:
            raise ValueError(f"init must be one of {self.INITS}, got {init!r}")
        rng = _as_rng(rng)
        std = {"he": np.sqrt(2.0 / d_in), "glorot": np.sqrt(2.0 / (d_in + d_out)), "zeros": 0.0}[init]
        self.W = rng.standard_normal((d_in, d_out)) * std  # (d_in, d_out)
        self.b = np.zeros(d_out)                            # (d_out,)
        self.dW, self.db = np.zeros_like(self.W), np.zeros_like(self.b)
        self._out_shape = None

    def forward(self, x):
        x = _as_input("x", x, self.W.shape[0])              # (..., d_in)
        # Cached for backward; a view of x, so do not edit x in place before backward.
        self.x2 = x.reshape(-1, x.shape[-1])                 # (M, d_in), M = product of leading axes
        y = self.x2 @ self.W                                 # (M, d_out)
        y += self.b
        self._out_shape = x.shape[:-1] + (self.W.shape[1],)
        return y.reshape(self._out_shape)                    # (..., d_out)

    def backward(self, grad_out):
        g2 = self._check_grad_out(grad_out, self._out_shape).reshape(-1, self.W.shape[1])  # (M, d_out)
        np.matmul(self.x2.T, g2, out=self.dW)               # dL/dW = x^T G        (d_in, d_out)
        np.sum(g2, axis=0, out=self.db)                      # dL/db = sum_rows G   (d_out,)
        return (g2 @ self.W.T).reshape(self._out_shape[:-1] + (self.W.shape[0],))  # dL/dx = G W^T


class ReLU(Module):
    """``relu(z) = max(z, 0)``; its derivative is the indicator 1[z > 0] (0 at z = 0)."""

    def forward(self, z):
        z = _as_input("z", z)
        self.positive = z > 0                                # (...) bool mask, what backward needs
        self._out_shape = z.shape
        return z * self.positive

    def backward(self, grad_out):
        return self._check_grad_out(grad_out, self._out_shape) * self.positive


class SiLU(Module):
    """``silu(z) = z * sigmoid(z)`` (Hendrycks & Gimpel 2016; Ramachandran et al. 2017 "swish").

    Derivative: sigmoid(z) * (1 + z * (1 - sigmoid(z))). Smooth, so finite differences agree
    everywhere (ReLU's kink at 0 can fool a gradient check).
    """

    def forward(self, z):
        self.z = _as_input("z", z)
        self.sig = 0.5 * (1.0 + np.tanh(0.5 * self.z))      # sigmoid, without overflow warnings
        self._out_shape = self.z.shape
        return self.z * self.sig

    def backward(self, grad_out):
        g = self._check_grad_out(grad_out, self._out_shape)
        return g * self.sig * (1.0 + self.z * (1.0 - self.sig))


ACTIVATIONS = {"relu": ReLU, "silu": SiLU}


class MLP(Module):
    """Multilayer perceptron: Linear, activation, ..., Linear (no activation after the last).

    ``MLP([4, 64, 64, 3])`` is the hello-world denoiser: 4*64+64 + 64*64+64 + 64*3+3 = 4,675
    parameters, named ``layers.0.W``, ``layers.0.b``, ..., ``layers.2.b``. Hidden layers use He
    initialisation, the output layer Glorot.
    """

    def __init__(self, sizes, activation: str = "relu", rng=None):
        sizes = list(sizes) if isinstance(sizes, (list, tuple, np.ndarray)) else sizes
        if (not isinstance(sizes, list) or len(sizes) < 2
                or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 1 for s in sizes)):
            raise ValueError(f"sizes must be a list of at least two positive ints [d_in, ..., d_out], got {sizes!r}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {tuple(ACTIVATIONS)}, got {activation!r}")
        rng = _as_rng(rng)
        self.sizes, self.activation = [int(s) for s in sizes], activation
        n = len(sizes) - 1
        self.layers = [Linear(sizes[i], sizes[i + 1], rng, init="he" if i < n - 1 else "glorot") for i in range(n)]
        self.activations = [ACTIVATIONS[activation]() for _ in range(n - 1)]

    def forward(self, x):
        h = self.layers[0].forward(x)                        # (..., sizes[1])
        for act, layer in zip(self.activations, self.layers[1:]):
            h = layer.forward(act.forward(h))                # (..., sizes[i + 1])
        return h                                             # (..., sizes[-1])

    def backward(self, grad_out):
        g = self.layers[-1].backward(grad_out)               # chain rule, last layer first
        for act, layer in zip(reversed(self.activations), reversed(self.layers[:-1])):
            g = layer.backward(act.backward(g))
        return g                                             # (..., sizes[0]) dL/dx

    def __repr__(self):
        return f"MLP({self.sizes}, activation={self.activation!r}) with {self.n_parameters:,} parameters"


def mse_loss(pred, target):
    """Mean squared error ``L = mean((pred - target)^2)`` and its gradient ``2 (pred - target) / size``."""
    pred, target = _as_input("pred", pred), _as_input("target", target)
    if pred.shape != target.shape:
        raise ValueError(f"pred and target must have the same shape, got {pred.shape} and {target.shape}")
    diff = pred - target
    return float(np.mean(diff * diff)), (2.0 / diff.size) * diff


# ---- time embeddings: how the denoiser is told the diffusion step t (an input, so no backward) ----

def _as_timesteps(t, T=None):
    t = _as_input("t", t)
    if np.any(t < 0) or (T is not None and np.any(t > T)):
        raise ValueError(f"t must lie in [0, {T if T is not None else 'inf'}], got values in [{t.min()}, {t.max()}]")
    return t


def scalar_time_embedding(t, T: int):
    """The hello-world's time input: ``t / T`` in [0, 1] as one extra feature, shape (..., 1)."""
    if not isinstance(T, (int, np.integer)) or T < 1:
        raise ValueError(f"T must be a positive int (number of diffusion steps), got {T!r}")
    return (_as_timesteps(t, T) / T)[..., None]


def sinusoidal_embedding(t, dim: int, max_period: float = 10_000.0):
    """Sinusoidal features of t, shape (..., dim): [sin(t w_k), cos(t w_k)], w_k = max_period^(-k / (dim/2)).

    The Transformer's position encoding (Vaswani et al. 2017, section 3.5), used for the diffusion
    step by Ho et al. 2020 (appendix B). Low k resolve neighbouring steps, high k vary slowly.
    """
    if not isinstance(dim, (int, np.integer)) or dim < 2 or dim % 2:
        raise ValueError(f"dim must be an even int >= 2, got {dim!r}")
    t = _as_timesteps(t)
    w = max_period ** (-np.arange(dim // 2) / (dim // 2))  # (dim/2,) angular frequencies
    angles = t[..., None] * w                               # (..., dim/2)
    return np.concatenate([np.sin(angles), np.cos(angles)], axis=-1)


# ---- optimisers ----

def clip_grad_norm(grads: dict, max_norm: float) -> float:
    """Scale all gradients IN PLACE so that their joint L2 norm is at most ``max_norm``.

    Returns the norm before clipping (as ``torch.nn.utils.clip_grad_norm_``; Pascanu et al. 2013).
    """
    if not (isinstance(max_norm, Real) and max_norm > 0):
        raise ValueError(f"max_norm must be a positive number, got {max_norm!r}")
    norm = float(np.sqrt(sum(float(np.vdot(g, g)) for g in grads.values())))
    if norm > max_norm:
        for g in grads.values():
            g *= max_norm / norm
    return norm


class _Optimizer:
    """Shared by SGD and Adam: validation, and all parameters seen as one flat vector theta (P,)."""

    def __init__(self, params, lr, weight_decay, max_grad_norm):
        if isinstance(params, Module):
            params = params.parameters()
        if not isinstance(params, dict) or not params or not all(
                isinstance(p, np.ndarray) and p.dtype == np.float64 for p in params.values()):
            raise TypeError("params must be a non-empty dict of float64 arrays, e.g. model.parameters()")
        if not (isinstance(lr, Real) and np.isfinite(lr) and lr > 0):
            raise ValueError(f"lr must be a positive number, got {lr!r}")
        if not (isinstance(weight_decay, Real) and weight_decay >= 0):
            raise ValueError(f"weight_decay must be a number >= 0, got {weight_decay!r}")
        if max_grad_norm is not None and not (isinstance(max_grad_norm, Real) and max_grad_norm > 0):
            raise ValueError(f"max_grad_norm must be a positive number or None, got {max_grad_norm!r}")
        self.params, self.lr, self.weight_decay, self.max_grad_norm = params, float(lr), weight_decay, max_grad_norm
        self.names = list(params)
        self._ends = np.cumsum([p.size for p in params.values()])  # slice ends in the flat vector
        self.t = 0                                                  # steps taken
        self.last_grad_norm = None

    def _flat_grad(self, grads):
        """Gradient dict -> g (P,), after weight decay and clipping; validated."""
        if not isinstance(grads, dict) or grads.keys() != self.params.keys():
            got = set(grads) if isinstance(grads, dict) else type(grads).__name__
            raise ValueError(f"grads must be a dict with the keys of params {sorted(self.params)}, got {got}")
        for n in self.names:
            if np.shape(grads[n]) != self.params[n].shape:
                raise ValueError(f"grads[{n!r}] must have shape {self.params[n].shape}, got {np.shape(grads[n])}")
        g = np.concatenate([np.ravel(grads[n]) for n in self.names]).astype(np.float64, copy=False)  # (P,)
        if not np.isfinite(g).all():
            bad = [n for n in self.names if not np.isfinite(grads[n]).all()]
            raise ValueError(f"gradients {bad} contain NaN or infinite values (diverged? lower lr or clip)")
        if self.weight_decay:
            g += self.weight_decay * np.concatenate([p.ravel() for p in self.params.values()])
        self.last_grad_norm = float(np.sqrt(g @ g))
        if self.max_grad_norm is not None and self.last_grad_norm > self.max_grad_norm:
            g *= self.max_grad_norm / self.last_grad_norm
        return g

    def _apply(self, delta):
        """theta <- theta - delta, in place in every parameter array."""
        start = 0
        for p, end in zip(self.params.values(), self._ends):
            p -= delta[start:end].reshape(p.shape)
            start = end


class SGD(_Optimizer):
    """Stochastic gradient descent, optionally with heavy-ball momentum (PyTorch's convention).

    ``buf = momentum * buf + g``; ``theta = theta - lr * buf``. ``weight_decay`` adds
    ``weight_decay * theta`` to g; ``max_grad_norm`` clips g first.
    """

    def __init__(self, params, lr: float, momentum: float = 0.0, weight_decay: float = 0.0, max_grad_norm=None):
        super().__init__(params, lr, weight_decay, max_grad_norm)
        if not (isinstance(momentum, Real) and 0 <= momentum < 1):
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        self.momentum = momentum
        self.buf = np.zeros(self._ends[-1])                 # (P,)

    def step(self, grads):
        g = self._flat_grad(grads)
        self.t += 1
        if self.momentum:
            self.buf *= self.momentum
            self.buf += g
            g = self.buf
        self._apply(self.lr * g)


class Adam(_Optimizer):
    """Adam, Algorithm 1 of Kingma & Ba 2015 (arXiv:1412.6980), with t = 1, 2, ...:

        m_t = beta1 m_{t-1} + (1 - beta1) g_t          (first moment, running mean of g)
        v_t = beta2 v_{t-1} + (1 - beta2) g_t^2        (second moment, running mean of g^2)
        m_hat = m_t / (1 - beta1^t),  v_hat = v_t / (1 - beta2^t)   (bias correction, section 3)
        theta_t = theta_{t-1} - lr * m_hat / (sqrt(v_hat) + eps)

    ``bias_correction=False`` drops the two divisions (only to show why they matter).
    ``weight_decay`` adds ``weight_decay * theta`` to g (L2, as ``torch.optim.Adam``);
    ``max_grad_norm`` clips g to that joint L2 norm first.
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, max_grad_norm=None, bias_correction: bool = True):
        super().__init__(params, lr, weight_decay, max_grad_norm)
        if not (isinstance(betas, (tuple, list)) and len(betas) == 2
                and all(isinstance(b, Real) and 0 <= b < 1 for b in betas)):
            raise ValueError(f"betas must be a pair (beta1, beta2) with each in [0, 1), got {betas!r}")
        if not (isinstance(eps, Real) and eps > 0):
            raise ValueError(f"eps must be a positive number, got {eps!r}")
        self.beta1, self.beta2 = float(betas[0]), float(betas[1])
        self.eps, self.bias_correction = float(eps), bias_correction
        self.m, self.v = np.zeros(self._ends[-1]), np.zeros(self._ends[-1])  # (P,) moments

    def step(self, grads):
        g = self._flat_grad(grads)                           # (P,) g_t
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        self.m *= b1
        self.m += (1 - b1) * g                               # m_t
        self.v *= b2
        self.v += (1 - b2) * (g * g)                         # v_t
        m_hat, v_hat = self.m, self.v
        if self.bias_correction:
            m_hat, v_hat = self.m / (1 - b1 ** self.t), self.v / (1 - b2 ** self.t)
        self._apply(self.lr * m_hat / (np.sqrt(v_hat) + self.eps))


# ---- gradient checks ----

def gradient_check(f, params: dict, eps: float = 1e-6, max_per_tensor=None, rng=None) -> dict[str, float]:
    """Compare analytic gradients with central differences; relative error per parameter tensor.

    ``f()`` computes the loss at the current values of ``params`` and returns ``(loss, grads)``,
    the analytic gradients as a dict with the keys of ``params``. Each entry theta_i is nudged IN
    PLACE (and restored): numeric_i = (L(theta_i + eps) - L(theta_i - eps)) / (2 eps), error
    O(eps^2). Returns ``{name: ||analytic - numeric|| / max(||analytic||, ||numeric||)}``
    (0 when both vanish). cs231n's thresholds: < 1e-7 good, > 1e-2 wrong. ``max_per_tensor``
    checks only that many random entries (from ``rng``) of each tensor, for big models.
    """
    if not callable(f):
        raise TypeError(f"f must be a callable returning (loss, grads), got {type(f).__name__}")
    if not (isinstance(eps, Real) and eps > 0):
        raise ValueError(f"eps must be a positive number, got {eps!r}")
    out = f()
    if not (isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], dict)):
        raise TypeError("f() must return (loss, grads) with grads a dict of arrays")
    missing = set(params) - set(out[1])
    if missing:
        raise ValueError(f"f() returned no gradients for {sorted(missing)}")
    analytic = {n: np.array(out[1][n], dtype=np.float64) for n in params}  # copies: f() overwrites
    wrong = [f"{n}: {analytic[n].shape} != {p.shape}" for n, p in params.items() if analytic[n].shape != p.shape]
    if wrong:
        raise ValueError(f"f() returned gradients whose shapes differ from the parameters: {wrong}")
    rng = _as_rng(rng)
    errors = {}
    for name, p in params.items():
        idx = np.arange(p.size) if max_per_tensor is None or max_per_tensor >= p.size \
            else rng.choice(p.size, max_per_tensor, replace=False)
        numeric = np.empty(len(idx))
        for k, i in enumerate(idx):
            ii = np.unravel_index(i, p.shape)
            old = p[ii]
            p[ii] = old + eps
            loss_plus = float(f()[0])
            p[ii] = old - eps
            loss_minus = float(f()[0])
            p[ii] = old
            numeric[k] = (loss_plus - loss_minus) / (2 * eps)
        a = analytic[name].reshape(-1)[idx]
        scale = max(np.linalg.norm(a), np.linalg.norm(numeric))
        errors[name] = float(np.linalg.norm(a - numeric) / scale) if scale > 0 else 0.0
    return errors


def layer_gradient_check(layer, x, eps: float = 1e-6, rng=None) -> dict[str, float]:
    """Gradient check of one layer (or model) for its input ``x`` and all its parameters.

    Uses the loss L = sum(w * layer(x)) with a fixed random w, so dL/d(output) = w. Returns the
    relative errors of ``gradient_check``, the input's under the key ``"input"``.
    """
    x = _as_input("x", x).copy()
    rng = _as_rng(rng)
    w = rng.standard_normal(np.shape(layer.forward(x)))    # (..., d_out) fixed upstream gradient

    def f():
        loss = float(np.sum(w * layer.forward(x)))
        grads = {"input": layer.backward(w)}
        grads.update(layer.gradients())
        return loss, grads

    return gradient_check(f, {"input": x, **layer.parameters()}, eps=eps)


# ---- weights on disk ----
# An .npz file is a zip archive of .npy files. We write it ourselves (uncompressed, as np.savez does) with
# a fixed timestamp, so the same weights give the same bytes, through files.atomic_path (a failed save
# never destroys the previous file). We read it by checking every member's .npy header (name, dtype,
# shape) before reading any data, so a damaged or hostile file (a text file renamed .npz, a truncated
# download, a small file whose member inflates to gigabytes) is refused with one clear ValueError.

MAX_ARRAY_BYTES = 64 * 2**20   # no model here comes near (the largest, the joint model, has ~45k parameters)
MAX_CONFIG_CHARS = 2**16       # the JSON metadata of a checkpoint is a few hundred characters
MAX_CONFIG_INT = 4096          # widths, frequencies and steps in a checkpoint's architecture stay below this
_SIZE_KEYS = ("sizes", "hidden", "n_freq", "n_rbf", "embed", "vocab", "cond_dim")  # metadata that sets array sizes
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date zip can store: no clock in the file


def _npz_path(path) -> Path:
    path = Path(path)
    return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")


def write_npz(path, arrays: dict) -> Path:
    """Write ``{name: array}`` as an uncompressed ``.npz`` (no pickle), atomically and byte-reproducibly."""
    import zipfile

    from .files import atomic_path
    path = _npz_path(path)
    with atomic_path(path) as tmp:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
            for name, value in arrays.items():
                info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_DATE)
                info.external_attr = 0o644 << 16
                with zf.open(info, "w", force_zip64=True) as fh:
                    np.lib.format.write_array(fh, np.asanyarray(value), allow_pickle=False)
    return path


def _read_header(fh):
    """(shape, dtype) from an open .npy stream, reading the header only (no data, no pickle)."""
    version = np.lib.format.read_magic(fh)
    read = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}.get(version)
    if read is None:
        raise ValueError(f"unsupported .npy format version {version}")
    shape, _, dtype = read(fh, max_header_size=10_000)
    return shape, dtype


class _NpzReader:
    """The members of an .npz file by name, headers first: ``headers[name] = (shape, dtype)``, then ``read(name)``."""

    def __init__(self, path, what: str):
        import zipfile
        self.path, self.what = Path(path), what
        if not self.path.is_file():
            raise FileNotFoundError(f"no weights file at {self.path}")
        try:
            self.zip = zipfile.ZipFile(self.path)
            self.members = {i.filename[:-4]: i for i in self.zip.infolist() if i.filename.endswith(".npy")}
            if len(self.members) != len(self.zip.infolist()):
                raise ValueError("it holds members that are not .npy arrays")
            self.headers = {}
            for name, info in self.members.items():
                with self.zip.open(info) as fh:
                    self.headers[name] = _read_header(fh)
        except Exception as exc:  # zipfile.BadZipFile, EOFError, zlib.error, OSError, ValueError, ...
            self.fail(f"{type(exc).__name__}: {exc}" if not isinstance(exc, ValueError) else str(exc))

    def fail(self, reason):
        raise ValueError(f"{self.path} is not a {self.what} file: {reason}") from None

    def check_float(self, name, shape=None):
        """Refuse (before reading) an array that is not a float array of ``shape`` or is too large."""
        got, dtype = self.headers[name]
        if dtype.kind != "f" or dtype.itemsize > 8:
            self.fail(f"array {name!r} has dtype {dtype}, expected float32 or float64 "
                      "(other arrays would need pickle, which can run code: refused)")
        nbytes = int(np.prod(got, dtype=np.float64)) * dtype.itemsize
        if nbytes > MAX_ARRAY_BYTES:
            self.fail(f"array {name!r} of shape {got} would need {nbytes / 2**20:.0f} MiB, more than any model "
                      f"here ({MAX_ARRAY_BYTES // 2**20} MiB); refused before reading it")
        if shape is not None and tuple(got) != tuple(shape):
            return f"{name}: file {tuple(got)}, model {tuple(shape)}"
        return None

    def read(self, name):
        try:
            with self.zip.open(self.members[name]) as fh:
                return np.lib.format.read_array(fh, allow_pickle=False)
        except Exception as exc:  # a member cut short or corrupted after its header
            self.fail(f"array {name!r} cannot be read ({type(exc).__name__}: {exc})")

    def close(self):
        self.zip.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _copy_in(reader: _NpzReader, params: dict, names: dict, module) -> None:
    """Check the file's arrays ``names`` (file name -> parameter name) against ``params``, then copy them in."""
    inverse = {v: k for k, v in names.items()}
    missing, extra = sorted(set(params) - set(inverse)), sorted(set(inverse) - set(params))
    wrong = [w for k in params if k in inverse for w in [reader.check_float(inverse[k], params[k].shape)] if w]
    problems = [f"{what} {items}" for what, items in
                (("missing", missing), ("unexpected", extra), ("shape mismatch", wrong)) if items]
    if problems:
        raise ValueError(f"weights in {reader.path} do not fit {module!r}: {'; '.join(problems)}")
    arrays = {k: reader.read(inverse[k]) for k in params}   # every check passed: now read the data
    for k, p in params.items():
        p[...] = arrays[k]


def save_weights(path, module: Module) -> Path:
    """Save ``module.parameters()`` to an ``.npz`` file (".npz" is appended if missing); atomic."""
    return write_npz(path, module.parameters())


def load_weights(path, module: Module) -> Module:
    """Copy the arrays of an ``.npz`` file into ``module``'s parameters (in place; no pickle).

    Raises ValueError naming the file and every missing, unexpected or wrongly shaped array (checked
    from the array headers before any data is read); nothing is changed then.
    """
    with _NpzReader(path, "weights") as reader:
        for name in reader.headers:
            reader.check_float(name)
        _copy_in(reader, module.parameters(), {k: k for k in reader.headers}, module)
    return module


def save_checkpoint(path, module: Module, meta: dict, dtype=np.float64) -> Path:
    """Weights plus JSON metadata (architecture, training config, ...) in one ``.npz`` file.

    The metadata is stored as a JSON string, so loading needs no pickle. ``dtype=np.float32``
    halves the file (the shipped weights use it); loading casts back to float64. The write is
    atomic and reproducible: the same weights and metadata give the same bytes.
    """
    arrays = {f"weights/{k}": np.asarray(v).astype(dtype) for k, v in module.parameters().items()}
    return write_npz(path, {"config": np.array(json.dumps(meta)), **arrays})


def _check_meta_sizes(value, where="config"):
    """Refuse architecture numbers no model here uses, before ``build`` allocates weights of that size."""
    if isinstance(value, dict):
        for k, v in value.items():
            _check_meta_sizes(v, f"{where}.{k}")
    elif isinstance(value, list):
        if len(value) > MAX_CONFIG_INT:
            raise ValueError(f"{where} lists {len(value)} entries, more than {MAX_CONFIG_INT}")
        for v in value:
            _check_meta_sizes(v, where)
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_CONFIG_INT:
        raise ValueError(f"{where} = {value} is larger than any model here uses (<= {MAX_CONFIG_INT})")


def load_checkpoint(path, build, what: str = "checkpoint"):
    """Read a :func:`save_checkpoint` file: ``module = build(meta)``, then copy the weights in.

    Returns ``(module, meta)``. A missing file raises FileNotFoundError; a file that is not such a
    checkpoint (not a zip, truncated, empty, other arrays, too large, ...), or whose arrays do not fit
    the module, raises ValueError naming the file and what is wrong. Names, dtypes and shapes are
    checked from the array headers before any array data is read.
    """
    with _NpzReader(path, what) as reader:
        if "config" not in reader.headers:
            reader.fail("it has no 'config' array (JSON metadata)")
        shape, dtype = reader.headers["config"]
        if shape != () or dtype.kind != "U" or dtype.itemsize // 4 > MAX_CONFIG_CHARS:
            reader.fail(f"its 'config' is {dtype}{list(shape)}, expected one JSON string")
        weights = [k for k in reader.headers if k.startswith("weights/")]
        extra = sorted(set(reader.headers) - set(weights) - {"config"})
        if extra:
            reader.fail(f"unexpected arrays {extra}")
        for name in weights:
            reader.check_float(name)
        try:
            meta = json.loads(str(reader.read("config")))
            if not isinstance(meta, dict):
                raise ValueError(f"its metadata is a {type(meta).__name__}, expected a JSON object")
            sizes = meta["model"] if isinstance(meta.get("model"), dict) else meta
            _check_meta_sizes({k: v for k, v in sizes.items() if k in _SIZE_KEYS})
            module = build(meta)
        except (KeyError, TypeError, ValueError, MemoryError) as exc:
            reader.fail(f"{type(exc).__name__}: {exc}")
        _copy_in(reader, module.parameters(), {k: k[len("weights/"):] for k in weights}, module)
    return module, meta


def blas_threads(n: int = 1):
    """Context manager limiting BLAS (OpenBLAS/MKL) to ``n`` threads, through threadpoolctl.

    For this tutorial's small matrices (tens of rows to a few thousand), one thread is faster:
    ``with nn.blas_threads(1): train(...)``. Wrap a whole loop, not each step (entering costs ~0.1 ms).
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive int (number of BLAS threads), got {n!r}")
    from threadpoolctl import threadpool_limits
    return threadpool_limits(limits=int(n), user_api="blas")
