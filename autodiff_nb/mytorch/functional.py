"""Backward functions: the reference answers for the handout's ``functional.py``.

Each takes the gradient of the loss with respect to an operation's output,
then the operation's inputs in order, and returns the gradient with respect
to each input: a tuple, a bare array for a one-input operation, ``None``
for an input that takes no gradient.

Broadcasting: when NumPy stretched an input (``b`` of shape (1, 3) added to
``a`` of shape (4, 3)), each of its elements was used several times, so its
gradient is the sum over those uses: ``unbroadcast`` sums the gradient back
down to the input's shape.
"""
from __future__ import annotations

import numpy as np

from ..core.primitives import PRIMITIVES, unbroadcast


def identity_backward(grad_output, a):
    """``a``: the gradient passes through unchanged."""
    return grad_output


def add_backward(grad_output, a, b):
    """``a + b``: both inputs receive the output's gradient."""
    return unbroadcast(grad_output, a.shape), unbroadcast(grad_output, b.shape)


def sub_backward(grad_output, a, b):
    """``a - b``: ``a`` receives the gradient, ``b`` its negative."""
    return unbroadcast(grad_output, a.shape), unbroadcast(-grad_output, b.shape)


def mul_backward(grad_output, a, b):
    """``a * b`` (elementwise): each input's gradient is scaled by the other input."""
    return unbroadcast(grad_output * b, a.shape), unbroadcast(grad_output * a, b.shape)


def div_backward(grad_output, a, b):
    """``a / b``: d/da = 1 / b and d/db = -a / b²."""
    return (unbroadcast(grad_output / b, a.shape),
            unbroadcast(-grad_output * a / b**2, b.shape))


def matmul_backward(grad_output, a, b):
    """``a @ b``: dL/da = dL/dz @ bᵀ and dL/db = aᵀ @ dL/dz.

    Written out for matrices; vectors and stacks of matrices follow NumPy's
    matmul rules, which the primitive registry spells out once.
    """
    if a.ndim == 2 and b.ndim == 2:
        return grad_output @ b.T, a.T @ grad_output
    return PRIMITIVES["matmul"].vjp(grad_output, None, a, b)


def outer_backward(grad_output, a, b):
    """``np.outer(a, b)`` (z[i, j] = a[i] * b[j]): sum each row or column against the other."""
    return ((grad_output @ b.ravel()).reshape(a.shape),
            (a.ravel() @ grad_output).reshape(b.shape))


def log_backward(grad_output, a):
    """``np.log(a)``: d/da = 1 / a."""
    return grad_output / a


def exp_backward(grad_output, a):
    """``np.exp(a)``: the exponential is its own derivative."""
    return grad_output * np.exp(a)


def tanh_backward(grad_output, a, state=None):
    """``np.tanh(a)``: d/da = 1 - tanh²(a).

    HW3's given ``Tanh`` records ``inputs=[x, state]`` with ``state`` its own
    output, tanh(x): then the derivative reuses it and the state takes no
    gradient, ``(grad·(1 − state²), None)``.
    """
    if state is not None:
        return grad_output * (1 - state ** 2), None
    return grad_output * (1 - np.tanh(a) ** 2)


def max_backward(grad_output, a):
    """``np.maximum(a, 0)`` (the ReLU): the gradient passes where ``a > 0``, else 0."""
    return grad_output * (a > 0)


def sum_backward(grad_output, a):
    """``np.sum(a)``: every element counted once, so each receives the output's gradient."""
    return np.ones(a.shape) * grad_output


def log_softmax(logits):
    """Row-wise log of the softmax, shifted by the row maximum so that exp cannot overflow."""
    shifted = logits - np.max(logits, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def SoftmaxCrossEntropy_backward(grad_output, pred, ground_truth):
    """Mean cross-entropy of softmax(``pred``) against one-hot rows of ``ground_truth``.

    d/dpred = (softmax(pred) - ground_truth) / batch size; the labels take no gradient.
    """
    batch = pred.shape[0]
    return grad_output * (np.exp(log_softmax(pred)) - ground_truth) / batch, None


# --- HW3: indexing and reshaping (the second input is an index or an axis: no gradient) ---


def slice_backward(grad_output, a, indices):
    """``a[tuple(indices)]``: the gradient lands where the slice came from, zeros elsewhere."""
    grad = np.zeros(a.shape, dtype=np.result_type(grad_output, np.float64))
    np.add.at(grad, tuple(indices), grad_output)   # add.at: an array index may repeat
    return grad, None


def expand_dims_backward(grad_output, a, axis):
    """``np.expand_dims(a, axis)``: the same numbers, reshaped back to ``a``'s shape."""
    return np.reshape(grad_output, a.shape), None


def squeeze_backward(grad_output, a, axis):
    """``np.squeeze(a, axis)``: the same numbers, reshaped back to ``a``'s shape."""
    return np.reshape(grad_output, a.shape), None


def transpose_backward(grad_output, a):
    """``a.T``: transpose the gradient back."""
    return np.transpose(grad_output)


def ctc_loss_backward(grad_output, logits, input_lengths, gammas, extended_symbols):
    """HW3's CTC loss −Σ γ·log y with γ held constant: d/dy = −γ / y, per symbol.

    ``logits`` are the probabilities y of shape (T, B, C); γ of sample b is
    (its T_b, 2L+1), summed onto the symbols of the extended target. The
    course's tests read the batch *sum* (not divided by B) after backward(1).
    """
    grad = np.zeros(logits.shape)
    for b, (gamma, symbols) in enumerate(zip(gammas, extended_symbols)):
        frames = int(input_lengths[b])
        per_symbol = np.zeros((frames, logits.shape[2]))
        np.add.at(per_symbol, (slice(None), np.asarray(symbols, dtype=int)), gamma)
        grad[:frames, b] = -per_symbol / logits[:frames, b]
    return grad_output * grad, None, None, None
