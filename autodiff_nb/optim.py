"""Optimizers: the "step" of the lecture's four steps (forward, loss, backward, step).

Each ``step()`` reads every parameter's ``.grad`` and changes its ``.data``
in place with PyTorch's update formulas, term by term, so that the same
settings give the same numbers as ``torch.optim``. Changing ``.data`` marks
the parameter as modified: a graph recorded before the step can no longer be
backpropagated, which catches the classic "step between forward and
backward" mistake.
"""
from __future__ import annotations

import numpy as np


class Optimizer:
    """Holds the parameters and per-parameter state; subclasses write ``_update``."""

    def __init__(self, params, lr):
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty list of parameters")
        if not lr > 0:
            raise ValueError(f"{type(self).__name__}: expected a learning rate lr > 0, got {lr}")
        self.lr = lr
        self.state = [{} for _ in self.params]

    def zero_grad(self):
        """Forget the gradients of the last backward (``.grad = None``, as PyTorch)."""
        for p in self.params:
            p.grad = None

    def step(self):
        """Update every parameter that has a gradient (NumPy on ``.data``: nothing is recorded)."""
        for p, state in zip(self.params, self.state):
            if p.grad is not None:
                self._update(p, p.grad, state)

    def _update(self, p, grad, state):
        raise NotImplementedError

    @staticmethod
    def _move(p, step):
        """``p.data -= step``: in place, or into a new array while a graph still reads p.

        A graph recorded before the step (no backward yet) keeps its arrays
        read-only; it keeps the values it recorded, and refuses to
        backpropagate once ``p`` has new ones.
        """
        data = p.data
        if data.flags.writeable:
            data -= step
            p.data = data
        else:
            p.data = data - step

    def __repr__(self):
        settings = ", ".join(f"{k}={v}" for k, v in self._settings().items())
        return f"{type(self).__name__}({settings})"


class SGD(Optimizer):
    """p ← p − lr · g, with optional momentum (a running sum of gradients) and weight decay.

    As ``torch.optim.SGD``: g = grad + weight_decay · p; with momentum,
    buf = g on the first step, then buf = momentum · buf + g, and g = buf.
    """

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params, lr)
        self.momentum = momentum
        self.weight_decay = weight_decay

    def _update(self, p, grad, state):
        if self.weight_decay:
            grad = grad + self.weight_decay * p.data
        if self.momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.array(grad)
            else:
                buf *= self.momentum
                buf += grad
            grad = buf
        self._move(p, self.lr * grad)

    def _settings(self):
        return {"lr": self.lr, "momentum": self.momentum, "weight_decay": self.weight_decay}


class Adam(Optimizer):
    """Adam: steps scaled by running averages of the gradient (m) and its square (v).

    As ``torch.optim.Adam`` (no amsgrad): g = grad + weight_decay · p,
    m = β₁m + (1 − β₁)g, v = β₂v + (1 − β₂)g², and
    p ← p − lr / (1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + eps).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr)
        self.betas = tuple(betas)
        self.eps = eps
        self.weight_decay = weight_decay

    def _update(self, p, grad, state):
        beta1, beta2 = self.betas
        if self.weight_decay:
            grad = grad + self.weight_decay * p.data
        if not state:
            state.update(step=0, m=np.zeros_like(p.data), v=np.zeros_like(p.data))
        state["step"] += 1
        m, v, t = state["m"], state["v"], state["step"]
        m += (1 - beta1) * (grad - m)
        v *= beta2
        v += (1 - beta2) * grad * grad
        denom = np.sqrt(v) / np.sqrt(1 - beta2 ** t) + self.eps
        self._move(p, (self.lr / (1 - beta1 ** t)) * m / denom)

    def _settings(self):
        return {"lr": self.lr, "betas": self.betas, "eps": self.eps,
                "weight_decay": self.weight_decay}
