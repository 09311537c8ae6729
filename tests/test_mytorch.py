"""autodiff_nb.mytorch: the course-handout API, checked against PyTorch and finite differences."""
from __future__ import annotations

import numpy as np
import pytest

from autodiff_nb import Tensor
from autodiff_nb.core.errors import GraphError, ShapeError
from autodiff_nb.mytorch import Autograd, GradientBuffer, MemoryBuffer, Operation
from autodiff_nb.mytorch import functional as F
from autodiff_nb.mytorch import nn
from autodiff_nb.mytorch.utils import NotInBufferError
from autodiff_nb.core.tape import Record, Step

TOL = dict(rtol=1e-10, atol=1e-10)


def torch_linear(torch, layer, x):
    """PyTorch leaves holding the layer's parameters, and x @ W.T + b.T on them."""
    W = torch.tensor(layer.W, requires_grad=True)
    b = torch.tensor(layer.b, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    return xt, W, b, xt @ W.T + b.T


def assert_matches_torch(engine, layer, x, xt, W, b):
    np.testing.assert_allclose(layer.dW, W.grad.numpy(), **TOL)
    np.testing.assert_allclose(layer.db, b.grad.numpy(), **TOL)
    np.testing.assert_allclose(engine.gradient_buffer.get_param(x), xt.grad.numpy(), **TOL)


# --- layers against PyTorch (float64, 1e-10) ----------------------------------

@pytest.mark.parametrize("batch", [1, 7])
def test_linear_matches_torch(batch):
    torch = pytest.importorskip("torch")
    engine = Autograd()
    layer = nn.Linear(5, 5, engine)
    x = np.random.default_rng(batch).standard_normal((batch, 5))
    y = layer(x)
    engine.backward(1)

    xt, W, b, yt = torch_linear(torch, layer, x)
    yt.sum().backward()
    assert y.shape == (batch, 5)
    np.testing.assert_allclose(y, yt.detach().numpy(), **TOL)
    assert_matches_torch(engine, layer, x, xt, W, b)


ACTIVATIONS = {
    "Identity": lambda torch, z: z,
    "Sigmoid": lambda torch, z: torch.sigmoid(z),
    "Tanh": lambda torch, z: torch.tanh(z),
    "ReLU": lambda torch, z: torch.relu(z),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("batch", [1, 6])
def test_activation_after_linear_matches_torch(name, batch):
    torch = pytest.importorskip("torch")
    engine = Autograd()
    layer = nn.Linear(5, 5, engine, seed=batch)
    activation = getattr(nn, name)(engine)
    x = np.random.default_rng(10 + batch).standard_normal((batch, 5))
    y = activation(layer(x))
    divergence = np.random.default_rng(20 + batch).standard_normal(y.shape)
    engine.backward(divergence)

    xt, W, b, zt = torch_linear(torch, layer, x)
    yt = ACTIVATIONS[name](torch, zt)
    yt.backward(torch.tensor(divergence))
    np.testing.assert_allclose(y, yt.detach().numpy(), **TOL)
    assert_matches_torch(engine, layer, x, xt, W, b)


def test_sigmoid_is_recorded_as_negate_exp_add_divide():
    engine = Autograd()
    nn.Sigmoid(engine)(np.ones((2, 3)))
    assert [r.primitive.name for r in engine.records()] == ["mul", "exp", "add", "div"]
    assert [t.name for t in engine.records()[0].inputs] == ["-1", "x"]


def one_hot(rng, batch, classes):
    return np.eye(classes)[rng.integers(0, classes, batch)]


@pytest.mark.parametrize("loss_name", ["MSELoss", "SoftmaxCrossEntropy"])
@pytest.mark.parametrize("batch", [1, 8])
def test_loss_matches_torch(loss_name, batch):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(batch)
    engine = Autograd()
    layer = nn.Linear(5, 4, engine, seed=3)
    criterion = getattr(nn, loss_name)(engine)
    x = rng.standard_normal((batch, 5))
    if loss_name == "SoftmaxCrossEntropy":
        y = one_hot(rng, batch, 4)
    else:
        y = rng.standard_normal((batch, 4))
    loss = criterion(y, nn.Tanh(engine)(layer(x)))
    criterion.backward()

    xt, W, b, zt = torch_linear(torch, layer, x)
    reference = {"MSELoss": torch.nn.MSELoss(), "SoftmaxCrossEntropy": torch.nn.CrossEntropyLoss()}
    losst = reference[loss_name](torch.tanh(zt), torch.tensor(y))
    losst.backward()
    assert loss.shape == (1,) and criterion.loss_val is loss
    np.testing.assert_allclose(loss, [losst.item()], **TOL)
    assert_matches_torch(engine, layer, x, xt, W, b)
    # The labels take part in the recording but never get a gradient from cross-entropy.
    if loss_name == "SoftmaxCrossEntropy":
        assert not engine.gradient_buffer.get_param(y).any()


def test_skip_connection_fans_out_with_accumulation():
    torch = pytest.importorskip("torch")
    engine = Autograd()
    layer = nn.Linear(5, 5, engine, seed=1)
    x = np.random.default_rng(2).standard_normal((3, 5))
    target = np.random.default_rng(3).standard_normal((3, 5))
    h = layer(x)
    skip = h + x
    engine.add_operation([h, x], skip, [None, None], F.add_backward)
    criterion = nn.MSELoss(engine)
    criterion(target, nn.ReLU(engine)(skip))
    steps = list(engine.backward_steps(1))

    xt, W, b, ht = torch_linear(torch, layer, x)
    torch.nn.MSELoss()(torch.relu(ht + xt), torch.tensor(target)).backward()
    assert_matches_torch(engine, layer, x, xt, W, b)
    modes = [u.mode for s in steps for u in s.updates if u.tensor.name == "x"]
    assert modes == ["=", "+="]


# --- functional: every backward against central differences -------------------

def numerical_gradients(forward, inputs, grad_output, eps=1e-6):
    """d/d input of sum(grad_output * forward(*inputs)), by central differences."""
    grads = []
    for i, a in enumerate(inputs):
        grad = np.zeros_like(a)
        for index in np.ndindex(a.shape):
            shifted = []
            for step in (eps, -eps):
                moved = [x.copy() for x in inputs]
                moved[i][index] += step
                shifted.append(np.sum(grad_output * forward(*moved)))
            grad[index] = (shifted[0] - shifted[1]) / (2 * eps)
        grads.append(grad)
    return grads


BROADCAST_PAIRS = [((3, 4), (3, 4)), ((3, 4), (1, 4)), ((3, 4), (4,)), ((3, 1), (1, 4)),
                   ((), (3, 4)), ((2, 1, 4), (3, 1))]
CASES = (
    [(F.add_backward, np.add, shapes) for shapes in BROADCAST_PAIRS]
    + [(F.sub_backward, np.subtract, shapes) for shapes in BROADCAST_PAIRS]
    + [(F.mul_backward, np.multiply, shapes) for shapes in BROADCAST_PAIRS]
    + [(F.div_backward, np.divide, shapes) for shapes in BROADCAST_PAIRS]
    + [(F.matmul_backward, np.matmul, shapes) for shapes in
       [((3, 4), (4, 2)), ((1, 5), (5, 5)), ((4,), (4, 2)), ((3, 4), (4,)), ((4,), (4,)),
        ((2, 3, 4), (4, 5)), ((3, 4), (2, 4, 5))]]
    + [(F.outer_backward, np.outer, ((3,), (4,))), (F.outer_backward, np.outer, ((2, 2), (3,)))]
    + [(F.identity_backward, lambda a: a.copy(), ((3, 4),)),
       (F.log_backward, np.log, ((3, 4),)),
       (F.exp_backward, np.exp, ((3, 4),)),
       (F.tanh_backward, np.tanh, ((3, 4),)),
       (F.max_backward, lambda a: np.maximum(a, 0), ((3, 4),)),
       (F.sum_backward, np.sum, ((3, 4),)),
       (F.sum_backward, lambda a: np.sum(a).reshape(1), ((3, 4),))]
)


def case_id(case):
    function, _, shapes = case
    return f"{function.__name__}-{'-'.join(map(str, shapes))}".replace(" ", "")


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_functional_backward_matches_finite_differences(case):
    function, forward, shapes = case
    rng = np.random.default_rng(0)
    # Positive and away from 0, so log, divide and max(a, 0) are smooth around every input.
    inputs = [np.asarray(rng.uniform(0.5, 2.0, shape) * rng.choice([-1, 1], shape))
              for shape in shapes]
    if function is F.log_backward:
        inputs = [np.abs(a) for a in inputs]
    grad_output = rng.standard_normal(np.shape(forward(*inputs)))
    analytic = function(grad_output, *inputs)
    analytic = analytic if isinstance(analytic, tuple) else (analytic,)
    expected_all = numerical_gradients(forward, inputs, grad_output)
    for got, expected, a in zip(analytic, expected_all, inputs):
        assert np.shape(got) == a.shape
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)


def test_relu_gradient_at_zero_is_zero_as_in_pytorch():
    a = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(F.max_backward(np.ones(3), a), [0.0, 0.0, 1.0])


def test_softmax_cross_entropy_backward_matches_finite_differences():
    rng = np.random.default_rng(4)
    pred = rng.standard_normal((5, 3)) * 3
    labels = one_hot(rng, 5, 3)

    def loss(p):
        return np.array([-np.sum(labels * F.log_softmax(p)) / len(p)])

    grad_output = np.array([1.7])
    got, label_grad = F.SoftmaxCrossEntropy_backward(grad_output, pred, labels)
    (expected,) = numerical_gradients(loss, [pred], grad_output)
    assert label_grad is None
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)


# --- the engine's buffer semantics ---------------------------------------------

def test_a_view_has_its_own_spot():
    """x and x.T share a data address, which the handout's buffer would merge."""
    engine = Autograd()
    x = np.random.default_rng(5).standard_normal((3, 3))
    xT = x.T
    y = x * xT
    engine.add_operation([x, xT], y, [None, None], F.mul_backward)
    g = np.random.default_rng(6).standard_normal((3, 3))
    engine.backward(g)
    assert len(engine.gradient_buffer.memory) == 2
    np.testing.assert_allclose(engine.gradient_buffer.get_param(x), g * xT)
    np.testing.assert_allclose(engine.gradient_buffer.get_param(xT), g * x)
    # Together they make d(sum(g * x * x.T))/dx.
    total = engine.gradient_buffer.get_param(x) + engine.gradient_buffer.get_param(xT).T
    (expected,) = numerical_gradients(lambda a: a * a.T, [x], g)
    np.testing.assert_allclose(total, expected, rtol=1e-6, atol=1e-8)


def test_buffer_keeps_arrays_alive_and_keys_by_object():
    buffer = GradientBuffer()
    buffer.add_spot(np.ones(3))        # the only reference to this array is the buffer's
    for _ in range(100):
        fresh = np.ones(3)             # would reuse a freed array's address
        assert not buffer.is_in_memory(fresh)
    a = np.arange(4.0)
    buffer.add_spot(a)
    buffer.update_param(a, np.ones(4))
    buffer.add_spot(a)                 # a second add_spot keeps the spot
    buffer.update_param(a, None)       # None is a no-op
    np.testing.assert_array_equal(buffer.get_param(a), np.ones(4))
    buffer.set_param(a, np.full(4, 2.0))
    np.testing.assert_array_equal(buffer.get_param(a), np.full(4, 2.0))
    buffer.clear()
    assert not buffer.is_in_memory(a) and buffer.memory == {}
    assert MemoryBuffer is GradientBuffer


def test_external_gradients_accumulate_in_place_and_none_is_skipped():
    engine = Autograd()
    w = np.array([[1.0, 2.0]])
    dw = np.zeros((2, 1))
    x = np.array([[3.0], [4.0]])
    y = w @ x
    engine.add_operation([w, x], y, [dw.T, None], F.matmul_backward)
    engine.backward(1)
    engine.backward(1)   # without zero_grad, gradients add up, as in PyTorch
    np.testing.assert_array_equal(dw, 2 * x)
    np.testing.assert_array_equal(engine.gradient_buffer.get_param(x), 2 * w.T)
    assert not engine.gradient_buffer.is_in_memory(w)


def test_an_operation_that_never_reached_the_loss_contributes_nothing():
    engine = Autograd()
    x = np.array([1.0, 2.0])
    unused = np.exp(x)
    engine.add_operation([x], unused, [None], F.exp_backward)
    y = np.tanh(x)
    engine.add_operation([x], y, [None], F.tanh_backward)
    steps = list(engine.backward_steps(1))
    assert [s.record.primitive.name for s in steps] == ["tanh"]
    np.testing.assert_allclose(engine.gradient_buffer.get_param(x), 1 - np.tanh(x) ** 2)


def test_a_second_engine_can_be_created_and_zero_grad_forgets():
    first, second = Autograd(), Autograd()
    x = np.ones(2)
    for engine in (first, second):
        y = np.exp(x)
        engine.add_operation([x], y, [None], F.exp_backward)
    assert len(first.operation_list) == len(second.operation_list) == 1
    first.backward(1)
    assert not second.gradient_buffer.get_param(x).any()
    first.zero_grad()
    assert first.operation_list == [] and first.gradient_buffer.memory == {}
    assert first.records() == [] and first.gradients() == {}
    assert first.memory_buffer is first.gradient_buffer


def test_linear_initialisation():
    np.random.seed(0)
    engine = Autograd()
    layer = nn.Linear(16, 3, engine)
    assert layer.W.shape == (3, 16) and layer.b.shape == (3, 1)
    assert np.all(np.abs(layer.W) <= 0.25) and np.all(np.abs(layer.b) <= 0.25)
    for grad in (layer.dW, layer.momentum_W):
        assert grad.shape == (3, 16) and not grad.any()
    for grad in (layer.db, layer.momentum_b):
        assert grad.shape == (3, 1) and not grad.any()
    np.random.seed(0)
    np.testing.assert_array_equal(nn.Linear(16, 3, engine).W, layer.W)  # the global RNG
    np.testing.assert_array_equal(nn.Linear(16, 3, engine, seed=1).W,
                                  nn.Linear(16, 3, engine, seed=1).W)


# --- clear errors ----------------------------------------------------------------

def test_add_operation_refuses_mismatched_lengths():
    engine = Autograd()
    a, b = np.ones((2, 3)), np.ones((3,))
    with pytest.raises(ShapeError, match=r"add_operation\(add_backward\): 2 inputs "
                                         r"\(shapes \(2, 3\), \(3,\)\) but 1 entries"):
        engine.add_operation([a, b], a + b, [None], F.add_backward)


def test_add_operation_refuses_an_output_that_is_an_input_and_non_arrays():
    engine = Autograd()
    a = np.ones(3)
    b = a * 2.0
    engine.add_operation([a], b, [None], F.identity_backward)
    b += a      # in place: b is already on the tape, as the output of the operation above
    with pytest.raises(GraphError, match="same array as input 0"):
        engine.add_operation([b, a], b, [None, None], F.add_backward)
    with pytest.raises(TypeError, match="input 1 is a float"):
        engine.add_operation([a, 2.0], a * 2.0, [None, None], F.mul_backward)
    with pytest.raises(ShapeError, match=r"gradients_to_update\[1\] has shape \(3, 2\)"):
        engine.add_operation([np.ones((2, 3)), np.ones((2, 3))], np.ones((2, 3)),
                             [None, np.zeros((3, 2))], F.add_backward)


def test_backward_names_a_function_returning_the_wrong_number_of_gradients():
    def half_mul_backward(grad_output, a, b):
        return grad_output * b

    engine = Autograd()
    a, b = np.ones((2, 3)), np.ones((2, 3))
    engine.add_operation([a, b], a * b, [None, None], half_mul_backward)
    with pytest.raises(GraphError, match=r"half_mul_backward returned 1 gradient\(s\) for 2 input"):
        engine.backward(1)


def test_backward_names_a_gradient_of_the_wrong_shape():
    def careless_add_backward(grad_output, a, b):
        return grad_output, grad_output   # forgot to sum b's gradient over the batch

    engine = Autograd()
    a, b = np.ones((4, 3)), np.ones((1, 3))
    engine.add_operation([a, b], a + b, [None, None], careless_add_backward)
    with pytest.raises(ShapeError, match=r"careless_add_backward returned a gradient of shape "
                                         r"\(4, 3\) for input 1 of shape \(1, 3\)"):
        engine.backward(1)


def test_get_and_set_param_of_an_unknown_array_say_which_shape():
    engine = Autograd()
    x = np.ones((2, 5))
    engine.add_operation([x], np.exp(x), [None], F.exp_backward)
    for method in (engine.gradient_buffer.get_param,
                   lambda a: engine.gradient_buffer.set_param(a, np.zeros(a.shape))):
        with pytest.raises(NotInBufferError, match=r"array of shape \(5, 2\) has no spot"):
            method(x.T)


def test_loss_backward_refuses_when_the_loss_is_not_the_last_operation():
    engine = Autograd()
    criterion = nn.MSELoss(engine)
    loss = criterion(np.zeros((1, 2)), np.ones((1, 2)))
    engine.add_operation([loss], np.exp(loss), [None], F.exp_backward)
    with pytest.raises(GraphError, match="last recorded operation is not this loss"):
        criterion.backward()


# --- the graph-source protocol: records(), gradients(), backward_steps() -----------

def small_network():
    engine = Autograd()
    x = np.random.default_rng(7).standard_normal((2, 3))
    layer = nn.Linear(3, 2, engine, seed=8)
    h = layer(x)
    skip = h + h                      # fan-out of an intermediate
    engine.add_operation([h, h], skip, [None, None], F.add_backward)
    criterion = nn.SoftmaxCrossEntropy(engine)
    criterion(np.eye(2), nn.Sigmoid(engine)(skip))
    return engine, layer, x, criterion


def test_records_wrap_the_engine_arrays_in_stable_named_tensors():
    engine, layer, x, _ = small_network()
    records = engine.records()
    assert len(records) == len(engine.operation_list)
    assert all(isinstance(r, Record) for r in records)
    for rec, operation in zip(records, engine.operation_list):
        assert all(isinstance(t, Tensor) for t in rec.inputs)
        assert all(t._data is a for t, a in zip(rec.inputs, operation.inputs))
        assert rec.output()._data is operation.output
        assert rec.params == {}
    assert engine.records() == records                        # the very same records again
    assert [r.primitive.name for r in records] == [
        "matmul", "add", "add", "mul", "exp", "add", "div", "softmax_cross_entropy"]
    assert [r.primitive.symbol for r in records[:2]] == ["matmul", "+"]
    assert records[0].primitive.rules == ("{g} @ {1}ᵀ", "{0}ᵀ @ {g}")
    assert [t.name for t in records[0].inputs] == ["x", "Linear0.Wᵀ"]
    assert [t.name for t in records[1].inputs] == [None, "Linear0.bᵀ"]
    assert records[2].inputs[0] is records[2].inputs[1] is records[1].output()
    assert records[-1].inputs[1].name == "y"
    assert records[0].scope == ("Linear0",) and records[2].scope == ()
    assert records[3].scope == ("Sigmoid0",)


def test_an_unknown_backward_function_is_named_after_itself():
    def square_backward(grad_output, a):
        return 2 * a * grad_output

    engine = Autograd()
    x = np.array([1.0, -2.0])
    engine.add_operation([x], x * x, [None], square_backward)
    (rec,) = engine.records()
    assert rec.primitive.name == "square"
    np.testing.assert_array_equal(rec.primitive.vjp(np.ones(2), None, x)[0], [2.0, -4.0])
    engine.backward(1)
    np.testing.assert_array_equal(engine.gradient_buffer.get_param(x), [2.0, -4.0])


def test_backward_steps_agree_with_backward():
    engine, layer, x, _ = small_network()
    steps = list(engine.backward_steps(1))
    stepped = {"buffer": engine.gradient_buffer.get_param(x).copy(), "dW": layer.dW.copy()}

    twin, twin_layer, twin_x, twin_loss = small_network()
    twin_loss.backward()
    np.testing.assert_array_equal(stepped["buffer"], twin.gradient_buffer.get_param(twin_x))
    np.testing.assert_array_equal(stepped["dW"], twin_layer.dW)

    assert all(isinstance(s, Step) for s in steps)
    assert [s.record for s in steps] == engine.records()[::-1]
    np.testing.assert_array_equal(steps[0].grad_output, [1.0])
    # Each tensor's last update leaves the value in its buffer spot (or dW.T / db.T).
    gradients = engine.gradients()
    final = {}
    for step in steps:
        for update in step.updates:
            final[update.tensor._id] = update
    arrays = {t._id: (t, a, target) for rec, op in zip(engine.records(), engine.operation_list)
              for t, a, target in zip(rec.inputs, op.inputs, op.gradients_to_update)}
    for key, update in final.items():
        tensor, array, target = arrays[key]
        stored = engine.gradient_buffer.get_param(array) if target is None else target
        np.testing.assert_allclose(update.after, stored, **TOL)
        np.testing.assert_allclose(gradients[key], stored, **TOL)
    # The fan-out h + h: "=" then "+=", with this pass's sums before and after.
    (fan_out,) = [s for s in steps if len(s.record.inputs) == 2
                  and s.record.inputs[0] is s.record.inputs[1]]
    first, second = fan_out.updates
    assert (first.mode, first.before) == ("=", None)
    assert second.mode == "+="
    np.testing.assert_array_equal(second.before, first.after)
    np.testing.assert_array_equal(second.after, first.sent + second.sent)
    # The seed of the last operation is the loss's gradient.
    np.testing.assert_array_equal(gradients[engine.records()[-1].output()._id], [1.0])


def test_operation_repr_names_shapes_and_backward_function():
    operation = Operation([np.ones((1, 5)), np.ones((5, 5))], np.ones((1, 5)), [None, None],
                          F.matmul_backward)
    assert repr(operation) == ("Operation(inputs of shape (1, 5), (5, 5) -> output of shape "
                               "(1, 5), backward: matmul_backward)")


def test_constants_and_targets_are_drawn_as_constants_but_an_autoencoder_keeps_x():
    engine = Autograd()
    x = np.random.default_rng(9).standard_normal((2, 3))
    criterion = nn.MSELoss(engine)
    criterion(x, nn.Sigmoid(engine)(x))       # reconstruct the input: the target is x itself
    names = {t.name: t.requires_grad for r in engine.records() for t in r.inputs if t.name}
    assert names == {"x": True, "-1": False, "1": False, "6": False}


def test_draw_and_step_through_accept_the_engine():
    draw = pytest.importorskip("autodiff_nb.draw").draw
    from autodiff_nb import step_through

    engine, layer, x, _ = small_network()
    source = draw(engine).source
    assert "Linear0.Wᵀ" in source and source == draw(engine).source
    stepper = step_through(engine, 1)          # runs the engine's own backward
    assert len(stepper) == len(engine.records()) + 1
    twin, twin_layer, _, twin_loss = small_network()
    twin_loss.backward()
    np.testing.assert_array_equal(layer.dW, twin_layer.dW)


# --- what the course's own code does (handout-api-hw2-hw3.md) ---------------------------

def _hw3_tanh_backward(grad, a, state=None):
    """HW3's tanh_backward: with the state, the pair (gradient, None)."""
    return grad * (1 - state ** 2), None


def test_an_output_recorded_as_its_own_input_when_new_to_the_engine():
    # HW3's given Tanh: inputs=[x, self.state], output=self.state.
    engine = Autograd()
    x = np.array([0.3, -1.2, 2.0])
    state = np.tanh(x)
    engine.add_operation([x, state], state, [None, None], _hw3_tanh_backward)
    total = np.sum(state)
    engine.add_operation([state], total, [None], F.sum_backward)
    engine.backward(1)
    np.testing.assert_allclose(engine.gradient_buffer.get_param(x), 1 - np.tanh(x) ** 2)
    assert engine.operation_list[0].inputs[1] is not state        # recorded through a copy
    np.testing.assert_array_equal(engine.operation_list[0].inputs[1], state)


def test_extra_trailing_nones_from_a_backward_function_are_ignored():
    # HW2's handout documents downsampling*_backward (two inputs) as returning three values.
    def downsample_backward(grad, a, factor):
        full = np.zeros_like(a)
        full[..., ::int(factor[0])] = grad
        return full, None, None

    engine = Autograd()
    a = np.arange(6.0)
    factor = np.array([2])
    out = a[::2].copy()
    engine.add_operation([a, factor], out, [None, None], downsample_backward)
    engine.backward(np.ones(3))
    np.testing.assert_array_equal(engine.gradient_buffer.get_param(a), [1, 0, 1, 0, 1, 0])
    with pytest.raises(GraphError, match="returned 3 gradient"):
        engine2 = Autograd()
        engine2.add_operation([a, factor], out.copy(), [None, None],
                              lambda grad, a, factor: (np.zeros_like(a), None, np.ones(1)))
        engine2.backward(np.ones(3))


def test_autograd_takes_hw3s_debug_argument(capsys):
    engine = Autograd(debug=True)
    a = np.ones(2)
    engine.add_operation([a], a * 2.0, [None], F.identity_backward)
    assert "identity_backward" in capsys.readouterr().out
    assert Autograd(debug=False).debug is False
