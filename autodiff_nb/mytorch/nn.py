"""Layers for the handout's engine, each forward made of recorded NumPy operations.

Every forward computes with NumPy and calls ``add_operation`` once per
primitive step, so the engine (and a drawing of it) sees the decomposition:
a Linear layer is a matmul and an add, a Sigmoid is negate, exp, add one,
divide. Operations are recorded under the layer's name ("Linear0", ...),
which drawings can use to box a layer.
"""
from __future__ import annotations

import functools

import numpy as np

from ..errors import GraphError, at_user_line
from ..tape import scope
from . import functional as F


def _in_scope(forward):
    """Record everything ``forward`` does under the layer's name."""
    @functools.wraps(forward)
    def recorded(self, *args):
        with scope(self.name):
            return forward(self, *args)
    return recorded


def _constant(engine, value):
    """A constant operand, shown in drawings by its value."""
    return engine.label(np.array(value, dtype=np.float64), f"{value:g}", constant=True)


class _Module:
    """A layer recording on ``autograd_engine``; calling it runs ``forward``."""

    def __init__(self, autograd_engine):
        self.autograd_engine = autograd_engine
        self.name = autograd_engine.layer_name(type(self).__name__)

    def __call__(self, *args):
        return self.forward(*args)


class Linear(_Module):
    """``y = x @ W.T + b.T`` for ``x`` of shape (batch, in_features).

    ``W`` (out, in) and ``b`` (out, 1) are drawn from U(-1/sqrt(in), 1/sqrt(in))
    with NumPy's global generator, or a generator seeded with ``seed``.
    Backward adds their gradients into ``dW`` and ``db``: the operations are
    recorded with ``dW.T`` and ``db.T`` as the arrays to update for the
    inputs ``W.T`` and ``b.T``.
    """

    def __init__(self, in_features, out_features, autograd_engine, seed=None):
        super().__init__(autograd_engine)
        rng = np.random if seed is None else np.random.default_rng(seed)
        bound = 1 / np.sqrt(in_features)
        self.W = rng.uniform(-bound, bound, (out_features, in_features))
        self.b = rng.uniform(-bound, bound, (out_features, 1))
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros_like(self.b)
        self.momentum_W = np.zeros_like(self.W)
        self.momentum_b = np.zeros_like(self.b)

    @_in_scope
    def forward(self, x):
        engine = self.autograd_engine
        Wt = engine.label(self.W.T, f"{self.name}.Wᵀ")
        bt = engine.label(self.b.T, f"{self.name}.bᵀ")
        z = x @ Wt
        engine.add_operation([x, Wt], z, [None, self.dW.T], F.matmul_backward)
        y = z + bt
        engine.add_operation([z, bt], y, [None, self.db.T], F.add_backward)
        return y


class Identity(_Module):
    @_in_scope
    def forward(self, x):
        y = x.copy()  # a new array: an output must not be its own input
        self.autograd_engine.add_operation([x], y, [None], F.identity_backward)
        return y


class Sigmoid(_Module):
    """σ(x) = 1 / (1 + exp(-x)), recorded as negate, exp, add one, divide."""

    @_in_scope
    def forward(self, x):
        engine = self.autograd_engine
        minus_one, one = _constant(engine, -1), _constant(engine, 1)
        negated = minus_one * x
        engine.add_operation([minus_one, x], negated, [None, None], F.mul_backward)
        exp = np.exp(negated)
        engine.add_operation([negated], exp, [None], F.exp_backward)
        denominator = one + exp
        engine.add_operation([one, exp], denominator, [None, None], F.add_backward)
        y = one / denominator
        engine.add_operation([one, denominator], y, [None, None], F.div_backward)
        return y


class Tanh(_Module):
    @_in_scope
    def forward(self, x):
        y = np.tanh(x)
        self.autograd_engine.add_operation([x], y, [None], F.tanh_backward)
        return y


class ReLU(_Module):
    @_in_scope
    def forward(self, x):
        y = np.maximum(x, 0)
        self.autograd_engine.add_operation([x], y, [None], F.max_backward)
        return y


class LossFN(_Module):
    """A loss: ``forward(y, y_hat)`` (ground truth first) sets ``loss_val``, of shape (1,)."""

    def __init__(self, autograd_engine):
        super().__init__(autograd_engine)
        self.loss_val = None

    def forward(self, y, y_hat):
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self):
        """Backpropagate from ``loss_val``, starting from d(loss)/d(loss) = 1."""
        operations = self.autograd_engine.operation_list
        if not operations or operations[-1].output is not self.loss_val:
            raise GraphError(at_user_line(
                f"{self.name}.backward: the engine's last recorded operation is not this "
                f"loss, and backward starts from the last one; expected forward(y, y_hat) "
                f"to be the last operation recorded before backward()"))
        self.autograd_engine.backward(1)

    def _label_target(self, y):
        """Show the ground truth as the constant "y", unless on the tape already (autoencoders)."""
        if not self.autograd_engine.gradient_buffer.is_in_memory(y):
            self.autograd_engine.label(y, "y", constant=True)


class MSELoss(LossFN):
    """Mean of the squared errors over all elements (PyTorch's default reduction)."""

    @_in_scope
    def forward(self, y, y_hat):
        engine = self.autograd_engine
        self._label_target(y)
        error = y_hat - y
        engine.add_operation([y_hat, y], error, [None, None], F.sub_backward)
        squared = error * error
        engine.add_operation([error, error], squared, [None, None], F.mul_backward)
        total = np.sum(squared).reshape(1)
        engine.add_operation([squared], total, [None], F.sum_backward)
        count = _constant(engine, squared.size)
        self.loss_val = total / count
        engine.add_operation([total, count], self.loss_val, [None, None], F.div_backward)
        return self.loss_val


class SoftmaxCrossEntropy(LossFN):
    """Cross-entropy of softmax(``y_hat``) against one-hot rows ``y``, averaged over the batch."""

    @_in_scope
    def forward(self, y, y_hat):
        engine = self.autograd_engine
        self._label_target(y)
        self.loss_val = -np.sum(y * F.log_softmax(y_hat)).reshape(1) / len(y_hat)
        engine.add_operation([y_hat, y], self.loss_val, [None, None],
                             F.SoftmaxCrossEntropy_backward)
        return self.loss_val
