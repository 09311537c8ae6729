"""The Tensor front end: dtypes, data and grad, metadata, repr, operators with plain values."""
from __future__ import annotations

import re

import numpy as np
import pytest

import autodiff_nb as ad
from autodiff_nb import Tensor
from autodiff_nb.core.tape import backward_steps


def leaf(values, name=None, dtype=None):
    return Tensor(np.asarray(values, dtype=dtype or float), requires_grad=True, name=name)


# --- dtypes ----------------------------------------------------------------------


def test_python_data_becomes_float64_and_numpy_keeps_its_dtype():
    assert Tensor([1, 2, 3]).dtype == np.float64
    assert Tensor(2.5).dtype == np.float64
    assert Tensor(np.arange(3)).dtype.kind == "i"          # integer labels stay integers
    assert Tensor(np.array([True, False])).dtype == bool   # masks stay masks
    assert Tensor(np.ones(2, dtype=np.float32)).dtype == np.float32
    assert Tensor([1, 2], dtype=np.float32).dtype == np.float32


def test_float32_stays_float32_through_ops_and_gradients():
    rng = np.random.default_rng(0)
    x = leaf(rng.standard_normal((4, 3)), dtype=np.float32)
    W = leaf(rng.standard_normal((3, 2)), dtype=np.float32)
    b = leaf(rng.standard_normal(2), dtype=np.float32)
    h = ad.tanh(x @ W + b)
    pieces = [h * 2, 1 - h, h / 3.0, h ** 2, 2 ** h, ad.exp(h), ad.sigmoid(h), ad.relu(h),
              ad.log_softmax(h, axis=1), ad.logsumexp(h, axis=1, keepdims=True), h.max(axis=0),
              ad.sqrt(h * h + 1), ad.abs(h), h.clip(-0.5, 0.5), h[1:], h.T, h.reshape(-1),
              ad.maximum(h, 0.1), ad.where(h > 0, h, 0.0), ad.concatenate([h, h], axis=0),
              ad.stack([h, h]), ad.add(h, b, h)]
    for piece in pieces:
        assert piece.dtype == np.float32, piece._record.primitive.name
    loss = ad.add(*[p.mean() for p in pieces])
    assert loss.dtype == np.float32
    for step in backward_steps(loss):
        assert step.grad_output.dtype == np.float32, step.record.primitive.name
        for update in step.updates:
            assert update.sent.dtype == np.float32, step.record.primitive.name
    for t in (x, W, b):
        assert t.grad.dtype == np.float32


def test_float32_leaf_gradient_keeps_its_dtype_next_to_float64_constants():
    x = leaf([1.0, 2.0], dtype=np.float32)
    (x * np.array([1.0, 2.0])).sum().backward()   # NumPy promotes the product to float64
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, [1.0, 2.0])


def test_float64_is_the_default():
    x = leaf([1.0, 2.0])
    y = (x * 2).sum()
    y.backward()
    assert y.dtype == np.float64 and x.grad.dtype == np.float64


# --- data, grad and metadata -----------------------------------------------------------


def test_numpy_interop():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(np.asarray(x), [[1.0, 2.0], [3.0, 4.0]])
    assert np.asarray(x, dtype=np.float32).dtype == np.float32
    assert x.numpy() is x.data
    assert x.shape == (2, 2) and x.ndim == 2 and x.size == 4 and len(x) == 2
    assert x[1, 0].item() == 3.0 and isinstance(x[1, 0].item(), float)
    assert float(x.sum()) == 10.0


def test_data_is_readable_and_assignable_for_sgd():
    w = leaf([1.0, -2.0], "w")
    loss = (w * w).sum()
    loss.backward()
    np.testing.assert_array_equal(w.grad, [2.0, -4.0])
    w.data -= 0.25 * w.grad
    np.testing.assert_array_equal(w.data, [0.5, -1.0])
    w.data = [3.0, 4.0]
    assert isinstance(w.data, np.ndarray) and w.data.dtype == np.float64
    w.grad = None
    (w * w).sum().backward()  # a new graph, recorded after the change, is fine
    np.testing.assert_array_equal(w.grad, [6.0, 8.0])


def test_grad_is_none_before_backward_assignable_and_accumulates():
    x = leaf([1.0, 2.0])
    assert x.grad is None
    loss = (x * x).sum()
    loss.backward(retain_graph=True)
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])
    loss.backward(retain_graph=True)
    np.testing.assert_array_equal(x.grad, [4.0, 8.0])
    x.grad = None
    loss.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])
    x.grad = np.array([10.0, 10.0])
    ((x * 3.0).sum()).backward()
    np.testing.assert_array_equal(x.grad, [13.0, 13.0])


def test_intermediates_keep_grad_only_with_retain_grad():
    x = leaf([1.0, 2.0])
    hidden = x * 3.0
    kept = (x + 1.0).retain_grad()
    loss = (hidden * kept).sum()
    loss.backward()
    assert hidden.grad is None
    np.testing.assert_array_equal(kept.grad, hidden.data)
    np.testing.assert_array_equal(x.grad, 3.0 * kept.data + hidden.data)


def test_retained_root_gets_its_seed():
    x = leaf([1.0, 2.0])
    loss = (x * x).sum().retain_grad()
    loss.backward()
    assert loss.grad == 1.0


def test_detach_cuts_the_graph():
    x = leaf([1.0, 2.0])
    y = x * 2.0
    d = y.detach()
    assert d._record is None and not d.requires_grad
    np.testing.assert_array_equal(d.data, y.data)
    z = d * x
    z.sum().backward()
    np.testing.assert_array_equal(x.grad, y.data)  # d is a constant: no path back through y


def test_name_is_optional_and_assignable():
    x = leaf([1.0])
    assert x.name is None
    x.name = "i1"
    assert x.name == "i1"
    assert Tensor(1.0, name="b").name == "b"


def test_repr_shows_name_shape_and_gradient_status_but_no_address():
    x = leaf([[1.0, 2.0, 3.0]], "x1")
    text = repr(x)
    assert "x1" in text and "(1, 3)" in text and "grad=None" in text
    y = (x * 2.0).sum()
    y.backward()
    after = repr(x)
    assert "grad=None" not in after and "grad" in after
    for t in (x, y, Tensor([1, 2])):
        assert not re.search(r"0x[0-9a-f]{4,}", repr(t))
    # Deterministic: the same tensor made twice prints the same (no ids, no tape positions).
    assert repr(leaf([1.0, 2.0], "w") * 2.0) == repr(leaf([1.0, 2.0], "w") * 2.0)


def test_comparisons_give_masks():
    x = leaf([1.0, -1.0, 2.0])
    mask = x > 0
    assert mask.dtype == bool and not mask.requires_grad
    np.testing.assert_array_equal(mask.data, [True, False, True])
    np.testing.assert_array_equal((x <= 1.0).data, [True, True, False])


# --- operators with plain numbers and arrays on either side --------------------------

ARRAY = np.array([0.5, -2.0, 4.0])
MATRIX = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]])

OPERATOR_CASES = [
    ("2 * x", lambda x: 2 * x, lambda x: 2 * x, lambda x: 2 * np.ones(3)),
    ("x * 2", lambda x: x * 2, lambda x: 2 * x, lambda x: 2 * np.ones(3)),
    ("1 - x", lambda x: 1 - x, lambda x: 1 - x, lambda x: -np.ones(3)),
    ("x - 1", lambda x: x - 1, lambda x: x - 1, lambda x: np.ones(3)),
    ("x + arr", lambda x: x + ARRAY, lambda x: x + ARRAY, lambda x: np.ones(3)),
    ("arr + x", lambda x: ARRAY + x, lambda x: ARRAY + x, lambda x: np.ones(3)),
    ("arr - x", lambda x: ARRAY - x, lambda x: ARRAY - x, lambda x: -np.ones(3)),
    ("x / arr", lambda x: x / ARRAY, lambda x: x / ARRAY, lambda x: 1 / ARRAY),
    ("arr / x", lambda x: ARRAY / x, lambda x: ARRAY / x, lambda x: -ARRAY / x ** 2),
    ("3 / x", lambda x: 3 / x, lambda x: 3 / x, lambda x: -3 / x ** 2),
    ("arr * x", lambda x: ARRAY * x, lambda x: ARRAY * x, lambda x: ARRAY),
    ("-x", lambda x: -x, lambda x: -x, lambda x: -np.ones(3)),
    ("x ** 2", lambda x: x ** 2, lambda x: x ** 2, lambda x: 2 * x),
    ("2 ** x", lambda x: 2 ** x, lambda x: 2 ** x, lambda x: np.log(2) * 2 ** x),
    ("arr @ x", lambda x: MATRIX @ x, lambda x: MATRIX @ x, lambda x: MATRIX.sum(axis=0)),
    ("x @ arr", lambda x: x @ MATRIX.T, lambda x: x @ MATRIX.T, lambda x: MATRIX.sum(axis=0)),
]


@pytest.mark.parametrize("op, reference, gradient",
                         [pytest.param(*c[1:], id=c[0]) for c in OPERATOR_CASES])
def test_operators_with_plain_values(op, reference, gradient):
    values = np.array([1.5, -0.5, 2.0])
    x = leaf(values)
    out = op(x)
    assert isinstance(out, Tensor) and out.requires_grad
    np.testing.assert_allclose(out.data, reference(values), rtol=1e-15)
    out.sum().backward()
    np.testing.assert_allclose(x.grad, gradient(values), rtol=1e-15)


def test_array_matmul_weight_matrix():
    W = leaf([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    X = np.array([[1.0, 0.0, 2.0]])
    out = X @ W
    assert isinstance(out, Tensor)
    np.testing.assert_array_equal(out.data, X @ W.data)
    out.sum().backward()
    np.testing.assert_array_equal(W.grad, X.T @ np.ones((1, 2)))


def test_indexing_with_a_tensor_and_iterating():
    x = leaf([10.0, 20.0, 30.0])
    picked = x[Tensor(np.array([2, 0, 2]))]
    np.testing.assert_array_equal(picked.data, [30.0, 10.0, 30.0])
    picked.sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 0.0, 2.0])
    x.grad = None
    x[x > 15.0].sum().backward()  # a boolean Tensor mask
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 1.0])
    assert [t.item() for t in Tensor([1.0, 2.0])] == [1.0, 2.0]


def test_functions_accept_arrays_and_numbers():
    np.testing.assert_allclose(ad.tanh(np.array([0.0, 1.0])).data, np.tanh([0.0, 1.0]))
    assert ad.exp(0.0).item() == 1.0
    assert ad.sum([1.0, 2.0]).item() == 3.0
    x = leaf([1.0, 2.0])
    out = ad.add(1.0, x, np.array([1.0, 1.0]))
    out.sum().backward()
    np.testing.assert_array_equal(out.data, [3.0, 4.0])
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])


def test_a_tensor_subclass_operand_stays_on_the_graph():
    class Param(ad.Tensor):
        pass

    x = ad.Tensor([1.0, 2.0], requires_grad=True)
    w = Param([3.0, 4.0], requires_grad=True)
    (x * w + ad.maximum(x, w)).sum().backward()
    np.testing.assert_array_equal(w.grad, [1.0 + 1.0, 2.0 + 1.0])   # d/dw (x*w + max(x, w))
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


def test_every_field_is_set():
    """Tensor uses slots: each way of making one (constructor, unrecorded result, recorded
    result, a constant lifted from a number) must set every field, or reading it raises."""
    x = Tensor([1.0, 2.0], requires_grad=True, name="x")
    with ad.no_grad():
        unrecorded = x * 2.0
    made = {"constructor": x, "unrecorded": unrecorded, "recorded": x * x,
            "lifted constant": (3.0 - x)._record.inputs[0], "detached": x.detach()}
    fields = [f for f in Tensor.__slots__ if f != "__weakref__"]
    for how, tensor in made.items():
        missing = [f for f in fields if not hasattr(tensor, f)]
        assert not missing, f"{how}: fields never set: {missing}"
    assert made["recorded"].requires_grad and made["recorded"]._record is not None
    assert not made["unrecorded"].requires_grad and made["unrecorded"]._record is None


def test_copies_and_pickles_are_leaves_with_their_own_gradient():
    import copy
    import pickle

    w = Tensor([2.0, 3.0], requires_grad=True, name="w")
    w.grad = np.array([0.5, 0.5])
    deep, shallow = copy.deepcopy(w), copy.copy(w)
    pickled = pickle.loads(pickle.dumps(w))
    for twin in (deep, shallow, pickled):
        assert twin._id != w._id and twin.name == "w" and twin.requires_grad
        np.testing.assert_array_equal(twin.data, w.data)
        np.testing.assert_array_equal(twin.grad, w.grad)
    assert shallow.data is w.data and deep.data is not w.data
    deep.data = np.array([5.0, 7.0])
    w.grad = deep.grad = None
    (w * deep).sum().backward()
    np.testing.assert_array_equal(w.grad, [5.0, 7.0])
    np.testing.assert_array_equal(deep.grad, [2.0, 3.0])
    recorded = copy.deepcopy(w * 2.0)
    assert recorded.is_leaf and recorded.requires_grad
