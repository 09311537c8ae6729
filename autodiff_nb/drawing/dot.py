"""Write a ``Scene`` as DOT text: the palette, the node labels and the ids.

Everything a user can name (tensor names, scope names, operation
parameters) passes through ``text`` (HTML-like label content) or
``attribute`` (a quoted DOT string) before it reaches the DOT source, so a
name like ``"];rankdir=TB;x["`` or ``<script>`` is drawn literally and never
becomes DOT syntax or SVG markup. Graphviz expands ``\\N``-style escapes even
inside HTML labels and tooltips, so backslashes are doubled as well.

Node and edge ids are the scene's ids with the caller's prefix in front;
table cells get ``ID``s too, and an ``HREF`` pointing at themselves because
Graphviz 2.4x writes a cell's ``id`` into the SVG only for cells that are
links (see the id scheme in ``autodiff_nb.draw``).
"""
from __future__ import annotations

import numpy as np

from . import formatting as fmt
from . import heatmap

FONT = "Helvetica"   # Graphviz has built-in metrics for it; browsers substitute Arial/Liberation Sans

# Four kinds of value, told apart by border style and tone as well as hue,
# so that they survive grayscale printing.
KIND_STYLE = {
    #               fill        border     border width, table style        header fill / text
    "param":        ("#e3edf7", "#41729f", 2, "solid",  "#c9dcef", "#16324f"),
    "const":        ("#ffffff", "#8f8f8f", 1, "dashed", "#ffffff", "#555555"),
    "intermediate": ("#f6f6f4", "#a6a6a6", 1, "solid",  "#ecece8", "#333333"),
    "root":         ("#f6f6f4", "#2f3e4e", 2, "solid",  "#2f3e4e", "#ffffff"),
}
KIND_LEGEND = {
    "param": "parameter / input (needs a gradient)",
    "const": "constant (no gradient)",
    "intermediate": "intermediate value",
    "root": "output (where backward starts)",
}
VALUE_FILL, VALUE_TEXT = "#ffffff", "#222222"        # the numbers of a value sit on white
GRAD_FILL, GRAD_TEXT = "#fbe3c4", "#8a4100"          # a computed gradient: warm band
MISSING_FILL, MISSING_TEXT = "#efefef", "#9a9a9a"    # not computed yet: grey band
LABEL_TEXT = "#7a7a7a"                               # small captions: shape, "value", "grad"
OP_FILL, OP_BORDER, OP_TEXT = "#ffffff", "#8c8c8c", "#222222"
BOX_FILL, BOX_BORDER = "#eeeaf5", "#6d5a96"          # a scope drawn as one box
EDGE_COLOR = "#8c8c8c"
NBSP = "&#160;"      # spacing that no Graphviz build trims (plain spaces can be dropped)
HIGHLIGHT = "#d81b60"                                # emphasis (highlight=): magenta, thick


def text(value) -> str:
    """Any string as HTML-like label text: shown literally, never markup or DOT syntax."""
    return str(value).translate(_TEXT)


def tooltip(value) -> str:
    """Like ``text``, for a tooltip attribute, where line breaks are kept."""
    return str(value).translate(_TOOLTIP)


_TEXT = {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;", ord('"'): "&quot;",
         ord("'"): "&#39;", ord("["): "&#91;", ord("]"): "&#93;",
         ord("\\"): "\\\\",                       # Graphviz expands \N, \G, ... even here
         **{c: f"\\\\x{c:02x}" for c in [*range(32), 127]}}   # control characters as \xNN
_TOOLTIP = {**_TEXT, ord("\n"): "&#10;"}


def attribute(value) -> str:
    """A quoted DOT string (ids, plain attributes) holding ``value`` literally."""
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


class DotWriter:
    """Turn one scene into DOT, with the options that only affect looks.

    ``numbers``: the ``NumberFormat`` for every number (default: fitted to those drawn).
    ``widest``: {(tensor id, "value" or "grad"): texts}, one text per number of that
    cell, written instead of its numbers. A stepper's frames rewrite the text of
    the one drawing; drawn with the widest text each cell will ever show, no
    frame's number runs out of its cell.
    """

    def __init__(self, scene, *, prefix="", rankdir="LR", values=True, shapes=True,
                 highlight=(), legend=False, thumbnails=True, numbers=None, widest=None):
        self.scene = scene
        self.widest = widest or {}
        self.thumbnails = thumbnails
        self.prefix = prefix
        self.rankdir = rankdir
        self.values = values
        self.shapes = shapes
        self.legend = legend
        self.lit_values, self.lit_ops = _resolve_highlight(scene, highlight)
        self.numbers = numbers or fmt.fitted(self._shown_arrays())

    def _shown_arrays(self):
        """Every value and gradient the drawing writes numbers for (what its format tells apart)."""
        grads = self.scene.grads or {}
        for node in self.scene.values:
            if self.values:
                yield node.tensor._data
            if node.tensor._id in grads and node.kind != "const":
                grad = grads[node.tensor._id]
                yield np.asarray(getattr(grad, "_data", grad))

    # --- the whole graph ---------------------------------------------------
    def source(self) -> str:
        lines = ["digraph autodiff {", self._graph_attributes(),
                 f'  node [fontname="{FONT}", fontsize=11, margin=0];',
                 f'  edge [color="{EDGE_COLOR}", arrowsize=0.6, penwidth=1.1];']
        by_cluster = {}
        for node in self._nodes():
            by_cluster.setdefault(node[0], []).append(node[1])
        lines.extend(by_cluster.pop(None, []))
        for cluster in self.scene.clusters:
            lines.append(self._cluster(cluster, by_cluster.get(cluster.id, [])))
        lines.extend(self._edges())
        if self.scene.note:
            lines.append(self._note())
        if self.legend:
            lines.append(self._legend())
        lines.append("}")
        return "\n".join(lines) + "\n"

    def _graph_attributes(self):
        parts = [f"rankdir={self.rankdir}", f'fontname="{FONT}"', "nodesep=0.25",
                 "ranksep=0.3", "pad=0.15", 'bgcolor="white"']
        if self.prefix:
            parts.append(f"id={attribute(self.prefix)}")  # prefixes Graphviz's own ids too
        return f"  graph [{', '.join(parts)}];"

    def _id(self, name):
        return self.prefix + name

    def _nodes(self):
        """(cluster id or None, DOT line) for every node, in drawing order."""
        emitted = set()
        values = {v.id: v for v in self.scene.values}
        order = []
        for op in self.scene.ops:
            order.extend(values[v] for v in op.inputs if v not in emitted and not emitted.add(v))
            order.append(op)
            order.extend(values[v] for v in op.outputs if v not in emitted and not emitted.add(v))
        order.extend(v for v in self.scene.values if v.id not in emitted)
        for item in order:
            if hasattr(item, "kind"):
                yield item.cluster, self._value_node(item)
            else:
                yield item.cluster, self._op_node(item)

    def _cluster(self, cluster, members):
        label = (f'<<FONT POINT-SIZE="12" COLOR="{BOX_BORDER}"><B>{text(cluster.label)}</B>'
                 f'</FONT>>')
        body = "\n".join("  " + m for m in members)
        return (f"  subgraph {attribute('cluster_' + cluster.id)} {{\n"
                f"    graph [id={attribute(self._id(cluster.id))}, label={label}, "
                f'style="rounded,dashed", color="{BOX_BORDER}", labeljust=l];\n'
                f"{body}\n  }}")

    def _edges(self):
        for op in self.scene.ops:
            lit = op.id in self.lit_ops
            style = f', color="{HIGHLIGHT}", penwidth=2.2' if lit else ""
            for position, value_id in enumerate(op.inputs):
                yield (f"  {self._id(value_id)} -> {self._id(op.id)} "
                       f"[id={attribute(self._id(f'{op.id}_in{position}'))}{style}];")
            for position, value_id in enumerate(op.outputs):
                suffix = "out" if len(op.outputs) == 1 else f"out{position}"
                yield (f"  {self._id(op.id)} -> {self._id(value_id)} "
                       f"[id={attribute(self._id(f'{op.id}_{suffix}'))}{style}];")

    # --- value nodes -------------------------------------------------------
    def _value_node(self, node):
        """A table: the name and shape across the top, then a value row and a gradient row.

        Each row is a small grey caption ("value", "grad") beside the numbers
        cell (``v3_value``, ``v3_grad``): white for values, a warm band for
        gradients, grey with "—" for a gradient not computed yet.
        """
        fill, border, width, style, header_fill, header_text = KIND_STYLE[node.kind]
        if node.id in self.lit_values:
            border, width = HIGHLIGHT, 3
        tensor = node.tensor
        data = tensor._data
        name = tensor.name or node.id
        rows = [self._cell(node.id, "name", self._header(name, data, header_text),
                           f"{name}: {KIND_LEGEND[node.kind]}", header_fill,
                           extra=' COLSPAN="2" CELLPADDING="4"')]
        if self.values:
            tip = f"{name} = {self._tip(data)}"
            if node.changed:
                tip += " (changed after this graph was recorded: shown as it is now)"
                rows.append(f'<TD COLSPAN="2"><FONT POINT-SIZE="8" COLOR="{LABEL_TEXT}">'
                            f'changed since recorded</FONT></TD>')
            rows.append(self._row(node.id, "value", self._numbers(
                data, VALUE_TEXT, self.widest.get((tensor._id, "value"))), tip, VALUE_FILL))
        if self.scene.grads is not None and node.kind != "const":
            grad = self.scene.grads.get(tensor._id)
            if grad is None:
                rows.append(self._row(node.id, "grad", f'<FONT COLOR="{MISSING_TEXT}">—</FONT>',
                                      f"gradient of {name}: not computed yet", MISSING_FILL))
            else:
                grad = np.asarray(getattr(grad, "_data", grad))
                rows.append(self._row(node.id, "grad", self._numbers(
                    grad, GRAD_TEXT, self.widest.get((tensor._id, "grad"))),
                    f"gradient of {name} = {self._tip(grad)}", GRAD_FILL))
        table = (f'<TABLE BORDER="{width}" STYLE="{style}" COLOR="{border}" BGCOLOR="{fill}" '
                 f'CELLBORDER="0" CELLSPACING="2" CELLPADDING="3">'
                 + "".join(f"<TR>{row}</TR>" for row in rows) + "</TABLE>")
        return f"  {self._id(node.id)} [id={attribute(self._id(node.id))}, shape=plain, label=<{table}>];"

    def _cell(self, node_id, part, content, tip, fill, extra=""):
        cell_id = self._id(f"{node_id}_{part}")
        return (f'<TD ID="{cell_id}" HREF="#{cell_id}" TOOLTIP="{tooltip(tip)}" '
                f'BGCOLOR="{fill}"{extra}>{content}</TD>')

    def _row(self, node_id, part, numbers, tip, fill):
        """A grey caption on the node's background, then the numbers cell (the only one with an id)."""
        caption = f'<TD ALIGN="LEFT" VALIGN="TOP"><FONT POINT-SIZE="9" COLOR="{LABEL_TEXT}">{part}</FONT></TD>'
        return caption + self._cell(node_id, part, numbers, tip, fill, extra=' ALIGN="RIGHT"')

    def _header(self, name, data, color):
        header = f'<FONT COLOR="{color}"><B>{text(name)}</B></FONT>'
        if self.shapes and data is not None and data.ndim:
            header += (f'<FONT POINT-SIZE="9" COLOR="{color}">{NBSP * 2}'
                       f'{text(fmt.shape(data.shape))}</FONT>')
        return header

    def _tip(self, array):
        """The tooltip's text: the numbers, or a summary beside a heatmap."""
        if self.thumbnails and heatmap.wants_thumbnails(array):
            return (f"shape {fmt.shape(array.shape)}: "
                    + ", ".join(f"{label} {x}" for label, x in fmt.summary(array, self.numbers)))
        return "freed" if array is None else fmt.full_text(array, self.numbers)

    def _numbers(self, array, color, texts=None):
        """The numbers of a cell; ``texts`` (one per number) written instead, see ``widest``."""
        if self.thumbnails and heatmap.wants_thumbnails(array):
            return heatmap.thumbnails(array, LABEL_TEXT, self.numbers)
        if array is None:
            return f'<FONT COLOR="{MISSING_TEXT}">freed</FONT>'
        if array.size == 0:
            return f'<FONT COLOR="{color}">(empty)</FONT>'
        replaced = iter(texts or ())
        if array.size <= fmt.MATRIX_LIMIT:
            rows = [[f'<FONT COLOR="{color}">{text(next(replaced, x))}</FONT>' for x in row]
                    for row in fmt.matrix(array, self.numbers)]
            return _grid(rows, gap=7)
        small = f'<FONT POINT-SIZE="9" COLOR="{LABEL_TEXT}">{{}}</FONT>'
        pairs = [[small.format(label), f'<FONT COLOR="{color}">{text(next(replaced, x))}</FONT>']
                 for label, x in fmt.summary(array, self.numbers)]
        return _grid([pairs[0] + pairs[2], pairs[1] + pairs[3]], gap=4)

    # --- operation nodes ---------------------------------------------------
    def _op_node(self, op):
        lit = op.id in self.lit_ops
        border, width = (HIGHLIGHT, 2.5) if lit else (OP_BORDER, 1)
        if op.scope is not None:
            label = (f'<<B>{text(op.scope)}</B><BR/><FONT POINT-SIZE="9" COLOR="{LABEL_TEXT}">'
                     f'{len(op.records)} operation{"s" * (len(op.records) != 1)}</FONT>>')
            return (f"  {self._id(op.id)} [id={attribute(self._id(op.id))}, shape=box, "
                    f'style="rounded,filled", fillcolor="{BOX_FILL}", color="{border}", '
                    # wide margin: Graphviz measures bold text narrower than browsers draw it
                    f'penwidth={width if lit else 1.5}, margin="0.24,0.06", label={label}];')
        record = op.records[0]
        detail = _params(record.params, self.numbers)
        label = f'<FONT COLOR="{OP_TEXT}">{text(record.primitive.symbol)}</FONT>'
        if detail:
            label += f'<BR/><FONT POINT-SIZE="8" COLOR="{LABEL_TEXT}">{text(detail)}</FONT>'
        fill = "#fce4ec" if lit else OP_FILL
        return (f"  {self._id(op.id)} [id={attribute(self._id(op.id))}, shape=ellipse, "
                f'style=filled, fillcolor="{fill}", color="{border}", penwidth={width}, '
                f'fontsize=12, margin="0.04,0.02", height=0.3, width=0.3, label=<{label}>, '
                f"tooltip={attribute(record.primitive.name)}];")

    # --- note and legend ---------------------------------------------------
    def _note(self):
        lines = [f"  {self._id('note')} [id={attribute(self._id('note'))}, shape=note, "
                 f'style=filled, fillcolor="#fffbe6", color="#b8a55a", fontsize=10, margin="0.15,0.08", '
                 f"label=<{text(self.scene.note)}>];"]
        for position, value_id in enumerate(self.scene.boundary):
            lines.append(f"  {self._id('note')} -> {self._id(value_id)} "
                         f"[id={attribute(self._id(f'note_out{position}'))}, style=dashed, "
                         f'color="#b8a55a", arrowhead=none];')
        return "\n".join(lines)

    def _legend(self):
        rows = []
        for kind, caption in KIND_LEGEND.items():
            fill, border, width, style, header_fill, header_text = KIND_STYLE[kind]
            swatch = (f'<TABLE BORDER="{width}" STYLE="{style}" COLOR="{border}" '
                      f'BGCOLOR="{header_fill}" CELLPADDING="0"><TR><TD WIDTH="22" HEIGHT="12">'
                      f'</TD></TR></TABLE>')
            rows.append((swatch, caption))
        rows.append((f'<TABLE BORDER="0" BGCOLOR="{GRAD_FILL}"><TR><TD WIDTH="22" HEIGHT="12">'
                     f'</TD></TR></TABLE>', "gradient (after backward)"))
        rows.append((f'<TABLE BORDER="0" BGCOLOR="{MISSING_FILL}"><TR><TD WIDTH="22" HEIGHT="12">'
                     f'<FONT POINT-SIZE="8" COLOR="{MISSING_TEXT}">—</FONT></TD></TR></TABLE>',
                     "gradient not computed yet"))
        rows.append((f'<FONT COLOR="{OP_TEXT}">tanh</FONT>', "operation"))
        body = "".join(f'<TR><TD ALIGN="CENTER">{swatch}</TD><TD ALIGN="LEFT">'
                       f'<FONT POINT-SIZE="10">{caption}</FONT></TD></TR>' for swatch, caption in rows)
        table = (f'<TABLE BORDER="1" STYLE="rounded" COLOR="#c8c8c8" CELLBORDER="0" '
                 f'CELLSPACING="2" CELLPADDING="2"><TR><TD COLSPAN="2" ALIGN="LEFT">'
                 f'<B>Legend</B></TD></TR>{body}</TABLE>')
        return f"  {self._id('legend')} [id={attribute(self._id('legend'))}, shape=plain, label=<{table}>];"


def _grid(rows, gap, align="RIGHT"):
    """Cells in rows, with ``gap`` points of empty cell between columns.

    Spacer cells, not spaces: some Graphviz builds drop leading whitespace.
    """
    spacer = f'<TD WIDTH="{gap}"></TD>'
    if len(rows) == 1 and len(rows[0]) == 1:
        return rows[0][0]
    return ('<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="1">'
            + "".join("<TR>" + spacer.join(f'<TD ALIGN="{align}">{cell}</TD>' for cell in row)
                      + "</TR>" for row in rows) + "</TABLE>")


def _params(params, numbers):
    """An operation's parameters, short: ``axis=1``, ``exponent=2``; arrays by their shape."""
    parts = []
    for key, value in params.items():
        if value is None or value is False:
            continue
        if isinstance(value, np.ndarray):
            value = f"array {fmt.shape(value.shape)}"
        elif isinstance(value, float):
            value = numbers.number(value)
        else:
            value = repr(value)
        parts.append(f"{key}={value}")
    detail = ", ".join(parts)
    return detail if len(detail) <= 28 else detail[:27] + "…"


def _resolve_highlight(scene, highlight):
    """Ids of the value and operation nodes to emphasise."""
    if highlight is None:
        return set(), set()
    items = highlight if isinstance(highlight, (list, tuple, set)) and not hasattr(
        highlight, "primitive") else [highlight]
    values, ops = set(), set()
    for item in items:
        node_id = scene.id_of(item)
        if node_id is None:
            continue
        (ops if hasattr(item, "primitive") else values).add(node_id)
    return values, ops
