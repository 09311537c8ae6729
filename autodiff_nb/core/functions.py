"""The Tensor operations as functions: ``autodiff_nb.tanh(x)``, ``autodiff_nb.sum(x)``, ...

Each accepts Tensors, arrays or numbers (``apply`` lifts them) and records
the same primitive as the corresponding method or operator.
"""
from __future__ import annotations

import numpy as np

from . import convolution as C
from . import primitives as P
from .errors import ShapeError, at_user_line
from .tensor import Tensor, _axis, _new, apply


def _tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def add(*terms):
    """``a + b + c + ...`` recorded as one operation, as the lecture writes i3 = i1 + bx1 + i2 + bx2."""
    if len(terms) == 2:
        return apply(P.ADD, _tensor(terms[0]), terms[1])
    return apply(P.ADD_N, *[_tensor(t) for t in terms])


def exp(x): return apply(P.EXP, x)
def log(x): return apply(P.LOG, x)
def sqrt(x): return apply(P.SQRT, x)
def abs(x): return apply(P.ABS, x)  # noqa: A001 - mirrors numpy.abs
def tanh(x): return apply(P.TANH, x)
def sigmoid(x): return apply(P.SIGMOID, x)
def relu(x): return apply(P.RELU, x)
def neg(x): return -_tensor(x)
def clip(x, low, high): return apply(P.CLIP, _tensor(x), low=low, high=high)
def maximum(a, b): return apply(P.MAXIMUM, _tensor(a), b)
def minimum(a, b): return apply(P.MINIMUM, _tensor(a), b)
def matmul(a, b): return apply(P.MATMUL, _tensor(a), b)
def outer(a, b): return apply(P.OUTER, _tensor(a), b)
def reshape(x, shape): return _tensor(x).reshape(shape)
def transpose(x, axes=None): return apply(P.TRANSPOSE, _tensor(x), axes=axes)


def linear(x, weight, bias=None):
    """``x @ weightᵀ + bias``, ``weight`` of shape (out, in), as ``torch.nn.functional.linear``.

    Recorded as two operations, ``matmul_t`` (the product with the weight read
    transposed, no copy) and ``add``; ``nn.Linear`` is exactly this.
    """
    product = apply(P.MATMUL_T, _tensor(x), weight)
    return product if bias is None else product + bias


def sum(x, axis=None, keepdims=False):  # noqa: A001 - mirrors numpy.sum
    return apply(P.SUM, _tensor(x), axis=_axis(axis), keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    return apply(P.MEAN, _tensor(x), axis=_axis(axis), keepdims=keepdims)


def max(x, axis=None, keepdims=False):  # noqa: A001 - mirrors numpy.max
    return apply(P.MAX, _tensor(x), axis=_axis(axis), keepdims=keepdims)


def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) computed without overflow (the maximum is subtracted first)."""
    return apply(P.LOGSUMEXP, _tensor(x), axis=_axis(axis), keepdims=keepdims)


def log_softmax(x, axis=-1):
    """x - logsumexp(x): log-probabilities, stable for large logits."""
    return apply(P.LOG_SOFTMAX, _tensor(x), axis=axis)


def concatenate(tensors, axis=0):
    return apply(P.CONCATENATE, *[_tensor(t) for t in tensors], axis=axis)


def stack(tensors, axis=0):
    return apply(P.STACK, *[_tensor(t) for t in tensors], axis=axis)


def where(condition, a, b):
    """Pick ``a`` where ``condition`` holds, else ``b``; the condition takes no gradient."""
    condition = _new(_tensor(condition)._data.astype(bool))
    return apply(P.WHERE, condition, a, b)


# --- convolution and pooling (primitives in convolution.py) ------------------------

def _per_axis(value, d, name):
    """An int or a d-tuple of ints, as PyTorch accepts for kernel_size, stride, ..."""
    values = (value,) * d if isinstance(value, (int, np.integer)) else tuple(value)
    if len(values) != d or not all(isinstance(v, (int, np.integer)) for v in values):
        raise ShapeError(at_user_line(
            f"{name} must be an int or a tuple of {d} ints, got {value!r}"))
    return tuple(int(v) for v in values)


def _conv(d, x, weight, bias, stride, padding, dilation, groups):
    params = dict(stride=_per_axis(stride, d, f"conv{d}d: stride"),
                  padding=_per_axis(padding, d, f"conv{d}d: padding"),
                  dilation=_per_axis(dilation, d, f"conv{d}d: dilation"), groups=int(groups))
    args = (_tensor(x), weight) if bias is None else (_tensor(x), weight, bias)
    return apply(C.CONV[d], *args, **params)


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Cross-correlation of ``x`` (N, C_in, L) with ``weight`` (C_out, C_in/groups, K), as PyTorch's."""
    return _conv(1, x, weight, bias, stride, padding, dilation, groups)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Cross-correlation of ``x`` (N, C_in, H, W) with ``weight`` (C_out, C_in/groups, KH, KW)."""
    return _conv(2, x, weight, bias, stride, padding, dilation, groups)


def _pool_params(name, d, kernel_size, stride, padding):
    kernel = _per_axis(kernel_size, d, f"{name}: kernel_size")
    return dict(kernel_size=kernel,
                stride=kernel if stride is None else _per_axis(stride, d, f"{name}: stride"),
                padding=_per_axis(padding, d, f"{name}: padding"))


def max_pool1d(x, kernel_size, stride=None, padding=0, dilation=1):
    """The maximum of each window of ``x`` (N, C, L); stride defaults to the kernel size."""
    params = _pool_params("max_pool1d", 1, kernel_size, stride, padding)
    return apply(C.MAX_POOL[1], _tensor(x), dilation=_per_axis(dilation, 1, "max_pool1d: dilation"),
                 **params)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1):
    """The maximum of each window of ``x`` (N, C, H, W); ties send the gradient to the first."""
    params = _pool_params("max_pool2d", 2, kernel_size, stride, padding)
    return apply(C.MAX_POOL[2], _tensor(x), dilation=_per_axis(dilation, 2, "max_pool2d: dilation"),
                 **params)


def avg_pool1d(x, kernel_size, stride=None, padding=0):
    """The mean of each window of ``x`` (N, C, L), padding zeros counted (PyTorch's default)."""
    return apply(C.AVG_POOL[1], _tensor(x), **_pool_params("avg_pool1d", 1, kernel_size, stride,
                                                           padding))


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """The mean of each window of ``x`` (N, C, H, W), padding zeros counted (PyTorch's default)."""
    return apply(C.AVG_POOL[2], _tensor(x), **_pool_params("avg_pool2d", 2, kernel_size, stride,
                                                           padding))


def flatten(x, start_dim=1, end_dim=-1):
    """Merge dimensions ``start_dim``..``end_dim`` into one (default: all but the batch axis)."""
    x = _tensor(x)
    ndim = x.ndim
    return apply(C.FLATTEN, x, start_dim=start_dim + ndim if start_dim < 0 else start_dim,
                 end_dim=end_dim + ndim if end_dim < 0 else end_dim)
