"""The exercise checker must pass every reference answer and catch typical slips with the right hint.

Expected gradients come from the engine; here they are compared with central
differences of plain NumPy forwards, so a wrong engine VJP or a wrong case
set-up would fail these tests rather than hide behind the checker.
"""
from __future__ import annotations

import numpy as np
import pytest

from autodiff_nb import exercises
from autodiff_nb.exercises import EXERCISES, ExerciseError, check, engine_gradients, reference


def softmax(pred):
    e = np.exp(pred - pred.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


NUMPY_FORWARD = {
    "mul": np.multiply,
    "div": np.divide,
    "tanh": np.tanh,
    "matmul": np.matmul,
    "softmax_cross_entropy": lambda pred, truth: np.array(
        [-(np.log(softmax(pred)) * truth).sum(axis=1).mean()]),
}


def finite_differences(forward, inputs, grad_output, which, eps=1e-6):
    """∂/∂inputs[which] of sum(forward(*inputs) · grad_output), by central differences."""
    grad = np.zeros_like(inputs[which])
    for index in np.ndindex(grad.shape):
        values = [x.copy() for x in inputs]
        values[which][index] += eps
        up = np.sum(forward(*values) * grad_output)
        values[which][index] -= 2 * eps
        grad[index] = (up - np.sum(forward(*values) * grad_output)) / (2 * eps)
    return grad


def verdict(capsys, name, fn, **options):
    """check's result and its printed verdict, with line wrapping undone."""
    ok = check(name, fn, **options)
    return ok, " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize("name", list(EXERCISES))
def test_expected_gradients_match_finite_differences(name):
    exercise = EXERCISES[name]
    for case in exercise.cases():
        expected = engine_gradients(exercise, case)
        for i, wanted in enumerate(expected):
            if wanted is None:
                continue
            numerical = finite_differences(NUMPY_FORWARD[name], list(case.inputs),
                                           case.grad_output, i)
            assert wanted.shape == case.inputs[i].shape
            np.testing.assert_allclose(wanted, numerical, rtol=1e-5, atol=1e-7,
                                       err_msg=f"{name}, {case.label}, input {i}")


@pytest.mark.parametrize("name", list(EXERCISES))
def test_every_reference_answer_passes(capsys, name):
    ok, out = verdict(capsys, name, reference(name))
    assert ok is True
    assert out.startswith(f"✓ {EXERCISES[name].function} is right")


def test_cases_cover_scalars_vectors_matrices_and_broadcasting():
    shapes = {tuple(np.shape(x) for x in case.inputs) for case in EXERCISES["mul"].cases()}
    assert ((), ()) in shapes and ((5,), (5,)) in shapes and ((3, 4), (3, 4)) in shapes
    assert ((3, 4), (4,)) in shapes and ((3, 1), (1, 4)) in shapes


def test_verdict_lines_are_wrapped_to_fit_a_notebook(capsys):
    check("mul", lambda g, a, b: (g * b, g * a))
    lines = capsys.readouterr().out.splitlines()
    assert max(map(len, lines)) <= exercises.WIDTH
    assert any(line.startswith("        ") for line in lines)     # a hint continues under its text


def test_output_is_deterministic(capsys):
    wrong = lambda g, a, b: (g * b, g * a)
    assert verdict(capsys, "mul", wrong) == verdict(capsys, "mul", wrong)


def sce_without_mean(g, pred, truth):
    return g * (softmax(pred) - truth), None


def sce_overflowing(g, pred, truth):
    e = np.exp(pred)
    return g * (e / e.sum(axis=1, keepdims=True) - truth) / len(pred), None


def sum_leading_axes(grad, shape):
    """A half-done unbroadcast: handles (4,) against (3, 4) but not (1, 4)."""
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    return grad


def raises_shape_error(g, a, b):
    return g @ b, a.T @ g


WRONG_ANSWERS = [
    # (exercise, wrong answer, text the verdict must contain)
    ("matmul", lambda g, a, b: (g @ b.T, g.T @ a),
     ["gradient for b: expected shape (4, 2) (the shape of b), got (2, 4)",
      "did you forget to transpose? Your answer transposed is right", "gradient for a is right"]),
    ("matmul", lambda g, a, b: (g @ b.T, a @ g) if a.shape[0] == a.shape[1] else
     (g @ b.T, a.T @ g), ["case 4 of 4", "∇b L = aᵀ @ grad_output (you used a, not aᵀ)"]),
    ("matmul", raises_shape_error, ["raised ValueError", "missing or misplaced transpose"]),
    ("mul", lambda g, a, b: (g * b, g * a),
     ["case 4 of 6, broadcast row", "expected shape (4,) (the shape of b), got (3, 4)",
      "did you forget to sum over the broadcast axis?",
      "summing your answer over axis 0 gives the right gradient"]),
    ("div", lambda g, a, b: (exercises.unbroadcast(g / b, a.shape), -g * a / b**2),
     ["case 4 of 6", "did you forget to sum over the broadcast axis?"]),
    ("mul", lambda g, a, b: (sum_leading_axes(g * b, a.shape), sum_leading_axes(g * a, b.shape)),
     ["case 5 of 6, column × row", "stretched a from (3, 1) to (3, 4)", "axis 1, keepdims=True",
      "stretched b from (1, 4) to (3, 4)", "axis 0, keepdims=True"]),
    ("div", lambda g, a, b: (exercises.unbroadcast(g / b, a.shape),
                             exercises.unbroadcast(g * a / b**2, b.shape)),
     ["gradient for b", "wrong sign", "gradient for a is right"]),
    ("tanh", lambda g, a: -g * (1 - np.tanh(a) ** 2), ["wrong sign"]),
    ("mul", lambda g, a, b: (np.ones((2, 2)), np.ones((2, 2))),
     ["expected shape () (the shape of a), got (2, 2)", "always has that input's shape"]),
    ("mul", lambda g, a, b: g * b,
     ["must return one gradient per input: return (grad_a, grad_b)",
      "what you returned is the gradient for a"]),
    ("mul", lambda g, a, b: (g * b,), ["returned 1 value for 2 inputs (a, b)"]),
    ("mul", lambda g, a, b: (b, a), ["did you forget to multiply by grad_output?"]),
    ("mul", lambda g, a, b: (g * a, g * b), ["did you swap the gradients of a and b?"]),
    ("div", lambda g, a, b: (g / b, -g * a / b), ["did you forget to square b?"]),
    ("tanh", lambda g, a: g * (1 - a**2), ["not 1 − a²"]),
    ("tanh", lambda g, a: (g, g), ["has one input (a)"]),
    ("softmax_cross_entropy", sce_without_mean, ["divide by N"]),
    ("softmax_cross_entropy", sce_overflowing,
     ["case 3 of 4, large logits near 1000", "got nan", "did exp overflow?"]),
    ("softmax_cross_entropy", lambda g, p, t: (g * softmax(p) / len(p), None),
     ["subtract the one-hot labels"]),
    ("softmax_cross_entropy", lambda g, p, t: g * (softmax(p) - t) / len(p),
     ["return (grad_pred, None)"]),
]


@pytest.mark.parametrize("name, wrong, hints", WRONG_ANSWERS)
def test_typical_wrong_answers_fail_with_the_right_hint(capsys, name, wrong, hints):
    ok, out = verdict(capsys, name, wrong)
    assert ok is False
    assert out.startswith("✗ ")
    for hint in hints:
        assert hint in out, out


def test_raise_on_wrong_raises_with_the_verdict(capsys):
    with pytest.raises(ExerciseError, match="did you swap"):
        check("mul", lambda g, a, b: (g * a, g * b), raise_on_wrong=True)
    assert "did you swap" in capsys.readouterr().out


def test_a_right_answer_does_not_raise(capsys):
    assert check("tanh", lambda g, a: g * (1 - np.tanh(a) ** 2), raise_on_wrong=True) is True


def stub(grad_output, a, b):
    raise NotImplementedError("mul_backward: write your answer here")


def test_a_stub_is_not_written_yet_unless_answers_are_shown(capsys):
    ok, out = verdict(capsys, "mul", stub)
    assert ok is False and "stub is not written yet" in out
    ok, out = verdict(capsys, "mul", stub, show_answers=True)
    assert ok is True
    assert "reference answer is checked in its place" in out
    assert "✓ the reference mul_backward is right" in out
    with pytest.raises(ExerciseError):
        check("mul", stub, raise_on_wrong=True)


def test_show_answers_never_replaces_a_written_answer(capsys):
    ok, out = verdict(capsys, "mul", lambda g, a, b: (g * a, g * b), show_answers=True)
    assert ok is False and "reference" not in out


def test_unknown_exercise_names_the_known_ones():
    with pytest.raises(ValueError, match="'mul', 'div', 'tanh', 'matmul'"):
        check("relu", lambda g, a: g)
    with pytest.raises(ValueError, match="unknown exercise"):
        reference("add")


WANTED = {"mul": "(grad_a, grad_b)", "div": "(grad_a, grad_b)", "tanh": "grad_a",
          "matmul": "(grad_a, grad_b)", "softmax_cross_entropy": "(grad_pred, None)"}


def forgets_return(g, *inputs):
    grads = tuple(g.copy() for _ in inputs)  # noqa: F841 (computed, never returned)


def yields(g, *inputs):
    for x in inputs:
        yield g * x


@pytest.mark.parametrize("name", list(EXERCISES))
@pytest.mark.parametrize("fn, what", [
    (forgets_return, "None (did you forget the return statement?)"),
    (lambda g, *inputs: None, "None (did you forget the return statement?)"),
    (yields, "a generator"),
    (lambda g, *inputs: {"a": g, "b": g}, "a dict"),
], ids=["no return", "None", "generator", "dict"])
def test_what_is_not_gradients_gets_a_verdict_for_every_exercise(capsys, name, fn, what):
    ok, text = verdict(capsys, name, fn)
    assert ok is False
    assert text.startswith("✗ ")
    assert f"returned {what}: return {WANTED[name]}" in text


def test_an_endless_loop_is_stopped_by_the_time_limit(capsys):
    def mul_backward(grad_output, a, b):
        while True:
            pass

    ok, text = verdict(capsys, "mul", mul_backward, time_limit=0.5)
    assert ok is False
    assert "mul_backward did not finish within 0.5 s" in text
    assert check("mul", reference("mul"), time_limit=0.5) is True   # the timer is gone again


def test_the_time_limit_also_holds_outside_the_main_thread(capsys):
    import threading

    results = []

    def mul_backward(grad_output, a, b):
        while True:
            pass

    worker = threading.Thread(target=lambda: results.append(check("mul", mul_backward, time_limit=0.3)))
    worker.start()
    worker.join(10)
    assert results == [False]
    assert "did not finish within 0.3 s" in capsys.readouterr().out


def test_the_default_time_limit_is_a_few_seconds():
    assert 1 <= exercises.TIME_LIMIT <= 10


def test_an_exception_names_its_line_in_the_learners_code(capsys):
    def mul_backward(grad_output, a, b):
        grad_a = grad_output * b
        grad_b = grad_ouptut * a  # noqa: F821 (the learner's typo)
        return grad_a, grad_b

    ok, text = verdict(capsys, "mul", mul_backward)
    line = mul_backward.__code__.co_firstlineno + 2
    assert ok is False
    assert "mul_backward raised NameError: name 'grad_ouptut' is not defined" in text
    assert f"at line {line} of mul_backward: grad_b = grad_ouptut * a" in text
    assert "check the name's spelling" in text
    assert "shape" not in text.split("hint:")[1]
