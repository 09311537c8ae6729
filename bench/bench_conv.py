"""Benchmark conv2d + max-pool, forward and backward, against hand-written NumPy and peers.

A script, not a test: ``python bench/bench_conv.py`` prints one table of
times per forward+backward pass, each as a ratio to a hand-written NumPy
im2col implementation (the floor) measured in the same run. Two workloads:

* "digits": batch 32 of 1×8×8 → conv 8@3×3 (padding 1) → max-pool 2 → conv
  16@3×3 (padding 1) → max-pool 2;
* "LeNet": batch 32 of 1×28×28 → conv 6@5×5 → max-pool 2 → conv 16@5×5 → max-pool 2.

The loss is Σ out · v for a fixed random v; each system computes the weight
and bias gradients (the input is data). Systems: hand-written NumPy,
autodiff_nb, PyTorch CPU (one thread), MyGrad's ``conv_nd`` / ``max_pool``
and HIPS autograd's ``convolve``, each skipped with a note when it does not
import. Before any timing counts, every system's output and gradients must
agree with PyTorch's (float64, ``--rtol``); the run aborts otherwise. All on
one BLAS thread, systems interleaved in rounds so they share the machine's noise.

``--quick`` is a smoke run (used by tests/test_bench_smoke.py).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np

try:
    from threadpoolctl import threadpool_limits
except ImportError as exc:
    sys.exit(f"bench_conv: {exc.name} is missing; pip install -e '.[bench]'")

import autodiff_nb as ad

NOTES = []


def _optional(module, pip_name):
    try:
        return __import__(module, fromlist=["_"])
    except ImportError:
        NOTES.append(f"{pip_name} is not installed: skipped")
        return None


torch = _optional("torch", "torch")
mygrad = _optional("mygrad", "mygrad")
autograd = _optional("autograd", "autograd")

WORKLOADS = {
    # name: (input shape, [(out channels, kernel, padding), ...]); a 2×2 max-pool after each conv
    "digits 1×8×8, 8@3×3 → 16@3×3": ((32, 1, 8, 8), [(8, 3, 1), (16, 3, 1)]),
    "LeNet 1×28×28, 6@5×5 → 16@5×5": ((32, 1, 28, 28), [(6, 5, 0), (16, 5, 0)]),
}


def make_problem(shape, layers, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    params, channels, size = [], shape[1], shape[2]
    for out, k, pad in layers:
        params.append((rng.standard_normal((out, channels, k, k)) / k, rng.standard_normal(out)))
        channels, size = out, (size + 2 * pad - k + 1) // 2
    v = rng.standard_normal((shape[0], channels, size, size))
    return x, params, [pad for _, _, pad in layers], v


# --- hand-written NumPy: im2col by kernel offsets, the floor -------------------------------

def numpy_im2col(x, k):
    n, c, h, w = x.shape
    oh, ow = h - k + 1, w - k + 1
    cols = np.empty((n, oh, ow, c, k, k))
    for i in range(k):
        for j in range(k):
            cols[:, :, :, :, i, j] = x[:, :, i:i + oh, j:j + ow].transpose(0, 2, 3, 1)
    return cols.reshape(n * oh * ow, c * k * k), (n, oh, ow)


def numpy_col2im(dcols, shape, k):
    n, c, h, w = shape
    oh, ow = h - k + 1, w - k + 1
    dcols = dcols.reshape(n, oh, ow, c, k, k)
    dx = np.zeros(shape)
    for i in range(k):
        for j in range(k):
            dx[:, :, i:i + oh, j:j + ow] += dcols[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    return dx


def numpy_pass(x, params, pads, v):
    """Forward and backward written out: conv (im2col @ W), bias, 2×2 max-pool; returns out, grads."""
    caches, h = [], x
    for (W, b), pad in zip(params, pads):
        hp = np.pad(h, ((0, 0), (0, 0), (pad, pad), (pad, pad))) if pad else h
        cols, (n, oh, ow) = numpy_im2col(hp, W.shape[2])
        z = (cols @ W.reshape(W.shape[0], -1).T + b).reshape(n, oh, ow, -1).transpose(0, 3, 1, 2)
        blocks = z.reshape(n, z.shape[1], oh // 2, 2, ow // 2, 2)
        pooled = blocks.max(axis=(3, 5))
        caches.append((hp.shape, pad, cols, W, blocks, pooled))
        h = pooled
    grads, g = [], v
    for hp_shape, pad, cols, W, blocks, pooled in reversed(caches):
        # Max-pool: the gradient to the first maximum of each block (as PyTorch).
        flat = blocks.transpose(0, 1, 2, 4, 3, 5).reshape(pooled.shape + (4,))
        winner = flat.argmax(axis=-1)
        dflat = np.zeros(flat.shape)
        np.put_along_axis(dflat, winner[..., None], g[..., None], axis=-1)
        n, c, ph, pw = pooled.shape
        dz = dflat.reshape(n, c, ph, pw, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, 2 * ph,
                                                                                   2 * pw)
        dz_rows = dz.transpose(0, 2, 3, 1).reshape(-1, c)
        grads.append((dz_rows.T @ cols).reshape(W.shape))
        grads.append(dz_rows.sum(axis=0))
        dhp = numpy_col2im(dz_rows @ W.reshape(W.shape[0], -1), hp_shape, W.shape[2])
        g = dhp[:, :, pad:dhp.shape[2] - pad, pad:dhp.shape[3] - pad] if pad else dhp
    grads = [grads[i] for pair in reversed(range(0, len(grads), 2)) for i in (pair, pair + 1)]
    return h, grads


# --- the autodiff systems -------------------------------------------------------------------

def autodiff_nb_pass(x, params, pads, v):
    leaves = [(ad.Tensor(W, requires_grad=True), ad.Tensor(b, requires_grad=True))
              for W, b in params]
    h = ad.Tensor(x)
    for (W, b), pad in zip(leaves, pads):
        h = ad.max_pool2d(ad.conv2d(h, W, b, padding=pad), 2)
    (h * v).sum().backward()
    return h.data, [g for W, b in leaves for g in (W.grad, b.grad)]


def torch_pass(x, params, pads, v):
    F = torch.nn.functional
    leaves = [(torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True))
              for W, b in params]
    h = torch.from_numpy(x)
    for (W, b), pad in zip(leaves, pads):
        h = F.max_pool2d(F.conv2d(h, W, b, padding=pad), 2)
    (h * torch.from_numpy(v)).sum().backward()
    return h.detach().numpy(), [g.grad.numpy() for pair in leaves for g in pair]


def mygrad_pass(x, params, pads, v):
    from mygrad.nnet.layers import conv_nd, max_pool
    leaves = [(mygrad.tensor(W), mygrad.tensor(b)) for W, b in params]
    h = x
    for (W, b), pad in zip(leaves, pads):
        z = conv_nd(h, W, stride=1, padding=pad) + b.reshape(1, -1, 1, 1)
        h = max_pool(z, (2, 2), 2)
    (h * v).sum().backward()
    return np.asarray(h), [np.asarray(g.grad) for pair in leaves for g in pair]


def autograd_pass(x, params, pads, v):
    import autograd.numpy as anp
    from autograd import value_and_grad
    from autograd.scipy.signal import convolve

    def forward(flat):
        h = x
        for i, pad in enumerate(pads):
            W, b = flat[2 * i], flat[2 * i + 1]
            if pad:
                h = anp.pad(h, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
            z = convolve(h, W[:, :, ::-1, ::-1], axes=([2, 3], [2, 3]), dot_axes=([1], [1]),
                         mode="valid") + anp.reshape(b, (1, -1, 1, 1))
            n, c, oh, ow = z.shape
            h = anp.max(anp.reshape(z, (n, c, oh // 2, 2, ow // 2, 2)), axis=(3, 5))
        return h

    out = {}

    def loss(flat):
        h = forward(flat)
        out["h"] = h
        return anp.sum(h * v)

    _, grads = value_and_grad(loss)([a for pair in params for a in pair])
    h = out["h"]
    return getattr(h, "_value", h), list(grads)


SYSTEMS = {"NumPy (hand-written)": numpy_pass, "autodiff_nb": autodiff_nb_pass}
if torch is not None:
    SYSTEMS["PyTorch (1 thread)"] = torch_pass
if mygrad is not None:
    SYSTEMS["MyGrad"] = mygrad_pass
if autograd is not None:
    SYSTEMS["HIPS autograd"] = autograd_pass


def check_agreement(problem, rtol):
    """Every system's output and gradients against PyTorch's (or hand-written NumPy's)."""
    reference = (torch_pass if torch is not None else numpy_pass)(*problem)
    for name, run in SYSTEMS.items():
        out, grads = run(*problem)
        worst = max(np.max(np.abs(a - b) / (np.abs(b) + 1.0))
                    for a, b in zip([out, *grads], [reference[0], *reference[1]]))
        if not worst <= rtol:
            sys.exit(f"bench_conv: {name} disagrees with the reference by {worst:.3g} "
                     f"(rtol {rtol}); no timing counts")


def time_systems(problem, rounds, repeats):
    times = {name: [] for name in SYSTEMS}
    for _ in range(rounds):
        for name, run in SYSTEMS.items():
            start = time.perf_counter()
            for _ in range(repeats):
                run(*problem)
            times[name].append((time.perf_counter() - start) / repeats)
    return {name: statistics.median(t) for name, t in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rtol", type=float, default=1e-8)
    args = parser.parse_args(argv)
    rounds, repeats = (2, 1) if args.quick else (args.rounds, args.repeats)
    if torch is not None:
        torch.set_num_threads(1)
    names = list(SYSTEMS)
    print("| Workload (batch 32, forward + backward) | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    with threadpool_limits(limits=1):
        for label, (shape, layers) in WORKLOADS.items():
            problem = make_problem(shape, layers)
            check_agreement(problem, args.rtol)
            medians = time_systems(problem, rounds, repeats)
            floor = medians[names[0]]
            cells = [f"{medians[n] * 1e3:.2f} ms ({medians[n] / floor:.2f}×)" for n in names]
            print(f"| {label} | " + " | ".join(cells) + " |")
    print(f"\nAll systems agree with {'PyTorch' if torch is not None else 'NumPy'} to "
          f"rtol {args.rtol} before timing. Target: autodiff_nb ≤ 1.3× hand-written NumPy, "
          f"ahead of MyGrad and HIPS autograd.")
    for note in NOTES:
        print(note)


if __name__ == "__main__":
    main()
