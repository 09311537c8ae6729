"""How every value prints: one rule for drawings, the stepper's panel, the tape listing and reprs.

The rule
--------
* **Significant digits**: 4, or more when two *different* values shown
  together (one drawing, one stepper with its panels, one array's repr)
  would otherwise print alike: the fewest digits, up to ``MAX_DIGITS``, that
  tell every pair apart. 1.00001 and 1.00002 in one drawing print with 6
  digits; alone, 0.7132 keeps 4. ``NumberFormat.fitted(values)`` picks them.
* **No trailing zeros that carry no information**: 2, 0.5, 6.881, 0.05 (not
  2.000, 0.5000, 0.05000). A value never gets more digits than it needs to be
  read back exactly (0.1 stays 0.1 however many digits are allowed), so a
  float32 prints as float32's shortest text, not its float64 expansion.
* **Notation**: fixed when the rounded value's exponent lies in
  [-4, digits), as Python's ``g``; otherwise scientific: ``1e-12`` (never
  ``0``), ``1.235e+05``.
* **Special values**: ``nan``, ``inf``, ``-inf``; -0.0 prints as ``0`` (it
  equals 0); integers in full (``3``); booleans as ``True`` / ``False``.
* **Minus sign**: text meant to read as Python (``repr``, the tape listing)
  uses ``-``; drawings and the stepper's panel, which typeset maths, use the
  real minus ``−`` (U+2212) for numbers as for their subtraction signs. The
  digits are the same either way: a panel and a drawing cell showing the
  same value show the same text.

Deterministic: Python's ``format`` (correctly rounded) for float64, NumPy's
``format_float_positional`` / ``format_float_scientific`` (Dragon4, exact shortest
digits) for other float types and subnormals; no locale, no print options, so
the text is the same bytes on every machine.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MIN_DIGITS = 4
MAX_DIGITS = 8      # past 8 digits, differences are float rounding, not values a learner compares
MINUS = "-"         # Python text
REAL_MINUS = "−"    # U+2212: drawings and the panel


@dataclass(frozen=True)
class NumberFormat:
    """How to write numbers: ``digits`` significant digits and a ``minus`` sign (see the module)."""

    digits: int = MIN_DIGITS
    minus: str = MINUS

    def number(self, x) -> str:
        """One number: a Python or NumPy scalar (bool, int or float) or a one-element array."""
        if type(x) is float:
            return self._sign(_float(x, self.digits))
        if isinstance(x, np.ndarray):
            x = x.reshape(())[()]                    # a NumPy scalar: a float32 stays float32
        if isinstance(x, (bool, np.bool_)):
            return str(bool(x))
        if isinstance(x, (int, np.integer)):
            return self._sign(str(int(x)))
        return self._sign(_float(x if isinstance(x, np.floating) else float(x), self.digits))

    def texts(self, array) -> list:
        """Every element of ``array``, flattened, as text: the same as ``number`` on each,
        faster for float64 and ints (a drawing writes thousands of numbers in its tooltips)."""
        array = np.asarray(array)
        if array.dtype == np.float64 and self.digits <= 15:
            spec = _G[self.digits]
            texts = [format(x, spec) if abs(x) >= _SMALLEST_NORMAL else _float(x, self.digits)
                     for x in array.ravel().tolist()]
        elif array.dtype.kind in "iu":
            texts = [str(x) for x in array.ravel().tolist()]
        else:
            return [self.number(x) for x in array.ravel()]
        if self.minus == MINUS or not texts:
            return texts
        return "\n".join(texts).replace("-", self.minus).split("\n")    # one pass, not one per text

    def _sign(self, text):
        return text if self.minus == MINUS else text.replace("-", self.minus)

    def array(self, array, *, threshold=20, edgeitems=3, linewidth=75, prefix="") -> str:
        """An array the way NumPy prints it (brackets, commas, ``...``, columns right-aligned),
        with these numbers; past ``threshold`` elements only ``edgeitems`` at each end."""
        array = np.asarray(array)
        if array.ndim == 0:
            return self.number(array)
        width = max((len(self.number(x)) for x in shown_elements(array, threshold, edgeitems)),
                    default=0)
        return np.array2string(
            array, separator=", ", threshold=threshold, edgeitems=edgeitems,
            max_line_width=linewidth, prefix=prefix, sign="-", legacy=False,
            formatter={kind: lambda x: self.number(x).rjust(width)
                       for kind in ("float_kind", "int_kind", "bool")})

    @classmethod
    def fitted(cls, values, minus=MINUS) -> "NumberFormat":
        """The format with the fewest digits (``MIN_DIGITS``..``MAX_DIGITS``) that writes
        every two different finite values among ``values`` differently.

        ``values``: numbers and arrays (every element counts).
        """
        return cls(digits_to_tell_apart(values), minus)


def digits_to_tell_apart(values) -> int:
    """The fewest significant digits, from ``MIN_DIGITS`` up to ``MAX_DIGITS``, that write every
    two different finite floats among ``values`` differently (ints and bools are exact anyway).

    Only neighbours in sorted order can collide, and only when they are within
    a rounding step of each other, so few numbers are ever formatted.
    """
    arrays = [np.asarray(v) for v in values]
    floats = [a.ravel() for a in arrays if a.dtype.kind == "f" and a.size]
    if not floats:
        return MIN_DIGITS
    finite = np.concatenate(floats).astype(np.float64, copy=False)
    finite = np.unique(finite[np.isfinite(finite)])          # sorted; -0.0 and 0.0 are one value
    if finite.size < 2:
        return MIN_DIGITS
    low, high = finite[:-1], finite[1:]
    scale = np.maximum(np.abs(low), np.abs(high))
    close = (high - low) <= 2 * scale * 10.0 ** (1 - MIN_DIGITS)     # the rest never collide
    # Pairs alike even at MAX_DIGITS differ by float rounding only: they may print alike.
    pairs = [(a, b) for a, b in zip(low[close].tolist(), high[close].tolist())
             if _float(a, MAX_DIGITS) != _float(b, MAX_DIGITS)]
    for digits in range(MIN_DIGITS, MAX_DIGITS):
        if all(_float(a, digits) != _float(b, digits) for a, b in pairs):
            return digits
    return MAX_DIGITS


def shown_elements(array, threshold, edgeitems):
    """The elements NumPy prints of ``array``: all, or past ``threshold`` the corners only."""
    array = np.asarray(array)
    if array.size <= threshold:
        return array.ravel()
    for axis, length in enumerate(array.shape):
        if length > 2 * edgeitems:
            keep = np.r_[0:edgeitems, length - edgeitems:length]
            array = np.take(array, keep, axis=axis)
    return array.ravel()


def _float(x, digits: int) -> str:
    """One float, ``digits`` significant digits at most, trailing zeros dropped (see the module).

    ``x`` a Python float or a NumPy floating scalar (its own precision decides
    the shortest text: a float32 0.1 is "0.1").
    """
    if (type(x) is float or type(x) is np.float64) and abs(x) >= _SMALLEST_NORMAL \
            and digits <= 15:
        # The same text as Dragon4 below, 10x faster: a normal float64 lies so close to its
        # shortest decimal (<= 15 digits) that rounding it to `digits` digits gives that
        # decimal whenever it is short enough, and Python's `g` drops the trailing zeros.
        # inf and -inf come out as "inf" and "-inf".
        return format(x, _G[digits])
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0:
        return "0"                                   # -0.0 too: it equals 0
    return _dragon4(x, digits)


_G = {digits: f".{digits}g" for digits in range(1, 16)}
_SMALLEST_NORMAL = float(np.finfo(np.float64).tiny)


def _dragon4(x, digits: int) -> str:
    """NumPy's exact shortest-digits formatting, for any float type (float32 keeps its own)."""
    scientific = np.format_float_scientific(x, precision=digits - 1, unique=True, trim="-")
    exponent = int(scientific[scientific.index("e") + 1:])
    if -4 <= exponent < digits:
        return np.format_float_positional(x, precision=digits, unique=True, fractional=False,
                                          trim="-")
    mantissa, _ = scientific.split("e")
    return f"{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"


TEXT = NumberFormat()                        # reprs and listings: 4 digits, "-"
DISPLAY = NumberFormat(minus=REAL_MINUS)     # drawings and the panel: 4 digits, "−"


def number_text(value) -> str:
    """``value`` (a number, a one-element array or Tensor) as the listing and reprs write it
    on its own: 4 significant digits, no trailing zeros (``0.5``, ``-0.0436``, ``1e-12``)."""
    return TEXT.number(np.asarray(getattr(value, "_data", value)))


def array_text(array, *, threshold=20, edgeitems=3, prefix="") -> str:
    """An array as a repr writes it: NumPy's layout, the numbers it shows told apart."""
    shown = shown_elements(array, threshold, edgeitems)
    return NumberFormat.fitted([shown]).array(array, threshold=threshold, edgeitems=edgeitems,
                                             prefix=prefix)
