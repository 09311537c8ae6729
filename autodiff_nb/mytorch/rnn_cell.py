"""HW3's ``RNNCell`` (``mytorch.rnn_cell``): h' = act(ih(x) + scale · hh(h)), on the handout engine.

The course's tests star-import this module and take the backward functions
(``slice_backward``, ``sum_backward``, ...) from it, as the handout's own
modules leak their imports; so it re-exports ``functional``.
"""
from __future__ import annotations

from . import functional as F
from .functional import *  # noqa: F401,F403 - the course's tests read these names from here
from .nn.activation import Tanh
from .nn.linear import Linear
from .nn.module import Module, in_scope


class RNNCell(Module):
    """One time step: ``ih`` and ``hh`` are ``Linear`` layers, ``act_fn`` a handout activation.

    ``cell(x, h, scale_h=None)`` with x (N, in) or (in,), h (N, H) or (H,);
    ``scale_h`` multiplies the hidden product first (the GRU's candidate
    ``n`` uses r · (W_hn h + b_hn)). Backward adds into ``ih.dW``, ``ih.db``,
    ``hh.dW``, ``hh.db`` once per time step the cell was called.
    """

    def __init__(self, input_size, hidden_size, autograd_engine, act_fn=Tanh):
        super().__init__(autograd_engine)
        self.input_size, self.hidden_size = input_size, hidden_size
        self.activation = act_fn(autograd_engine)
        self.ih = Linear(input_size, hidden_size, autograd_engine)
        self.hh = Linear(hidden_size, hidden_size, autograd_engine)
        self.zero_grad()

    def init_weights(self, W_ih, W_hh, b_ih, b_hh):
        self.ih.init_weights(W_ih, b_ih)
        self.hh.init_weights(W_hh, b_hh)

    def zero_grad(self):
        self.ih.zero_grad()
        self.hh.zero_grad()

    @in_scope
    def forward(self, x, h_prev_t, scale_h=None):
        engine = self.autograd_engine
        from_input = self.ih(x)
        from_hidden = self.hh(h_prev_t)
        if scale_h is not None:
            scaled = scale_h * from_hidden
            engine.add_operation([scale_h, from_hidden], scaled, [None, None], F.mul_backward)
            from_hidden = scaled
        total = from_input + from_hidden
        engine.add_operation([from_input, from_hidden], total, [None, None], F.add_backward)
        return self.activation(total)

    def __call__(self, x, h_prev_t, scale_h=None):
        return self.forward(x, h_prev_t, scale_h)
