"""HW3 on the handout engine, course-style: each test runs as the course's autograder does
(a new engine, slices and sums recorded by the test, ``backward(1)``) and compares with
PyTorch in float64 to 1e-8, or with ``autodiff_nb.ctc_loss`` / brute force for CTC."""
from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np
import pytest

import autodiff_nb as ad
from autodiff_nb.mytorch import Autograd
from autodiff_nb.mytorch import functional as F
from autodiff_nb.mytorch.ctc import CTC, BeamSearchDecoder, CTCLoss, GreedySearchDecoder
from autodiff_nb.mytorch.gru_cell import GRUCell
from autodiff_nb.mytorch.models import CharacterPredictor, RNNPhonemeClassifier, inference
from autodiff_nb.mytorch.nn import SoftmaxCrossEntropy
from autodiff_nb.mytorch.rnn_cell import RNNCell, slice_backward, sum_backward

torch = pytest.importorskip("torch")
TOL = dict(rtol=1e-8, atol=1e-10)


def _close(ours, theirs):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    assert np.shape(ours) == theirs.shape
    np.testing.assert_allclose(ours, theirs, **TOL)


def _state(module):
    return {k: v.detach().numpy().copy() for k, v in module.state_dict().items()}


@pytest.mark.parametrize("i", [1, 3, 5])
def test_rnn_cell_backward_through_time_matches_torch(i):
    torch.manual_seed(i)
    reference = torch.nn.RNNCell(2 * i, 3 * i, dtype=torch.float64)
    s = _state(reference)
    engine = Autograd(debug=False)
    cell = RNNCell(2 * i, 3 * i, engine)
    cell.init_weights(s["weight_ih"], s["weight_hh"], s["bias_ih"], s["bias_hh"])
    steps = 2 * i
    inputs = torch.randn(steps, 2 * i, 2 * i, dtype=torch.float64, requires_grad=True)
    inputs_user = inputs.detach().numpy().copy()
    h_torch = [torch.randn(2 * i, 3 * i, dtype=torch.float64, requires_grad=True)]
    h_user = [h_torch[0].detach().numpy().copy()]
    for t in range(steps):
        h_torch.append(reference(inputs[t], h_torch[-1]))
        index = np.index_exp[t]
        x_t = inputs_user[index].copy()
        engine.add_operation([inputs_user, np.array(index, dtype=object)], x_t, [None, None],
                             slice_backward)
        h_user.append(cell(x_t, h_user[-1]))
        _close(h_user[-1], h_torch[-1])
    h_torch[-1].sum().backward()
    loss = np.sum(h_user[-1])
    engine.add_operation([h_user[-1]], loss, [None], sum_backward)
    engine.backward(1)
    _close(engine.gradient_buffer.get_param(inputs_user), inputs.grad)
    _close(engine.gradient_buffer.get_param(h_user[0]), h_torch[0].grad)
    _close(cell.ih.dW, reference.weight_ih.grad)
    _close(cell.hh.dW, reference.weight_hh.grad)
    _close(cell.ih.db, reference.bias_ih.grad)
    _close(cell.hh.db, reference.bias_hh.grad)


def test_rnn_phoneme_classifier_matches_torch():
    layers, batch, steps, size_in, hidden, classes = 2, 5, 10, 40, 32, 138
    rng = np.random.default_rng(11785)
    x = rng.standard_normal((batch, steps, size_in))
    labels = rng.integers(0, classes, batch)
    torch.manual_seed(11785)
    rnn = torch.nn.RNN(size_in, hidden, num_layers=layers, batch_first=True, dtype=torch.float64)
    output = torch.nn.Linear(hidden, classes, dtype=torch.float64)
    s, o = _state(rnn), _state(output)
    engine = Autograd(debug=False)
    model = RNNPhonemeClassifier(size_in, hidden, classes, engine, num_layers=layers)
    model.init_weights([[s[f"{n}_l{k}"] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
                        for k in range(layers)], [o["weight"], o["bias"]])
    h0 = torch.zeros(layers, batch, hidden, dtype=torch.float64, requires_grad=True)
    expected = output(rnn(torch.tensor(x), h0)[0][:, -1, :])
    ours = model(x)
    _close(ours, expected)
    torch.nn.functional.cross_entropy(expected, torch.tensor(labels)).backward()
    onehot = np.zeros((batch, classes))
    onehot[np.arange(batch), labels] = 1.0
    SoftmaxCrossEntropy(engine)(onehot, ours)
    engine.backward(1)
    _close(np.array([engine.gradient_buffer.get_param(h) for h in model.hiddens[0]]), h0.grad)
    _close(model.output_layer.dW, output.weight.grad)
    _close(model.output_layer.db, output.bias.grad)
    for k, cell in enumerate(model.rnn):
        _close(cell.ih.dW, getattr(rnn, f"weight_ih_l{k}").grad)
        _close(cell.hh.dW, getattr(rnn, f"weight_hh_l{k}").grad)
        _close(cell.ih.db, getattr(rnn, f"bias_ih_l{k}").grad)
        _close(cell.hh.db, getattr(rnn, f"bias_hh_l{k}").grad)


def _gru_weights(s, hidden):
    """The course's order: Wrx, Wzx, Wnx, Wrh, Wzh, Wnh, brx, bzx, bnx, brh, bzh, bnh."""
    split = [np.split(s[name], 3) for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    return [part for parts in split for part in parts]


@pytest.mark.parametrize("size_in, hidden", [(5, 2), (1, 7), (4, 4)])
def test_gru_cell_backward_matches_torch(size_in, hidden):
    torch.manual_seed(size_in * 10 + hidden)
    reference = torch.nn.GRUCell(size_in, hidden, dtype=torch.float64)
    engine = Autograd(debug=False)
    cell = GRUCell(size_in, hidden, engine)
    cell.init_weights(*_gru_weights(_state(reference), hidden))
    x = torch.randn(size_in, dtype=torch.float64, requires_grad=True)
    h = torch.randn(hidden, dtype=torch.float64, requires_grad=True)
    x_user, h_user = x.detach().numpy().copy(), h.detach().numpy().copy()
    expected = reference(x.unsqueeze(0), h.unsqueeze(0))
    ours = cell(x_user, h_user)
    _close(ours, expected[0])
    target = np.zeros((1, hidden))
    target[0, hidden // 2] = 1.0
    torch.nn.functional.cross_entropy(expected, torch.tensor([hidden // 2])).backward()
    batched = np.expand_dims(ours, 0)
    engine.add_operation([ours, np.array([0])], batched, [None, None], F.expand_dims_backward)
    SoftmaxCrossEntropy(engine)(target, batched)
    engine.backward(1)
    _close(engine.gradient_buffer.get_param(x_user), x.grad)
    _close(engine.gradient_buffer.get_param(h_user), h.grad)
    torch_grads = [np.split(getattr(reference, name).grad.numpy(), 3)
                   for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    cells = (cell.r_cell, cell.z_cell, cell.n_cell)
    for gate, gate_cell in enumerate(cells):
        _close(gate_cell.ih.dW, torch_grads[0][gate])
        _close(gate_cell.hh.dW, torch_grads[1][gate])
        _close(gate_cell.ih.db, torch_grads[2][gate])
        _close(gate_cell.hh.db, torch_grads[3][gate])


def test_character_predictor_inference_matches_torch():
    size_in, hidden, classes, steps = 6, 5, 4, 8
    torch.manual_seed(3)
    gru = torch.nn.GRUCell(size_in, hidden, dtype=torch.float64)
    projection = torch.nn.Linear(hidden, classes, dtype=torch.float64)
    engine = Autograd()
    net = CharacterPredictor(size_in, hidden, classes, engine)
    net.init_rnn_weights(*_gru_weights(_state(gru), hidden))
    p = _state(projection)
    net.projection.init_weights(p["weight"], p["bias"])
    inputs = np.random.default_rng(4).standard_normal((steps, size_in))
    h = torch.zeros(1, hidden, dtype=torch.float64)
    expected = []
    for x in torch.tensor(inputs):
        h = gru(x.unsqueeze(0), h)
        expected.append(projection(h)[0])
    _close(inference(net, inputs), torch.stack(expected))


def test_backward_functions_undo_their_operation():
    a = np.arange(24.0).reshape(2, 3, 4)
    index = np.index_exp[1, :, 2:]
    grad = np.random.default_rng(0).standard_normal(a[index].shape)
    da, none = slice_backward(grad, a, np.array(index, dtype=object))
    assert none is None and da.shape == a.shape
    assert np.array_equal(da[index], grad) and da.sum() == pytest.approx(grad.sum())
    g = np.ones((1, 3))
    assert F.expand_dims_backward(g, np.zeros(3), np.array([0]))[0].shape == (3,)
    assert F.squeeze_backward(np.ones(3), np.zeros((1, 3)), np.array([0]))[0].shape == (1, 3)
    assert np.array_equal(F.transpose_backward(np.arange(6).reshape(2, 3), a[0].T.T),
                          np.arange(6).reshape(2, 3).T)
    x = np.array([0.3, -1.2])
    state = np.tanh(x)
    assert np.allclose(F.tanh_backward(np.ones(2), x), 1 - state ** 2)
    dx, dstate = F.tanh_backward(np.ones(2), x, state)
    assert np.allclose(dx, 1 - state ** 2) and dstate is None


def test_hw3_tanh_that_records_its_output_as_input_works():
    """The course's given Tanh: inputs=[x, state], output=state (the facts page, quirk 1)."""
    engine = Autograd()
    x = np.array([[0.5, -0.25]])
    state = np.tanh(x)
    engine.add_operation([x, state], state, [None, None], F.tanh_backward)
    engine.backward(1)
    np.testing.assert_allclose(engine.gradient_buffer.get_param(x), 1 - np.tanh(x) ** 2)


# --- CTC -------------------------------------------------------------------------


def _probabilities(frames, batch, classes, seed):
    logits = np.random.default_rng(seed).standard_normal((frames, batch, classes))
    return np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)


def test_ctc_lattice_matches_pytorchs_probability():
    ctc = CTC()
    y = _probabilities(10, 1, 5, seed=1)[:, 0]
    target = np.array([1, 3, 3, 2])
    extended, skip = ctc.extend_target_with_blank(target)
    assert extended.tolist() == [0, 1, 0, 3, 0, 3, 0, 2, 0]
    assert skip.tolist() == [0, 0, 0, 1, 0, 0, 0, 1, 0]
    alpha = ctc.get_forward_probs(y, extended, skip)
    beta = ctc.get_backward_probs(y, extended, skip)
    expected = np.exp(-torch.nn.functional.ctc_loss(
        torch.tensor(np.log(y)), torch.tensor(target[None]), torch.tensor([10]), torch.tensor([4]),
        reduction="sum").item())
    np.testing.assert_allclose(alpha[-1, -1] + alpha[-1, -2], expected, rtol=1e-10)
    # alpha·beta summed over the nodes is the same total at every frame.
    np.testing.assert_allclose((alpha * beta).sum(axis=1), expected, rtol=1e-10)
    assert beta[-1, -1] == beta[-1, -2] == 1
    gamma = ctc.get_posterior_probs(alpha, beta)
    np.testing.assert_allclose(gamma.sum(axis=1), 1.0, rtol=1e-12)


def test_ctc_loss_value_and_gradient():
    frames, batch, classes = 12, 3, 6
    y = _probabilities(frames, batch, classes, seed=2)
    target = np.array([[1, 4, 4, 2], [3, 5, 0, 0], [2, 2, 1, 0]])
    input_lengths, target_lengths = np.array([12, 8, 10]), np.array([4, 2, 3])
    engine = Autograd()
    criterion = CTCLoss(engine)
    loss = criterion(y, target, input_lengths, target_lengths)
    engine.backward(1)
    dy = engine.gradient_buffer.get_param(criterion.logits)
    # Γ (γ summed onto symbols) is minus the gradient of −log p at log y (autodiff_nb.ctc_loss,
    # itself checked against PyTorch and brute force); the course's loss is −Σ Γ·log y, averaged.
    log_y = ad.Tensor(np.log(y), requires_grad=True)
    ad.ctc_loss(log_y, target, input_lengths, target_lengths, reduction="sum").backward()
    occupancy = -log_y.grad
    np.testing.assert_allclose(loss, -(occupancy * np.log(y)).sum() / batch, **TOL)
    np.testing.assert_allclose(dy, -occupancy / y, **TOL)   # the batch sum (the course's tests)


def _exact_paths(y, symbols):
    totals = defaultdict(float)
    for path in itertools.product(range(y.shape[0]), repeat=y.shape[1]):
        text = "".join(symbols[i - 1] for i in ad.ctc.collapse(path, 0))
        totals[text] += np.prod(y[list(path), np.arange(y.shape[1])])
    return totals


def test_greedy_decoder():
    y = _probabilities(6, 1, 4, seed=5)[:, 0].T[:, :, None]   # (symbols + 1, T, 1)
    path, probability = GreedySearchDecoder(["a", "b", "c"]).decode(y)
    best = y[:, :, 0].argmax(axis=0)
    assert path == "".join("abc"[i - 1] for i in ad.ctc.collapse(best, 0))
    assert probability == pytest.approx(np.prod(y[:, :, 0].max(axis=0)), rel=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_beam_search_with_a_wide_beam_is_exact(seed):
    y = _probabilities(5, 1, 3, seed=seed)[:, 0].T[:, :, None]
    exact = _exact_paths(y[:, :, 0], ["a", "b"])
    best, scores = BeamSearchDecoder(["a", "b"], beam_width=1000).decode(y)
    assert best == max(exact, key=exact.get)
    for path, score in scores.items():
        assert score == pytest.approx(exact[path], rel=1e-12)
    labels, log_score = ad.beam_search_decode(np.log(y[:, :, 0].T), beam_width=1000)
    assert "".join("ab"[i - 1] for i in labels) == best
    assert np.exp(log_score) == pytest.approx(scores[best], rel=1e-12)
