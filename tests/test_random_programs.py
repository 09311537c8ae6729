"""Random programs of primitives against PyTorch (float64) and against finite differences.

The other tests check each primitive alone and the lecture's cases by hand. Here a seed
draws a small program instead: leaves of broadcast-compatible shapes, then a dozen
operations, each applied to values computed earlier, so that values fan out to several
consumers and broadcasting, reductions and "+=" accumulation mix in ways nobody wrote
down. The loss is a weighted sum of every value. autodiff_nb's gradient of every leaf
must match PyTorch's to 1e-10 (where PyTorch is installed) and central differences
(always). A failure names the seed and prints the program.
"""
from __future__ import annotations

import numpy as np
import pytest

import autodiff_nb as ad

try:
    import torch
except ImportError:
    torch = None

LEAF_SHAPES = [(3, 4), (4,), (3, 1), (1, 4), ()]   # all broadcast together to (3, 4)
SEEDS = range(60)
STEPS = 12


def _last_axis(x):
    return len(x.shape) >= 1


def _rows_of_four(x):
    return tuple(x.shape[-1:]) == (4,) and len(x.shape) <= 2


# name: (arity, applicable to these argument shapes?, autodiff_nb, PyTorch). Smooth at
# random points, bounded (no overflow over a dozen steps), defined for every real input.
OPS = {
    "add": (2, None, lambda a, b: a + b, lambda a, b: a + b),
    "sub": (2, None, lambda a, b: a - b, lambda a, b: a - b),
    "mul": (2, None, lambda a, b: a * b, lambda a, b: a * b),
    "div": (2, None, lambda a, b: a / (b * b + 1.0), lambda a, b: a / (b * b + 1.0)),
    "maximum": (2, None, ad.maximum, torch.maximum if torch else None),
    "minimum": (2, None, ad.minimum, torch.minimum if torch else None),
    "where": (2, None, lambda a, b: ad.where(a > b, a, b * 0.5),
              lambda a, b: torch.where(a > b, a, b * 0.5)),
    "power": (2, None, lambda a, b: ad.sigmoid(a) ** ad.tanh(b),
              lambda a, b: torch.sigmoid(a) ** torch.tanh(b)),
    "tanh": (1, None, ad.tanh, torch.tanh if torch else None),
    "sigmoid": (1, None, ad.sigmoid, torch.sigmoid if torch else None),
    "exp_tanh": (1, None, lambda a: ad.exp(ad.tanh(a)), lambda a: torch.exp(torch.tanh(a))),
    "log1p_square": (1, None, lambda a: ad.log(a * a + 1.0), lambda a: torch.log(a * a + 1.0)),
    "sqrt1p_square": (1, None, lambda a: ad.sqrt(a * a + 1.0), lambda a: torch.sqrt(a * a + 1.0)),
    "cube": (1, None, lambda a: a ** 3, lambda a: a ** 3),
    "neg": (1, None, lambda a: -a, lambda a: -a),
    "sum_last": (1, _last_axis, lambda a: a.sum(axis=-1, keepdims=True),
                 lambda a: a.sum(dim=-1, keepdim=True)),
    "mean_first": (1, _last_axis, lambda a: a.mean(axis=0, keepdims=True),
                   lambda a: a.mean(dim=0, keepdim=True)),
    "max_last": (1, _last_axis, lambda a: a.max(axis=-1, keepdims=True),
                 lambda a: a.amax(dim=-1, keepdim=True)),
    "sum_all": (1, None, lambda a: a.sum(), lambda a: a.sum()),
    "logsumexp": (1, _last_axis, lambda a: a.logsumexp(axis=-1, keepdims=True),
                  lambda a: torch.logsumexp(a, dim=-1, keepdim=True)),
    "log_softmax": (1, _last_axis, lambda a: a.log_softmax(axis=-1),
                    lambda a: torch.log_softmax(a, dim=-1)),
    "flip_first": (1, _last_axis, lambda a: a[::-1], lambda a: torch.flip(a, [0])),
    "matmul_M": (1, _rows_of_four, lambda a, M: a @ M, lambda a, M: a @ M),
}


def draw_program(seed):
    """Leaf shapes and values, then STEPS steps (op name, indices of its arguments)."""
    rng = np.random.default_rng(seed)
    shapes = [LEAF_SHAPES[i] for i in rng.integers(0, len(LEAF_SHAPES), 3)] + [(3, 4)]
    values = [rng.uniform(-1.5, 1.5, shape) for shape in shapes]
    M = rng.uniform(-0.5, 0.5, (4, 4))
    names = sorted(OPS)
    steps, known = [], list(shapes)
    while len(steps) < STEPS:
        name = names[rng.integers(len(names))]
        arity, applicable, ad_op, _ = OPS[name]
        args = [int(i) for i in rng.integers(0, len(known), arity)]
        probe = [np.zeros(known[i]) for i in args]
        if applicable is not None and not applicable(probe[0]):
            continue
        steps.append((name, args))
        with ad.no_grad():   # only the shape of the result matters here
            extra = [ad.Tensor(np.zeros((4, 4)))] if name == "matmul_M" else []
            known.append(np.shape(ad_op(*[ad.Tensor(p) for p in probe], *extra).data))
    weights = rng.uniform(0.5, 1.5, len(known))
    return values, M, steps, weights


def run(program, leaves, M, library):
    """The program's loss, computed with autodiff_nb (library 2) or PyTorch (library 3)."""
    _, _, steps, weights = program
    values = list(leaves)
    for name, args in steps:
        op = OPS[name][library]
        extra = [M] if name == "matmul_M" else []
        values.append(op(*[values[i] for i in args], *extra))
    return sum(w * v.sum() for w, v in zip(weights, values))


def describe(program):
    values, _, steps, _ = program
    lines = [f"leaves: {[np.shape(v) for v in values]}"]
    lines += [f"v{len(values) + k} = {name}({', '.join(f'v{i}' for i in args)})"
              for k, (name, args) in enumerate(steps)]
    return "\n".join(lines)


@pytest.mark.parametrize("seed", SEEDS)
def test_random_program_matches_finite_differences(seed):
    program = draw_program(seed)
    values, M, _, _ = program
    M_tensor = ad.Tensor(M)
    assert ad.gradcheck(lambda *leaves: run(program, leaves, M_tensor, 2), *values,
                        atol=1e-6, rtol=1e-5), describe(program)


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
@pytest.mark.parametrize("seed", SEEDS)
def test_random_program_matches_pytorch(seed):
    program = draw_program(seed)
    values, M, _, _ = program
    ours = [ad.Tensor(v, requires_grad=True) for v in values]
    run(program, ours, ad.Tensor(M), 2).backward()
    theirs = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values]
    run(program, theirs, torch.tensor(M, dtype=torch.float64), 3).backward()
    for i, (a, b) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=f"seed {seed}, leaf v{i}\n{describe(program)}")
