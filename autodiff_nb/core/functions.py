"""The Tensor operations as functions: ``autodiff_nb.tanh(x)``, ``autodiff_nb.sum(x)``, ...

Each accepts Tensors, arrays or numbers (``apply`` lifts them) and records
the same primitive as the corresponding method or operator.
"""
from __future__ import annotations

from . import primitives as P
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
