"""Count the CPU instructions autodiff_nb spends per chain link or per MLP step, under callgrind.

Timings on a shared, noisy machine wander by 10-30 % between runs; instruction
counts from ``valgrind --tool=callgrind`` do not (the same program and inputs
give the same count whatever else the machine is doing). This script runs a
workload twice in fresh processes, with 0 and with ``--repeat`` units of work,
and divides the difference by ``--repeat``, so importing the package and
starting Python cancel out. For an A/B of two versions, point ``--source`` at
a checkout of each (e.g. ``git worktree add /tmp/old <commit>``); the counts
are comparable as long as NumPy and Python are the same.

    python bench/bench_instructions.py                       # chain and MLP, this checkout
    python bench/bench_instructions.py --source /tmp/old     # the same for another checkout

It needs valgrind (Debian package ``valgrind``) and takes a few minutes.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# One link of the chain is h = tanh(h * w + b) on 1-element arrays (3 recorded
# operations), forward and backward; one MLP step is bench_engine.py's model
# (64-128-64-10, tanh, log-softmax cross-entropy, batch 32) with an SGD update
# written as ``p.data -= lr * p.grad``; one GRU pass is bench_rnn.py's (50 steps, batch 32,
# input 32, hidden 64, forward and backward).
WORKLOAD = r'''
import gc
import sys
import numpy as np
import autodiff_nb as ad

# A full collection walks every object alive, the imported modules' included: one
# landing in the run with n units and not in the run with 0 would add millions of
# instructions. Frozen, those objects are left out of every collection.
gc.freeze()

kind, n = sys.argv[1], int(sys.argv[2])
if kind == "chain":
    w = ad.Tensor(np.full(1, 0.5), requires_grad=True)
    b = ad.Tensor(np.full(1, 0.1), requires_grad=True)
    h = ad.Tensor(np.full(1, 0.3))
    for _ in range(n):
        h = ad.tanh(h * w + b)
    if n:
        h.sum().backward()
elif kind == "gru":
    rng = np.random.default_rng(0)
    gru = ad.nn.GRU(32, 64, seed=0)
    x, v = rng.standard_normal((50, 32, 32)), rng.standard_normal((50, 32, 64))
    for _ in range(n):
        out, _ = gru(x)
        (out * v).sum().backward()
        for p in gru.parameters():
            p.grad = None
else:
    rng = np.random.default_rng(0)
    x, y = ad.Tensor(rng.standard_normal((32, 64))), rng.integers(0, 10, 32)
    shapes = [(64, 128), (128, 64), (64, 10)]
    weights = [ad.Tensor(rng.standard_normal(s) * 0.1, requires_grad=True) for s in shapes]
    biases = [ad.Tensor(np.zeros(s[1]), requires_grad=True) for s in shapes]
    rows = np.arange(32)
    for _ in range(n):
        h = x
        for i, (W, b) in enumerate(zip(weights, biases)):
            h = h @ W + b
            if i < 2:
                h = ad.tanh(h)
        loss = -ad.log_softmax(h)[rows, y].mean()
        loss.backward()
        for p in weights + biases:
            p.data -= 0.1 * p.grad
            p.grad = None
        loss.item()
'''


def count(source: Path, kind: str, n: int) -> int:
    env = dict(os.environ, PYTHONPATH=str(source), OPENBLAS_NUM_THREADS="1",
               PYTHONHASHSEED="0")
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
         sys.executable, "-c", WORKLOAD, kind, str(n)],
        env=env, cwd=source, capture_output=True, text=True, check=True)   # cwd: -c puts it first
    found = re.search(r"Collected : (\d+)", done.stderr)
    if not found:
        raise SystemExit(f"bench_instructions: no count in callgrind's output:\n{done.stderr}")
    return int(found[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=HERE.parent,
                        help="checkout whose autodiff_nb to import (default: this one)")
    parser.add_argument("--chain-links", type=int, default=1500)
    parser.add_argument("--mlp-steps", type=int, default=40)
    parser.add_argument("--gru-passes", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("bench_instructions: valgrind is not installed (apt install valgrind)")
    print(f"| workload ({args.source}) | instructions per unit |\n|---|---:|")
    for kind, n, unit in (("chain", args.chain_links, "chain link (3 operations)"),
                          ("mlp", args.mlp_steps, "MLP step, batch 32"),
                          ("gru", args.gru_passes, "GRU pass, 50 steps (bench_rnn.py)")):
        per_unit = (count(args.source, kind, n) - count(args.source, kind, 0)) / n
        print(f"| {unit} | {per_unit / 1e3:,.1f} K |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
