"""HW3's ``GRUCell`` (``mytorch.gru_cell``): three RNN cells and h' = (1 − z)·n + z·h."""
from __future__ import annotations

import numpy as np

from . import functional as F
from .functional import *  # noqa: F401,F403 - the course's tests read these names from here
from .nn.activation import Sigmoid, Tanh
from .nn.module import Module, in_scope
from .rnn_cell import RNNCell


class GRUCell(Module):
    """``r_cell``, ``z_cell`` (sigmoid) and ``n_cell`` (tanh, hidden part scaled by r).

    Gates as PyTorch's ``GRUCell`` (r, z, n); ``forward(x (in,), h (H,))``
    returns h' (H,). ``r``, ``z``, ``n`` keep the last step's gates.
    """

    def __init__(self, input_size, hidden_size, autograd_engine):
        super().__init__(autograd_engine)
        self.input_size, self.hidden_size = input_size, hidden_size
        self.r_cell = RNNCell(input_size, hidden_size, autograd_engine, act_fn=Sigmoid)
        self.z_cell = RNNCell(input_size, hidden_size, autograd_engine, act_fn=Sigmoid)
        self.n_cell = RNNCell(input_size, hidden_size, autograd_engine, act_fn=Tanh)
        self.r = self.z = self.n = None

    def init_weights(self, Wrx, Wzx, Wnx, Wrh, Wzh, Wnh, brx, bzx, bnx, brh, bzh, bnh):
        self.r_cell.init_weights(Wrx, Wrh, brx, brh)
        self.z_cell.init_weights(Wzx, Wzh, bzx, bzh)
        self.n_cell.init_weights(Wnx, Wnh, bnx, bnh)

    def zero_grad(self):
        for cell in (self.r_cell, self.z_cell, self.n_cell):
            cell.zero_grad()

    @in_scope
    def forward(self, x, h_prev_t):
        engine = self.autograd_engine
        self.r = self.r_cell(x, h_prev_t)
        self.z = self.z_cell(x, h_prev_t)
        self.n = self.n_cell(x, h_prev_t, scale_h=self.r)
        ones = engine.label(np.ones_like(self.z), "1", constant=True)
        keep_new = ones - self.z
        engine.add_operation([ones, self.z], keep_new, [None, None], F.sub_backward)
        new_part = keep_new * self.n
        engine.add_operation([keep_new, self.n], new_part, [None, None], F.mul_backward)
        old_part = self.z * h_prev_t
        engine.add_operation([self.z, h_prev_t], old_part, [None, None], F.mul_backward)
        h_t = new_part + old_part
        engine.add_operation([new_part, old_part], h_t, [None, None], F.add_backward)
        return h_t
