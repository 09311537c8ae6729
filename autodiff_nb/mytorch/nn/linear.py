"""The handout's ``Linear`` layer (``mytorch.nn.linear``)."""
from __future__ import annotations

import numpy as np

from .. import functional as F
from .module import Module, in_scope


class Linear(Module):
    """``y = x @ W.T + b.T`` for ``x`` of shape (batch, in_features) or (in_features,).

    HW3's layers call ``init_weights(W, b)`` with a 1-D ``b`` (out,): then
    an input of shape (in,) gives an output of shape (out,).

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

    def init_weights(self, W, b):
        """Use ``W`` (out, in) and ``b`` ((out,) as HW3's, or (out, 1)); gradients start at zero."""
        self.W, self.b = W, b
        self.zero_grad()

    def zero_grad(self):
        """New zero ``dW`` and ``db`` (HW3): backward adds into whatever these are then."""
        self.dW = np.zeros(np.shape(self.W))
        self.db = np.zeros(np.shape(self.b))

    @in_scope
    def forward(self, x):
        engine = self.autograd_engine
        Wt = engine.label(self.W.T, f"{self.name}.Wᵀ")
        bt = engine.label(self.b.T, f"{self.name}.bᵀ")
        z = x @ Wt
        engine.add_operation([x, Wt], z, [None, self.dW.T], F.matmul_backward)
        y = z + bt
        engine.add_operation([z, bt], y, [None, self.db.T], F.add_backward)
        return y
