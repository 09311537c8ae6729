"""Every differentiable operation the engine knows, forward and VJP side by side.

A primitive is a NumPy forward function plus its vector-Jacobian product
(VJP): given the gradient ``g`` arriving at the output, the output value
``out`` and the forward inputs, the VJP returns one gradient per input
(``None`` for an input that takes no gradient, such as a boolean mask).
A VJP may return a gradient in the broadcast (output) shape: the reverse
pass sums it back to the input's shape with ``unbroadcast``, once for all.
``out`` is passed so that exp, tanh and sigmoid reuse their forward value
instead of recomputing it.

``rules`` holds, per input (one for all inputs of a variadic primitive such as
add_n), the chain-rule step written the way the lecture
writes it: ``{g}`` is the gradient arriving at the output (e.g. ``∇z1 L``),
``{0}``, ``{1}`` name the inputs and ``{out}`` the output. The stepper and the
lessons print these; the engine never reads them.

``PRIMITIVES`` maps each name to its ``Primitive``, so tests and lessons can
enumerate every operation.
"""
from __future__ import annotations

import math

import numpy as np

PRIMITIVES: dict[str, "Primitive"] = {}


class Primitive:
    """One operation: a name, its forward, its VJP and how to draw and explain it.

    A ``selective`` VJP also receives ``needs``, one bool per input, and
    returns ``None`` for inputs that need no gradient: worth it where an
    unneeded gradient costs real work, like ``x @ W`` with constant data ``x``.

    ``exact_shapes`` promises that the VJP returns every gradient in its
    input's own shape, so the reverse pass skips comparing shapes (a cost
    per input, felt on small arrays). Only primitives whose forward never
    broadcasts its operands against each other can promise it; the default
    is to check.
    """

    __slots__ = ("name", "forward", "vjp", "symbol", "rules", "selective", "exact_shapes")

    def __init__(self, name, forward, vjp, symbol=None, rules=(), selective=False,
                 exact_shapes=False):
        self.name = name
        self.forward = forward
        self.vjp = vjp
        self.symbol = symbol or name
        self.rules = rules
        self.selective = selective
        self.exact_shapes = exact_shapes

    def __repr__(self):
        return f"<primitive {self.name}>"


def defprimitive(name, forward, vjp, symbol=None, rules=(), selective=False,
                 exact_shapes=False):
    """Create a primitive and register it under ``name``."""
    prim = Primitive(name, forward, vjp, symbol, rules, selective, exact_shapes)
    PRIMITIVES[name] = prim
    return prim


# The reductions call ``np.add.reduce`` / ``np.maximum.reduce`` directly: ``np.sum``,
# ``a.sum()`` and ``np.max`` reach the very same ufunc method through Python-level
# wrappers that cost more than the reduction itself on small arrays.


def unbroadcast(grad, shape):
    """Sum ``grad`` back down to ``shape``, undoing NumPy broadcasting.

    A forward that broadcast an input of shape ``shape`` used each of its
    elements several times, so by the "+=" rule its gradient is the sum of
    the gradients of all those uses.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = np.add.reduce(grad, axis=tuple(range(extra)))
        if grad.shape == shape:     # the usual case: a bias added to every row
            return grad
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = np.add.reduce(grad, axis=axes, keepdims=True)
    return grad


def _expand_reduced(g, shape, axis, keepdims):
    """Give a reduction's gradient back the reduced axes (as 1s), so it broadcasts to ``shape``."""
    if keepdims:
        return g
    if axis is None:
        return g.reshape((1,) * len(shape))
    kept = list(g.shape)
    for a in sorted(a % len(shape) for a in _axes(axis)):
        kept.insert(a, 1)
    return g.reshape(kept)


def _spread(g, shape, axis, keepdims):
    """A reduction's gradient copied back onto every element it reduced."""
    # empty + assignment: NumPy's broadcast_to is a Python function, ten times slower here.
    spread = np.empty(shape, dtype=g.dtype)
    spread[...] = _expand_reduced(g, shape, axis, keepdims)
    return spread


def _axes(axis):
    return (axis,) if isinstance(axis, (int, np.integer)) else axis


def _count(shape, axis):
    return math.prod(shape) if axis is None else math.prod(shape[a] for a in _axes(axis))


def _share_of_max(a, out, axis, keepdims):
    """Where the maximum came from: 1 at the max, ties sharing the gradient evenly."""
    hits = (a == _expand_reduced(out, a.shape, axis, keepdims)).astype(a.dtype)
    # In a's dtype: float32 stays float32.
    return hits / np.add.reduce(hits, axis=axis, keepdims=True)


def _tie_split(a, b):
    """Weight of ``a`` in maximum(a, b): 1 where a wins, 1/2 on ties (as PyTorch)."""
    # In the output's float dtype (float32 stays float32; an integer operand cannot truncate 1/2).
    return ((a > b) + 0.5 * (a == b)).astype(np.result_type(a, b, 1.0), copy=False)


def _finite_max(a, axis):
    """The maximum along ``axis`` (kept as size 1), with ±inf replaced by 0.

    Subtracting it keeps exp() from overflowing; an infinite maximum (a row of
    -inf, say) would turn a - max into NaN instead.
    """
    m = np.maximum.reduce(a, axis=axis, keepdims=True)
    finite = np.isfinite(m)
    return m if np.logical_and.reduce(finite, axis=None) else np.where(finite, m, 0.0)


def _logsumexp(a, axis=None, keepdims=False):
    m = _finite_max(a, axis)
    out = np.log(np.add.reduce(np.exp(a - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def _log_softmax(a, axis=-1):
    # Subtract the maximum before, not after: a - logsumexp(a) would lose the
    # low digits of a result near 0 to the rounding of a large logsumexp.
    shifted = a - _finite_max(a, axis)
    return shifted - np.log(np.add.reduce(np.exp(shifted), axis=axis, keepdims=True))


def _sigmoid(a):
    # exp(-log(1 + exp(-a))) never overflows, for any sign of a.
    return np.exp(-np.logaddexp(0, -a))


def _mean(a, axis=None, keepdims=False):
    if a.dtype.char not in "fd":   # np.mean's rules: integers give float64, float16 sum in float32
        return np.mean(a, axis=axis, keepdims=keepdims)
    return np.add.reduce(a, axis=axis, keepdims=keepdims) / _count(a.shape, axis)


def _power_exponent_grad(g, out, a):
    with np.errstate(divide="ignore", invalid="ignore"):
        return g * out * np.log(a)


def _matmul_vjp(g, out, a, b, needs=(True, True)):
    need_a, need_b = needs
    if a.ndim == 2 and b.ndim == 2:
        return (g @ b.T if need_a else None), (a.T @ g if need_b else None)
    if a.ndim == 1 and b.ndim == 1:
        return g * b, g * a
    # Treat 1-D operands as a row (left) or a column (right), as np.matmul does.
    a2 = a[np.newaxis, :] if a.ndim == 1 else a
    b2 = b[:, np.newaxis] if b.ndim == 1 else b
    g2 = np.expand_dims(g, -2) if a.ndim == 1 else g
    g2 = np.expand_dims(g2, -1) if b.ndim == 1 else g2
    ga = gb = None
    if need_a:
        ga = unbroadcast(g2 @ np.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
    if need_b:
        gb = unbroadcast(np.swapaxes(a2, -1, -2) @ g2, b2.shape).reshape(b.shape)
    return ga, gb


def _matmul_t(a, b):
    """``a @ bᵀ`` for a weight ``b`` of shape (out, in): a Linear layer's product, in one step."""
    if b.ndim != 2:
        raise ValueError("the second operand must be a 2-D (out, in) matrix")
    return np.matmul(a, b.T)


def _matmul_t_vjp(g, out, a, b, needs=(True, True)):
    # out = a @ bᵀ with b of shape (out, in): ∇a = g @ b, and ∇b = gᵀ @ a summed over
    # every leading (batch) axis, which lands directly in b's own (out, in) layout.
    need_a, need_b = needs
    gb = None
    if need_b:
        g2 = g.reshape(-1, g.shape[-1]) if g.ndim != 2 else g
        a2 = a.reshape(-1, a.shape[-1]) if a.ndim != 2 else a
        gb = g2.T @ a2
    return (g @ b if need_a else None), gb


def _outer_vjp(g, out, a, b, needs=(True, True)):
    return ((g @ b.ravel()).reshape(a.shape) if needs[0] else None,
            (a.ravel() @ g).reshape(b.shape) if needs[1] else None)


def _power_vjp(g, out, a, b, needs=(True, True)):
    return (g * b * np.power(a, b - 1) if needs[0] else None,
            _power_exponent_grad(g, out, a) if needs[1] else None)


def _getitem_vjp(g, out, a, index):
    grad = np.zeros(a.shape, dtype=g.dtype)
    np.add.at(grad, index, g)  # add.at, not assignment: an index may repeat
    return (grad,)


def _concatenate_vjp(g, out, *arrays, axis=0):
    cuts = np.cumsum([x.shape[axis] for x in arrays])[:-1]
    return tuple(np.split(g, cuts, axis=axis))


def _stack_vjp(g, out, *arrays, axis=0):
    return tuple(np.moveaxis(g, axis, 0))


def _where_vjp(g, out, cond, a, b):
    zero = np.zeros((), dtype=g.dtype)
    return None, np.where(cond, g, zero), np.where(cond, zero, g)


# --- the registry: forward and VJP side by side ------------------------------

ADD = defprimitive(
    "add", np.add,
    lambda g, out, a, b: (g, g),
    symbol="+", rules=("{g}", "{g}"))
ADD_N = defprimitive(
    "add_n", lambda *arrays: sum(arrays[1:], arrays[0]),
    lambda g, out, *arrays: (g,) * len(arrays),
    symbol="+", rules=("{g}",))
SUB = defprimitive(
    "sub", np.subtract,
    lambda g, out, a, b: (g, -g),
    symbol="−", rules=("{g}", "−{g}"))
MUL = defprimitive(
    "mul", np.multiply,
    lambda g, out, a, b: (g * b, g * a),
    symbol="×", rules=("{g} · {1}", "{g} · {0}"))
DIV = defprimitive(
    "div", np.divide,
    lambda g, out, a, b: (g / b, -g * out / b),
    symbol="÷", rules=("{g} / {1}", "−{g} · {0} / {1}²"))
NEG = defprimitive(
    "neg", np.negative, lambda g, out, a: (-g,),
    symbol="−x", rules=("−{g}",), exact_shapes=True)
POW = defprimitive(
    "pow", lambda a, exponent: np.power(a, exponent),
    lambda g, out, a, exponent: (g * exponent * np.power(a, exponent - 1),),
    symbol="pow", rules=("{g} · {exponent} · {0}^({exponent} − 1)",), exact_shapes=True)
POWER = defprimitive(
    "power", np.power,
    _power_vjp, selective=True,
    symbol="**", rules=("{g} · {1} · {0}^({1} − 1)", "{g} · {out} · log({0})"))
MATMUL = defprimitive(
    "matmul", np.matmul, _matmul_vjp, selective=True,
    symbol="matmul", rules=("{g} @ {1}ᵀ", "{0}ᵀ @ {g}"), exact_shapes=True)
MATMUL_T = defprimitive(
    "matmul_t", _matmul_t, _matmul_t_vjp, selective=True,
    symbol="@ᵀ", rules=("{g} @ {1}", "({g})ᵀ @ {0}"), exact_shapes=True)
OUTER = defprimitive(
    "outer", np.outer, _outer_vjp, selective=True,
    symbol="outer", rules=("{g} @ {1}", "{0}ᵀ @ {g}"), exact_shapes=True)
EXP = defprimitive(
    "exp", np.exp, lambda g, out, a: (g * out,),
    rules=("{g} · exp({0})",), exact_shapes=True)
LOG = defprimitive(
    "log", np.log, lambda g, out, a: (g / a,),
    rules=("{g} / {0}",), exact_shapes=True)
SQRT = defprimitive(
    "sqrt", np.sqrt, lambda g, out, a: (g / (2.0 * out),),
    rules=("{g} / (2 · sqrt({0}))",), exact_shapes=True)
ABS = defprimitive(
    "abs", np.abs, lambda g, out, a: (g * np.sign(a),),
    rules=("{g} · sign({0})",), exact_shapes=True)
TANH = defprimitive(
    "tanh", np.tanh, lambda g, out, a: (g * (1.0 - out * out),),
    rules=("{g} · (1 − tanh²({0}))",), exact_shapes=True)
SIGMOID = defprimitive(
    "sigmoid", _sigmoid, lambda g, out, a: (g * out * (1.0 - out),),
    symbol="σ", rules=("{g} · σ({0}) · (1 − σ({0}))",), exact_shapes=True)
RELU = defprimitive(
    "relu", lambda a: np.maximum(a, 0), lambda g, out, a: (g * (a > 0.0),),
    rules=("{g} · [{0} > 0]",), exact_shapes=True)
MAXIMUM = defprimitive(
    "maximum", np.maximum,
    lambda g, out, a, b: (g * _tie_split(a, b), g * _tie_split(b, a)),
    rules=("{g} · [{0} ≥ {1}]", "{g} · [{1} ≥ {0}]"))
MINIMUM = defprimitive(
    "minimum", np.minimum,
    lambda g, out, a, b: (g * _tie_split(b, a), g * _tie_split(a, b)),
    rules=("{g} · [{0} ≤ {1}]", "{g} · [{1} ≤ {0}]"))
def _inside(a, low, high):
    """1 where ``low <= a <= high`` (a bound of None is no bound), as PyTorch's clamp."""
    inside = np.ones(a.shape, dtype=bool)
    if low is not None:
        inside &= a >= low
    if high is not None:
        inside &= a <= high
    return inside


CLIP = defprimitive(
    "clip", lambda a, low, high: np.clip(a, low, high),
    lambda g, out, a, low, high: (g * _inside(a, low, high),),
    rules=("{g} · [{low} ≤ {0} ≤ {high}]",))
SUM = defprimitive(
    "sum", lambda a, axis=None, keepdims=False: np.add.reduce(a, axis=axis, keepdims=keepdims),
    lambda g, out, a, axis=None, keepdims=False: (_spread(g, a.shape, axis, keepdims),),
    symbol="Σ", rules=("broadcast({g})",), exact_shapes=True)
MEAN = defprimitive(
    "mean", _mean,
    lambda g, out, a, axis=None, keepdims=False:
        (_spread(g / _count(a.shape, axis), a.shape, axis, keepdims),),
    rules=("broadcast({g}) / n",), exact_shapes=True)
MAX = defprimitive(
    "max", lambda a, axis=None, keepdims=False: np.maximum.reduce(a, axis=axis, keepdims=keepdims),
    lambda g, out, a, axis=None, keepdims=False:
        (_expand_reduced(g, a.shape, axis, keepdims) * _share_of_max(a, out, axis, keepdims),),
    rules=("{g} · [{0} = max]",), exact_shapes=True)
RESHAPE = defprimitive(
    "reshape", lambda a, shape: np.reshape(a, shape),
    lambda g, out, a, shape: (g.reshape(a.shape),),
    rules=("reshape({g})",), exact_shapes=True)
TRANSPOSE = defprimitive(
    "transpose", lambda a, axes=None: np.transpose(a, axes),
    lambda g, out, a, axes=None:
        (np.transpose(g, None if axes is None else np.argsort(axes)),),
    symbol="ᵀ", rules=("{g}ᵀ",), exact_shapes=True)
GETITEM = defprimitive(
    "getitem", lambda a, index: a[index], _getitem_vjp,
    symbol="[ ]", rules=("scatter({g})",), exact_shapes=True)
CONCATENATE = defprimitive(
    "concatenate", lambda *arrays, axis=0: np.concatenate(arrays, axis=axis),
    _concatenate_vjp, symbol="concat", rules=("slice({g})",), exact_shapes=True)
STACK = defprimitive(
    "stack", lambda *arrays, axis=0: np.stack(arrays, axis=axis),
    _stack_vjp, rules=("slice({g})",), exact_shapes=True)
WHERE = defprimitive(
    "where", np.where, _where_vjp,
    rules=("", "{g} · [{0}]", "{g} · [not {0}]"))
LOGSUMEXP = defprimitive(
    "logsumexp", _logsumexp,
    lambda g, out, a, axis=None, keepdims=False:
        (_expand_reduced(g, a.shape, axis, keepdims)
         * np.exp(a - _expand_reduced(out, a.shape, axis, keepdims)),),
    rules=("{g} · softmax({0})",), exact_shapes=True)
LOG_SOFTMAX = defprimitive(
    "log_softmax", _log_softmax,
    lambda g, out, a, axis=-1: (g - np.exp(out) * np.add.reduce(g, axis=axis, keepdims=True),),
    rules=("{g} − softmax({0}) · Σ{g}",), exact_shapes=True)
