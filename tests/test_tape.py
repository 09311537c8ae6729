"""The tape: immutable records, topological order, the reverse pass and its snapshots, memory."""
from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import autodiff_nb as ad
from autodiff_nb import Tensor
from autodiff_nb.core.tape import Record, backward, backward_steps, tape_of


def leaf(values, name=None):
    return Tensor(np.asarray(values, dtype=float), requires_grad=True, name=name)


def small_graph():
    """x used by three operations, w by one; returns (x, w, loss)."""
    x, w = leaf([1.0, -2.0, 0.5], "x"), leaf([0.3, 0.7, -1.1], "w")
    a = x * w
    b = ad.tanh(x + a)
    loss = (b * x).sum()
    return x, w, loss


def fan_out_graph():
    """u is used twice and receives the very array add hands to s: a test of out-of-place sums.

    u = 2x, v = 3x, s = u + v, t = s + u, L = Σt.
    """
    x = leaf([1.0, 2.0], "x")
    u = x * 2.0
    v = x * 3.0
    s = u + v
    t = s + u
    loss = t.sum()
    return x, u, v, s, t, loss


# --- records -------------------------------------------------------------------------


def test_records_are_immutable():
    x, w, loss = small_graph()
    record = loss._record
    assert isinstance(record, Record)
    for field in Record._fields:
        with pytest.raises(AttributeError):
            setattr(record, field, None)
    with pytest.raises(TypeError):
        record[0] = 1
    assert record.output() is loss


def test_record_fields_describe_the_operation():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    y = (x * w).sum(axis=0, keepdims=True)
    assert y._record.primitive.name == "sum"
    assert y._record.params == {"axis": 0, "keepdims": True}
    product = y._record.inputs[0]
    assert product._record.primitive.name == "mul"
    assert product._record.inputs[0] is x and product._record.inputs[1] is w
    assert x._record is None and x.is_leaf and not product.is_leaf


def test_recording_order_is_topological():
    x, w, loss = small_graph()
    records = tape_of(loss)
    assert [r.primitive.name for r in records] == ["mul", "add", "tanh", "mul", "sum"]
    indices = [r.index for r in records]
    assert indices == sorted(indices) and len(set(indices)) == len(indices)
    position = {r.output()._id: r.index for r in records}
    for record in records:
        for tensor in record.inputs:
            if tensor._record is not None:
                assert position[tensor._id] < record.index


def test_records_for_ignores_unrelated_and_later_operations():
    x, w, loss = small_graph()
    unrelated = leaf([1.0]) * 3.0  # noqa: F841 - recorded between, must not appear
    later = loss * 2.0
    records = tape_of(loss)
    assert len(records) == 5
    assert later._record not in records
    assert [r.output() for r in tape_of(later)][-1] is later


def test_reverse_pass_visits_records_newest_first():
    x, w, loss = small_graph()
    steps = list(backward_steps(loss))
    indices = [step.record.index for step in steps]
    assert indices == sorted(indices, reverse=True)
    assert [step.record for step in steps] == tape_of(loss)[::-1]


def test_scope_labels_records_and_nests():
    x = leaf([1.0, 2.0])
    with ad.scope("layer1"):
        a = x * 2.0
        with ad.scope("act"):
            b = ad.tanh(a)
    c = b.sum()
    assert a._record.scope == ("layer1",)
    assert b._record.scope == ("layer1", "act")
    assert c._record.scope == ()


def test_no_grad_records_nothing():
    x = leaf([1.0, 2.0])
    with ad.no_grad():
        y = ad.tanh(x * 3.0).sum()
        with ad.enable_grad():
            z = x * 2.0
    assert y._record is None and not y.requires_grad
    assert z._record is not None and z.requires_grad
    assert len(tape_of(z)) == 1

    @ad.no_grad()
    def evaluate(t):
        return (t * t).sum()

    assert evaluate(x)._record is None
    assert (x * x)._record is not None  # recording is back on after the block


def test_constants_alone_record_nothing():
    a, b = Tensor([1.0, 2.0]), Tensor([3.0, 4.0])
    c = a * b
    assert c._record is None and not c.requires_grad


# --- the reverse pass and its snapshots ------------------------------------------------


def test_backward_steps_snapshots_first_write_and_accumulation():
    """x feeds mul and add: '=' at the later use (visited first), '+=' at the earlier one."""
    x, w = leaf([1.0, -2.0], "x"), leaf([3.0, 0.5], "w")
    a = x * w
    b = x + a
    loss = b.sum()
    steps = list(backward_steps(loss))
    assert [s.record.primitive.name for s in steps] == ["sum", "add", "mul"]
    ones = np.ones(2)

    sum_step, add_step, mul_step = steps
    np.testing.assert_array_equal(sum_step.grad_output, 1.0)
    (to_b,) = sum_step.updates
    assert to_b.tensor is b and to_b.mode == "=" and to_b.before is None
    np.testing.assert_array_equal(to_b.after, ones)

    np.testing.assert_array_equal(add_step.grad_output, ones)
    to_x, to_a = add_step.updates
    assert (to_x.tensor, to_x.mode, to_x.before) == (x, "=", None)
    assert (to_a.tensor, to_a.mode, to_a.before) == (a, "=", None)
    np.testing.assert_array_equal(to_x.sent, ones)
    np.testing.assert_array_equal(to_x.after, ones)

    np.testing.assert_array_equal(mul_step.grad_output, ones)
    to_x2, to_w = mul_step.updates
    assert to_x2.tensor is x and to_x2.mode == "+="
    np.testing.assert_array_equal(to_x2.before, ones)
    np.testing.assert_array_equal(to_x2.sent, w.data)
    np.testing.assert_array_equal(to_x2.after, ones + w.data)
    assert to_w.tensor is w and to_w.mode == "="
    np.testing.assert_array_equal(to_w.after, x.data)

    np.testing.assert_array_equal(x.grad, 1.0 + w.data)
    np.testing.assert_array_equal(w.grad, x.data)


def test_inputs_without_gradient_get_no_update():
    x, c = leaf([1.0, 2.0]), Tensor([5.0, 6.0])
    loss = (x * c).sum()
    mul_step = list(backward_steps(loss))[-1]
    assert [u.tensor for u in mul_step.updates] == [x]
    assert c.grad is None


def test_leaf_gradients_are_set_only_when_the_walk_ends():
    x, w, loss = small_graph()
    steps = backward_steps(loss)
    next(steps)
    assert x.grad is None and w.grad is None
    for _ in steps:
        pass
    assert x.grad is not None and w.grad is not None


def test_gradients_are_summed_out_of_place():
    x, y = leaf([1.0, 2.0], "x"), leaf([3.0, 4.0], "y")
    (x + y).sum().backward()
    assert x.grad is not y.grad
    assert not np.shares_memory(x.grad, y.grad)
    x.grad[0] = 99.0
    np.testing.assert_array_equal(y.grad, [1.0, 1.0])


def test_every_leaf_gradient_is_a_writable_array_of_its_own():
    """Gradients that reach leaves as views (sum, reshape, transpose, stack) or as one
    array handed to several inputs (add_n, the seed) must still give independent .grad."""
    a, b, c = leaf([1.0, 2.0]), leaf([3.0, 4.0]), leaf([[5.0, 6.0]])
    seed = np.array([1.0, 1.0])
    ad.add(a, b, c.reshape(2)).backward(seed)
    d, e = leaf(np.ones((2, 3))), leaf(np.ones(3))
    (ad.stack([d.T.sum(axis=1), e]) * 1.0).sum().backward()
    grads = [t.grad for t in (a, b, c, d, e)]
    for i, grad in enumerate(grads):
        assert grad.flags.writeable
        assert not np.shares_memory(grad, seed)
        for other in grads[i + 1:]:
            assert not np.shares_memory(grad, other)
    a.grad[0] = 99.0
    np.testing.assert_array_equal(b.grad, [1.0, 1.0])
    np.testing.assert_array_equal(seed, [1.0, 1.0])


def test_constant_operands_of_selective_vjps_get_no_update():
    W, X = leaf(np.ones((3, 2))), Tensor(np.arange(6.0).reshape(2, 3))
    loss = (X @ W).sum()
    matmul_step = list(backward_steps(loss))[-1]
    assert [u.tensor for u in matmul_step.updates] == [W]
    np.testing.assert_array_equal(W.grad, X.data.T @ np.ones((2, 2)))
    assert X.grad is None


def test_snapshots_are_not_changed_by_later_accumulation():
    x, u, v, s, t, loss = fan_out_graph()
    steps = list(backward_steps(loss))
    frozen = [[(up.tensor, np.copy(up.sent), None if up.before is None else np.copy(up.before),
                np.copy(up.after)) for up in step.updates] for step in steps]
    for step, copies in zip(steps, frozen):
        for up, (tensor, sent, before, after) in zip(step.updates, copies):
            np.testing.assert_array_equal(up.sent, sent)
            np.testing.assert_array_equal(up.after, after)
            if before is not None:
                np.testing.assert_array_equal(up.before, before)
    # t = s + u hands u and s the same array; s = u + v then accumulates into u.
    add_t = steps[1]
    assert [up.tensor for up in add_t.updates] == [s, u]
    add_s = steps[2]
    assert [(up.tensor, up.mode) for up in add_s.updates] == [(u, "+="), (v, "=")]
    np.testing.assert_array_equal(add_s.updates[0].after, [2.0, 2.0])
    np.testing.assert_array_equal(add_t.updates[0].after, [1.0, 1.0])  # s: still 1, not 2
    np.testing.assert_array_equal(x.grad, [7.0, 7.0])  # d/dx (2x + 3x + 2x)


def test_backward_equals_the_final_state_of_backward_steps():
    data = {"x": [1.0, -2.0, 0.5], "w": [0.3, 0.7, -1.1]}

    def build():
        x, w = leaf(data["x"], "x"), leaf(data["w"], "w")
        return x, w, (ad.tanh(x * w + x) * x).sum()

    x1, w1, loss1 = build()
    loss1.backward()
    x2, w2, loss2 = build()
    last = {}
    for step in backward_steps(loss2):
        for update in step.updates:
            last[update.tensor._id] = update.after
    np.testing.assert_array_equal(x1.grad, x2.grad)
    np.testing.assert_array_equal(w1.grad, w2.grad)
    np.testing.assert_array_equal(x2.grad, last[x2._id])
    np.testing.assert_array_equal(w2.grad, last[w2._id])


def test_gradients_after_backward_give_every_intermediate():
    # The pass leaves its gradients on the root, for drawings: the very numbers it computed.
    x, u, v, s, t, loss = fan_out_graph()
    last = {loss._id: np.ones(())}
    steps = list(backward_steps(loss))
    for step in steps:
        for update in step.updates:
            last[update.tensor._id] = np.copy(update.after)
    found = loss._pass.grads
    assert set(found) == set(last) == {x._id, u._id, v._id, s._id, t._id, loss._id}
    for key, value in last.items():
        np.testing.assert_array_equal(found[key], value)
    np.testing.assert_array_equal(found[u._id], [2.0, 2.0])
    np.testing.assert_array_equal(found[x._id], [7.0, 7.0])
    assert not loss._pass.released


def test_no_pass_before_any_backward():
    x = leaf([1.0])
    assert (x * 2.0).sum()._pass is None


def test_backward_walks_past_interleaved_unrelated_graphs():
    x, y = leaf([1.0, 2.0], "x"), leaf([3.0, 4.0], "y")
    early = x * 2.0                      # recorded first
    others = [ad.tanh(y * k) for k in range(5)]  # another graph, recorded in between
    middle = early + 1.0
    more = [o.sum() for o in others]     # noqa: F841 - still alive, newer than middle
    loss = (middle * early).sum()
    loss.backward()
    # d/dx Σ (2x + 1)(2x) = 8x + 2
    np.testing.assert_array_equal(x.grad, 8.0 * x.data + 2.0)
    assert y.grad is None


def test_backward_with_explicit_gradient():
    x = leaf([1.0, 2.0, 3.0])
    y = x * x
    y.backward(np.array([1.0, 0.0, -1.0]))
    np.testing.assert_array_equal(x.grad, [2.0, 0.0, -6.0])
    z = leaf([1.0, 2.0])
    (z * 3.0).backward(2.0)  # a scalar gradient broadcasts to the output's shape
    np.testing.assert_array_equal(z.grad, [6.0, 6.0])


# --- memory -------------------------------------------------------------------------


def test_graph_is_freed_when_the_loss_is_dropped():
    x = leaf(np.ones(3))
    hidden = ad.tanh(x * 2.0)
    probe = weakref.ref(hidden)
    loss = hidden.sum()
    del hidden
    assert probe() is not None  # the loss's record keeps it alive
    loss.backward()
    assert probe() is not None
    del loss
    assert probe() is None


def test_graph_creates_no_reference_cycles():
    x = leaf(np.ones(3))
    W = leaf(np.ones((3, 3)))
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        gc.collect()
        with ad.scope("layer"):
            hidden = ad.tanh(W @ x)
        loss = (hidden * hidden).sum() + ad.logsumexp(hidden)
        steps = list(backward_steps(loss))
        assert loss._pass.grads
        probe = weakref.ref(hidden)
        del hidden, loss, steps
        assert probe() is None  # freed by reference counting alone
        assert gc.collect() == 0
    finally:
        if was_enabled:
            gc.enable()
    assert x.grad is not None and W.grad is not None
