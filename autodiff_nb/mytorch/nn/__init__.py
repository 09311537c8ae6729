"""Layers for the handout's engine, each forward made of recorded NumPy operations.

Every forward computes with NumPy and calls ``add_operation`` once per
primitive step, so the engine (and a drawing of it) sees the decomposition:
a Linear layer is a matmul and an add, a Sigmoid is negate, exp, add one,
divide. Operations are recorded under the layer's name ("Linear0", ...),
which drawings can use to box a layer. The modules follow the course's own
layout (``mytorch.nn.linear``, ``.activation``, ``.loss``).
"""
from .activation import Identity, ReLU, Sigmoid, Tanh
from .linear import Linear
from .loss import LossFN, MSELoss, SoftmaxCrossEntropy

__all__ = ["Linear", "Identity", "Sigmoid", "Tanh", "ReLU", "LossFN", "MSELoss",
           "SoftmaxCrossEntropy"]
