"""Optimisers: gradient clipping, SGD with momentum and Adam, on the parameter dicts of ``nn.Module``.

An optimiser takes ``model.parameters()`` (the arrays themselves) and updates them IN PLACE with
``step(model.gradients())``: the model keeps the same array objects. All parameters are seen as one
flat vector theta (P,), so each update is a few vector operations however many tensors the model has.
Checked against ``torch.optim`` to 1e-14 in tests/test_nn.py.
"""
from __future__ import annotations

import numpy as np

from .checks import check_bool, check_number, check_positive, describe
from .nn import Module

__all__ = ["clip_grad_norm", "SGD", "Adam"]


def clip_grad_norm(grads: dict, max_norm: float) -> float:
    """Scale all gradients IN PLACE so that their joint L2 norm is at most ``max_norm``.

    Returns the norm before clipping (as ``torch.nn.utils.clip_grad_norm_``; Pascanu et al. 2013).
    """
    max_norm = check_positive("max_norm", max_norm)
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
        lr, weight_decay = check_positive("lr", lr), check_number("weight_decay", weight_decay, 0)
        max_grad_norm = None if max_grad_norm is None else check_positive("max_grad_norm", max_grad_norm)
        self.params, self.lr, self.weight_decay, self.max_grad_norm = params, lr, weight_decay, max_grad_norm
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
        self.momentum = check_number("momentum", momentum, 0, 1, high_open=True)
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
        if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
            raise TypeError(f"betas must be a pair (beta1, beta2) with each in [0, 1), got {describe(betas)}")
        self.beta1 = check_number("betas[0] (beta1)", betas[0], 0, 1, high_open=True)
        self.beta2 = check_number("betas[1] (beta2)", betas[1], 0, 1, high_open=True)
        self.eps = check_positive("eps", eps)
        self.bias_correction = check_bool("bias_correction", bias_correction)
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
