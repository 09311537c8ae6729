"""Layers for the handout's engine, each forward made of recorded NumPy operations.

Every forward computes with NumPy and calls ``add_operation`` once per
primitive step, so the engine (and a drawing of it) sees the decomposition:
a Linear layer is a matmul and an add, a Sigmoid is negate, exp, add one,
divide. Operations are recorded under the layer's name ("Linear0", ...),
which drawings can use to box a layer. The modules follow the course's own
layout (``mytorch.nn.linear``, ``.activation``, ``.loss``).
"""
from .activation import Identity, ReLU, Sigmoid, Tanh
from .conv import Conv1d, Conv1D_stride1, Conv2d, Conv2D_stride1
from .linear import Linear
from .loss import LossFN, MSELoss, SoftmaxCrossEntropy
from .resampling import Downsample1d, Downsample2d, Flatten

__all__ = ["Linear", "Identity", "Sigmoid", "Tanh", "ReLU", "LossFN", "MSELoss",
           "SoftmaxCrossEntropy", "Conv1D_stride1", "Conv2D_stride1", "Conv1d", "Conv2d",
           "Downsample1d", "Downsample2d", "Flatten"]
