"""HW3's CTC (``CTC.CTC``, ``CTC.CTCDecoding``): the lattice in probabilities, the loss, decoders.

``CTC`` works with probabilities as the handout does (alpha includes frame
t's symbol, beta leaves it out), computed in log space by the recursions of
``autodiff_nb.ctc`` and exponentiated, so long inputs do not underflow on
the way. ``CTCLoss`` records one operation undone by
``functional.ctc_loss_backward``; its value is the course's "expected
divergence" −Σ γ·log y (γ held constant), averaged over the batch.
"""
from __future__ import annotations

import numpy as np

from .. import ctc as lattice
from .functional import ctc_loss_backward


class CTC:
    """The extended target, the forward and backward probabilities and the posteriors."""

    def __init__(self, BLANK=0):
        self.BLANK = BLANK

    def extend_target_with_blank(self, target):
        """``[1, 4, 4]`` -> ``[0, 1, 0, 4, 0, 4, 0]`` and skip ``[0, 0, 0, 1, 0, 0, 0]`` (ints)."""
        extended, skip = lattice.extend_with_blanks(target, self.BLANK)
        return extended, skip.astype(int)

    def get_forward_probs(self, logits, extended_symbols, skip_connect):
        """alpha (T, S): probability of the paths over frames 0..t ending at node s."""
        with np.errstate(divide="ignore"):
            return np.exp(lattice._alpha(np.log(logits), np.asarray(extended_symbols),
                                         np.asarray(skip_connect, dtype=bool)))

    def get_backward_probs(self, logits, extended_symbols, skip_connect):
        """beta (T, S): probability of finishing from node s after frame t (frame t left out)."""
        with np.errstate(divide="ignore"):
            return np.exp(lattice._beta(np.log(logits), np.asarray(extended_symbols),
                                        np.asarray(skip_connect, dtype=bool)))

    def get_posterior_probs(self, alpha, beta):
        """gamma (T, S): alpha·beta normalised per frame, the share of paths through node s."""
        joint = alpha * beta
        return joint / joint.sum(axis=1, keepdims=True)


class CTCLoss:
    """``loss(logits (T, B, C) probabilities, target (B, L), input_lengths, target_lengths)``."""

    def __init__(self, autograd_engine, BLANK=0):
        self.autograd_engine = autograd_engine
        self.BLANK = BLANK
        self.ctc = CTC(BLANK)
        self.gammas = []

    def __call__(self, logits, target, input_lengths, target_lengths):
        return self.forward(logits, target, input_lengths, target_lengths)

    def forward(self, logits, target, input_lengths, target_lengths):
        self.logits, self.target = logits, target
        self.input_lengths, self.target_lengths = input_lengths, target_lengths
        batch = target.shape[0]
        losses = np.zeros(batch)
        self.gammas = np.empty(batch, dtype=object)
        self.extended_symbols = np.empty(batch, dtype=object)
        for b in range(batch):
            y = logits[:input_lengths[b], b]
            extended, skip = self.ctc.extend_target_with_blank(target[b, :target_lengths[b]])
            alpha = self.ctc.get_forward_probs(y, extended, skip)
            beta = self.ctc.get_backward_probs(y, extended, skip)
            gamma = self.ctc.get_posterior_probs(alpha, beta)
            losses[b] = -np.sum(gamma * np.log(y[:, extended]))
            self.gammas[b], self.extended_symbols[b] = gamma, extended
        total = np.sum(losses) / batch
        self.autograd_engine.add_operation(
            [logits, np.asarray(input_lengths), self.gammas, self.extended_symbols], total,
            [None, None, None, None], ctc_loss_backward)
        return total


def _symbol(symbol_set, index):
    return symbol_set[index - 1]


class GreedySearchDecoder:
    """The most probable symbol at each frame, collapsed; its probability is their product."""

    def __init__(self, symbol_set):
        self.symbol_set = symbol_set

    def decode(self, y_probs):
        """``y_probs`` (len(symbols) + 1, T, 1), blank first: ``(decoded string, path probability)``."""
        frames = np.asarray(y_probs)[:, :, 0]
        best = frames.argmax(axis=0)
        path_prob = float(np.prod(frames.max(axis=0)))
        labels = lattice.collapse(best, blank=0)
        return "".join(_symbol(self.symbol_set, i) for i in labels), path_prob


class BeamSearchDecoder:
    """The course's beam search: paths ending in a blank and in a symbol, pruned together.

    At each frame the ``beam_width`` best scores among both kinds survive
    (a tie with the cut-off survives too); after the last frame the two
    scores of each path are added. ``decode`` returns the best path and every
    final path's score.
    """

    def __init__(self, symbol_set, beam_width):
        self.symbol_set = symbol_set
        self.beam_width = beam_width

    def decode(self, y_probs):
        frames = np.asarray(y_probs)[:, :, 0]
        symbols = list(self.symbol_set)
        ends_blank = {"": frames[0, 0]}
        ends_symbol = {s: frames[i + 1, 0] for i, s in enumerate(symbols)}
        for t in range(1, frames.shape[1]):
            ends_blank, ends_symbol = self._prune(ends_blank, ends_symbol)
            column = frames[:, t]
            new_blank, new_symbol = {}, {}
            for path, score in list(ends_blank.items()) + list(ends_symbol.items()):
                new_blank[path] = new_blank.get(path, 0.0) + score * column[0]
            for path, score in ends_blank.items():
                for i, s in enumerate(symbols):
                    new_symbol[path + s] = new_symbol.get(path + s, 0.0) + score * column[i + 1]
            for path, score in ends_symbol.items():
                for i, s in enumerate(symbols):
                    grown = path if path.endswith(s) else path + s
                    new_symbol[grown] = new_symbol.get(grown, 0.0) + score * column[i + 1]
            ends_blank, ends_symbol = new_blank, new_symbol
        final = dict(ends_blank)
        for path, score in ends_symbol.items():
            final[path] = final.get(path, 0.0) + score
        best = max(final, key=final.get)
        return best, final

    def _prune(self, ends_blank, ends_symbol):
        scores = sorted(list(ends_blank.values()) + list(ends_symbol.values()), reverse=True)
        cutoff = scores[min(self.beam_width, len(scores)) - 1]
        return ({p: s for p, s in ends_blank.items() if s >= cutoff},
                {p: s for p, s in ends_symbol.items() if s >= cutoff})
