"""Checks for learners: compare backward against finite differences, and build Jacobians."""
from __future__ import annotations

import numpy as np

from .core.tape import no_grad
from .core.tensor import Tensor


class GradcheckError(AssertionError):
    """Analytic and numerical gradients disagree."""


def _as_float64_leaves(inputs):
    return [Tensor(np.asarray(getattr(x, "_data", x), dtype=np.float64), requires_grad=True,
                   name=getattr(x, "name", None)) for x in inputs]


def _output(f, leaves):
    out = f(*leaves)
    return out if isinstance(out, Tensor) else Tensor(out)


def gradcheck(f, *inputs, eps=1e-6, atol=1e-6, rtol=1e-4, seed=0, raise_exception=True):
    """Check ``f``'s backward against central differences in float64.

    ``f`` takes Tensors and returns a Tensor of any shape. The check
    differentiates ``sum(f(x) * v)`` for a fixed random ``v``, which tests
    every output's gradient at the cost of one backward pass. Returns True
    when all gradients match; otherwise raises ``GradcheckError`` naming the
    input and its worst element with both values (or returns False when
    ``raise_exception=False``).
    """
    leaves = _as_float64_leaves(inputs)
    out = _output(f, leaves)
    v = np.random.default_rng(seed).standard_normal(out.shape)
    if out.requires_grad:           # an output that ignores every input has zero gradients
        (out * v).sum().backward()

    def scalar(values):
        with no_grad():
            trial = [Tensor(x) for x in values]
            return float(np.sum(_output(f, trial)._data * v))

    base = [leaf._data.copy() for leaf in leaves]
    for i, leaf in enumerate(leaves):
        analytic = np.zeros_like(base[i]) if leaf.grad is None else leaf.grad
        numerical = np.zeros_like(base[i])
        for idx in np.ndindex(base[i].shape):
            values = [b.copy() for b in base]
            values[i][idx] += eps
            up = scalar(values)
            values[i][idx] -= 2 * eps
            numerical[idx] = (up - scalar(values)) / (2 * eps)
        error = np.abs(analytic - numerical) - rtol * np.abs(numerical)
        if np.any(error > atol):
            worst = np.unravel_index(np.argmax(error), error.shape) if error.ndim else ()
            name = f" ({leaf.name!r})" if leaf.name else ""
            message = (f"gradcheck: gradient mismatch for input {i}{name} of shape "
                       f"{base[i].shape} at element {tuple(int(k) for k in worst)}: "
                       f"backward gives {analytic[worst]:.8g}, finite differences give "
                       f"{numerical[worst]:.8g}")
            if raise_exception:
                raise GradcheckError(message)
            return False
    return True


def jacobian(f, x):
    """The K×D matrix of ∂f_k/∂x_d, as the lecture writes derivatives.

    A scalar function of a D-vector gives a 1×D row; a K-vector function
    gives K×D. Inputs and outputs of other shapes are flattened.
    """
    x = _as_float64_leaves([x])[0]
    out = _output(f, [x])
    if not out.requires_grad:       # f ignores x: its Jacobian is zero
        return np.zeros((out.size, x.size))
    rows = []
    for k in range(out.size):
        x.grad = None
        seed = np.zeros(out.size)
        seed[k] = 1.0
        out.backward(seed.reshape(out.shape), retain_graph=True)
        rows.append(np.zeros(x.size) if x.grad is None else x.grad.ravel())
    return np.array(rows).reshape(out.size, x.size)
