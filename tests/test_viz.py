"""autodiff_nb.viz: the live LossPlot (throttled, updated in place) and decision boundaries."""
from __future__ import annotations

import base64
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from matplotlib.figure import Figure

import autodiff_nb as ad
from autodiff_nb import data, nn, optim, viz
from autodiff_nb.training import train

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class FakeClock:
    """Stands in for time.perf_counter, so throttling is tested without timing anything."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(viz.time, "perf_counter", fake)
    monkeypatch.setattr(viz.LossPlot, "draw_cost", 0.05)
    return fake


def _simulate(monkeypatch, clock, tmp_path, step_seconds, draw_seconds, steps):
    """A training run of ``steps`` steps where each draw costs ``draw_seconds``."""

    class SlowFigure:
        def png(self):
            clock.now += draw_seconds
            return PNG_SIGNATURE

    monkeypatch.setattr(viz.LossPlot, "figure", lambda plot: SlowFigure())
    plot = viz.LossPlot(path=tmp_path / "loss.png")
    for step in range(steps):
        clock.now += step_seconds
        plot.update(step, 1.0 / (step + 1))
    plot.finish()
    return plot


def test_cheap_draws_are_throttled_to_four_a_second(monkeypatch, clock, tmp_path):
    plot = _simulate(monkeypatch, clock, tmp_path, step_seconds=0.001, draw_seconds=0.0,
                     steps=10_000)
    assert plot.updates == 10_000
    # 10 s of training: the first draw after 0.95 s (19 × the assumed 0.05 s), then one
    # per 0.25 s, and the final one.
    assert 36 <= plot.redraws <= 39


def test_slow_draws_take_at_most_five_percent(monkeypatch, clock, tmp_path):
    plot = _simulate(monkeypatch, clock, tmp_path, step_seconds=0.001, draw_seconds=0.2,
                     steps=10_000)
    # 5% in the steady state; the first draw (cost not yet known) and the final one on top.
    assert plot.redraws * 0.2 <= 0.05 * clock.now + 2 * 0.2
    assert plot.redraws >= 3


def test_a_short_run_draws_once_at_finish(monkeypatch, clock, tmp_path):
    plot = _simulate(monkeypatch, clock, tmp_path, step_seconds=0.001, draw_seconds=0.05,
                     steps=200)
    assert plot.redraws == 1
    plot.finish()                               # nothing new: no second draw
    assert plot.redraws == 1


def test_without_notebook_or_path_nothing_is_drawn():
    plot = viz.LossPlot()
    for step in range(100):
        plot.update(step, 1.0, val_loss=2.0)
    plot.close()
    assert plot.redraws == 0 and plot.updates == 100
    assert plot.series["val_loss"] == (list(range(100)), [2.0] * 100)


def test_path_gets_a_png_and_images_are_deterministic(tmp_path):
    images = []
    for name in ("a.png", "b.png"):
        plot = viz.LossPlot(title="run", path=tmp_path / name)
        for step in range(1, 121):
            plot.update(step, 2.0 / step + 0.01 * np.sin(step))
            if step % 20 == 0:
                plot.update(step, val_loss=2.2 / step, accuracy=1 - 1 / step,
                            val_accuracy=1 - 1.2 / step)
        plot.finish()
        images.append((tmp_path / name).read_bytes())
    assert images[0].startswith(PNG_SIGNATURE)
    assert images[0] == images[1]
    assert not list(tmp_path.glob("*.partial"))
    assert plot._headline() == ("run  ·  step 120  ·  loss 0.02247  ·  val loss 0.01833  ·  "
                                "accuracy 99.2%  ·  val accuracy 99.0%")


def test_train_with_plot_writes_the_final_figure(tmp_path):
    X, y = data.xor(n=64, seed=0)
    model = nn.MLP([2, 8, 2], seed=0)
    plot = viz.LossPlot(path=tmp_path / "train.png")
    history = train(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.5), X, y,
                    epochs=3, batch_size=16, val=(X, y), plot=plot, progress=False)
    assert plot.series["loss"][1] == history.step_loss
    assert plot.series["val_accuracy"] == ([4, 8, 12], history.val_accuracy)
    assert (tmp_path / "train.png").read_bytes().startswith(PNG_SIGNATURE)


# --- in a real notebook -------------------------------------------------------------

NOTEBOOK_RUNNER = textwrap.dedent('''
    import json, sys
    import nbformat
    from nbclient import NotebookClient
    from nbformat.v4 import new_code_cell, new_notebook

    cells = [new_code_cell(source) for source in json.loads(sys.argv[1])]
    notebook = new_notebook(cells=cells)
    messages = []

    class Recording(NotebookClient):
        def process_message(self, msg, cell, cell_index):
            messages.append([cell_index, msg["msg_type"]])
            return super().process_message(msg, cell, cell_index)

    Recording(notebook, timeout=120, kernel_name="python3").execute()
    print(json.dumps({"messages": messages, "outputs": [c.outputs for c in notebook.cells]}))
''')


def _run_notebook(*cells):
    result = subprocess.run([sys.executable, "-c", NOTEBOOK_RUNNER, json.dumps(cells)],
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


def test_live_plot_in_a_notebook_updates_one_output_in_place():
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    run = _run_notebook(
        "from autodiff_nb import viz\n"
        "import time\n"
        "plot = viz.LossPlot(min_interval=0.05, max_share=1.0)  # draw often: this tests updating\n"
        "print('before training')\n"
        "for step in range(1, 41):\n"
        "    plot.update(step, 1 / step)\n"
        "    time.sleep(0.02)\n"
        "print('after training')\n"
        "plot.finish()\n"
        "print(plot.redraws)",
        # train(plot=True) in the same way, next to the cell's printed outputs
        "from autodiff_nb import data, nn, optim\n"
        "from autodiff_nb.training import train\n"
        "X, y = data.xor(n=64, seed=0)\n"
        "model = nn.MLP([2, 8, 2], seed=0)\n"
        "print('start')\n"
        "history = train(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.5),\n"
        "                X, y, epochs=3, batch_size=16, plot=True, progress=False)\n"
        "print('done')",
    )
    loss_cell, train_cell = run["outputs"]
    kinds = [(o["output_type"], o.get("text", "")) for o in loss_cell]
    assert kinds[0] == ("stream", "before training\n")
    images = [o for o in loss_cell if o["output_type"] == "display_data"]
    assert len(images) == 1                     # one figure, however many redraws
    assert "image/png" in images[0]["data"]
    assert images[0]["metadata"]["image/png"]["alt"].startswith(
        "loss against the training step; training  ·  step 40  ·  loss 0.025")
    texts = "".join(o.get("text", "") for o in loss_cell)
    assert "after training" in texts           # other outputs of the cell are kept
    redraws = int(texts.split()[-1])
    assert redraws >= 3
    types = [kind for cell, kind in run["messages"] if cell == 0]
    assert types.count("display_data") == 1
    assert types.count("update_display_data") == redraws - 1
    assert "clear_output" not in types

    train_images = [o for o in train_cell if o["output_type"] == "display_data"]
    assert len(train_images) == 1 and "image/png" in train_images[0]["data"]
    assert [o["text"] for o in train_cell if o["output_type"] == "stream"] == ["start\n", "done\n"]


# --- decision boundary ------------------------------------------------------------


def _vertical_split():
    """A Linear(2, 2) whose logits favour class 1 exactly where x₁ > 0."""
    layer = nn.Linear(2, 2, seed=0)
    layer.weight.data = np.array([[-1.0, 0.0], [1.0, 0.0]])
    layer.bias.data = np.zeros(2)
    return layer


def test_predict_classes_handles_several_columns_and_single_logits():
    X = np.array([[-1.0, 5.0], [2.0, -3.0], [0.5, 0.0]])
    np.testing.assert_array_equal(viz.predict_classes(_vertical_split(), X), [0, 1, 1])
    logit = nn.Linear(2, 1, seed=0)
    logit.weight.data = np.array([[0.0, 1.0]])
    logit.bias.data = np.zeros(1)
    np.testing.assert_array_equal(viz.predict_classes(logit, X), [1, 0, 0])


def test_decision_boundary_draws_regions_and_points_without_recording(monkeypatch):
    X = np.array([[-1.0, -1.0], [-0.5, 1.0], [1.0, 0.5], [0.7, -0.2]])
    y = np.array([0, 0, 1, 1])
    recorded = []
    make_record = ad.core.tensor._new_record
    monkeypatch.setattr(ad.core.tensor, "_new_record",
                        lambda *a: recorded.append(a) or make_record(*a))
    figure = viz.decision_boundary(_vertical_split(), X, y, resolution=50)
    assert isinstance(figure, Figure)
    ax = figure.axes[0]
    regions = ax.images[0].get_array()
    assert regions.shape == (50, 50)
    assert set(np.unique(regions)) == {0, 1}
    assert regions[:, 0].max() == 0 and regions[:, -1].min() == 1     # left class 0, right 1
    assert len(ax.collections) >= 2                                   # the two classes' points
    assert "accuracy 100.0%" in ax.get_title()
    assert recorded == []                                 # evaluated under no_grad
    png = figure.png()
    assert png.startswith(PNG_SIGNATURE)
    assert png == viz.decision_boundary(_vertical_split(), X, y, resolution=50).png()
    data, metadata = figure._repr_mimebundle_()
    assert base64.b64decode(data["image/png"]) == png
    assert metadata["image/png"]["alt"] == (     # its alternative text on the lecture site
        "decision boundary: the plane shaded by the class the model predicts, 2 classes, "
        "4 points coloured by their label; accuracy 100.0%")


def test_decision_boundary_rejects_data_that_is_not_two_dimensional():
    with pytest.raises(ValueError, match=r"expected X of shape \(n, 2\), got \(4, 3\)"):
        viz.decision_boundary(_vertical_split(), np.zeros((4, 3)), np.zeros(4, dtype=int))
    with pytest.raises(ValueError, match=r"expected labels of shape \(4,\), got \(4, 1\)"):
        viz.decision_boundary(_vertical_split(), np.zeros((4, 2)), np.zeros((4, 1), dtype=int))
