"""autodiff_nb.data and autodiff_nb.train: seeded data sets, minibatches, the training loop."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from autodiff_nb import data, nn, optim
from autodiff_nb.training import LossNotFiniteError, evaluate, train


@pytest.fixture(autouse=True)
def one_blas_thread():
    """Small matrices gain nothing from BLAS threads, and on a busy machine they spin-wait."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(limits=1):
        yield


# --- data sets -----------------------------------------------------------------


@pytest.mark.parametrize("make, kwargs, n, classes", [
    (data.spirals, dict(n_per_class=50, classes=4), 200, 4),
    (data.moons, dict(n=101, noise=0.1), 101, 2),
    (data.xor, dict(n=80, noise=0.2), 80, 2),
])
def test_classification_sets_are_seeded_and_typed(make, kwargs, n, classes):
    X, y = make(**kwargs, seed=0)
    assert X.shape == (n, 2) and X.dtype == np.float64
    assert y.shape == (n,) and y.dtype == np.int64
    assert sorted(set(y.tolist())) == list(range(classes))
    X_again, y_again = make(**kwargs, seed=0)
    np.testing.assert_array_equal(X, X_again)
    np.testing.assert_array_equal(y, y_again)
    assert not np.array_equal(X, make(**kwargs, seed=1)[0])


def test_moons_without_noise_are_scikit_learns_moons():
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    X, y = data.moons(n=40, noise=0.0, seed=0)
    X_ref, y_ref = sklearn_datasets.make_moons(n_samples=40, noise=None, shuffle=False)
    np.testing.assert_allclose(X, X_ref, atol=1e-12)
    np.testing.assert_array_equal(y, y_ref)


def test_xor_labels_follow_the_signs_of_the_cluster_centres():
    X, y = data.xor(n=400, noise=0.0, seed=0)
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] < 0).astype(np.int64))


def test_regression1d_is_a_noisy_sine_in_column_form():
    X, y = data.regression1d(n=50, noise=0.0, seed=0)
    assert X.shape == (50, 1) and y.shape == (50, 1)
    assert np.all(np.diff(X[:, 0]) >= 0)
    np.testing.assert_allclose(y, np.sin(X))
    noisy = data.regression1d(n=50, noise=0.1, seed=0)[1]
    assert 0.05 < np.std(noisy - y) < 0.15


def test_digits_are_scaled_to_unit_range():
    pytest.importorskip("sklearn")
    X, y = data.digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert X.min() == 0.0 and X.max() == 1.0
    assert y.dtype == np.int64 and set(y.tolist()) == set(range(10))


def test_digits_without_scikit_learn_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match="pip install scikit-learn"):
        data.digits()


def test_train_test_split_partitions_the_rows():
    X = np.arange(20.0).reshape(10, 2)
    y = np.arange(10)
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_size=0.3, seed=0)
    assert len(X_test) == 3 and len(X_train) == 7
    assert sorted(np.concatenate([y_train, y_test]).tolist()) == list(range(10))
    np.testing.assert_array_equal(X_train[:, 0], 2 * y_train)    # rows stay paired
    with pytest.raises(ValueError, match="X has 10 rows but y has 9"):
        data.train_test_split(X, y[:9])
    with pytest.raises(ValueError, match="at least one row on each side"):
        data.train_test_split(X, y, test_size=0.01)


def test_batches_cover_every_row_once_in_seeded_order():
    X, y = np.arange(10.0)[:, None], np.arange(10)
    chunks = list(data.batches(X, y, 4, seed=0))
    assert [len(b) for _, b in chunks] == [4, 4, 2]
    assert sorted(np.concatenate([b for _, b in chunks]).tolist()) == list(range(10))
    assert all(np.array_equal(Xb[:, 0], yb) for Xb, yb in chunks)
    again = [b.tolist() for _, b in data.batches(X, y, 4, seed=0)]
    assert again == [b.tolist() for _, b in chunks]
    rng = np.random.default_rng(0)
    first = [b.tolist() for _, b in data.batches(X, y, 4, seed=rng)]
    second = [b.tolist() for _, b in data.batches(X, y, 4, seed=rng)]
    assert first != second          # one generator across epochs: a new order each epoch
    in_order = [b.tolist() for _, b in data.batches(X, y, 4, shuffle=False)]
    assert in_order == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    with pytest.raises(ValueError, match="batch_size >= 1"):
        next(data.batches(X, y, 0))


# --- train -------------------------------------------------------------------


def test_train_is_the_four_step_loop():
    """train() gives exactly the losses of the loop written in its docstring."""
    X, y = data.moons(n=64, noise=0.1, seed=0)
    model = nn.MLP([2, 8, 2], seed=0)
    history = train(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.5),
                    X, y, epochs=3, batch_size=16, progress=False, seed=7)

    by_hand = nn.MLP([2, 8, 2], seed=0)
    loss_fn, optimizer = nn.CrossEntropyLoss(), optim.SGD(by_hand.parameters(), lr=0.5)
    rng, losses = np.random.default_rng(7), []
    for _ in range(3):
        for X_batch, y_batch in data.batches(X, y, 16, seed=rng):
            output = by_hand(X_batch)
            loss = loss_fn(output, y_batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    assert history.step_loss == losses
    assert len(history.loss) == 3 and len(history.accuracy) == 3
    assert history.val_loss == [] and history.val_accuracy == []


def test_history_records_validation_and_callbacks_can_stop():
    X, y = data.xor(n=200, noise=0.2, seed=0)
    X_train, X_val, y_train, y_val = data.train_test_split(X, y, seed=0)
    model = nn.MLP([2, 8, 2], seed=0)
    seen, also_seen = [], []

    def stop_after_three(epoch, history):
        seen.append(epoch)
        return epoch == 2

    history = train(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.05),
                    X_train, y_train, epochs=50, batch_size=32, val=(X_val, y_val),
                    callbacks=[stop_after_three, lambda epoch, _: also_seen.append(epoch)],
                    progress=False)
    assert seen == also_seen == [0, 1, 2]
    assert history.epochs == 3 and len(history.val_loss) == 3 and len(history.val_accuracy) == 3
    assert len(history.step_loss) == 3 * 5
    val_loss, val_accuracy = evaluate(model, nn.CrossEntropyLoss(), X_val, y_val)
    assert val_loss == pytest.approx(history.val_loss[-1])
    assert val_accuracy == history.val_accuracy[-1]
    assert repr(history).startswith("History(epochs=3, steps=15, loss=")


def test_regression_history_has_no_accuracy():
    X, y = data.regression1d(n=60, seed=0)
    model = nn.MLP([1, 16, 1], seed=0)
    history = train(model, nn.MSELoss(), optim.Adam(model.parameters(), lr=0.02), X, y,
                    epochs=40, batch_size=20, progress=False)
    assert history.accuracy == []
    assert history.loss[-1] < 0.5 * history.loss[0]


def test_binary_logits_count_accuracy():
    X, y = data.xor(n=120, noise=0.2, seed=0)
    model = nn.MLP([2, 8, 1], seed=0)
    history = train(model, nn.BCEWithLogitsLoss(), optim.Adam(model.parameters(), lr=0.05),
                    X, y[:, None].astype(float), epochs=30, batch_size=30, progress=False)
    assert history.accuracy[-1] >= 0.95


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")
def test_a_diverging_learning_rate_stops_with_the_epoch_and_step():
    X, y = data.regression1d(n=40, seed=0)
    model = nn.MLP([1, 16, 1], activation="relu", seed=0)
    expected = (r"the loss became (nan|inf) at epoch \d+ of 50, step \d of 4 \(step \d+ overall\); "
                r".* smaller learning rate \(lr=10.0\)")
    with pytest.raises(LossNotFiniteError, match=expected) as caught:
        train(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=10.0), X, y,
              epochs=50, batch_size=10, progress=False)
    assert caught.value.history.step_loss            # what happened before is kept


def test_mismatched_rows_are_refused():
    with pytest.raises(ValueError, match="X has 10 rows but y has 9"):
        train(nn.Linear(2, 2), nn.CrossEntropyLoss(), optim.SGD(nn.Linear(2, 2).parameters(),
              lr=0.1), np.zeros((10, 2)), np.zeros(9, dtype=int))


def test_progress_bar_only_when_asked_or_long(capsys):
    X, y = data.xor(n=40, seed=0)
    model = nn.MLP([2, 4, 2], seed=0)
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    train(model, nn.CrossEntropyLoss(), optimizer, X, y, epochs=2, batch_size=10)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""   # short run: no bar by default
    train(model, nn.CrossEntropyLoss(), optimizer, X, y, epochs=2, batch_size=10, progress=True)
    assert "8/8" in capsys.readouterr().err


def test_mlp_reaches_95_percent_on_digits():
    pytest.importorskip("sklearn")
    X, y = data.digits()
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_size=0.25, seed=0)
    model = nn.MLP([64, 64, 10], activation="tanh", seed=0)
    history = train(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.003),
                    X_train, y_train, epochs=20, batch_size=32, val=(X_test, y_test),
                    progress=False)
    _, test_accuracy = evaluate(model, nn.CrossEntropyLoss(), X_test, y_test)
    assert test_accuracy >= 0.95, history


def test_training_benchmark_still_runs_and_its_loss_curves_agree():
    """Smoke test of bench/bench_training.py --quick: no timing is checked, only that it runs."""
    for module in ("sklearn", "threadpoolctl"):
        pytest.importorskip(module)
    script = Path(__file__).resolve().parents[1] / "bench" / "bench_training.py"
    result = subprocess.run([sys.executable, str(script), "--quick"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "loss curves agree with hand-written NumPy" in result.stdout
    assert result.stdout.count("autodiff_nb ") == 2
