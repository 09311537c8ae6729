"""HW2's autograd API (convolution) in the course's own test style, against torch.nn.

As the course's test_conv.py / test_conv_functional.py do (handout-api-hw2-hw3.md):
seed 0, x (1, 3, 5) / (1, 3, 5, 5), 3 → 5 channels, kernel 3, compared with
``torch.nn.Conv1d`` / ``Conv2d`` given the same W and b, after
``backward(np.ones_like(out))``: equal shapes, allclose and Σ|diff| below 1e-8.
"""
from __future__ import annotations

import numpy as np
import pytest

from autodiff_nb import draw, step_through
from autodiff_nb.mytorch import Autograd
from autodiff_nb.mytorch.functional_hw2 import (conv1d_stride1_backward, conv2d_stride1_backward,
                                               downsampling1d_backward, downsampling2d_backward,
                                               flatten_backward)
from autodiff_nb.mytorch.nn.conv import Conv1d, Conv1D_stride1, Conv2d, Conv2D_stride1
from autodiff_nb.mytorch.nn.resampling import Downsample1d, Downsample2d, Flatten

torch = pytest.importorskip("torch")
TOL = 1e-8


def _same(ours, theirs):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else theirs
    assert ours.shape == theirs.shape
    assert np.allclose(ours, theirs, rtol=1e-5, atol=1e-10)
    assert np.abs(ours - theirs).sum() < TOL


def _torch_conv(d, layer, stride):
    reference = getattr(torch.nn, f"Conv{d}d")(layer.in_channels, layer.out_channels,
                                                layer.kernel_size, stride=stride).double()
    with torch.no_grad():
        reference.weight.copy_(torch.tensor(layer.W))
        reference.bias.copy_(torch.tensor(layer.b))
    return reference


@pytest.mark.parametrize("d", [1, 2])
@pytest.mark.parametrize("stride", [1, 2])
def test_conv_layer_matches_torch(d, stride):
    np.random.seed(0)
    engine = Autograd()
    x = np.random.randn(*((1, 3) + (5,) * d))
    layer = (Conv1d if d == 1 else Conv2d)(3, 5, 3, stride, engine)
    inner = getattr(layer, f"conv{d}d_stride1")
    inner.b = np.random.randn(5)          # a nonzero bias, so db and the forward check it
    reference = _torch_conv(d, inner, stride)
    out = layer(x)
    xt = torch.tensor(x, requires_grad=True)
    expected = reference(xt)
    _same(out, expected)
    engine.backward(np.ones_like(out))
    expected.backward(torch.ones_like(expected))
    _same(engine.gradient_buffer.get_param(x), xt.grad)
    _same(inner.dW, reference.weight.grad)
    _same(inner.db, reference.bias.grad)


@pytest.mark.parametrize("d", [1, 2])
def test_stride1_backward_functions_alone_match_torch(d):
    """As test_conv_functional: N 3, kernel 3, width 5 (or 5×5), dLdZ all ones."""
    rng = np.random.default_rng(0)
    A, W, b = rng.standard_normal((3, 3) + (5,) * d), rng.standard_normal((5, 3) + (3,) * d), \
        rng.standard_normal(5)
    backward = conv1d_stride1_backward if d == 1 else conv2d_stride1_backward
    At, Wt, bt = (torch.tensor(a, requires_grad=True) for a in (A, W, b))
    Z = getattr(torch.nn.functional, f"conv{d}d")(At, Wt, bt)
    Z.backward(torch.ones_like(Z))
    dLdA, dLdW, dLdb = backward(np.ones(tuple(Z.shape)), A, W, b)
    _same(dLdA, At.grad)
    _same(dLdW, Wt.grad)
    _same(dLdb, bt.grad)


def test_downsampling_and_flatten_backward():
    A1, A2 = np.arange(14.0).reshape(1, 2, 7), np.arange(50.0).reshape(1, 2, 5, 5)
    dLdA, none = downsampling1d_backward(np.ones((1, 2, 4)), A1, np.array([2]))
    assert none is None
    np.testing.assert_array_equal(dLdA[0, 0], [1, 0, 1, 0, 1, 0, 1])
    dLdA, _ = downsampling2d_backward(np.ones((1, 2, 2, 2)), A2, np.array([3]))
    assert dLdA.sum() == 8 and dLdA[0, 0, 3, 3] == 1 and dLdA[0, 0, 1, 1] == 0
    assert flatten_backward(np.arange(50.0).reshape(1, 50), A2).shape == A2.shape


def test_stride1_layers_downsample_and_flatten_chain_on_one_engine():
    np.random.seed(1)
    engine = Autograd()
    x = np.random.randn(2, 3, 8, 8)
    conv, down, flat = Conv2D_stride1(3, 4, 3, engine), Downsample2d(2, engine), Flatten(engine)
    out = flat(down(conv(x)))
    assert out.shape == (2, 4 * 3 * 3)
    reference = torch.nn.Conv2d(3, 4, 3, stride=2).double()
    with torch.no_grad():
        reference.weight.copy_(torch.tensor(conv.W))
        reference.bias.copy_(torch.tensor(conv.b))
    xt = torch.tensor(x, requires_grad=True)
    expected = reference(xt).flatten(1)
    weights = np.random.randn(*out.shape)
    engine.backward(weights)
    expected.backward(torch.tensor(weights))
    _same(out, expected)
    _same(engine.gradient_buffer.get_param(x), xt.grad)
    _same(conv.dW, reference.weight.grad)


def test_conv1d_stride1_and_downsample1d_compose():
    np.random.seed(2)
    engine = Autograd()
    x = np.random.randn(2, 3, 9)
    out = Downsample1d(3, engine)(Conv1D_stride1(3, 2, 2, engine)(x))
    assert out.shape == (2, 2, 3)


def test_draw_and_step_through_accept_a_conv_engine():
    np.random.seed(0)
    engine = Autograd()
    x = engine.label(np.random.randn(1, 1, 5), "x")
    layer = Conv1d(1, 1, 3, 2, engine)
    out = layer(x)
    source = draw(engine).source
    assert "conv1d" in source.lower() or "⋆" in source
    assert source == draw(engine).source
    stepper = step_through(engine, np.ones_like(out))
    assert len(stepper) == len(engine.records()) + 1
    twin = Autograd()
    np.random.seed(0)
    x2 = np.random.randn(1, 1, 5)
    layer2 = Conv1d(1, 1, 3, 2, twin)
    twin.backward(np.ones_like(layer2(x2)))
    np.testing.assert_array_equal(layer.conv1d_stride1.dW, layer2.conv1d_stride1.dW)
