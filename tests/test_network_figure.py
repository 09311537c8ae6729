"""``viz.network_figure``: the lecture's circles-and-arrows picture of a small network."""
from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.text import Annotation

from autodiff_nb import viz

LECTURE = [["x1", "x2"], ["y1", "y2"], ["z1"]]
LECTURE_EDGES = [("x1", "y2"), ("x2", "y2"), ("y1", "z1"), ("y2", "z1")]


def arrows(ax):
    return [child for child in ax.get_children() if isinstance(child, Annotation)]


def labels(ax):
    return [t.get_text() for t in ax.texts if not isinstance(t, Annotation)]


def test_lecture_layout_and_arrows():
    figure = viz.network_figure(LECTURE, LECTURE_EDGES, title="the lecture's example")
    assert isinstance(figure, Figure) and figure.png().startswith(b"\x89PNG")
    ax, = figure.axes
    centres = [tuple(c.get_offsets()[0]) for c in ax.collections]
    assert centres == [(0, 1), (0, 0), (1, 1), (1, 0), (2, 0.5)]
    assert labels(ax) == ["$x_{1}$", "$x_{2}$", "$y_{1}$", "$y_{2}$", "$z_{1}$"]
    drawn = [(a.xyann, a.xy) for a in arrows(ax)]
    assert drawn == [((0, 1), (1, 0)), ((0, 0), (1, 0)), ((1, 1), (2, 0.5)), ((1, 0), (2, 0.5))]
    assert ax.get_title() == "the lecture's example"


def test_highlight_marks_the_arrows_leaving_a_variable():
    ax = viz.network_figure(LECTURE, LECTURE_EDGES + [("x1", "y1")], highlight=["x1"]).axes[0]
    colours = {(a.xyann, a.xy): to_hex(a.arrow_patch.get_edgecolor()) for a in arrows(ax)}
    lit = {edge for edge, colour in colours.items() if colour == viz.HIGHLIGHT_COLOR}
    assert lit == {((0, 1), (1, 0)), ((0, 1), (1, 1))}


def test_default_edges_connect_consecutive_layers_and_ax_is_drawn_into():
    figure = matplotlib.figure.Figure()
    left, right = figure.subplots(1, 2)
    assert viz.network_figure([["a", "b", "c"], ["h"], ["out"]], ax=right) is right
    assert not left.collections and len(arrows(right)) == 3 + 1
    assert [tuple(c.get_offsets()[0]) for c in right.collections][:3] == [(0, 1), (0, 0.5), (0, 0)]
    assert labels(right) == ["a", "b", "c", "h", "out"]


def test_unknown_names_are_reported():
    with pytest.raises(ValueError, match="'w1'"):
        viz.network_figure(LECTURE, [("x1", "w1")])


def test_same_png_twice():
    first = viz.network_figure(LECTURE, LECTURE_EDGES).png()
    assert first == viz.network_figure(LECTURE, LECTURE_EDGES).png()
    assert np.frombuffer(first, dtype=np.uint8).size > 1000
