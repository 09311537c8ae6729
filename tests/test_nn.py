"""autodiff_nb.nn: every module and loss against PyTorch in float64, plus structure and errors."""
from __future__ import annotations

import numpy as np
import pytest

import autodiff_nb as ad
from autodiff_nb import data, nn, optim
from autodiff_nb.core.tape import tape_of

torch = pytest.importorskip("torch")
TOL = 1e-10


def _t(array, grad=False):
    return torch.tensor(np.asarray(array), dtype=torch.float64, requires_grad=grad)


def _close(ours, theirs, tol=TOL):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    np.testing.assert_allclose(np.asarray(ours), theirs, rtol=tol, atol=tol)


def _copy_linear(ours, theirs):
    with torch.no_grad():
        theirs.weight.copy_(_t(ours.weight.data))
        theirs.bias.copy_(_t(ours.bias.data))


@pytest.fixture(autouse=True)
def one_blas_thread():
    """Small matrices gain nothing from BLAS threads, and on a busy machine they spin-wait."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(limits=1):
        yield


# --- against PyTorch -------------------------------------------------------------


def test_linear_forward_and_backward_match_pytorch():
    layer = nn.Linear(3, 4, seed=1)
    reference = torch.nn.Linear(3, 4, dtype=torch.float64)
    _copy_linear(layer, reference)
    x = np.random.default_rng(0).standard_normal((5, 3))
    x_ours, x_torch = ad.Tensor(x, requires_grad=True), _t(x, grad=True)
    out = layer(x_ours)
    expected = reference(x_torch)
    _close(out.data, expected)
    upstream = np.random.default_rng(1).standard_normal((5, 4))
    out.backward(upstream)
    expected.backward(_t(upstream))
    _close(layer.weight.grad, reference.weight.grad)
    _close(layer.bias.grad, reference.bias.grad)
    _close(x_ours.grad, x_torch.grad)


@pytest.mark.parametrize("ours, theirs", [
    (nn.Identity(), torch.nn.Identity()),
    (nn.Sigmoid(), torch.nn.Sigmoid()),
    (nn.Tanh(), torch.nn.Tanh()),
    (nn.ReLU(), torch.nn.ReLU()),
    (nn.LeakyReLU(), torch.nn.LeakyReLU()),
    (nn.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2)),
    (nn.Softmax(), torch.nn.Softmax(dim=-1)),
    (nn.Softmax(dim=0), torch.nn.Softmax(dim=0)),
], ids=lambda m: repr(m))
def test_activations_match_pytorch(ours, theirs):
    x = np.random.default_rng(2).standard_normal((6, 5)) * 3
    x[0, :2] = 0.0              # the kink of ReLU / LeakyReLU: PyTorch takes the left gradient
    x[1, 0] = 800.0             # overflow-prone for sigmoid and softmax
    x_ours, x_torch = ad.Tensor(x, requires_grad=True), _t(x, grad=True)
    upstream = np.random.default_rng(3).standard_normal(x.shape)
    out, expected = ours(x_ours), theirs(x_torch)
    _close(out.data, expected)
    if isinstance(ours, nn.Identity):
        return
    out.backward(upstream)
    expected.backward(_t(upstream))
    _close(x_ours.grad, x_torch.grad)


def _loss_case(name):
    rng = np.random.default_rng(4)
    logits = rng.standard_normal((7, 4)) * 2
    logits[0] = [1000.0, -1000.0, 0.0, 5.0]        # log_softmax must not overflow
    if name == "mse":
        target = rng.standard_normal((7, 4))
        return nn.MSELoss(), torch.nn.MSELoss(), logits, target, _t(target)
    if name == "ce-labels":
        labels = np.array([0, 3, 1, 2, 2, 0, 1])
        return (nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss(), logits, labels,
                torch.tensor(labels))
    if name == "ce-onehot":
        target = np.eye(4)[[0, 3, 1, 2, 2, 0, 1]]
        return nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss(), logits, target, _t(target)
    if name == "ce-probabilities":
        target = rng.dirichlet(np.ones(4), size=7)
        return nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss(), logits, target, _t(target)
    target = (rng.random((7, 4)) > 0.5).astype(float)
    target[1, 0] = 0.3                              # soft targets are allowed
    logits[2, 0] = 0.0                              # where softplus's gradient is exactly 1/2
    return nn.BCEWithLogitsLoss(), torch.nn.BCEWithLogitsLoss(), logits, target, _t(target)


@pytest.mark.parametrize("name", ["mse", "ce-labels", "ce-onehot", "ce-probabilities", "bce"])
def test_losses_match_pytorch(name):
    ours, theirs, logits, target, target_torch = _loss_case(name)
    x_ours, x_torch = ad.Tensor(logits, requires_grad=True), _t(logits, grad=True)
    loss, expected = ours(x_ours, target), theirs(x_torch, target_torch)
    assert np.isfinite(loss.item())
    _close(loss.data, expected)
    loss.backward()
    expected.backward()
    _close(x_ours.grad, x_torch.grad)


def test_mlp_matches_pytorch_end_to_end():
    model = nn.MLP([4, 8, 6, 3], activation="relu", seed=5)
    layers = [torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 6), torch.nn.ReLU(),
              torch.nn.Linear(6, 3)]
    reference = torch.nn.Sequential(*layers).double()
    for ours, theirs in zip(model, reference):
        if isinstance(ours, nn.Linear):
            _copy_linear(ours, theirs)
    x = np.random.default_rng(6).standard_normal((10, 4))
    labels = np.arange(10) % 3
    loss = nn.CrossEntropyLoss()(model(x), labels)
    expected = torch.nn.CrossEntropyLoss()(reference(_t(x)), torch.tensor(labels))
    _close(loss.data, expected)
    loss.backward()
    expected.backward()
    names = [name for name, _ in reference.named_parameters()]
    assert [name for name, _ in model.named_parameters()] == names
    for p, q in zip(model.parameters(), reference.parameters()):
        _close(p.grad, q.grad)


def test_linear_initialisation_follows_pytorch_bounds_and_is_seeded():
    layer = nn.Linear(50, 200, seed=0)
    bound = 1 / np.sqrt(50)
    assert layer.weight.shape == (200, 50) and layer.bias.shape == (200,)
    for p in (layer.weight.data, layer.bias.data):
        assert p.dtype == np.float64
        assert -bound <= p.min() and p.max() <= bound
        assert p.min() < -0.9 * bound and p.max() > 0.9 * bound   # uniform over the whole range
    np.testing.assert_array_equal(nn.Linear(50, 200, seed=0).weight.data, layer.weight.data)
    assert not np.array_equal(nn.Linear(50, 200, seed=1).weight.data, layer.weight.data)
    # The torch reference draws from the same distribution: compare its spread.
    reference = torch.nn.Linear(50, 200)
    assert abs(reference.weight.detach().numpy().std() - layer.weight.data.std()) < 0.01


def test_manual_seed_makes_unseeded_layers_repeatable():
    nn.manual_seed(3)
    first = nn.MLP([2, 5, 2]).parameters()
    nn.manual_seed(3)
    second = nn.MLP([2, 5, 2]).parameters()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a.data, b.data)


# --- structure -------------------------------------------------------------------


class TwoLayer(nn.Module):
    def __init__(self):
        self.fc1 = nn.Linear(2, 3, seed=0)
        self.act = nn.Tanh()
        self.fc2 = nn.Linear(3, 1, bias=False, seed=1)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


def test_parameters_names_repr_and_modes():
    model = TwoLayer()
    assert [n for n, _ in model.named_parameters()] == ["fc1.weight", "fc1.bias", "fc2.weight"]
    assert [p.name for p in model.parameters()] == ["fc1.weight", "fc1.bias", "fc2.weight"]
    assert repr(model) == (
        "TwoLayer(\n"
        "  (fc1): Linear(in_features=2, out_features=3, bias=True)\n"
        "  (act): Tanh()\n"
        "  (fc2): Linear(in_features=3, out_features=1, bias=False)\n"
        ")")
    mlp = nn.MLP([2, 4, 3], activation=nn.LeakyReLU)
    assert repr(mlp) == (
        "MLP(\n"
        "  (0): Linear(in_features=2, out_features=4, bias=True)\n"
        "  (1): LeakyReLU(negative_slope=0.01)\n"
        "  (2): Linear(in_features=4, out_features=3, bias=True)\n"
        ")")
    assert len(mlp) == 3 and isinstance(mlp[1], nn.LeakyReLU)
    model.eval()
    assert not model.training and not model.fc1.training
    model.train()
    assert model.training and model.fc2.training


def test_zero_grad_clears_every_parameter():
    model = TwoLayer()
    model(np.ones((4, 2))).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_each_module_call_records_its_scope_with_no_custom_primitive():
    model = nn.Sequential(nn.Linear(2, 2, seed=0), nn.Tanh(), TwoLayer())
    loss = nn.MSELoss()(model(np.ones((4, 2))), np.zeros((4, 1)))
    records = tape_of(loss)
    scopes = [(r.primitive.name, r.scope) for r in records]
    assert scopes[:3] == [
        ("matmul_t", ("Sequential", "0.Linear")),
        ("add", ("Sequential", "0.Linear")),
        ("tanh", ("Sequential", "1.Tanh")),
    ]
    assert ("tanh", ("Sequential", "2.TwoLayer", "act")) in scopes
    assert ("matmul_t", ("Sequential", "2.TwoLayer", "fc2")) in scopes
    assert scopes[-1][1] == ("MSELoss",)
    # Everything is made of the engine's registered primitives (no hand-written backward).
    assert all(ad.PRIMITIVES[r.primitive.name] is r.primitive for r in records)


# --- bad input -----------------------------------------------------------------


def test_linear_on_the_wrong_shape_names_the_expected_dimension():
    with pytest.raises(ad.ShapeError, match=r"Linear\(3, 4\): expected input with last "
                                            r"dimension 3, got shape \(10, 5\)"):
        nn.Linear(3, 4)(np.zeros((10, 5)))


def test_cross_entropy_rejects_bad_labels():
    logits = np.zeros((4, 3))
    with pytest.raises(ValueError, match=r"expected labels in 0\.\.2 .* found label 3"):
        nn.CrossEntropyLoss()(logits, np.array([0, 1, 2, 3]))
    with pytest.raises(ValueError, match=r"found label -1"):
        nn.CrossEntropyLoss()(logits, np.array([0, -1, 2, 1]))
    with pytest.raises(ad.ShapeError, match=r"expected integer labels of shape \(4,\) .* "
                                            r"got shape \(4, 1\)"):
        nn.CrossEntropyLoss()(logits, np.zeros((4, 1), dtype=int))
    with pytest.raises(ad.ShapeError, match=r"expected target of the same shape as the output "
                                            r"\(4, 3\), got \(4, 2\)"):
        nn.CrossEntropyLoss()(logits, np.zeros((4, 2)))
    with pytest.raises(ad.ShapeError, match=r"class labels must be integers"):
        nn.CrossEntropyLoss()(logits, np.array([0.0, 1.0, 2.0, 1.0]))
    with pytest.raises(ad.ShapeError, match=r"expected logits of shape \(N, C\)"):
        nn.CrossEntropyLoss()(np.zeros(4), np.zeros(4, dtype=int))


def test_mse_and_bce_reject_mismatched_targets():
    with pytest.raises(ad.ShapeError, match=r"MSELoss: expected target of the same shape as the "
                                            r"output \(5, 1\), got \(5,\)"):
        nn.MSELoss()(np.zeros((5, 1)), np.zeros(5))
    with pytest.raises(ad.ShapeError, match=r"BCEWithLogitsLoss"):
        nn.BCEWithLogitsLoss()(np.zeros((5, 1)), np.zeros(5))


def test_mlp_rejects_unknown_activation_and_instances():
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        nn.MLP([2, 3, 1], activation="swish")
    with pytest.raises(ValueError, match="not an instance"):
        nn.MLP([2, 3, 1], activation=nn.Tanh())


# --- it learns -------------------------------------------------------------------


def test_seeded_mlp_fits_three_spirals():
    X, y = data.spirals(100, 3, seed=0)
    model = nn.MLP([2, 32, 32, 3], activation="tanh", seed=0)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=0.02)
    rng = np.random.default_rng(0)
    for _ in range(60):
        for X_batch, y_batch in data.batches(X, y, 32, seed=rng):
            loss = loss_fn(model(X_batch), y_batch)     # forward, loss
            optimizer.zero_grad()
            loss.backward()                             # backward
            optimizer.step()                            # step
    with ad.no_grad():
        accuracy = (model(X).data.argmax(axis=1) == y).mean()
    assert accuracy >= 0.95, accuracy


# --- convolution layers ------------------------------------------------------------


def _copy_conv(ours, theirs):
    with torch.no_grad():
        theirs.weight.copy_(_t(ours.weight.data))
        if ours.bias is not None:
            theirs.bias.copy_(_t(ours.bias.data))


@pytest.mark.parametrize("ours, theirs", [
    (lambda: nn.Conv1d(3, 4, 3, seed=0), lambda: torch.nn.Conv1d(3, 4, 3)),
    (lambda: nn.Conv1d(4, 6, 2, stride=2, padding=1, dilation=2, groups=2, bias=False, seed=0),
     lambda: torch.nn.Conv1d(4, 6, 2, stride=2, padding=1, dilation=2, groups=2, bias=False)),
    (lambda: nn.Conv2d(1, 8, 3, seed=0), lambda: torch.nn.Conv2d(1, 8, 3)),
    (lambda: nn.Conv2d(2, 4, (3, 2), stride=(2, 1), padding=1, seed=0),
     lambda: torch.nn.Conv2d(2, 4, (3, 2), stride=(2, 1), padding=1)),
])
def test_conv_layers_match_pytorch_shapes_repr_and_numbers(ours, theirs):
    layer, reference = ours(), theirs().double()
    assert repr(layer) == repr(reference)
    assert layer.weight.shape == tuple(reference.weight.shape)
    _copy_conv(layer, reference)
    x = np.random.default_rng(0).standard_normal((2, layer.in_channels) + (7,) * layer.dims)
    out, expected = layer(x), reference(_t(x))
    _close(out.data, expected)
    out.sum().backward()
    expected.sum().backward()
    _close(layer.weight.grad, reference.weight.grad)
    if layer.bias is not None:
        _close(layer.bias.grad, reference.bias.grad)


def test_conv_initialisation_follows_pytorch_bounds():
    layer = nn.Conv2d(6, 40, 3, groups=2, seed=0)
    bound = 1 / np.sqrt(3 * 9)      # fan_in = in_channels / groups · kernel area
    for p in (layer.weight.data, layer.bias.data):
        assert -bound <= p.min() and p.max() <= bound
    assert layer.weight.data.max() > 0.9 * bound    # uniform over the whole range
    reference = torch.nn.Conv2d(6, 40, 3, groups=2)
    assert abs(reference.weight.detach().numpy().std() - layer.weight.data.std()) < 0.01


@pytest.mark.parametrize("ours, theirs", [
    (nn.MaxPool2d(2), torch.nn.MaxPool2d(2)),
    (nn.MaxPool2d(3, 2, 1), torch.nn.MaxPool2d(3, 2, 1)),
    (nn.AvgPool2d(2), torch.nn.AvgPool2d(2)),
    (nn.AvgPool2d(3, 1, 1), torch.nn.AvgPool2d(3, 1, 1)),
    (nn.Flatten(), torch.nn.Flatten()),
])
def test_pool_and_flatten_layers_match_pytorch(ours, theirs):
    assert repr(ours) == repr(theirs)
    x = np.random.default_rng(1).standard_normal((2, 3, 6, 5))
    _close(ours(x).data, theirs(_t(x)))


def test_small_cnn_trains_with_sequential_adam_and_train():
    flat, y = data.digits()
    X = flat.reshape(-1, 1, 8, 8)
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, seed=0), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(8 * 16, 10, seed=0))
    history = ad.train(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.01),
                       X[:1200], y[:1200], epochs=5, batch_size=32, progress=False)
    assert history.loss[-1] < history.loss[0] / 2
    with ad.no_grad():
        accuracy = (model(X[1200:]).data.argmax(axis=1) == y[1200:]).mean()
    assert accuracy > 0.9, accuracy
