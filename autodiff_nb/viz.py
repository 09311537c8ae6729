"""Pictures of training (a live loss plot, the decision boundary of a 2-D classifier) and of
small networks drawn as circles and arrows, like the lecture's figures.

Both draw on ``matplotlib.figure.Figure`` objects with the Agg canvas, never
through pyplot, so nothing is left open in pyplot's global list of figures,
nothing depends on the notebook's matplotlib backend, and the same code runs
headless. Sizes, dpi and PNG metadata are fixed, so a given run always makes
the same image bytes.
"""
from __future__ import annotations

import base64
import io
import os
import time

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap, to_rgb
from matplotlib.figure import Figure

from .core.tape import no_grad
from .core.tensor import Tensor

# Okabe & Ito's palette: distinguishable with every common colour-vision deficiency.
CLASS_COLORS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00",
                "#F0E442", "#000000", "#999999", "#882255"]
LOSS_COLOR, VAL_COLOR = "#0072B2", "#D55E00"
DPI = 100


class PlotFigure(Figure):
    """A matplotlib Figure that shows itself as a PNG in Jupyter, with or without pyplot.

    ``alt`` says in words what the picture shows; it travels with the PNG as
    output metadata and becomes the image's alternative text on the lecture
    site (screen readers, and the text shown if the image cannot be).
    """

    def __init__(self, figsize, alt=""):
        super().__init__(figsize=figsize, dpi=DPI)
        FigureCanvasAgg(self)
        self.alt = alt

    def png(self):
        """The figure as PNG bytes (no timestamp or version in the metadata)."""
        buffer = io.BytesIO()
        self.canvas.print_png(buffer, metadata={"Software": None})
        return buffer.getvalue()

    def display_data(self, png, text):
        """(data, metadata) for IPython's ``display``: ``png`` with ``alt``, and ``text``."""
        data = {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": text}
        return data, {"image/png": {"alt": self.alt}} if self.alt else {}

    def _repr_mimebundle_(self, include=None, exclude=None):
        # A bundle, not _repr_png_: with pyplot's inline backend loaded, IPython shows
        # every Figure through matplotlib's own printer, which would drop ``alt``.
        return self.display_data(self.png(), repr(self))


def _kernel():
    """True inside a Jupyter kernel, where ``display`` reaches a notebook."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return getattr(get_ipython(), "kernel", None) is not None


class LossPlot:
    """One live figure of the training loss, redrawn in place while a model trains.

    ``update(step, loss, **metrics)`` records values; the figure is redrawn at
    most every ``min_interval`` seconds and, adaptively, rarely enough that
    drawing takes at most ``max_share`` of the run (a slow draw pushes the
    next one further away). In a notebook it is one output, replaced in place
    through a display handle, so the cell's other outputs stay; ``finish()``
    draws the final state once, which the saved notebook keeps as a PNG.
    With ``path=`` each redraw is also written to that file; outside a
    notebook and without ``path`` nothing is drawn at all.

    The cost of a draw is remembered across plots (``LossPlot.draw_cost``,
    0.05 s until measured), so even the first draw waits long enough.

    Metrics whose name contains "acc" (``accuracy``, ``val_accuracy``) go on a
    second panel with a 0–1 scale; any other metric (``val_loss``) is drawn
    with the training loss.
    """

    draw_cost = 0.05                # seconds the last draw took, in any LossPlot

    def __init__(self, title="training", path=None, min_interval=0.25, max_share=0.05,
                 figsize=(9.0, 3.4)):
        self.title = title
        self.path = None if path is None else os.fspath(path)
        self.min_interval = min_interval
        self.max_share = max_share
        self.figsize = figsize
        self.series = {}            # name -> ([steps], [values]), in first-seen order
        self.updates = 0            # calls to update()
        self.redraws = 0            # figures actually drawn
        self._notebook = _kernel()
        self._handle = None
        self._next_draw = None      # perf_counter time before which update() does not draw
        self._drawn_at_update = 0   # self.updates when the figure was last drawn

    @property
    def active(self):
        """Whether drawing has anywhere to go (a notebook or ``path``)."""
        return self._notebook or self.path is not None

    def update(self, step, loss=None, **metrics):
        """Record ``loss`` and ``metrics`` at ``step``; redraw if it is time to."""
        values = {"loss": loss, **metrics}
        for name, value in values.items():
            if value is not None:
                steps, series = self.series.setdefault(name, ([], []))
                steps.append(step)
                series.append(float(value))
        self.updates += 1
        if not self.active:
            return
        now = time.perf_counter()
        if self._next_draw is None:
            self._next_draw = now + self._wait()     # a short run draws only at finish()
        elif now >= self._next_draw:
            self._draw()

    def finish(self):
        """Draw the final state once (if anything changed since the last draw)."""
        if self.active and self.updates > self._drawn_at_update:
            self._draw()

    close = finish

    def _draw(self):
        start = time.perf_counter()
        figure = self.figure()
        png = figure.png()
        if self.path is not None:
            _write_atomically(self.path, png)
        if self._notebook:
            self._show(*figure.display_data(png, f"<LossPlot: {self.title}>"))
        self.redraws += 1
        self._drawn_at_update = self.updates
        LossPlot.draw_cost = time.perf_counter() - start
        self._next_draw = time.perf_counter() + self._wait()

    def _wait(self):
        """Seconds until the next draw: drawing then costs ``max_share`` of the time at most."""
        return max(self.min_interval, self.draw_cost * (1 - self.max_share) / self.max_share)

    def _show(self, bundle, metadata):
        from IPython.display import display
        if self._handle is None:
            self._handle = display(bundle, metadata=metadata, raw=True, display_id=True)
        else:
            self._handle.update(bundle, metadata=metadata, raw=True)

    def figure(self):
        """A new Figure of everything recorded so far."""
        metric_names = [n for n in self.series if "acc" not in n]
        accuracy_names = [n for n in self.series if "acc" in n]
        fig = PlotFigure(self.figsize, alt=self._description())
        if accuracy_names:
            loss_ax, acc_ax = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
        else:
            loss_ax, acc_ax = fig.subplots(1, 1), None
        _plot_losses(loss_ax, self.series, metric_names)
        if acc_ax is not None:
            _plot_accuracies(acc_ax, self.series, accuracy_names)
        fig.suptitle(self._headline(), fontsize=11)
        # Fixed margins instead of tight_layout, which would cost a second rendering.
        fig.subplots_adjust(left=0.07, right=0.985, bottom=0.15, top=0.86, wspace=0.22)
        return fig

    def _headline(self):
        parts = [self.title]
        if self.series:
            last_step = max(steps[-1] for steps, _ in self.series.values())
            parts.append(f"step {last_step}")
        for name, (_, values) in self.series.items():
            value = f"{values[-1]:.1%}" if "acc" in name else f"{values[-1]:.4g}"
            parts.append(f"{name.replace('_', ' ')} {value}")
        return "  ·  ".join(parts)

    def _description(self):
        """The plot in words, its alternative text: what is plotted, then the latest values."""
        names = ", ".join(name.replace("_", " ") for name in self.series) or "nothing yet"
        return f"{names} against the training step; {self._headline()}"

    def __repr__(self):
        return f"LossPlot(title={self.title!r}, updates={self.updates})"


def _smooth(values):
    """A trailing mean over ~2% of the points: the trend through noisy minibatch losses."""
    window = max(1, len(values) // 50)
    if window == 1:
        return np.asarray(values)
    cumulative = np.cumsum(np.insert(np.asarray(values), 0, 0.0))
    counts = np.minimum(np.arange(1, len(values) + 1), window)
    starts = np.arange(1, len(values) + 1) - counts
    return (cumulative[np.arange(1, len(values) + 1)] - cumulative[starts]) / counts


def _marker(values):
    """Dots on per-epoch curves while there are few enough to tell apart."""
    return "o" if len(values) <= 40 else None


def _plot_losses(ax, series, names):
    for name in names:
        steps, values = series[name]
        if name == "loss":
            noisy = len(values) > 50
            ax.plot(steps, values, color=LOSS_COLOR, linewidth=0.8,
                    alpha=0.3 if noisy else 1.0, label=None if noisy else "training loss")
            if noisy:
                ax.plot(steps, _smooth(values), color=LOSS_COLOR, linewidth=1.8,
                        label="training loss (smoothed)")
        else:
            color = VAL_COLOR if name == "val_loss" else None
            ax.plot(steps, values, color=color, linewidth=1.8, marker=_marker(values),
                    markersize=3,
                    label=name.replace("_", " ").replace("val ", "validation "))
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.grid(True, alpha=0.3)
    if names:
        ax.legend(loc="upper right", fontsize=9, frameon=False)


def _plot_accuracies(ax, series, names):
    for name in names:
        steps, values = series[name]
        color = VAL_COLOR if name.startswith("val") else LOSS_COLOR
        ax.plot(steps, values, color=color, linewidth=1.8, marker=_marker(values), markersize=3,
                label=name.replace("val_", "validation ").replace("_", " "))
    ax.set_ylim(0.0, 1.02)
    ax.set_xlabel("step")
    ax.set_ylabel("accuracy")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize=9, frameon=False)


def _write_atomically(path, data):
    """Replace ``path`` in one step, so a viewer never sees half a PNG."""
    partial = f"{path}.partial"
    with open(partial, "wb") as handle:
        handle.write(data)
    os.replace(partial, path)


# --- decision boundary ----------------------------------------------------------


def predict_classes(model, X):
    """Class predictions of ``model`` on the rows of ``X``, without recording.

    Several output columns: the largest (argmax). One column or a 1-D output:
    a logit, class 1 where it is positive.
    """
    with no_grad():
        output = np.asarray(model(Tensor(np.asarray(X, dtype=np.float64))).data)
    if output.ndim == 2 and output.shape[1] > 1:
        return output.argmax(axis=1)
    return (output.reshape(len(X)) > 0).astype(np.int64)


def _tint(color, amount):
    """``color`` mixed with white: ``amount`` of the colour, the rest white."""
    return tuple(1 - amount * (1 - c) for c in to_rgb(color))


def decision_boundary(model, X, y, resolution=300, padding=0.1, title=None, figsize=(5.2, 5.0)):
    """Shade the plane by the class ``model`` predicts there; draw the points by their class.

    ``X`` has two columns and ``y`` integer labels. The grid spans the data
    plus ``padding`` (a fraction of each range) on every side, with
    ``resolution`` cells along each axis; it is evaluated under ``no_grad``.
    Returns a Figure (shown as a PNG in a notebook).
    """
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"decision_boundary: expected X of shape (n, 2), got {X.shape}")
    if y.shape != (len(X),):
        raise ValueError(f"decision_boundary: expected labels of shape ({len(X)},), "
                         f"got {y.shape}")
    low, high = X.min(axis=0), X.max(axis=0)
    margin = padding * np.maximum(high - low, 1e-9)
    xs = np.linspace(low[0] - margin[0], high[0] + margin[0], resolution)
    ys = np.linspace(low[1] - margin[1], high[1] + margin[1], resolution)
    grid_x, grid_y = np.meshgrid(xs, ys)
    regions = predict_classes(model, np.column_stack([grid_x.ravel(), grid_y.ravel()]))
    regions = regions.reshape(grid_x.shape)
    accuracy = float((predict_classes(model, X) == y).mean())
    classes = int(max(y.max(), regions.max())) + 1
    colors = [CLASS_COLORS[k % len(CLASS_COLORS)] for k in range(classes)]

    fig = PlotFigure(figsize, alt=(
        f"{title or 'decision boundary'}: the plane shaded by the class the model predicts, "
        f"{classes} classes, {len(X)} points coloured by their label; "
        f"accuracy {accuracy:.1%}"))
    ax = fig.subplots()
    ax.imshow(regions, origin="lower", extent=(xs[0], xs[-1], ys[0], ys[-1]),
              cmap=ListedColormap([_tint(c, 0.3) for c in colors]),
              vmin=-0.5, vmax=classes - 0.5, interpolation="nearest", aspect="auto")
    ax.contour(grid_x, grid_y, regions, levels=np.arange(classes - 1) + 0.5,
               colors="#555555", linewidths=0.8)
    for k, color in enumerate(colors):
        mine = y == k
        if mine.any():
            ax.scatter(X[mine, 0], X[mine, 1], s=18, color=color, edgecolors="#222222",
                       linewidths=0.4, label=f"class {k}")
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.legend(loc="upper right", fontsize=8, framealpha=0.9)
    ax.set_title(title or f"decision boundary (accuracy {accuracy:.1%})", fontsize=11)
    fig.tight_layout()
    return fig


# --- a small network as circles and arrows -----------------------------------------

NODE_FILL, NODE_EDGE = "#e3edf7", "#1971c2"
ARROW_COLOR, HIGHLIGHT_COLOR = "0.3", "#c2255c"


def network_figure(layers, edges=None, *, highlight=(), title=None, ax=None, figsize=(4.0, 2.6)):
    """Draw a small network the way the lecture does: a circle per variable, an arrow per use.

    ``layers`` lists the variables column by column, top to bottom, e.g. the
    lecture's example ``[["x1", "x2"], ["y1", "y2"], ["z1"]]``; a name such as
    ``"x1"`` is written $x_1$. ``edges`` are ``(from, to)`` pairs; ``None``
    connects every variable to every one in the next column. The arrows
    leaving a variable in ``highlight`` are drawn thick and red (a variable
    used more than once, for instance).

    Draws into ``ax`` when given (a panel of a larger figure) and returns it;
    otherwise returns a new Figure of ``figsize`` inches, shown as a PNG in a
    notebook.
    """
    at = {}
    for column, names in enumerate(layers):
        for row, name in enumerate(names):
            at[name] = (column, 0.5 if len(names) == 1 else 1 - row / (len(names) - 1))
    if edges is None:
        edges = [(a, b) for left, right in zip(layers, layers[1:]) for a in left for b in right]
    unknown = sorted({name for edge in edges for name in edge} - set(at))
    if unknown:
        raise ValueError(f"network_figure: edges use {', '.join(map(repr, unknown))}, which no "
                         f"layer lists")
    figure = None
    if ax is None:
        figure = PlotFigure(figsize, alt=(
            "network: " + " → ".join(", ".join(names) for names in layers)
            + f", {len(edges)} arrows" + (f", those from {', '.join(highlight)} highlighted"
                                          if highlight else "")))
        ax = figure.subplots()
    for a, b in edges:
        lit = a in highlight
        ax.annotate("", xy=at[b], xytext=at[a], arrowprops=dict(
            arrowstyle="-|>", shrinkA=17, shrinkB=17, mutation_scale=16,
            lw=3 if lit else 1.5, color=HIGHLIGHT_COLOR if lit else ARROW_COLOR))
    for name, (x, y) in at.items():
        ax.scatter(x, y, s=1100, facecolor=NODE_FILL, edgecolor=NODE_EDGE, lw=1.5, zorder=3)
        ax.text(x, y, _math_name(name), ha="center", va="center", fontsize=14, zorder=4)
    if title:
        ax.set_title(title)
    ax.set_xlim(-0.4, len(layers) - 0.6)
    ax.set_ylim(-0.4, 1.4)
    ax.axis("off")
    return figure if figure is not None else ax


def _math_name(name):
    """``x1`` -> ``$x_{1}$``: a trailing number becomes a subscript; other names stay as they are."""
    stem = name.rstrip("0123456789")
    if stem and stem != name and stem.isalpha():
        return f"${stem}_{{{name[len(stem):]}}}$"
    return name
