"""The reverse-pass stepper: frames, chain-rule text, restyling, widget logic, HTML.

Expected numbers come from the lecture's formulas evaluated by hand with
``math.tanh`` (and PyTorch for the leaves), never from the engine under test.
"""
from __future__ import annotations

import base64
import html
import json
import math
import re
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import numpy as np
import pytest

import autodiff_nb as ad
from autodiff_nb.mytorch.autograd_engine import Autograd
from autodiff_nb.mytorch.functional import add_backward, mul_backward, tanh_backward

SEED = 0.5   # the lecture's "given ∇z1 L"
VALUES = dict(x1=0.5, x2=-1.0, Wx1=0.8, Wx2=0.3, bx1=0.1, bx2=0.2,
              y1=0.6, Wy1=0.5, Wy2=-0.4, by1=0.2, by2=0.05)


def n(x):
    """How the panel writes a number: 4 significant digits, no trailing zeros, real minus."""
    return f"{x:.4g}".replace("-", "−")


def lecture_net():
    """i1 = Wx1 x1, i2 = Wx2 x2, i3 = i1 + bx1 + i2 + bx2, y2 = tanh(i3),
    i4 = Wy1 y1, i5 = Wy2 y2, i6 = i4 + by1 + i5 + by2, z1 = tanh(i6)."""
    t = {name: ad.Tensor(value, requires_grad=True, name=name) for name, value in VALUES.items()}

    def named(tensor, name):
        tensor.name = name
        t[name] = tensor
        return tensor

    named(t["Wx1"] * t["x1"], "i1")
    named(t["Wx2"] * t["x2"], "i2")
    named(ad.add(t["i1"], t["bx1"], t["i2"], t["bx2"]), "i3")
    named(ad.tanh(t["i3"]), "y2")
    named(t["Wy1"] * t["y1"], "i4")
    named(t["Wy2"] * t["y2"], "i5")
    named(ad.add(t["i4"], t["by1"], t["i5"], t["by2"]), "i6")
    named(ad.tanh(t["i6"]), "z1")
    return t


def by_hand():
    """Every gradient of the lecture example, from the slides' formulas."""
    v = dict(VALUES)
    v["i3"] = v["Wx1"] * v["x1"] + v["bx1"] + v["Wx2"] * v["x2"] + v["bx2"]
    v["y2"] = math.tanh(v["i3"])
    v["i6"] = v["Wy1"] * v["y1"] + v["by1"] + v["Wy2"] * v["y2"] + v["by2"]
    g = {"z1": SEED}
    g["i6"] = g["z1"] * (1 - math.tanh(v["i6"]) ** 2)
    g["i4"] = g["by1"] = g["i5"] = g["by2"] = g["i6"]
    g["Wy2"], g["y2"] = v["y2"] * g["i5"], g["i5"] * v["Wy2"]
    g["Wy1"], g["y1"] = v["y1"] * g["i4"], g["i4"] * v["Wy1"]
    g["i3"] = g["y2"] * (1 - math.tanh(v["i3"]) ** 2)
    g["i2"] = g["bx1"] = g["i1"] = g["bx2"] = g["i3"]
    g["Wx2"], g["x2"] = v["x2"] * g["i2"], g["i2"] * v["Wx2"]
    g["Wx1"], g["x1"] = v["x1"] * g["i1"], g["i1"] * v["Wx1"]
    return v, g


@pytest.fixture
def lecture():
    net = lecture_net()
    return net, ad.step_through(net["z1"], SEED)


def test_frames_are_before_backward_then_one_per_reverse_step(lecture):
    net, stepper = lecture
    assert len(stepper) == 9                          # 8 operations + "before backward"
    assert stepper.step == 0                          # opens before backward: press Next
    assert ad.step_through(lecture_net()["z1"], SEED, start=-1).step == 8   # or where asked
    assert stepper.snapshot(0).gradients == {} and stepper.snapshot(0).step is None
    visited = [stepper.snapshot(k).step.record.output().name for k in range(1, 9)]
    assert visited == ["z1", "i6", "i5", "i4", "y2", "i3", "i2", "i1"]   # reverse recording order


def test_chain_rule_text_matches_the_lecture(lecture):
    net, stepper = lecture
    v, g = by_hand()
    step1 = stepper.explanation(1).text()
    assert "Step 1 of 8: z1 = tanh(i6)" in step1
    assert (f"∇i6 L = ∇z1 L ∇i6 z1 = ∇z1 L · (1 − tanh²(i6)) "
            f"= 0.5 · (1 − tanh²({n(v['i6'])})) = {n(g['i6'])}") in step1
    step2 = stepper.explanation(2).text()
    assert "i6 = i4 + by1 + i5 + by2" in step2
    for name in ("i4", "by1", "i5", "by2"):
        assert f"∇{name} L = ∇i6 L ∇{name} i6 = ∇i6 L = {n(g['i6'])}" in step2
    step3 = stepper.explanation(3).text()
    assert (f"∇Wy2 L = ∇i5 L ∇Wy2 i5 = ∇i5 L · y2 = {n(g['i5'])} · {n(v['y2'])} "
            f"= {n(g['Wy2'])}") in step3
    assert (f"∇y2 L = ∇i5 L ∇y2 i5 = ∇i5 L · Wy2 = {n(g['i5'])} · ({n(v['Wy2'])}) "
            f"= {n(g['y2'])}") in step3
    assert f"= {n(g['y2'])} · (1 − tanh²({n(v['i3'])})) = {n(g['i3'])}" in stepper.explanation(5).text()
    step8 = stepper.explanation(8).text()
    assert f"∇x1 L = ∇i1 L ∇x1 i1 = ∇i1 L · Wx1 = {n(g['i1'])} · 0.8 = {n(g['x1'])}" in step8
    assert " += " not in "".join(stepper.explanation(k).text() for k in range(9))  # no fan-out here


def test_gradients_fill_in_and_become_final(lecture):
    net, stepper = lecture
    v, g = by_hand()
    names = {t._id: name for name, t in net.items()}
    frame3 = stepper.snapshot(3)                  # i5 = Wy2 × y2 just visited
    filled = {names[key] for key in frame3.gradients}
    assert filled == {"z1", "i6", "i4", "by1", "i5", "by2", "Wy2", "y2"}
    # y2 has one consumer (i5's ×), visited now: final. i4 waits for its own step? No:
    # i4's only consumer (i6's +) was visited at step 2, so it is final too.
    assert {names[key] for key in frame3.final} == filled
    for key, value in frame3.gradients.items():
        assert float(value) == pytest.approx(g[names[key]], rel=1e-12)
    last = stepper.snapshot(8)
    assert {names[key] for key in last.gradients} == set(g)
    for key, value in last.gradients.items():
        assert float(value) == pytest.approx(g[names[key]], rel=1e-12)


def test_last_frame_equals_backward_and_leaves_get_grad(lecture):
    net, stepper = lecture
    fresh = lecture_net()
    fresh["z1"].backward(SEED)
    for name in VALUES:
        assert net[name].grad is not None
        np.testing.assert_allclose(net[name].grad, fresh[name].grad, rtol=0, atol=0)
        np.testing.assert_allclose(stepper.snapshot(-1).gradients[net[name]._id], net[name].grad)


def test_leaves_match_pytorch(lecture):
    torch = pytest.importorskip("torch")
    net, _ = lecture
    t = {k: torch.tensor(val, dtype=torch.float64, requires_grad=True) for k, val in VALUES.items()}
    y2 = torch.tanh(t["Wx1"] * t["x1"] + t["bx1"] + t["Wx2"] * t["x2"] + t["bx2"])
    z1 = torch.tanh(t["Wy1"] * t["y1"] + t["by1"] + t["Wy2"] * y2 + t["by2"])
    z1.backward(torch.tensor(SEED, dtype=torch.float64))
    for name in VALUES:
        assert float(net[name].grad) == pytest.approx(t[name].grad.item(), rel=1e-12)


def fan_out():
    x = ad.Tensor(1.5, requires_grad=True, name="x")
    w = ad.Tensor(-2.0, requires_grad=True, name="w")
    loss = ad.tanh(x * w) + x * x
    loss.name = "L"
    return x, w, loss


def test_fan_out_writes_then_accumulates():
    x, w, loss = fan_out()
    stepper = ad.step_through(loss)
    # Reverse order: L = v4 + v5, v5 = x × x, v4 = tanh(v3), v3 = x × w.
    square = stepper.snapshot(2).step
    assert [(u.mode, u.tensor is x) for u in square.updates] == [("=", True), ("+=", True)]
    text = stepper.explanation(2).text()
    assert "∇x L = ∇v5 L ∇x v5 = ∇v5 L · x = 1 · 1.5 = 1.5" in text
    assert "∇x L += ∇v5 L ∇x v5 = ∇v5 L · x = 1 · 1.5 = 1.5   (∇x L = 1.5 + 1.5 = 3)" in text
    local = 1 - math.tanh(1.5 * -2.0) ** 2
    sent = local * -2.0
    text = stepper.explanation(4).text()
    assert (f"∇x L += ∇v3 L ∇x v3 = ∇v3 L · w = {n(local)} · (−2) = {n(sent)}   "
            f"(∇x L = 3 + ({n(sent)}) = {n(3 + sent)})") in text
    assert f"∇w L = ∇v3 L ∇w v3 = ∇v3 L · x = {n(local)} · 1.5 = {n(local * 1.5)}" in text
    # x is not final until its last consumer (x × w, step 4) has been visited.
    assert x._id not in stepper.snapshot(3).final and x._id in stepper.snapshot(4).final
    assert float(stepper.snapshot(3).gradients[x._id]) == 3.0
    assert float(x.grad) == pytest.approx(3 + sent, rel=1e-12)


def test_panel_marks_first_write_and_accumulate_apart():
    stepper = ad.step_through(fan_out()[2])
    panel = stepper.explanation(2).html()
    assert panel.count("adnb-mode-first") == 1 and panel.count("adnb-mode-acc") == 1
    assert ">+=<" in panel and "before + sent = after" in panel


def _cell_class(svg, cell_id):
    return re.search(rf'<g id="a_{cell_id}" class="([^"]*)"', svg)[1].split()


def _cell_numbers(svg, cell_id):
    group = re.search(rf'<g id="a_{cell_id}".*?</g>', svg, re.S)[0]
    return re.findall(r'<text [^>]*class="adnb-n">([^<]*)</text>', group)


def test_frames_restyle_one_layout(lecture):
    net, stepper = lecture
    graph = stepper.frame(3)
    svg = graph.svg()
    assert svg == stepper.svg(3)
    cell = {name: f"{graph.id_of(t)}_grad" for name, t in net.items()}
    assert "adnb-blank" in _cell_class(svg, cell["i3"]) and _cell_numbers(svg, cell["i3"]) == ["—"]
    assert "adnb-final" in _cell_class(svg, cell["y2"])
    assert {"adnb-wrote"} <= set(_cell_class(svg, cell["y2"]))
    assert "adnb-arriving" in _cell_class(svg, cell["i5"])
    op = graph.id_of(net["i5"]._record)
    assert re.search(rf'<g id="{op}" class="node adnb-current">', svg)
    assert re.search(rf'<g id="{op}_in0" class="edge adnb-sent">', svg)
    assert len(re.findall(r'class="[^"]*adnb-current', svg)) == 1
    # Geometry is the same in every frame: only classes, tooltips and numbers change.
    def geometry(text):
        text = re.sub(r' class="[^"]*"', "", text)
        text = re.sub(r'xlink:title="[^"]*"', "", text)
        return re.sub(r'(class="adnb-n">)?[^<>]*</text>', "</text>", text)
    shapes = {geometry(stepper.svg(k)) for k in range(len(stepper))}
    assert len(shapes) == 1


def test_partial_gradient_shows_its_value_so_far():
    x, w, loss = fan_out()
    stepper = ad.step_through(loss)
    cell = f"{stepper.frame(2).id_of(x)}_grad"
    after_square = 2 * 1.5                                     # x·x sends x twice: = then +=
    assert _cell_numbers(stepper.svg(2), cell) == [n(after_square)]
    assert "adnb-partial" in _cell_class(stepper.svg(2), cell)
    assert "adnb-accumulated" in _cell_class(stepper.svg(2), cell)
    assert _cell_numbers(stepper.svg(1), cell) == ["—"]
    through_tanh = -2.0 * (1 - math.tanh(1.5 * -2.0) ** 2)    # w · (1 − tanh²(x w))
    assert _cell_numbers(stepper.svg(4), cell) == [n(after_square + through_tanh)]
    assert "adnb-final" in _cell_class(stepper.svg(4), cell)


def test_goto_and_index_errors(lecture):
    _, stepper = lecture
    assert stepper.goto(2) is stepper and stepper.step == 2
    stepper.goto(-1)
    assert stepper.step == 8
    with pytest.raises(IndexError, match="frames are 0..8"):
        stepper.goto(9)


def test_widget_logic_headless(lecture):
    _, stepper = lecture
    widget = stepper.widget
    control = stepper._widget
    control.slider.value = 3
    assert stepper.step == 3 and 'data-step="3"' in control.view.value
    html3 = control.view.value
    control.act("next")
    assert stepper.step == 4 and control.view.value != html3
    control.act("last")
    control.act("next")                            # at the end: stays at the end
    assert stepper.step == 8 and control.slider.value == 8
    assert control.buttons["next"].disabled and not control.buttons["prev"].disabled
    control.act("first")
    control.act("prev")
    assert stepper.step == 0 and control.buttons["first"].disabled
    stepper.goto(5)                                # Python side moves the widget too
    assert control.slider.value == 5 and 'data-step="5"' in control.view.value
    assert widget is stepper.widget                # built once


def _ellipse_centre(svg, node_id):
    """Independently of the stepper's regexes: the centre of an operation's ellipse, as
    fractions of the drawing's width and height (parsed as XML, with Graphviz's translation)."""
    ns = {"s": "http://www.w3.org/2000/svg"}
    root = ET.fromstring(svg[svg.index("<svg"):])
    width, height = (float(v) for v in root.get("viewBox").split()[2:])
    tx, ty = (float(v) for v in re.search(r"translate\(([-0-9.]+) ([-0-9.]+)\)",
                                           root.find("s:g", ns).get("transform")).groups())
    ellipse = root.find(f".//s:g[@id='{node_id}']//s:ellipse", ns)
    return (float(ellipse.get("cx")) + tx) / width, (float(ellipse.get("cy")) + ty) / height


def test_live_view_marks_the_operation_of_each_step(lecture):
    _, stepper = lecture
    stepper.widget
    control = stepper._widget
    assert "adnb-follow" in control.view._dom_classes and control.follow.value
    for k in range(len(stepper)):
        stepper.goto(k)
        marker = re.search(r'<div class="adnb-marker" style="left: ([0-9.]+)%; top: ([0-9.]+)%">',
                           control.view.value)
        if k == 0:
            assert marker is None                 # before backward: no operation, no marker
            continue
        current = re.search(r'<g id="([^"]+)" class="node adnb-current">', stepper.svg(k))[1]
        x, y = _ellipse_centre(stepper.svg(k), current)
        assert (float(marker[1]), float(marker[2])) == pytest.approx((100 * x, 100 * y), abs=0.01)
    control.follow.value = False                  # unticked: the box scrolls freely
    assert "adnb-follow" not in control.view._dom_classes


def test_mimebundle_has_widget_view_and_html_fallback(lecture):
    _, stepper = lecture
    bundle = stepper._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/html"] == stepper.to_html()
    assert bundle["text/plain"] == "<autodiff_nb Stepper: 9 frames (8 reverse steps), showing frame 0>"


def _data_of(page):
    """The JSON the player reads (``<\\/`` in it is JSON for ``</``)."""
    return json.loads(re.search(r'<script type="application/json" class="adnb-data">(.*?)</script>',
                                page, re.S)[1])


def test_html_is_self_contained_and_readable_without_scripts(lecture):
    _, stepper = lecture
    page = stepper.to_html()
    assert page.startswith('<div class="adnb-stepper adnb-nojs"') and 'tabindex="0"' in page
    assert 'data-step="8"' in page
    controls = _data_of(page)["controls"]       # the script adds them: nothing to click without it
    assert "<button" not in page.split('<script type="application/json"')[0]
    for action in ("first", "prev", "next", "last", "play"):
        assert f'data-action="{action}"' in controls
    assert not re.search(r'(?:src|href)="(?:https?:)?//', page) and "http://cdn" not in page
    assert '<link' not in page and '@import' not in page
    # The markup already shows the last frame: the finished drawing (a picture) and its panel.
    still = re.search(r'<img class="adnb-still" src="data:image/svg\+xml;base64,([^"]+)"', page)
    assert base64.b64decode(still[1]).decode("utf-8") == stepper.svg(8)
    assert stepper.explanation(8).html() in page
    # The player's inline SVG rides in an inert element, without the XML prolog.
    inert = re.search(r'<script type="text/plain" class="adnb-svg">(.*?)</script>', page, re.S)[1]
    assert inert.startswith("<svg") and stepper.svg(8).endswith(inert)


# --- what an untrusted notebook in JupyterLab shows ------------------------------------------
# JupyterLab 4's Sanitizer (@jupyterlab/apputils, sanitize-html): the tags it keeps; the elements
# it removes with their content (sanitize-html's nonTextTags); every other tag is unwrapped and
# its text kept. Attributes: the ones it allows on every tag, plus an img's.
LAB_TAGS = set("""a abbr acronym address area article aside audio b bdi bdo big blockquote br button
    canvas caption center cite code col colgroup colspan command data datalist dd del details dfn dir
    div dl dt em fieldset figcaption figure font footer form h1 h2 h3 h4 h5 h6 header hgroup hr i img
    input ins kbd label legend li map mark menu meter nav nobr ol optgroup option output p pre
    progress q rowspan s samp section select small source span strike strong sub summary sup table
    tbody td textarea tfoot th thead time tr track tt u ul var video wbr""".split())
LAB_DROPPED = {"script", "style", "textarea", "option"}
LAB_ATTRIBUTES = {"class", "dir", "hidden", "lang", "style", "title", "alt", "src", "width",
                  "height", "disabled", "type", "value"}
VOID = {"br", "hr", "img", "input", "wbr", "source", "track", "col", "area"}


class LabLikeSanitizer(HTMLParser):
    """``sanitize(html) -> (html, text)``: roughly what an untrusted JupyterLab output shows."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out, self.text, self.dropping = [], [], 0

    def handle_starttag(self, tag, attrs):
        if self.dropping or tag in LAB_DROPPED:
            self.dropping += tag not in VOID
        elif tag in LAB_TAGS:
            kept = "".join(f' {k}="{html.escape(v or "")}"' for k, v in attrs if k in LAB_ATTRIBUTES)
            self.out.append(f"<{tag}{kept}>")

    def handle_endtag(self, tag):
        if self.dropping:
            self.dropping -= 1
        elif tag in LAB_TAGS and tag not in VOID:
            self.out.append(f"</{tag}>")

    def handle_data(self, data):
        if not self.dropping:
            self.out.append(html.escape(data, quote=False))
            self.text.append(data)


def sanitize(markup):
    parser = LabLikeSanitizer()
    parser.feed(markup)
    parser.close()
    return "".join(parser.out), " ".join("".join(parser.text).split())


def test_untrusted_notebook_shows_the_final_frame_and_no_svg_junk(lecture):
    _, stepper = lecture
    shown, text = sanitize(stepper.to_html())
    # One picture, of the final frame, and the final step's chain-rule panel.
    images = re.findall(r'<img [^>]*src="data:image/svg\+xml;base64,([^"]+)"', shown)
    assert [base64.b64decode(image).decode("utf-8") for image in images] == [stepper.svg(8)]
    assert sanitize(stepper.explanation(8).html())[0] in shown
    assert "Step 8 of 8" in text and f"· 0.8 = {n(by_hand()[1]['x1'])}" in text
    # No text of the drawing (node ids, "value"/"grad" captions), nothing to click.
    assert not re.search(r"adnb|autodiff|\bvalue\b|\bgrad\b", text, re.I), text
    svg_ids = set(re.findall(r' id="([^"]+)"', stepper.svg(8)))
    assert svg_ids and not any(element in text for element in svg_ids)
    assert not re.search(r"<(button|input|select)\b", shown)
    assert "Scripts are off" in text


def test_sanitizer_model_sees_the_junk_of_an_inline_svg(lecture):
    """The model above is not blind: an inline SVG does leave its titles and cells in the text."""
    _, stepper = lecture
    _, text = sanitize(f"<div>{stepper.svg(8)}</div>")
    assert "x1 → mul" in text and "value" in text


def test_same_program_same_html():
    program = textwrap.dedent("""
        import hashlib, autodiff_nb as ad
        x = ad.Tensor(1.5, requires_grad=True, name="x")
        w = ad.Tensor(-2.0, requires_grad=True, name="w")
        first = ad.step_through(ad.tanh(x * w) + x * x, retain_graph=True)
        second = ad.step_through(ad.tanh(x * w) + x * x)
        print(hashlib.sha256((first.to_html() + second.to_html()).encode()).hexdigest())
        print(first.prefix, second.prefix)
    """)
    runs = [subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                           check=True).stdout for _ in range(2)]
    assert runs[0] == runs[1]
    prefixes = runs[0].split()[1:]
    assert len(set(prefixes)) == 2                 # two steppers, two id prefixes


def mytorch_net():
    engine = Autograd()
    x = np.array([[0.5, -1.0]])
    w = np.array([[0.3, 0.8]])
    dw = np.zeros_like(w)
    h = x * w
    engine.add_operation([x, w], h, [None, dw], mul_backward)
    a = np.tanh(h)
    engine.add_operation([h], a, [None], tanh_backward)
    y = a + h                      # h is used twice: "+=" in the reverse pass
    engine.add_operation([a, h], y, [None, None], add_backward)
    return engine, x, w, dw, h


def test_engine_steps_replay_its_backward():
    engine, x, w, dw, h = mytorch_net()
    stepper = ad.step_through(engine, np.ones((1, 2)))
    assert len(stepper) == 4
    reference, *_, ref_dw, _ = mytorch_net()
    reference.backward(np.ones((1, 2)))
    np.testing.assert_allclose(dw, ref_dw)
    expected_dw = x * (1 + (1 - np.tanh(x * w) ** 2))        # by hand: y = tanh(h) + h, h = x w
    np.testing.assert_allclose(dw, expected_dw)
    modes = [u.mode for k in range(1, 4) for u in stepper.snapshot(k).step.updates]
    assert modes.count("+=") == 1
    assert "+=" in stepper.explanation(2).text()
    with pytest.raises(TypeError, match="divergence"):
        ad.step_through(mytorch_net()[0])


def test_a_leaf_alone_has_one_frame():
    x = ad.Tensor(2.0, requires_grad=True, name="x")
    stepper = ad.step_through(x)
    assert len(stepper) == 1 and "Nothing to step through" in stepper.explanation(0).text()
    assert 'data-step="0"' in stepper.to_html()


def test_an_output_named_L_is_not_written_twice_in_one_formula():
    d = ad.Tensor(0.7, requires_grad=True, name="d")
    loss = d ** 2
    loss.name = "L"
    text = ad.step_through(loss).explanation(1).text()
    assert "∇d L = ∇L L · 2 · d^(2 − 1) = 1 · 2 · 0.7^(2 − 1) = 1.4" in text
    assert "∇d L = ∇L L ∇d L" not in text


def test_variadic_add_explains_every_input():
    terms = [ad.Tensor(float(k), requires_grad=True, name=f"a{k}") for k in range(10)]
    total = ad.add(*terms)
    total.name = "t"
    text = ad.step_through(total).explanation(1).text()
    for k in range(10):       # more inputs than any rule table would spell out
        assert f"∇a{k} L = ∇t L ∇a{k} t = ∇t L = 1" in text


# --- forward mode: step_through(loss, forward=True) ------------------------------------

COMPUTED = ("i1", "i2", "i3", "y2", "i4", "i5", "i6", "z1")   # recording order


@pytest.fixture
def forward():
    net = lecture_net()
    return net, ad.step_through(net["z1"], SEED, forward=True)


def _value_cells(stepper, net, k):
    """{name: numbers shown in its value cell} at frame ``k`` (["—"]: not computed yet)."""
    graph, svg = stepper.frame(k), stepper.svg(k)
    return {name: _cell_numbers(svg, f"{graph.id_of(t)}_value") for name, t in net.items()}


def test_forward_mode_frames_are_leaves_then_each_operation_then_backward(forward):
    net, stepper = forward
    operations = len(COMPUTED)
    assert len(stepper) == (1 + operations) + (1 + operations)
    assert repr(stepper).startswith("<autodiff_nb Stepper: 18 frames (8 forward steps, 8 reverse")
    for k in range(1 + operations):
        frame = stepper.snapshot(k)
        assert frame.step is None and frame.gradients == {} and frame.index == k
        assert (frame.record is None) == (k == 0)
        if k:
            assert frame.record.output() is net[COMPUTED[k - 1]]
        shown = {name for name, t in net.items() if t._id in frame.known}
        assert shown == set(VALUES) | set(COMPUTED[:k])
    # Then the reverse pass, frame for frame as in the default mode.
    reference = ad.step_through(lecture_net()["z1"], SEED)
    for k in range(len(reference)):
        ours, theirs = stepper.snapshot(1 + operations + k), reference.snapshot(k)
        assert ours.index == 1 + operations + k and ours.known is None
        assert ours.step.record.output().name == theirs.step.record.output().name if k else True
        assert {stepper.names[i]: g.item() for i, g in ours.gradients.items()} == \
            {reference.names[i]: g.item() for i, g in theirs.gradients.items()}
        assert stepper.explanation(1 + operations + k).text() == reference.explanation(k).text()


def test_forward_mode_reveals_values_in_recording_order(forward):
    net, stepper = forward
    # Once known, a value cell shows the numbers of the drawing itself (every value drawn).
    graph, rendering = stepper.frame(0), html.unescape(stepper._graph.svg())
    drawn = {name: re.findall(r"<text [^>]*>([^<]*)</text>", re.search(
        rf'<g id="a_{graph.id_of(t)}_value".*?</g>', rendering, re.S)[0]) for name, t in net.items()}
    v = VALUES
    i2 = v["Wx2"] * v["x2"]
    i3 = v["Wx1"] * v["x1"] + v["bx1"] + i2 + v["bx2"]
    assert drawn["i3"] == [n(i3)] and drawn["i2"] == [n(i2)]
    for k in range(len(stepper)):
        known = set(VALUES) | set(COMPUTED[:k])
        for name, numbers in _value_cells(stepper, net, k).items():
            assert numbers == (drawn[name] if name in known else ["—"]), (k, name)
    graph, svg = stepper.frame(3), stepper.svg(3)
    i3 = f"{graph.id_of(net['i3'])}_value"
    assert _cell_class(svg, i3) == ["adnb-final", "adnb-wrote"]        # just computed
    assert _cell_class(svg, f"{graph.id_of(net['y2'])}_value") == ["adnb-blank"]
    op = graph.id_of(net["i3"]._record)
    assert re.search(rf'<g id="{op}" class="node adnb-current">', svg)
    assert all(re.search(rf'<g id="{op}_in{i}" class="edge adnb-arriving">', svg) for i in range(4))
    assert re.search(rf'<g id="{op}_out" class="edge adnb-sent">', svg)
    # No gradient in the forward frames: every gradient cell blank.
    grads = re.findall(r'<g id="a_[^"]+_grad" class="([^"]*)"', svg)
    assert grads and set(grads) == {"adnb-blank"}


def test_forward_panel_writes_the_operation_with_its_numbers(forward):
    _, stepper = forward
    v = VALUES
    i1, i2 = v["Wx1"] * v["x1"], v["Wx2"] * v["x2"]
    i3 = i1 + v["bx1"] + i2 + v["bx2"]
    assert i2 < 0
    assert stepper.explanation(3).text() == (
        f"Forward step 3 of 8: i3 = i1 + bx1 + i2 + bx2 = {n(i1)} + {n(v['bx1'])} + ({n(i2)}) "
        f"+ {n(v['bx2'])} = {n(i3)}")
    assert stepper.explanation(4).text() == (
        f"Forward step 4 of 8: y2 = tanh(i3) = tanh({n(i3)}) = {n(math.tanh(i3))}")
    panel = stepper.explanation(3).html()
    assert "Forward step 3 of 8" in panel and "<i>i<sub>3</sub></i>" in panel
    assert stepper.explanation(0).text().startswith("Only the leaves' values are known")
    assert stepper.explanation(9).text().startswith("Forward pass done")


def test_forward_mode_html_and_widget(forward):
    net, stepper = forward
    page = stepper.to_html()
    data = _data_of(page)
    assert len(data["panels"]) == len(data["labels"]) == len(data["marks"]) == 18
    assert data["labels"][:2] == ["Leaves only (0 / 8)", "Forward 1 / 8"]
    assert data["labels"][9:11] == ["Before backward (0 / 8)", "Step 1 / 8"]
    i3 = f"a_{stepper.frame(0).id_of(net['i3'])}_value"
    v = VALUES
    value = v["Wx1"] * v["x1"] + v["bx1"] + v["Wx2"] * v["x2"] + v["bx2"]
    assert [entry[:3] for entry in data["cells"][i3]] == [[0, ["—"], 0], [3, [n(value)], 2]]
    assert "forward: values arriving" in page
    control = stepper.widget and stepper._widget
    control.slider.value = 2
    assert "Forward 2 / 8" == control.counter.value
    assert 'class="adnb-final adnb-wrote"' in control.view.value


def _without_prefix(stepper, text):
    """``text`` with the stepper's own id prefix made neutral, inside the still picture too."""
    text = re.sub(r"base64,([A-Za-z0-9+/=]+)",
                  lambda m: "svg:" + base64.b64decode(m[1]).decode("utf-8"), text)
    return text.replace(stepper.prefix, "PREFIX_")


def test_default_mode_is_unchanged_by_forward_mode():
    plain, explicit = (ad.step_through(lecture_net()["z1"], SEED),
                       ad.step_through(lecture_net()["z1"], SEED, forward=False))
    assert plain.forward is None and len(plain) == 9
    assert _without_prefix(plain, plain.to_html()) == _without_prefix(explicit, explicit.to_html())
    assert [plain.explanation(k).text() for k in range(9)] == \
        [explicit.explanation(k).text() for k in range(9)]
    page = plain.to_html()
    # Nothing of forward mode: value cells are not restyled, no forward panel, legend or style.
    assert not any(cell.endswith("_value") for cell in _data_of(page)["cells"])
    assert not re.search(r'<g id="a_[^"]+_value" class=', plain.svg(0))
    for forward_only in ("Forward step", "forward:", "Leaves only", '_value"].adnb-final'):
        assert forward_only not in page
    forward = ad.step_through(lecture_net()["z1"], SEED, forward=True).to_html()
    assert all(marker in forward for marker in ("Forward step", "forward:", '_value"].adnb-final'))


def test_forward_mode_on_an_engine():
    engine, *_ = mytorch_net()
    stepper = ad.step_through(engine, np.ones((1, 2)), forward=True)
    assert len(stepper) == 4 + 4
    assert stepper.explanation(1).text().startswith("Forward step 1 of 3: ")
    assert len(stepper.snapshot(0).known) == 2          # x and w
