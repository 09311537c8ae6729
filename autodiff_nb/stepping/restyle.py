"""Every frame from ONE drawing: restyle the final frame's SVG, never re-render it.

The drawing is rendered once, with every gradient filled in (the last
frame), so each gradient cell already has its final width and no node moves
between frames. ``Restyler`` cuts that SVG into literal pieces and *slots*:

* the ``class`` of every operation node and edge (``adnb-current``,
  ``adnb-sent``: the operation visited and the edges its gradients leave by;
  ``adnb-arriving``: the edge the output's gradient comes back along),
* the ``class`` of every gradient cell (``adnb-blank`` / ``adnb-partial`` /
  ``adnb-final``, plus ``adnb-wrote`` or ``adnb-accumulated`` when this step
  wrote it with "=" or "+=", ``adnb-arriving`` for the output's cell),
* the cell's tooltip and the text of each of its numbers.

Time steps (an unrolled RNN drawn with one cluster per step) are *folded*:
every node and edge inside a step's cluster carries the class
``adnb-in-<cluster id>``, the ``<svg>`` says which step is open
(``data-adnb-open``), and ``FOLD_STYLE`` fades the other steps and hides
their numbers, unless a node is one the frame's operation reads or writes
(``adnb-shown``). One attribute per frame, so frames stay as cheap as
before; the layout is the one drawing (a drawing per open step, with the
others as boxes, took Graphviz 2.6 s per step at 20 steps).

In forward mode (``step_through(loss, forward=True)``) the value cells
(``v3_value``) are slots too, restyled the same way: blank ("—", grey)
until the frame that computes them, then their numbers in the
``adnb-final`` state (a value, once computed, never changes), which
``VALUE_STYLE`` draws as the drawing's own white value cell. Only then:
the default mode's SVG stays exactly as it was.

A frame is the base list of slot values with the cells and marks of that
frame patched in, joined: no parsing, no Graphviz. The same per-cell
timelines and per-frame marks go to the browser as JSON (``browser_data``)
so that ``stepper.js`` applies exactly the same restyling there.

The classes are styled by ``SVG_STYLE``, a ``<style>`` put inside the SVG,
so a frame shown on its own (``stepper.frame(k).svg()``) looks the same as
in the stepper.
"""
from __future__ import annotations

import html
import re
from bisect import bisect_right

import numpy as np

from ..drawing import formatting as fmt
from ..drawing.dot import GRAD_TEXT, VALUE_TEXT

STATES = ("adnb-blank", "adnb-partial", "adnb-final")
BLANK = "—"

SVG_STYLE = """<style>
.adnb-current ellipse, .adnb-current polygon, .adnb-current path { stroke: #e8590c; stroke-width: 3px; fill: #ffe8cc; }
.edge.adnb-sent path { stroke: #e8590c; stroke-width: 3px; }
.edge.adnb-sent polygon { stroke: #e8590c; fill: #e8590c; }
.edge.adnb-arriving path { stroke: #1971c2; stroke-width: 3px; stroke-dasharray: 6 3; }
.edge.adnb-arriving polygon { stroke: #1971c2; fill: #1971c2; }
g.adnb-blank > a > polygon { fill: #efefef; }
g.adnb-blank text { fill: #9a9a9a; }
g.adnb-partial > a > polygon { fill: #fff3bf; }
g.adnb-final > a > polygon { fill: #d3f9d8; }
g.adnb-final text { fill: #1b5e20; }
g.adnb-wrote > a > polygon { stroke: #e8590c; stroke-width: 2.5px; }
g.adnb-accumulated > a > polygon { stroke: #c2255c; stroke-width: 3px; stroke-dasharray: 4 2; }
g.adnb-arriving > a > polygon { stroke: #1971c2; stroke-width: 2.5px; }
g.adnb-wrote text, g.adnb-accumulated text { font-weight: bold; }
</style>"""

# A known value in forward mode: the drawing's white value cell, not the green of a final gradient.
VALUE_STYLE = """<style>
g[id$="_value"].adnb-final > a > polygon { fill: #ffffff; }
g[id$="_value"].adnb-final text { fill: #222222; }
</style>"""

# One block per time-step cluster {c}: faded and without numbers unless open (or shown).
FOLD_STYLE = """svg:not([data-adnb-open="{c}"]) .adnb-in-{c}:not(.adnb-shown) {{ opacity: 0.2; }}
svg:not([data-adnb-open="{c}"]) .adnb-in-{c}:not(.adnb-shown) text {{ visibility: hidden; }}
svg[data-adnb-open="{c}"] g#{c} > path, svg[data-adnb-open="{c}"] g#{c} > polygon {{ stroke: #1971c2; stroke-width: 2px; stroke-dasharray: none; }}
"""

TEXT_OF = {"grad": GRAD_TEXT, "value": VALUE_TEXT}   # the colour of a cell's numbers

_TAG = re.compile(
    r'<g id="(?P<node>[^"]+)" class="(?P<kind>node|edge)">'
    r'|<g id="a_(?P<cell>[^"]+_(?P<part>grad|value))">'
    r'(?P<link><a[^>]*? xlink:title=")(?P<title>[^"]*)"'
    r'|(?P<number><text [^>]*fill="(?P<fill>' + "|".join(map(re.escape, TEXT_OF.values()))
    + r')">)(?P<text>[^<]*)</text>')


# An operation's ellipse, and the drawing's frame: its viewBox size and the translation
# Graphviz puts on its top group (node coordinates are relative to it).
_ELLIPSE = re.compile(r'<ellipse [^>]*?cx="(?P<cx>[-0-9.]+)" cy="(?P<cy>[-0-9.]+)"')
_FRAME = re.compile(r'viewBox="[-0-9.]+ [-0-9.]+ (?P<w>[0-9.]+) (?P<h>[0-9.]+)"[\s\S]*?'
                    r'translate\((?P<tx>[-0-9.]+) (?P<ty>[-0-9.]+)\)')


class Restyler:
    """The final frame's SVG as a template; see the module docstring.

    ``cells``: {cell element id: [(frame, gradient or None, final), ...]} (a
    timeline starting at frame 0); value cells (``..._value``, forward mode)
    have the same timelines with the value instead of the gradient;
    ``names``: {cell element id: name}; ``marks``: one dict per frame,
    {class: [element ids]}; ``folds``: None, or ({cluster id: [element ids
    inside it]}, [the cluster open at each frame, or ""]).
    """

    def __init__(self, svg, cells, names, marks, folds=None, numbers=fmt.DISPLAY):
        self.marks = marks
        self._svg = svg
        self._positions = {}
        values = any(cell.endswith("_value") for cell in cells)
        parts = ("grad", "value") if values else ("grad",)
        style = SVG_STYLE + "\n" + VALUE_STYLE if values else SVG_STYLE
        members, self.open = folds or ({}, None)
        if members:
            style += "\n<style>\n" + "".join(FOLD_STYLE.format(c=c) for c in members) + "</style>"
        self.pieces, self.base, self.slots = _cut(_with_style(svg, style), parts)
        for cluster, elements in members.items():
            for element in elements:
                slot = self.slots.get(("class", element))
                if slot is not None:
                    self.base[slot] += f" adnb-in-{cluster}"
        self.cells = {}
        for cell, timeline in cells.items():
            texts = self.slots.get(("numbers", cell), [])
            if ("class", cell) not in self.slots or not texts:
                continue   # not drawn, or drawn without numbers (a freed value)
            entries = [_entry(k, array, final, names[cell], len(texts), numbers,
                              cell.endswith("_value"))
                       for k, array, final in timeline]
            # Escaped once here, not once per frame.
            escaped = [([html.escape(t) for t in texts], html.escape(title), STATES[state])
                       for _, texts, state, title in entries]
            self.cells[cell] = ([k for k, *_ in entries], entries, escaped)

    # --- Python side: frame k's SVG text ----------------------------------------
    def svg(self, k):
        values = list(self.base)
        classes = {}
        slots = self.slots
        for cell, (frames, _, escaped) in self.cells.items():
            texts, title, state = escaped[bisect_right(frames, k) - 1]
            classes[cell] = [state]
            values[slots[("title", cell)]] = title
            for slot, text in zip(slots[("numbers", cell)], texts):
                values[slot] = text
        for cls, ids in self.marks[k].items():
            for element in ids:
                classes.setdefault(element, []).append(cls)
        for element, extra in classes.items():
            slot = self.slots.get(("class", element))
            if slot is None:
                continue
            if element in self.cells:
                values[slot] = f' class="{" ".join(extra)}"'
            else:
                values[slot] = " ".join([self.base[slot], *extra])
        out = [""] * (2 * len(values) + 1)
        out[0::2] = self.pieces
        out[1::2] = values
        if self.open is not None:
            out[0] = out[0].replace("<svg ", f'<svg data-adnb-open="{self.open[k]}" ', 1)
        return "".join(out)

    def position(self, k):
        """Where frame ``k``'s operation sits in the drawing: (x, y) as fractions of its width
        and height from the top left; None for a frame with no operation (frame 0)."""
        current = self.marks[k].get("adnb-current")
        if not current:
            return None
        node = current[0]
        if node not in self._positions:
            self._positions[node] = _centre(self._svg, node)
        return self._positions[node]

    # --- browser side: the same data as JSON --------------------------------------
    def browser_data(self):
        """{"cells": {id: [[frame, texts, state, title], ...]}, "marks": [...]} for stepper.js
        (and "open": the time step open at each frame, when steps are folded).

        Cell ids are the ``<g>`` element ids of the SVG (``a_`` + the drawing's cell id).
        """
        data = {"cells": {f"a_{cell}": [list(entry) for entry in entries]
                          for cell, (_, entries, _) in self.cells.items()},
                "marks": [{cls: [_element_id(e, self.slots) for e in ids]
                           for cls, ids in marks.items()} for marks in self.marks]}
        if self.open is not None:
            data["open"] = self.open
        return data


def _centre(svg, node):
    """The centre of operation ``node``, as fractions of the drawing's width and height.

    Operations are ellipses: the stepper's drawing has no collapsed boxes.
    """
    frame = _FRAME.search(svg)
    ellipse = _ELLIPSE.search(svg, svg.index(f'<g id="{node}" class="node'))
    return ((float(ellipse["cx"]) + float(frame["tx"])) / float(frame["w"]),
            (float(ellipse["cy"]) + float(frame["ty"])) / float(frame["h"]))


def _element_id(element, slots):
    """The SVG id of a marked element: cells are wrapped as ``a_<cell id>`` by Graphviz."""
    return f"a_{element}" if ("title", element) in slots else element


def _with_style(svg, style):
    """The SVG with ``style`` as its first child (after the ``<svg ...>`` tag)."""
    start = svg.index("<svg")
    end = svg.index(">", start) + 1
    return svg[:end] + "\n" + style + svg[end:]


def _cut(svg, parts):
    """Split ``svg`` around its slots: (pieces, base values, {key: slot index}).

    ``parts``: the kinds of cells that are slots ("grad", "value").

    ``pieces`` has one more item than ``base``: the SVG is pieces[0] + base[0]
    + pieces[1] + ... A cell's <g> has no class attribute, so its class slot
    holds the whole attribute (empty in the base).
    """
    pieces, base, slots = [], [], {}
    position = 0
    cell = part = None

    def slot(key, start, end, value):
        nonlocal position
        pieces.append(svg[position:start])
        slots[key] = len(base)
        base.append(value)
        position = end

    for match in _TAG.finditer(svg):
        if match["node"]:
            cell = None
            slot(("class", match["node"]), match.start("kind"), match.end("kind"), match["kind"])
        elif match["cell"]:
            cell, part = (match["cell"], match["part"]) if match["part"] in parts else (None, None)
            if cell is None:
                continue
            after_id = match.end("cell") + 1
            slot(("class", cell), after_id, after_id, "")
            slot(("title", cell), match.start("title"), match.end("title"), match["title"])
        elif cell is not None and match["fill"] == TEXT_OF[part]:
            slot(("number", cell, match.start()), match.start("text"), match.end("text"),
                 match["text"])
            pieces[-1] = pieces[-1][:-1] + ' class="adnb-n">'   # so the browser finds them too
            slots.setdefault(("numbers", cell), []).append(len(base) - 1)
    pieces.append(svg[position:])
    return pieces, base, slots


def cell_texts(array, numbers):
    """The texts of a cell's numbers, in drawing order: its elements, or its summary."""
    array = np.asarray(array)
    if array.size <= fmt.MATRIX_LIMIT:
        return [x for row in fmt.matrix(array, numbers) for x in row]
    return [x for _, x in fmt.summary(array, numbers)]


def _entry(k, array, final, name, count, numbers, value=False):
    """One timeline entry: (frame, number texts, state index, tooltip).

    ``numbers``: the stepper's ``NumberFormat``; ``value``: a value cell (forward mode), else a
    gradient cell.
    """
    if array is None:
        what = name if value else f"gradient of {name}"
        return (k, [BLANK] + [""] * (count - 1), 0, f"{what}: not computed yet")
    array = np.asarray(array)
    texts = cell_texts(array, numbers)
    state = 2 if final else 1
    if value:
        return (k, texts, state, f"{name} = {fmt.full_text(array, numbers)}")
    how = "final" if final else "so far"
    return (k, texts, state, f"gradient of {name} ({how}) = {fmt.full_text(array, numbers)}")
