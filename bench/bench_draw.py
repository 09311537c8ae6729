"""How long drawing takes: building DOT, and rendering it, for tapes of about 20, 200 and 2,000 operations.

The tapes are training steps of a small MLP (3 Linear layers with tanh, a
log-softmax cross-entropy loss and weight decay), made of Tensor operations
on a batch; the larger tapes accumulate the loss over several micro-batches,
as gradient accumulation does. Layers run inside ``autodiff_nb.scope`` as nn
modules do, so scopes can be collapsed.

Columns (each the best of ``--repeat`` interleaved runs, in milliseconds):

* build DOT:    ``draw(loss).source`` (after backward, so gradients are included)
* program alone: the Graphviz program on that same DOT text (subprocess, -Tsvg)
* draw to SVG:  ``draw(loss).svg()``, everything a notebook cell pays
* ratio:        draw to SVG / program alone (target: at most 1.3 for 200 operations)

By default ``draw`` draws scopes as boxes above 100 operations and at most
200 nodes (a note says what was left out). The last rows draw the 200- and
2,000-operation tapes with every operation (``collapse=False,
max_nodes=None``) to show what those defaults avoid.

    python bench/bench_draw.py [--repeat 5] [--program dot|graphviz-pure] [--timeout 30]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import autodiff_nb as ad
from autodiff_nb import render
from autodiff_nb.draw import draw


def training_step(micro_batches, batch=8, sizes=(6, 8, 8, 3), seed=0):
    """The loss of one training step, backward already run; returns (loss, operation count)."""
    rng = np.random.default_rng(seed)
    params = []
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        params.append((ad.Tensor(rng.normal(size=(n_in, n_out)) / np.sqrt(n_in),
                                 requires_grad=True, name=f"W{k + 1}"),
                       ad.Tensor(np.zeros(n_out), requires_grad=True, name=f"b{k + 1}")))
    total = None
    for m in range(micro_batches):
        x = ad.Tensor(rng.normal(size=(batch, sizes[0])), name=f"x{m + 1}")
        y = ad.Tensor(np.eye(sizes[-1])[rng.integers(0, sizes[-1], size=batch)], name=f"y{m + 1}")
        h = x
        for k, (W, b) in enumerate(params):
            with ad.scope(f"{2 * k}.Linear"):
                h = h @ W + b
            if k < len(params) - 1:
                with ad.scope(f"{2 * k + 1}.Tanh"):
                    h = ad.tanh(h)
        with ad.scope("loss"):
            loss = -(ad.log_softmax(h) * y).sum(axis=1).mean()
        total = loss if total is None else total + loss
    with ad.scope("weight_decay"):
        decay = ad.add(*[(W * W).sum() for W, _ in params]) * 1e-4
    total = total / micro_batches + decay
    total.name = "loss"
    # retain_graph: a pass whose gradients pass KEEP_FOR_DRAWING (the 2,000-operation tape)
    # is otherwise released after backward, and its drawing is only a note saying so.
    total.backward(retain_graph=True)
    return total, len(ad.tape_of(total))


def measure(loss, repeat, program, **options):
    """Best times (ms) of building DOT, the program alone, and draw to SVG.

    The three are interleaved, one round at a time, so that a busy machine
    slows them alike and the ratio stays fair.
    """
    source = draw(loss, **options).source
    steps = {"build": lambda: draw(loss, **options).source,
             "alone": lambda: render.render(source, "svg", program=program),
             "full": lambda: draw(loss, **options).svg()}
    best = dict.fromkeys(steps, float("inf"))
    for _ in range(repeat):
        for key, step in steps.items():
            start = time.perf_counter()
            step()
            best[key] = min(best[key], (time.perf_counter() - start) * 1000)
    return best["build"], best["alone"], best["full"], source.count("\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--program", default=None, help="dot, graphviz-pure or a path "
                        "(default: what draw() picks)")
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="give up on one rendering after this many seconds")
    args = parser.parse_args()
    render.set_timeout(args.timeout)
    program = args.program or render.find_program()
    if args.program:
        render.set_program(args.program)
    print(f"program: {program}")
    header = (f"{'tape':>22} {'ops':>5} {'DOT lines':>9} {'build DOT':>10} {'program alone':>14} "
              f"{'draw to SVG':>12} {'ratio':>6}")
    print(header)
    print("-" * len(header))
    cases = [("MLP step, 1 batch", 1, {}), ("14 micro-batches", 14, {}),
             ("142 micro-batches", 142, {}),
             ("14, every operation", 14, {"collapse": False, "max_nodes": None}),
             ("142, every operation", 142, {"collapse": False, "max_nodes": None})]
    for label, micro, options in cases:
        loss, count = training_step(micro)
        repeat = 1 if count > 1000 and options else args.repeat
        try:
            build, alone, full, lines = measure(loss, repeat, program, **options)
        except render.RenderError:
            lines = draw(loss, **options).source.count("\n")
            print(f"{label:>22} {count:>5} {lines:>9}   rendering took longer than "
                  f"{args.timeout:g} s (the default collapse and max_nodes avoid this)")
            continue
        print(f"{label:>22} {count:>5} {lines:>9} {build:>9.1f}  {alone:>13.1f} "
              f"{full:>11.1f}  {full / alone:>5.2f}")

if __name__ == "__main__":
    main()
