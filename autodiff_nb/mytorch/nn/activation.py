"""The handout's activations (``mytorch.nn.activation``), each a chain of recorded operations."""
from __future__ import annotations

import numpy as np

from .. import functional as F
from .module import Module, constant, in_scope


class Identity(Module):
    @in_scope
    def forward(self, x):
        y = x.copy()  # a new array: an output must not be its own input
        self.autograd_engine.add_operation([x], y, [None], F.identity_backward)
        return y


class Sigmoid(Module):
    """σ(x) = 1 / (1 + exp(-x)), recorded as negate, exp, add one, divide."""

    @in_scope
    def forward(self, x):
        engine = self.autograd_engine
        minus_one, one = constant(engine, -1), constant(engine, 1)
        negated = minus_one * x
        engine.add_operation([minus_one, x], negated, [None, None], F.mul_backward)
        exp = np.exp(negated)
        engine.add_operation([negated], exp, [None], F.exp_backward)
        denominator = one + exp
        engine.add_operation([one, exp], denominator, [None, None], F.add_backward)
        y = one / denominator
        engine.add_operation([one, denominator], y, [None, None], F.div_backward)
        return y


class Tanh(Module):
    @in_scope
    def forward(self, x):
        y = np.tanh(x)
        self.autograd_engine.add_operation([x], y, [None], F.tanh_backward)
        return y


class ReLU(Module):
    @in_scope
    def forward(self, x):
        y = np.maximum(x, 0)
        self.autograd_engine.add_operation([x], y, [None], F.max_backward)
        return y
