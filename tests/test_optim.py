"""autodiff_nb.optim: SGD and Adam take exactly PyTorch's steps (float64, 1e-10)."""
from __future__ import annotations

import numpy as np
import pytest

import autodiff_nb as ad
from autodiff_nb import nn, optim

torch = pytest.importorskip("torch")


def _twin_models():
    ours = nn.MLP([3, 5, 2], activation="tanh", seed=0)
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(),
                                 torch.nn.Linear(5, 2)).double()
    with torch.no_grad():
        for p, q in zip(ours.parameters(), theirs.parameters()):
            q.copy_(torch.tensor(p.data))
    return ours, theirs


@pytest.mark.parametrize("ours_cls, theirs_cls, settings", [
    (optim.SGD, torch.optim.SGD, dict(lr=0.1)),
    (optim.SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9)),
    (optim.SGD, torch.optim.SGD, dict(lr=0.05, weight_decay=0.01)),
    (optim.SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.8, weight_decay=0.1)),
    (optim.Adam, torch.optim.Adam, dict()),
    (optim.Adam, torch.optim.Adam, dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6)),
    (optim.Adam, torch.optim.Adam, dict(lr=0.01, weight_decay=0.1)),
], ids=lambda v: str(v) if isinstance(v, dict) else v.__name__)
def test_optimizer_steps_match_pytorch(ours_cls, theirs_cls, settings):
    ours, theirs = _twin_models()
    opt_ours = ours_cls(ours.parameters(), **settings)
    opt_theirs = theirs_cls(theirs.parameters(), **settings)
    rng = np.random.default_rng(1)
    for _ in range(8):
        x, labels = rng.standard_normal((6, 3)), rng.integers(0, 2, 6)
        loss = nn.CrossEntropyLoss()(ours(x), labels)
        opt_ours.zero_grad()
        loss.backward()
        opt_ours.step()
        expected = torch.nn.CrossEntropyLoss()(theirs(torch.tensor(x)), torch.tensor(labels))
        opt_theirs.zero_grad()
        expected.backward()
        opt_theirs.step()
        np.testing.assert_allclose(loss.item(), expected.item(), rtol=1e-10, atol=1e-10)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-10, atol=1e-10)


def test_step_skips_parameters_without_gradient_and_zero_grad_clears():
    used = ad.Tensor([1.0, 2.0], requires_grad=True)
    unused = ad.Tensor([3.0], requires_grad=True)
    optimizer = optim.SGD([used, unused], lr=0.5)
    (used * used).sum().backward()
    optimizer.step()
    np.testing.assert_array_equal(used.data, [0.0, 0.0])     # 1 - 0.5·2, 2 - 0.5·4
    np.testing.assert_array_equal(unused.data, [3.0])
    optimizer.zero_grad()
    assert used.grad is None and unused.grad is None


def test_step_between_forward_and_backward_is_refused():
    w = ad.Tensor([1.0, -1.0], requires_grad=True)
    optimizer = optim.SGD([w], lr=0.1)
    (w * w).sum().backward()
    loss = (w * w).sum()                # recorded with the old w
    optimizer.step()                    # gives w new data: the graph keeps the old array
    with pytest.raises(ad.GraphError, match="new data"):
        loss.backward()


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="empty list of parameters"):
        optim.Adam([])
    with pytest.raises(ValueError, match="expected a learning rate lr > 0, got -1"):
        optim.SGD([ad.Tensor([1.0], requires_grad=True)], lr=-1)
    assert repr(optim.SGD([ad.Tensor([1.0], requires_grad=True)], lr=0.1, momentum=0.9)) == \
        "SGD(lr=0.1, momentum=0.9, weight_decay=0.0)"
