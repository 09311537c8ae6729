"""HW3's ``CharacterPredictor``: a GRU cell and a projection to class scores, and ``inference``."""
from __future__ import annotations

import numpy as np

from ..gru_cell import GRUCell
from ..nn.linear import Linear


class CharacterPredictor:
    """``gru`` (``GRUCell``) then ``projection`` (``Linear``): ``(logits, h') = net(x, h)``."""

    def __init__(self, input_dim, hidden_dim, num_classes, autograd_engine):
        self.input_dim, self.hidden_dim, self.num_classes = input_dim, hidden_dim, num_classes
        self.autograd_engine = autograd_engine
        self.gru = GRUCell(input_dim, hidden_dim, autograd_engine)
        self.projection = Linear(hidden_dim, num_classes, autograd_engine)

    def init_rnn_weights(self, Wrx, Wzx, Wnx, Wrh, Wzh, Wnh, brx, bzx, bnx, brh, bzh, bnh):
        self.gru.init_weights(Wrx, Wzx, Wnx, Wrh, Wzh, Wnh, brx, bzx, bnx, brh, bzh, bnh)

    def __call__(self, x, h):
        return self.forward(x, h)

    def forward(self, x, h):
        h_t = self.gru(x, h)
        return self.projection(h_t), h_t


def inference(net, inputs):
    """Run ``net`` over ``inputs`` (T, in) from a zero state: the logits at every step, (T, C)."""
    h = np.zeros(net.hidden_dim)
    logits = []
    for x in inputs:
        scores, h = net(x, h)
        logits.append(scores)
    return np.array(logits)
