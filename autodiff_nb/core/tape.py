"""The tape (a Wengert list) and the reverse pass that walks it.

Every differentiable operation leaves one immutable ``Record``: its
primitive, its input tensors, a weak reference to its output, its
parameters. A record's index comes from one clock, so recording order is
a topological order: every operation was recorded after the operations that
made its inputs. The part of the tape a result depends on is found by
following inputs back from it (``tape_of``), and backward is a plain loop
over that list in reverse (``backward_steps``): no graph search, no
recursion. Gradients live in a dict keyed by tape-assigned tensor ids
(never array addresses) and are summed out of place, so add's VJP may hand
the very same array to both of its inputs.

There is no global list: each result holds its own graph (a tensor holds
its record, a record its inputs), so a graph lives exactly as long as some
tensor reaches it, threads never share a walk, and an output is held only
weakly by its record (no reference cycles for the garbage collector).

``backward_steps`` yields a ``Step`` per operation; ``backward`` is nothing
but a loop over it, so the stepper that replays those steps shows exactly
what the engine did.
"""
from __future__ import annotations

import itertools
import threading
from typing import Any, NamedTuple

import numpy as np

from .errors import AnomalyError, GraphError, at_user_line
from .primitives import unbroadcast

# One clock numbers tensors (their ids, which for an output is also its record's
# index) and times assignments to .data, so "changed after it was recorded" is a
# comparison of ints. ``next`` on it is atomic, so threads may share it.
CLOCK = itertools.count()

# A finished backward pass keeps its gradients for drawings of the graph, unless they
# come to more than this: then the graph is released instead (``Pass``).
KEEP_FOR_DRAWING = 64 * 1024   # bytes


class Record(NamedTuple):
    """One recorded operation: ``output = primitive(*inputs, **params)``."""

    index: int          # position on the tape, increasing in recording order
    primitive: Any      # the ``Primitive`` (forward, VJP, words)
    inputs: tuple       # the input Tensors, in order (empty once the graph is released)
    output: Any         # weakref to the output Tensor (the output holds its record)
    params: dict        # non-tensor arguments (axis, shape, exponent, ...)
    scope: tuple        # the ``scope(...)`` names active when recorded


class Update(NamedTuple):
    """What one reverse step did to one input's gradient."""

    tensor: Any         # the input Tensor
    sent: np.ndarray    # the gradient this step sends to it
    mode: str           # "=" (first write in this pass) or "+=" (accumulated)
    before: Any         # its gradient before this step (None for "=")
    after: np.ndarray   # its gradient after this step


class Step(NamedTuple):
    """One reverse step: the gradient arriving at ``record``'s output, sent to its inputs."""

    record: Record
    grad_output: np.ndarray
    updates: tuple      # one ``Update`` per input that takes a gradient


class Pass(NamedTuple):
    """What a finished backward pass leaves on its root, for drawings of that graph."""

    seed: np.ndarray
    grads: dict         # tensor id -> gradient (empty when the graph was released)
    released: bool      # the graph was too large to keep: only the leaves' .grad remain


# --- switches: per thread, as PyTorch's grad mode ----------------------------------------

class _State(threading.local):
    """Recording on or off, anomaly checks and the scope path, each thread its own."""

    def __init__(self):
        self.grad_enabled = True
        self.anomaly = False
        self.scope = ()


STATE = _State()


class _Switch:
    """Set one ``STATE`` attribute for a ``with`` block (or a decorated function)."""

    def __init__(self, attribute, value):
        self.attribute = attribute
        self.value = value
        self._saved = threading.local()    # one object may be entered by several threads

    def __enter__(self):
        stack = self._saved.__dict__.setdefault("stack", [])
        stack.append(getattr(STATE, self.attribute))
        setattr(STATE, self.attribute, self._value())
        return self

    def __exit__(self, *exc):
        setattr(STATE, self.attribute, self._saved.stack.pop())
        return False

    def _value(self):
        return self.value

    def __call__(self, function):
        def wrapped(*args, **kwargs):
            with self:
                return function(*args, **kwargs)
        wrapped.__name__ = getattr(function, "__name__", "wrapped")
        wrapped.__doc__ = getattr(function, "__doc__", None)
        return wrapped


def no_grad():
    """Compute without recording, e.g. for evaluation or parameter updates."""
    return _Switch("grad_enabled", False)


def enable_grad():
    """Record again inside a ``no_grad`` block."""
    return _Switch("grad_enabled", True)


def detect_anomaly():
    """Check every forward value and every gradient for NaN or inf.

    Off by default because the check costs a pass over every array. When a
    non-finite number appears, the error names the first operation that
    produced it and the line of user code that recorded it.
    """
    return _Switch("anomaly", True)


class scope(_Switch):
    """Label the operations recorded inside the block, e.g. ``with scope("layer1"):``.

    Scopes nest; drawings can collapse everything recorded under one scope
    into a single box. ``nn`` modules open one scope each.
    """

    def __init__(self, name):
        super().__init__("scope", None)
        self.name = str(name)

    def _value(self):
        return STATE.scope + (self.name,)


# --- changes to .data ---------------------------------------------------------------------

class _Changes:
    """The clock at the latest assignment to any tensor's .data (one check per record)."""

    def __init__(self):
        self.latest = -1
        self._lock = threading.Lock()

    def tick(self):
        with self._lock:
            self.latest = now = next(CLOCK)
        return now


CHANGES = _Changes()


# --- the tape of a result -----------------------------------------------------------------

def tape_of(*roots):
    """The records the ``roots`` depend on, in recording order: their part of the tape."""
    found = {}
    waiting = [root._record for root in roots if root._record is not None]
    while waiting:
        record = waiting.pop()
        if record.index not in found:
            found[record.index] = record
            for tensor in record.inputs:
                if tensor._record is not None:
                    waiting.append(tensor._record)
    return [found[index] for index in sorted(found)]


# --- the reverse pass -----------------------------------------------------------------------

def backward_steps(root, grad=None, retain_graph=False):
    """Backpropagate from ``root``, yielding one ``Step`` per operation, newest first.

    The gradient arriving at a record's output is final when the loop
    reaches it: every operation that used the output was recorded later, so
    was visited earlier. Each input then receives its share: "=" the first
    time a gradient reaches it in this pass, "+=" when it was used more than
    once (fan-out, the lecture's generalized chain rule). When the walk ends,
    leaves that require a gradient (and tensors that asked to ``retain_grad``)
    get ``.grad`` added to, as in PyTorch.
    """
    seed = _seed(root, grad)
    grads = {root._id: seed}        # tensor id -> gradient of the root with respect to it
    tape = tape_of(root)
    receivers = [root] if root._record is None or root._retains_grad else []
    for record in reversed(tape):
        g = grads.get(record.index)     # an output's id is its record's index
        if g is None:                   # not on the way to root (a mask, an unused branch)
            continue
        output = record.output()
        _use(record, output, retain_graph)
        sent_all = call_vjp(record, output, g)
        updates = []
        for tensor, sent in zip(record.inputs, sent_all):
            if sent is None or not tensor.requires_grad:
                continue
            if sent.shape != tensor._data.shape:    # the forward broadcast this input:
                sent = unbroadcast(sent, tensor._data.shape)   # sum over the copies
            before = grads.get(tensor._id)
            if before is None:
                grads[tensor._id] = sent
                updates.append(Update(tensor, sent, "=", None, sent))
                if tensor._record is None or tensor._retains_grad:
                    receivers.append(tensor)
            else:
                grads[tensor._id] = after = before + sent
                updates.append(Update(tensor, sent, "+=", before, after))
        if STATE.anomaly:
            _check_finite("the gradient sent to an input", record, *[u.sent for u in updates])
        yield Step(record, g, tuple(updates))
    _finish(root, seed, grads, receivers, tape, retain_graph)


def backward(root, grad=None, retain_graph=False):
    """``Tensor.backward``: ``backward_steps`` run to the end."""
    for _ in backward_steps(root, grad, retain_graph):
        pass


def call_vjp(record, output, g):
    """The record's VJP applied to ``g``: one gradient per input.

    The calls without parameters are spelled out for one and two inputs: a
    generic ``vjp(g, out, *arrays, **params)`` call costs more than many a
    small VJP itself (bench/README.md, "calling a VJP").
    """
    primitive, inputs, params = record.primitive, record.inputs, record.params
    out = output._data
    if primitive.selective:
        needs = tuple([t.requires_grad for t in inputs])
        return primitive.vjp(g, out, *[t._data for t in inputs], needs=needs, **params)
    if params:
        return primitive.vjp(g, out, *[t._data for t in inputs], **params)
    if len(inputs) == 2:
        return primitive.vjp(g, out, inputs[0]._data, inputs[1]._data)
    if len(inputs) == 1:
        return primitive.vjp(g, out, inputs[0]._data)
    return primitive.vjp(g, out, *[t._data for t in inputs])


def _use(record, output, retain_graph):
    """Refuse a record that a backward pass already used, or whose tensors changed since."""
    if output._freed:
        raise GraphError(at_user_line(
            f"backward: operation '{record.primitive.name}' was already used by an earlier "
            f"backward pass. Pass retain_graph=True to that first backward() to go through the "
            f"graph again (gradients then accumulate), or recompute the forward pass."))
    if record.index < CHANGES.latest:
        for tensor in (*record.inputs, output):
            if tensor._changed_at > record.index:
                role = "the output" if tensor is output else f"input {tensor._label()}"
                raise GraphError(at_user_line(
                    f"backward: {role} of operation '{record.primitive.name}' was given new "
                    f"data (.data = ...) after the operation was recorded, so its gradient "
                    f"would be computed with values the forward pass never used. Change "
                    f"tensors after backward(), or recompute the forward pass."))
    if not retain_graph:
        output._freed = True


def _seed(root, grad):
    """The gradient backward starts from: 1 for a one-element root, else ``grad``."""
    if not root.requires_grad:
        raise GraphError(at_user_line(
            f"backward: this tensor (shape {root._data.shape}) does not depend on any tensor "
            f"with requires_grad=True, so there is no gradient to compute. Create the inputs "
            f"you want gradients for with Tensor(..., requires_grad=True)."))
    if grad is None:
        if root._data.size != 1:
            raise GraphError(at_user_line(
                f"backward: the output has shape {root._data.shape}, so the gradient to start "
                f"from is ambiguous. Call backward() on a scalar (e.g. loss.sum()), or pass "
                f"grad= an array of shape {root._data.shape}."))
        return np.ones(root._data.shape, dtype=root._data.dtype)
    grad = np.asarray(getattr(grad, "_data", grad), dtype=root._data.dtype)
    if grad.shape != root._data.shape:
        try:
            grad = np.broadcast_to(grad, root._data.shape)
        except ValueError:
            raise GraphError(at_user_line(
                f"backward: grad has shape {grad.shape} but the output has shape "
                f"{root._data.shape}; expected the same shape (or a scalar).")) from None
    return grad


def _check_finite(what, record, *arrays):
    for array in arrays:
        if array is not None and not np.all(np.isfinite(array)):
            raise AnomalyError(at_user_line(
                f"detect_anomaly: {what} of operation '{record.primitive.name}' "
                f"contains NaN or inf (first non-finite operation on this tape)."))


# --- when the walk ends ---------------------------------------------------------------------

_delivering = threading.Lock()   # two passes may reach one leaf from two threads


def _finish(root, seed, grads, receivers, tape, retain_graph):
    """Deliver ``.grad``, and leave the pass on the root for drawings (or release the graph).

    A pass whose gradients stay under ``KEEP_FOR_DRAWING`` bytes keeps them,
    so ``loss.draw()`` after ``backward()`` (and ``opt.step()``) shows the
    numbers this pass computed. A larger graph, once spent, is released: its
    records let go of their inputs, so a loss kept in a list (``losses.append
    (loss)``) no longer keeps every activation of its step alive.
    """
    with _delivering:
        _deliver(seed, grads, receivers)
    released = not retain_graph and _nbytes(grads) > KEEP_FOR_DRAWING
    if released:
        for record in tape:
            output = record.output()
            if output is not None and output._freed:
                output._record = record._replace(inputs=())
    root._pass = Pass(seed, {} if released else grads, released)


def _nbytes(grads):
    total = 0
    for g in grads.values():
        total += g.nbytes
        if total > KEEP_FOR_DRAWING:
            break
    return total


def _deliver(seed, grads, receivers):
    handed_out = {id(seed)}
    for tensor in receivers:
        g = grads[tensor._id]
        dtype = tensor._data.dtype  # float32 + a float64 constant still gives a float32 .grad
        if tensor.grad is not None:
            tensor.grad = np.asarray(tensor.grad + g, dtype=dtype)
        elif (type(g) is not np.ndarray or id(g) in handed_out or g.base is not None
              or g.dtype != dtype or not g.flags.writeable):
            # NumPy returns scalars (not 0-d arrays) from 0-d arithmetic: make .grad an array.
            # add hands one array to both inputs, reshape/transpose hand out views:
            # copy, so that changing one .grad in place never changes another.
            tensor.grad = np.array(g, dtype=dtype)
        else:
            tensor.grad = g
        handed_out.add(id(tensor.grad))


__all__ = ["Record", "Update", "Step", "Pass", "STATE", "CLOCK", "CHANGES", "tape_of",
           "backward_steps", "backward", "call_vjp", "no_grad", "enable_grad",
           "detect_anomaly", "scope"]
