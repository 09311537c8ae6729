"""The frames of one reverse pass, replayed from the engine's own snapshots.

Frame 0 is the graph after the forward pass, before backward: values known,
no gradient yet. Frame k (1 ≤ k ≤ number of steps) is the state right after
the engine's k-th reverse step, so the last frame is the finished backward.

Nothing here recomputes a gradient: the ``Step`` snapshots that
``backward_steps`` yields already say which gradient arrived at each
operation and what every input received ("=" or "+=", before and after).
Frames are not copies of a gradient dict either. Each tensor keeps a short
timeline of its gradient (one entry per write), so building every frame is
one pass over the steps and looking one up is a bisection per tensor.

A gradient is *final* once every operation that consumed its tensor has
been visited: the reverse walk will add nothing more to it. The output's
gradient of the operation being visited is always final by then, which is
why recording order works as a topological order.

``ForwardPass`` gives the frames shown before those in forward mode
(``step_through(loss, forward=True)``): frame 0 shows only the leaves'
values, frame j the value of the j-th recorded operation's output. Recording
order is the order the forward pass ran in, so every input is shown before
the operation that uses it.
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Frame:
    """What one frame shows."""

    index: int
    step: Any            # the engine's ``Step`` (None for frame 0)
    gradients: dict      # {tensor id: gradient} computed so far
    final: frozenset     # ids of the tensors whose gradient is final
    record: Any = None   # forward frames: the operation computed (None for frame 0)
    known: Any = None    # forward frames: ids of the tensors whose value is shown (None: all)


def _readonly_copy(array):
    if array is None:
        return None
    copy = np.array(array)
    copy.flags.writeable = False
    return copy


def _frozen(step):
    """A copy of ``step`` whose arrays cannot change under the frames.

    The engine hands a leaf's last gradient to the user as ``.grad``; a
    learner's ``w.grad *= 0`` must not rewrite the recorded reverse pass.
    """
    return step._replace(
        grad_output=_readonly_copy(step.grad_output),
        updates=tuple(update._replace(sent=_readonly_copy(update.sent),
                                      before=_readonly_copy(update.before),
                                      after=_readonly_copy(update.after))
                      for update in step.updates))


class Replay:
    """The frames of a reverse pass, from its records and its (consumed) steps."""

    def __init__(self, records, steps):
        self.records = tuple(records)
        self.steps = tuple(_frozen(step) for step in steps)
        self.tensors = _tensors_of(self.records)
        # Frame 1 visits the root's operation; its gradient there is the seed.
        self.root = self.steps[0].record.output() if self.steps else None
        self.seed = self.steps[0].grad_output if self.steps else None
        self._frames_of, self._values_of = {}, {}
        self.final_at = {}
        self._replay()

    def __len__(self):
        return len(self.steps) + 1

    def _write(self, key, frame, value):
        frames = self._frames_of.setdefault(key, [])
        values = self._values_of.setdefault(key, [])
        if frames and frames[-1] == frame:   # x * x: two writes in one step, keep the sum
            values[-1] = value
        else:
            frames.append(frame)
            values.append(value)

    def _replay(self):
        if self.root is not None:
            self._write(self.root._id, 1, self.seed)
            self.final_at[self.root._id] = 1
        for frame, step in enumerate(self.steps, start=1):
            for update in step.updates:
                self._write(update.tensor._id, frame, update.after)
            for tensor in step.record.inputs:
                # Revisited on every consumer: the last one visited makes it final.
                self.final_at[tensor._id] = frame
        for key in list(self.final_at):
            if key not in self._frames_of:   # consumed, but no gradient flows to it
                del self.final_at[key]

    def timeline(self, key):
        """``[(frame, gradient, final), ...]``: each frame where one tensor's cell changes.

        A cell changes when its gradient is written and when it becomes final
        (often the same frame, for a tensor consumed once).
        """
        final_at = self.final_at.get(key)
        marks = sorted(set(self._frames_of.get(key, ())) | ({final_at} - {None}))
        return [(k, self.gradient(key, k), final_at is not None and final_at <= k) for k in marks]

    def gradient(self, key, k):
        """The gradient of tensor ``key`` as frame ``k`` shows it (None: not computed yet)."""
        frames = self._frames_of.get(key)
        if not frames:
            return None
        at = bisect_right(frames, k)
        return self._values_of[key][at - 1] if at else None

    def frame(self, k):
        gradients = {}
        for key in self._frames_of:
            value = self.gradient(key, k)
            if value is not None:
                gradients[key] = value
        final = frozenset(key for key, at in self.final_at.items() if at <= k)
        return Frame(k, self.steps[k - 1] if k else None, gradients, final)

    def final_gradients(self):
        """Every gradient at the end of the pass, intermediate ones included."""
        return {key: values[-1] for key, values in self._values_of.items()}


class ForwardPass:
    """The frames of the forward pass, from the records alone (values are already computed)."""

    def __init__(self, records):
        self.records = tuple(records)
        self.computed_at = {}   # {tensor id: the frame that computes it}; leaves are absent
        for frame, record in enumerate(self.records, start=1):
            output = record.output()
            if output is not None:
                self.computed_at[output._id] = frame

    def __len__(self):
        return len(self.records) + 1

    def shown_from(self, key):
        """The first frame that shows tensor ``key``'s value (0 for a leaf)."""
        return self.computed_at.get(key, 0)

    def frame(self, k, keys):
        """Frame ``k``: no gradient; ``known`` = those of ``keys`` whose value is shown."""
        known = frozenset(key for key in keys if self.shown_from(key) <= k)
        return Frame(k, None, {}, frozenset(), self.records[k - 1] if k else None, known)


def _tensors_of(records):
    """{id: Tensor} of every input and output, in order of first appearance."""
    tensors = {}
    for record in records:
        for tensor in (*record.inputs, record.output()):
            if tensor is not None:
                tensors.setdefault(tensor._id, tensor)
    return tensors
