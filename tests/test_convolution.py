"""Convolution, pooling and flatten beyond the per-primitive cases of test_primitives.py.

Random geometries against PyTorch in float64, PyTorch's conventions on ties
and NaN in max-pooling, dtypes, and the shape errors a learner meets.
"""
from __future__ import annotations

import numpy as np
import pytest

import autodiff_nb as ad
from autodiff_nb import ShapeError, Tensor

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _random_geometry(rng, d):
    """A random valid (x shape, weight shape, options) for conv{d}d."""
    groups = int(rng.choice([1, 2, 3]))
    c_in, c_out = groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))
    kernel = tuple(int(k) for k in rng.integers(1, 4, d))
    dilation = tuple(int(v) for v in rng.integers(1, 3, d))
    padding = tuple(int(v) for v in rng.integers(0, 3, d))
    stride = tuple(int(v) for v in rng.integers(1, 4, d))
    span = [dil * (k - 1) + 1 for k, dil in zip(kernel, dilation)]
    size = tuple(max(1, s - 2 * p + int(rng.integers(0, 5))) for s, p in zip(span, padding))
    x_shape = (int(rng.integers(1, 4)), c_in) + size
    w_shape = (c_out, c_in // groups) + kernel
    return x_shape, w_shape, dict(stride=stride, padding=padding, dilation=dilation,
                                  groups=groups)


def _against_torch(ours, theirs, arrays, rng):
    mine = [Tensor(a, requires_grad=True) for a in arrays]
    ref = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, expected = ours(*mine), theirs(*ref)
    assert out.shape == tuple(expected.shape)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-10)
    v = rng.standard_normal(out.shape)
    out.backward(v)
    expected.backward(torch.tensor(v))
    for i, (m, r) in enumerate(zip(mine, ref)):
        np.testing.assert_allclose(m.grad, r.grad.numpy(), rtol=1e-10, atol=1e-10,
                                   err_msg=f"input {i}")


@pytest.mark.parametrize("d", [1, 2])
@pytest.mark.parametrize("seed", range(12))
def test_conv_random_geometry_matches_pytorch(d, seed):
    rng = np.random.default_rng(seed)
    x_shape, w_shape, options = _random_geometry(rng, d)
    arrays = [rng.standard_normal(x_shape), rng.standard_normal(w_shape),
              rng.standard_normal(w_shape[0])]
    ours = getattr(ad, f"conv{d}d")
    theirs = getattr(F, f"conv{d}d")
    _against_torch(lambda x, w, b: ours(x, w, b, **options),
                   lambda x, w, b: theirs(x, w, b, **options), arrays, rng)


@pytest.mark.parametrize("seed", range(8))
def test_pool_random_geometry_matches_pytorch(seed):
    rng = np.random.default_rng(100 + seed)
    kernel = tuple(int(k) for k in rng.integers(1, 4, 2))
    stride = tuple(int(s) for s in rng.integers(1, 4, 2))
    padding = tuple(int(rng.integers(0, k // 2 + 1)) for k in kernel)
    size = tuple(k + int(rng.integers(0, 5)) for k in kernel)
    x = rng.standard_normal((2, 3) + size)
    for ours, theirs in ((ad.max_pool2d, F.max_pool2d), (ad.avg_pool2d, F.avg_pool2d)):
        _against_torch(lambda t: ours(t, kernel, stride, padding),
                       lambda t: theirs(t, kernel, stride, padding), [x], rng)


@pytest.mark.parametrize("d", [1, 2])
def test_max_pool_ties_and_overlaps_go_as_pytorch(d):
    """Ties: the whole gradient to one element (PyTorch's first maximum); overlaps: "+="."""
    rng = np.random.default_rng(3)
    x = rng.integers(0, 3, (2, 2) + (7,) * d).astype(float)    # many ties
    ours, theirs = getattr(ad, f"max_pool{d}d"), getattr(F, f"max_pool{d}d")
    _against_torch(lambda t: ours(t, 3, 2, 1), lambda t: theirs(t, 3, 2, 1), [x], rng)
    _against_torch(lambda t: ours(t, 2, 1), lambda t: theirs(t, 2, 1), [np.ones((1, 1) + (4,) * d)],
                   rng)
    # Windows that tile the input (kernel = stride, no padding) take a shortcut: same answers.
    _against_torch(lambda t: ours(t, 2), lambda t: theirs(t, 2), [x[(Ellipsis,) + (slice(6),) * d]],
                   rng)


def test_max_pool_sends_an_infinite_gradient_only_to_the_winner():
    x = Tensor(np.array([[[[1.0, 3.0], [2.0, 0.0]]]]), requires_grad=True)
    ad.max_pool2d(x, 2).backward(np.array([[[[np.inf]]]]))
    np.testing.assert_array_equal(x.grad, [[[[0.0, np.inf], [0.0, 0.0]]]])


def test_max_pool_propagates_nan_as_pytorch():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    x[0, 0, 1, 0] = np.nan
    t = Tensor(x, requires_grad=True)
    out = ad.max_pool2d(t, 2)
    ref = torch.tensor(x, requires_grad=True)
    expected = F.max_pool2d(ref, 2)
    np.testing.assert_array_equal(out.data, expected.detach().numpy())
    out.backward(np.ones(out.shape))
    expected.backward(torch.ones(expected.shape, dtype=torch.float64))
    np.testing.assert_array_equal(t.grad, ref.grad.numpy())


def test_float32_stays_float32():
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((2, 1, 6, 6)).astype(np.float32), requires_grad=True)
    w = Tensor(rng.standard_normal((3, 1, 3, 3)).astype(np.float32), requires_grad=True)
    out = ad.flatten(ad.avg_pool2d(ad.max_pool2d(ad.conv2d(x, w, padding=1), 2), 1))
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float32


def test_empty_batch_gives_empty_output_and_zero_weight_gradient():
    x = Tensor(np.zeros((0, 2, 5, 5)), requires_grad=True)
    w = Tensor(np.ones((3, 2, 3, 3)), requires_grad=True)
    out = ad.conv2d(x, w)
    assert out.shape == (0, 3, 3, 3)
    out.sum().backward()
    np.testing.assert_array_equal(w.grad, np.zeros((3, 2, 3, 3)))
    assert x.grad.shape == (0, 2, 5, 5)


@pytest.mark.parametrize("call, words", [
    (lambda: ad.conv2d(np.ones((1, 3, 5, 5)), Tensor(np.ones((4, 2, 3, 3)))),
     ["conv2d", "(1, 3, 5, 5)", "3 channels", "(4, 2, 3, 3)", "C_in = 2"]),
    (lambda: ad.conv2d(np.ones((1, 2, 2, 5)), Tensor(np.ones((4, 2, 3, 3)))),
     ["conv2d", "dimension 2", "size 2", "span 3"]),
    (lambda: ad.conv2d(np.ones((2, 5, 5)), Tensor(np.ones((4, 2, 3, 3)))),
     ["conv2d", "(N, C, H, W)", "(2, 5, 5)", "batch axis"]),
    (lambda: ad.conv1d(np.ones((1, 2, 5)), Tensor(np.ones((4, 2, 3, 3)))),
     ["conv1d", "weight", "3 dimensions", "(4, 2, 3, 3)"]),
    (lambda: ad.conv2d(np.ones((1, 4, 5, 5)), Tensor(np.ones((3, 2, 3, 3))), groups=2),
     ["groups=2", "output channels (3)"]),
    (lambda: ad.conv2d(np.ones((1, 2, 5, 5)), Tensor(np.ones((3, 2, 3, 3))), np.ones(4)),
     ["bias", "(3,)", "(4,)"]),
    (lambda: ad.conv2d(np.ones((1, 2, 5, 5)), Tensor(np.ones((3, 2, 3, 3))), stride=0),
     ["stride", "at least 1"]),
    (lambda: ad.conv2d(np.ones((1, 2, 5, 5)), Tensor(np.ones((3, 2, 3, 3))), stride=(1, 2, 3)),
     ["stride", "2 ints"]),
    (lambda: ad.max_pool2d(Tensor(np.ones((1, 1, 2, 2))), 3), ["max_pool2d", "span 3"]),
    (lambda: ad.max_pool2d(Tensor(np.ones((1, 1, 6, 6))), 2, padding=2),
     ["max_pool2d", "padding", "half"]),
    (lambda: ad.flatten(Tensor(np.ones((2, 3))), 2), ["flatten", "start_dim=2", "(2, 3)"]),
])
def test_shape_errors_name_the_operation_and_sizes(call, words):
    with pytest.raises(ShapeError) as caught:
        call()
    for word in words:
        assert word in str(caught.value)


def test_weight_gradient_is_a_sum_over_positions():
    """The lesson's claim, checked on its own: ∇w[k] = Σ_p g[p] · x[p + k] (1-D, one channel)."""
    rng = np.random.default_rng(5)
    x, w, g = rng.standard_normal(9), Tensor(rng.standard_normal(3), requires_grad=True), None
    out = ad.conv1d(x.reshape(1, 1, 9), w.reshape(1, 1, 3))
    g = rng.standard_normal(out.shape)
    out.backward(g)
    by_hand = [sum(g[0, 0, p] * x[p + k] for p in range(7)) for k in range(3)]
    np.testing.assert_allclose(w.grad, by_hand, rtol=1e-12)
