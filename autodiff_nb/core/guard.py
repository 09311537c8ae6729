"""Arrays that the tape still needs are read-only until backward has used them.

A recorded operation reads its inputs' arrays (and some, like exp, their
output's) again during backward. A write into one of them in between, say
``w.data[0] = 100``, ``np.multiply(w.data, 2, out=w.data)``, or a write
through ``w.detach()`` or a reshape that shares w's memory, would make
backward compute with values the forward pass never used: a wrong gradient
and no error. So, as MyGrad does, the engine clears NumPy's ``writeable``
flag on those arrays, and every such write fails at the write, whatever path
it takes.

One ``Guard`` watches one piece of memory (an array that owns its data, and
the views of it that tensors hold). Its ``users`` are the recorded operations
that need it: every operation that took a leaf as input, and, for the output
of an operation, that operation itself (any later use of an output must pass
back through it). The guard locks when an operation first needs the memory;
it unlocks the next time a tensor hands its array out (``.data``,
``.numpy()``, ``np.asarray``) and finds every user spent (its backward ran
without ``retain_graph``) or gone. Nothing is done per operation beyond one
list append, so protection costs little where it is not used.

While locked, ``.data`` hands out a ``ReadOnlyArray`` view, so that the
common writes (``w.data[0] = 1``, ``w.data -= step``, ``out=w.data``) raise a
``ReadOnlyError`` that names the tensor, the operation and what to do. A
plain NumPy view (``np.asarray(w)``) still refuses the write, with NumPy's
own shorter message. A view made *before* the lock keeps NumPy's flag as it
was: take views after recording, or copy.
"""
from __future__ import annotations

import threading
import weakref

import numpy as np

from .errors import ReadOnlyError, at_user_line

_mutex = threading.Lock()          # locking and unlocking, across threads
_guards = weakref.WeakValueDictionary()   # id(owning array) -> its Guard, while tensors hold it


class Unguarded:
    """A tensor's ``_guard`` when its array is not the engine's to lock.

    The course-handout engine's arrays belong to the learner's code (which
    updates them in place, as the course's own engine allows), and a number
    lifted into a constant is an array nobody else can reach.
    """


UNGUARDED = Unguarded()


def _owner(array):
    """The array that owns the memory ``array`` looks into (itself, if it owns it)."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


class Guard:
    """Keeps one piece of memory read-only while recorded operations need it."""

    __slots__ = ("arrays", "users", "locked", "unlocked_at", "prune_at", "__weakref__")

    def __init__(self):
        self.arrays = []        # the array objects this guard sets read-only (owner and views)
        self.users = []         # weak references to the outputs of operations that need it
        self.locked = False
        self.unlocked_at = -1   # tape clock when it last unlocked (values may change after)
        self.prune_at = 64      # drop spent users once there are this many

    def need(self, user):
        """Operation output ``user`` (a weak reference) needs this memory: lock it."""
        self.users.append(user)
        if not self.locked:
            self.lock()
        elif len(self.users) > self.prune_at:
            self.prune()

    def lock(self):
        with _mutex:
            if not self.locked:
                for array in self.arrays:
                    array.setflags(write=False)
                self.locked = True

    def release(self, clock):
        """Unlock if no operation needs the memory any more; True if it is writable now."""
        if not self.locked:
            return True
        with _mutex:
            if self.needed_by() is not None:
                return False
            seen = len(self.users)
            for array in self.arrays:
                array.setflags(write=True)
            self.locked = False
            self.unlocked_at = next(clock)
            del self.users[:seen]       # every one of them spent or gone
            # ``protect`` appends without the mutex: one that saw ``locked`` still True a
            # moment ago has its user in the list by now, and is seen here.
            if self.users:
                for array in self.arrays:
                    array.setflags(write=False)
                self.locked = True
                return False
            return True

    def needed_by(self):
        """The first operation output still needing this memory (None if none)."""
        for user in self.users:
            output = user()
            if output is not None and not output._freed:
                return output
        return None

    def prune(self):
        """Forget users whose operations are spent or gone (a list that only grows otherwise)."""
        with _mutex:
            self.users[:] = [u for u in self.users if (o := u()) is not None and not o._freed]
            self.prune_at = 2 * len(self.users) + 64

    def _add(self, array):
        for known in self.arrays:
            if known is array:
                return
        if array.flags.writeable:
            self.arrays.append(array)
            if self.locked:
                array.setflags(write=False)


def guard_of(tensor):
    """The tensor's guard, made or found for its memory the first time it is asked for."""
    guard = tensor._guard
    if guard is None:
        with _mutex:
            owner = _owner(tensor._data)
            guard = _guards.get(id(owner))    # the owner is alive while its guard is: no reuse
            if guard is None:
                guard = _guards[id(owner)] = Guard()
                guard._add(owner)
            if owner is not tensor._data:
                guard._add(tensor._data)
        tensor._guard = guard
    return guard


def protect(tensor, user):
    """Leaf ``tensor`` is an input of operation output ``user``: keep its memory read-only.

    ``Guard.need`` written out: this runs for every leaf input of every operation.
    """
    guard = tensor._guard
    if guard is UNGUARDED:
        return
    if guard is None:
        guard = guard_of(tensor)
    guard.users.append(user)
    if not guard.locked:
        guard.lock()
    elif len(guard.users) > guard.prune_at:
        guard.prune()


def hand_out(tensor, clock):
    """``tensor``'s array as ``.data`` gives it: writable, or a ``ReadOnlyArray`` saying why."""
    if tensor._guard is UNGUARDED:
        return tensor._data
    guard = guard_of(tensor)
    if tensor._record is not None and not tensor._freed:
        output = tensor._record.output      # an output: its own operation needs it
        if not any(u is output for u in guard.users):
            guard.need(output)
    if guard.release(clock):
        return tensor._data
    view = tensor._data.view(ReadOnlyArray)
    view._why = (tensor, guard)
    return view


def _explain(why):
    tensor, guard = why
    user = guard.needed_by()
    name = repr(tensor.name) if tensor.name else f"of shape {tensor._data.shape}"
    found = user is not None
    operation = f"operation '{user._record.primitive.name}'" if found else "a recorded operation"
    if found and tensor._record is not None and user._record is tensor._record:
        role = "is the output of"
    elif found and not any(t is tensor for t in user._record.inputs):
        role = "shares its memory with an input of"
    else:
        role = "is an input of"
    return at_user_line(
        f"this array is read-only: the tensor {name} {role} {operation}, whose backward pass "
        f"has not run yet and will need these values. Call backward() first (without "
        f"retain_graph it frees the graph), delete the tensors that keep the graph, or "
        f"compute it under ad.no_grad(). To change the tensor now, give it a new array "
        f"(t.data = t.data - 0.1 * t.grad) or work on a copy (t.data.copy()).")


class ReadOnlyArray(np.ndarray):
    """A view handed out while the tape needs the array: writes raise ``ReadOnlyError``.

    Reading works as for any array; arithmetic on it gives plain arrays.
    """

    def __array_finalize__(self, parent):
        self._why = getattr(parent, "_why", None)

    def __setitem__(self, index, value):
        if not self.flags.writeable:
            raise ReadOnlyError(_explain(self._why))
        super().__setitem__(index, value)

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        if out is not None:
            for target in out:
                if isinstance(target, ReadOnlyArray) and not target.flags.writeable:
                    raise ReadOnlyError(_explain(target._why))
            kwargs["out"] = tuple(_plain(target) for target in out)
        return getattr(ufunc, method)(*[_plain(x) for x in inputs], **kwargs)

    def __repr__(self):
        return repr(_plain(self))

    def __str__(self):
        return str(_plain(self))


def _plain(x):
    return x.view(np.ndarray) if isinstance(x, ReadOnlyArray) else x
