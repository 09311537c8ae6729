"""``train``: the lecture's four steps (forward, loss, backward, step), repeated over minibatches.

The helper only adds bookkeeping around the loop a learner would write by
hand: a history of losses and accuracies, validation, an optional live loss
plot, an optional progress bar, and a clear stop when the loss stops being a
number.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field

import numpy as np

from .data import batches
from .core.tape import no_grad

PROGRESS_MIN_STEPS = 2000   # progress=None shows a bar only for runs at least this long


class LossNotFiniteError(FloatingPointError):
    """The training loss became NaN or infinite; ``.history`` holds what was recorded so far."""

    def __init__(self, message, history):
        super().__init__(message)
        self.history = history


@dataclass
class History:
    """What ``train`` recorded: one entry per step in ``step_loss``, per epoch in the rest.

    ``accuracy``/``val_accuracy`` stay empty when the loss has no notion of a
    correct prediction (``MSELoss``); ``val_*`` stay empty without ``val=``.
    """

    step_loss: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    accuracy: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_accuracy: list = field(default_factory=list)

    @property
    def epochs(self):
        return len(self.loss)

    def __repr__(self):
        parts = [f"epochs={self.epochs}", f"steps={len(self.step_loss)}"]
        for name in ("loss", "accuracy", "val_loss", "val_accuracy"):
            values = getattr(self, name)
            if values:
                parts.append(f"{name}={values[-1]:.4f}")
        return f"History({', '.join(parts)})"


def evaluate(model, loss_fn, X, y, batch_size=1024):
    """Loss and accuracy (None for regression) of ``model`` on ``(X, y)``, without recording."""
    correct = getattr(loss_fn, "correct", None)
    total_loss, right = 0.0, 0
    with no_grad():
        for X_batch, y_batch in batches(X, y, batch_size, shuffle=False):
            output = model(X_batch)
            total_loss += loss_fn(output, y_batch).item() * len(X_batch)
            if correct is not None:
                right += correct(output.data, y_batch)
    return total_loss / len(X), (right / len(X) if correct is not None else None)


def _interactive():
    """True in a Jupyter kernel or a terminal; False under redirection (logs, CI)."""
    try:
        from IPython import get_ipython
        if getattr(get_ipython(), "kernel", None) is not None:
            return True
    except ImportError:
        pass
    return sys.stdout.isatty()


def _progress_bar(progress, total):
    if progress is None:
        progress = total >= PROGRESS_MIN_STEPS and _interactive()
    if not progress:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, unit="step", leave=True)


def _check_finite(loss_value, epoch, epochs, step, steps_per_epoch, optimizer, history):
    if np.isfinite(loss_value):
        return
    lr = getattr(optimizer, "lr", None)
    hint = f" (lr={lr})" if lr is not None else ""
    raise LossNotFiniteError(
        f"train: the loss became {loss_value} at epoch {epoch + 1} of {epochs}, "
        f"step {step + 1} of {steps_per_epoch} (step {len(history.step_loss) + 1} overall); "
        f"the updates grew too large: try a smaller learning rate{hint}, or check the data "
        f"for NaN/inf", history)


def train(model, loss_fn, optimizer, X, y, epochs=10, batch_size=None, val=None,
          callbacks=(), plot=False, progress=None, shuffle=True, seed=0):
    """Train ``model`` on ``(X, y)`` and return a ``History``.

    Each step is the lecture's four steps; written by hand the loop is::

        for epoch in range(epochs):
            for X_batch, y_batch in data.batches(X, y, batch_size, seed=rng):
                output = model(X_batch)             # 1. forward
                loss = loss_fn(output, y_batch)     # 2. loss
                optimizer.zero_grad()
                loss.backward()                     # 3. backward: fills p.grad
                optimizer.step()                    # 4. step: p.data -= lr * p.grad ...

    ``batch_size=None`` uses the whole set each step. Minibatches are
    shuffled (``shuffle``) from a generator seeded with ``seed``, so a run is
    repeatable. ``val=(X_val, y_val)`` adds validation loss (and accuracy) at
    the end of each epoch. Each callback is called as ``callback(epoch,
    history)`` after every epoch; returning True stops training.

    ``plot=True`` draws a live ``viz.LossPlot`` in the notebook (one image,
    updated in place, at most a few times a second); a ``LossPlot`` instance
    may be passed instead. ``progress`` shows a tqdm bar: True/False force it;
    None (the default) shows it for runs of at least ``PROGRESS_MIN_STEPS``
    steps in a notebook or terminal. The bar prints timings, so lessons that
    are checked by nbval must pass ``progress=False``.

    A loss that becomes NaN or inf stops training with ``LossNotFiniteError``,
    naming the epoch and step; its ``.history`` holds the run so far.
    """
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"train: X has {len(X)} rows but y has {len(y)}; expected one target "
                         f"per row")
    batch_size = len(X) if batch_size is None else int(batch_size)
    steps_per_epoch = -(-len(X) // batch_size)
    correct = getattr(loss_fn, "correct", None)
    rng = np.random.default_rng(seed)
    history = History()
    live = _loss_plot(plot)
    bar = _progress_bar(progress, epochs * steps_per_epoch)
    model.train()
    try:
        for epoch in range(epochs):
            total_loss, right = 0.0, 0
            for step, (X_batch, y_batch) in enumerate(
                    batches(X, y, batch_size, shuffle=shuffle, seed=rng)):
                output = model(X_batch)
                loss = loss_fn(output, y_batch)
                loss_value = loss.item()
                _check_finite(loss_value, epoch, epochs, step, steps_per_epoch, optimizer,
                              history)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()

                history.step_loss.append(loss_value)
                total_loss += loss_value * len(X_batch)
                if correct is not None:
                    right += correct(output.data, y_batch)
                if live is not None:
                    live.update(len(history.step_loss), loss_value)
                if bar is not None:
                    bar.update()
            _end_epoch(history, model, loss_fn, val, total_loss / len(X),
                       right / len(X) if correct is not None else None)
            if live is not None:
                live.update(len(history.step_loss), **_epoch_metrics(history))
            if bar is not None:
                bar.set_postfix(loss=f"{history.loss[-1]:.4f}", refresh=False)
            stops = [callback(epoch, history) is True for callback in callbacks]  # call them all
            if any(stops):
                break
    finally:
        if bar is not None:
            bar.close()
        if live is not None:
            live.finish()
    return history


def _loss_plot(plot):
    if plot is False or plot is None:
        return None
    if plot is True:
        from .viz import LossPlot
        return LossPlot()
    return plot


def _end_epoch(history, model, loss_fn, val, loss, accuracy):
    history.loss.append(loss)
    if accuracy is not None:
        history.accuracy.append(accuracy)
    if val is not None:
        model.eval()
        val_loss, val_accuracy = evaluate(model, loss_fn, *val)
        model.train()
        history.val_loss.append(val_loss)
        if val_accuracy is not None:
            history.val_accuracy.append(val_accuracy)


def _epoch_metrics(history):
    """The per-epoch values LossPlot draws next to the step losses."""
    metrics = {}
    for name in ("val_loss", "accuracy", "val_accuracy"):
        values = getattr(history, name)
        if values:
            metrics[name] = values[-1]
    return metrics
