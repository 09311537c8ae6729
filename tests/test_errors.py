"""Mistakes a learner makes, each reported with the operation, the shapes and the learner's line."""
from __future__ import annotations

import os
import re

import numpy as np
import pytest

import autodiff_nb as ad
from autodiff_nb import AnomalyError, DTypeError, GraphError, ReadOnlyError, ShapeError, Tensor
from autodiff_nb.core.tape import tape_of

HERE = os.path.basename(__file__)


def leaf(values, name=None):
    return Tensor(np.asarray(values, dtype=float), requires_grad=True, name=name)


def assert_points_here(message, *fragments):
    """The message names every fragment and this test file's line, with its code."""
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} missing from:\n{message}"
    assert HERE in message, f"the user's file is missing from:\n{message}"
    assert "autodiff_nb" + os.sep not in message  # the engine's own frames are not the "user"


# --- shapes -------------------------------------------------------------------------


def test_matmul_shape_mismatch():
    W, x = leaf(np.ones((2, 3))), leaf(np.ones(4))
    with pytest.raises(ShapeError) as info:
        W @ x  # the line the message must point at
    assert_points_here(str(info.value), "matmul", "(2, 3)", "(4,)", "W @ x")


def test_matmul_of_matrices_with_wrong_inner_dimensions():
    with pytest.raises(ShapeError) as info:
        ad.matmul(leaf(np.ones((2, 3))), np.ones((2, 3)))
    assert_points_here(str(info.value), "matmul", "(2, 3)", "3 != 2")


def test_linear_with_a_weight_that_does_not_fit():
    x, W = leaf(np.ones((5, 3))), leaf(np.ones((4, 2)))
    with pytest.raises(ShapeError) as info:
        ad.linear(x, W)  # the line the message must point at
    assert_points_here(str(info.value), "matmul_t", "(5, 3)", "(4, 2)", "ad.linear(x, W)")
    with pytest.raises(ShapeError) as info:
        ad.linear(x, leaf(np.ones(3)))
    assert_points_here(str(info.value), "matmul_t", "(out, in)", "(3,)")


def test_broadcasting_mismatch():
    a, b = leaf(np.ones((2, 3))), leaf(np.ones(4))
    with pytest.raises(ShapeError) as info:
        a + b
    assert_points_here(str(info.value), "add", "(2, 3)", "(4,)", "broadcast")
    with pytest.raises(ShapeError) as info:
        ad.maximum(a, np.ones((3, 2)))
    assert_points_here(str(info.value), "maximum", "(2, 3)", "(3, 2)")


def test_reshape_to_the_wrong_size():
    with pytest.raises(ShapeError) as info:
        leaf(np.ones(6)).reshape(4, 2)
    assert_points_here(str(info.value), "reshape", "(6,)", "(4, 2)")


def test_shape_error_is_also_a_value_error():
    with pytest.raises(ValueError):
        leaf(np.ones(2)) * leaf(np.ones(3))


# --- backward misuse -------------------------------------------------------------------


def test_backward_on_a_non_scalar_needs_a_gradient():
    y = leaf(np.ones((2, 3))) * 2.0
    with pytest.raises(GraphError) as info:
        y.backward()
    assert_points_here(str(info.value), "backward", "(2, 3)", "y.backward()")


def test_backward_gradient_of_the_wrong_shape():
    y = leaf(np.ones((2, 3))) * 2.0
    with pytest.raises(GraphError) as info:
        y.backward(np.ones(4))
    assert_points_here(str(info.value), "(4,)", "(2, 3)")


def test_second_backward_is_an_error_and_names_the_fix():
    x = leaf([1.0, 2.0])
    loss = (ad.tanh(x) * x).sum()
    loss.backward()
    first = x.grad.copy()
    with pytest.raises(GraphError) as info:
        loss.backward()
    assert_points_here(str(info.value), "retain_graph=True", "loss.backward()")
    np.testing.assert_array_equal(x.grad, first)  # the refused pass changed nothing


def test_retain_graph_lets_gradients_accumulate():
    x = leaf([1.0, 2.0])
    loss = (ad.tanh(x) * x).sum()
    loss.backward(retain_graph=True)
    first = x.grad.copy()
    loss.backward(retain_graph=True)
    np.testing.assert_allclose(x.grad, 2 * first, rtol=1e-15)
    loss.backward()  # a last pass without retain_graph is still allowed
    np.testing.assert_allclose(x.grad, 3 * first, rtol=1e-15)


def test_graph_stays_drawable_after_backward():
    x = leaf([1.0, 2.0], "x")
    hidden = ad.tanh(x * 3.0)
    loss = (hidden * hidden).sum()
    before = tape_of(loss)
    loss.backward()
    assert tape_of(loss) == before
    found = loss._pass.grads
    np.testing.assert_array_equal(found[x._id], x.grad)
    np.testing.assert_allclose(found[hidden._id], 2 * hidden.data, rtol=1e-15)


def test_a_used_branch_cannot_be_reused_by_another_loss():
    x = leaf([1.0, 2.0])
    shared = ad.exp(x)
    shared.sum().backward()
    with pytest.raises(GraphError) as info:
        (shared * 2.0).sum().backward()
    assert_points_here(str(info.value), "exp")


# --- dtypes ----------------------------------------------------------------------------


@pytest.mark.parametrize("data, dtype", [(np.array([1, 2]), "int64"),
                                         (np.array([True, False]), "bool"),
                                         (np.array([1, 2], dtype=np.int32), "int32")])
def test_requires_grad_needs_floating_point_data(data, dtype):
    with pytest.raises(DTypeError) as info:
        Tensor(data, requires_grad=True)
    assert_points_here(str(info.value), dtype, "requires_grad", "float")


def test_object_data_is_refused():
    with pytest.raises(DTypeError) as info:
        Tensor(np.array([1.0, "a"], dtype=object))
    assert_points_here(str(info.value), "object")
    with pytest.raises(DTypeError):
        Tensor(np.array([object()]), requires_grad=True)


def test_dtype_error_is_also_a_type_error():
    with pytest.raises(TypeError):
        Tensor(np.array([1, 2]), requires_grad=True)


# --- in-place changes ---------------------------------------------------------------------


def test_data_changed_after_recording_is_an_error_at_backward():
    w = leaf([1.0, 2.0], "w")
    loss = (w * w).sum()
    w.data = w.data * 0.5
    with pytest.raises(GraphError) as info:
        loss.backward()
    assert_points_here(str(info.value), "'w'", "mul", "new data", "loss.backward()")


def test_in_place_update_through_data_is_refused_at_the_write():
    w = leaf([1.0, 2.0])
    loss = ad.log(w).sum()             # log's VJP divides by w
    with pytest.raises(ReadOnlyError) as info:
        w.data -= 0.1
    assert_points_here(str(info.value), "log", "(2,)", "backward()")
    loss.backward()
    np.testing.assert_allclose(w.grad, [1.0, 0.5])


def test_change_after_backward_is_fine():
    w = leaf([1.0, 2.0])
    loss = (w * w).sum()
    loss.backward()
    w.data -= 0.1 * w.grad
    np.testing.assert_allclose(w.data, [0.8, 1.6])


# --- anomalies ------------------------------------------------------------------------------


def test_detect_anomaly_names_the_first_operation_with_nan_in_forward():
    x = leaf([1.0, -1.0])
    with ad.detect_anomaly(), np.errstate(invalid="ignore"):
        with pytest.raises(AnomalyError) as info:
            ad.exp(ad.log(x) * 2.0)
    assert_points_here(str(info.value), "'log'", "NaN or inf", "forward")


def test_detect_anomaly_names_the_operation_whose_gradient_is_inf():
    x = leaf([0.0, 4.0])
    with ad.detect_anomaly(), np.errstate(divide="ignore"):
        loss = (ad.sqrt(x) * 3.0).sum()
        with pytest.raises(AnomalyError) as info:
            loss.backward()
    assert_points_here(str(info.value), "'sqrt'", "gradient", "loss.backward()")


def test_without_detect_anomaly_nan_just_propagates():
    x = leaf([1.0, -1.0])
    with np.errstate(invalid="ignore"):
        y = ad.log(x).sum()
        y.backward()
    assert np.isnan(y.item())
    assert np.isfinite(x.grad).all()  # 1/x is finite even where log(x) is not


def test_detect_anomaly_is_switched_off_after_the_block():
    with ad.detect_anomaly():
        pass
    with np.errstate(divide="ignore"):
        assert np.isinf(ad.log(leaf([0.0])).item())


def test_messages_show_no_tape_positions():
    """Tape indices differ from one run of a notebook to the next: messages must not show them."""
    x = leaf([1.0, 2.0], "x")
    loss = (x * x).sum()
    loss.backward()
    messages = []
    with pytest.raises(GraphError) as info:
        loss.backward()
    messages.append(str(info.value))
    loss = (x * x).sum()
    x.data = x.data * 2.0
    with pytest.raises(GraphError) as info:
        loss.backward()
    messages.append(str(info.value))
    with ad.detect_anomaly(), np.errstate(divide="ignore"):
        with pytest.raises(AnomalyError) as info:
            ad.log(x * 0.0)
    messages.append(str(info.value))
    for message in messages:
        assert not re.search(r"#\d", message), message
