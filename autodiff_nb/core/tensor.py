"""``Tensor``: a NumPy array that records the operations applied to it.

Every operation (method, operator or function) goes through ``apply``: it
runs the primitive's NumPy forward and, when some input requires a gradient
and recording is on, ``record`` appends the operation to the tape. The
reverse pass lives in ``tape.py``; this module is only the front end.
"""
from __future__ import annotations

import numbers
import weakref

import numpy as np

from . import primitives as P
from .errors import DTypeError, ShapeError, at_user_line
from .number_format import array_text
from .guard import UNGUARDED, ReadOnlyArray, hand_out, protect
from .tape import ANOMALY, CHANGES, CLOCK, GRAD_ENABLED, SCOPE, Record, backward, _check_finite


def apply(prim, *args, **params):
    """Run ``prim`` forward on ``args`` (Tensors, arrays or numbers); record it if needed.

    This is the one way an operation reaches the tape (the course-handout
    engine comes here too, via a primitive whose forward hands back the
    output its code computed). The output's id is its record's index; the
    record holds the output weakly (the output holds its record), and every
    leaf input whose values the VJP reads stays read-only until this operation
    has been backpropagated (guard.py). A forward that refuses its operands' shapes
    becomes a ``ShapeError`` in the primitive's own words, pointing at the
    user's line.
    """
    for arg in args:
        if type(arg) is not Tensor:
            args = _lift_all(args)
            break
    try:
        # The calls without parameters spelled out for one and two inputs: a generic
        # f(*arrays, **params) call costs as much as a small forward (bench/README.md).
        if params or len(args) > 2:
            data = prim.forward(*[t._data for t in args], **params)
        elif len(args) == 2:
            data = prim.forward(args[0]._data, args[1]._data)
        else:
            data = prim.forward(args[0]._data)
    except (ValueError, IndexError, TypeError) as exc:
        message = prim.shape_error(prim.name, [t._data.shape for t in args], params)
        raise ShapeError(at_user_line(f"{message}\n  ({exc})")) from None
    recording = False
    if GRAD_ENABLED.get():
        for tensor in args:
            if tensor.requires_grad:
                recording = True
                break
    if not recording:
        return _new(data)
    output = _new(data, True)
    user = weakref.ref(output)
    output._record = _new_record(Record, (output._id, prim, args, user, params, SCOPE.get()))
    if prim.reads_inputs:               # its VJP will read its inputs' values
        for tensor in args:
            if tensor._record is None and tensor._guard is not UNGUARDED:
                protect(tensor, user)   # a leaf: its memory stays read-only (guard.py)
    if ANOMALY.get():
        _check_finite("the forward value", output._record, output._data)
    return output


# ``Record(...)`` runs NamedTuple's Python-level __new__; building the tuple directly
# is 2.5 times faster, felt once per recorded operation (bench/README.md).
_new_record = tuple.__new__


def _new(data, requires_grad=False, name=None, cls=None):
    """A Tensor around ``data`` as it is (no copy): the one place that sets every field.

    (Slots: a field read before it is set would raise.)
    """
    tensor = object.__new__(cls or Tensor)
    tensor._data = data if type(data) is np.ndarray else np.asarray(data)
    tensor._id = next(CLOCK)
    tensor._record = None
    tensor.requires_grad = requires_grad
    tensor.name = name
    tensor.grad = None
    tensor._changed_at = -1
    tensor._freed = False
    tensor._retains_grad = False
    tensor._guard = None
    tensor._pass = None
    return tensor


def _lift_all(args):
    """Operands as Tensors; a number takes the dtype of the first floating point operand.

    So ``x * 2`` stays float32 for a float32 ``x``, and ``where(mask, x, 0.0)``
    follows x, not the boolean mask.
    """
    tensors = [a for a in args if isinstance(a, Tensor)]
    like = next((t for t in tensors if t._data.dtype.kind == "f"), None)
    return tuple(_lift(a, like) for a in args)


def _lift(value, like=None):
    """One operand as a Tensor: Tensors (subclasses too) as they are, constants wrapped."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        dtype = like._data.dtype if like is not None else np.float64
        constant = _new(np.asarray(value, dtype=dtype))
        constant._guard = UNGUARDED     # a fresh array nobody else holds
        return constant
    return Tensor(value)


class Tensor:
    """An array plus what is needed to differentiate through it.

    ``Tensor(data, requires_grad=False, name=None)`` copies ``data``. Python
    numbers and lists become float64; NumPy arrays keep their dtype, so
    float32 stays float32 and integer labels stay integers. Only floating
    point tensors can require a gradient.
    """

    # Slots, not an instance dict: nothing to allocate per tensor beyond these fields,
    # and the reverse pass reads them once per operation. ``_new`` sets every one.
    __slots__ = (
        "_data",            # the NumPy array
        "_id",              # tape-assigned id (for a recorded tensor, also its record's index)
        "_record",          # the Record that produced this tensor (None for leaves)
        "requires_grad",
        "name",
        "grad",             # .grad: on leaves that require grad, after backward
        "_changed_at",      # clock at the last assignment to .data
        "_freed",           # set once a backward pass without retain_graph used its record
        "_retains_grad",
        "_guard",           # the Guard of its memory (guard.py), made when first needed
        "_pass",            # the latest backward pass started from this tensor (tape.Pass)
        "__weakref__",      # records refer to their outputs weakly
    )
    __array_ufunc__ = None  # make ``ndarray * Tensor`` call Tensor.__rmul__
    __hash__ = object.__hash__    # ``==`` compares elements, as NumPy's; identity hashes

    def __new__(cls, data, requires_grad=False, name=None, dtype=None):
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
        return _new(array, bool(requires_grad), None if name is None else str(name), cls)

    # --- data and metadata -------------------------------------------------
    @property
    def data(self):
        """The NumPy array: read-only while a recorded operation still needs it (guard.py).

        Assigning a new array (``t.data = t.data - 0.1 * t.grad``) always works;
        a graph recorded before then refuses to backpropagate with it.
        """
        return hand_out(self, CLOCK)

    @data.setter
    def data(self, value):
        if value is self._data:     # ``t.data -= step`` wrote in place and hands it back:
            return                  # only possible while no graph needs it (guard.py)
        value = getattr(value, "_data", value)
        if isinstance(value, ReadOnlyArray):   # another tensor's locked array: take a copy
            value = np.array(value)
        self._data = np.asarray(value, dtype=self._data.dtype)
        self._guard = None
        self._changed_at = CHANGES.tick()

    def numpy(self):
        """The NumPy array, as ``.data`` hands it out."""
        return hand_out(self, CLOCK)

    def __array__(self, dtype=None, copy=None):
        array = hand_out(self, CLOCK)
        if dtype is not None and array.dtype != dtype:
            return array.astype(dtype)
        return np.array(array) if copy else array

    shape = property(lambda self: self._data.shape)
    ndim = property(lambda self: self._data.ndim)
    size = property(lambda self: self._data.size)
    dtype = property(lambda self: self._data.dtype)
    is_leaf = property(lambda self: self._record is None)
    T = property(lambda self: apply(P.TRANSPOSE, self))

    def item(self):
        return self._data.item()

    def detach(self):
        """The same array, cut off from the graph (and guarded with it: writes wait for backward)."""
        return self._sharing(requires_grad=False, name=None, grad=None)

    def __copy__(self):
        """A new leaf sharing this tensor's array, with its own id (so its own gradient)."""
        return self._sharing(self.requires_grad, self.name, self.grad)

    def _sharing(self, requires_grad, name, grad):
        hand_out(self, CLOCK)          # an output's memory: guarded for its own operation
        tensor = _new(self._data, requires_grad, name)
        tensor._guard = self._guard
        tensor.grad = grad
        return tensor

    def __reduce__(self):
        """Deep copies and pickles are new leaves with ids of their own, as in PyTorch.

        A copy that kept its original's id would share its gradient: in
        ``w * deepcopy(w)`` both factors would receive the sum of the two.
        ``requires_grad``, ``name`` and ``.grad`` come along, the graph does not.
        """
        return _restore, (self._data, self.requires_grad, self.name, self.grad)

    def retain_grad(self):
        """Keep ``.grad`` on this intermediate tensor after backward."""
        self._retains_grad = True
        return self

    # --- truth and size, as NumPy's -----------------------------------------
    def __bool__(self):
        if self._data.size != 1:
            raise ValueError(at_user_line(
                f"the truth value of a Tensor of shape {self._data.shape} is ambiguous: "
                f"use (...).any() or (...).all(), or compare one element"))
        return bool(self._data.reshape(()))

    def any(self):
        return _new(np.logical_or.reduce(self._data, axis=None))

    def all(self):
        return _new(np.logical_and.reduce(self._data, axis=None))

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError(at_user_line("len() of a 0-d tensor: it has no first dimension"))
        return len(self._data)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __float__(self):
        return float(self._data)

    def __int__(self):
        return int(self._data)

    def _label(self):
        return repr(self.name) if self.name else f"of shape {self._data.shape}"

    def __repr__(self):
        body = array_text(self._data, prefix="Tensor(")
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

        A one-element output starts from 1; any other output needs ``grad``
        of its shape. A second backward through the same graph raises unless
        the first used ``retain_graph=True`` (then gradients accumulate).
        """
        backward(self, grad, retain_graph)

    # --- arithmetic --------------------------------------------------------
    def __add__(self, other): return apply(P.ADD, self, other)
    def __radd__(self, other): return apply(P.ADD, other, self)
    def __sub__(self, other): return apply(P.SUB, self, other)
    def __rsub__(self, other): return apply(P.SUB, other, self)
    def __mul__(self, other): return apply(P.MUL, self, other)
    def __rmul__(self, other): return apply(P.MUL, other, self)
    def __truediv__(self, other): return apply(P.DIV, self, other)
    def __rtruediv__(self, other): return apply(P.DIV, other, self)
    def __matmul__(self, other): return apply(P.MATMUL, self, other)
    def __rmatmul__(self, other): return apply(P.MATMUL, other, self)
    def __neg__(self): return apply(P.NEG, self)

    def __pow__(self, exponent):
        if isinstance(exponent, numbers.Number):
            return apply(P.POW, self, exponent=exponent)
        return apply(P.POWER, self, exponent)

    def __rpow__(self, base):
        return apply(P.POWER, base, self)

    # Comparisons are elementwise and give boolean tensors (masks): no gradient flows.
    def __eq__(self, other): return _compare(np.equal, self, other)
    def __ne__(self, other): return _compare(np.not_equal, self, other)
    def __lt__(self, other): return _compare(np.less, self, other)
    def __le__(self, other): return _compare(np.less_equal, self, other)
    def __gt__(self, other): return _compare(np.greater, self, other)
    def __ge__(self, other): return _compare(np.greater_equal, self, other)

    def __getitem__(self, index):
        return apply(P.GETITEM, self, index=_plain_index(index))

    # --- elementwise and reductions ----------------------------------------
    def exp(self): return apply(P.EXP, self)
    def log(self): return apply(P.LOG, self)
    def sqrt(self): return apply(P.SQRT, self)
    def abs(self): return apply(P.ABS, self)
    def tanh(self): return apply(P.TANH, self)
    def sigmoid(self): return apply(P.SIGMOID, self)
    def relu(self): return apply(P.RELU, self)
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


def changed_since(tensor, index):
    """Whether ``tensor``'s values may differ from those an operation recorded at ``index`` read.

    True after a new array was assigned (``.data = ...``), or once its memory
    was unlocked for writing (guard.py) after that operation was used.
    """
    guard = tensor._guard
    unlocked = guard.unlocked_at if guard is not None and guard is not UNGUARDED else -1
    return max(tensor._changed_at, unlocked) > index


def _restore(data, requires_grad, name, grad):
    """Rebuild a Tensor from what ``Tensor.__reduce__`` gave (deepcopy, pickle)."""
    tensor = _new(data, requires_grad, name)
    tensor.grad = grad
    return tensor


def _compare(ufunc, a, b):
    other = b._data if isinstance(b, Tensor) else np.asarray(b)
    return _new(ufunc(a._data, other))


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
