"""Connectionist temporal classification: the loss (``ctc_loss``) and two decoders.

CTC scores a label sequence ``l`` (say the phonemes "k a t") against T frames
of log-probabilities over C symbols, one of them a *blank*, by summing the
probability of every frame-by-frame path that collapses to ``l`` (repeats
merged, then blanks removed). The paths live on a lattice over the extended
target ``_ l1 _ l2 _ ... _`` of length S = 2L + 1; the forward (alpha)
recursion sums them left to right, the backward (beta) recursion right to
left, and alpha·beta at a frame says how much of the total probability
passes through each lattice node there: that is the gradient.

``ctc_loss`` is ONE primitive whose VJP is the beta recursion, not a
composition of primitives. Composed in log space, the alpha recursion is
some ten operations per frame (shift, where, logaddexp, a pick) for every
sample: a 50-frame batch would put thousands of records on the tape, each
step of the stepper would show one lattice column, and the reverse pass
would redo by tape what the beta recursion says in a few lines. As one
primitive the loss is one node in a drawing and one step in the stepper
("∇log_probs L = −γ ⊘ ..."), the way the lecture treats softmax-cross-entropy,
and its VJP is checked against finite differences and PyTorch like any other.

About PyTorch's gradient: ``torch.nn.functional.ctc_loss`` returns
``exp(log_probs) − γ`` as the gradient with respect to ``log_probs``, which is
the gradient with respect to the *logits* under the assumption that
``log_probs`` came out of ``log_softmax``. The gradient of the loss as a
function of ``log_probs`` is ``−γ`` (scaled by the reduction); through
``log_softmax`` both give the same gradient at the logits, which is what the
tests compare. Here the VJP is the true one, so ``gradcheck`` holds.
"""
from __future__ import annotations

import numpy as np

from .core import functions as F
from .core.errors import ShapeError, at_user_line
from .core.primitives import defprimitive
from .core.tensor import Tensor, apply

NEG_INF = -np.inf


def extend_with_blanks(target, blank=0):
    """``[a, b]`` -> ``[_, a, _, b, _]`` and, per position, whether the path may skip to it.

    A path may jump from s − 2 to s when s holds a label different from the
    label at s − 2 (it skips the blank between two distinct labels).
    """
    target = np.asarray(target, dtype=np.int64)
    extended = np.full(2 * len(target) + 1, blank, dtype=np.int64)
    extended[1::2] = target
    skip = np.zeros(len(extended), dtype=bool)
    skip[3::2] = target[1:] != target[:-1]
    return extended, skip


def _alpha(log_probs, extended, skip):
    """log alpha[t, s]: log-probability of all paths over frames 0..t ending at lattice node s."""
    frames, size = len(log_probs), len(extended)
    alpha = np.full((frames, size), NEG_INF)
    alpha[0, 0] = log_probs[0, extended[0]]
    if size > 1:
        alpha[0, 1] = log_probs[0, extended[1]]
    for t in range(1, frames):
        previous = alpha[t - 1]
        arriving = previous.copy()
        arriving[1:] = np.logaddexp(arriving[1:], previous[:-1])
        arriving[2:] = np.where(skip[2:], np.logaddexp(arriving[2:], previous[:-2]), arriving[2:])
        alpha[t] = arriving + log_probs[t, extended]
    return alpha


def _beta(log_probs, extended, skip):
    """log beta[t, s]: log-probability of finishing from node s at frame t (frame t's symbol left out)."""
    frames, size = len(log_probs), len(extended)
    beta = np.full((frames, size), NEG_INF)
    beta[-1, -1] = 0.0
    if size > 1:
        beta[-1, -2] = 0.0
    skip_from = np.zeros(size, dtype=bool)
    skip_from[:-2] = skip[2:]          # node s may jump forward to s + 2
    for t in range(frames - 2, -1, -1):
        ahead = beta[t + 1] + log_probs[t + 1, extended]
        leaving = ahead.copy()
        leaving[:-1] = np.logaddexp(leaving[:-1], ahead[1:])
        leaving[:-2] = np.where(skip_from[:-2], np.logaddexp(leaving[:-2], ahead[2:]),
                                leaving[:-2])
        beta[t] = leaving
    return beta


def _samples(targets, target_lengths):
    """Each sample's target: rows of a padded (N, S) array, or cuts of a concatenated 1-D one."""
    if targets.ndim == 2:
        return [row[:length] for row, length in zip(targets, target_lengths)]
    ends = np.cumsum(target_lengths)
    return [targets[end - length:end] for end, length in zip(ends, target_lengths)]


def _ctc_forward(log_probs, targets, input_lengths, target_lengths, blank, zero_infinity):
    losses = np.empty(log_probs.shape[1], dtype=log_probs.dtype)
    for n, target in enumerate(_samples(targets, target_lengths)):
        frames = log_probs[:input_lengths[n], n]
        extended, skip = extend_with_blanks(target, blank)
        losses[n] = -np.logaddexp.reduce(_alpha(frames, extended, skip)[-1, -2:])
    if zero_infinity:
        losses[np.isinf(losses)] = 0.0
    return losses


def _ctc_vjp(g, losses, log_probs, targets, input_lengths, target_lengths, blank, zero_infinity):
    """∂loss_n/∂log_probs[t, n, c] = −γ_t(c): the share of paths through symbol c at frame t."""
    grad = np.zeros_like(log_probs)
    for n, target in enumerate(_samples(targets, target_lengths)):
        frames = log_probs[:input_lengths[n], n]
        extended, skip = extend_with_blanks(target, blank)
        alpha = _alpha(frames, extended, skip)
        log_p = np.logaddexp.reduce(alpha[-1, -2:])
        if not np.isfinite(log_p):
            # No path: the loss is +inf. Its gradient is undefined (NaN, as PyTorch's)
            # where the loss is used, unless zero_infinity made it the constant 0.
            grad[:, n] = 0.0 if zero_infinity or g[n] == 0 else np.nan
            continue
        log_gamma = alpha + _beta(frames, extended, skip) - log_p
        gamma = np.zeros(frames.shape)
        np.add.at(gamma, (slice(None), extended), np.exp(log_gamma))
        grad[:input_lengths[n], n] = -g[n] * gamma
    return grad, None, None, None


CTC_LOSS = defprimitive(
    "ctc_loss",
    lambda log_probs, targets, input_lengths, target_lengths, blank=0, zero_infinity=False:
        _ctc_forward(log_probs, targets, input_lengths, target_lengths, blank, zero_infinity),
    lambda g, out, log_probs, targets, input_lengths, target_lengths, blank=0,
        zero_infinity=False:
        _ctc_vjp(g, out, log_probs, targets, input_lengths, target_lengths, blank, zero_infinity),
    symbol="CTC", formula="−log p(targets | {0})", rules=("−{g} · γ(targets | {0})",))


def _as_lengths(values, count, what):
    lengths = np.asarray(getattr(values, "_data", values)).astype(np.int64).reshape(-1)
    if lengths.shape != (count,):
        raise ShapeError(at_user_line(
            f"ctc_loss: expected {what} of shape ({count},) (one per sample), got "
            f"{lengths.shape}"))
    if np.any(lengths < (1 if what == "input_lengths" else 0)):
        raise ValueError(at_user_line(
            f"ctc_loss: {what} must be at least {1 if what == 'input_lengths' else 0}, "
            f"got {lengths.tolist()}"))
    return lengths


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
             zero_infinity=False):
    """CTC loss as ``torch.nn.functional.ctc_loss``: log_probs (T, N, C) or (T, C), log-softmaxed.

    ``targets``: padded (N, S) or concatenated 1-D integer labels (no blank);
    ``reduction``: "mean" (each loss divided by its target length, then the
    batch mean), "sum" or "none" (one loss per sample). A target no path can
    reach (too few frames) gives +inf, or 0 with ``zero_infinity=True``.
    """
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"ctc_loss: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    log_probs = log_probs if isinstance(log_probs, Tensor) else Tensor(log_probs)
    unbatched = log_probs.ndim == 2
    if unbatched:
        log_probs = log_probs.reshape(log_probs.shape[0], 1, log_probs.shape[1])
    if log_probs.ndim != 3 or log_probs.dtype.kind != "f":
        raise ShapeError(at_user_line(
            f"ctc_loss: expected float log_probs of shape (T, N, C) or (T, C), got shape "
            f"{log_probs.shape} and dtype {log_probs.dtype}"))
    frames, batch, classes = log_probs.shape
    targets = np.asarray(getattr(targets, "_data", targets))
    if unbatched:
        targets = targets.reshape(1, -1)
    input_lengths = _as_lengths(input_lengths, batch, "input_lengths")
    target_lengths = _as_lengths(target_lengths, batch, "target_lengths")
    _check_targets(targets, target_lengths, input_lengths, frames, batch, classes, blank)
    losses = apply(CTC_LOSS, log_probs, targets=targets.astype(np.int64),
                   input_lengths=input_lengths, target_lengths=target_lengths, blank=int(blank),
                   zero_infinity=bool(zero_infinity))
    if reduction == "sum":
        return losses.sum()
    if reduction == "mean":
        return (losses / np.maximum(target_lengths, 1).astype(log_probs.dtype)).mean()
    return losses[0] if unbatched else losses


def _check_targets(targets, target_lengths, input_lengths, frames, batch, classes, blank):
    if targets.dtype.kind not in "iu":
        raise ValueError(at_user_line(f"ctc_loss: targets must be integer labels, got dtype "
                                      f"{targets.dtype}"))
    if not 0 <= blank < classes:
        raise ValueError(at_user_line(f"ctc_loss: blank={blank} is not one of the {classes} "
                                      f"classes"))
    if np.any(input_lengths > frames):
        raise ValueError(at_user_line(f"ctc_loss: input_lengths {input_lengths} exceed the "
                                      f"{frames} frames of log_probs"))
    if targets.ndim == 2:
        if targets.shape[0] != batch or np.any(target_lengths > targets.shape[1]):
            raise ShapeError(at_user_line(
                f"ctc_loss: padded targets of shape {targets.shape} do not hold {batch} "
                f"targets of lengths {target_lengths}"))
    elif targets.ndim != 1 or targets.size != target_lengths.sum():
        raise ShapeError(at_user_line(
            f"ctc_loss: expected targets of shape (N, S) or concatenated of length "
            f"{target_lengths.sum()} (the sum of target_lengths), got shape {targets.shape}"))
    for target in _samples(targets, target_lengths):
        if np.any(target == blank) or np.any((target < 0) | (target >= classes)):
            raise ValueError(at_user_line(
                f"ctc_loss: target {target.tolist()} must hold labels in 0..{classes - 1} "
                f"other than the blank {blank}"))


# --- decoders (no gradient: they read probabilities) -----------------------------------------


def _frames(log_probs):
    return np.asarray(getattr(log_probs, "_data", log_probs), dtype=np.float64)


def collapse(path, blank=0):
    """A frame-by-frame path as its label sequence: merge repeats, then drop blanks."""
    labels, previous = [], None
    for symbol in path:
        if symbol != previous and symbol != blank:
            labels.append(int(symbol))
        previous = symbol
    return labels


def greedy_decode(log_probs, blank=0):
    """The most likely symbol at each frame, collapsed: (T, C) -> labels, (T, N, C) -> one list each.

    Fast but not the most likely label sequence: that sums over paths (see
    ``beam_search_decode``).
    """
    frames = _frames(log_probs)
    if frames.ndim == 2:
        return collapse(frames.argmax(axis=1), blank)
    return [collapse(frames[:, n].argmax(axis=1), blank) for n in range(frames.shape[1])]


def beam_search_decode(log_probs, beam_width=8, blank=0):
    """CTC prefix beam search on (T, C) log-probabilities: ``(labels, log p(labels))``.

    Keeps the ``beam_width`` most likely label prefixes, each with the
    probability of its paths ending in a blank and not; a prefix's score sums
    every path that collapses to it. With a beam as wide as the number of
    prefixes it is exact: the most likely label sequence and its probability.
    """
    frames = _frames(log_probs)
    if frames.ndim != 2:
        raise ShapeError(at_user_line(f"beam_search_decode: expected log-probabilities of "
                                      f"shape (T, C), got {frames.shape}"))
    if beam_width < 1:
        raise ValueError(f"beam_search_decode: beam_width must be at least 1, got {beam_width}")
    beams = {(): (0.0, NEG_INF)}     # prefix -> (log p ending in blank, log p ending in a label)
    for row in frames:
        grown = {}

        def add(prefix, blank_part, label_part):
            old_blank, old_label = grown.get(prefix, (NEG_INF, NEG_INF))
            grown[prefix] = (np.logaddexp(old_blank, blank_part),
                             np.logaddexp(old_label, label_part))

        for prefix, (ends_blank, ends_label) in beams.items():
            total = np.logaddexp(ends_blank, ends_label)
            add(prefix, total + row[blank], NEG_INF)
            for symbol in range(len(row)):
                if symbol == blank:
                    continue
                if prefix and prefix[-1] == symbol:
                    add(prefix, NEG_INF, ends_label + row[symbol])          # a repeat merges
                    add(prefix + (symbol,), NEG_INF, ends_blank + row[symbol])
                else:
                    add(prefix + (symbol,), NEG_INF, total + row[symbol])
        ranked = sorted(grown.items(), key=lambda item: -np.logaddexp(*item[1]))
        beams = dict(ranked[:beam_width])
    best, (ends_blank, ends_label) = max(beams.items(), key=lambda item: np.logaddexp(*item[1]))
    return list(best), float(np.logaddexp(ends_blank, ends_label))
