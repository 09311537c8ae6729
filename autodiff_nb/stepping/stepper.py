"""``step_through(loss)``: a ``Stepper`` that replays the reverse pass one operation at a time.

``step_through`` IS a backward pass: it consumes the engine's
``backward_steps`` generator once (the walk and the ``.grad`` delivery that
``backward()`` runs) and keeps the ``Step`` snapshots. So afterwards leaves
hold their ``.grad`` (added to, as after ``backward()``), the graph is freed
unless ``retain_graph=True``, and for an ``autodiff_nb.mytorch.Autograd``
engine the gradient buffer and the layers' ``dW``/``db`` are filled. Call it *instead of* ``backward()``, not
after it (a second backward through a freed graph is refused).

Frames: 0 is "after the forward pass, before backward"; frame k is the state
right after reverse step k; the last frame is the finished backward. Each
frame is the one drawing, rendered once, restyled (see ``restyle.py``).

Forward mode (``step_through(loss, forward=True)``) puts the forward pass
first, so one stepper tells the whole story: frame 0 shows only the leaves'
values (every computed value blank, no gradient), frame j (1 ≤ j ≤ number
of recorded operations) computes the j-th operation in recording order and
reveals its output's value, with the equation and its numbers in the
panel. The reverse pass follows unchanged: "before backward" (every value
known) and then one frame per reverse step. Forward and backward together,
because the point of the forward pass for backprop is that it leaves behind
the values the chain rule then uses.
"""
from __future__ import annotations

import itertools
from dataclasses import replace

from ..draw import draw
from ..core.number_format import REAL_MINUS, NumberFormat
from ..core.tape import backward_steps, tape_of
from ..drawing import formatting as fmt
from .explain import TIME_STEP, explain, explain_forward, shown_numbers
from .frames import ForwardPass, Replay
from .restyle import Restyler, cell_texts

_stepper_numbers = itertools.count(1)


def step_through(target, grad=None, *, retain_graph=False, forward=False, start=0):
    """Run backward from ``target`` step by step and return a ``Stepper`` over its frames.

    target: a Tensor (usually the loss), or an engine with ``records()`` and
        ``backward_steps(divergence)`` such as ``autodiff_nb.mytorch.Autograd``.
    grad: for a Tensor, the gradient to start from (default 1 for a scalar), as
        ``backward(grad)``; for an engine, the divergence (required), as
        ``engine.backward(divergence)``.
    retain_graph: Tensors only, as in ``backward``.
    forward: show the forward pass first, one recorded operation per frame,
        revealing the values in recording order; then the reverse pass.
    start: the frame the stepper opens at: 0 (before backward, or the leaves
        only in forward mode) so that a learner starts at the beginning and
        presses Next; -1 for the finished pass. A page that runs no script
        always shows the finished pass.
    """
    if hasattr(target, "_record") and hasattr(target, "_data"):
        records = tape_of(target)
        steps = list(backward_steps(target, grad, retain_graph=retain_graph))
    elif callable(getattr(target, "records", None)) and callable(
            getattr(target, "backward_steps", None)):
        if grad is None:
            raise TypeError("step_through(engine, divergence): an engine needs the divergence "
                            "(the gradient of its last output), as engine.backward(divergence)")
        records = list(target.records())
        steps = list(target.backward_steps(grad))
    else:
        raise TypeError(f"step_through: cannot step through a {type(target).__name__}; expected "
                        f"a Tensor or an autograd engine with records() and backward_steps()")
    return Stepper(target, records, steps, forward=forward, start=start)


def time_step_clusters(records):
    """Drawing options: each time step of an unrolled recurrence (scope ``t=N``) in a frame of its own.

    Every operation stays its own node (the stepper highlights one at a time);
    the cluster only groups the operations of one step, so the drawing reads
    left to right through time. Without time steps nothing is grouped. The
    stepper then folds every step but the current one (``Stepper._folds``).
    """
    steps = sorted({name for record in records for name in record.scope
                    if TIME_STEP.match(str(name))}, key=lambda name: int(name[2:]))
    if not steps:
        return {"collapse": False}
    return {"collapse": steps, "collapse_mode": "cluster"}


class Stepper:
    """The frames of one reverse pass: ``len()``, ``goto(k)``, ``step``, ``frame(k)``, ``widget``.

    Displaying a stepper in a notebook shows its widget (live controls); the
    same output carries ``to_html()``, a self-contained player that works in
    exported HTML with no kernel.
    """

    def __init__(self, target, records, steps, forward=False, start=0):
        # Drawn from its own records: a large graph is released once backward has run.
        self._target = records if records and hasattr(target, "_record") else target
        self.replay = Replay(records, steps)
        self.forward = ForwardPass(records) if forward else None   # None: reverse pass only
        self.forward_frames = len(self.forward) if forward else 0  # frames before the reverse pass
        self.prefix = f"adnb{next(_stepper_numbers)}_"   # deterministic: same program, same ids
        self._grouping = time_step_clusters(records)
        self._arrays = self._timelines()   # what each cell shows, frame by frame (read twice)
        self.numbers = self._fitted_numbers()
        # Each cell drawn with the widest text any frame writes there: none overflows.
        self._graph = draw(self._target, grads=self.replay.final_gradients(), max_nodes=None,
                           thumbnails=False, id_prefix=self.prefix, numbers=self.numbers,
                           widest=self._widest_texts(), **self._grouping)
        self.names = self._names()
        self.explanations = [explain(k, self.replay.steps[k - 1] if k else None, self.names,
                                     len(self.replay) - 1, self.replay.root, self.replay.seed,
                                     self.numbers)
                             for k in range(len(self.replay))]
        if forward:
            self.explanations[:0] = [explain_forward(j, self.forward.records[j - 1] if j else None,
                                                     self.names, len(self.forward) - 1,
                                                     self.numbers)
                                     for j in range(len(self.forward))]
        self._restyler = None
        self._step = self._index(start)
        self._widget = None

    def _fitted_numbers(self):
        """One ``NumberFormat`` for every frame's cells and every panel: digits enough to tell
        apart all the numbers the stepper shows, so a value reads the same wherever it appears."""
        replay = self.replay
        cells = [tensor._data for tensor in replay.tensors.values()]
        cells += [grad for key in replay.tensors for _, grad, _ in replay.timeline(key)]
        panels = [replay.seed]
        for step in replay.steps:
            panels.append(step.grad_output)
            panels += [array for update in step.updates
                       for array in (update.sent, update.before, update.after)]
        for record in replay.records:
            panels += [tensor._data for tensor in record.inputs]
            panels += [value for value in record.params.values() if isinstance(value, float)]
        return NumberFormat.fitted([fmt.shown(a) for a in cells]
                                   + [shown_numbers(a) for a in panels if a is not None],
                                   minus=REAL_MINUS)

    def _names(self):
        """{tensor id: name}: its own name, else the drawing's ``v3``."""
        names = {}
        for key, tensor in self.replay.tensors.items():
            node = self._graph.id_of(tensor)
            names[key] = tensor.name or (node[len(self.prefix):] if node else "?")
        return names

    # --- frames ---------------------------------------------------------------
    def __len__(self):
        return self.forward_frames + len(self.replay)

    @property
    def step(self):
        """The index of the frame shown (0 = before backward, or the leaves only in forward
        mode; last = backward finished)."""
        return self._step

    @step.setter
    def step(self, k):
        self.goto(k)

    def goto(self, k):
        """Show frame ``k`` (negative counts from the end, as for lists); returns the stepper."""
        k = self._index(k)
        self._step = k
        if self._widget is not None:
            self._widget.show(k)
        return self

    def _index(self, k):
        if k is None:
            return self._step
        n = len(self)
        if not -n <= k < n:
            first = "only the leaves' values" if self.forward else "before backward"
            raise IndexError(f"Stepper: frame {k} does not exist; frames are 0..{n - 1} "
                             f"(0 = {first}, {n - 1} = backward finished)")
        return k % n

    def snapshot(self, k=None):
        """Frame ``k`` as data: ``.step`` (the engine's Step), ``.gradients``, ``.final``.

        Forward frames (forward mode) have no step and no gradient; their
        ``.record`` is the operation computed and ``.known`` the ids of the
        tensors whose value is shown.
        """
        k = self._index(k)
        if k < self.forward_frames:
            return self.forward.frame(k, self.replay.tensors)
        return replace(self.replay.frame(k - self.forward_frames), index=k)

    def explanation(self, k=None):
        """The chain-rule update of frame ``k``: ``.text()`` and ``.html()``."""
        return self.explanations[self._index(k)]

    @property
    def restyler(self):
        """The one rendering as a template (renders it on first use)."""
        if self._restyler is None:
            self._restyler = Restyler(self._graph.svg(), self._cell_timelines(),
                                      self._cell_names(), self._marks(), self._folds(),
                                      self.numbers)
        return self._restyler

    def svg(self, k=None):
        """Frame ``k``'s SVG: the one drawing, restyled."""
        return self.restyler.svg(self._index(k))

    def frame(self, k=None):
        """Frame ``k`` as a ``Graph`` (``.svg()`` is the restyled drawing).

        Its ``.source`` is the DOT of the same frame drawn by ``draw`` itself
        (gradients so far, the operation highlighted), for saving to PNG/PDF.
        ``draw`` cannot blank values, so the source of a forward frame shows
        every value (and no gradient); its ``.svg()`` shows only those known.
        """
        k = self._index(k)
        state = self.snapshot(k)
        record = state.step.record if state.step else state.record
        highlight = [record] if record else None
        graph = draw(self._target, grads=state.gradients, highlight=highlight, **self._grouping,
                     thumbnails=False, max_nodes=None, id_prefix=self.prefix,
                     numbers=self.numbers)
        graph._svg = self.svg(k)
        return graph

    def _cell(self, key, part="grad"):
        node = self._graph.id_of(self.replay.tensors[key])
        return f"{node}_{part}" if node else None

    def _timelines(self):
        """{(tensor id, "grad" or "value"): [(frame, array or None, final), ...]}: gradient
        cells (blank until the reverse pass writes them); value cells in forward mode."""
        cells = {}
        shift = self.forward_frames
        for key, tensor in self.replay.tensors.items():
            cells[key, "grad"] = [(0, None, False)] + [
                (k + shift, grad, final) for k, grad, final in self.replay.timeline(key) if k]
            if self.forward:
                shown = self.forward.shown_from(key)
                cells[key, "value"] = [(0, None, False)] * (shown > 0) + [
                    (shown, tensor._data, True)]
        return cells

    def _cell_timelines(self):
        """The timelines keyed by the drawing's cell ids (cells not drawn left out)."""
        cells = {}
        for (key, part), timeline in self._arrays.items():
            cell = self._cell(key, part)
            if cell is not None:
                cells[cell] = timeline
        return cells

    def _widest_texts(self):
        """{(tensor id, part): the widest text each number of the cell shows in any frame}."""
        widest = {}
        for cell, timeline in self._arrays.items():
            for _, array, _ in timeline:
                if array is None:
                    continue
                texts = cell_texts(array, self.numbers)
                old = widest.setdefault(cell, texts)
                if len(old) == len(texts):
                    widest[cell] = [max(a, b, key=len) for a, b in zip(old, texts)]
        return widest

    def _cell_names(self):
        parts = ("grad", "value") if self.forward else ("grad",)
        return {self._cell(key, part): self.names[key]
                for key in self.replay.tensors for part in parts}

    def _records(self):
        """The operation of every frame, in frame order (None for frames without one)."""
        forward = [None] + list(self.forward.records) if self.forward else []
        return forward + [None] + [step.record for step in self.replay.steps]

    def _folds(self):
        """The time steps to fold (``Restyler``'s ``folds``): None when nothing is grouped.

        Frame k opens the time step its operation was recorded in. A frame
        whose operation belongs to no step (the loss, the stack of outputs,
        "before backward") keeps the step open before it; frames before any
        step open the first step to come.
        """
        members = self._graph.cluster_members()
        if not members:
            return None
        cluster_of = {element: cluster for cluster, elements in members.items()
                      for element in elements}
        opened = [cluster_of.get(self._graph.id_of(record)) if record else None
                  for record in self._records()]
        first = next((c for c in opened if c), "")
        for k, cluster in enumerate(opened):
            opened[k] = cluster or (opened[k - 1] if k else first)
        return members, opened

    def _marks(self):
        """Per frame, {class: [element ids]}: the operation visited and where its gradients go.

        A forward frame (forward mode) marks its operation as visited, the
        edges its inputs' values come in by as arriving, the edge its result
        leaves by as sent, and the output's value cell as written.
        """
        marks = [{}]
        for record in self.forward.records if self.forward else ():
            op = self._graph.id_of(record)
            marks.append({"adnb-current": [op],
                          "adnb-arriving": [f"{op}_in{i}" for i in range(len(record.inputs))],
                          "adnb-sent": [f"{op}_out"],
                          "adnb-wrote": [self._cell(record.output()._id, "value")],
                          **self._shown(record)})
        if self.forward:
            marks.append({})   # before backward
        for step in self.replay.steps:
            op = self._graph.id_of(step.record)
            output = step.record.output()
            sent = [f"{op}_in{position}" for position, tensor in enumerate(step.record.inputs)
                    if any(u.tensor is tensor for u in step.updates)]
            wrote = [self._cell(u.tensor._id) for u in step.updates if u.mode == "="]
            added = [self._cell(u.tensor._id) for u in step.updates if u.mode == "+="]
            marks.append({"adnb-current": [op], "adnb-sent": sent,
                          "adnb-arriving": [f"{op}_out", self._cell(output._id)],
                          "adnb-wrote": [c for c in wrote if c not in added],
                          "adnb-accumulated": added, **self._shown(step.record)})
        return marks

    def _shown(self, record):
        """With folded time steps, the value nodes an operation reads and writes stay visible
        (``adnb-shown``), though one of them may sit in another step; else no mark."""
        if not self._grouping["collapse"]:
            return {}
        nodes = [self._graph.id_of(t) for t in (*record.inputs, record.output())]
        return {"adnb-shown": [node for node in nodes if node]}

    # --- display --------------------------------------------------------------
    @property
    def widget(self):
        """The live view (ipywidgets): buttons, a frame slider, Play with a speed."""
        if self._widget is None:
            from .widget import StepperWidget
            self._widget = StepperWidget(self)
        return self._widget.box

    def to_html(self):
        """A self-contained HTML fragment that steps through every frame with no kernel."""
        from .page import stepper_html
        return stepper_html(self)

    def __repr__(self):
        steps = len(self.replay) - 1
        ahead = (f"{len(self.forward) - 1} forward step{'s' * (len(self.forward) != 2)}, "
                 if self.forward else "")
        return (f"<autodiff_nb Stepper: {len(self)} frames ({ahead}{steps} reverse "
                f"step{'s' * (steps != 1)}), showing frame {self._step}>")

    def _repr_mimebundle_(self, include=None, exclude=None):
        """The widget view, with ``to_html()`` as the fallback for exported HTML."""
        bundle = {"text/plain": repr(self), "text/html": self.to_html()}
        view = self.widget._repr_mimebundle_(include=include, exclude=exclude) or {}
        bundle.update({k: v for k, v in view.items() if k != "text/plain"})
        return bundle
