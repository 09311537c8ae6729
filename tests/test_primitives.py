"""Every primitive's forward and VJP against independent references.

Two references, neither of them the engine's own checks:

* central finite differences in float64, written out here (``finite_differences``);
* PyTorch in float64 (forward values and gradients to 1e-10), where installed.

Each case is a function ``f(ops, *inputs)`` written once against a small API
(``ops.tanh``, ``ops.sum(x, axis, keepdims)``, operators, ...) that both the
engine (``ENGINE``) and PyTorch (``TorchOps``) provide. Inputs are kept away
from kinks and ties (abs, relu, max, maximum, clip) and inside the domain
(log, sqrt, fractional powers), so finite differences are meaningful there;
the conventions *at* kinks and ties are compared with PyTorch separately.

``test_every_primitive_has_a_case`` reads the tape of every case, so a newly
registered primitive without a case fails the suite.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import autodiff_nb as ad
from autodiff_nb import PRIMITIVES, Tensor
from autodiff_nb.core.tape import tape_of

# --- inputs -----------------------------------------------------------------

_rng = np.random.default_rng(20240601)
# A shuffled grid k/100 + 0.001 (|k| < 300), drawn without replacement: any
# two values drawn from it differ by at least 0.01, so max/maximum/minimum see
# no ties, and constants such as clip bounds can sit between grid points.
_grid = iter(_rng.permutation(np.arange(-300, 300)) * 0.01 + 0.001)


def normal(*shape):
    return _rng.standard_normal(shape)


def positive(*shape):
    """In (0.5, 2): inside the domain of log, sqrt and fractional powers."""
    return _rng.uniform(0.5, 2.0, shape)


def nonzero(*shape):
    """|x| in (0.3, 1.5): away from the kink of abs and relu at 0."""
    return _rng.choice([-1.0, 1.0], shape) * _rng.uniform(0.3, 1.5, shape)


def distinct(*shape):
    """Values in (-3, 3) that differ pairwise by at least 0.01, across every call."""
    n = int(np.prod(shape, dtype=int))
    return np.array([next(_grid) for _ in range(n)]).reshape(shape)


# --- the two implementations of the case API -----------------------------------


class EngineOps:
    """The engine's module functions, plus ``getitem`` so cases can index both libraries."""

    def __getattr__(self, name):
        return getattr(ad, name)

    @staticmethod
    def getitem(x, index):
        return x[index]

    @staticmethod
    def constant(array):
        return Tensor(array)


ENGINE = EngineOps()


class TorchOps:
    """The same API on PyTorch tensors (numpy axes → torch dims)."""

    def __init__(self, torch):
        self.torch = torch

    def _const(self, value, like):
        if isinstance(value, self.torch.Tensor):
            return value
        return self.torch.as_tensor(np.asarray(value), dtype=like.dtype)

    def _dims(self, x, axis):
        return tuple(range(x.ndim)) if axis is None else axis

    def __getattr__(self, name):  # exp, log, sqrt, abs, tanh, sigmoid, relu, neg, matmul
        return getattr(self.torch, name)

    def sum(self, x, axis=None, keepdims=False):
        return self.torch.sum(x, dim=self._dims(x, axis), keepdim=keepdims)

    def mean(self, x, axis=None, keepdims=False):
        return self.torch.mean(x, dim=self._dims(x, axis), keepdim=keepdims)

    def max(self, x, axis=None, keepdims=False):
        return self.torch.amax(x, dim=self._dims(x, axis), keepdim=keepdims)

    def logsumexp(self, x, axis=None, keepdims=False):
        return self.torch.logsumexp(x, dim=self._dims(x, axis), keepdim=keepdims)

    def log_softmax(self, x, axis=-1):
        return self.torch.log_softmax(x, dim=axis)

    def add(self, *terms):
        return sum(terms[1:], terms[0])

    def maximum(self, a, b):
        return self.torch.maximum(a, self._const(b, a))

    def minimum(self, a, b):
        return self.torch.minimum(a, self._const(b, a))

    def clip(self, x, low, high):
        return self.torch.clamp(x, low, high)

    def outer(self, a, b):
        return self.torch.outer(a.reshape(-1), b.reshape(-1))

    def linear(self, x, weight, bias=None):
        return self.torch.nn.functional.linear(x, weight, bias)

    def reshape(self, x, shape):
        return x.reshape(shape)

    # Convolution and pooling: the same names and arguments in torch.nn.functional.
    conv1d = property(lambda self: self.torch.nn.functional.conv1d)
    conv2d = property(lambda self: self.torch.nn.functional.conv2d)
    max_pool1d = property(lambda self: self.torch.nn.functional.max_pool1d)
    max_pool2d = property(lambda self: self.torch.nn.functional.max_pool2d)
    avg_pool1d = property(lambda self: self.torch.nn.functional.avg_pool1d)
    avg_pool2d = property(lambda self: self.torch.nn.functional.avg_pool2d)

    def transpose(self, x, axes=None):
        return x.permute(tuple(reversed(range(x.ndim))) if axes is None else axes)

    def concatenate(self, tensors, axis=0):
        return self.torch.cat(tensors, dim=axis)

    def stack(self, tensors, axis=0):
        return self.torch.stack(tensors, dim=axis)

    def where(self, cond, a, b):
        like = a if isinstance(a, self.torch.Tensor) else b
        a = a if isinstance(a, self.torch.Tensor) else self._const(a, like)
        b = b if isinstance(b, self.torch.Tensor) else self._const(b, like)
        return self.torch.where(self.torch.as_tensor(np.asarray(cond)), a, b)

    def constant(self, array):
        return self.torch.as_tensor(array)

    def getitem(self, x, index):
        def convert(i):
            return self.torch.as_tensor(i) if isinstance(i, np.ndarray) else i
        index = tuple(map(convert, index)) if isinstance(index, tuple) else convert(index)
        return x[index]

    def ctc_loss(self, log_probs, targets, input_lengths, target_lengths, **options):
        return self.torch.nn.functional.ctc_loss(
            log_probs, self.torch.as_tensor(targets), self.torch.as_tensor(input_lengths),
            self.torch.as_tensor(target_lengths), **options)


# --- the cases -----------------------------------------------------------------

CASES = []  # (id, f(ops, *inputs), inputs, compare_with_torch)


def case(id, f, *inputs, torch=True):
    CASES.append(pytest.param(f, inputs, torch, id=id))


BROADCAST_PAIRS = [((), ()), ((3,), ()), ((), (3,)), ((3,), (3,)), ((2, 3), (3,)),
                   ((2, 1), (1, 3)), ((4, 2, 3), (3,)), ((3, 1), (2, 1, 4))]


def _shape_id(*shapes):
    """(2, 3), (3,) → "2x3_3"; a 0-d shape is "s" (scalar)."""
    return "_".join("x".join(map(str, s)) or "s" for s in shapes)


for sa, sb in BROADCAST_PAIRS:
    sid = _shape_id(sa, sb)
    case(f"add-{sid}", lambda o, a, b: a + b, normal(*sa), normal(*sb))
    case(f"sub-{sid}", lambda o, a, b: a - b, normal(*sa), normal(*sb))
    case(f"mul-{sid}", lambda o, a, b: a * b, normal(*sa), normal(*sb))
    case(f"div-{sid}", lambda o, a, b: a / b, normal(*sa), nonzero(*sb))
    case(f"power-{sid}", lambda o, a, b: a ** b, positive(*sa), normal(*sb))
    case(f"maximum-{sid}", lambda o, a, b: o.maximum(a, b), distinct(*sa), distinct(*sb))
    case(f"minimum-{sid}", lambda o, a, b: o.minimum(a, b), distinct(*sa), distinct(*sb))

# Operators with a plain number on either side.
case("mul-number", lambda o, a: 2.5 * a, normal(3))
case("rsub-number", lambda o, a: 1 - a, normal(3))
case("rdiv-number", lambda o, a: 3.0 / a, nonzero(2, 2))
case("rpow-number", lambda o, a: 2 ** a, normal(2, 3))
case("maximum-number", lambda o, a: o.maximum(a, 0.005), distinct(2, 3))

case("add_n-4", lambda o, a, b, c, d: o.add(a, b, c, d), normal(2, 3), normal(3), normal(2, 1),
     normal())
case("add_n-3", lambda o, a, b, c: o.add(a, b, c), normal(4), normal(4), normal(4))

for shape in [(), (3,), (2, 3)]:
    sid = _shape_id(shape)
    case(f"neg-{sid}", lambda o, a: -a, normal(*shape))
    case(f"exp-{sid}", lambda o, a: o.exp(a), normal(*shape))
    case(f"log-{sid}", lambda o, a: o.log(a), positive(*shape))
    case(f"sqrt-{sid}", lambda o, a: o.sqrt(a), positive(*shape))
    case(f"abs-{sid}", lambda o, a: o.abs(a), nonzero(*shape))
    case(f"tanh-{sid}", lambda o, a: o.tanh(a), normal(*shape))
    case(f"sigmoid-{sid}", lambda o, a: o.sigmoid(a), 3 * normal(*shape))
    case(f"relu-{sid}", lambda o, a: o.relu(a), nonzero(*shape))
    # The bounds sit between the grid points of ``distinct`` (k/100 + 0.001).
    case(f"clip-{sid}", lambda o, a: o.clip(a, -0.995, 1.005), 2 * distinct(*shape))
    for exponent, make in [(2, normal), (3, normal), (0.5, positive), (-1.5, positive),
                           (-1, nonzero), (0, normal)]:
        case(f"pow{exponent}-{sid}", lambda o, a, e=exponent: a ** e, make(*shape))

case("clip-low-only", lambda o, a: o.clip(a, -0.995, None), distinct(2, 3))
case("clip-high-only", lambda o, a: o.clip(a, None, 1.005), distinct(2, 3))

AXES = [None, 0, 1, -1, (0, 2), (-1, -3), (0, 1, 2)]
for name, axis, keepdims in itertools.product(["sum", "mean", "max", "logsumexp"], AXES,
                                              [False, True]):
    make = distinct if name == "max" else normal
    case(f"{name}-axis{axis}-keepdims{keepdims}".replace(" ", "").replace(",", "_"),
         lambda o, a, n=name, ax=axis, k=keepdims: getattr(o, n)(a, axis=ax, keepdims=k),
         make(2, 3, 4))
for name in ["sum", "mean", "max", "logsumexp"]:
    case(f"{name}-0d", lambda o, a, n=name: getattr(o, n)(a), distinct())
    case(f"{name}-1d", lambda o, a, n=name: getattr(o, n)(a, axis=0), distinct(5))

for shape, axis in [((5,), -1), ((2, 3, 4), -1), ((2, 3, 4), 0), ((2, 3, 4), 1)]:
    case(f"log_softmax-{_shape_id(shape)}-axis{axis}",
         lambda o, a, ax=axis: o.log_softmax(a, axis=ax), 2 * normal(*shape))

MATMUL_SHAPES = [((3,), (3,)), ((3,), (3, 4)), ((2, 3), (3,)), ((2, 3), (3, 4)),
                 ((5, 2, 3), (5, 3, 4)), ((5, 2, 3), (3, 4)), ((2, 3), (5, 3, 4)),
                 ((2, 1, 2, 3), (3, 3, 2)), ((3,), (4, 3, 2)), ((4, 2, 3), (3,))]
for sa, sb in MATMUL_SHAPES:
    case(f"matmul-{_shape_id(sa, sb)}", lambda o, a, b: a @ b, normal(*sa), normal(*sb))
case("matmul-function", lambda o, a, b: o.matmul(a, b), normal(2, 3), normal(3, 2))
case("rmatmul-array", lambda o, W, A=normal(2, 3): A @ W if o is ENGINE else o.constant(A) @ W,
     normal(3, 4))  # ndarray @ Tensor goes through Tensor.__rmatmul__

# One constant operand: matmul, outer and power skip the gradient nobody needs.
CONST_34, CONST_43, CONST_3 = normal(3, 4), normal(4, 3), normal(3)
case("matmul-constant-right", lambda o, a: a @ o.constant(CONST_34), normal(2, 3))
case("matmul-constant-left", lambda o, b: o.constant(CONST_43) @ b, normal(3, 2))
case("matmul-batched-constant-right", lambda o, a: a @ o.constant(CONST_34), normal(5, 2, 3))
case("matmul-batched-constant-left", lambda o, b: o.constant(CONST_43) @ b, normal(2, 3, 2))
case("matmul-vector-constant", lambda o, a: a @ o.constant(CONST_3), normal(4, 3))
case("outer-constant-right", lambda o, a: o.outer(a, o.constant(CONST_3)), normal(2))
case("outer-constant-left", lambda o, b: o.outer(o.constant(CONST_3), b), normal(2))
case("power-constant-exponent", lambda o, a: a ** o.constant(CONST_3), positive(2, 3))
case("power-constant-base", lambda o, b: o.constant(np.abs(CONST_3) + 0.5) ** b, normal(2, 3))

# linear(x, W, b) = x @ Wᵀ + b: the matmul_t primitive (W of shape (out, in)) and an add.
LINEAR_X_SHAPES = [(3,), (2, 3), (5, 2, 3)]
for sx in LINEAR_X_SHAPES:
    case(f"linear-{_shape_id(sx)}", lambda o, x, W, b: o.linear(x, W, b),
         normal(*sx), normal(4, 3), normal(4))
case("linear-no-bias", lambda o, x, W: o.linear(x, W), normal(2, 3), normal(4, 3))
case("linear-constant-input", lambda o, W: o.linear(o.constant(CONST_43), W), normal(2, 3))
case("linear-constant-weight", lambda o, x: o.linear(x, o.constant(CONST_43)), normal(5, 3))

case("outer-1d", lambda o, a, b: o.outer(a, b), normal(3), normal(4))
case("outer-2d-flattens", lambda o, a, b: o.outer(a, b), normal(2, 2), normal(3))

case("reshape-2d", lambda o, a: o.reshape(a, (6, 4)), normal(2, 3, 4))
case("reshape-minus1", lambda o, a: o.reshape(a, (-1,)), normal(2, 3, 4))
case("reshape-method", lambda o, a: a.reshape(4, 3, 2), normal(2, 3, 4))
case("transpose-None", lambda o, a: o.transpose(a), normal(2, 3, 4))
case("transpose-102", lambda o, a: o.transpose(a, (1, 0, 2)), normal(2, 3, 4))
case("transpose-201", lambda o, a: o.transpose(a, (2, 0, 1)), normal(2, 3, 4))
case("transpose-T", lambda o, a: a.T, normal(2, 3))

MASK = np.array([[True, False, True, False, False], [False] * 5,
                 [True, True, True, True, True], [False, True, False, False, True]])
INDICES = {
    "int": 1, "negative-int": -1, "slice": slice(1, 3), "column": (slice(None), 2),
    "element": (1, 2), "int-array-repeats": np.array([0, 2, 2, 0]),
    "int-array-2d": np.array([[0, 1], [3, 3]]),
    "columns-repeats": (slice(None), np.array([4, 4, 1])),
    "pairs-repeats": (np.array([0, 0, 3]), np.array([1, 1, 2])),
    "bool-mask": MASK, "bool-rows": np.array([True, False, True, True]),
    "newaxis": (None, slice(1, 3)), "ellipsis": (Ellipsis, 1),
}
for label, index in INDICES.items():
    case(f"getitem-{label}", lambda o, a, i=index: o.getitem(a, i), normal(4, 5))
case("getitem-reversed", lambda o, a: a[::-1, 1:4:2], normal(4, 5), torch=False)  # torch: no step<0
case("getitem-list", lambda o, a: a[[0, 0, 2]], normal(4, 5))

# CTC through log_softmax: PyTorch's own gradient at log_probs assumes that step (ctc.py).
for reduction in ["mean", "sum", "none"]:
    case(f"ctc_loss-{reduction}", lambda o, a, r=reduction: o.ctc_loss(
        o.log_softmax(a, axis=-1), np.array([[1, 2, 2], [3, 1, 0]]), np.array([7, 5]),
        np.array([3, 2]), reduction=r), normal(7, 2, 4))

case("concatenate-axis0", lambda o, a, b: o.concatenate([a, b], axis=0), normal(2, 3),
     normal(4, 3))
case("concatenate-axis1-three", lambda o, a, b, c: o.concatenate([a, b, c], axis=1),
     normal(2, 3), normal(2, 1), normal(2, 2))
case("concatenate-axis-1", lambda o, a, b: o.concatenate([a, b], axis=-1), normal(2, 3, 1),
     normal(2, 3, 2))
case("concatenate-one", lambda o, a: o.concatenate([a], axis=0), normal(3))
for axis in [0, 1, 2, -1]:
    case(f"stack-axis{axis}", lambda o, a, b, c, ax=axis: o.stack([a, b, c], axis=ax),
         normal(2, 3), normal(2, 3), normal(2, 3))

COND_ROW = np.array([True, False, True])
COND_GRID = np.array([[True, False, False], [False, True, True]])
case("where-broadcast", lambda o, a, b: o.where(COND_ROW, a, b), normal(2, 3), normal())
case("where-same", lambda o, a, b: o.where(COND_GRID, a, b), normal(2, 3), normal(2, 3))
case("where-all-broadcast", lambda o, a, b: o.where(COND_GRID[:, :1], a, b), normal(1, 3),
     normal(3))
case("where-number", lambda o, a: o.where(COND_GRID, a, 0.0), normal(2, 3))

# Convolution (cross-correlation, PyTorch's layouts) with every option, and pooling on
# distinct values (no ties: finite differences need a unique maximum).
CONV_CASES = {
    "conv1d-plain": (1, (2, 3, 7), (4, 3, 3), {}),
    "conv1d-stride2-pad1": (1, (2, 3, 8), (4, 3, 3), dict(stride=2, padding=1)),
    "conv1d-dilation2-groups3": (1, (1, 3, 9), (6, 1, 2), dict(dilation=2, groups=3)),
    "conv2d-plain": (2, (2, 3, 5, 6), (4, 3, 3, 2), {}),
    "conv2d-stride2": (2, (1, 3, 5, 5), (5, 3, 3, 3), dict(stride=2)),
    "conv2d-all": (2, (2, 4, 7, 6), (6, 2, 3, 2),
                   dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)),
}
for label, (d, sx, sw, options) in CONV_CASES.items():
    conv = f"conv{d}d"
    case(label, lambda o, x, w, b, c=conv, kw=options: getattr(o, c)(x, w, b, **kw),
         normal(*sx), normal(*sw), normal(sw[0]))
    case(f"{label}-no-bias", lambda o, x, w, c=conv, kw=options: getattr(o, c)(x, w, **kw),
         normal(*sx), normal(*sw))
case("conv2d-constant-input", lambda o, w, x=normal(2, 1, 5, 5): o.conv2d(o.constant(x), w),
     normal(3, 1, 3, 3))
POOL_CASES = {
    "2d-k2": ((2, 3, 6, 6), (2,), {}),
    "2d-k3-s2-p1": ((1, 2, 7, 6), (3,), dict(stride=2, padding=1)),
    "2d-k23-s12": ((2, 2, 5, 7), ((2, 3),), dict(stride=(1, 2))),
    "1d-k2": ((2, 3, 8), (2,), {}),
    "1d-k3-s1-p1": ((1, 2, 7), (3,), dict(stride=1, padding=1)),
}


def untied(*shape):
    """Values 0.01 apart within the one array (pooling compares only within it)."""
    n = int(np.prod(shape, dtype=int))
    return (_rng.permutation(n) * 0.01 - n * 0.005 + 0.001).reshape(shape)


for label, (shape, args, options) in POOL_CASES.items():
    for kind in ("max", "avg"):
        pool = f"{kind}_pool{len(shape) - 2}d"
        case(f"{kind}_pool{label}", lambda o, x, p=pool, a=args, kw=options:
             getattr(o, p)(x, *a, **kw), untied(*shape))
case("max_pool2d-dilation2", lambda o, x: o.max_pool2d(x, 2, stride=1, dilation=2),
     untied(1, 2, 5, 5))
case("flatten-default", lambda o, x: o.flatten(x, 1), normal(2, 3, 2, 2))
case("flatten-middle", lambda o, x: o.flatten(x, 1, 2), normal(2, 3, 2, 2))
case("flatten-all", lambda o, x: o.flatten(x, 0, -1), normal(2, 3, 2))

# Compositions that make the reverse pass route, sum and unbroadcast gradients.
case("composite-mlp", lambda o, x, W, b: o.tanh(x @ W + b).sum(axis=1), normal(4, 3),
     normal(3, 2), normal(2))
case("composite-reuse", lambda o, x: (x + x) * x - x / (x * x + 1), normal(3))


# --- references ------------------------------------------------------------------


def finite_differences(f, arrays, v, eps=1e-6):
    """∂ sum(f(x) · v) / ∂x by central differences, one element at a time."""
    def objective(values):
        with ad.no_grad():
            out = f(ENGINE, *[Tensor(a) for a in values])
        return float(np.sum(np.asarray(out) * v))

    grads = []
    for i, array in enumerate(arrays):
        grad = np.zeros_like(array)
        for idx in np.ndindex(array.shape):
            values = [a.copy() for a in arrays]
            values[i][idx] += eps
            up = objective(values)
            values[i][idx] -= 2 * eps
            grad[idx] = (up - objective(values)) / (2 * eps)
        grads.append(grad)
    return grads


def engine_gradients(f, arrays, v):
    leaves = [Tensor(a, requires_grad=True) for a in arrays]
    out = f(ENGINE, *leaves)
    out.backward(v)
    return out, leaves


def cotangent(shape):
    """A fixed random ``v``: checking sum(f·v) tests every output's gradient at once."""
    return np.random.default_rng(7).standard_normal(shape)


# --- tests -----------------------------------------------------------------------


@pytest.mark.parametrize("f, inputs, _", CASES)
def test_gradient_matches_finite_differences(f, inputs, _):
    arrays = [np.asarray(a, dtype=np.float64) for a in inputs]
    with ad.no_grad():
        v = cotangent(f(ENGINE, *[Tensor(a) for a in arrays]).shape)
    out, leaves = engine_gradients(f, arrays, v)
    expected = finite_differences(f, arrays, v)
    for i, (leaf, reference) in enumerate(zip(leaves, expected)):
        assert leaf.grad is not None, f"input {i} got no gradient"
        assert leaf.grad.shape == arrays[i].shape
        assert leaf.grad.dtype == np.float64
        np.testing.assert_allclose(leaf.grad, reference, rtol=1e-5, atol=1e-6,
                                   err_msg=f"input {i}")
    # The engine's own gradcheck agrees on every case too.
    assert ad.gradcheck(lambda *xs: f(ENGINE, *xs), *arrays)


@pytest.mark.parametrize("f, inputs, compare", CASES)
def test_forward_and_gradient_match_pytorch(f, inputs, compare):
    torch = pytest.importorskip("torch")
    if not compare:
        pytest.skip("PyTorch has no equivalent of this indexing")
    arrays = [np.asarray(a, dtype=np.float64) for a in inputs]
    ours = [Tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out = f(ENGINE, *ours)
    reference = f(TorchOps(torch), *theirs)
    assert out.shape == tuple(reference.shape)
    np.testing.assert_allclose(out.data, reference.detach().numpy(), rtol=1e-10, atol=1e-10)
    v = cotangent(out.shape)
    out.backward(v)
    reference.backward(torch.tensor(v))
    for i, (mine, torch_leaf) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(mine.grad, torch_leaf.grad.numpy(), rtol=1e-10, atol=1e-10,
                                   err_msg=f"input {i}")


def test_every_primitive_has_a_case():
    """A primitive registered without a gradient case here makes this test fail."""
    covered = set()
    for param in CASES:
        f, inputs, _ = param.values
        out = f(ENGINE, *[Tensor(np.asarray(a, dtype=float), requires_grad=True)
                          for a in inputs])
        covered.update(record.primitive.name for record in tape_of(out))
    missing = sorted(set(PRIMITIVES) - covered)
    assert not missing, f"primitives without a gradient test case: {missing}"


def test_registry_entries_are_complete():
    for name, prim in PRIMITIVES.items():
        assert prim.name == name
        assert callable(prim.forward) and callable(prim.vjp)
        assert prim.symbol
        assert prim.rules, f"{name} has no chain-rule text"


# --- conventions at kinks and ties, as PyTorch defines them ----------------------

KINKS = [
    ("relu-at-0", lambda o, a: o.relu(a), [np.array([-1.0, 0.0, 2.0])]),
    ("abs-at-0", lambda o, a: o.abs(a), [np.array([-1.0, 0.0, 2.0])]),
    ("clip-at-bounds", lambda o, a: o.clip(a, -1.0, 1.0), [np.array([-2.0, -1.0, 0.0, 1.0, 3.0])]),
    ("maximum-tie", lambda o, a, b: o.maximum(a, b),
     [np.array([1.0, 1.0, 0.5]), np.array([1.0, 2.0, 0.5])]),
    ("minimum-tie", lambda o, a, b: o.minimum(a, b),
     [np.array([1.0, 1.0, 0.5]), np.array([1.0, 2.0, 0.5])]),
    ("minimum-integer-constant-tie", lambda o, a: o.minimum(a, o.constant(np.array([1, 2]))),
     [np.array([1.0, 3.0])]),
    ("max-ties-split", lambda o, a: o.max(a, axis=1), [np.array([[1.0, 3.0, 3.0], [2.0] * 3])]),
    ("max-all-ties", lambda o, a: o.max(a), [np.array([[1.0, 3.0], [3.0, 0.0]])]),
]


@pytest.mark.parametrize("f, arrays", [pytest.param(f, a, id=i) for i, f, a in KINKS])
def test_gradient_conventions_at_kinks_match_pytorch(f, arrays):
    torch = pytest.importorskip("torch")
    ours = [Tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    f(ENGINE, *ours).sum().backward()
    f(TorchOps(torch), *theirs).sum().backward()
    for mine, reference in zip(ours, theirs):
        np.testing.assert_array_equal(mine.grad, reference.grad.numpy())


def test_maximum_tie_splits_the_gradient_evenly():
    a, b = Tensor(2.0, requires_grad=True), Tensor(2.0, requires_grad=True)
    ad.maximum(a, b).backward()
    assert a.grad == 0.5 and b.grad == 0.5


# --- numerical stability -----------------------------------------------------------


def test_logsumexp_of_huge_logits_is_finite_and_exact():
    x = Tensor([1000.0, 1000.0, 999.0, -1000.0], requires_grad=True)
    out = ad.logsumexp(x)
    expected = 1000.0 + np.log(2.0 + np.exp(-1.0))
    assert np.isfinite(out.item())
    np.testing.assert_allclose(out.item(), expected, rtol=1e-14)
    out.backward()
    weights = np.array([1.0, 1.0, np.exp(-1.0), 0.0]) / (2.0 + np.exp(-1.0))
    np.testing.assert_allclose(x.grad, weights, rtol=1e-12, atol=1e-300)


def test_logsumexp_of_very_negative_logits_is_finite():
    x = Tensor([[-1000.0, -1001.0], [5.0, 3.0]], requires_grad=True)
    out = ad.logsumexp(x, axis=1)
    np.testing.assert_allclose(out.data, [-1000.0 + np.log1p(np.exp(-1.0)),
                                          5.0 + np.log1p(np.exp(-2.0))], rtol=1e-14)
    out.sum().backward()
    assert np.all(np.isfinite(x.grad))
    np.testing.assert_allclose(x.grad.sum(axis=1), [1.0, 1.0], rtol=1e-12)


def test_log_softmax_of_huge_logits_is_finite_and_exact():
    logits = np.array([[1000.0, 0.0, -1000.0], [1000.0, 1000.0, 1000.0]])
    x = Tensor(logits, requires_grad=True)
    out = ad.log_softmax(x, axis=-1)
    assert np.all(np.isfinite(out.data))
    np.testing.assert_allclose(out.data[1], -np.log(3.0) * np.ones(3), rtol=1e-14)
    np.testing.assert_allclose(out.data[0], [0.0, -1000.0, -2000.0], atol=1e-12)
    v = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 0.25]])
    out.backward(v)
    softmax = np.exp(logits - logits.max(axis=1, keepdims=True))
    softmax /= softmax.sum(axis=1, keepdims=True)
    expected = v - softmax * v.sum(axis=1, keepdims=True)
    assert np.all(np.isfinite(x.grad))
    np.testing.assert_allclose(x.grad, expected, rtol=1e-12, atol=1e-12)


def test_sigmoid_of_huge_inputs_is_finite():
    x = Tensor([-1000.0, 0.0, 1000.0], requires_grad=True)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        out = ad.sigmoid(x)
        out.sum().backward()
    np.testing.assert_allclose(out.data, [0.0, 0.5, 1.0], atol=1e-300)
    np.testing.assert_allclose(x.grad, [0.0, 0.25, 0.0], atol=1e-300)


@pytest.mark.parametrize("big", [1000.0, -1000.0])
def test_stable_ops_match_pytorch_at_huge_logits(big):
    torch = pytest.importorskip("torch")
    logits = np.array([[big, big - 1.0, 0.0], [big, -big, big]])
    for fn in (lambda o, a: o.logsumexp(a, axis=1), lambda o, a: o.log_softmax(a, axis=1),
               lambda o, a: o.sigmoid(a)):
        ours = Tensor(logits, requires_grad=True)
        theirs = torch.tensor(logits, requires_grad=True)
        out, ref = fn(ENGINE, ours), fn(TorchOps(torch), theirs)
        np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-12, atol=1e-12)
        v = cotangent(out.shape)
        out.backward(v)
        ref.backward(torch.tensor(v))
        np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-12, atol=1e-12)


# --- pow spelled every way -------------------------------------------------------------


def test_pow_forms_record_the_right_primitive_and_gradient():
    x = Tensor([0.5, 1.5, 2.0], requires_grad=True)
    y = Tensor([2.0, -1.0, 0.5], requires_grad=True)
    square, general, exponential = x ** 2, x ** y, 2 ** x
    assert square._record.primitive.name == "pow"
    assert square._record.params == {"exponent": 2}
    assert general._record.primitive.name == "power"
    assert exponential._record.primitive.name == "power"
    (square + general + exponential).sum().backward()
    xd, yd = x.data, y.data
    np.testing.assert_allclose(
        x.grad, 2 * xd + yd * xd ** (yd - 1) + np.log(2.0) * 2 ** xd, rtol=1e-13)
    np.testing.assert_allclose(y.grad, xd ** yd * np.log(xd), rtol=1e-13)


@pytest.mark.parametrize("f, inputs, _", CASES)
def test_vjps_that_say_they_do_not_read_their_inputs_do_not(f, inputs, _):
    """``reads_inputs=False`` lets leaf inputs stay writable: hold each such VJP to it.

    Called again with other values of the same shapes, the VJP must give the
    very same gradients, and the output must not share memory with an input
    (a later operation reading the output would read the input).
    """
    from autodiff_nb.core.tape import call_vjp, tape_of
    rng = np.random.default_rng(3)
    out = f(ENGINE, *[Tensor(np.asarray(a, dtype=np.float64), requires_grad=True)
                      for a in inputs])
    checked = 0
    for record in tape_of(out):
        if record.primitive.reads_inputs:
            continue
        output = record.output()
        g = rng.standard_normal(output._data.shape)
        others = [Tensor(rng.standard_normal(t._data.shape).astype(t._data.dtype),
                         requires_grad=t.requires_grad) for t in record.inputs]
        moved = record._replace(inputs=tuple(others))
        for sent, again in zip(call_vjp(record, output, g), call_vjp(moved, output, g)):
            np.testing.assert_array_equal(sent, again, err_msg=record.primitive.name)
        for t in record.inputs:
            assert not np.shares_memory(output._data, t._data), record.primitive.name
        checked += 1
    assert checked or all(r.primitive.reads_inputs for r in tape_of(out))


def test_sigmoid_keeps_full_precision_far_out_and_never_overflows():
    torch = pytest.importorskip("torch")
    x = np.array([-800.0, -40.0, -1e-3, 0.0, 1e-3, 40.0, 800.0, np.inf, -np.inf])
    with np.errstate(over="raise", invalid="raise", divide="raise"):   # underflow to 0 is fine
        ours = ad.sigmoid(x).data
    np.testing.assert_allclose(ours, torch.sigmoid(torch.tensor(x)).numpy(), rtol=1e-15, atol=0)
    assert np.isnan(ad.sigmoid(np.array([np.nan])).data[0])
    assert ad.sigmoid(np.array([-3.0], dtype=np.float32)).dtype == np.float32
