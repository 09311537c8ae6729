"""Errors that say which operation failed, on which shapes, and on which line of *your* code.

A learner's mistake surfaces deep inside NumPy; these errors point back at
the line that recorded the operation instead.
"""
from __future__ import annotations

import linecache
import os
import sys

# The package this core ships in (autodiff_nb): its own frames are not "your code".
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class ShapeError(ValueError):
    """Operands whose shapes do not fit the operation."""


class GraphError(RuntimeError):
    """A misuse of the recorded graph (non-scalar backward, second backward, changed data)."""


class ReadOnlyError(ValueError):
    """A write to an array that a recorded operation still needs for its backward pass.

    A ``ValueError``, as NumPy's own "assignment destination is read-only" is.
    """


class DTypeError(TypeError):
    """Data that cannot carry a gradient (integer, bool or object arrays)."""


class AnomalyError(FloatingPointError):
    """A NaN or inf found by ``detect_anomaly()``."""


def user_line():
    """``file:line: code`` of the innermost caller outside this package ('' if none)."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not os.path.abspath(filename).startswith(_PACKAGE_DIR + os.sep):
            code = linecache.getline(filename, frame.f_lineno).strip()
            where = f"{os.path.basename(filename)}:{frame.f_lineno}"
            return f"{where}: {code}" if code else where
        frame = frame.f_back
    return ""


def at_user_line(message):
    """Append the user's line to ``message``."""
    line = user_line()
    return f"{message}\n  at {line}" if line else message
