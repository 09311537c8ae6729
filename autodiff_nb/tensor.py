"""``Tensor``: a NumPy array that records the operations applied to it.

Each operation runs its primitive's NumPy forward and, when some input
requires a gradient and recording is on, appends a record to the tape. The
reverse pass lives in ``tape.py``; this module is only the front end.
"""
from __future__ import annotations

import numbers
import weakref

import numpy as np

from . import primitives as P
from .errors import DTypeError, ShapeError, at_user_line
from .tape import STATE, TAPE, Record, run_backward

# One clock numbers tensors (their ids), records (their tape index) and
# changes to .data, so "recorded before this change" is a comparison of ints.
_clock = TAPE.clock


def _shape_problem(prim, inputs, params):
    """Say in words why ``prim`` could not combine these shapes."""
    shapes = [t._data.shape for t in inputs]
    name = prim.name
    if name == "matmul":
        a, b = shapes
        if len(a) == 0 or len(b) == 0:
            return f"matmul: operands must have at least 1 dimension, got shapes {a} and {b}"
        inner_b = b[0] if len(b) == 1 else b[-2]
        return (f"matmul: shapes {a} and {b} do not fit: expected a.shape[-1] == "
                f"b.shape[{0 if len(b) == 1 else -2}] ({a[-1]} != {inner_b})")
    if name == "matmul_t":
        a, b = shapes
        return (f"matmul_t: x @ weightᵀ needs a weight of shape (out, in) with in == "
                f"x.shape[-1]; got x of shape {a} and weight of shape {b}")
    if name in ("reshape", "getitem", "transpose", "concatenate", "stack", "outer") \
            or len(inputs) == 1:
        detail = ", ".join(f"{k}={v!r}" for k, v in params.items())
        return f"{name}: cannot apply to shape(s) {', '.join(map(str, shapes))} ({detail})"
    return (f"{name}: cannot broadcast shapes {' and '.join(map(str, shapes))}: "
            f"expected each trailing dimension to match or be 1")


def _lift(value, like):
    """An operand as a Tensor: Tensors (subclasses too) as they are, constants wrapped.

    Python numbers take the other operand's float dtype, so float32 stays float32.
    """
    if isinstance(value, Tensor):
        return value
    if type(value) in (float, int) or (isinstance(value, numbers.Number)
                                       and not isinstance(value, bool)):
        dtype = like._data.dtype if like._data.dtype.kind == "f" else np.float64
        return _wrap(np.asarray(value, dtype=dtype))
    return Tensor(value)


def apply(prim, *args, **params):
    """Run ``prim`` forward on ``args`` (Tensors or constants) and record it."""
    inputs = args
    for a in args:
        if type(a) is not Tensor:
            # where(mask, x, 0.0): the number follows x's dtype, not the mask's.
            tensors = [t for t in args if isinstance(t, Tensor)]
            like = next((t for t in tensors if t._data.dtype.kind == "f"), tensors[0])
            inputs = tuple(_lift(t, like) for t in args)
            break
    try:
        if len(inputs) == 1:
            data = prim.forward(inputs[0]._data, **params)
        elif len(inputs) == 2:
            data = prim.forward(inputs[0]._data, inputs[1]._data, **params)
        else:
            data = prim.forward(*[t._data for t in inputs], **params)
    except (ValueError, IndexError, TypeError) as exc:
        message = _shape_problem(prim, inputs, params)
        raise ShapeError(at_user_line(f"{message}\n  ({exc})")) from None
    if STATE.grad_enabled:
        for t in inputs:
            if t.requires_grad:
                return _recorded(prim, inputs, data, params)
    return _wrap(data)


_NO_PARAMS = {}
_new_tensor = object.__new__
_new_record = tuple.__new__  # skips NamedTuple's Python-level __new__
_weakref = weakref.ref
_entries = TAPE.entries


def _start(tensor, data, requires_grad=False, name=None):
    """Set every field of a new ``tensor`` (slots: a field read before it is set would raise)."""
    tensor._data = data
    tensor._id = next(_clock)
    tensor._record = None
    tensor.requires_grad = requires_grad
    tensor.name = name
    tensor.grad = None
    tensor._changed_at = -1
    tensor._freed = False
    tensor._retains_grad = False
    return tensor


def _wrap(data):
    """A new unrecorded Tensor around ``data`` (NumPy returns scalars from 0-d arithmetic)."""
    return _start(_new_tensor(Tensor), data if type(data) is np.ndarray else np.asarray(data))


def _restore(data, requires_grad, name, grad):
    """Rebuild a Tensor from what ``Tensor.__reduce__`` gave (copy, deepcopy, pickle)."""
    tensor = _start(_new_tensor(Tensor), data, requires_grad, name)
    tensor.grad = grad
    return tensor


def _recorded(prim, inputs, data, params):
    """A new Tensor around ``data``, recorded on the tape as ``prim(*inputs, **params)``.

    This is the one place where records are made. The tensor's id doubles as
    its record's index (one clock tick), the record holds its output through
    the same weak reference that the tape keeps (``Tape``: no cycle), and
    ``_start`` is written out rather than called: this runs once per recorded
    operation, where a Python call is a noticeable share of the cost
    (``test_every_field_is_set`` keeps the two in step).
    """
    tensor = _new_tensor(Tensor)
    tensor._data = data if type(data) is np.ndarray else np.asarray(data)
    tensor._id = index = next(_clock)
    tensor.requires_grad = True
    tensor.name = tensor.grad = None
    tensor._changed_at = -1
    tensor._freed = tensor._retains_grad = False
    entry = _weakref(tensor)
    tensor._record = _new_record(Record, (index, prim, inputs, entry, params, STATE.scope))
    _entries.append(entry)
    if len(_entries) >= TAPE.compact_at or STATE.anomaly:
        TAPE.after_append(tensor)
    return tensor


def _unary(prim):
    """A Tensor method for a one-input primitive without parameters, e.g. ``tanh``.

    The same steps as ``apply``, unrolled: these run once per recorded
    operation, so every call saved here is felt.
    """
    forward = prim.forward

    def method(self):
        data = forward(self._data)
        if self.requires_grad and STATE.grad_enabled:
            return _recorded(prim, (self,), data, _NO_PARAMS)
        return _wrap(data)

    method.__name__ = prim.name
    return method


def _binary(prim):
    """A Tensor operator for a two-input primitive, e.g. ``__mul__``."""
    forward = prim.forward

    def method(self, other):
        if type(other) is not Tensor:
            other = _lift(other, self)
        try:
            data = forward(self._data, other._data)
        except (ValueError, TypeError) as exc:
            message = _shape_problem(prim, (self, other), _NO_PARAMS)
            raise ShapeError(at_user_line(f"{message}\n  ({exc})")) from None
        if (self.requires_grad or other.requires_grad) and STATE.grad_enabled:
            return _recorded(prim, (self, other), data, _NO_PARAMS)
        return _wrap(data)

    method.__name__ = f"__{prim.name}__"
    return method


def _reflected(method):
    """``__rmul__`` from ``__mul__``: the number or array on the left becomes a Tensor first."""
    def reflected(self, other):
        return method(_lift(other, self), self)

    reflected.__name__ = "__r" + method.__name__[2:]
    return reflected


class Tensor:
    """An array plus what is needed to differentiate through it.

    ``Tensor(data, requires_grad=False, name=None)`` copies ``data``. Python
    numbers and lists become float64; NumPy arrays keep their dtype, so
    float32 stays float32 and integer labels stay integers. Only floating
    point tensors can require a gradient.
    """

    # Slots, not an instance dict: no dict to allocate per tensor, and the reverse pass
    # reads these fields once per operation. ``_start`` sets every one of them.
    __slots__ = (
        "_data",            # the NumPy array
        "_id",              # tape-assigned id (for a recorded tensor, also its record's index)
        "_record",          # the Record that produced this tensor (None for leaves)
        "requires_grad",
        "name",
        "grad",             # .grad: on leaves that require grad, after backward
        "_changed_at",      # tape clock at the last assignment to .data
        "_freed",           # set once a backward pass went through this tensor's record
        "_retains_grad",
        "__weakref__",      # the tape and records refer to outputs weakly
    )
    __array_ufunc__ = None  # make ``ndarray * Tensor`` call Tensor.__rmul__

    def __init__(self, data, requires_grad=False, name=None, dtype=None):
        if isinstance(data, Tensor):
            data = data._data
        from_python = not isinstance(data, (np.ndarray, np.generic))
        array = np.array(data, dtype=dtype)
        if from_python and dtype is None and array.dtype.kind in "iu":
            array = array.astype(np.float64)
        if array.dtype.kind not in "biuf":
            raise DTypeError(at_user_line(
                f"Tensor: cannot hold data of dtype {array.dtype}; expected numbers "
                f"(float for anything that needs a gradient)"))
        if requires_grad and array.dtype.kind != "f":
            raise DTypeError(at_user_line(
                f"Tensor: requires_grad=True needs floating point data, got dtype "
                f"{array.dtype} of shape {array.shape}; convert with .astype(float)"))
        _start(self, array, bool(requires_grad), None if name is None else str(name))

    # --- data and metadata -------------------------------------------------
    @property
    def data(self):
        """The NumPy array. Assigning (also ``t.data -= ...``) counts as an in-place change."""
        return self._data

    @data.setter
    def data(self, value):
        if value is not self._data:   # ``t.data -= step`` hands back the same array
            self._data = np.asarray(getattr(value, "_data", value), dtype=self._data.dtype)
        self._changed_at = TAPE.last_change = next(TAPE.clock)

    shape = property(lambda self: self._data.shape)
    ndim = property(lambda self: self._data.ndim)
    size = property(lambda self: self._data.size)
    dtype = property(lambda self: self._data.dtype)
    is_leaf = property(lambda self: self._record is None)
    T = property(lambda self: apply(P.TRANSPOSE, self))

    def numpy(self):
        return self._data

    def item(self):
        return self._data.item()

    def detach(self):
        """The same data, cut off from the graph."""
        return _wrap(self._data)

    def __reduce__(self):
        """Copies and pickles are new leaves with ids of their own, as in PyTorch.

        A copy that kept its original's id would share its gradient: in
        ``w * deepcopy(w)`` both factors would receive the sum of the two.
        ``copy.copy`` shares the array, ``copy.deepcopy`` and pickle copy it;
        ``requires_grad``, ``name`` and ``.grad`` come along, the graph does not.
        """
        return _restore, (self._data, self.requires_grad, self.name, self.grad)

    def retain_grad(self):
        """Keep ``.grad`` on this intermediate tensor after backward."""
        self._retains_grad = True
        return self

    def __array__(self, dtype=None, copy=None):
        return self._data if dtype is None else self._data.astype(dtype)

    def __len__(self):
        return len(self._data)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __float__(self):
        return float(self._data)

    def _label(self):
        return repr(self.name) if self.name else f"of shape {self._data.shape}"

    def __repr__(self):
        body = np.array2string(self._data, precision=4, separator=", ", threshold=20,
                               edgeitems=3, prefix="Tensor(")
        parts = [body]
        if self.name:
            parts.append(f"name={self.name!r}")
        parts.append(f"shape={self._data.shape}")
        if self._data.dtype != np.float64:
            parts.append(f"dtype={self._data.dtype}")
        if self._record is not None:
            parts.append(f"op={self._record.primitive.name!r}")
        if self.requires_grad:
            parts.append("requires_grad=True")
            if self._record is None or self._retains_grad:
                parts.append("grad=None" if self.grad is None else "grad=computed")
        return f"Tensor({', '.join(parts)})"

    # --- the reverse pass --------------------------------------------------
    def backward(self, grad=None, retain_graph=False):
        """Fill ``.grad`` of every leaf this tensor depends on.

        A scalar output starts from 1; any other output needs ``grad`` of its
        shape. A second backward through the same graph raises unless the
        first used ``retain_graph=True`` (then gradients accumulate).
        """
        run_backward(self, grad, retain_graph)

    def draw(self, **options):
        """Draw the computation that produced this tensor (see ``autodiff_nb.draw``)."""
        from .draw import draw
        return draw(self, **options)

    # --- arithmetic --------------------------------------------------------
    __add__ = _binary(P.ADD)
    __radd__ = _reflected(__add__)
    __sub__ = _binary(P.SUB)
    __rsub__ = _reflected(__sub__)
    __mul__ = _binary(P.MUL)
    __rmul__ = _reflected(__mul__)
    __truediv__ = _binary(P.DIV)
    __rtruediv__ = _reflected(__truediv__)
    __matmul__ = _binary(P.MATMUL)
    __rmatmul__ = _reflected(__matmul__)
    __neg__ = _unary(P.NEG)

    def __pow__(self, exponent):
        if isinstance(exponent, numbers.Number):
            return apply(P.POW, self, exponent=exponent)
        return apply(P.POWER, self, exponent)

    def __rpow__(self, base):
        return apply(P.POWER, base, self)

    # Comparisons give plain boolean tensors (masks); they are not differentiable.
    def __gt__(self, other): return _wrap(self._data > np.asarray(other))
    def __ge__(self, other): return _wrap(self._data >= np.asarray(other))
    def __lt__(self, other): return _wrap(self._data < np.asarray(other))
    def __le__(self, other): return _wrap(self._data <= np.asarray(other))

    def __getitem__(self, index):
        return apply(P.GETITEM, self, index=_plain_index(index))

    # --- elementwise and reductions ----------------------------------------
    exp = _unary(P.EXP)
    log = _unary(P.LOG)
    sqrt = _unary(P.SQRT)
    abs = _unary(P.ABS)
    tanh = _unary(P.TANH)
    sigmoid = _unary(P.SIGMOID)
    relu = _unary(P.RELU)
    def clip(self, low, high): return apply(P.CLIP, self, low=low, high=high)

    def sum(self, axis=None, keepdims=False):
        return apply(P.SUM, self, axis=_axis(axis), keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return apply(P.MEAN, self, axis=_axis(axis), keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return apply(P.MAX, self, axis=_axis(axis), keepdims=keepdims)

    def logsumexp(self, axis=None, keepdims=False):
        return apply(P.LOGSUMEXP, self, axis=_axis(axis), keepdims=keepdims)

    def log_softmax(self, axis=-1):
        return apply(P.LOG_SOFTMAX, self, axis=axis)

    def reshape(self, *shape):
        if len(shape) == 1 and not isinstance(shape[0], numbers.Integral):
            shape = tuple(shape[0])
        return apply(P.RESHAPE, self, shape=shape)

    def transpose(self, *axes):
        if len(axes) == 1 and not isinstance(axes[0], numbers.Integral):
            axes = tuple(axes[0])
        return apply(P.TRANSPOSE, self, axes=axes or None)


def _axis(axis):
    """Axes as an int or a tuple, so records hold hashable, printable parameters."""
    return tuple(axis) if isinstance(axis, list) else axis


def _plain_index(index):
    """An index with Tensors replaced by their arrays."""
    if isinstance(index, tuple):
        return tuple([_plain_index(i) for i in index])
    if isinstance(index, Tensor):
        return index._data
    if isinstance(index, list):
        return np.asarray(index)
    return index
