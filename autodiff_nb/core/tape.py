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

import contextvars
import heapq
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
KEEP_FOR_DRAWING = 256 * 1024   # bytes of intermediate gradients


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
# Context variables: each thread (and each asyncio task) sees its own values, so a
# ``no_grad`` block in one thread never switches recording off in another.

GRAD_ENABLED = contextvars.ContextVar("grad_enabled", default=True)
ANOMALY = contextvars.ContextVar("anomaly", default=False)
SCOPE = contextvars.ContextVar("scope", default=())   # the scope path, outermost first


class _Switch:
    """Set one context variable for a ``with`` block (or a decorated function)."""

    def __init__(self, variable, value):
        self.variable = variable
        self.value = value
        self._tokens = threading.local()   # one switch may be entered by several threads

    def __enter__(self):
        self._tokens.__dict__.setdefault("stack", []).append(self.variable.set(self._value()))
        return self

    def __exit__(self, *exc):
        self.variable.reset(self._tokens.stack.pop())
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
    return _Switch(GRAD_ENABLED, False)


def enable_grad():
    """Record again inside a ``no_grad`` block."""
    return _Switch(GRAD_ENABLED, True)


def detect_anomaly():
    """Check every forward value and every gradient for NaN or inf.

    Off by default because the check costs a pass over every array. When a
    non-finite number appears, the error names the first operation that
    produced it and the line of user code that recorded it.
    """
    return _Switch(ANOMALY, True)


class scope(_Switch):
    """Label the operations recorded inside the block, e.g. ``with scope("layer1"):``.

    Scopes nest; drawings can collapse everything recorded under one scope
    into a single box. ``nn`` modules open one scope each.
    """

    def __init__(self, name):
        super().__init__(SCOPE, None)
        self.name = str(name)

    def _value(self):
        return SCOPE.get() + (self.name,)


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

def reverse_pass(root, grad=None, retain_graph=False):
    """Backpropagate from ``root``: yield ``(record, g, changes)`` for each operation, newest first.

    The walk takes the tape backward, newest record first, but only through
    the records the root depends on: ``waiting`` holds the outputs that have
    received a gradient and whose operation is still to be visited, newest on
    top. The gradient arriving at an output is final when its turn comes:
    every operation that used the output was recorded later, so was visited
    earlier. Each input then receives its share: "=" the first time a
    gradient reaches it in this pass (and its own operation starts waiting),
    "+=" when it was used more than once (fan-out, the lecture's generalized
    chain rule). ``changes`` lists ``(input, sent, before, after)``.
    When the walk ends, leaves that require a gradient (and tensors that
    asked to ``retain_grad``) get ``.grad`` added to, as in PyTorch.
    """
    seed = _seed(root, grad)
    grads = {root._id: seed}        # tensor id -> gradient of the root with respect to it
    receivers = [root] if root._record is None or root._retains_grad else []
    waiting = [(-root._id, root)] if root._record is not None else []
    anomaly = ANOMALY.get()
    kept, kept_bytes = {}, 0        # visited outputs' gradients, for drawings while small
    budget = float("inf") if retain_graph else KEEP_FOR_DRAWING
    while waiting:
        _, output = heapq.heappop(waiting)
        record = output._record
        # Final now: let it go as soon as its VJP is done (memory a drawing may keep).
        g = grads[output._id] if output._retains_grad else grads.pop(output._id)
        if kept is not None:
            kept[output._id] = g
            kept_bytes += g.nbytes
            if kept_bytes > budget:
                kept = None
        if output._freed or record.index < CHANGES.latest:
            _refuse_a_used_or_changed(record, output)
        if not retain_graph:
            output._freed = True            # spent: a second backward through it is refused
        changes = []
        for tensor, sent in zip(record.inputs, call_vjp(record, output, g)):
            if sent is None or not tensor.requires_grad:
                continue
            if sent.shape != tensor._data.shape:    # the forward broadcast this input:
                sent = unbroadcast(sent, tensor._data.shape)   # sum over the copies
            if anomaly:
                _check_finite("the gradient sent to an input", record, sent)
            before = grads.get(tensor._id)
            if before is None:                      # "=": the first gradient to reach it
                grads[tensor._id] = after = sent
                if tensor._record is not None:
                    heapq.heappush(waiting, (-tensor._id, tensor))
                if tensor._record is None or tensor._retains_grad:
                    receivers.append(tensor)
            else:                                   # "+=": it was used more than once
                grads[tensor._id] = after = before + sent
            changes.append((tensor, sent, before, after))
        yield record, g, changes
    _finish(root, seed, grads, kept, receivers)


def backward_steps(root, grad=None, retain_graph=False):
    """A backward pass, one ``Step`` snapshot per operation: what the stepper replays."""
    for record, g, changes in reverse_pass(root, grad, retain_graph):
        yield Step(record, g, tuple(Update(tensor, sent, "=" if before is None else "+=",
                                           before, after)
                                    for tensor, sent, before, after in changes))


def backward(root, grad=None, retain_graph=False):
    """``Tensor.backward``: the same walk, run to the end without snapshots."""
    for _ in reverse_pass(root, grad, retain_graph):
        pass


def call_vjp(record, output, g):
    """The record's VJP applied to ``g``: one gradient per input.

    The calls without parameters are spelled out for one and two inputs: a
    generic ``vjp(g, out, *arrays, **params)`` call costs more than many a
    small VJP itself (bench/README.md, "calling a VJP").
    """
    primitive, inputs, params = record.primitive, record.inputs, record.params
    out = output._data
    if params or len(inputs) > 2:
        arrays = [t._data for t in inputs]
        if primitive.selective:
            return primitive.vjp(g, out, *arrays, needs=[t.requires_grad for t in inputs],
                                 **params)
        return primitive.vjp(g, out, *arrays, **params)
    if len(inputs) == 1:
        return primitive.vjp(g, out, inputs[0]._data)
    a, b = inputs
    if primitive.selective:
        return primitive.vjp(g, out, a._data, b._data, needs=(a.requires_grad, b.requires_grad))
    return primitive.vjp(g, out, a._data, b._data)


def _refuse_a_used_or_changed(record, output):
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


def _finish(root, seed, grads, kept, receivers):
    """Deliver ``.grad``, and leave the pass on the root for drawings (or release the graph).

    A pass whose intermediate gradients stay under ``KEEP_FOR_DRAWING``
    bytes keeps them (``kept``), so ``loss.draw()`` after ``backward()`` (and
    ``opt.step()``) shows the numbers this pass computed. A larger graph is
    released once spent: the root's record lets go of its inputs, so a loss
    kept in a list (``losses.append(loss)``) no longer keeps every activation
    of its step alive. (An intermediate tensor the user keeps still keeps
    what it was computed from, as any tensor keeps its graph.) With
    ``retain_graph`` every gradient is kept: the graph is kept anyway.
    """
    with _delivering:
        _deliver(seed, grads, receivers)
    released = kept is None and root._record is not None
    if released:    # the root lets go of its inputs, and so of everything behind them
        root._record = root._record._replace(inputs=())
    root._pass = Pass(seed, {} if released else {**kept, **grads}, released)


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


__all__ = ["Record", "Update", "Step", "Pass", "GRAD_ENABLED", "ANOMALY", "SCOPE", "CLOCK",
           "CHANGES", "tape_of", "reverse_pass", "backward_steps", "backward", "call_vjp",
           "no_grad", "enable_grad", "detect_anomaly", "scope"]
