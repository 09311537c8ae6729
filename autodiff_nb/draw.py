"""Draw a computation graph with every value and gradient: ``draw(target, **options)``.

``draw`` accepts a Tensor (draw what it depends on), a list of records (a
tape), or an autograd engine with ``records()`` and ``gradients()`` (such as
``autodiff_nb.mytorch.Autograd``), and returns a ``Graph``: ``.source`` (DOT
text, no program needed), ``.svg()``, ``.save(path)`` and inline display in
Jupyter. ``Tensor.draw(**options)`` is the same call.

What is drawn
-------------
* Value nodes (tables): the tensor's name (or ``v3`` when it has none) and
  shape, the forward value, and the gradient. Scalars are written in full,
  arrays of up to 16 elements as a matrix, larger ones as min / mean / max /
  norm (the full value is in the cell's tooltip). Numbers follow the
  package's one rule (``autodiff_nb.core.number_format``): 4 significant digits,
  more when two different values drawn would otherwise read alike, no
  trailing zeros (2, 0.5, 6.881, 0.05), the real minus sign −. Before ``backward()`` the
  gradient row reads "—" in grey; after it, drawing again shows the numbers.
  Constants (no gradient) have no gradient row.
* Four kinds of value are styled apart (also in grayscale): parameters and
  inputs that need a gradient (blue, thick border), constants (white, dashed
  border), intermediates (light grey), and the output where backward starts
  (dark header). ``legend=True`` adds a key.
* Operation nodes (ellipses): the operation's symbol (``matmul``, ``tanh``,
  ``+``, ``×``) and its parameters (``axis=1``).

Ids (stable, for consumers such as the reverse-pass stepper)
------------------------------------------------------------
Ids come from positions in the drawn graph, never from memory addresses or
tape indices, so the same program gives byte-identical DOT in every process
and identical SVG for one Graphviz build. With ``id_prefix="f3_"`` every id
below starts with ``f3_`` (and the graph's own Graphviz ids do too), so that
several SVGs can share one page.

=====================  ==========================================  ===================================
what                   DOT id                                      SVG element
=====================  ==========================================  ===================================
value node             ``v1``, ``v2``, ... (first appearance)      ``<g id="v3" class="node">``
its name/shape cell    ``v3_name``                                 ``<g id="a_v3_name">`` (note ``a_``)
its value cell         ``v3_value``                                ``<g id="a_v3_value">``
its gradient cell      ``v3_grad``                                 ``<g id="a_v3_grad">``
operation node         ``op1``, ``op2``, ... (recording order)     ``<g id="op2" class="node">``
edge into an op        ``op2_in0``, ``op2_in1`` (argument order)   ``<g id="op2_in1" class="edge">``
edge out of an op      ``op2_out``                                 ``<g id="op2_out" class="edge">``
collapsed scope box    ``scope1``; its edges ``scope1_in0``...,    ``<g id="scope1" class="node">``
                       ``scope1_out`` (``scope1_out0``, ``_out1``
                       ... when the box has several results)
scope cluster          ``scope1`` (``collapse_mode="cluster"``)    ``<g id="scope1" class="cluster">``
note (max_nodes)       ``note``; dashed edges ``note_out0``...     ``<g id="note" class="node">``
legend                 ``legend``                                  ``<g id="legend" class="node">``
=====================  ==========================================  ===================================

A cell group ``<g id="a_v3_grad">`` holds the cell's background
``<polygon>`` (its fill is the gradient band's colour) and its ``<text>``
elements (one per number). Cells are links to their own ``#id`` with the full
value as ``xlink:title`` (the tooltip): Graphviz writes cell ids into SVG only
for links. ``Graph.id_of(tensor_or_record)`` returns a node's id (prefixed),
``Graph.value_ids`` and ``Graph.op_ids`` list them in order.

Drawing a reverse pass in progress
----------------------------------
``grads=`` takes a dict ``{tensor or tensor._id: gradient array}`` instead of
``True``: those gradients are drawn, every other gradient row reads "—".
The ``grads`` dict that ``autodiff_nb.core.tape.backward_steps`` fills (keyed by
tensor id) can be passed as it is. ``highlight=`` takes Tensors and/or Records
(one or a list): their nodes get a thick magenta border, a highlighted
operation's edges too. Neither option changes any id, and neither changes the
set of nodes, so every frame of a stepper has the same ids.
"""
from __future__ import annotations

from .drawing.dot import DotWriter
from .drawing.graph import Graph, side_by_side
from .drawing.scene import build_scene

AUTO_COLLAPSE_OVER = 100    # operations: more than this, and scopes are drawn as boxes by default
DEFAULT_MAX_NODES = 200     # nodes drawn by default; the rest is summarised in a note


def draw(target, *, values=True, grads=True, shapes=True, highlight=None, collapse=None,
         collapse_mode="box", only_ancestors_of=None, max_nodes=DEFAULT_MAX_NODES,
         rankdir="LR", legend=False, id_prefix="", thumbnails=True, numbers=None,
         widest=None):
    """Draw ``target`` (a Tensor, a list of records, or an engine) as a ``Graph``.

    values, grads, shapes: show the forward values, the gradients, the shapes.
        ``grads`` may also be a dict ``{tensor or tensor id: gradient}`` to draw
        exactly those gradients (the rest read "—"); ``grads=True`` shows the
        latest backward pass through ``target`` ("—" before any backward).
    highlight: a Tensor or Record, or a list of them, to emphasise.
    collapse: a scope name or a list of names (records carry ``scope`` tuples;
        ``with autodiff_nb.scope("layer1"):``, nn modules open e.g. "0.Linear"),
        or ``True`` for every top-level scope. ``None`` (default) collapses every
        top-level scope only when there are more than 100 operations (a note
        says so); ``False`` never collapses.
    collapse_mode: ``"box"`` draws each collapsed scope as one node (its
        parameters and its results stay visible); ``"cluster"`` draws all its
        operations inside a labelled frame.
    only_ancestors_of: a Tensor: draw only what it depends on.
    max_nodes: draw at most this many nodes (values plus operations), keeping
        the part nearest the output; a note node says how many operations and
        values were left out. ``None`` draws everything.
    rankdir: ``"LR"`` (left to right, default) or ``"TB"`` (top to bottom).
    legend: add a key to the colours and borders.
    id_prefix: put in front of every id (see the module docstring), e.g. ``"f3_"``.
    thumbnails: show an image-like value or gradient (3-D or more, too many numbers to
        write: a kernel, a feature map) as heatmap thumbnails with their colour scale,
        the summary in the tooltip. The stepper draws numbers (its frames restyle text).
    numbers: the ``NumberFormat`` (``autodiff_nb.core.number_format``) to write every number
        with. Default: fitted to the numbers drawn, 4 significant digits or as many
        more as it takes to tell two different values apart, no trailing zeros.
    widest: for the stepper: {(tensor id, "value" or "grad"): texts} written in those
        cells instead of their numbers, so that each cell is as wide as the widest text
        any frame puts there (see ``DotWriter``).
    """
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"draw: rankdir must be 'LR' or 'TB', got {rankdir!r}")
    if not _is_id_prefix(id_prefix):
        raise ValueError(f"draw: id_prefix must be letters, digits, '_' or '-' and start with a "
                         f"letter or '_', got {id_prefix!r}")
    if max_nodes is not None and int(max_nodes) < 2:
        raise ValueError(f"draw: max_nodes must be at least 2 (or None), got {max_nodes!r}")
    scene = build_scene(target, grads=grads, only_ancestors_of=only_ancestors_of,
                        collapse=collapse, collapse_mode=collapse_mode,
                        max_nodes=None if max_nodes is None else int(max_nodes),
                        auto_collapse_over=AUTO_COLLAPSE_OVER)
    writer = DotWriter(scene, prefix=id_prefix, rankdir=rankdir, values=values, shapes=shapes,
                       highlight=highlight, legend=legend, thumbnails=thumbnails,
                       numbers=numbers, widest=widest)
    return Graph(writer.source(), scene, id_prefix)


def _is_id_prefix(prefix):
    return isinstance(prefix, str) and (prefix == "" or (
        (prefix[0].isascii() and prefix[0].isalpha() or prefix[0] == "_")
        and all(c.isascii() and (c.isalnum() or c in "_-") for c in prefix)))


__all__ = ["draw", "Graph", "side_by_side"]
