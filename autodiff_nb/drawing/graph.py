"""``Graph``: DOT text plus what can be made from it (SVG, files, notebook display)."""
from __future__ import annotations

import base64
import html
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path

from .. import render as _render

SAVE_FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": None, ".gv": None}
_SVG_WIDTH = re.compile(r'<svg width="([0-9.]+)(pt|px)"')


def svg_width(svg):
    """The width Graphviz gave an SVG drawing, as a CSS length ("412pt"); None if it gave none."""
    match = _SVG_WIDTH.search(svg)
    return f"{match[1]}{match[2]}" if match else None


@lru_cache(maxsize=None)
def drawing_css():
    """``static/drawing.css``: how drawings look in a dark theme (the stepper shares it)."""
    return resources.files("autodiff_nb").joinpath("static", "drawing.css").read_text(encoding="utf-8")


def svg_data_uri(svg):
    """``svg`` as a ``data:`` URI, for an ``<img src=...>`` (a picture to a sanitizer)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


class Graph:
    """A drawing: ``.source`` (DOT), ``.svg()``, ``.save(path)``, and inline display in Jupyter.

    ``id_of(tensor_or_record)`` gives the id a tensor's or an operation's node
    has in the SVG (see the id scheme in ``autodiff_nb.draw``). The SVG is made
    on first use and kept.
    """

    def __init__(self, source, scene, prefix=""):
        self.source = source
        self.prefix = prefix
        self._scene = scene
        self._svg = None

    # --- ids for consumers that restyle the SVG ----------------------------
    def id_of(self, item):
        """The SVG id of a Tensor's value node or a Record's operation node (``None`` if not drawn)."""
        node_id = self._scene.id_of(item)
        return None if node_id is None else self.prefix + node_id

    @property
    def value_ids(self):
        """Every value node's id, in drawing order (prefixed)."""
        return [self.prefix + v.id for v in self._scene.values]

    @property
    def op_ids(self):
        """Every operation node's id (``op…`` or ``scope…``), in drawing order (prefixed)."""
        return [self.prefix + op.id for op in self._scene.ops]

    def cluster_members(self):
        """{cluster id: ids of what is drawn inside it}: its value and operation nodes and
        the edges of its operations (prefixed); empty without clusters."""
        members = {self.prefix + c.id: [] for c in self._scene.clusters}
        for node in self._scene.values:
            if node.cluster:
                members[self.prefix + node.cluster].append(self.prefix + node.id)
        for op in self._scene.ops:
            if op.cluster:
                edges = [f"{op.id}_in{i}" for i in range(len(op.inputs))] + [f"{op.id}_out"]
                members[self.prefix + op.cluster] += [self.prefix + e for e in [op.id, *edges]]
        return members

    # --- rendering ---------------------------------------------------------
    def render(self, format="svg", *, program=None, timeout=None) -> bytes:
        """The drawing as bytes in any format the Graphviz program writes (svg, png, pdf...)."""
        return _render.render(self.source, format, program=program, timeout=timeout)

    def svg(self) -> str:
        """The drawing as SVG text (identical for the same graph and the same Graphviz build)."""
        if self._svg is None:
            self._svg = self._readable_titles(self.render("svg").decode("utf-8"))
        return self._svg

    def _readable_titles(self, svg):
        """Graphviz titles each node and edge with its DOT id (``adnb1_v3``, ``adnb1_v3->adnb1_op2``):
        what a screen reader reads out and a browser shows on hover. Say the learner's
        names instead: ``x``, ``tanh``, ``x → tanh``."""
        names = {self.prefix + v.id: v.label for v in self._scene.values}
        names.update({self.prefix + op.id: op.scope or op.records[0].primitive.name
                      for op in self._scene.ops})

        def title(match):
            ends = html.unescape(match[1]).split("->")
            if not all(end in names for end in ends):
                return match[0]
            return f"<title>{html.escape(' → '.join(names[end] for end in ends))}</title>"
        return re.sub(r"<title>([^<]*)</title>", title, svg)

    def save(self, path):
        """Write ``.svg``, ``.png``, ``.dot`` (or ``.gv``), or ``.pdf`` where the program can."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in SAVE_FORMATS:
            raise ValueError(f"Graph.save: cannot tell the format from {path.name!r}; expected a "
                             f"name ending in {', '.join(SAVE_FORMATS)}")
        fmt = SAVE_FORMATS[suffix]
        if fmt is None:
            path.write_text(self.source, encoding="utf-8")
        elif fmt == "svg":
            path.write_text(self.svg(), encoding="utf-8")
        else:
            path.write_bytes(self.render(fmt))
        return path

    # --- display -----------------------------------------------------------
    def _description(self):
        s = self._scene
        text = (f"{len(s.values)} value{'s' * (len(s.values) != 1)}, "
                f"{len(s.ops)} operation node{'s' * (len(s.ops) != 1)}")
        return text + (f"; {s.note}" if s.note else "")

    def __repr__(self):
        return f"<autodiff_nb Graph: {self._description()}>"

    def _repr_mimebundle_(self, include=None, exclude=None):
        """An ``<img>`` of the SVG as a data URI, plus a short text.

        The ``<img src="data:image/svg+xml;base64,...">`` form is what shows in
        JupyterLab, in nbconvert HTML *and* in an untrusted notebook opened from
        disk (where a bare ``image/svg+xml`` output falls back to its text and
        inline ``<svg>`` HTML is sanitized away). ``image/svg+xml`` is left out
        on purpose: no front end picks it over ``text/html``, and it would
        double the size of every saved notebook.

        The drawing is shown at its natural size: JupyterLab and exported pages
        limit an ``<img>`` to the column width (``max-width: 100%``), which
        shrank a graph of ten or more nodes until its numbers could not be
        read. ``max-width: none`` lifts that limit and the wrapper scrolls
        sideways when the drawing is wider than the column. Both are inline
        styles that JupyterLab's sanitizer keeps in an untrusted notebook, and
        neither depends on the Graphviz build (stored outputs compare equal).
        The wrapper takes keyboard focus, so arrow keys scroll it too.

        The ``<style>`` is ``drawing.css``: in a dark theme the picture is
        inverted (a trusted notebook applies it; an untrusted one drops it and
        shows the drawing as drawn; the exported site links the same file).
        """
        return {"text/html": f'<style>{drawing_css()}</style><div style="overflow-x: auto" '
                             f'tabindex="0">{self._img("max-width: none")}</div>',
                "text/plain": repr(self)}

    def _img(self, style=""):
        alt = html.escape(f"computation graph: {self._description()}")
        style = f' style="{style}"' if style else ""
        return f'<img class="adnb-drawing" src="{svg_data_uri(self.svg())}" alt="{alt}"{style}>'


class SideBySide:
    """Several drawings in one row, each with a caption: ``side_by_side({caption: graph})``.

    Displays like a single ``Graph`` (an HTML ``<img>`` per drawing, so it
    also shows in untrusted notebooks and exported pages). Every drawing is
    drawn at the same scale, so that sizes compare: its natural size when the
    row fits, all shrunk alike when it does not (each figure's share of the
    row is its drawing's natural width).
    """

    def __init__(self, drawings):
        self.drawings = dict(drawings)

    def __repr__(self):
        return f"<autodiff_nb drawings side by side: {', '.join(self.drawings)}>"

    def _repr_mimebundle_(self, include=None, exclude=None):
        figures = "".join(
            f'<figure style="flex: 0 1 {svg_width(graph.svg()) or "auto"}; min-width: 0; '
            f'margin: 0 6px; text-align: center">'
            f'<figcaption><b>{html.escape(caption)}</b></figcaption>'
            f'{graph._img("max-width: 100%")}</figure>'
            for caption, graph in self.drawings.items())
        row = (f'<style>{drawing_css()}</style>'
               f'<div style="display: flex; align-items: flex-start">{figures}</div>')
        return {"text/html": row, "text/plain": repr(self)}


def side_by_side(drawings):
    """Show drawings next to each other: ``side_by_side({"before": g1, "after": g2})``."""
    return SideBySide(drawings)
