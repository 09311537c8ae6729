"""HW3's ``RNNPhonemeClassifier``: stacked RNN cells over time, a Linear layer on the last state."""
from __future__ import annotations

import numpy as np

from .. import functional as F
from ..nn.linear import Linear
from ..rnn_cell import RNNCell


class RNNPhonemeClassifier:
    """``rnn`` (one ``RNNCell`` per layer), ``output_layer`` and ``hiddens``.

    ``model(x (N, T, in), h_0=None)`` runs every layer at every time step and
    returns ``output_layer`` of the top layer's last state, (N, out).
    ``hiddens[t]`` is the list of each layer's state after step t
    (``hiddens[0]``: the initial states, the very arrays the cells read, so
    ``gradient_buffer.get_param(hiddens[0][l])`` is layer l's dL/dh₀).
    """

    def __init__(self, input_size, hidden_size, output_size, autograd_engine, num_layers=2):
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.autograd_engine = autograd_engine
        self.rnn = [RNNCell(input_size if layer == 0 else hidden_size, hidden_size,
                            autograd_engine) for layer in range(num_layers)]
        self.output_layer = Linear(hidden_size, output_size, autograd_engine)
        self.hiddens = []

    def init_weights(self, rnn_weights, linear_weights):
        """``rnn_weights``: per layer ``[W_ih, W_hh, b_ih, b_hh]``; ``linear_weights``: ``[W, b]``."""
        for cell, weights in zip(self.rnn, rnn_weights):
            cell.init_weights(*weights)
        self.output_layer.init_weights(*linear_weights)

    def __call__(self, x, h_0=None):
        return self.forward(x, h_0)

    def forward(self, x, h_0=None):
        engine = self.autograd_engine
        batch, steps, _ = x.shape
        if h_0 is None:
            states = [np.zeros((batch, self.hidden_size)) for _ in range(self.num_layers)]
        else:
            states = [h_0[layer].copy() for layer in range(self.num_layers)]
        self.hiddens = [states]
        for t in range(steps):
            index = np.index_exp[:, t]
            value = x[index].copy()
            engine.add_operation([x, np.array(index, dtype=object)], value, [None, None],
                                 F.slice_backward)
            states = []
            for layer, cell in enumerate(self.rnn):
                value = cell(value, self.hiddens[-1][layer])
                states.append(value)
            self.hiddens.append(states)
        return self.output_layer(self.hiddens[-1][-1])
