"""The tape (a Wengert list) and the reverse pass that walks it.

Every differentiable operation appends one immutable ``Record`` to the tape,
so recording order is already a topological order: the reverse pass is a
plain reverse loop, no graph search. Gradients live in a dict keyed by
tape-assigned tensor ids (never array addresses) and are summed out of place,
so add's VJP may hand the very same array to both of its inputs.

``reverse_pass`` is the one walk: ``backward_steps`` yields its ``Step``
snapshots, one per reverse step, and ``backward`` is nothing but a loop over
the same generator (with the snapshot objects switched off, as nobody looks
at them), followed by the same delivery of ``.grad``; so the stepper that
replays those snapshots shows exactly what the engine did.

Memory: a record holds its inputs strongly and its output only through a
weak reference, and the tape holds records only through those same weak
references. A graph therefore lives exactly as long as the tensors that
reach it, with no reference cycles for the garbage collector to chase.
"""
from __future__ import annotations

import itertools
import weakref
from typing import Any, NamedTuple

import numpy as np

from .errors import AnomalyError, GraphError, at_user_line
from .primitives import unbroadcast


class Record(NamedTuple):
    """One recorded operation: ``output = primitive(*inputs, **params)``."""

    index: int          # position on the tape, increasing in recording order
    primitive: Any      # the ``Primitive`` (forward, VJP, symbol, rules)
    inputs: tuple       # the input Tensors, in order
    output: Any         # weakref to the output Tensor (no cycle)
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


class _State:
    """Process-wide switches: recording on or off, anomaly checks, the scope path."""

    __slots__ = ("grad_enabled", "anomaly", "scope")

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
        self._saved = []

    def __enter__(self):
        self._saved.append(getattr(STATE, self.attribute))
        setattr(STATE, self.attribute, self.value)
        return self

    def __exit__(self, *exc):
        setattr(STATE, self.attribute, self._saved.pop())
        return False

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

    def __enter__(self):
        self.value = STATE.scope + (self.name,)
        return super().__enter__()


class Tape:
    """The list of live records, in recording order.

    Entries are the weak references that records keep to their outputs; a
    dead entry belongs to a graph nobody can reach any more and is dropped
    by ``compact`` once the list is four times as long as the live records
    it kept last time (compacting costs a dereference per entry: at twice,
    a loop that makes and drops a graph per step compacted every step, and
    1-element operations ran 3% slower). ``tensor._recorded`` appends to
    ``entries`` directly (it runs once per operation) and calls
    ``after_append`` only when there is something to do.
    """

    def __init__(self):
        self.entries: list[weakref.ref] = []   # changed in place only: tensor.py holds it
        self.clock = itertools.count()   # tensor ids, record indices, changes to .data
        self.last_change = -1            # clock at the latest assignment to any .data
        self.compact_at = 1024
        self._roots = []                 # (weakref to root, seed) of recent backward passes

    def after_append(self, tensor):
        """Compact when due; under ``detect_anomaly``, check the new forward value.

        Due is counted in entries, not clock ticks: ids and assignments to
        .data tick the clock too, so a loop could step over every multiple
        of 1024 forever.
        """
        if len(self.entries) >= self.compact_at:
            self.compact()
        if STATE.anomaly:
            _check_finite("the forward value", tensor._record, tensor._data)

    def remember(self, root, seed):
        """Note a finished backward pass (weakly: the root may die); the latest 16 are kept."""
        self._roots.append((weakref.ref(root), seed))
        del self._roots[:-16]

    def remembered(self):
        """Live roots of recent backward passes with their seeds, newest first, each root once."""
        seen = set()
        for ref, seed in reversed(self._roots):
            root = ref()
            if root is not None and id(root) not in seen:
                seen.add(id(root))
                yield root, seed

    def compact(self):
        """Drop dead entries (in place) and set the next length to compact at."""
        self.entries[:] = [e for e in self.entries if e() is not None]
        self.compact_at = max(1024, 4 * len(self.entries))

    def reversed_records(self, upto):
        """Live records with index <= ``upto``, newest first."""
        for entry in reversed(self.entries):
            tensor = entry()
            if tensor is not None:
                record = tensor._record
                if record.index <= upto:
                    yield record

    def records_for(self, *roots):
        """The records the ``roots`` depend on, in recording order."""
        needed = {root._id for root in roots}
        found = []
        upto = max((r._record.index for r in roots if r._record is not None), default=-1)
        for record in self.reversed_records(upto):
            if record.output()._id in needed:
                found.append(record)
                needed.update(t._id for t in record.inputs)
        found.reverse()
        return found


TAPE = Tape()


def _seed(root, grad):
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
        return np.array(1, dtype=root._data.dtype).reshape(root._data.shape)  # () or (1,), ...
    grad = np.asarray(getattr(grad, "_data", grad), dtype=root._data.dtype)
    if grad.shape != root._data.shape:
        try:
            grad = np.broadcast_to(grad, root._data.shape)
        except ValueError:
            raise GraphError(at_user_line(
                f"backward: grad has shape {grad.shape} but the output has shape "
                f"{root._data.shape}; expected the same shape (or a scalar).")) from None
    return grad


def _raise_second_backward(record):
    raise GraphError(at_user_line(
        f"backward: operation '{record.primitive.name}' was already used by "
        f"an earlier backward pass. Pass retain_graph=True to that first backward() to go "
        f"through the graph again (gradients then accumulate), or recompute the forward pass."))


def _check_unchanged(record):
    for tensor in record.inputs:
        if tensor._changed_at > record.index:
            _raise_modified(record, tensor)


def _raise_modified(record, tensor):
    raise GraphError(at_user_line(
        f"backward: input {tensor._label()} of operation "
        f"'{record.primitive.name}' was modified in place after it was recorded "
        f"(its .data was assigned after the operation), so its gradient would be wrong. "
        f"Change parameters after backward(), or work on a copy."))


def _check_finite(what, record, array):
    if array is not None and not np.all(np.isfinite(array)):
        raise AnomalyError(at_user_line(
            f"detect_anomaly: {what} of operation '{record.primitive.name}' "
            f"contains NaN or inf (first non-finite operation on this tape)."))


def reverse_pass(root, seed, grads, free_graph=False, keep_all=False, receivers=None,
                 snapshots=True):
    """Walk the tape backward from ``root``, yielding one ``Step`` per operation.

    The gradient arriving at each record's output is final by the time the
    loop reaches it: every consumer was recorded later, so was visited
    earlier. A VJP may return a gradient in its broadcast shape; it is summed
    back to the input's shape here, once for every primitive (unless the
    primitive promises ``exact_shapes``).

    ``grads`` (a dict, filled in place) ends up holding the gradient of every
    leaf and of every tensor that retains its gradient; with ``keep_all``, of
    every tensor (otherwise an output's gradient is let go once its operation
    has used it, as hand-written backprop would). ``receivers``, when given,
    collects those leaves and retaining tensors. ``free_graph`` marks each
    visited operation as used so that a second backward can be refused; the
    walk has no other side effect.

    ``snapshots=False`` yields each visited ``Record`` instead of a ``Step``:
    the same walk and the same arithmetic in the same order, without building
    the ``Step`` and ``Update`` objects that only a viewer reads. ``backward()``
    walks this way; the stepper, with snapshots.
    """
    grads[root._id] = seed
    if root._record is None:
        return
    anomaly = STATE.anomaly
    check_changes = TAPE.last_change
    # Without keep_all an output's gradient is taken out of ``grads`` as its operation uses it.
    take = grads.get if keep_all else grads.pop
    new_tuple = tuple.__new__
    pending = 1     # outputs holding a gradient whose record is not visited yet
    for entry in reversed(TAPE.entries):
        output = entry()
        if output is None:
            continue
        g = take(output._id, None)
        if g is None:   # not on the way from root: a newer operation, or another graph
            continue
        if output._retains_grad and not keep_all:
            grads[output._id] = g
            if receivers is not None:
                receivers.append(output)
        if free_graph:
            if output._freed:
                _raise_second_backward(output._record)
            output._freed = True
        record = output._record
        if record.index < check_changes:
            _check_unchanged(record)
        # The common shapes of call spelled out: a generic *args/**params call costs more
        # than many a small VJP. Selective VJPs (matmul, ...) take two inputs, no params.
        inputs, primitive, params = record.inputs, record.primitive, record.params
        if len(inputs) == 1:
            if params:
                sent_all = primitive.vjp(g, output._data, inputs[0]._data, **params)
            else:
                sent_all = primitive.vjp(g, output._data, inputs[0]._data)
        elif primitive.selective:
            a, b = inputs
            sent_all = primitive.vjp(g, output._data, a._data, b._data,
                                     needs=(a.requires_grad, b.requires_grad))
        elif len(inputs) == 2 and not params:
            a, b = inputs
            sent_all = primitive.vjp(g, output._data, a._data, b._data)
        else:
            sent_all = primitive.vjp(g, output._data, *[t._data for t in inputs], **params)
        if snapshots:
            updates = []
        exact_shapes = primitive.exact_shapes
        for tensor, sent in zip(inputs, sent_all):
            if sent is None or not tensor.requires_grad:
                continue
            if not exact_shapes and sent.shape != tensor._data.shape:
                sent = unbroadcast(sent, tensor._data.shape)
            if anomaly:
                _check_finite("the gradient sent to an input", record, sent)
            key = tensor._id
            before = grads.get(key)
            if before is None:
                grads[key] = sent
                if snapshots:
                    updates.append(new_tuple(Update, (tensor, sent, "=", None, sent)))
                if tensor._record is not None:
                    pending += 1
                elif receivers is not None:
                    receivers.append(tensor)
            else:
                grads[key] = after = before + sent
                if snapshots:
                    updates.append(new_tuple(Update, (tensor, sent, "+=", before, after)))
        yield new_tuple(Step, (record, g, tuple(updates))) if snapshots else record
        pending -= 1
        if not pending:
            return      # everything older on the tape belongs to other graphs


def _backward(root, grad, retain_graph, snapshots):
    """The walk that ``backward_steps`` and ``backward()`` share, and what it leaves behind.

    Returns the ``reverse_pass`` generator and a function to call once it is
    exhausted: leaves that require grad (and tensors that asked to
    ``retain_grad``) get ``.grad`` added to, as in PyTorch, and the root is
    remembered so that a drawing made afterwards can show every gradient.
    """
    seed = _seed(root, grad)
    grads = {}
    # A recorded root that retains its gradient is collected by the walk itself.
    receivers = [root] if root._record is None else []
    walk = reverse_pass(root, seed, grads, free_graph=not retain_graph, receivers=receivers,
                        snapshots=snapshots)
    return walk, lambda: _deliver(root, seed, grads, receivers)


def _deliver(root, seed, grads, receivers):
    handed_out = {id(seed)}
    for tensor in receivers:
        g = grads[tensor._id]
        dtype = tensor._data.dtype  # float32 + a float64 constant still gives a float32 .grad
        if tensor.grad is not None:
            tensor.grad = np.asarray(tensor.grad + g, dtype=dtype)
        elif (type(g) is not np.ndarray or id(g) in handed_out or g.base is not None
              or g.dtype != dtype):
            # NumPy returns scalars (not 0-d arrays) from 0-d arithmetic: make .grad an array.
            # add hands one array to both inputs, reshape/transpose hand out views:
            # copy, so that changing one .grad in place never changes another.
            tensor.grad = np.array(g, dtype=dtype)
        else:
            tensor.grad = g
        handed_out.add(id(tensor.grad))
    TAPE.remember(root, seed)


def backward_steps(root, grad=None, retain_graph=False):
    """A backward pass, one ``Step`` snapshot per operation: what the stepper replays."""
    walk, finish = _backward(root, grad, retain_graph, snapshots=True)
    yield from walk
    finish()


def run_backward(root, grad=None, retain_graph=False):
    """``Tensor.backward``: the walk of ``backward_steps`` run to the end, without snapshots.

    It iterates ``reverse_pass`` itself rather than through ``backward_steps``:
    the same walk and the same arithmetic, one generator layer fewer per step.
    """
    walk, finish = _backward(root, grad, retain_graph, snapshots=False)
    for _ in walk:
        pass
    finish()


def gradients(tensor):
    """Every gradient of the latest backward pass that went through ``tensor``.

    Returns ``{tensor id: gradient}`` (empty before any backward). Drawings
    call this instead of the engine keeping every intermediate gradient
    alive: the walk is repeated, without side effects, from the remembered
    root and seed, which gives the very same numbers.
    """
    for root, seed in TAPE.remembered():
        if root is tensor or tensor._id in {t._id for r in TAPE.records_for(root)
                                            for t in r.inputs}:
            grads = {}
            for _ in reverse_pass(root, seed, grads, keep_all=True, snapshots=False):
                pass
            return grads
    return {}


__all__ = ["Record", "Update", "Step", "TAPE", "backward_steps", "reverse_pass", "gradients",
           "run_backward",
           "no_grad", "enable_grad", "detect_anomaly", "scope"]
