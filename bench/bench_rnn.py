"""Backprop through time: a GRU over 50 steps (batch 32, hidden 64), forward and backward.

The same computation, from the same weights and inputs, by four implementations:

* ``autodiff_nb``: ``nn.GRU`` unrolled on the tape, ``backward()`` (one scope per time step);
* hand-written NumPy BPTT: the forward keeps each step's gates, the backward loop is written
  out by hand; the floor for any NumPy engine;
* PyTorch: a ``torch.nn.GRUCell`` called in a Python loop (float64, one thread), the way a
  course's reference loops over time;
* MyGrad, where it installs: the same GRU step written with its operations.

The loss is Σ_t Σ outputₜ · Vₜ for a fixed random V, so every step's state receives a
gradient from the loss as well as from the next step. Every implementation's weight
gradients must agree with the NumPy floor (float64, ~1e-12) before any time is reported.
One BLAS thread (threadpoolctl) and one torch thread; CPU times, best of interleaved repeats.
Targets (issue 16): autodiff_nb ≤ 1.5× hand-written NumPy, and faster than the PyTorch cell loop.

    python bench/bench_rnn.py            # the table
    python bench/bench_rnn.py --quick    # smoke test: short sequence, one repeat
"""
from __future__ import annotations

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

import autodiff_nb as ad
from autodiff_nb import nn

STEPS, BATCH, INPUT, HIDDEN = 50, 32, 32, 64
REPEATS = 7
TARGET = 1.5


def problem(steps, seed=0):
    """Weights (PyTorch's GRU layout, from ``nn.GRU``'s initialisation), inputs and V."""
    gru = nn.GRU(INPUT, HIDDEN, seed=seed)
    weights = [p.data.copy() for p in gru.parameters()]     # W_ih, W_hh, b_ih, b_hh
    rng = np.random.default_rng(seed + 1)
    return weights, rng.standard_normal((steps, BATCH, INPUT)), rng.standard_normal(
        (steps, BATCH, HIDDEN))


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def numpy_bptt(weights, x, v):
    """Forward keeping every step's gates, then the backward loop by hand."""
    w_ih, w_hh, b_ih, b_hh = weights
    h = np.zeros((BATCH, HIDDEN))
    saved = []
    gi_all = x @ w_ih.T + b_ih                  # the input products of all steps at once
    for t in range(len(x)):
        gi, gh = gi_all[t], h @ w_hh.T + b_hh
        r = _sigmoid(gi[:, :HIDDEN] + gh[:, :HIDDEN])
        z = _sigmoid(gi[:, HIDDEN:2 * HIDDEN] + gh[:, HIDDEN:2 * HIDDEN])
        gh_n = gh[:, 2 * HIDDEN:]
        n = np.tanh(gi[:, 2 * HIDDEN:] + r * gh_n)
        saved.append((h, r, z, n, gh_n))
        h = n + z * (h - n)
    d_gi_all = np.empty((len(x), BATCH, 3 * HIDDEN))
    d_w_hh, d_b_hh = np.zeros_like(w_hh), np.zeros_like(b_hh)
    dh = np.zeros((BATCH, HIDDEN))
    d_gh = np.empty((BATCH, 3 * HIDDEN))
    for t in range(len(x) - 1, -1, -1):
        h_prev, r, z, n, gh_n = saved[t]
        dh = dh + v[t]
        da_n = dh * (1 - z) * (1 - n * n)
        da_z = dh * (h_prev - n) * z * (1 - z)
        da_r = da_n * gh_n * r * (1 - r)
        d_gi = d_gi_all[t]
        d_gi[:, :HIDDEN], d_gi[:, HIDDEN:2 * HIDDEN], d_gi[:, 2 * HIDDEN:] = da_r, da_z, da_n
        d_gh[:, :HIDDEN], d_gh[:, HIDDEN:2 * HIDDEN], d_gh[:, 2 * HIDDEN:] = da_r, da_z, da_n * r
        d_w_hh += d_gh.T @ h_prev
        d_b_hh += d_gh.sum(axis=0)
        dh = dh * z + d_gh @ w_hh
    flat_d = d_gi_all.reshape(-1, 3 * HIDDEN)
    return [flat_d.T @ x.reshape(-1, INPUT), d_w_hh, flat_d.sum(axis=0), d_b_hh]


def autodiff_nb_bptt(weights, x, v):
    gru = nn.GRU(INPUT, HIDDEN)
    for p, value in zip(gru.parameters(), weights):
        p.data = value
    out, _ = gru(x)
    (out * v).sum().backward()
    return [p.grad for p in gru.parameters()]


def torch_bptt(weights, x, v):
    import torch
    cell = torch.nn.GRUCell(INPUT, HIDDEN, dtype=torch.float64)
    with torch.no_grad():
        for p, value in zip(cell.parameters(), weights):
            p.copy_(torch.tensor(value))
    xs, vs = torch.from_numpy(x), torch.from_numpy(v)
    h = torch.zeros(BATCH, HIDDEN, dtype=torch.float64)
    loss = 0
    for t in range(len(x)):
        h = cell(xs[t], h)
        loss = loss + (h * vs[t]).sum()
    loss.backward()
    return [p.grad.numpy() for p in cell.parameters()]


def mygrad_bptt(weights, x, v):
    import mygrad as mg
    from mygrad.nnet.activations import sigmoid
    w_ih, w_hh, b_ih, b_hh = [mg.tensor(w) for w in weights]
    h = mg.tensor(np.zeros((BATCH, HIDDEN)), constant=True)
    loss = 0
    for t in range(len(x)):
        gi, gh = mg.matmul(x[t], w_ih.T) + b_ih, mg.matmul(h, w_hh.T) + b_hh
        r = sigmoid(gi[:, :HIDDEN] + gh[:, :HIDDEN])
        z = sigmoid(gi[:, HIDDEN:2 * HIDDEN] + gh[:, HIDDEN:2 * HIDDEN])
        n = mg.tanh(gi[:, 2 * HIDDEN:] + r * gh[:, 2 * HIDDEN:])
        h = n + z * (h - n)
        loss = loss + (h * v[t]).sum()
    loss.backward()
    return [w.grad for w in (w_ih, w_hh, b_ih, b_hh)]


def implementations():
    found = {"hand-written NumPy": numpy_bptt, "autodiff_nb": autodiff_nb_bptt}
    for name, module, run in [("PyTorch GRUCell loop", "torch", torch_bptt),
                              ("MyGrad", "mygrad", mygrad_bptt)]:
        try:
            __import__(module)
        except ImportError:
            print(f"({name}: {module} is not installed, row left out)")
            continue
        found[name] = run
    return found


def check(runs, weights, x, v):
    """Every implementation's gradients against the hand-written floor, before any timing."""
    reference = numpy_bptt(weights, x, v)
    names = ["W_ih", "W_hh", "b_ih", "b_hh"]
    for name, run in runs.items():
        for label, ours, expected in zip(names, run(weights, x, v), reference):
            if not np.allclose(ours, expected, rtol=1e-9, atol=1e-11):
                raise SystemExit(f"{name}: ∇{label} differs from hand-written NumPy by "
                                 f"{np.abs(ours - expected).max():.2e}; no timing reported")


def timed(runs, weights, x, v, repeats):
    best = {name: np.inf for name in runs}
    for round_ in range(repeats):
        order = list(runs)[round_ % len(runs):] + list(runs)[:round_ % len(runs)]
        for name in order:
            start = time.process_time()
            runs[name](weights, x, v)
            best[name] = min(best[name], time.process_time() - start)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 steps, one repeat")
    args = parser.parse_args()
    steps, repeats = (5, 1) if args.quick else (STEPS, REPEATS)
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        pass
    weights, x, v = problem(steps)
    with threadpool_limits(limits=1):
        runs = implementations()
        check(runs, weights, x, v)
        best = timed(runs, weights, x, v, repeats)
    floor = best["hand-written NumPy"]
    print(f"\nGRU, {steps} steps, batch {BATCH}, input {INPUT}, hidden {HIDDEN}: forward + "
          f"backward (float64, 1 thread, best of {repeats}; gradients agree to 1e-9)\n")
    print(f"| implementation | time (ms) | × hand-written NumPy |")
    print(f"|---|---:|---:|")
    for name, seconds in best.items():
        print(f"| {name} | {seconds * 1e3:.1f} | {seconds / floor:.2f} |")
    ratio = best["autodiff_nb"] / floor
    verdict = "meets" if ratio <= TARGET else "misses"
    print(f"\nautodiff_nb / NumPy = {ratio:.2f} ({verdict} the ≤ {TARGET}× target)", end="")
    if "PyTorch GRUCell loop" in best:
        faster = best["autodiff_nb"] < best["PyTorch GRUCell loop"]
        print(f"; {'ahead of' if faster else 'behind'} the PyTorch cell loop "
              f"({best['PyTorch GRUCell loop'] / best['autodiff_nb']:.2f}× its time)")
    else:
        print()


if __name__ == "__main__":
    main()
