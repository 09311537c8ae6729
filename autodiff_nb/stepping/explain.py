"""The chain-rule update of one reverse step, written the way the lecture writes it.

For every input that receives a gradient the explanation chains four forms,
as the slides do, then adds the actual numbers::

    ∇i6 L = ∇z1 L ∇i6 z1 = ∇z1 L · (1 − tanh²(i6)) = 0.5 · (1 − tanh²(0.3)) = 0.4576

generic chain rule, the primitive's own local derivative (its ``rules``
entry), the same with numbers, the result. A "+=" update (the tensor was
used more than once, so an earlier step already wrote its gradient) adds the
sum it performs: ``∇x L = 0.3 + 1 = 1.3`` (before + sent = after).

Numbers follow the package's one rule (``autodiff_nb.core.number_format``) with the
stepper's own ``NumberFormat``, the one its drawing's cells use: a value
reads the same in the panel and in its cell, the real minus sign ``−`` in both.

Everything is built once as a short list of math tokens and then rendered
twice: as plain text (tests, ``repr``) and as HTML with subscripts.
"""
from __future__ import annotations

import html
from numbers import Number
import re
import string
from dataclasses import dataclass

import numpy as np

from ..core.number_format import DISPLAY, NumberFormat

SMALL = 4          # arrays up to this many elements are written out in numeric forms
SHOWN = 6          # a longer array is summarised with its first values and its shape


# --- tokens: ("text", str) | ("name", str) | ("grad", name) | ("jac", (of, wrt)) | ("num", array)

def format_number(value, numbers: NumberFormat = DISPLAY) -> str:
    """A number or array as the panel writes it: a short array in full, a longer one by its
    first values and its shape."""
    array = np.asarray(value)
    if array.size == 1:
        return numbers.number(array)
    if array.size <= SHOWN:
        return _nested(array, numbers)
    head = ", ".join(numbers.number(v) for v in array.ravel()[:3])
    return f"[{head}, …] ({'×'.join(map(str, array.shape))})"


def shown_numbers(value) -> np.ndarray:
    """The numbers ``format_number`` writes for ``value`` (what the stepper's format tells apart)."""
    array = np.asarray(value)
    return array.ravel() if array.size <= SHOWN else array.ravel()[:3]


def _nested(array, numbers) -> str:
    if array.ndim:
        return "[" + ", ".join(_nested(item, numbers) for item in array) + "]"
    return numbers.number(array)


def _is_negative(value) -> bool:
    array = np.asarray(value)
    return array.size == 1 and array.dtype.kind in "iuf" and array.reshape(()).item() < 0


def render_text(tokens, numbers: NumberFormat = DISPLAY) -> str:
    out = []
    for kind, value in tokens:
        if kind == "grad":
            out.append(f"∇{value} L")
        elif kind == "jac":
            out.append(f"∇{value[1]} {value[0]}")
        elif kind == "num":
            out.append(format_number(value, numbers))
        elif kind == "pnum":   # a negative number inside a formula
            out.append(f"({format_number(value, numbers)})")
        else:
            out.append(value)
    return "".join(out)


_SUBSCRIPTED = re.compile(r"^([A-Za-z])([A-Za-z]{0,2}\d+)$")


def name_html(name: str, flat: bool = False) -> str:
    """``i6`` -> i₆, ``Wy2`` -> W_y2: an italic letter with its index as a subscript.

    ``flat``: no subscript inside a subscript (the lecture's ∇i6 L).
    """
    match = None if flat else _SUBSCRIPTED.match(name)
    if match:
        return f"<i>{html.escape(match[1])}<sub>{html.escape(match[2])}</sub></i>"
    return f"<i>{html.escape(name)}</i>"


def render_html(tokens, numbers: NumberFormat = DISPLAY) -> str:
    out = []
    for kind, value in tokens:
        if kind == "grad":
            out.append(f"∇<sub>{name_html(value, flat=True)}</sub><i>L</i>")
        elif kind == "jac":
            out.append(f"∇<sub>{name_html(value[1], flat=True)}</sub>{name_html(value[0])}")
        elif kind == "name":
            out.append(name_html(value))
        elif kind in ("num", "pnum"):
            text = format_number(value, numbers)
            out.append(html.escape(f"({text})" if kind == "pnum" else text))
        else:
            out.append(html.escape(value))
    return "".join(out)


# --- one step -------------------------------------------------------------------------

@dataclass(frozen=True)
class Line:
    """One input's update: ``lhs rel rhs[0] = rhs[1] = ...`` (token lists)."""

    target: str          # the input's name
    mode: str            # "=" or "+="
    forms: tuple         # chain rule, local rule with names, with numbers, result
    total: tuple         # "+=" only: before + sent = after (empty for "=")
    when: str = ""       # the time step that recorded the operation ("step t = 3"), if any


@dataclass(frozen=True)
class Explanation:
    """Everything the panel says about one frame."""

    index: int
    count: int           # number of reverse steps
    operation: tuple     # tokens of the forward equation, e.g. z1 = tanh(i6)
    arriving: tuple      # tokens of the gradient arriving at the output
    lines: tuple         # one ``Line`` per input update
    when: str = ""       # the time step that recorded the operation, if any
    numbers: NumberFormat = DISPLAY   # how its numbers are written (the stepper's format)

    def title(self) -> str:
        """``Step 6 of 20``, with ``(step t = 2)`` for an operation of an unrolled time step."""
        return f"Step {self.index} of {self.count}" + (f" ({self.when})" if self.when else "")

    def text(self) -> str:
        numbers = self.numbers
        if not self.operation:
            return render_text(self.arriving, numbers)
        rows = [f"{self.title()}: {render_text(self.operation, numbers)}",
                render_text(self.arriving, numbers)]
        for line in self.lines:
            chain = " = ".join(render_text(form, numbers) for form in line.forms)
            row = f"∇{line.target} L {line.mode} {chain}"
            if line.total:
                row += f"   (∇{line.target} L = {render_text(line.total, numbers)})"
            if line.when:
                row += f"   ({line.when})"
            rows.append(row)
        return "\n".join(rows)

    def html(self) -> str:
        """The panel: the operation, the gradient arriving, one block per input update."""
        numbers = self.numbers
        if not self.operation:
            return (f'<div class="adnb-title">Before backward</div>'
                    f'<p>{render_html(self.arriving, numbers)}</p>')
        parts = [f'<div class="adnb-title">{html.escape(self.title())}</div>',
                 f'<div class="adnb-op">{render_html(self.operation, numbers)}</div>',
                 f'<div class="adnb-arriving-line"><span class="adnb-math">'
                 f'{render_html(self.arriving[:3], numbers)}</span> <span class="adnb-caption">'
                 f'arrives at {name_html(self.arriving[0][1])}, final'
                 f'{": the seed" if self.index == 1 else ""}</span></div>']
        parts.extend(_line_html(line, numbers) for line in self.lines)
        if not self.lines:
            parts.append('<p class="adnb-caption">No input of this operation takes a gradient.</p>')
        return "".join(parts)


def _line_html(line, numbers) -> str:
    first = line.mode == "="
    badge = ("= first write: no gradient yet" if first
             else "+= accumulate: added to the gradient of an earlier step")
    if line.when:
        badge += f" ({line.when})"
    rows = []
    for i, form in enumerate(line.forms):
        lhs = render_html((("grad", line.target),)) if i == 0 else ""
        rel = line.mode if i == 0 else "="
        rel_class = "adnb-rel adnb-rel-main" if i == 0 else "adnb-rel"
        last = ' class="adnb-result"' if i == len(line.forms) - 1 and not line.total else ""
        rows.append(f'<span>{lhs}</span> <span class="{rel_class}">{html.escape(rel)}</span> '
                    f'<span{last}>{render_html(form, numbers)}</span>')
    if line.total:
        rows.append(f'<span class="adnb-sum">{render_html((("grad", line.target),))}</span> '
                    f'<span class="adnb-rel adnb-sum">=</span> '
                    f'<span class="adnb-sum adnb-result">{render_html(line.total, numbers)} '
                    f'<span class="adnb-caption">(before + sent = after)</span></span>')
    mode = "first" if first else "acc"
    # Spaces between the grid's cells: the grid ignores them, and where a
    # sanitizer drops the stylesheet (untrusted notebook) they keep
    # "= −0.1466 · 0.5 = −0.07332" from running together.
    return (f'<div class="adnb-update adnb-mode-{mode}"><span class="adnb-badge">'
            f'{html.escape(badge)}</span><div class="adnb-eqs adnb-math">{" ".join(rows)}</div></div>')


def explain(frame_index, step, names, count, root=None, seed=None, numbers=DISPLAY):
    """The explanation of frame ``frame_index`` (``step`` None: before backward), its numbers
    written with ``numbers``."""
    if step is None:
        if root is None:
            tokens = (("text", "Nothing to step through: no operation leads to this tensor."),)
        else:
            tokens = (("text", f"Forward pass done: every value is known, no gradient yet. "
                               f"Backward visits the {count} operation{'s' * (count != 1)} "
                               f"in reverse recording order, starting from "),
                      ("grad", names[root._id]), ("text", " = "), ("num", seed), ("text", "."))
        return Explanation(frame_index, count, (), tokens, (), numbers=numbers)
    record = step.record
    output = record.output()
    out_name = names[output._id]
    arriving = [("grad", out_name), ("text", " = "), ("num", step.grad_output)]
    if frame_index == 1:
        arriving.append(("text", "  (the seed: where backward starts)"))
    lines = [_line(record, position, update, step.grad_output, names, numbers)
             for position, update in _positions(record, step.updates)]
    return Explanation(frame_index, count, tuple(forward_tokens(record, names)),
                       tuple(arriving), tuple(lines), time_step(record.scope), numbers)


def _positions(record, updates):
    """Pair each update with its input's position (updates come in input order; x * x has two)."""
    position = 0
    for update in updates:
        while record.inputs[position] is not update.tensor:
            position += 1
        yield position, update
        position += 1


def _line(record, position, update, g, names, numbers):
    output = record.output()
    out_name, target = names[output._id], names[update.tensor._id]
    rules = record.primitive.rules
    # Variadic primitives (add_n, concatenate, stack) state one rule for every input.
    rule = rules[min(position, len(rules) - 1)] if rules else ""
    symbolic = {"g": [("grad", out_name)], "out": [("name", out_name)]}
    numeric = {"g": g, "out": output._data}
    for i, tensor in enumerate(record.inputs):
        symbolic[str(i)] = [("name", names[tensor._id])]
        numeric[str(i)] = tensor._data
    for key, value in record.params.items():
        symbolic[key] = [("num", value)]
        numeric[key] = value
    # ∇x L = ∇out L ∇x out, except when the output is itself called L: "∇L L ∇x L"
    # would use one symbol for two things, so go straight to the local derivative.
    forms = [] if out_name == "L" else [
        [("grad", out_name), ("text", " "), ("jac", (out_name, target))]]
    if rule:
        forms.append(_fill(rule, symbolic))
        if all(np.size(numeric[field]) <= SMALL for field in _fields(rule)):
            forms.append(_fill(rule, {k: [("num", v)] for k, v in numeric.items()}, numeric=True))
    result = [("num", update.sent)]
    if render_text(forms[-1], numbers) != render_text(result, numbers):
        forms.append(result)
    total = ()
    if update.mode == "+=":
        total = (("num", update.before), ("text", " + "), _signed(update.sent),
                 ("text", " = "), ("num", update.after))
    return Line(target, update.mode, tuple(tuple(f) for f in forms), total,
                time_step(record.scope))


TIME_STEP = re.compile(r"^t=(\d+)$")


def time_step(scope):
    """``"step t = 3"`` for an operation recorded under the scope ``t=3`` (an unrolled RNN step)."""
    for name in reversed(scope):
        match = TIME_STEP.match(str(name))
        if match:
            return f"step t = {match[1]}"
    return ""


def _fields(rule):
    return [field for _, field, _, _ in string.Formatter().parse(rule) if field is not None]


def _signed(value):
    return ("pnum", value) if _is_negative(value) else ("num", value)


def _fill(rule, fields, numeric=False):
    """``rule`` with each ``{field}`` replaced by its tokens."""
    tokens = []
    parts = list(string.Formatter().parse(rule))
    for i, (literal, field, _, _) in enumerate(parts):
        if literal:
            tokens.append(("text", literal))
        if field is None:
            continue
        after = parts[i + 1][0] if i + 1 < len(parts) else ""
        # A negative number gets parentheses unless it stands alone or already inside some.
        bare = ((not literal or literal.endswith(("(", ", ")))
                and (not after or after.startswith((")", ",")))
                or (not literal and not after.startswith("^")))
        for kind, value in fields[field]:
            if numeric and not bare and kind == "num" and _is_negative(value):
                kind = "pnum"
            tokens.append((kind, value))
    return tokens


def forward_tokens(record, names):
    """The recorded operation as an equation: ``i3 = i1 + bx1 + i2 + bx2``, ``z1 = tanh(i6)``."""
    args = [[("name", names[t._id])] for t in record.inputs]
    return [("name", names[record.output()._id]), ("text", " = ")] + _applied(record, args)


def _applied(record, args, numeric=False):
    """The right-hand side: the primitive's ``formula`` with ``args`` (one token list per input).

    ``numeric``: the args are numbers, so a negative one gets parentheses
    where it would otherwise read as a subtraction or a power of a sign.
    """
    template = record.primitive.equation(len(args), record.params)
    fields = {str(i): arg for i, arg in enumerate(args)}
    for key, value in record.params.items():
        number = isinstance(value, Number) and not isinstance(value, bool)
        fields[key] = [("num", value) if number else ("text", repr(value))]
    return _fill(template, fields, numeric=numeric)


# --- one forward step (forward mode) ------------------------------------------------------

@dataclass(frozen=True)
class ForwardExplanation:
    """What the panel says about a forward frame: the operation computed, with its numbers."""

    index: int
    count: int           # number of recorded operations
    equation: tuple      # out = inputs = their numbers = result (empty for frame 0)
    note: tuple          # frame 0: what the forward pass is about to do
    when: str = ""       # the time step that recorded the operation, if any
    numbers: NumberFormat = DISPLAY   # how its numbers are written (the stepper's format)

    def title(self) -> str:
        return f"Forward step {self.index} of {self.count}" + (f" ({self.when})" if self.when else "")

    def text(self) -> str:
        if not self.equation:
            return render_text(self.note, self.numbers)
        return f"{self.title()}: {render_text(self.equation, self.numbers)}"

    def html(self) -> str:
        if not self.equation:
            return (f'<div class="adnb-title">Before the forward pass</div>'
                    f'<p>{render_html(self.note, self.numbers)}</p>')
        output = self.equation[0][1]
        return (f'<div class="adnb-title">{html.escape(self.title())}</div>'
                f'<div class="adnb-op">{render_html(self.equation, self.numbers)}</div>'
                f'<p class="adnb-caption">Computed from values already shown; the value of '
                f'{name_html(output)} appears in the drawing.</p>')


def explain_forward(frame_index, record, names, count, numbers=DISPLAY):
    """The explanation of forward frame ``frame_index`` (``record`` None: only the leaves),
    its numbers written with ``numbers``."""
    if record is None:
        note = (("text", f"Only the leaves' values are known (inputs and parameters). The forward "
                         f"pass runs the {count} operation{'s' * (count != 1)} in recording "
                         f"order, each computing its output from values already known; then "
                         f"backward runs."),)
        return ForwardExplanation(frame_index, count, (), note, numbers=numbers)
    equation = forward_tokens(record, names)
    output = record.output()._data
    data = [tensor._data for tensor in record.inputs]
    if all(d is not None and np.size(d) <= SMALL for d in data):
        filled = _applied(record, [[("num", d)] for d in data], numeric=True)
        if output is None or render_text(filled, numbers) != format_number(output, numbers):
            equation += [("text", " = ")] + filled
    if output is not None:
        equation += [("text", " = "), ("num", output)]
    return ForwardExplanation(frame_index, count, tuple(equation), (), time_step(record.scope),
                              numbers)
