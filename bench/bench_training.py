"""End-to-end training speed: ``autodiff_nb.nn`` + ``optim`` against hand-written NumPy and PyTorch.

The same network (64-128-64-10, tanh, softmax cross-entropy, plain SGD) is
trained on scikit-learn's digits from identical initial weights, on identical
minibatches, by three implementations:

* ``autodiff_nb``: ``nn.MLP``, ``nn.CrossEntropyLoss``, ``optim.SGD`` (the tape does backward);
* hand-written NumPy: forward and backward written out by hand, the floor for any NumPy engine;
* PyTorch (float64, one thread).

Everything runs on one BLAS thread (threadpoolctl) so the ratios measure
per-operation overhead, not thread scheduling; times are CPU times, best of
several interleaved repeats. The loss curves are checked to
agree (float64: they should match to ~1e-12) before any time is reported.
Targets: autodiff_nb ≤ 1.6× hand-written NumPy at batch 32, ≤ 1.2× at batch 512.

    python bench/bench_training.py            # the table
    python bench/bench_training.py --profile  # plus where autodiff_nb spends its time
    python bench/bench_training.py --quick    # smoke test: one short repeat, no PyTorch row
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import time

import numpy as np
from threadpoolctl import threadpool_limits

from autodiff_nb import data, nn, optim

SIZES = [64, 128, 64, 10]
LR = 0.1
TARGETS = {32: 1.6, 512: 1.2}
EPOCHS = {32: 3, 512: 30}      # 171 and 120 steps
QUICK_EPOCHS = {32: 1, 512: 1}
REPEATS = 7


def batch_plan(n_rows, batch_size, epochs, seed=0):
    """The row indices of every minibatch, shared by all implementations."""
    rng = np.random.default_rng(seed)
    plan = []
    for _ in range(epochs):
        order = rng.permutation(n_rows)
        plan += [order[i:i + batch_size] for i in range(0, n_rows, batch_size)]
    return plan


def initial_weights(seed=0):
    """[(W, b), ...] in PyTorch layout (W of shape (out, in)), from ``nn.MLP``'s initialisation."""
    model = nn.MLP(SIZES, activation="tanh", seed=seed)
    params = [p.data.copy() for p in model.parameters()]
    return list(zip(params[0::2], params[1::2]))


def train_autodiff_nb(X, y, plan, weights):
    model = nn.MLP(SIZES, activation="tanh", seed=0)
    for p, value in zip(model.parameters(), [a for pair in weights for a in pair]):
        p.data = value.copy()
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.SGD(model.parameters(), lr=LR)
    losses = []
    for rows in plan:
        loss = loss_fn(model(X[rows]), y[rows])     # forward, loss
        optimizer.zero_grad()
        loss.backward()                             # backward
        optimizer.step()                            # step
        losses.append(loss.item())
    return losses


def train_numpy(X, y, plan, weights):
    """Forward and backward by hand: what a careful NumPy programmer would write."""
    params = [(W.copy(), b.copy()) for W, b in weights]
    losses = []
    for rows in plan:
        x, labels = X[rows], y[rows]
        n = len(rows)
        hidden = [x]
        for W, b in params[:-1]:
            hidden.append(np.tanh(hidden[-1] @ W.T + b))
        W, b = params[-1]
        logits = hidden[-1] @ W.T + b
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        picked = np.arange(n), labels
        losses.append(float(np.mean(np.log(total[:, 0]) - shifted[picked])))
        grad = exp / total                       # softmax − one-hot, over n
        grad[picked] -= 1.0
        grad /= n
        for layer in range(len(params) - 1, -1, -1):
            W, b = params[layer]
            h = hidden[layer]
            grad_W, grad_b = grad.T @ h, grad.sum(axis=0)
            if layer:
                grad = (grad @ W) * (1.0 - h * h)
            W -= LR * grad_W
            b -= LR * grad_b
    return losses


def train_torch(X, y, plan, weights):
    import torch
    layers = []
    for i, (W, b) in enumerate(weights):
        linear = torch.nn.Linear(W.shape[1], W.shape[0], dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(W))
            linear.bias.copy_(torch.from_numpy(b))
        layers.append(linear)
        if i < len(weights) - 1:
            layers.append(torch.nn.Tanh())
    model = torch.nn.Sequential(*layers)
    loss_fn = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    losses = []
    for rows in plan:
        index = torch.from_numpy(rows)
        loss = loss_fn(model(Xt[index]), yt[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def timed(run, *args):
    """CPU seconds of one run: with one thread this is its wall time on an idle machine,
    and on a busy one it leaves out the time other processes held the CPU."""
    start = time.process_time()
    losses = run(*args)
    return time.process_time() - start, losses


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", action="store_true",
                        help="also print a cProfile of the autodiff_nb run at batch 32")
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: one short repeat, no PyTorch (its first step alone "
                             "takes seconds)")
    args = parser.parse_args()
    epochs_for = QUICK_EPOCHS if args.quick else EPOCHS
    repeats = 1 if args.quick else args.repeats

    runners = {"hand-written NumPy": train_numpy, "autodiff_nb": train_autodiff_nb}
    if not args.quick:
        try:
            import torch
            torch.set_num_threads(1)
            runners["PyTorch"] = train_torch
        except ImportError:
            print("(PyTorch not installed: its row is skipped)")

    X, y = data.digits()
    weights = initial_weights()
    rows = []
    with threadpool_limits(limits=1):
        for batch_size, epochs in epochs_for.items():
            plan = batch_plan(len(X), batch_size, epochs)
            best = {name: float("inf") for name in runners}
            curves = {}
            for _ in range(repeats):     # interleaved, so drift hits all alike
                for name, run in runners.items():
                    seconds, curves[name] = timed(run, X, y, plan, weights)
                    best[name] = min(best[name], seconds)
            reference = np.array(curves["hand-written NumPy"])
            for name in runners:
                gap = np.abs(np.array(curves[name]) - reference).max()
                if not gap < 1e-9:
                    raise SystemExit(f"{name}: loss curve differs from hand-written NumPy by "
                                     f"{gap:.3g} at batch {batch_size}")
            for name in runners:
                ratio = best[name] / best["hand-written NumPy"]
                rows.append((batch_size, name, len(plan), best[name], ratio,
                             reference[0], reference[-1]))
        if args.profile:
            plan = batch_plan(len(X), 32, epochs_for[32])
            profiler = cProfile.Profile()
            profiler.runcall(train_autodiff_nb, X, y, plan, weights)

    print(f"digits {X.shape}, MLP {'-'.join(map(str, SIZES))} tanh, softmax cross-entropy, "
          f"SGD lr={LR}, float64, 1 thread; CPU time, best of {repeats}")
    print(f"{'batch':>5}  {'implementation':<20}{'steps':>6}{'total ms':>10}{'µs/step':>9}"
          f"{'× NumPy':>9}  {'target':>7}  loss first → last")
    for batch_size, name, steps, seconds, ratio, first, last in rows:
        target = f"≤ {TARGETS[batch_size]}" if name == "autodiff_nb" else ""
        verdict = ("" if not target else " ok" if ratio <= TARGETS[batch_size] else " MISSED")
        print(f"{batch_size:>5}  {name:<20}{steps:>6}{seconds * 1e3:>10.1f}"
              f"{seconds / steps * 1e6:>9.0f}{ratio:>9.2f}  {target:>7}{verdict:<8}"
              f"{first:.4f} → {last:.4f}")
    print("loss curves agree with hand-written NumPy to 1e-9 at every step")
    if args.profile:
        print("\nautodiff_nb at batch 32, by own time:")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
