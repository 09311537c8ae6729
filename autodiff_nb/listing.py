"""The tape as text: ``show_tape(target)`` lists the Wengert list, one recorded operation per line.

    1. v3 = matmul_t(x, weight)   shape (4, 2)   Linear
    2. y = add(v3, bias)          shape (4, 2)   Linear

Each line is one record in recording order: the output, the primitive applied
to its inputs and parameters (``axis=1``; parameters left at ``None`` or
``False`` are defaults and left out), the output's shape and the scope it was
recorded in. ``target`` is anything ``draw`` accepts: a Tensor (what it
depends on), a list of records, or an engine with ``records()`` (such as
``autodiff_nb.mytorch.Autograd``).

Values are called what the drawing of the same target calls them: their name,
or for an unnamed value the drawing's id (``v4``), taken from the drawing's own
scene, so a line of the listing and a node of ``draw(target)`` always agree.
Unnamed one-element constants (the 2 in ``x * 2``) are written as numbers,
by the package's one rule (``autodiff_nb.core.number_format``: 4 significant
digits or more to tell two of them apart, no trailing zeros, ``-`` as in Python);
they still have a node in the drawing, which is why a listing may skip a
``v`` number. Nothing depends on tape indices or addresses: the same program
gives the same text in every process.
"""
from __future__ import annotations

import html
from typing import NamedTuple

import numpy as np

from .core.number_format import NumberFormat
from .drawing.scene import build_scene, is_literal

SMALL_ARRAY = 16    # parameters that are arrays of up to this many elements are written out


class TapeRow(NamedTuple):
    """One recorded operation as the listing writes it (every field is text, except ``number``)."""

    number: int         # 1, 2, ... in recording order
    output: str         # "i3" or "v4"
    operation: str      # the primitive's name: "add_n"
    arguments: tuple    # inputs, then parameters: ("i1", "bx1") or ("v1", "axis=1")
    shape: tuple        # the output's shape, () for a scalar
    scope: str          # "layer1/Linear", "" outside any scope

    @property
    def call(self):
        return f"{self.output} = {self.operation}({', '.join(self.arguments)})"


class TapeListing:
    """The listing of a tape: prints as text, shows as a monospace table in Jupyter.

    ``rows`` holds one ``TapeRow`` per recorded operation, for code that wants
    the parts rather than the text.
    """

    def __init__(self, rows):
        self.rows = list(rows)

    def _columns(self):
        return [(f"{row.number}.", row.call, f"shape {row.shape}", row.scope) for row in self.rows]

    def __str__(self):
        if not self.rows:
            return "(no recorded operations)"
        columns = self._columns()
        number_width = max(len(c[0]) for c in columns)
        call_width = max(len(c[1]) for c in columns)
        shape_width = max(len(c[2]) for c in columns)
        return "\n".join(
            f"{number:>{number_width}} {call:<{call_width}}   {shape:<{shape_width}}   {scope}".rstrip()
            for number, call, shape, scope in columns)

    __repr__ = __str__

    def _repr_mimebundle_(self, include=None, exclude=None):
        """The text, and the same columns as an HTML table (plain markup: survives untrusted display)."""
        cell = '<td style="text-align: {}; padding: 1px 10px 1px 0; white-space: pre">{}</td>'
        body = "".join(
            "<tr>" + "".join(cell.format(align, html.escape(text))
                             for align, text in zip(("right", "left", "left", "left"), columns))
            + "</tr>" for columns in self._columns())
        table = (f'<table style="font-family: monospace; border-collapse: collapse; '
                 f'margin: 0">{body}</table>') if self.rows else f"<pre>{html.escape(str(self))}</pre>"
        return {"text/plain": str(self), "text/html": table}


def show_tape(target):
    """List the operations recorded for ``target`` (a Tensor, a list of records or an engine).

    Returns a ``TapeListing``; ``print`` it, or leave it last in a notebook
    cell. Unnamed values get the ids that ``draw(target)`` shows (see the
    module docstring).
    """
    scene = build_scene(target, grads=False, collapse=False, max_nodes=None)
    values = {node.id: node for node in scene.values}
    numbers = NumberFormat.fitted(_numbers_listed(scene, values))
    rows = []
    for number, op in enumerate(scene.ops, 1):
        record = op.records[0]
        output = values[op.outputs[0]]
        arguments = [_argument(values[value_id], numbers) for value_id in op.inputs]
        arguments += [f"{key}={_parameter(value, numbers)}" for key, value in record.params.items()
                      if value is not None and value is not False]
        data = output.tensor._data
        rows.append(TapeRow(number, output.label, record.primitive.name, tuple(arguments),
                            () if data is None else tuple(data.shape), "/".join(record.scope)))
    return TapeListing(rows)


def _numbers_listed(scene, values):
    """The literal constants and number parameters a listing writes (what its format tells apart)."""
    for op in scene.ops:
        for value_id in op.inputs:
            if is_literal(values[value_id].tensor):
                yield values[value_id].tensor._data
        yield from (v for v in op.records[0].params.values() if isinstance(v, float))


def _argument(node, numbers):
    """An input as written in a call: a literal constant as its number, else its drawing label."""
    return numbers.number(node.tensor._data) if is_literal(node.tensor) else node.label


def _parameter(value, numbers):
    """A parameter in full (``axis=1``, ``index=([0, 2], [1, 1])``); a large array by its shape."""
    if isinstance(value, tuple):
        inner = ", ".join(_parameter(v, numbers) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(_parameter(v, numbers) for v in value) + "]"
    if isinstance(value, np.ndarray):
        if value.size > SMALL_ARRAY:
            return f"array of shape {value.shape}"
        return _parameter(value.tolist(), numbers)
    if isinstance(value, (float, np.floating, int, np.integer, bool, np.bool_)):
        return numbers.number(value)
    return repr(value)


__all__ = ["show_tape", "TapeListing", "TapeRow"]
