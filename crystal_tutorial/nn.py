"""Neural networks from scratch: layers with hand-written backward passes, time embeddings, gradient checks.

Every layer has ``forward(x)``, which caches what the chain rule needs, and ``backward(grad_out)``
right beside it, which applies one chain-rule step: it returns dL/d(input) and stores
dL/d(parameter) in the layer (``dW``, ``db``). ``backward`` OVERWRITES the stored gradients (no
accumulation, so there is no ``zero_grad``): run one ``forward`` and then one ``backward`` per
step. To apply one layer to two inputs, stack them along a leading axis and call it once.

Layers take inputs of shape (..., d_in): any leading batch axes, e.g. (B, N, N, d) pair features;
parameter gradients are summed over all leading axes.

Composition: a ``Module`` finds parameters in its own ``_param_names`` and in every attribute that
is a Module or a list of Modules, so ``parameters()`` / ``gradients()`` return dicts with stable
dotted names such as ``"layers.0.W"``. The optimisers (``optim.py``: SGD, Adam) take
``model.parameters()`` and update those arrays IN PLACE; weights go to disk through ``checkpoint.py``.

Randomness: ``rng`` arguments take a ``np.random.Generator``, an int seed, or None (a fresh,
unseeded generator). Speed: for small matrices wrap training loops in ``blas_threads(1)``.
"""
from __future__ import annotations

import numpy as np

from .checks import check_array, check_choice, check_int, check_number, check_rng, check_seed, describe

MAX_WIDTH = 100_000  # widest layer: a (d_in, d_out) float64 matrix of 100k x 100k would need 80 GB

__all__ = ["Module", "Linear", "ReLU", "SiLU", "MLP", "mse_loss", "scalar_time_embedding",
           "sinusoidal_embedding", "gradient_check", "layer_gradient_check", "blas_threads"]


def _as_rng(rng):
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, (bool, np.bool_)):
        return np.random.default_rng(check_seed("rng (a seed)", rng))
    return check_rng("rng", rng)


def _as_input(name, x, last_dim=None):
    """``x`` as a float64 array with finite values and (optionally) last axis ``last_dim``."""
    return check_array(name, x, None if last_dim is None else ("...", last_dim))


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
        d_in, d_out = check_int("d_in", d_in, 1, MAX_WIDTH), check_int("d_out", d_out, 1, MAX_WIDTH)
        check_choice("init", init, self.INITS)
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
        if not isinstance(sizes, (list, tuple, np.ndarray)):
            raise TypeError(f"sizes must be a list of at least two positive ints [d_in, ..., d_out], "
                            f"got {describe(sizes)}")
        if len(sizes) < 2:
            raise ValueError(f"sizes must be a list of at least two positive ints [d_in, ..., d_out], got {sizes!r}")
        sizes = [check_int(f"sizes[{i}]", s, 1, MAX_WIDTH) for i, s in enumerate(sizes)]
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

    def config(self) -> dict:
        """The constructor arguments, to rebuild the same architecture (``checkpoint.load``)."""
        return {"sizes": list(self.sizes), "activation": self.activation}

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
    T = check_int("T", T, 1, 10**9)  # number of diffusion steps
    return (_as_timesteps(t, T) / T)[..., None]


def sinusoidal_embedding(t, dim: int, max_period: float = 10_000.0):
    """Sinusoidal features of t, shape (..., dim): [sin(t w_k), cos(t w_k)], w_k = max_period^(-k / (dim/2)).

    The Transformer's position encoding (Vaswani et al. 2017, section 3.5), used for the diffusion
    step by Ho et al. 2020 (appendix B). Low k resolve neighbouring steps, high k vary slowly.
    """
    if check_int("dim", dim, 2, MAX_WIDTH) % 2:
        raise ValueError(f"dim must be an even integer >= 2, got {dim!r}")
    max_period = check_number("max_period", max_period, 1, 1e12)
    t = _as_timesteps(t)
    w = max_period ** (-np.arange(dim // 2) / (dim // 2))  # (dim/2,) angular frequencies
    angles = t[..., None] * w                               # (..., dim/2)
    return np.concatenate([np.sin(angles), np.cos(angles)], axis=-1)


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
    eps = check_number("eps", eps, 0, 1, low_open=True)
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

def blas_threads(n: int = 1):
    """Context manager limiting BLAS (OpenBLAS/MKL) to ``n`` threads, through threadpoolctl.

    For this tutorial's small matrices (tens of rows to a few thousand), one thread is faster:
    ``with nn.blas_threads(1): train(...)``. Wrap a whole loop, not each step (entering costs ~0.1 ms).
    """
    n = check_int("n", n, 1, 1024)  # number of BLAS threads
    from threadpoolctl import threadpool_limits
    return threadpool_limits(limits=n, user_api="blas")
