"""How a drawing writes numbers: the package's one rule (``autodiff_nb.core.number_format``).

A drawing fits one ``NumberFormat`` to the numbers it shows (``fitted``): 4
significant digits, more when two different values in the drawing would
otherwise read alike, no trailing zeros (2, 0.5, 6.881, 0.05), the real minus
sign ``−``. Every function here takes that format as ``numbers``, so a stepper
can hand its drawing, its frames and its panel one format and a value reads
the same everywhere. Integer and boolean arrays are written exactly.
"""
from __future__ import annotations

import numpy as np

from ..core.number_format import DISPLAY, REAL_MINUS, NumberFormat

MATRIX_LIMIT = 16        # arrays up to this many elements are drawn element by element
TOOLTIP_LIMIT = 1000     # arrays up to this many elements are written out in full in a tooltip


def number(x, numbers: NumberFormat = DISPLAY) -> str:
    """One number as a drawing shows it."""
    return numbers.number(x)


def numbers_of(array: np.ndarray, numbers: NumberFormat = DISPLAY) -> list:
    """Rows (last axis) of a 1-d or larger array as lists of formatted numbers."""
    per_row = array.shape[-1] if array.ndim else 1
    texts = numbers.texts(array)
    return [texts[i:i + per_row] for i in range(0, len(texts), max(per_row, 1))]


def matrix(array: np.ndarray, numbers: NumberFormat = DISPLAY) -> list[list[str]]:
    """A small array as rows of formatted numbers: a scalar is one cell, a vector one row.

    Arrays of three or more dimensions are shown as rows of their last axis.
    """
    if array.ndim == 0:
        return [[numbers.number(array)]]
    return numbers_of(array, numbers)


def summary(array: np.ndarray, numbers: NumberFormat = DISPLAY) -> list[tuple[str, str]]:
    """A large array as (label, number) pairs: min, mean, max and the 2-norm."""
    return [(label, numbers.number(x)) for label, x in summary_values(array)]


def summary_values(array: np.ndarray) -> list[tuple[str, float]]:
    """min, mean, max and the 2-norm of ``array``, in float64."""
    values = array.astype(np.float64, copy=False)
    return [("min", values.min()), ("mean", values.mean()), ("max", values.max()),
            ("norm", np.sqrt(np.sum(values * values)))]


def shown(array) -> np.ndarray:
    """The numbers a value or gradient cell shows for ``array``: its elements up to
    ``MATRIX_LIMIT`` of them, else its summary. What ``fitted`` tells apart."""
    if array is None or np.size(array) == 0:
        return np.zeros(0)
    array = np.asarray(array)
    if array.size <= MATRIX_LIMIT:
        return array.ravel()
    return np.array([x for _, x in summary_values(array)])


def fitted(arrays) -> NumberFormat:
    """The drawing format for cells showing ``arrays``: digits enough to tell their numbers apart.

    Tooltips (up to ``TOOLTIP_LIMIT`` numbers each) are written with it but do
    not count: one large noisy array must not lengthen every number drawn.
    """
    return NumberFormat.fitted([shown(a) for a in arrays], minus=REAL_MINUS)


def shape(dims: tuple) -> str:
    """``2×3`` for a matrix, ``4`` for a vector, ``scalar`` for a 0-d array."""
    return "×".join(str(n) for n in dims) if dims else "scalar"


def full_text(array: np.ndarray, numbers: NumberFormat = DISPLAY) -> str:
    """The whole array as plain text for a tooltip: one line per row of the last axis.

    Past ``TOOLTIP_LIMIT`` elements only the first rows are written, then "...".
    """
    if array.ndim == 0:
        return numbers.number(array)
    per_row = max(array.shape[-1], 1)
    total_rows = array.size // per_row if array.size else 0
    rows = array.reshape(-1, per_row)[:max(TOOLTIP_LIMIT // per_row, 1)] if array.size else array
    lines = [" ".join(row) for row in numbers_of(rows, numbers)] if array.size else ["(empty)"]
    if array.size and len(rows) < total_rows:
        lines.append(f"... ({total_rows - len(rows)} more rows)")
    return f"shape {shape(array.shape)}:\n" + "\n".join(lines)
