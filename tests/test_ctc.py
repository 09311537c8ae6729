"""CTC loss and decoders against brute force over every path, finite differences and PyTorch."""
from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np
import pytest

import autodiff_nb as ad
from autodiff_nb.ctc import collapse

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _log_probs(frames, batch, classes, seed):
    logits = np.random.default_rng(seed).standard_normal((frames, batch, classes)) * 2
    return logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))


def _every_label_sequence(log_probs, blank=0):
    """log p(labels) for every label sequence, by summing the probability of every path."""
    totals = defaultdict(float)
    for path in itertools.product(range(log_probs.shape[1]), repeat=len(log_probs)):
        totals[tuple(collapse(path, blank))] += np.exp(log_probs[np.arange(len(path)), path].sum())
    return {labels: np.log(p) for labels, p in totals.items()}


@pytest.mark.parametrize("target, blank", [((1, 2), 0), ((1, 1), 0), ((2,), 0), ((), 0),
                                           ((0, 1), 2), ((1, 2, 1), 0)])
def test_loss_is_minus_log_of_the_sum_over_every_path(target, blank):
    log_probs = _log_probs(5, 1, 3, seed=len(target) + blank)
    exact = _every_label_sequence(log_probs[:, 0], blank)
    loss = ad.ctc_loss(log_probs, np.array([target], dtype=int).reshape(1, -1), [5], [len(target)],
                       blank=blank, reduction="sum")
    np.testing.assert_allclose(loss.item(), -exact[target], rtol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("layout", ["padded", "concatenated"])
def test_value_and_logit_gradient_match_pytorch(reduction, layout):
    frames, batch, classes = 12, 3, 5
    logits = np.random.default_rng(3).standard_normal((frames, batch, classes))
    padded = np.array([[1, 2, 2, 4], [3, 3, 0, 0], [4, 1, 2, 0]])
    target_lengths = np.array([4, 2, 3])
    input_lengths = np.array([12, 7, 10])
    targets = padded if layout == "padded" else np.concatenate(
        [row[:n] for row, n in zip(padded, target_lengths)])
    ours = ad.Tensor(logits, requires_grad=True)
    theirs = torch.tensor(logits, requires_grad=True)
    loss = ad.ctc_loss(ad.log_softmax(ours, axis=-1), targets, input_lengths, target_lengths,
                       reduction=reduction)
    expected = F.ctc_loss(theirs.log_softmax(-1), torch.tensor(targets),
                          torch.tensor(input_lengths), torch.tensor(target_lengths),
                          reduction=reduction)
    np.testing.assert_allclose(loss.data, expected.detach().numpy(), rtol=1e-12)
    weights = np.random.default_rng(4).standard_normal(loss.shape)
    (loss * weights).sum().backward()
    (expected * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_gradient_at_log_probs_is_minus_gamma_and_pytorch_adds_the_softmax_term():
    """PyTorch returns exp(log_probs) − γ at log_probs (the gradient at the logits); ours is −γ."""
    log_probs = _log_probs(6, 2, 4, seed=9)
    args = (np.array([[1, 3], [2, 0]]), np.array([6, 5]), np.array([2, 1]))
    assert ad.gradcheck(lambda lp: ad.ctc_loss(lp, *args, reduction="sum"), log_probs)
    ours = ad.Tensor(log_probs, requires_grad=True)
    ad.ctc_loss(ours, *args, reduction="sum").backward()
    theirs = torch.tensor(log_probs, requires_grad=True)
    F.ctc_loss(theirs, *map(torch.tensor, args), reduction="sum").backward()
    used = np.arange(6)[:, None] < args[1][None, :]
    np.testing.assert_allclose(theirs.grad.numpy(), ours.grad + np.exp(log_probs) * used[..., None],
                               atol=1e-12)
    # γ sums to one at every frame a sample uses: every path passes somewhere.
    np.testing.assert_allclose(-ours.grad.sum(axis=-1), used.astype(float), atol=1e-12)


def test_unbatched_input_matches_pytorch():
    log_probs = _log_probs(6, 1, 4, seed=2)[:, 0]
    loss = ad.ctc_loss(log_probs, np.array([1, 2]), 6, 2)
    expected = F.ctc_loss(torch.tensor(log_probs), torch.tensor([1, 2]), torch.tensor(6),
                          torch.tensor(2))
    np.testing.assert_allclose(loss.item(), expected.item(), rtol=1e-12)


@pytest.mark.parametrize("zero_infinity", [False, True])
def test_impossible_target_gives_inf_or_zero_as_pytorch(zero_infinity):
    log_probs = _log_probs(3, 2, 4, seed=5)
    targets, input_lengths, target_lengths = np.array([[1, 1, 1], [2, 3, 0]]), [3, 3], [3, 2]
    ours = ad.Tensor(log_probs, requires_grad=True)
    loss = ad.ctc_loss(ours, targets, input_lengths, target_lengths, reduction="none",
                       zero_infinity=zero_infinity)
    theirs = torch.tensor(log_probs, requires_grad=True)
    expected = F.ctc_loss(theirs, torch.tensor(targets), torch.tensor(input_lengths),
                          torch.tensor(target_lengths), reduction="none",
                          zero_infinity=zero_infinity)
    np.testing.assert_allclose(loss.data, expected.detach().numpy(), rtol=1e-12)
    assert np.isinf(loss.data[0]) != zero_infinity      # "1 1 1" needs 5 frames
    loss[1].backward()
    assert np.all(np.isfinite(ours.grad))   # the possible sample's gradient is not spoilt


@pytest.mark.parametrize("call, message", [
    (lambda lp: ad.ctc_loss(lp, np.array([[1, 0]]), [6], [2]), "other than the blank 0"),
    (lambda lp: ad.ctc_loss(lp, np.array([[1, 7]]), [6], [2]), r"labels in 0..3"),
    (lambda lp: ad.ctc_loss(lp, np.array([[1, 2]]), [9], [2]), "exceed the 6 frames"),
    (lambda lp: ad.ctc_loss(lp, np.array([[1, 2]]), [6, 6], [2]), r"input_lengths of shape \(1,\)"),
    (lambda lp: ad.ctc_loss(lp, np.array([[1, 2]]), [6], [3]), "do not hold 1 targets"),
    (lambda lp: ad.ctc_loss(lp, np.array([[1.0, 2.0]]), [6], [2]), "integer labels"),
    (lambda lp: ad.ctc_loss(lp, np.array([[1, 2]]), [6], [2], blank=4), "blank=4"),
    (lambda lp: ad.ctc_loss(lp, np.array([[1, 2]]), [0], [2]), "at least 1"),
    (lambda lp: ad.ctc_loss(lp, np.array([[1, 2]]), [6], [2], reduction="avg"), "reduction"),
])
def test_bad_arguments_are_named(call, message):
    with pytest.raises((ValueError, ad.ShapeError), match=message):
        call(_log_probs(6, 1, 4, seed=0))


def test_greedy_decoder_collapses_the_best_path():
    log_probs = np.log(np.array([[0.1, 0.8, 0.1], [0.1, 0.8, 0.1], [0.9, 0.05, 0.05],
                                 [0.2, 0.7, 0.1], [0.1, 0.1, 0.8]]))
    assert ad.greedy_decode(log_probs) == [1, 1, 2]
    assert ad.greedy_decode(np.stack([log_probs, log_probs[::-1]], axis=1)) == [[1, 1, 2],
                                                                               [2, 1, 1]]


@pytest.mark.parametrize("seed", range(4))
def test_wide_beam_finds_the_most_likely_label_sequence(seed):
    log_probs = _log_probs(5, 1, 3, seed=seed)[:, 0]
    exact = _every_label_sequence(log_probs)
    best = max(exact, key=exact.get)
    labels, score = ad.beam_search_decode(log_probs, beam_width=100)
    assert tuple(labels) == best
    np.testing.assert_allclose(score, exact[best], rtol=1e-12)


def test_beam_can_beat_greedy():
    # Greedy reads blank, blank, blank; but "1" spread over the frames is more likely.
    probs = np.array([[0.4, 0.35, 0.25]] * 3)
    log_probs = np.log(probs)
    assert ad.greedy_decode(log_probs) == []
    labels, score = ad.beam_search_decode(log_probs, beam_width=4)
    exact = _every_label_sequence(log_probs)
    assert labels == [1] and exact[(1,)] > exact[()]
    np.testing.assert_allclose(score, exact[(1,)], rtol=1e-12)
