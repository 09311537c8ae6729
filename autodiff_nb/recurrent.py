"""Recurrent layers made only of engine operations: RNN, GRU and LSTM cells, and their unrolling.

A cell is a few ``linear`` products, slices, ``sigmoid``/``tanh`` and
elementwise arithmetic on the tape, nothing hand-differentiated. Unrolling a
sequence calls the same weights at every time step, so backward reaches each
weight once per step and its gradient is the sum over time: the lecture's
"+=" at scale (backprop through time). Every time step is recorded under its
own scope, ``t=0``, ``t=1``, ..., so drawings can group the steps and the
stepper can say which step a "+=" belongs to.

Layout, names, gate order and initialisation are PyTorch's:
``weight_ih`` (gates·H, in), ``weight_hh`` (gates·H, H), ``bias_ih`` and
``bias_hh`` (gates·H,), all U(-1/√H, 1/√H); GRU gates r, z, n; LSTM gates
i, f, g, o. The multi-layer modules name layer k's weights ``weight_ih_l{k}``
and so on, so ``state_dict``-style copies to and from ``torch.nn.GRU`` line up.
"""
from __future__ import annotations

import contextlib

import numpy as np

from .core import functions as F
from .core.errors import ShapeError, at_user_line
from .core.tape import scope
from .core.tensor import Tensor
from .nn import Module, _as_tensor, _rng

GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}


# --- one time step, as functions of the weights --------------------------------------
#
# Each pre-activation is one ``add`` of four terms, x W_ihᵀ + b_ih + h W_hhᵀ + b_hh, as the
# lecture writes i3 = i1 + bx1 + i2 + bx2: one recorded operation where three additions
# were. GRU's weights are cut into the r,z block and the n block once per sequence
# (``split_weights``), so that no step slices a stacked product. Together: a GRU step
# records 15 operations instead of 18 (bench/README.md, "Recurrence").


def _sum(*terms):
    """``a + b + ...`` as one recorded operation, leaving out absent biases (None)."""
    return F.add(*[t for t in terms if t is not None])


def rnn_step(x, h, w_ih, w_hh, b_ih, b_hh, nonlinearity="tanh"):
    """h' = act(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh), act tanh or relu."""
    pre = _sum(F.linear(x, w_ih), b_ih, F.linear(h, w_hh), b_hh)
    return F.tanh(pre) if nonlinearity == "tanh" else F.relu(pre)


def _gate(values, k, size, blocks=1):
    """Columns ``k·size .. (k+blocks)·size``: gates' share of a stacked product or bias."""
    return values[..., k * size:(k + blocks) * size]


def _named_block(tensor, k, size, blocks, gates):
    """Rows of a stacked weight (or entries of a bias) for ``gates``, named after them."""
    if tensor is None:
        return None
    block = tensor[k * size:(k + blocks) * size]
    if tensor.name:
        block.name = f"{tensor.name}[{gates}]"
    return block


def split_weights(kind, w_ih, w_hh, b_ih, b_hh):
    """The weights as ``kind``'s step takes them: GRU's cut into its r,z and n blocks.

    Recorded once per sequence: the blocks are what every step shares, so the
    "+=" over time lands on them and their slices' VJPs run once.
    """
    if kind != "GRU":
        return w_ih, w_hh, b_ih, b_hh
    size = w_hh.shape[1]
    return tuple(_named_block(t, k, size, blocks, gates)
                 for k, blocks, gates in ((0, 2, "r,z"), (2, 1, "n"))
                 for t in (w_ih, w_hh, b_ih, b_hh))


def gru_step(x, h, w_irz, w_hrz, b_irz, b_hrz, w_in, w_hn, b_in, b_hn):
    """PyTorch's GRU: r, z = σ(...), n = tanh(x W_inᵀ + b_in + r·(h W_hnᵀ + b_hn)), h' = (1−z)·n + z·h.

    Takes the r,z and n blocks of the weights (``split_weights``).
    """
    size = h.shape[-1]
    # r and z through one sigmoid over their two blocks: two operations fewer per step.
    rz = F.sigmoid(_sum(F.linear(x, w_irz), b_irz, F.linear(h, w_hrz), b_hrz))
    r, z = _gate(rz, 0, size), _gate(rz, 1, size)
    n = F.tanh(_sum(F.linear(x, w_in), b_in, r * F.linear(h, w_hn, b_hn)))
    return n + z * (h - n)          # = (1 − z)·n + z·h, in three operations instead of four


def lstm_step(x, state, w_ih, w_hh, b_ih, b_hh):
    """PyTorch's LSTM: gates i, f, g, o; c' = f·c + i·g, h' = o·tanh(c'). Returns (h', c')."""
    h, c = state
    size = w_hh.shape[1]
    gates = _sum(F.linear(x, w_ih), b_ih, F.linear(h, w_hh), b_hh)
    i = F.sigmoid(_gate(gates, 0, size))
    f = F.sigmoid(_gate(gates, 1, size))
    g = F.tanh(_gate(gates, 2, size))
    o = F.sigmoid(_gate(gates, 3, size))
    c_next = f * c + i * g
    return o * F.tanh(c_next), c_next


def step(kind, x, state, weights, nonlinearity="tanh"):
    """One time step of ``kind``, with the weights as ``split_weights`` gives them."""
    if kind == "RNN":
        return rnn_step(x, state, *weights, nonlinearity)
    return (gru_step if kind == "GRU" else lstm_step)(x, state, *weights)


def _uniform(rng, bound, shape, name):
    return Tensor(rng.uniform(-bound, bound, shape), requires_grad=True, name=name)


def _zeros(shape, like):
    return Tensor(np.zeros(shape, dtype=like.dtype))


def _check_input(who, x, size, layout):
    """``layout`` names the batched axes before the features, e.g. "T, N"."""
    batched_ndim = layout.count(",") + 2
    if x.ndim not in (batched_ndim - 1, batched_ndim) or x.shape[-1] != size:
        raise ShapeError(at_user_line(
            f"{who}: expected input of shape ({layout}, {size}), or without the batch "
            f"axis N, got shape {x.shape}"))


def _nonlinearity(who, name):
    if name not in ("tanh", "relu"):
        raise ValueError(f"{who}: unknown nonlinearity {name!r}; expected 'tanh' or 'relu'")
    return name


def _check_state(who, state, expected):
    if state.shape != expected:
        raise ShapeError(at_user_line(
            f"{who}: expected a hidden state of shape {expected}, got shape {state.shape}"))


# --- cells ---------------------------------------------------------------------------


class _Cell(Module):
    """One time step with its own weights; ``kind`` picks the gates and the step function."""

    kind = "RNN"

    def __init__(self, input_size, hidden_size, bias=True, seed=None):
        self.input_size, self.hidden_size = int(input_size), int(hidden_size)
        rng = _rng(seed)
        bound = 1.0 / np.sqrt(self.hidden_size)
        rows = GATES[self.kind] * self.hidden_size
        self.weight_ih = _uniform(rng, bound, (rows, self.input_size), "weight_ih")
        self.weight_hh = _uniform(rng, bound, (rows, self.hidden_size), "weight_hh")
        self.bias_ih = _uniform(rng, bound, rows, "bias_ih") if bias else None
        self.bias_hh = _uniform(rng, bound, rows, "bias_hh") if bias else None

    def _one_step(self, x, state, nonlinearity="tanh"):
        weights = split_weights(self.kind, self.weight_ih, self.weight_hh, self.bias_ih,
                                self.bias_hh)
        return step(self.kind, x, state, weights, nonlinearity)

    def _start(self, x, h):
        who = type(self).__name__
        x = _as_tensor(x)
        _check_input(who, x, self.input_size, "N")
        expected = x.shape[:-1] + (self.hidden_size,)
        if h is None:
            return x, _zeros(expected, x)
        h = _as_tensor(h)
        _check_state(who, h, expected)
        return x, h

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}"


class RNNCell(_Cell):
    """``h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)`` (or relu), as ``torch.nn.RNNCell``.

    ``cell(x, h=None)``: x of shape (N, in) or (in,); h defaults to zeros.
    """

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", seed=None):
        self.nonlinearity = _nonlinearity("RNNCell", nonlinearity)
        super().__init__(input_size, hidden_size, bias, seed)

    def forward(self, x, h=None):
        x, h = self._start(x, h)
        return self._one_step(x, h, self.nonlinearity)


class GRUCell(_Cell):
    """PyTorch's GRU cell (gates r, z, n stacked in that order in ``weight_ih``/``weight_hh``).

    ``cell(x, h=None)`` returns h'.
    """

    kind = "GRU"

    def forward(self, x, h=None):
        x, h = self._start(x, h)
        return self._one_step(x, h)


class LSTMCell(_Cell):
    """PyTorch's LSTM cell (gates i, f, g, o). ``cell(x, (h, c)=None)`` returns ``(h', c')``."""

    kind = "LSTM"

    def forward(self, x, state=None):
        h, c = (None, None) if state is None else state
        x, h = self._start(x, h)
        _, c = self._start(x, c)
        return self._one_step(x, (h, c))


# --- sequences -------------------------------------------------------------------------


class _Recurrent(Module):
    """Layers of cells unrolled over time, as ``torch.nn.RNN``/``GRU``/``LSTM``.

    ``module(x, state=None)`` with x of shape (T, N, in) ((N, T, in) when
    ``batch_first``) or (T, in) without a batch returns ``(output, h_n)``:
    the top layer's hidden state at every step and each layer's last state,
    shaped (layers, N, H) (``(h_n, c_n)`` for LSTM). Each time step is
    recorded under the scope ``t=<step>``; inside it, layer k under ``l<k>``
    when there is more than one layer.
    """

    kind = "RNN"

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 seed=None, nonlinearity="tanh"):
        self.input_size, self.hidden_size = int(input_size), int(hidden_size)
        self.num_layers, self.batch_first = int(num_layers), bool(batch_first)
        self.nonlinearity = _nonlinearity(self.kind, nonlinearity)
        if self.num_layers < 1:
            raise ValueError(f"{self.kind}: num_layers must be at least 1, got {num_layers}")
        rng = _rng(seed)
        bound = 1.0 / np.sqrt(self.hidden_size)
        rows = GATES[self.kind] * self.hidden_size
        for k in range(self.num_layers):
            width = self.input_size if k == 0 else self.hidden_size
            for name, shape in (("weight_ih", (rows, width)), ("weight_hh", (rows, self.hidden_size)),
                                ("bias_ih", rows), ("bias_hh", rows)):
                if name.startswith("bias") and not bias:
                    setattr(self, f"{name}_l{k}", None)
                    continue
                setattr(self, f"{name}_l{k}", _uniform(rng, bound, shape, f"{name}_l{k}"))

    def layer_weights(self, k):
        """``(weight_ih, weight_hh, bias_ih, bias_hh)`` of layer ``k``."""
        return tuple(getattr(self, f"{name}_l{k}")
                     for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))

    def forward(self, x, state=None):
        x = _as_tensor(x)
        who = type(self).__name__
        _check_input(who, x, self.input_size, "N, T" if self.batch_first else "T, N")
        batched = x.ndim == 3
        if batched and self.batch_first:
            x = x.transpose(1, 0, 2)
        if x.shape[0] == 0:
            raise ShapeError(at_user_line(f"{who}: the sequence is empty (input of shape "
                                          f"{tuple(x.shape)}): expected at least one time step"))
        batch = x.shape[1:2] if batched else ()
        states = self._initial_states(state, batch, x)
        weights = [split_weights(self.kind, *self.layer_weights(k)) for k in range(self.num_layers)]
        outputs = []
        for t in range(x.shape[0]):
            with scope(f"t={t}"):
                value = x[t]
                for k in range(self.num_layers):
                    with scope(f"l{k}") if self.num_layers > 1 else contextlib.nullcontext():
                        states[k] = step(self.kind, value, states[k], weights[k],
                                         self.nonlinearity)
                    value = states[k][0] if self.kind == "LSTM" else states[k]
            outputs.append(value)
        output = F.stack(outputs, axis=1 if batched and self.batch_first else 0)
        if self.kind == "LSTM":
            return output, (F.stack([s[0] for s in states]), F.stack([s[1] for s in states]))
        return output, F.stack(states)

    def _initial_states(self, state, batch, like):
        """One state per layer (an (h, c) pair for LSTM), zeros when none is given."""
        expected = (self.num_layers,) + batch + (self.hidden_size,)
        count = 2 if self.kind == "LSTM" else 1
        if state is None:
            parts = [_zeros(expected, like) for _ in range(count)]
        else:
            parts = [_as_tensor(p) for p in (state if count == 2 else (state,))]
        for p in parts:
            _check_state(type(self).__name__, p, expected)
        layers = [[p[k] for p in parts] for k in range(self.num_layers)]
        return [tuple(layer) if self.kind == "LSTM" else layer[0] for layer in layers]

    def extra_repr(self):
        extras = f", num_layers={self.num_layers}" if self.num_layers != 1 else ""
        if self.batch_first:
            extras += ", batch_first=True"
        return f"{self.input_size}, {self.hidden_size}{extras}"


class RNN(_Recurrent):
    """Elman RNN layers (tanh or relu), unrolled over time; see ``_Recurrent``."""


class GRU(_Recurrent):
    """GRU layers unrolled over time, as ``torch.nn.GRU``; see ``_Recurrent``."""

    kind = "GRU"

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 seed=None):
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, seed)


class LSTM(_Recurrent):
    """LSTM layers unrolled over time, as ``torch.nn.LSTM``; state is ``(h, c)``."""

    kind = "LSTM"

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 seed=None):
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, seed)
