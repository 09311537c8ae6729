"""How long the reverse-pass stepper takes on a 200-operation tape (a script, not a timed test).

The tape is the lecture's layer repeated: h = tanh(W h + b) on small vectors,
with h also fed forward a second time (h_next = tanh(W h + b) + h) so that
the reverse pass has "+=" steps, until the tape holds 200 operations.

Rows (each the best of ``--repeat`` runs, in milliseconds):

* one render:  ``draw(loss).svg()`` with every gradient, i.e. one Graphviz run
  (the stepper's single rendering; the yardstick);
* all frames:  ``step_through(loss)`` (the backward pass itself), the one
  rendering, every frame's SVG in Python (``stepper.svg(k)`` for all k) and
  ``to_html()`` (the per-frame JSON, all panels, the player);
  target: at most 2 × one render;
* switch:      the Python side of moving the live widget's slider to another
  frame (restyle + panel + widget value), mean and worst over all frames;
  target: at most 50 ms.

    python bench/bench_stepper.py [--repeat 3] [--operations 200]
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import autodiff_nb as ad
from autodiff_nb.draw import draw


def tape(operations, width=3, seed=0):
    """A loss whose tape holds about ``operations`` operations (forward only)."""
    rng = np.random.default_rng(seed)
    h = ad.Tensor(rng.normal(size=width), requires_grad=True, name="x")
    count, layer = 0, 0
    while count + 6 <= operations - 1:
        layer += 1
        W = ad.Tensor(rng.normal(size=(width, width)) / width, requires_grad=True, name=f"W{layer}")
        b = ad.Tensor(np.zeros(width), requires_grad=True, name=f"b{layer}")
        a = W @ h + b                 # matmul, add
        h = ad.tanh(a) * 0.5 + h      # tanh, mul, add: h is used twice ("+=")
        count += 5
    loss = (h * h).sum()
    count += 2
    return loss, count


def best(function, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--operations", type=int, default=200)
    args = parser.parse_args()

    loss, count = tape(args.operations)
    stepper = ad.step_through(loss, retain_graph=True)
    grads = stepper.replay.final_gradients()

    def one_render():
        draw(loss, grads=grads, collapse=False, max_nodes=None, id_prefix="bench_").svg()

    def all_frames():
        fresh, _ = tape(args.operations)
        s = ad.step_through(fresh)
        for k in range(len(s)):
            s.svg(k)
        s.to_html()

    render_ms = best(one_render, args.repeat)
    frames_ms = best(all_frames, args.repeat)

    control = stepper.widget and stepper._widget
    switches = []
    for k in list(range(len(stepper))) + list(range(len(stepper) - 1, -1, -7)):
        start = time.perf_counter()
        control.slider.value = k
        switches.append((time.perf_counter() - start) * 1000)

    html_kb = len(stepper.to_html().encode()) / 1024
    print(f"tape: {count} operations, {len(stepper)} frames; to_html() is {html_kb:.0f} KiB")
    print(f"| what | ms | target |\n|---|---|---|")
    print(f"| one render (draw + Graphviz) | {render_ms:.1f} | |")
    print(f"| all frames (step_through + render + every frame's SVG + to_html) | {frames_ms:.1f} "
          f"| ≤ {2 * render_ms:.1f} (2 × render): {'ok' if frames_ms <= 2 * render_ms else 'MISSED'} |")
    print(f"| widget frame switch, mean / worst | {statistics.mean(switches):.2f} / "
          f"{max(switches):.2f} | ≤ 50: {'ok' if max(switches) <= 50 else 'MISSED'} |")


if __name__ == "__main__":
    main()
