"""What every handout layer shares: the engine it records on, its name, its scope."""
from __future__ import annotations

import functools

import numpy as np

from ...core.tape import scope


def in_scope(forward):
    """Record everything ``forward`` does under the layer's name."""
    @functools.wraps(forward)
    def recorded(self, *args):
        with scope(self.name):
            return forward(self, *args)
    return recorded


def constant(engine, value):
    """A constant operand, shown in drawings by its value."""
    return engine.label(np.array(value, dtype=np.float64), f"{value:g}", constant=True)


class Module:
    """A layer recording on ``autograd_engine``; calling it runs ``forward``."""

    def __init__(self, autograd_engine):
        self.autograd_engine = autograd_engine
        self.name = autograd_engine.layer_name(type(self).__name__)

    def __call__(self, *args):
        return self.forward(*args)
