"""Small data sets for lessons, seeded so that every run draws the same points.

Every generator returns ``(X, y)`` NumPy arrays: ``X`` float64 of shape
(n, features); ``y`` int64 class labels of shape (n,) for classification, or
float64 targets of shape (n, 1) for regression (the shape ``MSELoss``
compares with a model's (n, 1) output).
"""
from __future__ import annotations

import numpy as np


def spirals(n_per_class=100, classes=3, seed=0, noise=0.2):
    """``classes`` interleaved spiral arms in the plane (the CS231n spirals).

    Arm k runs from the centre to radius 1 while its angle turns through
    4 radians, jittered by ``noise`` (Gaussian, in radians).
    """
    rng = np.random.default_rng(seed)
    radius = np.linspace(0.0, 1.0, n_per_class)
    X, y = [], []
    for k in range(classes):
        angle = np.linspace(4.0 * k, 4.0 * (k + 1), n_per_class)
        angle = angle + noise * rng.standard_normal(n_per_class)
        X.append(np.column_stack([radius * np.sin(angle), radius * np.cos(angle)]))
        y.append(np.full(n_per_class, k, dtype=np.int64))
    return np.concatenate(X), np.concatenate(y)


def moons(n=200, noise=0.1, seed=0):
    """Two interleaving half circles (as scikit-learn's ``make_moons``), plus Gaussian noise."""
    rng = np.random.default_rng(seed)
    n_upper = n // 2
    n_lower = n - n_upper
    t_upper = np.linspace(0.0, np.pi, n_upper)
    t_lower = np.linspace(0.0, np.pi, n_lower)
    upper = np.column_stack([np.cos(t_upper), np.sin(t_upper)])
    lower = np.column_stack([1.0 - np.cos(t_lower), 0.5 - np.sin(t_lower)])
    X = np.concatenate([upper, lower]) + noise * rng.standard_normal((n, 2))
    y = np.concatenate([np.zeros(n_upper, np.int64), np.ones(n_lower, np.int64)])
    return X, y


def xor(n=200, noise=0.3, seed=0):
    """Four clusters at (±1, ±1); class 1 where the coordinates' signs differ.

    No straight line separates the classes: the smallest problem that needs
    a hidden layer.
    """
    rng = np.random.default_rng(seed)
    corners = np.array([[-1.0, -1.0], [1.0, 1.0], [-1.0, 1.0], [1.0, -1.0]])
    which = np.arange(n) % 4
    X = corners[which] + noise * rng.standard_normal((n, 2))
    y = (which >= 2).astype(np.int64)
    return X, y


def regression1d(n=100, noise=0.1, seed=0):
    """y = sin(x) + noise for x uniform in [−3, 3], sorted so that plots draw a line.

    Returns X and y of shape (n, 1).
    """
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(-3.0, 3.0, n))
    y = np.sin(x) + noise * rng.standard_normal(n)
    return x[:, None], y[:, None]


def digits():
    """scikit-learn's bundled 8×8 handwritten digits (1797 images; no download).

    Returns X of shape (1797, 64) scaled to [0, 1] and int64 labels 0..9.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ImportError("digits() needs scikit-learn, which bundles the data set: "
                          "pip install scikit-learn") from None
    bunch = load_digits()
    return bunch.data.astype(np.float64) / 16.0, bunch.target.astype(np.int64)


def train_test_split(X, y, test_size=0.25, seed=0):
    """Shuffle once and split: returns ``X_train, X_test, y_train, y_test`` (sklearn's order).

    ``test_size`` is a fraction (0 < test_size < 1) or a number of rows.
    """
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"train_test_split: X has {len(X)} rows but y has {len(y)}")
    n_test = int(round(test_size * len(X))) if test_size < 1 else int(test_size)
    if not 0 < n_test < len(X):
        raise ValueError(f"train_test_split: test_size={test_size} leaves {n_test} of "
                         f"{len(X)} rows for testing; expected at least one row on each side")
    order = np.random.default_rng(seed).permutation(len(X))
    test, train = order[:n_test], order[n_test:]
    return X[train], X[test], y[train], y[test]


def batches(X, y, batch_size, shuffle=True, seed=None):
    """Yield ``(X_batch, y_batch)`` pairs covering every row once (the last may be smaller).

    ``seed`` is an int or a NumPy Generator. An int gives the same order on
    every call; pass one Generator across epochs for a new order each epoch
    that is still the same on every run.
    """
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"batches: X has {len(X)} rows but y has {len(y)}")
    if int(batch_size) < 1:
        raise ValueError(f"batches: expected batch_size >= 1, got {batch_size}")
    batch_size = int(batch_size)
    order = (np.random.default_rng(seed).permutation(len(X)) if shuffle
             else np.arange(len(X)))
    for start in range(0, len(X), batch_size):
        rows = order[start:start + batch_size]
        yield X[rows], y[rows]
