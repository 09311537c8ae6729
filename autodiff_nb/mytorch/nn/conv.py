"""HW2's convolution layers (``mytorch.nn.conv``): stride 1, then downsampling.

``Conv1D_stride1`` / ``Conv2D_stride1`` record one operation each, inputs
``[A, W, b]`` with ``dW`` and ``db`` as the arrays their gradients are added
into; ``Conv1d`` / ``Conv2d`` follow it with a ``Downsample`` that keeps
every k-th position from 0, which is PyTorch's ``stride=k``.
"""
from __future__ import annotations

import numpy as np

from ...core.convolution import _conv
from .. import functional_hw2 as F
from .module import Module, in_scope
from .resampling import Downsample1d, Downsample2d


class _ConvStride1(Module):
    """A valid (unpadded) convolution at stride 1, with the handout's W, b, dW, db."""

    dims = 0
    backward_function = None

    def __init__(self, in_channels, out_channels, kernel_size, autograd_engine,
                 weight_init_fn=None, bias_init_fn=None):
        super().__init__(autograd_engine)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = kernel_size
        shape = (out_channels, in_channels) + (kernel_size,) * self.dims
        # The handout's defaults: W ~ N(0, 1), b = 0, or the given init functions.
        self.W = (np.random.normal(0, 1.0, shape) if weight_init_fn is None
                  else weight_init_fn(*shape))
        self.b = np.zeros(out_channels) if bias_init_fn is None else bias_init_fn(out_channels)
        self.dW = np.zeros(self.W.shape)
        self.db = np.zeros(self.b.shape)

    @in_scope
    def forward(self, A):
        engine = self.autograd_engine
        W = engine.label(self.W, f"{self.name}.W")
        b = engine.label(self.b, f"{self.name}.b")
        ones, zeros = (1,) * self.dims, (0,) * self.dims
        Z = _conv(A, W, b, stride=ones, padding=zeros, dilation=ones, groups=1)
        engine.add_operation([A, W, b], Z, [None, self.dW, self.db], type(self).backward_function)
        return Z


class Conv1D_stride1(_ConvStride1):
    """A (N, C_in, W_in) → Z (N, C_out, W_in − K + 1); W (C_out, C_in, K), b (C_out,)."""

    dims = 1
    backward_function = staticmethod(F.conv1d_stride1_backward)


class Conv2D_stride1(_ConvStride1):
    """A (N, C_in, H, W) → Z (N, C_out, H − K + 1, W − K + 1); W (C_out, C_in, K, K)."""

    dims = 2
    backward_function = staticmethod(F.conv2d_stride1_backward)


class Conv1d:
    """``Conv1D_stride1`` then ``Downsample1d(stride)``: ``torch.nn.Conv1d(..., stride)``."""

    def __init__(self, in_channels, out_channels, kernel_size, downsampling_factor,
                 autograd_engine, weight_init_fn=None, bias_init_fn=None):
        self.conv1d_stride1 = Conv1D_stride1(in_channels, out_channels, kernel_size,
                                             autograd_engine, weight_init_fn, bias_init_fn)
        self.downsample1d = Downsample1d(downsampling_factor, autograd_engine)

    def __call__(self, A):
        return self.forward(A)

    def forward(self, A):
        return self.downsample1d(self.conv1d_stride1(A))


class Conv2d:
    """``Conv2D_stride1`` then ``Downsample2d(stride)``: ``torch.nn.Conv2d(..., stride)``."""

    def __init__(self, in_channels, out_channels, kernel_size, downsampling_factor,
                 autograd_engine, weight_init_fn=None, bias_init_fn=None):
        self.conv2d_stride1 = Conv2D_stride1(in_channels, out_channels, kernel_size,
                                             autograd_engine, weight_init_fn, bias_init_fn)
        self.downsample2d = Downsample2d(downsampling_factor, autograd_engine)

    def __call__(self, A):
        return self.forward(A)

    def forward(self, A):
        return self.downsample2d(self.conv2d_stride1(A))
