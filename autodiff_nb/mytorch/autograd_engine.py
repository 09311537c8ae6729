"""The course handout's autograd engine, recorded on an autodiff_nb tape.

``Autograd`` keeps the handout's API: ``operation_list``, ``gradient_buffer``,
``add_operation``, ``backward`` and ``zero_grad``. Every operation it records
is also a tape ``Record`` (made by the core's one ``apply``) whose inputs
are ``Tensor``s wrapping the engine's own arrays, so ``autodiff_nb.draw
(engine)`` and ``step_through(engine)`` show the same graph the engine walks.
Backward is the core's own reverse loop (``core.tape.backward_steps``): this
module only adds each step's gradients into the buffer and the layers' arrays.

The arrays are the learner's: the engine does not lock them (the core's
guard), since course code may update them in place as the course's own
engine allows; backward reads them as they are when it runs.
"""
from __future__ import annotations

import numpy as np

from ..core.errors import GraphError, ShapeError, at_user_line
from ..core.guard import UNGUARDED
from ..core.primitives import PRIMITIVES, Primitive
from ..core.tape import backward_steps, enable_grad
from ..core.tensor import _new, apply
from .utils import GradientBuffer

# The registry primitive each handout backward function undoes. Matched by the
# function's name, so a learner's own functional.py draws the same way.
_UNDOES = {
    "add_backward": "add", "sub_backward": "sub", "mul_backward": "mul",
    "div_backward": "div", "matmul_backward": "matmul", "outer_backward": "outer",
    "log_backward": "log", "exp_backward": "exp", "tanh_backward": "tanh",
    "max_backward": "relu", "sum_backward": "sum",
    "conv1d_stride1_backward": "conv1d", "conv2d_stride1_backward": "conv2d",
    "flatten_backward": "flatten",
}
# Handout operations the registry has no primitive for: display data only.
_DISPLAY_ONLY = {
    "identity_backward": Primitive("identity", None, None, symbol="id", rules=("{g}",)),
    "SoftmaxCrossEntropy_backward": Primitive(
        "softmax_cross_entropy", None, None, symbol="CE",
        rules=("{g} · (softmax({0}) − {1}) / N", "")),
    **{f"downsampling{d}d_backward": Primitive(
        f"downsample{d}d", None, None, symbol="↓", formula="{0}[every {1}-th]",
        rules=("{g} at every {1}-th position, 0 elsewhere", "")) for d in (1, 2)},
}


def _function_name(function):
    return getattr(function, "__name__", type(function).__name__)


def _handout_primitive(backward_operation, output):
    """A ``Primitive`` whose VJP is ``backward_operation``, drawn like the operation it undoes.

    Its forward hands back ``output``: the course's code computed it already.
    """
    name = _function_name(backward_operation)
    shown = PRIMITIVES.get(_UNDOES.get(name)) or _DISPLAY_ONLY.get(name)

    def vjp(grad_output, output, *inputs):
        # A copy: a backward function may change its argument in place.
        grads = backward_operation(grad_output.copy(), *inputs)
        grads = tuple(grads) if isinstance(grads, (tuple, list)) else (grads,)
        # The HW2 handout documents downsampling*_backward as returning "dLdA, dLdW, dLdb"
        # for two inputs; the course's engine ignores the extra Nones, and so does this one.
        while len(grads) > len(inputs) and grads[-1] is None:
            grads = grads[:-1]
        return _checked(name, inputs, grads)

    def forward(*arrays):
        return output

    if shown is None:
        return Primitive(name.removesuffix("_backward"), forward, vjp)
    return Primitive(shown.name, forward, vjp, symbol=shown.symbol, formula=shown.formula,
                     rules=shown.rules)


def _shapes(arrays):
    return ", ".join(str(np.shape(a)) for a in arrays)


class Operation:
    """One recorded step ``output = f(*inputs)``, undone by ``backward_operation``."""

    _record = None  # its tape Record, made by the engine that records it

    def __init__(self, inputs, output, gradients_to_update, backward_operation):
        self.inputs = inputs
        self.output = output
        self.gradients_to_update = gradients_to_update
        self.backward_operation = backward_operation

    def __repr__(self):
        return (f"Operation(inputs of shape {_shapes(self.inputs)} -> output of shape "
                f"{np.shape(self.output)}, backward: {_function_name(self.backward_operation)})")


class Autograd:
    """Records operations on NumPy arrays and runs backpropagation over them.

    Any number of engines may exist (the handout allows one), so re-running
    a notebook cell that creates an engine just works. ``debug=True`` (HW3's
    argument) prints each operation as it is recorded.
    """

    def __init__(self, debug=False):
        self.debug = debug
        self.operation_list = []
        self.gradient_buffer = GradientBuffer()
        self._tensors = {}          # id(array) -> (array, the Tensor standing for it on the tape)
        self._leaf_counts = {}      # "x" / "w" -> how many unnamed leaves got that prefix
        self._layer_counts = {}     # "Linear" -> how many layers got a name from this engine
        self._last_gradients = {}   # tensor id -> gradient, from the last backward pass
        self._operations = {}       # record index -> the Operation it records

    @property
    def memory_buffer(self):
        """The 2021 handout's name for ``gradient_buffer``."""
        return self.gradient_buffer

    # --- the handout API ---------------------------------------------------
    def add_operation(self, inputs, output, gradients_to_update, backward_operation):
        """Record ``output = f(*inputs)``.

        ``gradients_to_update[i]`` is ``None`` for an input the gradient buffer
        tracks (data, intermediate values), or an array of the input's shape
        (e.g. a layer's ``dW``) that backward adds the input's gradient into.
        """
        name = _function_name(backward_operation)
        if len(inputs) != len(gradients_to_update):
            raise ShapeError(at_user_line(
                f"add_operation({name}): {len(inputs)} inputs (shapes {_shapes(inputs)}) but "
                f"{len(gradients_to_update)} entries in gradients_to_update; expected one entry "
                f"per input (None for an array the gradient buffer tracks, or the array to add "
                f"its gradient into, e.g. dW)"))
        inputs = self._separate_output(name, list(inputs), output)
        _check_operation(name, inputs, output, gradients_to_update)
        if id(output) in self._tensors and self._tensors[id(output)][1]._record is not None:
            raise GraphError(at_user_line(
                f"add_operation({name}): the output array is already the output of an earlier "
                f"operation; expected a new array for every operation's output"))
        for array, target in zip(inputs, gradients_to_update):
            if target is None:
                self.gradient_buffer.add_spot(array)
        operation = Operation(inputs, output, gradients_to_update, backward_operation)
        self.operation_list.append(operation)
        self._record_of(operation)
        if self.debug:
            print(f"Autograd: recorded {operation!r}")

    def _separate_output(self, name, inputs, output):
        """HW3's given ``Tanh`` records its output array as one of its inputs (the state).

        The course's engine keys arrays by address and tolerates it. Here an
        array that is new to the engine is recorded as that input through a
        copy (same values), so the graph has no loop; an array the engine has
        already seen (``y += b`` after recording y) is refused by
        ``_check_operation``.
        """
        if id(output) in self._tensors:
            return inputs
        return [array.copy() if array is output else array for array in inputs]

    def backward(self, divergence):
        """Backpropagate ``divergence`` (the gradient of the last recorded output)."""
        for _ in self.backward_steps(divergence):
            pass

    def zero_grad(self):
        """Forget every recorded operation and every gradient in the buffer."""
        self.gradient_buffer.clear()
        self.operation_list.clear()
        self._tensors.clear()
        self._leaf_counts.clear()
        self._operations.clear()
        self._last_gradients = {}

    # --- the graph-source protocol (draw, step_through) ----------------------
    def records(self):
        """The tape ``Record`` of every operation in ``operation_list``, in recording order."""
        return [self._record_of(operation) for operation in self.operation_list]

    def gradients(self):
        """``{tensor id: gradient}`` of the last backward pass (empty before one)."""
        return dict(self._last_gradients)

    def backward_steps(self, divergence):
        """Backward as a generator: one ``Step`` per operation, last recorded first.

        The last operation receives ``divergence`` broadcast to its output's
        shape; every earlier one the gradient its output accumulated in this
        pass. An operation whose output never reached the loss is skipped.
        Each input's gradient is added in place into its buffer spot, or into
        its ``gradients_to_update`` array; the ``Update`` says "=" for the
        input's first gradient in this pass and "+=" for later ones (fan-out).
        These are the real updates: running the generator (as
        ``step_through(engine, divergence)`` does) is a backward pass. The
        walk is the core's, with the graph kept (``retain_graph``): the
        handout's engine may run backward again over the same operations.
        """
        if not self.operation_list:
            return
        last = self.operation_list[-1]
        root = self._record_of(last).output()
        for step in backward_steps(root, _seed(divergence, last.output), retain_graph=True):
            self._add_gradients(step)
            yield step
        self._last_gradients = root._pass.grads

    def _add_gradients(self, step):
        """Add a step's gradients into the buffer spots and the layers' arrays, in place."""
        operation = self._operations[step.record.index]
        updates = iter(step.updates)
        update = next(updates, None)
        for tensor, array, target in zip(step.record.inputs, operation.inputs,
                                         operation.gradients_to_update):
            if update is None or update.tensor is not tensor:
                continue
            if target is None:
                self.gradient_buffer.update_param(array, update.sent)
            else:
                target += update.sent
            update = next(updates, None)

    # --- names on the tape ---------------------------------------------------
    def label(self, array, name, constant=False):
        """Show ``array`` as ``name`` in drawings and the stepper; returns ``array``.

        ``constant=True`` draws it as a constant (a literal such as the 1 in
        1 + exp(-x), or labels), with no gradient row.
        """
        tensor = self._tensor(array)
        tensor.name = str(name)
        tensor.requires_grad = not constant
        return array

    def layer_name(self, kind):
        """A fresh name such as "Linear0" for a layer recording on this engine."""
        number = self._layer_counts.get(kind, 0)
        self._layer_counts[kind] = number + 1
        return f"{kind}{number}"

    def _tensor(self, array, leaf_prefix=None):
        """The one ``Tensor`` that stands for ``array`` (this very object) on the tape.

        A leaf seen for the first time without a label is named after its
        kind: "x", "x2", ... for buffer-tracked data, "w", "w2", ... for an
        input whose gradient goes into an array of the caller's.
        """
        entry = self._tensors.get(id(array))
        if entry is not None:
            return entry[1]
        tensor = _new(array, requires_grad=True)
        tensor._guard = UNGUARDED
        if leaf_prefix is not None:
            count = self._leaf_counts.get(leaf_prefix, 0) + 1
            self._leaf_counts[leaf_prefix] = count
            tensor.name = leaf_prefix if count == 1 else f"{leaf_prefix}{count}"
        self._tensors[id(array)] = (array, tensor)
        return tensor

    def _record_of(self, operation):
        """``operation``'s tape Record, made the first time it is asked for."""
        if operation._record is None:
            inputs = tuple(self._tensor(array, "x" if target is None else "w")
                           for array, target in zip(operation.inputs,
                                                    operation.gradients_to_update))
            # A new recorded Tensor for the output, keeping what label() gave the old one.
            labelled = self._tensors.get(id(operation.output))
            with enable_grad():     # recorded even inside a learner's no_grad block
                output = apply(_handout_primitive(operation.backward_operation,
                                                  operation.output), *inputs)
            output._guard = UNGUARDED
            if labelled is not None:
                output.name, output.requires_grad = labelled[1].name, labelled[1].requires_grad
            self._tensors[id(operation.output)] = (operation.output, output)
            operation._record = output._record
            self._operations[output._record.index] = operation
        return operation._record


def _check_operation(name, inputs, output, gradients_to_update):
    """Refuse what backward could not handle, naming the operation and the shapes."""
    for i, array in enumerate([*inputs, output]):
        if not isinstance(array, (np.ndarray, np.generic)):
            what = f"input {i}" if i < len(inputs) else "the output"
            raise TypeError(at_user_line(
                f"add_operation({name}): {what} is a {type(array).__name__}; expected a NumPy "
                f"array (np.asarray(...) it before the operation)"))
    for i, (array, target) in enumerate(zip(inputs, gradients_to_update)):
        if array is output:
            raise GraphError(at_user_line(
                f"add_operation({name}): the output is the same array as input {i}, as after an "
                f"in-place update (y += b); expected a new array (y = y + b)"))
        if target is not None and np.shape(target) != np.shape(array):
            raise ShapeError(at_user_line(
                f"add_operation({name}): gradients_to_update[{i}] has shape {np.shape(target)} "
                f"but input {i} has shape {np.shape(array)}; expected the same shape "
                f"(pass dW.T for an input W.T)"))


def _checked(name, inputs, grads):
    """A backward function must return one gradient of the right shape per input."""
    if len(grads) != len(inputs):
        raise GraphError(at_user_line(
            f"backward: {name} returned {len(grads)} gradient(s) for {len(inputs)} input(s) "
            f"of shape {_shapes(inputs)}; expected one per input (None for an input that "
            f"takes no gradient)"))
    checked = []
    for i, (grad, array) in enumerate(zip(grads, inputs)):
        if grad is not None:
            grad = np.asarray(grad)
            if grad.shape != np.shape(array):
                raise ShapeError(at_user_line(
                    f"backward: {name} returned a gradient of shape {grad.shape} for input "
                    f"{i} of shape {np.shape(array)}; expected the input's shape (sum a "
                    f"broadcast gradient back over the broadcast axes)"))
        checked.append(grad)
    return tuple(checked)


def _seed(divergence, output):
    """``divergence`` as an array of ``output``'s shape."""
    dtype = output.dtype if output.dtype.kind == "f" else np.float64
    try:
        return np.array(np.broadcast_to(np.asarray(divergence, dtype=dtype), np.shape(output)))
    except ValueError:
        raise ShapeError(at_user_line(
            f"backward: divergence of shape {np.shape(divergence)} does not fit the last "
            f"operation's output of shape {np.shape(output)}; expected a number or an array "
            f"of that shape")) from None
