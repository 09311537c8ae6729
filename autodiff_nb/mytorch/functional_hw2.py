"""HW2's backward functions (``mytorch.functional_hw2``): convolution, downsampling, flatten.

Same contract as ``functional``: the gradient at the output, then the
operation's inputs in order; one gradient per input back. The convolutions
are the core's own VJP at stride 1 (``core.convolution``): each window's
gradient "+=" back onto the input it read (a full convolution with the
flipped kernel), each weight's gradient a "+=" over every position it was
used at (a correlation of the input with ``dLdZ``).
"""
from __future__ import annotations

import numpy as np

from ..core.convolution import _conv_vjp


def _conv_stride1_backward(dLdZ, A, W, b):
    d = A.ndim - 2
    return _conv_vjp(dLdZ, None, A, W, b, stride=(1,) * d, padding=(0,) * d,
                     dilation=(1,) * d, groups=1)


def conv1d_stride1_backward(dLdZ, A, W, b):
    """``Z = conv1d(A, W) + b`` at stride 1 → ``(dLdA, dLdW, dLdb)``: A (N, C_in, W_in), W (C_out, C_in, K)."""
    return _conv_stride1_backward(dLdZ, A, W, b)


def conv2d_stride1_backward(dLdZ, A, W, b):
    """``Z = conv2d(A, W) + b`` at stride 1 → ``(dLdA, dLdW, dLdb)``: A (N, C_in, H, W), W (C_out, C_in, K, K)."""
    return _conv_stride1_backward(dLdZ, A, W, b)


def _factor(downsampling_factor):
    return int(np.asarray(downsampling_factor).ravel()[0])


def downsampling1d_backward(dLdZ, A, downsampling_factor):
    """``Z = A[:, :, ::k]`` → ``(dLdA, None)``: dLdZ back at every k-th position, 0 elsewhere."""
    dLdA = np.zeros(A.shape, dtype=dLdZ.dtype)
    dLdA[:, :, ::_factor(downsampling_factor)] = dLdZ
    return dLdA, None


def downsampling2d_backward(dLdZ, A, downsampling_factor):
    """``Z = A[:, :, ::k, ::k]`` → ``(dLdA, None)``."""
    k = _factor(downsampling_factor)
    dLdA = np.zeros(A.shape, dtype=dLdZ.dtype)
    dLdA[:, :, ::k, ::k] = dLdZ
    return dLdA, None


def flatten_backward(dLdZ, A):
    """``Z = A.reshape(N, -1)`` → dLdA: the same numbers in A's shape."""
    return dLdZ.reshape(A.shape)
