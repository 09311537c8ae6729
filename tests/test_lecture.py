"""The lecture's worked cases, each gradient checked against the lecture's formula written by hand.

Convention: the lecture writes gradients as rows (∇z L is 1×K) and ∇W L for
z = Wx as x·∇z L (D×K); the engine's ``W.grad`` has W's shape (K×D), so it is
compared with the transpose, ``outer(∇z L, x)``.
"""
from __future__ import annotations

import numpy as np
import pytest

import autodiff_nb as ad
from autodiff_nb import Tensor
from autodiff_nb.core.tape import backward_steps

RNG = np.random.default_rng(1234)


def leaf(values, name=None):
    return Tensor(np.asarray(values, dtype=float), requires_grad=True, name=name)


def close(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-14)


def d_tanh(v):
    return 1 - np.tanh(v) ** 2


# --- scalar rules ---------------------------------------------------------------------


def test_scalar_chain_rule():
    """L = f(z), z = g(x): dL/dx = dL/dz · g'(x), with f(z) = z² and g = tanh."""
    x = leaf(0.7, "x")
    z = ad.tanh(x).retain_grad()
    L = z * z
    L.backward()
    dL_dz = 2 * np.tanh(0.7)
    close(z.grad, dL_dz)
    close(x.grad, dL_dz * d_tanh(0.7))


def test_scalar_addition_rule():
    """z = x + y: dL/dx = dL/dz and dL/dy = dL/dz, with L = z³."""
    x, y = leaf(0.5, "x"), leaf(-1.25, "y")
    z = x + y
    (z ** 3).backward()
    dL_dz = 3 * (0.5 - 1.25) ** 2
    close(x.grad, dL_dz)
    close(y.grad, dL_dz)


def test_scalar_multiplication_rule():
    """z = W x: dL/dx = dL/dz · W and dL/dW = x · dL/dz, with L = exp(z)."""
    W, x = leaf(1.5, "W"), leaf(-0.4, "x")
    z = W * x
    ad.exp(z).backward()
    dL_dz = np.exp(1.5 * -0.4)
    close(x.grad, dL_dz * 1.5)
    close(W.grad, -0.4 * dL_dz)


def test_scalar_generalised_chain_rule_sums_over_paths():
    """z = g1(x) + g2(x) + g3(x): dL/dx = dL/dz (g1' + g2' + g3'), with L = z²."""
    x = leaf(0.3, "x")
    z = ad.add(x ** 2, ad.exp(x), ad.tanh(x))
    (z * z).backward()
    value = 0.3 ** 2 + np.exp(0.3) + np.tanh(0.3)
    close(x.grad, 2 * value * (2 * 0.3 + np.exp(0.3) + d_tanh(0.3)))


# --- multivariable rules -----------------------------------------------------------------


def test_jacobian_shapes_follow_the_lecture():
    """Scalar in/out: 1×1; D-vector in, scalar out: 1×D; D-vector in, K-vector out: K×D."""
    D, K = 4, 3
    W = RNG.standard_normal((K, D))
    x = RNG.standard_normal(D)
    assert ad.jacobian(lambda t: ad.tanh(t), np.array(0.5)).shape == (1, 1)
    row = ad.jacobian(lambda t: (t * t).sum(), x)
    assert row.shape == (1, D)
    close(row, 2 * x[np.newaxis, :])
    assert ad.jacobian(lambda t: ad.tanh(Tensor(W) @ t), x).shape == (K, D)


def test_jacobian_of_matmul_is_the_matrix():
    W = RNG.standard_normal((3, 5))
    close(ad.jacobian(lambda x: Tensor(W) @ x, RNG.standard_normal(5)), W)


def test_multivariable_chain_rule_is_a_product_of_jacobians():
    """∇x L = ∇z L · ∇x z (1×K times K×D)."""
    W = RNG.standard_normal((3, 4))
    x0 = RNG.standard_normal(4)

    def g(x):
        return ad.tanh(Tensor(W) @ x)

    def f(z):
        return (z * z * z).sum()

    x = leaf(x0)
    f(g(x)).backward()
    with ad.no_grad():
        z0 = g(Tensor(x0)).data
    close(x.grad, (ad.jacobian(f, z0) @ ad.jacobian(g, x0))[0])


def test_vector_addition_passes_the_gradient_to_both():
    x, y = leaf(RNG.standard_normal(3)), leaf(RNG.standard_normal(3))
    z = x + y
    grad_z = np.array([0.5, -1.0, 2.0])
    z.backward(grad_z)
    close(x.grad, grad_z)
    close(y.grad, grad_z)


def test_vector_addition_of_derivatives():
    """L = f1(z) + f2(y), z = g(x), y = h(x): ∇x L = ∇z L ∇x z + ∇y L ∇x y."""
    A, B = RNG.standard_normal((3, 4)), RNG.standard_normal((2, 4))
    x0 = RNG.standard_normal(4)

    def g(x):
        return ad.tanh(Tensor(A) @ x)

    def h(x):
        return ad.sigmoid(Tensor(B) @ x)

    x = leaf(x0)
    z, y = g(x).retain_grad(), h(x).retain_grad()
    L = (z * z).sum() + ad.exp(y).sum()
    L.backward()
    close(z.grad, 2 * z.data)
    close(y.grad, np.exp(y.data))
    close(x.grad, z.grad @ ad.jacobian(g, x0) + y.grad @ ad.jacobian(h, x0))


def test_matrix_multiplication_rule():
    """z = W x: ∇x L = (∇z L) W and ∇W L = x (∇z L) (D×K, W.grad is its transpose)."""
    W, x = leaf(RNG.standard_normal((3, 4)), "W"), leaf(RNG.standard_normal(4), "x")
    z = W @ x
    grad_z = np.array([1.0, -2.0, 0.5])
    z.backward(grad_z)
    close(x.grad, grad_z @ W.data)
    close(W.grad, (x.data[:, np.newaxis] @ grad_z[np.newaxis, :]).T)


def test_multivariable_generalised_chain_rule():
    """z = g1(x) + g2(x): ∇x L = ∇z L (∇x z1 + ∇x z2)."""
    A = RNG.standard_normal((3, 3))
    x0 = RNG.standard_normal(3)

    def g1(x):
        return Tensor(A) @ x

    def g2(x):
        return ad.tanh(x)

    x = leaf(x0)
    z = (g1(x) + g2(x)).retain_grad()
    ad.logsumexp(z).backward()
    close(x.grad, z.grad @ (ad.jacobian(g1, x0) + ad.jacobian(g2, x0)))


# --- the two-layer tanh example -------------------------------------------------------------

D1, D2, H1, H2, OUT = 3, 2, 4, 4, 2


def lecture_network(x1_feeds_y1=False):
    """y2 = tanh(Wx1 x1 + bx1 + Wx2 x2 + bx2), z1 = tanh(Wy1 y1 + by1 + Wy2 y2 + by2).

    In the left figure y1 is an input; with ``x1_feeds_y1`` (the right figure)
    y1 = tanh(Wx1y1 x1 + b) is computed from x1 too, so x1 is used twice.
    """
    rng = np.random.default_rng(99)
    p = {name: leaf(rng.standard_normal(shape) * 0.7, name) for name, shape in [
        ("x1", (D1,)), ("x2", (D2,)), ("Wx1", (H2, D1)), ("bx1", (H2,)), ("Wx2", (H2, D2)),
        ("bx2", (H2,)), ("Wy1", (OUT, H1)), ("by1", (OUT,)), ("Wy2", (OUT, H2)), ("by2", (OUT,)),
        ("Wx1y1", (H1, D1)), ("b", (H1,))]}
    t = dict(p)
    if x1_feeds_y1:
        t["y1"] = ad.tanh(p["Wx1y1"] @ p["x1"] + p["b"])
    else:
        t["y1"] = leaf(rng.standard_normal(H1), "y1")
    t["i1"] = p["Wx1"] @ p["x1"]
    t["i2"] = p["Wx2"] @ p["x2"]
    t["i3"] = ad.add(t["i1"], p["bx1"], t["i2"], p["bx2"])
    t["y2"] = ad.tanh(t["i3"])
    t["i4"] = p["Wy1"] @ t["y1"]
    t["i5"] = p["Wy2"] @ t["y2"]
    t["i6"] = ad.add(t["i4"], p["by1"], t["i5"], p["by2"])
    t["z1"] = ad.tanh(t["i6"])
    for name, tensor in t.items():
        tensor.name = name
        if tensor._record is not None:
            tensor.retain_grad()
    return t


GRAD_Z1 = np.array([0.8, -1.3])  # "Given ∇z1 L"


def hand_gradients(t):
    """The lecture's slides, line by line (row-vector gradients, W gradients transposed)."""
    v = {name: tensor.data for name, tensor in t.items()}
    g = {"z1": GRAD_Z1}
    g["i6"] = g["z1"] * (1 - np.tanh(v["i6"]) ** 2)
    g["i4"] = g["by1"] = g["i5"] = g["by2"] = g["i6"]
    g["Wy2"] = np.outer(v["y2"], g["i5"]).T        # ∇Wy2 L = y2 ∇i5 L
    g["y2"] = g["i5"] @ v["Wy2"]                    # ∇y2 L = ∇i5 L Wy2
    g["Wy1"] = np.outer(v["y1"], g["i4"]).T        # ∇Wy1 L = y1 ∇i4 L
    g["y1"] = g["i4"] @ v["Wy1"]                    # ∇y1 L = ∇i4 L Wy1
    g["i3"] = g["y2"] * (1 - np.tanh(v["i3"]) ** 2)
    g["i1"] = g["bx1"] = g["i2"] = g["bx2"] = g["i3"]
    g["Wx2"] = np.outer(v["x2"], g["i2"]).T        # ∇Wx2 L = x2 ∇i2 L
    g["x2"] = g["i2"] @ v["Wx2"]                    # ∇x2 L = ∇i2 L Wx2
    g["Wx1"] = np.outer(v["x1"], g["i1"]).T        # ∇Wx1 L = x1 ∇i1 L
    g["x1"] = g["i1"] @ v["Wx1"]                    # ∇x1 L = ∇i1 L Wx1
    return g


def test_two_layer_tanh_example_matches_the_lecture():
    t = lecture_network()
    np.testing.assert_allclose(
        t["y2"].data, np.tanh(t["Wx1"].data @ t["x1"].data + t["bx1"].data
                              + t["Wx2"].data @ t["x2"].data + t["bx2"].data), rtol=1e-14)
    t["z1"].backward(GRAD_Z1)
    expected = hand_gradients(t)
    for name, value in expected.items():
        assert t[name].grad is not None, name
        np.testing.assert_allclose(t[name].grad, value, rtol=1e-12, atol=1e-14, err_msg=name)


def test_i3_and_i6_are_one_n_ary_addition_each():
    t = lecture_network()
    for name, terms in [("i3", ["i1", "bx1", "i2", "bx2"]), ("i6", ["i4", "by1", "i5", "by2"])]:
        record = t[name]._record
        assert record.primitive.name == "add_n"
        assert [x.name for x in record.inputs] == terms


def test_reverse_steps_follow_the_lectures_order_and_use_only_first_writes():
    """Left figure: every variable is used once, so "=" is enough everywhere."""
    t = lecture_network()
    steps = list(backward_steps(t["z1"], GRAD_Z1))
    assert [s.record.output().name for s in steps] == ["z1", "i6", "i5", "i4", "y2", "i3",
                                                        "i2", "i1"]
    assert {u.mode for s in steps for u in s.updates} == {"="}
    i6_step = steps[1]
    assert [u.tensor.name for u in i6_step.updates] == ["i4", "by1", "i5", "by2"]
    expected = hand_gradients(t)
    for step in steps:
        close(step.grad_output, expected[step.record.output().name])


def test_right_figure_needs_accumulation_for_the_variable_used_twice():
    t = lecture_network(x1_feeds_y1=True)
    steps = list(backward_steps(t["z1"], GRAD_Z1))
    accumulated = [u.tensor.name for s in steps for u in s.updates if u.mode == "+="]
    assert accumulated == ["x1"]
    # x1's gradient is the sum over both paths: through y2 (lecture) and through y1.
    expected = hand_gradients(t)
    y1_pre = t["Wx1y1"].data @ t["x1"].data + t["b"].data
    through_y1 = (expected["y1"] * d_tanh(y1_pre)) @ t["Wx1y1"].data
    close(t["x1"].grad, expected["x1"] + through_y1)
    first, second = [u for s in steps for u in s.updates if u.tensor is t["x1"]]
    assert (first.mode, second.mode) == ("=", "+=")
    close(second.before, first.after)
    close(second.after, first.after + second.sent)


def test_cheap_trick_zeros_then_always_accumulate_gives_the_same_answer():
    t = lecture_network(x1_feeds_y1=True)
    totals = {}
    for step in backward_steps(t["z1"], GRAD_Z1):
        for update in step.updates:
            name = update.tensor.name
            totals[name] = totals.get(name, 0.0) + update.sent
    for name, tensor in t.items():
        if tensor.is_leaf:
            close(tensor.grad, totals[name])


# --- fan-out: tinygrad's regression test ------------------------------------------------------


@pytest.mark.parametrize("value", [3.0, [1.5, -2.0, 0.25]])
def test_x_plus_x_times_x(value):
    """(x + x) · x = 2x², so the gradient is 4x: x gets '=' once and '+=' twice."""
    x = leaf(value, "x")
    out = ((x + x) * x).sum()
    steps = list(backward_steps(out))
    modes = [u.mode for s in steps for u in s.updates if u.tensor is x]
    assert modes == ["=", "+=", "+="]
    close(x.grad, 4 * np.asarray(value))
