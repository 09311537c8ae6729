"""Every differentiable operation the engine knows: forward, VJP and words, side by side.

A primitive is a NumPy forward function plus its vector-Jacobian product
(VJP): given the gradient ``g`` arriving at the output, the output value
``out`` and the forward inputs, the VJP returns one gradient per input
(``None`` for an input that takes no gradient, such as a boolean mask),
the way the course handout writes ``mul_backward(grad_output, a, b)``.
``out`` is passed so that exp, tanh and sigmoid reuse their forward value.
A VJP may return a gradient in the broadcast (output) shape: the reverse
pass sums it back to the input's shape (``unbroadcast``), once for all.

Next to the two functions, each entry carries what is said about the
operation, so that nothing outside this table branches on its name:

* ``symbol``: how a drawing labels the operation node (``×``, ``Σ``);
* ``formula``: the operation as the right-hand side of an equation,
  ``{0} @ {1}ᵀ`` for ``i1 = x @ Wᵀ``; ``{0}``, ``{1}`` are the inputs and
  ``{axis}`` etc. the parameters (default: ``name(inputs, params)``; a
  function of the number of inputs and the parameters where those matter);
* ``rules``: per input, the chain-rule step as the lecture writes it:
  ``{g}`` is the gradient arriving at the output (``∇z1 L``), ``{0}``, ``{1}``
  the inputs, ``{out}`` the output (one rule for every input of a variadic
  primitive such as add_n);
* ``shape_error``: what to say when the forward refuses the shapes.

``reads_inputs=False`` marks a VJP that uses its inputs' shapes but never
their values (add, sum, and exp, tanh, sigmoid, which read their output
instead), and whose output never shares memory with an input (reshape and
indexing hand out views: a later operation reading the view reads the
input): its leaf inputs need not stay read-only until backward (guard.py),
which saves that bookkeeping on every bias of every layer.
``test_primitives`` calls each such VJP with other values to hold it to that.

The engine reads only ``forward``, ``vjp``, ``selective`` and ``reads_inputs``; the stepper,
the drawings and the shape errors read the words. ``PRIMITIVES`` maps each
name to its entry, so tests and lessons can enumerate every operation.
"""
from __future__ import annotations

import math

import numpy as np

PRIMITIVES: dict[str, "Primitive"] = {}


def broadcast_problem(name, shapes, params):
    """The usual shape error of an elementwise operation: shapes that do not broadcast."""
    return (f"{name}: cannot broadcast shapes {' and '.join(map(str, shapes))}: "
            f"expected each trailing dimension to match or be 1")


def shapes_problem(name, shapes, params):
    """The shape error of an operation with its own rules (reshape, indexing, ...)."""
    detail = ", ".join(f"{k}={v!r}" for k, v in params.items())
    return f"{name}: cannot apply to shape(s) {', '.join(map(str, shapes))} ({detail})"


class Primitive:
    """One operation: its name, forward, VJP, and how to draw, write and explain it.

    A ``selective`` VJP also receives ``needs``, one bool per input, and
    returns ``None`` for inputs that need no gradient: worth it where an
    unneeded gradient costs real work, like ``x @ W`` with constant data ``x``.
    """

    __slots__ = ("name", "forward", "vjp", "symbol", "formula", "rules", "shape_error",
                 "selective", "reads_inputs")

    def __init__(self, name, forward, vjp, symbol=None, formula=None, rules=(),
                 shape_error=shapes_problem, selective=False, reads_inputs=True):
        self.name = name
        self.forward = forward
        self.vjp = vjp
        self.symbol = symbol or name
        self.formula = formula
        self.rules = rules
        self.shape_error = shape_error
        self.selective = selective
        self.reads_inputs = reads_inputs

    def equation(self, inputs, params):
        """The ``formula`` template for ``inputs`` inputs (variadic ones give a callable)."""
        if callable(self.formula):
            return self.formula(inputs, params)
        if self.formula is not None:
            return self.formula
        arguments = [f"{{{i}}}" for i in range(inputs)]
        arguments += [f"{key}={{{key}}}" for key in params if key != "index"]
        return f"{self.name}({', '.join(arguments)})"

    def __repr__(self):
        return f"<primitive {self.name}>"


def defprimitive(name, forward, vjp, **words):
    """Create a primitive and register it under ``name``."""
    prim = Primitive(name, forward, vjp, **words)
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
    # With e = exp(-|a|) ≤ 1 nothing overflows: 1 / (1 + e) for a ≥ 0, e / (1 + e) below,
    # which keeps the tiny values of very negative a (σ(-40) ≈ 4e-18) to full precision.
    # Four times faster than exp(-logaddexp(0, -a)), felt in every gated recurrent step.
    e = np.exp(-np.abs(a))
    r = 1.0 / (1.0 + e)
    return np.where(a >= 0, r, e * r)


def _mean(a, axis=None, keepdims=False):
    if a.dtype.char not in "fd":   # np.mean's rules: integers give float64, float16 sum in float32
        return np.mean(a, axis=axis, keepdims=keepdims)
    return np.add.reduce(a, axis=axis, keepdims=keepdims) / _count(a.shape, axis)


def _pow_vjp(g, out, a, exponent):
    # d/da a^p = p·a^(p−1). At p = 0 that reads 0·0^(−1) = 0·inf = NaN where a = 0;
    # the function is the constant 1 there, so the gradient is 0 (as PyTorch).
    if exponent == 0:
        return (np.zeros_like(g),)
    return (g * exponent * np.power(a, exponent - 1),)


def _power_vjp(g, out, a, b, needs=(True, True)):
    ga = gb = None
    with np.errstate(divide="ignore", invalid="ignore"):
        if needs[0]:    # b·a^(b−1), and 0 where b = 0 (a^0 is the constant 1), as PyTorch
            ga = np.where(b == 0, 0.0, g * b * np.power(a, b - 1))
        if needs[1]:    # a^b·log(a), and 0 where a = 0 and b ≥ 0 (0^b is constant there)
            gb = np.where((a == 0) & (b >= 0), 0.0, g * out * np.log(a))
    return ga, gb


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


def _matmul_problem(name, shapes, params):
    a, b = shapes
    if len(a) == 0 or len(b) == 0:
        return f"matmul: operands must have at least 1 dimension, got shapes {a} and {b}"
    inner_b = b[0] if len(b) == 1 else b[-2]
    return (f"matmul: shapes {a} and {b} do not fit: expected a.shape[-1] == "
            f"b.shape[{0 if len(b) == 1 else -2}] ({a[-1]} != {inner_b})")


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


def _matmul_t_problem(name, shapes, params):
    a, b = shapes
    return (f"matmul_t: x @ weightᵀ needs a weight of shape (out, in) with in == "
            f"x.shape[-1]; got x of shape {a} and weight of shape {b}")


def _outer_vjp(g, out, a, b, needs=(True, True)):
    return ((g @ b.ravel()).reshape(a.shape) if needs[0] else None,
            (a.ravel() @ g).reshape(b.shape) if needs[1] else None)


def _getitem_vjp(g, out, a, index):
    grad = np.zeros(a.shape, dtype=g.dtype)
    if _is_basic(index):
        grad[index] = g         # slices and integers never repeat an element
    else:
        np.add.at(grad, index, g)  # add.at, not assignment: an array index may repeat
    return (grad,)


def _is_basic(index):
    """Whether ``index`` is made of slices, integers, ``...`` and ``None`` only (no arrays)."""
    parts = index if type(index) is tuple else (index,)
    return all(type(i) in (slice, int) or i is Ellipsis or i is None for i in parts)


def _concatenate_vjp(g, out, *arrays, axis=0):
    cuts = np.cumsum([x.shape[axis] for x in arrays])[:-1]
    return tuple(np.split(g, cuts, axis=axis))


def _stack_vjp(g, out, *arrays, axis=0):
    return tuple(np.moveaxis(g, axis, 0))


def _where_vjp(g, out, cond, a, b):
    zero = np.zeros((), dtype=g.dtype)
    return None, np.where(cond, g, zero), np.where(cond, zero, g)


def _inside(a, low, high):
    """1 where ``low <= a <= high`` (a bound of None is no bound), as PyTorch's clamp."""
    inside = np.ones(a.shape, dtype=bool)
    if low is not None:
        inside &= a >= low
    if high is not None:
        inside &= a <= high
    return inside


def _listed(template):
    """A variadic formula: ``template`` filled with all n inputs, e.g. concat(i1, i2, axis=0)."""
    return lambda n, params: template.format(", ".join(f"{{{i}}}" for i in range(n)))


# --- the table: forward and VJP side by side ------------------------------------

ADD = defprimitive(
    "add", np.add,
    lambda g, out, a, b: (g, g),
    symbol="+", formula="{0} + {1}", rules=("{g}", "{g}"), shape_error=broadcast_problem,
    reads_inputs=False)
ADD_N = defprimitive(
    "add_n", lambda *arrays: sum(arrays[1:], arrays[0]),
    lambda g, out, *arrays: (g,) * len(arrays),
    symbol="+", formula=lambda n, params: " + ".join(f"{{{i}}}" for i in range(n)), rules=("{g}",),
    shape_error=broadcast_problem)
SUB = defprimitive(
    "sub", np.subtract,
    lambda g, out, a, b: (g, -g),
    symbol="−", formula="{0} − {1}", rules=("{g}", "−{g}"), shape_error=broadcast_problem,
    reads_inputs=False)
MUL = defprimitive(
    "mul", np.multiply,
    lambda g, out, a, b: (g * b, g * a),
    symbol="×", formula="{0} × {1}", rules=("{g} · {1}", "{g} · {0}"),
    shape_error=broadcast_problem)
DIV = defprimitive(
    "div", np.divide,
    lambda g, out, a, b: (g / b, -g * out / b),
    symbol="÷", formula="{0} ÷ {1}", rules=("{g} / {1}", "−{g} · {0} / {1}²"),
    shape_error=broadcast_problem)
NEG = defprimitive(
    "neg", np.negative, lambda g, out, a: (-g,),
    symbol="−x", formula="−{0}", rules=("−{g}",),
    reads_inputs=False)
POW = defprimitive(
    "pow", lambda a, exponent: np.power(a, exponent), _pow_vjp,
    formula="{0}^{exponent}", rules=("{g} · {exponent} · {0}^({exponent} − 1)",))
POWER = defprimitive(
    "power", np.power, _power_vjp, selective=True,
    symbol="**", formula="{0}^{1}", rules=("{g} · {1} · {0}^({1} − 1)", "{g} · {out} · log({0})"),
    shape_error=broadcast_problem)
MATMUL = defprimitive(
    "matmul", np.matmul, _matmul_vjp, selective=True,
    formula="{0} @ {1}", rules=("{g} @ {1}ᵀ", "{0}ᵀ @ {g}"), shape_error=_matmul_problem)
MATMUL_T = defprimitive(
    "matmul_t", _matmul_t, _matmul_t_vjp, selective=True,
    symbol="@ᵀ", formula="{0} @ {1}ᵀ", rules=("{g} @ {1}", "({g})ᵀ @ {0}"),
    shape_error=_matmul_t_problem)
OUTER = defprimitive(
    "outer", np.outer, _outer_vjp, selective=True,
    rules=("{g} @ {1}", "{0}ᵀ @ {g}"))
EXP = defprimitive(
    "exp", np.exp, lambda g, out, a: (g * out,),
    rules=("{g} · exp({0})",),
    reads_inputs=False)
LOG = defprimitive(
    "log", np.log, lambda g, out, a: (g / a,),
    rules=("{g} / {0}",))
SQRT = defprimitive(
    "sqrt", np.sqrt, lambda g, out, a: (g / (2.0 * out),),
    rules=("{g} / (2 · sqrt({0}))",),
    reads_inputs=False)
ABS = defprimitive(
    "abs", np.abs, lambda g, out, a: (g * np.sign(a),),
    rules=("{g} · sign({0})",))
TANH = defprimitive(
    "tanh", np.tanh, lambda g, out, a: (g * (1.0 - out * out),),
    rules=("{g} · (1 − tanh²({0}))",),
    reads_inputs=False)
SIGMOID = defprimitive(
    "sigmoid", _sigmoid, lambda g, out, a: (g * out * (1.0 - out),),
    symbol="σ", rules=("{g} · σ({0}) · (1 − σ({0}))",),
    reads_inputs=False)
RELU = defprimitive(
    "relu", lambda a: np.maximum(a, 0), lambda g, out, a: (g * (a > 0.0),),
    rules=("{g} · [{0} > 0]",))
MAXIMUM = defprimitive(
    "maximum", np.maximum,
    lambda g, out, a, b: (g * _tie_split(a, b), g * _tie_split(b, a)),
    rules=("{g} · [{0} ≥ {1}]", "{g} · [{1} ≥ {0}]"), shape_error=broadcast_problem)
MINIMUM = defprimitive(
    "minimum", np.minimum,
    lambda g, out, a, b: (g * _tie_split(b, a), g * _tie_split(a, b)),
    rules=("{g} · [{0} ≤ {1}]", "{g} · [{1} ≤ {0}]"), shape_error=broadcast_problem)
CLIP = defprimitive(
    "clip", lambda a, low, high: np.clip(a, low, high),
    lambda g, out, a, low, high: (g * _inside(a, low, high),),
    rules=("{g} · [{low} ≤ {0} ≤ {high}]",))
SUM = defprimitive(
    "sum", lambda a, axis=None, keepdims=False: np.add.reduce(a, axis=axis, keepdims=keepdims),
    lambda g, out, a, axis=None, keepdims=False: (_spread(g, a.shape, axis, keepdims),),
    symbol="Σ", formula="Σ({0}, axis={axis}, keepdims={keepdims})", rules=("broadcast({g})",),
    reads_inputs=False)
MEAN = defprimitive(
    "mean", _mean,
    lambda g, out, a, axis=None, keepdims=False:
        (_spread(g / _count(a.shape, axis), a.shape, axis, keepdims),),
    rules=("broadcast({g}) / n",),
    reads_inputs=False)
MAX = defprimitive(
    "max", lambda a, axis=None, keepdims=False: np.maximum.reduce(a, axis=axis, keepdims=keepdims),
    lambda g, out, a, axis=None, keepdims=False:
        (_expand_reduced(g, a.shape, axis, keepdims) * _share_of_max(a, out, axis, keepdims),),
    rules=("{g} · [{0} = max]",))
RESHAPE = defprimitive(
    "reshape", lambda a, shape: np.reshape(a, shape),
    lambda g, out, a, shape: (g.reshape(a.shape),),
    rules=("reshape({g})",))
TRANSPOSE = defprimitive(
    "transpose", lambda a, axes=None: np.transpose(a, axes),
    lambda g, out, a, axes=None:
        (np.transpose(g, None if axes is None else np.argsort(axes)),),
    symbol="ᵀ", rules=("{g}ᵀ",),
    formula=lambda n, params: "{0}ᵀ" if params.get("axes") is None else "transpose({0}, axes={axes})")
GETITEM = defprimitive(
    "getitem", lambda a, index: a[index], _getitem_vjp,
    symbol="[ ]", rules=("scatter({g})",))
CONCATENATE = defprimitive(
    "concatenate", lambda *arrays, axis=0: np.concatenate(arrays, axis=axis),
    _concatenate_vjp, symbol="concat", formula=_listed("concat({}, axis={{axis}})"),
    rules=("slice({g})",),
    reads_inputs=False)
STACK = defprimitive(
    "stack", lambda *arrays, axis=0: np.stack(arrays, axis=axis),
    _stack_vjp, formula=_listed("stack({}, axis={{axis}})"), rules=("slice({g})",),
    reads_inputs=False)
WHERE = defprimitive(
    "where", np.where, _where_vjp,
    rules=("", "{g} · [{0}]", "{g} · [not {0}]"), shape_error=broadcast_problem)
LOGSUMEXP = defprimitive(
    "logsumexp", _logsumexp,
    lambda g, out, a, axis=None, keepdims=False:
        (_expand_reduced(g, a.shape, axis, keepdims)
         * np.exp(a - _expand_reduced(out, a.shape, axis, keepdims)),),
    rules=("{g} · softmax({0})",))
LOG_SOFTMAX = defprimitive(
    "log_softmax", _log_softmax,
    lambda g, out, a, axis=-1: (g - np.exp(out) * np.add.reduce(g, axis=axis, keepdims=True),),
    rules=("{g} − softmax({0}) · Σ{g}",))
