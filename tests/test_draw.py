"""Drawings: golden DOT, numbers checked by hand, determinism, escaping, renderers, display.

Golden files live in tests/golden/. After an intended change to how drawings
look, regenerate them and review the diff:

    python tests/test_draw.py --regenerate
"""
from __future__ import annotations

import base64
import hashlib
import math
import os
import re
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import autodiff_nb as ad
from autodiff_nb import render
from autodiff_nb.draw import Graph, draw
from autodiff_nb.drawing import formatting
from autodiff_nb.drawing.graph import drawing_css

GOLDEN = Path(__file__).resolve().parent / "golden"
SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"

# The lecture's example, with scalar values of our choosing.
INPUTS = dict(x1=0.5, x2=-1.0, y1=0.8, Wx1=0.7, bx1=0.1, Wx2=-0.4, bx2=-0.2,
              Wy1=1.2, by1=0.05, Wy2=-0.9, by2=0.3)


def lecture_example():
    """y2 = tanh(Wx1·x1 + bx1 + Wx2·x2 + bx2), z1 = tanh(Wy1·y1 + by1 + Wy2·y2 + by2)."""
    t = {name: ad.Tensor(value, requires_grad=True, name=name) for name, value in INPUTS.items()}

    def named(tensor, name):
        tensor.name = name
        return tensor

    i1 = named(t["Wx1"] * t["x1"], "i1")
    i2 = named(t["Wx2"] * t["x2"], "i2")
    i3 = named(ad.add(i1, t["bx1"], i2, t["bx2"]), "i3")
    y2 = named(ad.tanh(i3), "y2")
    i4 = named(t["Wy1"] * t["y1"], "i4")
    i5 = named(t["Wy2"] * y2, "i5")
    i6 = named(ad.add(i4, t["by1"], i5, t["by2"]), "i6")
    return named(ad.tanh(i6), "z1")


def hand_computed():
    """Values and gradients (with ∇z1 L = 1) from the lecture's formulas, in plain floats."""
    v = dict(INPUTS)
    v["i1"] = v["Wx1"] * v["x1"]
    v["i2"] = v["Wx2"] * v["x2"]
    v["i3"] = v["i1"] + v["bx1"] + v["i2"] + v["bx2"]
    v["y2"] = math.tanh(v["i3"])
    v["i4"] = v["Wy1"] * v["y1"]
    v["i5"] = v["Wy2"] * v["y2"]
    v["i6"] = v["i4"] + v["by1"] + v["i5"] + v["by2"]
    v["z1"] = math.tanh(v["i6"])
    g = {"z1": 1.0}
    g["i6"] = g["z1"] * (1 - math.tanh(v["i6"]) ** 2)
    g["i4"] = g["by1"] = g["i5"] = g["by2"] = g["i6"]
    g["Wy2"] = v["y2"] * g["i5"]
    g["y2"] = g["i5"] * v["Wy2"]
    g["Wy1"] = v["y1"] * g["i4"]
    g["y1"] = g["i4"] * v["Wy1"]
    g["i3"] = g["y2"] * (1 - math.tanh(v["i3"]) ** 2)
    g["i2"] = g["bx1"] = g["i1"] = g["bx2"] = g["i3"]
    g["Wx2"] = v["x2"] * g["i2"]
    g["x2"] = g["i2"] * v["Wx2"]
    g["Wx1"] = v["x1"] * g["i1"]
    g["x1"] = g["i1"] * v["Wx1"]
    return v, g


def cells(svg):
    """{name: {"value": text, "grad": text}} read back from the SVG's cell groups."""
    root = ET.fromstring(svg)
    found = {}
    for group in root.iter(f"{SVG}g"):
        match = re.fullmatch(r"a_(.*)(v\d+)_(name|value|grad)", group.get("id", ""))
        if match:
            text = " ".join(t.text or "" for t in group.iter(f"{SVG}text")).strip()
            found.setdefault(match[2], {})[match[3]] = text
    return {parts["name"]: parts for parts in found.values()}


def shown_as(x, digits=4):
    """How a drawing writes ``x``, from Python's own ``g`` format: no trailing zeros, real minus."""
    return format(x, f".{digits}g").replace("-", "−")


def read_number(text):
    """A drawn number back as a float (drawings use the real minus sign)."""
    return float(text.replace("−", "-"))


def has_program(name):
    try:
        render.render("digraph{a}", program=name)
        return True
    except render.RenderError:
        return False


@pytest.fixture
def mlp():
    """A 2-layer MLP loss on a batch, layers in scopes as nn modules do; backward done."""
    rng = np.random.default_rng(0)
    x = ad.Tensor(rng.normal(size=(4, 3)), name="x")
    y = ad.Tensor(np.eye(2)[[0, 1, 1, 0]], name="targets")
    W1 = ad.Tensor(rng.normal(size=(3, 5)), requires_grad=True, name="W1")
    b1 = ad.Tensor(np.zeros(5), requires_grad=True, name="b1")
    W2 = ad.Tensor(rng.normal(size=(5, 2)), requires_grad=True, name="W2")
    b2 = ad.Tensor(np.zeros(2), requires_grad=True, name="b2")
    with ad.scope("0.Linear"):
        h = x @ W1 + b1
    with ad.scope("1.Tanh"):
        h = ad.tanh(h)
    with ad.scope("2.Linear"):
        h = h @ W2 + b2
    with ad.scope("loss"):
        loss = -(ad.log_softmax(h) * y).sum(axis=1).mean()
    loss.name = "loss"
    loss.backward()
    return loss


# --- golden DOT and the numbers --------------------------------------------------


def test_golden_dot_of_the_lecture_example_before_and_after_backward():
    z1 = lecture_example()
    assert draw(z1).source == (GOLDEN / "tanh_example_before.dot").read_text(encoding="utf-8")
    z1.backward()
    assert draw(z1).source == (GOLDEN / "tanh_example.dot").read_text(encoding="utf-8")


def test_svg_shows_every_value_and_gradient_of_the_hand_computation():
    z1 = lecture_example()
    z1.backward()
    shown = cells(draw(z1).svg())
    values, grads = hand_computed()
    assert set(shown) == set(values)
    for name, parts in shown.items():
        assert parts["value"] == shown_as(values[name]), name
        assert parts["grad"] == shown_as(grads[name]), name


def test_gradient_reads_not_computed_before_backward_and_numbers_after():
    z1 = lecture_example()
    before = cells(draw(z1).svg())
    assert {parts["grad"] for parts in before.values()} == {"—"}
    z1.backward()
    after = cells(draw(z1).svg())
    assert all(re.fullmatch(r"−?\d+(\.\d+)?", parts["grad"]) for parts in after.values())


def test_same_dot_and_svg_in_processes_with_different_hash_seeds():
    script = textwrap.dedent(f"""
        import hashlib, sys
        sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})
        from test_draw import lecture_example
        from autodiff_nb.draw import draw
        z1 = lecture_example(); z1.backward()
        graph = draw(z1, legend=True, highlight=z1)
        print(hashlib.sha256(graph.source.encode()).hexdigest())
        print(hashlib.sha256(graph.svg().encode()).hexdigest())
    """)
    outputs = []
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              env=env, timeout=60)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1]
    z1 = lecture_example()
    z1.backward()
    here = draw(z1, legend=True, highlight=z1).source
    assert outputs[0].split()[0] == hashlib.sha256(here.encode()).hexdigest()


def test_drawn_numbers_have_four_digits_and_no_trailing_zeros():
    values = (0.5, 1.0, 1234.4, 9.99996, 1e-5, -2.5, 3)
    assert [formatting.number(x) for x in values] == [shown_as(x) for x in values]
    assert formatting.number(-0.0) == "0"
    assert formatting.matrix(np.array([[1.0, -2.0]])) == [["1", "−2"]]


# --- what nodes show ------------------------------------------------------------


def test_small_arrays_as_matrices_large_ones_as_summary_with_full_tooltip():
    small = ad.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True, name="small")
    large = ad.Tensor(np.arange(40.0).reshape(5, 8), requires_grad=True, name="large")
    source = draw((small.sum() + large.sum())).source
    assert "2×3" in source and "5×8" in source
    for number in (0, 1, 5):
        assert f">{shown_as(number)}<" in source
    assert ">min<" in source and ">norm<" in source and f">{shown_as(39.0)}<" in source   # max
    assert "large = shape 5×8:&#10;0 1 2" in source                                  # tooltip


def test_kinds_are_styled_apart_and_legend_on_request(mlp):
    source = draw(mlp, legend=True).source
    assert 'STYLE="dashed"' in source           # constants: x and the targets
    assert 'BGCOLOR="#2f3e4e"' in source         # the output's dark header
    assert "legend" in source and "Legend" in source
    assert "Legend" not in draw(mlp).source
    assert "rankdir=LR" in source and "rankdir=TB" in draw(mlp, rankdir="TB").source


def test_toggles_values_grads_shapes(mlp):
    assert "_value" not in draw(mlp, values=False).source
    assert "_grad" not in draw(mlp, grads=False).source
    shape_in_header = "&#160;4×2</FONT>"
    assert shape_in_header not in draw(mlp, shapes=False).source
    assert shape_in_header in draw(mlp).source


def test_grads_override_and_highlight_keep_every_id(mlp):
    full = draw(mlp)
    records = ad.tape_of(mlp)
    partial = draw(mlp, grads={mlp: np.array(1.0)}, highlight=[records[-1], mlp])
    ids = re.compile(r'id="([^"]+)"')
    assert ids.findall(full.source) == ids.findall(partial.source)
    assert partial.source.count("not computed yet") == len(full.value_ids) - 3   # 2 constants
    assert partial.source.count("#d81b60") == 1 + 1 + 2                        # op, value, 2 edges
    assert partial.id_of(mlp) == partial.value_ids[-1] and partial.id_of(records[0]) == "op1"


def test_id_prefix_reaches_every_svg_id():
    z1 = lecture_example()
    svg = draw(z1, id_prefix="f3_").svg()
    ids = re.findall(r' id="([^"]+)"', svg)
    assert ids and all(i.startswith(("f3_", "a_f3_")) for i in ids)
    for required in ("f3_v1", "a_f3_v1_grad", "a_f3_v1_value", "f3_op1", "f3_op1_in0", "f3_op1_out"):
        assert required in ids
    with pytest.raises(ValueError):
        draw(z1, id_prefix='x" onload="')


def test_draws_a_tape_and_a_duck_typed_engine():
    z1 = lecture_example()
    z1.backward()
    records = ad.tape_of(z1)
    assert draw(records).source == draw(z1).source

    class FakeEngine:
        def records(self):
            return records

        def gradients(self):
            return {z1._id: np.array(2.0)}

    source = draw(FakeEngine()).source
    assert 'TOOLTIP="gradient of z1 = 2"' in source
    assert source.count("not computed yet") == 18
    with pytest.raises(TypeError, match="cannot draw"):
        draw(42)


def test_a_leaf_alone_and_only_ancestors_of():
    leaf = ad.Tensor([1.0, 2.0], requires_grad=True, name="w")
    assert draw(leaf).value_ids == ["v1"]
    z1 = lecture_example()
    i3 = ad.tape_of(z1)[2].output()
    part = draw(z1, only_ancestors_of=i3)
    assert len(part.op_ids) == 3 and ">z1<" not in part.source and ">i3<" in part.source


# --- collapse and max_nodes -------------------------------------------------------


def test_collapse_a_scope_as_a_box(mlp):
    graph = draw(mlp, collapse="0.Linear")
    assert graph.op_ids[0] == "scope1"
    assert "<B>0.Linear</B>" in graph.source and "2 operations" in graph.source
    assert ">W1<" in graph.source and ">b1<" in graph.source          # parameters stay visible
    assert len(graph.value_ids) == len(draw(mlp).value_ids) - 1        # x @ W1 is inside the box
    everything = draw(mlp, collapse=True)
    assert [i for i in everything.op_ids] == ["scope1", "scope2", "scope3", "scope4"]


def test_collapse_as_clusters(mlp):
    graph = draw(mlp, collapse=True, collapse_mode="cluster")
    assert graph.source.count("subgraph") == 4
    assert 'subgraph "cluster_scope1"' in graph.source and ">0.Linear<" in graph.source
    assert 'class="cluster"' in graph.svg()
    with pytest.raises(ValueError):
        draw(mlp, collapse=True, collapse_mode="boxes")


def test_max_nodes_keeps_the_output_end_and_says_what_was_left_out(mlp):
    total_ops = len(ad.tape_of(mlp))
    graph = draw(mlp, max_nodes=8)
    assert len(graph.value_ids) + len(graph.op_ids) <= 8
    kept = len(graph.op_ids)
    left_values = len(draw(mlp).value_ids) - len(graph.value_ids)
    assert (f"{total_ops - kept} earlier operations and {left_values} values not drawn "
            f"(max_nodes=8)") in graph.source
    assert "note" in graph.source and ">loss<" in graph.source


def test_auto_collapse_on_large_tapes():
    w = ad.Tensor(np.ones(3), requires_grad=True, name="w")
    h = w
    for k in range(80):
        with ad.scope(f"block{k}"):
            h = ad.tanh(h * 0.5 + 0.1)
    loss = h.sum()
    graph = draw(loss)
    assert "scopes drawn as boxes" in graph.source
    assert "scopes drawn as boxes" not in draw(loss, collapse=False, max_nodes=None).source


# --- escaping ---------------------------------------------------------------------

HOSTILE = ["<b>x</b>", '"];rankdir=TB;x["', "<script>alert(1)</script>", "a\\Nb & c"]


def _named_product(name):
    w = ad.Tensor(2.0, requires_grad=True, name=name)
    with ad.scope(name):
        out = w * 3.0
    out.name = name + "!"
    out.backward()
    return out


@pytest.mark.parametrize("name", HOSTILE)
def test_names_are_drawn_literally_in_dot_svg_and_html(name):
    from autodiff_nb.drawing.dot import text

    out = _named_product(name)
    plain = _named_product("NAME")
    for options in ({}, {"collapse": True, "collapse_mode": "cluster"}):
        graph = draw(out, **options)
        source = graph.source
        assert name not in source and "<script" not in source and "<b>" not in source
        # the name adds nothing to the DOT but its escaped text
        assert source.replace(text(name), "NAME") == draw(plain, **options).source
        svg = graph.svg()
        names = {n for n in cells(svg)}
        assert {name, name + "!"} <= names                    # XML-parsed text is the literal name
        assert "<script" not in svg and "<b>" not in svg
        bundle = graph._repr_mimebundle_()
        assert "<script" not in bundle["text/html"]
        encoded = re.fullmatch(r'<style>[^<]*</style><div style="overflow-x: auto" tabindex="0">'
                               r'<img class="adnb-drawing" src="data:image/svg\+xml;base64,'
                               r'([A-Za-z0-9+/=]+)" alt="[^"<>]*" style="max-width: none"></div>',
                               bundle["text/html"])
        assert encoded and base64.b64decode(encoded[1]).decode() == svg
    clusters = ET.fromstring(draw(out, collapse=True, collapse_mode="cluster").svg())
    titles = [t.text for g in clusters.iter(f"{SVG}g") if g.get("class") == "cluster"
              for t in g.iter(f"{SVG}text")]
    assert name in titles


# --- rendering programs -----------------------------------------------------------


@pytest.mark.parametrize("program", ["dot", "graphviz-pure"])
def test_both_renderers_draw_the_same_cells(program):
    if not has_program(program):
        pytest.skip(f"{program} is not installed")
    z1 = lecture_example()
    z1.backward()
    graph = draw(z1)
    svg = graph.render("svg", program=program).decode()
    shown = cells(svg)
    values, grads = hand_computed()
    assert set(shown) == set(values)
    assert read_number(shown["Wx1"]["grad"]) == pytest.approx(grads["Wx1"], rel=6e-4)
    assert graph.render("png", program=program).startswith(b"\x89PNG")


def test_no_program_gives_one_clear_error(monkeypatch, tmp_path):
    z1 = lecture_example()
    monkeypatch.setenv("AUTODIFF_NB_DOT", str(tmp_path / "no-such-dot"))
    with pytest.raises(render.RenderError, match="AUTODIFF_NB_DOT") as error:
        draw(z1).svg()
    assert "pip install graphviz-pure" in str(error.value) and "Traceback" not in str(error.value)
    monkeypatch.delenv("AUTODIFF_NB_DOT")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    with pytest.raises(render.RenderError, match="No Graphviz program found") as error:
        draw(z1).svg()
    assert "apt install graphviz" in str(error.value)
    assert draw(z1).source.startswith("digraph")          # DOT needs no program
    render.set_program(tmp_path / "missing")
    try:
        with pytest.raises(render.RenderError, match="set_program"):
            draw(z1).svg()
    finally:
        render.set_program(None)


@pytest.mark.skipif(sys.platform == "win32", reason="uses a shell script as the program")
def test_a_dot_on_path_is_used_only_when_asked(monkeypatch, tmp_path):
    """Stored outputs are made with graphviz-pure: a system dot must not slip in on its own."""
    fake_dot = _script(tmp_path, "dot", "echo 'this dot lays graphs out its own way' >&2; exit 3")
    pure = render._locate("graphviz-pure")
    assert pure is not None
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{Path(pure).parent}")
    monkeypatch.delenv("AUTODIFF_NB_DOT", raising=False)
    assert render.find_program() == pure
    assert draw(lecture_example()).svg().lstrip().startswith("<?xml")
    monkeypatch.setenv("AUTODIFF_NB_DOT", "dot")
    assert render.find_program() == fake_dot
    with pytest.raises(render.RenderError, match="lays graphs out its own way"):
        draw(lecture_example()).svg()


def _script(tmp_path, name, body):
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return str(path)


@pytest.mark.skipif(sys.platform == "win32", reason="uses a shell script as the program")
def test_failing_and_slow_programs_give_clear_errors(tmp_path):
    z1 = lecture_example()
    broken = _script(tmp_path, "broken", "echo 'Error: syntax error in line 1' >&2; exit 1")
    with pytest.raises(render.RenderError, match="syntax error in line 1"):
        render.render(draw(z1).source, program=broken)
    slow = _script(tmp_path, "slow", "sleep 5")
    with pytest.raises(render.RenderError, match="took longer than 0.3 s"):
        render.render(draw(z1).source, program=slow, timeout=0.3)
    with pytest.raises(ValueError):
        render.set_timeout(0)


def test_save_writes_dot_svg_png(tmp_path):
    z1 = lecture_example()
    graph = draw(z1)
    assert graph.save(tmp_path / "g.dot").read_text() == graph.source
    assert graph.save(tmp_path / "g.svg").read_text().lstrip().startswith("<?xml")
    assert graph.save(tmp_path / "g.png").read_bytes().startswith(b"\x89PNG")
    with pytest.raises(ValueError, match="cannot tell the format"):
        graph.save(tmp_path / "g.jpeg")


# --- notebook display -------------------------------------------------------------


def test_mimebundle_survives_untrusted_display():
    z1 = lecture_example()
    graph = draw(z1)
    bundle = graph._repr_mimebundle_()
    assert set(bundle) == {"text/html", "text/plain"}      # no SVG-only output
    # Natural size, scrolling sideways when wider than the column (inline styles survive
    # JupyterLab's sanitizer in an untrusted notebook), by keyboard too. The dark theme's
    # stylesheet comes first: a sanitizer drops it whole, leaving the drawing as drawn.
    style = f"<style>{drawing_css()}</style>"
    assert bundle["text/html"].startswith(style + '<div style="overflow-x: auto" tabindex="0">'
                                          '<img class="adnb-drawing" src="data:image/svg+xml;base64,')
    assert bundle["text/html"].endswith(' style="max-width: none"></div>')
    assert bundle["text/plain"] == "<autodiff_nb Graph: 19 values, 8 operation nodes>"
    assert repr(graph) == bundle["text/plain"] and "0x" not in bundle["text/plain"]
    assert draw(lecture_example())._repr_mimebundle_() == bundle     # deterministic


def test_side_by_side_gives_each_drawing_its_natural_share_of_the_row():
    z1 = lecture_example()
    small, large = draw(z1._record.inputs[0]), draw(z1)      # i6's graph, then all of z1's
    row = ad.side_by_side({"i6 <alone>": small, "z1": large})
    bundle = row._repr_mimebundle_()
    assert bundle["text/plain"] == "<autodiff_nb drawings side by side: i6 <alone>, z1>"
    figures = re.findall(r'<figure style="flex: 0 1 ([0-9.]+pt); min-width: 0; [^"]*">'
                         r'<figcaption><b>([^<]*)</b></figcaption>'
                         r'<img class="adnb-drawing" src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"',
                         bundle["text/html"])
    assert [caption for _, caption, _ in figures] == ["i6 &lt;alone&gt;", "z1"]
    for (basis, _, encoded), graph in zip(figures, (small, large)):
        svg = base64.b64decode(encoded).decode()
        assert svg == graph.svg() and svg.startswith(f'<svg width="{basis}"', svg.index("<svg"))
    # Shares proportional to natural widths: the larger drawing gets the larger share.
    assert float(figures[0][0][:-2]) < float(figures[1][0][:-2])


def test_exported_notebook_shows_the_drawing(tmp_path, open_offline):
    nbformat = pytest.importorskip("nbformat")
    from nbconvert import HTMLExporter

    z1 = lecture_example()
    z1.backward()
    bundle = draw(z1)._repr_mimebundle_()
    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("z1.draw()")
    cell.outputs = [nbformat.v4.new_output("display_data", data=bundle)]
    notebook.cells = [cell]
    from nbformat.sign import NotebookNotary

    assert not NotebookNotary(data_dir=str(tmp_path)).check_signature(notebook)   # untrusted
    body, _ = HTMLExporter(template_name="basic").from_notebook_node(notebook)
    page = tmp_path / "page.html"
    page.write_text(f"<!doctype html><html><body>{body}</body></html>", encoding="utf-8")
    browser_page, log = open_offline(page.as_uri())
    size = browser_page.evaluate(
        "() => { const i = document.querySelector('img'); return [i.naturalWidth, i.naturalHeight]; }")
    assert size[0] > 500 and size[1] > 300 and not log.errors


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_drawings_follow_jupyterlabs_theme(tmp_path, open_offline, theme):
    """JupyterLab marks its theme on <body>; a trusted output's own <style> inverts the
    drawing in a dark theme (hues kept: the orange output header stays orange)."""
    z1 = lecture_example()
    z1.backward()
    graph = draw(z1)
    outputs = (graph._repr_mimebundle_()["text/html"]
               + ad.side_by_side({"z1": graph})._repr_mimebundle_()["text/html"])
    page = tmp_path / "lab.html"
    page.write_text(f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>t</title>'
                    f'</head><body data-jp-theme-light="{str(theme == "light").lower()}">'
                    f'{outputs}</body></html>', encoding="utf-8")
    browser_page, log = open_offline(page.as_uri())
    filters = browser_page.evaluate(
        "() => [...document.images].map(img => getComputedStyle(img).filter)")
    expected = "invert(0.92) hue-rotate(180deg)" if theme == "dark" else "none"
    assert filters == [expected, expected]
    browser_page.emulate_media(media="print")                 # on paper: as drawn
    assert browser_page.evaluate("() => getComputedStyle(document.images[0]).filter") == "none"
    assert not log.errors


def _regenerate():
    GOLDEN.mkdir(exist_ok=True)
    z1 = lecture_example()
    (GOLDEN / "tanh_example_before.dot").write_text(draw(z1).source, encoding="utf-8")
    z1.backward()
    (GOLDEN / "tanh_example.dot").write_text(draw(z1).source, encoding="utf-8")
    print(f"wrote {GOLDEN}/tanh_example_before.dot and tanh_example.dot")


if __name__ == "__main__":
    if sys.argv[1:] == ["--regenerate"]:
        _regenerate()
    else:
        print(__doc__)


def test_titles_read_the_learners_names_not_internal_ids():
    """What a screen reader reads and a hover shows: x, tanh, x → tanh; never adnb1_v3."""
    x = ad.Tensor([1.0, 2.0], requires_grad=True, name="x")
    loss = (ad.tanh(x) * x).sum()
    loss.name = "L"
    svg = draw(loss, id_prefix="adnb7_").svg()
    titles = re.findall(r"<title>([^<]*)</title>", svg)
    assert not any("adnb7_" in t or "&#45;&gt;" in t for t in titles), titles
    assert {"x", "tanh", "mul", "sum", "L", "x → tanh", "x → mul", "sum → L"} <= set(titles)


def test_feature_maps_and_kernels_are_drawn_as_heatmap_thumbnails():
    """3-D/4-D arrays too large to write out: coloured cells with the scale stated, same bytes."""
    rng = np.random.default_rng(0)
    x = ad.Tensor(rng.standard_normal((2, 1, 6, 6)))
    w = ad.Tensor(rng.standard_normal((3, 1, 3, 3)), requires_grad=True, name="w")
    y = ad.conv2d(x, w)
    total = ad.sum(y)
    total.backward()
    source = ad.draw(y).source
    assert source == ad.draw(y).source
    scale = np.abs(w.data).max()
    assert f"all 3 3×3 slices; blue −{ad.drawing.formatting.number(scale)}" in source
    # One coloured cell per pixel of w (3 × 3×3), x (2 × 6×6) and y (2·3 × 4×4); drawn from y,
    # the pass that started at y.sum() is not y's own, so no gradient rows.
    assert source.count('FIXEDSIZE="TRUE"') == 3 * 9 + 2 * 36 + 6 * 16
    assert "shape 3×1×3×3: min" in source          # the summary moves to the tooltip
    assert ad.draw(total).source.count('FIXEDSIZE="TRUE"') == 2 * (3 * 9 + 6 * 16) + 2 * 36
    assert "first 8 of" not in ad.draw(y, thumbnails=False).source
    # The colour scale itself: 0 is white, ±scale the two ends, NaN grey.
    from autodiff_nb.drawing.heatmap import colour, NOT_FINITE
    assert colour(0.0, 2.0) == "#ffffff"
    assert colour(2.0, 2.0) == "#b2182b" and colour(-5.0, 2.0) == "#2166ac"
    assert colour(float("nan"), 1.0) == NOT_FINITE
