"""Benchmark autodiff_nb against hand-written NumPy and other autodiff systems.

A script, not a test: ``python bench/bench_engine.py`` prints, in one run,

1. time per training step of an MLP 64-128-64-10 (tanh, softmax
   cross-entropy, SGD lr 0.1) on scikit-learn's digits at batch 32 and 512;
2. time per operation of a 1000-step elementwise chain h = tanh(h * w + b),
   forward and backward, on 1-element and 1000-element arrays;
3. resident memory over many autodiff_nb training steps at batch 32;

each as a ratio to hand-written NumPy measured in the same run, beside the
targets. Every system starts from the same float64 weights and sees the same
batches; the run aborts if any system's losses (or chain gradients) drift
from hand-written NumPy beyond ``--rtol``, since a timing of a wrong
computation means nothing. Everything runs on one BLAS thread, and systems
are interleaved in rounds so that they share the machine's noise.

``--quick`` is a smoke run (seconds; used by tests/test_bench_smoke.py),
``--profile`` prints cProfile tables of the autodiff_nb MLP step and chain
instead of the benchmarks. See bench/README.md.
"""
from __future__ import annotations

import argparse
import gc
import cProfile
import math
from importlib import metadata
import os
import platform
import pstats
import statistics
import sys
import time
from dataclasses import dataclass, field

import numpy as np

try:
    import psutil
    from sklearn.datasets import load_digits
    from threadpoolctl import threadpool_info, threadpool_limits
except ImportError as exc:  # the required benchmark dependencies, not the peers
    sys.exit(f"bench_engine: {exc.name} is missing; install the benchmark extras: "
             f"pip install -e '.[bench]'")

import autodiff_nb as ad

# --- optional peers: each one is skipped, with a note, when it is not installed ---------

PEER_NOTES = []


def _optional(module, pip_name):
    try:
        return __import__(module, fromlist=["_"])
    except ImportError:
        PEER_NOTES.append(f"{pip_name} is not installed: skipped (pip install {pip_name})")
        return None


torch = _optional("torch", "torch")
autograd = _optional("autograd", "autograd")
mygrad = _optional("mygrad", "mygrad")
micrograd_engine = _optional("micrograd.engine", "micrograd")
if autograd is not None:
    import autograd.numpy as anp
if mygrad is not None:
    from mygrad.nnet import logsoftmax as mygrad_logsoftmax

SIZES = (64, 128, 64, 10)
LEARNING_RATE = 0.1
OPS_PER_LINK = 3              # mul, add, tanh
TARGETS = {                   # autodiff_nb time / hand-written NumPy time, at most
    "mlp32": 1.5,
    "mlp512": 1.15,
    "chain1": 2.5,
}
NUMPY = "NumPy (hand-written)"
TABLE_HEADER_START = "| Benchmark | " + NUMPY


# --- data and initial weights --------------------------------------------------------

def digits():
    data = load_digits()
    return data.data.astype(np.float64) / 16.0, data.target.astype(np.intp)


def initial_weights(seed=0):
    """W1, b1, W2, b2, W3, b3 in float64 (uniform ±1/sqrt(fan_in), as torch.nn.Linear)."""
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        bound = 1.0 / math.sqrt(fan_in)
        params.append(rng.uniform(-bound, bound, (fan_in, fan_out)))
        params.append(rng.uniform(-bound, bound, fan_out))
    return params


def batch_schedule(n_samples, batch, n_batches, seed=1):
    """Index arrays of ``n_batches`` batches drawn epoch by epoch from one fixed shuffle."""
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n_batches:
        order = rng.permutation(n_samples)
        out.extend(order[i:i + batch] for i in range(0, n_samples - batch + 1, batch))
    return out[:n_batches]


# --- the MLP step, once per system -----------------------------------------------------
# Each trainer owns copies of the weights and its batches in its own format, and
# ``step()`` does one forward, backward and SGD update on the next batch, returning the
# loss as a float (as a training loop that logs its loss would).

class Trainer:
    def __init__(self, params, batches):
        self.batches = [self.convert_batch(x, y) for x, y in batches]
        self.i = 0
        self.losses = []

    def convert_batch(self, x, y):
        return x, y, np.arange(len(y))

    def step(self):
        batch = self.batches[self.i % len(self.batches)]
        self.i += 1
        loss = self.train_step(*batch)
        self.losses.append(loss)
        return loss


class NumpyMLP(Trainer):
    """Forward and backward written out by hand: the floor."""

    def __init__(self, params, batches):
        super().__init__(params, batches)
        self.params = [p.copy() for p in params]

    def train_step(self, x, y, rows):
        W1, b1, W2, b2, W3, b3 = self.params
        h1 = np.tanh(x @ W1 + b1)
        h2 = np.tanh(h1 @ W2 + b2)
        z3 = h2 @ W3 + b3
        shifted = z3 - z3.max(axis=1, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        loss = -logp[rows, y].mean()
        dz3 = np.exp(logp)
        dz3[rows, y] -= 1.0
        dz3 /= len(y)
        dz2 = (dz3 @ W3.T) * (1.0 - h2 * h2)
        dz1 = (dz2 @ W2.T) * (1.0 - h1 * h1)
        grads = (x.T @ dz1, dz1.sum(axis=0), h1.T @ dz2, dz2.sum(axis=0),
                 h2.T @ dz3, dz3.sum(axis=0))
        for p, g in zip(self.params, grads):
            p -= LEARNING_RATE * g
        return float(loss)


class AutodiffNbMLP(Trainer):
    """autodiff_nb Tensor operations only (no autodiff_nb.nn): matmul, add, tanh, log_softmax, indexing, mean."""

    def __init__(self, params, batches):
        super().__init__(params, batches)
        self.params = [ad.Tensor(p, requires_grad=True) for p in params]

    def convert_batch(self, x, y):
        return ad.Tensor(x), y, np.arange(len(y))

    def train_step(self, x, y, rows):
        W1, b1, W2, b2, W3, b3 = self.params
        h1 = (x @ W1 + b1).tanh()
        h2 = (h1 @ W2 + b2).tanh()
        logp = (h2 @ W3 + b3).log_softmax(axis=1)
        loss = -logp[rows, y].mean()
        loss.backward()
        for p in self.params:
            p.data -= LEARNING_RATE * p.grad
            p.grad = None
        return loss.item()


class TorchMLP(Trainer):
    def __init__(self, params, batches):
        super().__init__(params, batches)
        self.params = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in params]

    def convert_batch(self, x, y):
        return torch.from_numpy(x), torch.from_numpy(y), torch.arange(len(y))

    def train_step(self, x, y, rows):
        W1, b1, W2, b2, W3, b3 = self.params
        h1 = torch.tanh(x @ W1 + b1)
        h2 = torch.tanh(h1 @ W2 + b2)
        logp = torch.log_softmax(h2 @ W3 + b3, dim=1)
        loss = -logp[rows, y].mean()
        loss.backward()
        with torch.no_grad():
            for p in self.params:
                p -= LEARNING_RATE * p.grad
                p.grad = None
        return loss.item()


def _autograd_mlp_loss(params, x, y, rows):
    W1, b1, W2, b2, W3, b3 = params
    h1 = anp.tanh(anp.dot(x, W1) + b1)
    h2 = anp.tanh(anp.dot(h1, W2) + b2)
    z3 = anp.dot(h2, W3) + b3
    # autograd.numpy only: autograd.scipy.special.logsumexp goes through SciPy's array-API
    # dispatch, which costs more than the rest of the batch-32 step.
    shifted = z3 - anp.max(z3, axis=1, keepdims=True)
    logp = shifted - anp.log(anp.sum(anp.exp(shifted), axis=1, keepdims=True))
    return -anp.mean(logp[rows, y])


class AutogradMLP(Trainer):
    """HIPS autograd; value_and_grad is autograd.grad that also returns the loss."""

    def __init__(self, params, batches):
        super().__init__(params, batches)
        self.params = [p.copy() for p in params]
        self.value_and_grad = autograd.value_and_grad(_autograd_mlp_loss)

    def train_step(self, x, y, rows):
        loss, grads = self.value_and_grad(self.params, x, y, rows)
        for p, g in zip(self.params, grads):
            p -= LEARNING_RATE * g
        return float(loss)


class MygradMLP(Trainer):
    def __init__(self, params, batches):
        super().__init__(params, batches)
        self.params = [mygrad.Tensor(p.copy()) for p in params]

    def train_step(self, x, y, rows):
        W1, b1, W2, b2, W3, b3 = self.params
        h1 = mygrad.tanh(mygrad.matmul(x, W1) + b1)
        h2 = mygrad.tanh(mygrad.matmul(h1, W2) + b2)
        logp = mygrad_logsoftmax(mygrad.matmul(h2, W3) + b3, axis=1)
        loss = -logp[rows, y].mean()
        loss.backward()
        for p in self.params:
            p.data -= LEARNING_RATE * p.grad
        return loss.item()


# --- the elementwise chain, once per system ------------------------------------------
# ``run()`` computes h = tanh(h * w + b) ``length`` times from h0, then the gradient of
# sum(h) with respect to w and b; it returns (sum(h), dw, db) as NumPy arrays.

def numpy_chain(w, b, h0, length):
    def run():
        hs = [h0]
        h = h0
        for _ in range(length):
            h = np.tanh(h * w + b)
            hs.append(h)
        gh = np.ones_like(h)
        gw = np.zeros_like(w)
        gb = np.zeros_like(b)
        for i in range(length, 0, -1):
            gz = gh * (1.0 - hs[i] * hs[i])
            gb += gz
            gw += gz * hs[i - 1]
            gh = gz * w
        return h.sum(), gw, gb
    return run


def autodiff_nb_chain(w, b, h0, length):
    tw, tb, th0 = (ad.Tensor(w, requires_grad=True), ad.Tensor(b, requires_grad=True),
                   ad.Tensor(h0))

    def run():
        h = th0
        for _ in range(length):
            h = (h * tw + tb).tanh()
        out = h.sum()
        out.backward()
        gw, gb = tw.grad, tb.grad
        tw.grad = tb.grad = None
        return out.item(), gw, gb
    return run


def torch_chain(w, b, h0, length):
    tw, tb, th0 = (torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True),
                   torch.tensor(h0))

    def run():
        h = th0
        for _ in range(length):
            h = torch.tanh(h * tw + tb)
        out = h.sum()
        out.backward()
        gw, gb = tw.grad.numpy(), tb.grad.numpy()
        tw.grad = tb.grad = None
        return out.item(), gw, gb
    return run


def autograd_chain(w, b, h0, length):
    def total(wb):
        w_, b_ = wb   # unpacked once: indexing the traced tuple is itself a recorded operation
        h = h0
        for _ in range(length):
            h = anp.tanh(h * w_ + b_)
        return anp.sum(h)

    value_and_grad = autograd.value_and_grad(total)

    def run():
        out, (gw, gb) = value_and_grad((w, b))
        return float(out), gw, gb
    return run


def mygrad_chain(w, b, h0, length):
    tw, tb = mygrad.Tensor(w), mygrad.Tensor(b)

    def run():
        h = h0
        for _ in range(length):
            h = mygrad.tanh(h * tw + tb)
        out = h.sum()
        out.backward()
        return out.item(), tw.grad, tb.grad
    return run


def micrograd_tanh(v):
    """tanh for micrograd 0.1.0's Value, built the way Karpathy's later version does."""
    t = math.tanh(v.data)
    out = micrograd_engine.Value(t, (v,), "tanh")

    def _backward():
        v.grad += (1 - t * t) * out.grad
    out._backward = _backward
    return out


def micrograd_chain(w, b, h0, length):
    if w.size != 1:
        return None   # micrograd is scalar-only
    Value = micrograd_engine.Value
    # Value.backward's topological sort recurses once per node of the chain.
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 4 * OPS_PER_LINK * length + 1000))

    def run():
        vw, vb = Value(float(w[0])), Value(float(b[0]))
        h = Value(float(h0[0]))
        for _ in range(length):
            h = micrograd_tanh(h * vw + vb)
        h.backward()
        return h.data, np.array([vw.grad]), np.array([vb.grad])
    return run


# --- the systems ----------------------------------------------------------------------

@dataclass
class System:
    name: str
    mlp: type | None
    chain: object | None


def systems():
    """Hand-written NumPy first (every ratio is to it), then autodiff_nb, then the installed peers."""
    found = [System(NUMPY, NumpyMLP, numpy_chain), System("autodiff_nb", AutodiffNbMLP, autodiff_nb_chain)]
    if torch is not None:
        found.append(System("PyTorch", TorchMLP, torch_chain))
    if autograd is not None:
        found.append(System("autograd", AutogradMLP, autograd_chain))
    if mygrad is not None:
        found.append(System("MyGrad", MygradMLP, mygrad_chain))
    if micrograd_engine is not None:
        found.append(System("micrograd", None, micrograd_chain))
    return found


# --- agreement checks -----------------------------------------------------------------

def abort(message):
    print(f"\nABORT: {message}", flush=True)
    sys.exit(1)


def check_losses(trainers, rtol):
    """Every system's loss curve against hand-written NumPy's; abort on the first drift."""
    reference = np.array(trainers[NUMPY].losses)
    worst = 0.0
    for name, trainer in trainers.items():
        losses = np.array(trainer.losses)
        diff = np.abs(losses - reference) / np.maximum(1.0, np.abs(reference))
        if not np.all(np.isfinite(losses)) or np.any(diff > rtol):
            step = int(np.argmax(~np.isfinite(losses) | (diff > rtol)))
            abort(f"{name}'s loss diverges from hand-written NumPy at step {step}: "
                  f"{float(losses[step])!r} vs {float(reference[step])!r} (relative difference "
                  f"{diff[step]:.2e} > tolerance {rtol:.0e}). Its timings would be "
                  f"meaningless; fix the model or the engine first.")
        worst = max(worst, float(diff.max()))
    return len(reference), worst


def check_chain(name, result, reference, rtol, size):
    for what, got, want in zip(("sum(h)", "dL/dw", "dL/db"), result, reference):
        got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
        if got.shape != want.shape or not np.allclose(got, want, rtol=rtol, atol=rtol):
            abort(f"{name}'s chain {what} on {size}-element arrays differs from hand-written "
                  f"NumPy: max |difference| {np.max(np.abs(got - want)):.2e} > tolerance "
                  f"{rtol:.0e}.")


# --- timing ---------------------------------------------------------------------------

def rotated(items, k):
    k %= len(items)
    return items[k:] + items[:k]


def time_mlp(trainers, rounds, steps_per_round):
    """Median seconds per step; systems take turns, a different one first each round."""
    names = list(trainers)
    times = {name: [] for name in names}
    clock = time.perf_counter
    for r in range(rounds):
        for name in rotated(names, r):
            step = trainers[name].step
            gc.collect()    # untimed: nobody pays for garbage another system left behind
            for _ in range(steps_per_round):
                start = clock()
                step()
                times[name].append(clock() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def time_chain(runs, rounds):
    """Median seconds per whole chain (forward and backward) over ``rounds`` interleaved runs."""
    names = list(runs)
    times = {name: [] for name in names}
    for r in range(rounds):
        for name in rotated(names, r):
            gc.collect()    # untimed, as in time_mlp
            start = time.perf_counter()
            runs[name]()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


# --- the three benchmarks ----------------------------------------------------------------

@dataclass
class Row:
    label: str
    key: str
    seconds: dict = field(default_factory=dict)   # system name -> median seconds
    notes: dict = field(default_factory=dict)     # system name -> why there is no number


def bench_mlp(batch, args, x_all, y_all, params):
    n_check = args.check_steps
    n_steps = n_check + args.rounds * args.steps_per_round
    batches = [(x_all[i], y_all[i]) for i in batch_schedule(len(y_all), batch, n_steps)]
    row = Row(f"MLP step, batch {batch}", f"mlp{batch}")
    trainers = {}
    for system in systems():
        if system.mlp is None:
            row.notes[system.name] = "scalar-only"
            continue
        trainers[system.name] = system.mlp(params, batches)
    for trainer in trainers.values():          # warm-up, and the first agreement check
        for _ in range(n_check):
            trainer.step()
    check_losses(trainers, args.rtol)
    row.seconds = time_mlp(trainers, args.rounds, args.steps_per_round)
    steps, worst = check_losses(trainers, args.rtol)
    print(f"Loss curves agree with hand-written NumPy at batch {batch}: {len(trainers)} systems, "
          f"{steps} steps each, max relative difference {worst:.1e} (tolerance {args.rtol:.0e}); "
          f"final loss {trainers[NUMPY].losses[-1]:.4f}", flush=True)
    return row


def bench_chain(size, args):
    rng = np.random.default_rng(2)
    w = rng.uniform(0.5, 1.0, size)
    b = rng.uniform(-0.2, 0.2, size)
    h0 = rng.uniform(-1.0, 1.0, size)
    row = Row(f"chain, per op, {size}-element", f"chain{size}")
    runs = {}
    for system in systems():
        run = system.chain(w, b, h0, args.chain_length)
        if run is None:
            row.notes[system.name] = "scalar-only"
            continue
        runs[system.name] = run
    reference = runs[NUMPY]()
    for name, run in runs.items():             # warm-up, and the agreement check
        check_chain(name, run(), reference, args.rtol, size)
    per_chain = time_chain(runs, args.chain_rounds)
    row.seconds = {name: t / (OPS_PER_LINK * args.chain_length) for name, t in per_chain.items()}
    print(f"Chain results agree with hand-written NumPy on {size}-element arrays "
          f"(sum(h), dL/dw, dL/db; tolerance {args.rtol:.0e})", flush=True)
    return row


def live_records():
    """Recorded tensors still alive between steps (a leak would make this grow)."""
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is ad.Tensor and o._record is not None)


def bench_memory(args, x_all, y_all, params):
    """RSS of the autodiff_nb MLP at batch 32 after a short warm-up, at 1/5 of the steps, at the end."""
    steps = args.steps
    batches = [(x_all[i], y_all[i]) for i in batch_schedule(len(y_all), 32, 200)]
    trainer = AutodiffNbMLP(params, batches)
    process = psutil.Process()
    for _ in range(10):
        trainer.step()
    samples = [(0, process.memory_info().rss, live_records())]
    done = 0
    for checkpoint in sorted({max(1, steps // 5), steps}):
        for _ in range(checkpoint - done):
            trainer.step()
        done = checkpoint
        samples.append((done, process.memory_info().rss, live_records()))
    return samples


# --- printing -------------------------------------------------------------------------

def fmt_time(seconds):
    if seconds < 1e-3:
        return f"{seconds * 1e6:.3g} µs"
    return f"{seconds * 1e3:.3g} ms"


def print_table(rows, names):
    print(f"{TABLE_HEADER_START} | " + " | ".join(names[1:]) + " | autodiff_nb target |")
    print("|---|" + "---:|" * len(names) + "---|")
    for row in rows:
        base = row.seconds[NUMPY]
        cells = []
        for name in names:
            if name in row.seconds:
                seconds = row.seconds[name]
                cells.append(fmt_time(seconds) if name == NUMPY
                             else f"{fmt_time(seconds)} ({seconds / base:.2f}×)")
            else:
                cells.append(row.notes.get(name, "—"))
        target = TARGETS.get(row.key)
        if target is None:
            verdict = "—"
        else:
            ratio = row.seconds["autodiff_nb"] / base
            verdict = f"≤ {target}× {'met' if ratio <= target else 'MISSED'} ({ratio:.2f}×)"
        print(f"| {row.label} | " + " | ".join(cells) + f" | {verdict} |")


def print_memory(samples):
    start = samples[0][1]
    print("| autodiff_nb MLP, batch 32 | RSS | growth since start | live recorded tensors |")
    print("|---|---:|---:|---:|")
    for steps, rss, records in samples:
        label = "start (after 10 warm-up steps)" if steps == 0 else f"after {steps:,} steps"
        print(f"| {label} | {rss / 2**20:.1f} MiB | {(rss - start) / 2**20:+.1f} MiB "
              f"({100 * (rss - start) / start:+.1f}%) | {records} |")
    growth = (samples[-1][1] - start) / start
    verdict = "FLAG: grew by more than 10%" if growth > 0.10 else "ok: growth within 10%"
    print(f"\nMemory: {verdict} ({100 * growth:+.1f}% over {samples[-1][0]:,} steps)")


def print_environment():
    print("## Environment\n")
    print(f"- Python {platform.python_version()} on {platform.machine()}, "
          f"{os.cpu_count()} CPUs ({platform.processor() or platform.platform()})")
    if hasattr(os, "getloadavg"):   # timings from a machine busier than its CPU count mislead
        print("- load average at start (1, 5, 15 min): "
              + ", ".join(f"{load:.1f}" for load in os.getloadavg()))
    versions = [f"numpy {np.__version__}", f"autodiff_nb {ad.__version__}"]
    for module, label in ((torch, "torch"), (autograd, "autograd"), (mygrad, "mygrad"),
                          (micrograd_engine, "micrograd")):
        if module is not None:
            versions.append(f"{label} {metadata.version(label)}")
    print("- " + ", ".join(versions))
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        print(f"- {var}={os.environ.get(var, '(unset)')}")
    print("- thread pools (threadpoolctl, after limiting to 1 thread):")
    for pool in threadpool_info():
        extra = ", ".join(f"{k} {pool[k]}" for k in ("version", "threading_layer", "architecture")
                          if pool.get(k))
        print(f"  - {pool['user_api']}/{pool['internal_api']} ({extra}), "
              f"num_threads={pool['num_threads']}: {pool['filepath']}")
    if torch is not None:
        print(f"- torch.get_num_threads() = {torch.get_num_threads()}")
    for note in PEER_NOTES:
        print(f"- {note}")
    print()


# --- profiling --------------------------------------------------------------------------

def profile(args, x_all, y_all, params, top=20):
    """cProfile of the autodiff_nb MLP step at batch 32 and of the 1-element chain."""
    batches = [(x_all[i], y_all[i]) for i in batch_schedule(len(y_all), 32, 200)]
    trainer = AutodiffNbMLP(params, batches)
    for _ in range(20):
        trainer.step()
    rng = np.random.default_rng(2)
    chain = autodiff_nb_chain(rng.uniform(0.5, 1.0, 1), rng.uniform(-0.2, 0.2, 1),
                              rng.uniform(-1.0, 1.0, 1), args.chain_length)
    chain()
    jobs = ((f"autodiff_nb MLP step, batch 32 ({args.steps} steps)",
             lambda: [trainer.step() for _ in range(args.steps)]),
            (f"autodiff_nb chain, 1-element ({args.chain_rounds} runs of "
             f"{OPS_PER_LINK * args.chain_length} ops)",
             lambda: [chain() for _ in range(args.chain_rounds)]))
    for title, job in jobs:
        profiler = cProfile.Profile()
        profiler.runcall(job)
        print(f"## cProfile: {title}, top {top} by tottime\n", flush=True)
        pstats.Stats(profiler, stream=sys.stdout).strip_dirs().sort_stats("tottime") \
            .print_stats(top)


# --- main -------------------------------------------------------------------------------

def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run in seconds (few rounds; default --steps 200)")
    parser.add_argument("--steps", type=int, default=None,
                        help="training steps for the memory check (default 5000; --profile: "
                             "profiled MLP steps, default 500)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="interleaved timing rounds per MLP batch size (default 30)")
    parser.add_argument("--steps-per-round", type=int, default=None,
                        help="timed MLP steps per system per round (default 20)")
    parser.add_argument("--check-steps", type=int, default=None,
                        help="warm-up steps whose losses are checked before timing (default 20)")
    parser.add_argument("--chain-rounds", type=int, default=None,
                        help="interleaved runs of the chain per system (default 30)")
    parser.add_argument("--chain-length", type=int, default=None,
                        help="links of the elementwise chain (default 1000; --quick 200)")
    parser.add_argument("--rtol", type=float, default=1e-8,
                        help="largest relative loss difference to hand-written NumPy (1e-8)")
    parser.add_argument("--profile", action="store_true",
                        help="print cProfile tables of the autodiff_nb MLP step and chain instead")
    args = parser.parse_args(argv)
    defaults = dict(steps=200, rounds=2, steps_per_round=3, check_steps=5, chain_rounds=1,
                    chain_length=200) \
        if args.quick else dict(steps=500 if args.profile else 5000, rounds=30,
                                steps_per_round=20, check_steps=20, chain_rounds=30,
                                chain_length=1000)
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.steps < 1:
        parser.error("--steps must be at least 1")
    return args


def main(argv=None):
    args = parse_args(argv)
    threadpool_limits(1)
    if torch is not None:
        torch.set_num_threads(1)
    x_all, y_all = digits()
    params = initial_weights()
    if args.profile:
        profile(args, x_all, y_all, params)
        return
    started = time.perf_counter()
    print("# autodiff_nb engine benchmark" + (" (--quick smoke run)" if args.quick else "") + "\n")
    print_environment()
    # Memory first, on a heap that only the imports have grown: memory that the other
    # benchmarks free stays in the process and could hide a leak.
    memory = bench_memory(args, x_all, y_all, params)
    print("## Checks\n", flush=True)
    rows = [bench_mlp(32, args, x_all, y_all, params), bench_mlp(512, args, x_all, y_all, params),
            bench_chain(1, args), bench_chain(1000, args)]
    print("\n## Time per MLP step / per chain operation (median; ratio to hand-written NumPy)\n")
    print_table(rows, [s.name for s in systems()])
    print(f"\nMLP: {args.rounds} rounds × {args.steps_per_round} timed steps per system after "
          f"{args.check_steps} warm-up steps. Chain: {args.chain_length} links × {OPS_PER_LINK} ops "
          f"(mul, add, tanh), forward and backward, {args.chain_rounds} run(s) per system after "
          f"a warm-up run; time per op = time per run / {OPS_PER_LINK * args.chain_length}.\n")
    print("## Resident memory\n", flush=True)
    print_memory(memory)
    print(f"\nTotal time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
