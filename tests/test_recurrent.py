"""Recurrent layers against PyTorch in float64: outputs and every parameter's gradient."""
from __future__ import annotations

import re

import numpy as np
import pytest

import autodiff_nb as ad
from autodiff_nb import nn
from autodiff_nb.core.tape import tape_of
from autodiff_nb.recurrent import gru_step, split_weights

torch = pytest.importorskip("torch")
TOL = 1e-10
CELLS = [(nn.RNNCell, torch.nn.RNNCell, {}),
         (nn.RNNCell, torch.nn.RNNCell, {"nonlinearity": "relu"}),
         (nn.GRUCell, torch.nn.GRUCell, {}),
         (nn.LSTMCell, torch.nn.LSTMCell, {})]
SEQUENCES = [(nn.RNN, torch.nn.RNN, {}), (nn.RNN, torch.nn.RNN, {"nonlinearity": "relu"}),
             (nn.GRU, torch.nn.GRU, {}), (nn.LSTM, torch.nn.LSTM, {})]


def _t(array, grad=False):
    return torch.tensor(np.asarray(array), dtype=torch.float64, requires_grad=grad)


def _close(ours, theirs, tol=TOL):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    assert np.shape(ours) == theirs.shape
    np.testing.assert_allclose(np.asarray(ours), theirs, rtol=tol, atol=tol)


def _copy_parameters(ours, theirs):
    """Ours into theirs by name: the names and shapes must be PyTorch's."""
    mine = dict(ours.named_parameters())
    theirs_named = dict(theirs.named_parameters())
    assert sorted(mine) == sorted(theirs_named)
    with torch.no_grad():
        for name, parameter in theirs_named.items():
            assert tuple(parameter.shape) == mine[name].shape, name
            parameter.copy_(_t(mine[name].data))
    return mine, theirs_named


def _flat(result):
    """Every tensor an RNN call returns, in order: output, h_n (and c_n)."""
    if isinstance(result, tuple):
        return [t for part in result for t in _flat(part)]
    return [result]


def _compare_backward(ours_out, theirs_out, mine, theirs_named, inputs, rng):
    total, expected = 0, 0
    for a, b in zip(_flat(ours_out), _flat(theirs_out)):
        _close(a.data, b)
        weight = rng.standard_normal(a.shape)
        total = total + (a * weight).sum()
        expected = expected + (b * _t(weight)).sum()
    total.backward()
    expected.backward()
    for name in mine:
        _close(mine[name].grad, theirs_named[name].grad)
    for ours_input, theirs_input in inputs:
        _close(ours_input.grad, theirs_input.grad)


@pytest.mark.parametrize("ours_cls, theirs_cls, options", CELLS)
@pytest.mark.parametrize("batched", [True, False])
def test_cells_match_pytorch(ours_cls, theirs_cls, options, batched):
    rng = np.random.default_rng(len(options) + 7 * batched)
    n, size_in, hidden = (int(k) for k in rng.integers(1, 6, size=3))
    cell = ours_cls(size_in, hidden, seed=rng, **options)
    reference = theirs_cls(size_in, hidden, dtype=torch.float64, **options)
    mine, theirs_named = _copy_parameters(cell, reference)
    lead = (n,) if batched else ()
    x = rng.standard_normal(lead + (size_in,))
    h = rng.standard_normal(lead + (hidden,))
    x_ours, x_theirs = ad.Tensor(x, requires_grad=True), _t(x, True)
    h_ours, h_theirs = ad.Tensor(h, requires_grad=True), _t(h, True)
    inputs = [(x_ours, x_theirs), (h_ours, h_theirs)]
    if ours_cls is nn.LSTMCell:
        c = rng.standard_normal(lead + (hidden,))
        c_ours, c_theirs = ad.Tensor(c, requires_grad=True), _t(c, True)
        inputs.append((c_ours, c_theirs))
        out, expected = cell(x_ours, (h_ours, c_ours)), reference(x_theirs, (h_theirs, c_theirs))
    else:
        out, expected = cell(x_ours, h_ours), reference(x_theirs, h_theirs)
    _compare_backward(out, expected, mine, theirs_named, inputs, rng)


@pytest.mark.parametrize("ours_cls, theirs_cls, options", SEQUENCES)
@pytest.mark.parametrize("layers, batch_first, batched", [
    (1, False, True), (2, False, True), (3, True, True), (2, False, False)])
def test_sequences_match_pytorch(ours_cls, theirs_cls, options, layers, batch_first, batched):
    rng = np.random.default_rng(layers * 10 + batch_first + 3 * batched)
    steps, n = int(rng.integers(1, 7)), int(rng.integers(1, 4))
    size_in, hidden = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    ours = ours_cls(size_in, hidden, num_layers=layers, batch_first=batch_first, seed=rng,
                    **options)
    reference = theirs_cls(size_in, hidden, num_layers=layers, batch_first=batch_first,
                           dtype=torch.float64, **options)
    mine, theirs_named = _copy_parameters(ours, reference)
    shape = ((n, steps) if batch_first else (steps, n)) if batched else (steps,)
    x = rng.standard_normal(shape + (size_in,))
    x_ours, x_theirs = ad.Tensor(x, requires_grad=True), _t(x, True)
    state_shape = (layers,) + ((n,) if batched else ()) + (hidden,)
    states = [rng.standard_normal(state_shape) for _ in range(2 if ours_cls is nn.LSTM else 1)]
    s_ours = [ad.Tensor(s, requires_grad=True) for s in states]
    s_theirs = [_t(s, True) for s in states]
    if ours_cls is nn.LSTM:
        out, expected = ours(x_ours, tuple(s_ours)), reference(x_theirs, tuple(s_theirs))
    else:
        out, expected = ours(x_ours, s_ours[0]), reference(x_theirs, s_theirs[0])
    _compare_backward(out, expected, mine, theirs_named,
                      [(x_ours, x_theirs)] + list(zip(s_ours, s_theirs)), rng)


def test_default_state_is_zeros_as_pytorch():
    gru = nn.GRU(2, 3, seed=0)
    reference = torch.nn.GRU(2, 3, dtype=torch.float64)
    _copy_parameters(gru, reference)
    x = np.random.default_rng(1).standard_normal((4, 2, 2))
    out, h = gru(x)
    expected, expected_h = reference(_t(x))
    _close(out.data, expected)
    _close(h.data, expected_h)


@pytest.mark.parametrize("cls, kind", [(nn.RNNCell, 1), (nn.GRUCell, 3), (nn.LSTMCell, 4)])
def test_initialisation_is_pytorchs_uniform_bound(cls, kind):
    cell = cls(5, 16, seed=0)
    bound = 1 / np.sqrt(16)
    for name, parameter in cell.named_parameters():
        assert parameter.shape[0] == kind * 16
        values = parameter.data
        assert np.all(np.abs(values) <= bound), name
        assert np.abs(values).max() > 0.8 * bound, name   # spread over the whole interval
    assert np.array_equal(cls(5, 16, seed=0).weight_hh.data, cell.weight_hh.data)


def test_gru_cell_gradients_pass_gradcheck():
    cell = nn.GRUCell(2, 3, seed=4)
    x = np.random.default_rng(5).standard_normal((2, 2))

    def loss(w_ih, w_hh, h):
        biases = ad.Tensor(cell.bias_ih.data), ad.Tensor(cell.bias_hh.data)
        return gru_step(x, h, *split_weights("GRU", w_ih, w_hh, *biases))

    h = np.random.default_rng(6).standard_normal((2, 3))
    assert ad.gradcheck(loss, cell.weight_ih.data, cell.weight_hh.data, h)


def test_every_time_step_has_its_own_scope():
    rnn = nn.RNN(2, 3, num_layers=2, seed=0)
    out, _ = rnn(ad.Tensor(np.ones((4, 1, 2))))
    scopes = {record.scope[1:] for record in tape_of(out.sum())
              if record.scope[:1] == ("RNN",) and len(record.scope) > 1}
    assert {s[0] for s in scopes} == {"t=0", "t=1", "t=2", "t=3"}
    assert {s[1] for s in scopes if len(s) > 1} == {"l0", "l1"}


def test_shared_weight_gets_one_accumulation_per_time_step():
    rnn = nn.RNN(1, 2, seed=0)
    out, _ = rnn(ad.Tensor(np.ones((5, 2, 1))))
    modes = [u.mode for step in ad.backward_steps(out.sum()) for u in step.updates
             if u.tensor is rnn.weight_hh_l0]
    # h0 is zeros, so W_hh meets a product at every step: one "=" then four "+=".
    assert modes == ["="] + ["+="] * 4


@pytest.mark.parametrize("make, x, message", [
    (lambda: nn.GRUCell(3, 4), np.ones((2, 5)), r"GRUCell: expected input of shape \(N, 3\)"),
    (lambda: nn.GRU(3, 4), np.ones((2, 3)), None),
    (lambda: nn.LSTM(3, 4, batch_first=True), np.ones((2, 5, 2)),
     r"LSTM: expected input of shape \(N, T, 3\)"),
])
def test_wrong_input_shapes_name_the_layer(make, x, message):
    layer = make()
    if message is None:       # (T, in) without a batch is valid
        layer(x)
        return
    with pytest.raises(ad.ShapeError, match=message):
        layer(x)


def test_wrong_state_shape_is_refused():
    with pytest.raises(ad.ShapeError, match=r"GRU: expected a hidden state of shape \(1, 2, 4\)"):
        nn.GRU(3, 4)(np.ones((5, 2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="unknown nonlinearity 'sigmoid'"):
        nn.RNN(3, 4, nonlinearity="sigmoid")


def test_stepper_names_the_time_step_of_each_accumulation():
    rnn = nn.RNN(1, 2, seed=0)
    _, h = rnn(ad.Tensor(np.ones((4, 1, 1))))
    stepper = ad.step_through(h.sum(), forward=True)
    rows = [row for e in stepper.explanations for row in e.text().splitlines()
            if row.startswith("∇weight_hh_l0 L")]
    # Backward meets the last time step first: "=" at t = 3, then one "+=" per earlier step.
    assert [row.split(" ")[2] for row in rows] == ["=", "+=", "+=", "+="]
    assert [row.rsplit("(", 1)[1] for row in rows] == [f"step t = {t})" for t in (3, 2, 1, 0)]
    titles = [e.text().split(":")[0] for e in stepper.explanations if "weight_hh_l0ᵀ" in e.text()]
    assert titles[0].startswith("Forward step") and titles[0].endswith("(step t = 0)")
    assert "(step t = 3)" in titles[-4]


def test_stepper_draws_each_time_step_in_its_own_frame():
    rnn = nn.RNN(1, 2, seed=0)
    _, h = rnn(ad.Tensor(np.ones((3, 1, 1))))
    source = ad.step_through(h.sum()).frame(1).source
    assert source.count('subgraph "cluster_') == 3
    for t in range(3):
        assert f"<B>t={t}</B>" in source
    plain = ad.step_through((ad.Tensor([1.0, 2.0], requires_grad=True) * 2).sum()).frame(1).source
    assert "cluster_" not in plain


@pytest.mark.parametrize("batch_first", [False, True])
def test_an_empty_sequence_is_refused_by_name(batch_first):
    gru = ad.nn.GRU(3, 4, batch_first=batch_first)
    empty = np.zeros((2, 0, 3)) if batch_first else np.zeros((0, 2, 3))
    with pytest.raises(ad.ShapeError, match="GRU: the sequence is empty.*at least one time step"):
        gru(ad.Tensor(empty))


def _open_cluster(svg):
    return re.search(r'<svg data-adnb-open="([^"]*)"', svg).group(1)


def test_stepper_folds_every_time_step_but_the_current_one_at_20_steps():
    rnn = nn.RNN(2, 3, seed=0)
    _, h = rnn(ad.Tensor(np.random.default_rng(0).standard_normal((20, 1, 2))))
    stepper = ad.step_through(h.sum(), forward=True)
    drawing = stepper.frame(0)
    members = drawing.cluster_members()
    assert len(members) == 20
    cluster_of = {e: c for c, elements in members.items() for e in elements}
    data = stepper.restyler.browser_data()
    steps = 0
    for k in range(len(stepper)):
        state = stepper.snapshot(k)
        record = state.step.record if state.step else state.record
        svg = stepper.svg(k)
        opened = _open_cluster(svg)
        assert data["open"][k] == opened
        own = cluster_of.get(drawing.id_of(record)) if record else None
        if own:                       # an operation of a time step opens that step
            steps += 1
            assert opened == own
            around = [drawing.id_of(t) for t in (*record.inputs, record.output())]
            assert data["marks"][k]["adnb-shown"] == [node for node in around if node]
        else:                         # the loss and the stack keep the step open before them
            assert opened == (data["open"][k - 1] if k else data["open"][k + 1])
    assert steps == 2 * 4 * 20        # 4 operations per step, forward and backward
    # Every node and edge inside a step carries its step's class, and the style folds
    # exactly the steps that are not open.
    svg = stepper.svg(30)
    for cluster, elements in members.items():
        for element in elements:
            assert re.search(rf'<g id="{element}" class="(node|edge)[^"]*adnb-in-{cluster}\b', svg)
        assert f'svg:not([data-adnb-open="{cluster}"]) .adnb-in-{cluster}:not(.adnb-shown)' in svg


def test_folding_is_deterministic_and_absent_without_time_steps():
    def page():
        rnn = nn.RNN(1, 2, seed=0)
        _, h = rnn(ad.Tensor(np.ones((3, 1, 1))))
        stepper = ad.step_through(h.sum())
        frames = [stepper.svg(k) for k in range(len(stepper))]
        return [svg.replace(stepper.prefix, "P_") for svg in frames], repr(
            stepper.restyler.browser_data()).replace(stepper.prefix, "P_")
    assert page() == page()
    plain = ad.step_through((ad.Tensor([1.0, 2.0], requires_grad=True) * 2).sum())
    assert "data-adnb-open" not in plain.svg(1) and "adnb-in-" not in plain.svg(1)
    assert "open" not in plain.restyler.browser_data()
    assert all("adnb-shown" not in marks for marks in plain.restyler.browser_data()["marks"])
