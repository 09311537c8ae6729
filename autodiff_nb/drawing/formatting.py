"""How a drawing writes numbers: one format everywhere, the same text on every machine.

Every float is written with 4 significant digits (Python's ``#.4g``): fixed
notation when its magnitude lies in [0.0001, 10000), ``1.234e-05`` otherwise;
trailing zeros are kept (``0.5000``, ``1.000``) so that a column of numbers lines up
and a learner can tell a computed 1.000 from an integer. Integer and boolean
arrays are written as integers. ``-0.0`` is written as ``0.000``; ``1234.`` loses its dot.

Only NumPy scalars converted to Python floats are formatted, with ``format``:
no locale, no NumPy print options, so the text does not depend on settings a
notebook may have changed.
"""
from __future__ import annotations

import math

import numpy as np

SIGNIFICANT = 4
MATRIX_LIMIT = 16        # arrays up to this many elements are drawn element by element
TOOLTIP_LIMIT = 1000     # arrays up to this many elements are written out in full in a tooltip


def number(x) -> str:
    """One number as the drawing shows it (see the module docstring)."""
    if isinstance(x, (bool, np.bool_, int, np.integer)):
        return str(int(x))
    return _float(float(x))


def _float(x: float) -> str:
    text = format(x, _FORMAT)
    if text[-1] == ".":
        return text[:-1]
    if text[0] == "-" and x == 0:
        return text[1:]                 # no "-0.000"
    return text


_FORMAT = f"#.{SIGNIFICANT}g"


def numbers(array: np.ndarray) -> list:
    """Rows (last axis) of a 1-d or larger array as lists of formatted numbers."""
    rows = array.reshape(1, -1) if array.ndim == 1 else array.reshape(-1, array.shape[-1])
    if array.dtype.kind in "biu":
        return [[str(int(x)) for x in row] for row in rows.tolist()]
    return [[_float(x) for x in row] for row in rows.astype(float).tolist()]


def matrix(array: np.ndarray) -> list[list[str]]:
    """A small array as rows of formatted numbers: a scalar is one cell, a vector one row.

    Arrays of three or more dimensions are shown as rows of their last axis.
    """
    if array.ndim == 0:
        return [[number(array.item())]]
    return numbers(array)


def summary(array: np.ndarray) -> list[tuple[str, str]]:
    """A large array as (label, number) pairs: min, mean, max and the 2-norm."""
    values = array.astype(np.float64, copy=False)
    return [("min", number(values.min())), ("mean", number(values.mean())),
            ("max", number(values.max())), ("norm", number(np.sqrt(np.sum(values * values))))]


def shape(dims: tuple) -> str:
    """``2×3`` for a matrix, ``4`` for a vector, ``scalar`` for a 0-d array."""
    return "×".join(str(n) for n in dims) if dims else "scalar"


def full_text(array: np.ndarray) -> str:
    """The whole array as plain text for a tooltip: one line per row of the last axis.

    Past ``TOOLTIP_LIMIT`` elements only the first rows are written, then "...".
    """
    if array.ndim == 0:
        return number(array.item())
    per_row = max(array.shape[-1], 1)
    total_rows = array.size // per_row if array.size else 0
    shown = array.reshape(-1, per_row)[:max(TOOLTIP_LIMIT // per_row, 1)] if array.size else array
    lines = [" ".join(row) for row in numbers(shown)] if array.size else ["(empty)"]
    if array.size and len(shown) < total_rows:
        lines.append(f"... ({total_rows - len(shown)} more rows)")
    return f"shape {shape(array.shape)}:\n" + "\n".join(lines)
