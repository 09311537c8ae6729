"""gradcheck must pass right gradients and catch wrong ones; jacobian has the lecture's shapes."""
from __future__ import annotations

import re

import numpy as np
import pytest

import autodiff_nb as ad
from autodiff_nb import PRIMITIVES, GradcheckError, Tensor
from autodiff_nb.core.primitives import defprimitive
from autodiff_nb.core.tensor import apply


def registered(name, forward, vjp):
    """Register a throw-away primitive for one test and remove it afterwards."""
    prim = defprimitive(name, forward, vjp, rules=("?",) * 2)
    try:
        yield lambda *args: apply(prim, *args)
    finally:
        del PRIMITIVES[name]
    assert name not in PRIMITIVES


@pytest.fixture
def wrong_square():
    """x² whose VJP is off by 0.5·g at element 1 only (and right everywhere else)."""
    def vjp(g, out, a):
        grad = 2 * g * a
        grad[..., 1] += 0.5 * g[..., 1]
        return (grad,)
    yield from registered("test_wrong_square", lambda a: a * a, vjp)


@pytest.fixture
def wrong_mul():
    """a·b whose VJP sends g·b to both inputs: right for a, wrong for b."""
    yield from registered("test_wrong_mul", np.multiply, lambda g, out, a, b: (g * b, g * b))


@pytest.fixture
def forgetful_mul():
    """a·b whose VJP forgets b's gradient entirely."""
    yield from registered("test_forgetful_mul", np.multiply, lambda g, out, a, b: (g * b, None))


def reported_values(message):
    found = re.search(r"backward gives (\S+), finite differences give (\S+)$", message)
    assert found, message
    return float(found.group(1)), float(found.group(2))


# --- gradcheck ------------------------------------------------------------------------


@pytest.mark.parametrize("f, inputs", [
    (lambda x: ad.tanh(x) * x, [np.array([0.3, -1.2, 2.0])]),
    (lambda W, x, b: ad.sigmoid(W @ x + b), [np.ones((2, 3)) * 0.3, np.arange(3.0), np.ones(2)]),
    (lambda a: ad.log_softmax(a, axis=1), [np.arange(6.0).reshape(2, 3)]),
    (lambda a: (a * a).sum(), [np.float32([1.5, 2.5])]),
])
def test_gradcheck_passes_right_gradients(f, inputs):
    assert ad.gradcheck(f, *inputs) is True


def test_gradcheck_accepts_tensors_and_leaves_them_alone():
    x = Tensor([0.5, 1.5], requires_grad=True, name="x")
    before = x.data.copy()
    assert ad.gradcheck(lambda t: ad.exp(t).sum(), x)
    np.testing.assert_array_equal(x.data, before)
    assert x.grad is None


def test_gradcheck_names_the_input_and_the_worst_element(wrong_square):
    x = Tensor([0.5, -1.0, 2.0], name="x")
    with pytest.raises(GradcheckError) as info:
        ad.gradcheck(wrong_square, x, seed=3)
    message = str(info.value)
    assert "input 0 ('x')" in message and "(3,)" in message and "element (1,)" in message
    v = np.random.default_rng(3).standard_normal(3)
    backward, numerical = reported_values(message)
    np.testing.assert_allclose(numerical, 2 * -1.0 * v[1], rtol=1e-6)
    # Both values are printed to 8 significant digits.
    np.testing.assert_allclose(backward, 2 * -1.0 * v[1] + 0.5 * v[1], rtol=1e-7)


def test_gradcheck_error_is_an_assertion_error(wrong_square):
    with pytest.raises(AssertionError):
        ad.gradcheck(wrong_square, np.array([[1.0, 2.0], [3.0, 4.0]]))


def test_gradcheck_finds_the_wrong_input_among_several(wrong_mul):
    a, b = np.array([1.0, 2.0, 3.0]), np.array([-0.5, 0.25, 4.0])
    with pytest.raises(GradcheckError) as info:
        ad.gradcheck(wrong_mul, a, b)
    message = str(info.value)
    assert "input 1 " in message and "input 0" not in message
    v = np.random.default_rng(0).standard_normal(3)
    error = np.abs(v * b - v * a) - 1e-4 * np.abs(v * a)
    worst = int(np.argmax(error))
    assert f"element ({worst},)" in message
    backward, numerical = reported_values(message)
    np.testing.assert_allclose(backward, v[worst] * b[worst], rtol=1e-7)
    np.testing.assert_allclose(numerical, v[worst] * a[worst], rtol=1e-6)


def test_gradcheck_catches_a_missing_gradient(forgetful_mul):
    with pytest.raises(GradcheckError) as info:
        ad.gradcheck(forgetful_mul, np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    assert "input 1 " in str(info.value)


def test_gradcheck_can_return_false_instead(wrong_square, wrong_mul):
    assert ad.gradcheck(wrong_square, np.array([1.0, 2.0]), raise_exception=False) is False
    assert ad.gradcheck(wrong_mul, np.ones(2), np.ones(2) * 3.0, raise_exception=False) is False
    assert ad.gradcheck(lambda x: x * x, np.array([1.0, 2.0]), raise_exception=False) is True


def test_throw_away_primitives_are_gone():
    assert not [name for name in PRIMITIVES if name.startswith("test_")]


# --- jacobian ---------------------------------------------------------------------------


def test_jacobian_shapes():
    x = np.array([0.1, 0.2, 0.3, 0.4])
    assert ad.jacobian(lambda t: (t * t).sum(), x).shape == (1, 4)          # scalar → 1×D
    assert ad.jacobian(lambda t: t[:2] * 3.0, x).shape == (2, 4)            # K-vector → K×D
    assert ad.jacobian(lambda t: t * 1.0, np.ones((2, 3))).shape == (6, 6)  # flattened
    assert ad.jacobian(lambda t: t * 2.0, np.array(1.5)).shape == (1, 1)


def test_jacobian_values():
    x = np.array([0.1, -0.7, 1.3])
    np.testing.assert_allclose(ad.jacobian(ad.tanh, x), np.diag(1 - np.tanh(x) ** 2),
                               rtol=1e-14)
    W = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(ad.jacobian(lambda t: Tensor(W) @ t, x), W)
    np.testing.assert_array_equal(ad.jacobian(lambda t: t[np.array([2, 2])], x),
                                  [[0, 0, 1], [0, 0, 1]])
    # An output that does not depend on x has a zero Jacobian.
    np.testing.assert_array_equal(ad.jacobian(lambda t: Tensor(np.ones(2)) * 1.0, x),
                                  np.zeros((2, 3)))
