"""``ad.show_tape``: the Wengert list, with the names the drawing of the same target shows.

The expected names are read back from ``ad.draw(target).source`` (the DOT
text: each value node's header label and the ``opN_inK`` / ``opN_out`` edges),
not from the scene the listing itself uses, so a listing that numbered values
its own way would fail here.
"""
from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

import autodiff_nb as ad
from autodiff_nb import nn
from autodiff_nb.mytorch import Autograd, nn as handout_nn

LABEL = re.compile(r'<TD ID="(v\d+)_name"[^>]*><FONT COLOR="[^"]*"><B>([^<]*)</B>')
VALUE = re.compile(r'<TD ID="(v\d+)_value"[^>]*><FONT COLOR="[^"]*">([^<]*)</FONT>')
EDGE_IN = re.compile(r'^\s*(v\d+) -> (op\d+) \[id="op\d+_in(\d+)"', re.M)
EDGE_OUT = re.compile(r'^\s*(op\d+) -> (v\d+) \[id="op\d+_out"', re.M)


def drawn_calls(target):
    """{op number: (output label, [(input label, drawn scalar value)])} from ``draw(target)``'s DOT."""
    source = ad.draw(target, collapse=False, max_nodes=None).source
    labels = dict(LABEL.findall(source))
    scalars = dict(VALUE.findall(source))     # the drawn value of one-element nodes
    inputs = {}
    for value, op, position in EDGE_IN.findall(source):
        inputs.setdefault(op, {})[int(position)] = (labels[value], scalars.get(value))
    outputs = {op: labels[value] for op, value in EDGE_OUT.findall(source)}
    return {int(op[2:]): (outputs[op], [args[k] for k in sorted(args)])
            for op, args in inputs.items()}


def assert_agrees_with_drawing(target):
    listing = ad.show_tape(target)
    drawn = drawn_calls(target)
    assert [row.number for row in listing.rows] == sorted(drawn)
    for row in listing.rows:
        output, inputs = drawn[row.number]
        assert row.output == output
        written = list(row.arguments[:len(inputs)])
        for argument, (label, drawn_value) in zip(written, inputs):
            if argument != label:           # a literal constant: a number here, vN in the drawing
                assert re.fullmatch(r"v\d+", label) and drawn_value is not None
                assert float(argument) == pytest.approx(float(drawn_value), rel=1e-3)
    return listing


def lecture_network():
    """The lecture's tanh example (lesson 04): every value named, as the lecture names it."""
    start = dict(x1=0.5, x2=-1.0, y1=0.3, Wx1=0.8, bx1=0.1, Wx2=-0.6, bx2=0.2,
                 Wy1=1.2, by1=-0.3, Wy2=0.7, by2=0.05)
    t = {k: ad.Tensor(v, requires_grad=True, name=k) for k, v in start.items()}
    i1 = t["Wx1"] * t["x1"]; i1.name = "i1"
    i2 = t["Wx2"] * t["x2"]; i2.name = "i2"
    i3 = ad.add(i1, t["bx1"], i2, t["bx2"]); i3.name = "i3"
    y2 = ad.tanh(i3); y2.name = "y2"
    i4 = t["Wy1"] * t["y1"]; i4.name = "i4"
    i5 = t["Wy2"] * y2; i5.name = "i5"
    i6 = ad.add(i4, t["by1"], i5, t["by2"]); i6.name = "i6"
    z1 = ad.tanh(i6); z1.name = "z1"
    return z1


def test_lecture_example_lists_every_relation_with_its_name():
    z1 = lecture_network()
    listing = assert_agrees_with_drawing(z1)
    assert str(listing).splitlines() == [
        "1. i1 = mul(Wx1, x1)              shape ()",
        "2. i2 = mul(Wx2, x2)              shape ()",
        "3. i3 = add_n(i1, bx1, i2, bx2)   shape ()",
        "4. y2 = tanh(i3)                  shape ()",
        "5. i4 = mul(Wy1, y1)              shape ()",
        "6. i5 = mul(Wy2, y2)              shape ()",
        "7. i6 = add_n(i4, by1, i5, by2)   shape ()",
        "8. z1 = tanh(i6)                  shape ()",
    ]


def test_unnamed_values_get_the_drawings_ids_and_literals_their_numbers():
    x = ad.Tensor(0.5, requires_grad=True, name="x")
    loss = (ad.tanh(x * 2) - 1) ** 2
    listing = assert_agrees_with_drawing(loss)
    assert [row.call for row in listing.rows] == [
        "v3 = mul(x, 2)", "v4 = tanh(v3)", "v6 = sub(v4, 1)", "v7 = pow(v6, exponent=2)"]
    assert {f"v{k}" for k in (3, 4, 6, 7)} <= set(ad.draw(loss).value_ids)


def test_mlp_numbering_parameters_and_scopes_agree_with_the_drawing():
    model = nn.MLP([3, 4, 2], activation="tanh", seed=0)
    x = ad.Tensor(np.linspace(-1, 1, 15).reshape(5, 3), name="x")
    loss = nn.CrossEntropyLoss()(model(x), np.array([0, 1, 0, 1, 1]))
    listing = assert_agrees_with_drawing(loss)
    lines = str(listing).splitlines()
    assert len(lines) == 9
    assert re.fullmatch(r"1\. v3 = matmul_t\(x, 0\.weight\) +shape \(5, 4\) +MLP/0\.Linear", lines[0])
    assert "log_softmax(v10, axis=1)" in lines[5] and lines[5].endswith("CrossEntropyLoss")
    assert "getitem(v11, index=([0, 1, 2, 3, 4], [0, 1, 0, 1, 1]))" in lines[6]
    assert listing.rows[6].shape == (5,)
    # Columns line up: every "shape" starts at the same position.
    assert len({line.index("shape (") for line in lines}) == 1


def test_a_handout_engine_and_its_records_list_the_same():
    engine = Autograd()
    x = engine.label(np.arange(6.0).reshape(2, 3), "x")
    handout_nn.Sigmoid(engine)(x)
    listing = assert_agrees_with_drawing(engine)
    assert [(row.operation, row.scope) for row in listing.rows] == [
        ("mul", "Sigmoid0"), ("exp", "Sigmoid0"), ("add", "Sigmoid0"), ("div", "Sigmoid0")]
    assert listing.rows[0].arguments == ("-1", "x")
    assert str(ad.show_tape(engine.records())) == str(listing)


def test_a_leaf_has_nothing_recorded():
    assert str(ad.show_tape(ad.Tensor(1.0, name="x"))) == "(no recorded operations)"


def test_display_has_text_and_a_plain_html_table():
    listing = ad.show_tape(lecture_network())
    bundle = listing._repr_mimebundle_()
    assert bundle["text/plain"] == str(listing) == repr(listing)
    html = bundle["text/html"]
    assert html.startswith("<table") and "<script" not in html
    assert html.count("<tr>") == 8 and "add_n(i1, bx1, i2, bx2)" in html


def test_rejects_what_it_cannot_list():
    with pytest.raises(TypeError):
        ad.show_tape(3.0)


def test_same_text_in_a_fresh_process():
    program = ("import numpy as np, autodiff_nb as ad\n"
               "m = ad.nn.MLP([2, 3, 1], seed=1)\n"
               "x = ad.Tensor(np.ones((4, 2)), name='x')\n"
               "print(ad.show_tape(ad.nn.MSELoss()(m(x), ad.Tensor(np.zeros((4, 1))))))\n")
    runs = [subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                           check=True).stdout for _ in range(2)]
    assert runs[0] == runs[1] and runs[0].count("\n") >= 6
