"""Exercises: learners write backward functions, ``check`` grades them with a hint.

Each exercise is one backward function with the course handout's signature
(``mul_backward(grad_output, a, b)``: the gradient arriving at the output,
then the operation's inputs; one gradient per input). ``check(name, fn)``
runs ``fn`` on a few seeded float64 cases (scalars, vectors, matrices and,
where NumPy would broadcast, broadcast shapes) and compares every gradient
with the engine's own reverse pass on the same operation. A wrong answer gets
a diagnosis, not just "mismatch": which input, which case, the expected and
returned shape or the element that differs most, and a nudge when a common
slip explains the answer exactly (a missing transpose, a missing sum over a
broadcast axis, a wrong sign, a forgotten ``grad_output``, ...).

The reference answers are the handout's ``autodiff_nb.mytorch.functional``
(one copy of each answer in the package). ``reference(name)`` returns one;
``check(..., show_answers=True)`` grades the reference in place of a learner
function that is still the stub (raises ``NotImplementedError``), so a lesson
stored with stubs still shows, and CI still proves, that right answers pass.
A function the learner has written is always graded itself.
"""
from __future__ import annotations

import inspect
import linecache
import signal
import textwrap
import threading
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .core import functions as F
from .mytorch import functional as answers
from .core.primitives import unbroadcast
from .core.tensor import Tensor

RTOL, ATOL = 1e-6, 1e-9     # float64 answers computed another way agree far better than this
WIDTH = 88                  # verdict lines are wrapped at words to fit a notebook output
TIME_LIMIT = 5.0            # seconds for one exercise's cases; the answers take milliseconds


class ExerciseError(AssertionError):
    """A learner's backward function is wrong (raised by ``check(..., raise_on_wrong=True)``)."""


@dataclass(frozen=True)
class Case:
    """One input to grade on: a short label, the arriving gradient and the forward inputs."""

    label: str
    grad_output: np.ndarray
    inputs: tuple


@dataclass(frozen=True)
class Exercise:
    """One backward function to write, and what ``check`` needs to grade and explain it.

    ``forward`` builds the operation from engine Tensors: the engine's
    reverse pass through it gives the expected gradients. ``hint`` returns a
    nudge for slips specific to this operation (or None); ``formula`` is the
    reminder shown when no nudge explains a wrong value.
    """

    name: str
    function: str                   # the handout's function name
    input_names: tuple
    forward: Callable
    cases: Callable                 # () -> list of Case, seeded
    formula: str
    reference: Callable
    differentiable: tuple = (True, True)
    hint: Callable = lambda case, i, returned, expected: None
    error_hint: str = ""


# --- cases ----------------------------------------------------------------------


def _away_from_zero(rng, shape):
    """Values in ±[0.5, 2]: divisors that keep a / b and a / b² moderate."""
    return np.asarray(rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.5, 2.0, size=shape))


def _binary_cases(seed, divisor=False):
    """Scalars, vectors, matrices and three broadcasts, for an elementwise a ∘ b."""
    rng = np.random.default_rng(seed)
    shapes = [("scalars", (), ()), ("vectors", (5,), (5,)), ("matrices", (3, 4), (3, 4)),
              ("broadcast row", (3, 4), (4,)), ("column × row", (3, 1), (1, 4)),
              ("scalar × matrix", (), (2, 3))]
    cases = []
    for label, a_shape, b_shape in shapes:
        a = rng.standard_normal(a_shape)
        b = _away_from_zero(rng, b_shape) if divisor else rng.standard_normal(b_shape)
        g = rng.standard_normal(np.broadcast_shapes(a_shape, b_shape))
        cases.append(Case(label, g, (a, b)))
    return cases


def _tanh_cases():
    rng = np.random.default_rng(3)
    return [Case(label, rng.standard_normal(shape), (rng.uniform(-2.0, 2.0, shape),))
            for label, shape in [("scalar", ()), ("vector", (6,)), ("matrix", (3, 4))]]


def _matmul_cases():
    rng = np.random.default_rng(4)
    shapes = [("matrices", (3, 4), (4, 2)), ("the lecture's W x with x a column", (3, 4), (4, 1)),
              ("a batch of rows", (5, 4), (4, 3)), ("square matrices", (3, 3), (3, 3))]
    return [Case(label, rng.standard_normal((a[0], b[1])),
                 (rng.standard_normal(a), rng.standard_normal(b)))
            for label, a, b in shapes]


def _softmax_cross_entropy_cases():
    rng = np.random.default_rng(5)
    settings = [("4 rows × 3 classes", 4, 3, 1.0, 0.0), ("6 rows × 5 classes", 6, 5, 0.5, 0.0),
                ("large logits near 1000", 3, 4, 1.0, 1000.0), ("one row", 1, 3, 2.0, 0.0)]
    cases = []
    for label, rows, classes, g, offset in settings:
        pred = offset + 2.0 * rng.standard_normal((rows, classes))
        truth = np.eye(classes)[rng.integers(0, classes, rows)]
        cases.append(Case(label, np.array([g]), (pred, truth)))
    return cases


def _softmax_cross_entropy(pred, truth):
    """Mean over the rows of −Σ truth · log softmax(pred), shaped (1,) as in the handout."""
    return -(F.log_softmax(pred, axis=1) * truth).sum(axis=1).mean().reshape(1)


# --- nudges specific to one operation ---------------------------------------------


def _close(returned, expected):
    returned = np.asarray(returned)
    return (returned.shape == np.shape(expected)
            and bool(np.allclose(returned, expected, rtol=RTOL, atol=ATOL)))


def _div_hint(case, i, returned, expected):
    g, (a, b) = case.grad_output, case.inputs
    if i == 1 and _close(returned, unbroadcast(-g * a / b, b.shape)):
        return "∂(a / b)/∂b = −a / b²: did you forget to square b?"
    if i == 1 and _close(returned, unbroadcast(-g / b**2, b.shape)):
        return "∂(a / b)/∂b = −a / b²: the factor a is missing."
    if i == 0 and _close(returned, unbroadcast(g * b, a.shape)):
        return "∂(a / b)/∂a = 1 / b: divide by b rather than multiply."
    return None


def _tanh_hint(case, i, returned, expected):
    g, (a,) = case.grad_output, case.inputs
    if _close(returned, g * (1 - a**2)):
        return ("a is tanh's input, not its output: the derivative is 1 − tanh²(a), "
                "not 1 − a².")
    return None


def _matmul_hint(case, i, returned, expected):
    g, (a, b) = case.grad_output, case.inputs
    if i == 0 and _close(returned, g @ b):
        return "did you forget to transpose? ∇a L = grad_output @ bᵀ (you used b, not bᵀ)."
    if i == 1 and _close(returned, a @ g):
        return "did you forget to transpose? ∇b L = aᵀ @ grad_output (you used a, not aᵀ)."
    return None


def _softmax(pred, axis):
    shifted = np.exp(pred - pred.max(axis=axis, keepdims=True))
    return shifted / shifted.sum(axis=axis, keepdims=True)


def _softmax_cross_entropy_hint(case, i, returned, expected):
    g, (pred, truth) = case.grad_output, case.inputs
    rows = len(pred)
    if not np.all(np.isfinite(returned)):
        return ("did exp overflow? Subtract each row's maximum from the logits before exp: "
                "softmax does not change, and the largest exponent becomes e⁰ = 1.")
    if rows > 1 and _close(returned, rows * expected):
        return (f"the loss is the mean over the batch of N = {rows} rows, so divide by N: "
                f"∇pred L = grad_output · (softmax(pred) − ground_truth) / N.")
    if _close(returned, g * _softmax(pred, axis=1) / rows):
        return "subtract the one-hot labels: ∇pred L = grad_output · (softmax(pred) − ground_truth) / N."
    if rows > 1 and _close(returned, g * (_softmax(pred, axis=0) - truth) / rows):
        return "softmax goes along each row (axis=1, over the classes), not down the columns."
    return None


EXERCISES = {exercise.name: exercise for exercise in [
    Exercise("mul", "mul_backward", ("a", "b"), lambda a, b: a * b,
             lambda: _binary_cases(1),
             "z = a · b (elementwise): ∇a L = grad_output · b and ∇b L = grad_output · a, each "
             "summed back to its input's shape where NumPy broadcast it.",
             answers.mul_backward),
    Exercise("div", "div_backward", ("a", "b"), lambda a, b: a / b,
             lambda: _binary_cases(2, divisor=True),
             "z = a / b: ∇a L = grad_output / b and ∇b L = −grad_output · a / b², each summed "
             "back to its input's shape where NumPy broadcast it.",
             answers.div_backward, hint=_div_hint),
    Exercise("tanh", "tanh_backward", ("a",), F.tanh, _tanh_cases,
             "z = tanh(a): ∇a L = grad_output · (1 − tanh²(a)).",
             answers.tanh_backward, differentiable=(True,), hint=_tanh_hint),
    Exercise("matmul", "matmul_backward", ("a", "b"), lambda a, b: a @ b, _matmul_cases,
             "z = a @ b: ∇a L = grad_output @ bᵀ and ∇b L = aᵀ @ grad_output.",
             answers.matmul_backward, hint=_matmul_hint,
             error_hint="a shape error in a product usually means a missing or misplaced "
                        "transpose: ∇a L = grad_output @ bᵀ, ∇b L = aᵀ @ grad_output."),
    Exercise("softmax_cross_entropy", "SoftmaxCrossEntropy_backward", ("pred", "ground_truth"),
             _softmax_cross_entropy, _softmax_cross_entropy_cases,
             "L = mean over the N rows of −Σ ground_truth · log softmax(pred): "
             "∇pred L = grad_output · (softmax(pred) − ground_truth) / N.",
             answers.SoftmaxCrossEntropy_backward, differentiable=(True, False),
             hint=_softmax_cross_entropy_hint),
]}


def _exercise(name):
    try:
        return EXERCISES[name]
    except KeyError:
        raise ValueError(f"unknown exercise {name!r}; expected one of "
                         f"{', '.join(map(repr, EXERCISES))}") from None


def reference(name):
    """The reference answer of exercise ``name`` (a function with the handout's signature)."""
    return _exercise(name).reference


# --- grading --------------------------------------------------------------------------


def engine_gradients(exercise, case, grad_output=None):
    """The gradients the engine's reverse pass gives for ``case`` (None for labels)."""
    leaves = [Tensor(x.copy(), requires_grad=needs)
              for x, needs in zip(case.inputs, exercise.differentiable)]
    out = exercise.forward(*leaves)
    out.backward(case.grad_output if grad_output is None else grad_output)
    return [None if not needs else np.zeros_like(x) if leaf.grad is None else leaf.grad
            for x, leaf, needs in zip(case.inputs, leaves, exercise.differentiable)]


class _Stub(Exception):
    """The learner's function still raises NotImplementedError."""


def _shapes(exercise, case):
    named = [("grad_output", case.grad_output), *zip(exercise.input_names, case.inputs)]
    return ", ".join(f"{name} {np.shape(x)}" for name, x in named)


def _wanted(exercise):
    """What the function should return, as code: "(grad_a, grad_b)", "grad_a", "(grad_pred, None)"."""
    names = [f"grad_{n}" if needs else "None"
             for n, needs in zip(exercise.input_names, exercise.differentiable)]
    return names[0] if len(names) == 1 else "(" + ", ".join(names) + ")"


def _not_gradients(returned):
    """What ``returned`` is when it cannot be gradients at all (None, a generator, a dict, ...)."""
    if returned is None:
        return "None"
    if isinstance(returned, (tuple, list, np.ndarray, np.generic, int, float)):
        return None
    if isinstance(returned, dict):
        return "a dict"
    if inspect.isgenerator(returned) or isinstance(returned, Iterator):
        return "a generator" if inspect.isgenerator(returned) else f"an iterator ({type(returned).__name__})"
    try:
        np.asarray(returned, dtype=np.float64)
    except (TypeError, ValueError):
        return f"a {type(returned).__name__}"
    return None


def _as_gradients(exercise, function, returned, expected):
    """One returned gradient per input, or the text explaining why ``returned`` is not that."""
    names = exercise.input_names
    what = _not_gradients(returned)
    if what is not None:
        forgot = " (did you forget the return statement?)" if returned is None else ""
        return f"returned {what}{forgot}: return {_wanted(exercise)}"
    if len(names) == 1:
        if isinstance(returned, (tuple, list)):
            if len(returned) == 1:
                return list(returned)
            return (f"returned {len(returned)} values; {function} has one input ({names[0]}): "
                    f"return its gradient, one array.")
        return [returned]
    wanted = _wanted(exercise)
    if not isinstance(returned, (tuple, list)):
        text = (f"returned a single {type(returned).__name__} of shape {np.shape(returned)}; "
                f"{function} has {len(names)} inputs ({', '.join(names)}) and must return one "
                f"gradient per input: return {wanted}")
        matches = [n for n, e in zip(names, expected) if e is not None and _close(returned, e)]
        if matches:
            text += f" (what you returned is the gradient for {matches[0]})"
        return text + "."
    if len(returned) != len(names):
        count = f"{len(returned)} value" + ("" if len(returned) == 1 else "s")
        return (f"returned {count} for {len(names)} inputs "
                f"({', '.join(names)}): return {wanted}.")
    return list(returned)


def _broadcast_axes(small, big):
    """The axes of ``big`` along which an array of shape ``small`` was stretched."""
    extra = len(big) - len(small)
    return tuple(range(extra)) + tuple(extra + i for i, n in enumerate(small)
                                        if n == 1 and big[extra + i] != 1)


def _shape_hint(name, returned, expected, broadcast_shape):
    if returned.ndim == 2 and returned.shape == expected.shape[::-1] and _close(returned.T, expected):
        return (f"did you forget to transpose? Your answer transposed is right: the gradient "
                f"for {name} has {name}'s shape {expected.shape}.")
    if returned.shape == broadcast_shape != expected.shape:
        axes = _broadcast_axes(expected.shape, returned.shape)
        where = ("all axes" if not expected.shape else
                 f"axis {axes[0]}" if len(axes) == 1 else f"axes {axes}")
        keep = (", keepdims=True" if expected.ndim == returned.ndim and expected.ndim else "")
        summed = ("summing your answer over " + where + keep + " gives the right gradient."
                  if _close(unbroadcast(returned, expected.shape), expected)
                  else "sum over " + where + keep + ".")
        return (f"did you forget to sum over the broadcast axis? In the forward pass NumPy "
                f"stretched {name} from {expected.shape} to {returned.shape}, using each "
                f"element several times; by the \"+=\" rule its gradient adds up those uses: "
                f"{summed}")
    if returned.size == expected.size and _close(returned.reshape(expected.shape), expected):
        return (f"right values, wrong shape: reshape to {expected.shape} "
                f"(or sum with keepdims=True).")
    return f"the gradient for an input always has that input's shape: {expected.shape} here."


def _value_hint(exercise, case, i, returned, expected, with_unit_gradient, all_expected):
    name = exercise.input_names[i]
    if not np.all(np.isfinite(returned)):
        specific = exercise.hint(case, i, returned, expected)
        return specific or "your answer contains nan or inf where the right one is finite."
    if _close(-returned, expected):
        return "wrong sign: your answer is the negative of the right one."
    if not np.all(case.grad_output == 1) and _close(returned, with_unit_gradient[i]):
        return ("did you forget to multiply by grad_output? The chain rule scales the local "
                "derivative by the gradient arriving at the output.")
    for j, other in enumerate(all_expected):
        if j != i and other is not None and _close(returned, other):
            return (f"that is the gradient for {exercise.input_names[j]}: did you swap the "
                    f"gradients of {name} and {exercise.input_names[j]}?")
    specific = exercise.hint(case, i, returned, expected)
    if specific:
        return specific
    if returned.ndim == 2 and _close(returned.T, expected):
        return "did you forget to transpose? Your answer transposed is right."
    scale = np.sum(returned * expected) / max(np.sum(expected * expected), 1e-300)
    if not np.isclose(scale, 1.0) and _close(returned, scale * expected):
        return f"off by a constant factor: your answer is {scale:.4g} times the right one."
    return "recall: " + exercise.formula


def _worst_element(returned, expected):
    gap = np.where(np.isfinite(returned), np.abs(returned - expected), np.inf)
    index = np.unravel_index(np.argmax(gap), gap.shape) if gap.ndim else ()
    where = f"largest difference at index {tuple(int(k) for k in index)}: " if index else ""
    return f"{where}expected {expected[index]:.6g}, got {returned[index]:.6g}"


def _compare(exercise, function, case, returned):
    """The lines describing what is wrong with ``returned`` on ``case``; empty when right."""
    expected = engine_gradients(exercise, case)
    gradients = _as_gradients(exercise, function, returned, expected)
    if isinstance(gradients, str):
        return [f"  {gradients}"]
    unit = (engine_gradients(exercise, case, np.ones_like(case.grad_output))
            if not np.all(case.grad_output == 1) else expected)
    lines, right = [], []
    for i, (name, gradient, wanted) in enumerate(zip(exercise.input_names, gradients, expected)):
        if wanted is None:
            continue
        if gradient is None:
            lines += [f"  gradient for {name}: got None",
                      f"  hint: {name} needs a gradient; return an array of shape {wanted.shape}."]
            continue
        try:
            gradient = np.asarray(gradient, dtype=np.float64)
        except (TypeError, ValueError):
            lines.append(f"  gradient for {name}: got a {type(gradient).__name__}, "
                         f"expected an array of shape {wanted.shape}")
            continue
        if gradient.shape != wanted.shape:
            lines += [f"  gradient for {name}: expected shape {wanted.shape} (the shape of "
                      f"{name}), got {gradient.shape}",
                      f"  hint: {_shape_hint(name, gradient, wanted, case.grad_output.shape)}"]
        elif not _close(gradient, wanted):
            lines += [f"  gradient for {name}: {_worst_element(gradient, wanted)}",
                      f"  hint: {_value_hint(exercise, case, i, gradient, wanted, unit, expected)}"]
        else:
            right.append(name)
    if lines and right:
        lines.append(f"  (the gradient for {' and '.join(right)} is right)")
    return lines


class _TimeUp(BaseException):
    """The learner's function ran past the time limit (a BaseException: no ``except Exception``
    in the learner's code can swallow it)."""


def _call_with_time_limit(fn, args, seconds):
    """``fn(*args)``, stopped after ``seconds`` (raises _TimeUp).

    In the main thread of a POSIX process (a notebook kernel runs cells there) a timer
    signal interrupts the call, even a ``while True: pass``. Elsewhere the call runs in a
    daemon thread that is abandoned when the time is up: the verdict still comes, though
    the loop keeps a core busy until the kernel restarts.
    """
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        def time_up(signum, frame):
            raise _TimeUp
        previous = signal.signal(signal.SIGALRM, time_up)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            return fn(*args)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    outcome = {}

    def call():
        try:
            outcome["value"] = fn(*args)
        except BaseException as error:   # handed to the caller's thread below
            outcome["error"] = error
    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise _TimeUp
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _where(error, fn):
    """ "at line N: <code>" for the deepest line of the learner's own code in ``error``'s
    traceback (the file ``fn`` was defined in: a notebook cell or a module), else ""."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return ""
    mine = [frame for frame in traceback.extract_tb(error.__traceback__)
            if frame.filename == code.co_filename]
    if not mine:
        return ""
    frame = mine[-1]
    text = (frame.line or linecache.getline(frame.filename, frame.lineno)).strip()
    return f"at line {frame.lineno} of {frame.name}" + (f": {text}" if text else "")


def _error_hint(exercise, error):
    if isinstance(error, NameError):
        return ("check the name's spelling: your function can use its arguments "
                f"({', '.join(('grad_output',) + exercise.input_names)}), np and names "
                f"defined in cells that have run.")
    if isinstance(error, (ValueError, IndexError)):
        return exercise.error_hint or "each input's gradient has that input's shape."
    return None


def _grade(exercise, fn, label, time_limit):
    """(ok, message) for ``fn`` on every case; raises _Stub for a NotImplementedError."""
    cases = exercise.cases()
    deadline = time.monotonic() + time_limit
    for number, case in enumerate(cases, 1):
        args = (case.grad_output.copy(), *(x.copy() for x in case.inputs))
        try:
            with np.errstate(all="ignore"):    # overflow shows up as nan, which is diagnosed
                returned = _call_with_time_limit(fn, args, max(deadline - time.monotonic(), 0.01))
        except NotImplementedError:
            raise _Stub from None
        except _TimeUp:
            problem = [f"  {label} did not finish within {time_limit:g} s (the time limit for "
                       f"all {len(cases)} cases): is there a loop that never ends?",
                       f"  hint: a backward function needs no loop; write it with NumPy "
                       f"operations on whole arrays."]
        except Exception as error:   # the learner's code: report anything it raises
            where, hint = _where(error, fn), _error_hint(exercise, error)
            problem = [f"  {label} raised {type(error).__name__}: {error}",
                       *([f"  {where}"] if where else []), *([f"  hint: {hint}"] if hint else [])]
        else:
            problem = _compare(exercise, label, case, returned)
        if problem:
            header = (f"✗ {label} is wrong on case {number} of {len(cases)}, {case.label}: "
                      f"{_shapes(exercise, case)}")
            return False, "\n".join([header, *problem])
    labels = "; ".join(case.label for case in cases)
    return True, (f"✓ {label} is right: it matches the engine's gradients on all {len(cases)} "
                  f"cases ({labels}).")


def _wrap(message):
    """Wrap each line at words, continuing under its text (after "hint: " for hints)."""
    wrapped = []
    for line in message.split("\n"):
        text = line.lstrip(" ")
        indent = len(line) - len(text)
        hanging = indent + (len("hint: ") if text.startswith("hint: ") else 2)
        wrapped.append(textwrap.fill(line, WIDTH, subsequent_indent=" " * hanging,
                                     break_long_words=False, break_on_hyphens=False))
    return "\n".join(wrapped)


def check(name, fn, *, show_answers=False, raise_on_wrong=False, time_limit=None):
    """Grade the learner's backward function ``fn`` for exercise ``name``; print the verdict.

    ``name`` is one of ``EXERCISES`` ("mul", "div", "tanh", "matmul",
    "softmax_cross_entropy"); ``fn`` has the handout's signature, e.g.
    ``mul_backward(grad_output, a, b)`` returning ``(grad_a, grad_b)``.
    Returns True when every gradient matches the engine's, else False (or
    raises ``ExerciseError`` with the same message when ``raise_on_wrong``).
    A ``fn`` that raises ``NotImplementedError`` is a stub not written yet:
    with ``show_answers=True`` the reference answer is graded in its place,
    and the verdict says so. ``time_limit`` (seconds for all cases, default
    ``TIME_LIMIT``) turns a function that never returns into a verdict.
    """
    exercise = _exercise(name)
    time_limit = TIME_LIMIT if time_limit is None else float(time_limit)
    label = getattr(fn, "__name__", exercise.function)
    try:
        ok, message = _grade(exercise, fn, label, time_limit)
    except _Stub:
        if show_answers:
            note = (f"{label} still raises NotImplementedError (the stub), so the reference "
                    f"answer is checked in its place (show_answers=True):\n")
            ok, message = _grade(exercise, exercise.reference, f"the reference {exercise.function}",
                                 time_limit)
            message = note + message
        else:
            ok, message = False, (f"… {label} is not written yet: it still raises "
                                  f"NotImplementedError. Replace that line with your answer "
                                  f"and run the cell again.")
    message = _wrap(message)
    print(message)
    if not ok and raise_on_wrong:
        raise ExerciseError(message)
    return ok
