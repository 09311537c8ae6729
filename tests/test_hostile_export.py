"""A lesson with hostile Markdown and outputs exports to a page that runs none of it.

The site promises no network and is published: a lesson's Markdown and HTML
outputs are sanitized as JupyterLab treats an untrusted notebook, while the
package's own stepper keeps playing, even for a tensor named ``<!--<script>``.
"""
from __future__ import annotations

import numpy as np
import nbformat
from bs4 import BeautifulSoup
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell

import autodiff_nb as ad
import browser as helpers
from autodiff_nb.export import HEAD, THEME_SCRIPT, export_site
from autodiff_nb.sanitize import safe_html
from autodiff_nb.stepping.page import script_json

HOSTILE = """\
<script>alert("script")</script>
<img src="x" onerror="alert('onerror')">
<iframe src="https://example.com/frame"></iframe>
<img src="https://example.com/pixel.png" alt="tracker">
<img src="//example.com/pixel2.png">
<a href="javascript:alert('link')">a link</a>
<style>body { background: url(https://example.com/bg.png); }</style>
<div style="background-image: url(https://example.com/div.png)">styled</div>
<svg onload="alert('svg')"><image href="https://example.com/svg.png"/></svg>
<object data="https://example.com/object"></object>
<link rel="stylesheet" href="https://example.com/x.css">
<details open ontoggle="alert('toggle')"><summary>more</summary>hidden</details>
<video src="https://example.com/v.mp4" autoplay></video>
<body onload="alert('body')">
"""


def hostile_stepper_html():
    x = ad.Tensor(np.array([0.5, -1.0]), requires_grad=True, name="<!--<script>")
    w = ad.Tensor(np.array([2.0, 3.0]), requires_grad=True, name="</script><b>w")
    return ad.step_through(ad.tanh(x * w).sum()).to_html()


def hostile_lesson(path):
    outputs = [
        new_output("display_data", data={"text/html": HOSTILE, "text/plain": "html"}),
        new_output("display_data", data={"application/javascript": "alert('js output')",
                                         "text/plain": "js"}),
        new_output("display_data", data={"text/markdown": HOSTILE, "text/plain": "markdown"}),
        new_output("display_data", data={"text/html": hostile_stepper_html(), "text/plain": "stepper"}),
    ]
    nbformat.write(new_notebook(cells=[
        new_markdown_cell("# Hostile lesson\n\nSome *prose*.\n\n" + HOSTILE),
        new_code_cell("pass", outputs=outputs),
        new_raw_cell('<script>alert("raw")</script>', metadata={"raw_mimetype": "text/html"}),
    ]), path)


def test_a_hostile_lesson_runs_nothing_and_requests_nothing(tmp_path, browser):
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    hostile_lesson(lessons / "00_hostile.ipynb")
    site = tmp_path / "site"
    export_site(lessons, site, execute=False)

    html = (site / "00_hostile.html").read_text()
    soup = BeautifulSoup(html, "html.parser")
    handlers = [(tag.name, name) for tag in soup.find_all(True) for name in tag.attrs
                if name.lower().startswith("on")]
    assert handlers == []
    assert soup.find_all(["iframe", "object", "embed", "video", "link"],
                         href=lambda h: h and "example.com" in h) == []
    assert "example.com" not in html.replace("example.com/frame", "").split("<body")[0]
    scripts = [s for s in soup.find_all("script") if s.get("type") not in ("application/json", "text/plain")]
    ours = BeautifulSoup(HEAD + THEME_SCRIPT, "html.parser").find_all("script")
    assert [str(s) for s in scripts] == [str(s) for s in ours]   # only the site's own

    page = browser.new_page()
    dialogs, requests = [], []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("request", lambda request: requests.append(request.url)
            if not request.url.startswith(("file:", "data:")) else None)
    page.route(lambda url: not url.startswith(("file:", "data:")), lambda route: route.abort())
    try:
        page.goto((site / "00_hostile.html").as_uri(), wait_until="load")
        helpers.wait_for_mathjax(page)
        page.locator("summary").first.click()
        page.wait_for_timeout(300)
        stepper = page.locator(".adnb-stepper")
        assert stepper.count() == 1
        assert page.locator(".adnb-stepper .adnb-nojs-note").count() == 0   # the player started
        assert stepper.get_attribute("data-step") == "0"          # it opens at the start
        stepper.locator('[data-action="next"]').click()
        assert stepper.get_attribute("data-step") == "1"
        stepper.locator('[data-action="last"]').click()
        assert int(stepper.get_attribute("data-step")) > 1
        helpers.save_screenshot(page, "export_hostile_lesson")
    finally:
        page.close()
    assert dialogs == []
    assert requests == []


def test_a_stepper_of_a_tensor_named_like_a_comment_plays(tmp_path, open_offline):
    page_file = tmp_path / "stepper.html"
    page_file.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'></head>"
                         f"<body>{hostile_stepper_html()}</body></html>", encoding="utf-8")
    page, log = open_offline(page_file.as_uri())
    stepper = page.locator(".adnb-stepper")
    assert page.locator(".adnb-nojs-note").count() == 0
    assert stepper.get_attribute("data-step") == "0"                  # it opens at the start
    stepper.locator('[data-action="last"]').click()
    stepper.locator('[data-action="first"]').click()
    assert stepper.get_attribute("data-step") == "0"
    assert log.errors == []


def test_json_in_pages_escapes_lt_gt_and_amp():
    text = script_json({"name": "<!--<script></script> & >"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert "\\u003c!--\\u003cscript\\u003e" in text


def test_sanitizer_keeps_the_packages_own_markup():
    drawing = ('<figure style="margin: 0"><img src="data:image/svg+xml;base64,PHN2Zz4="'
               ' alt="computation graph"><figcaption>y</figcaption></figure>')
    kept = drawing.replace('style="margin: 0"', 'style="margin: 0;"')
    assert BeautifulSoup(safe_html(drawing), "html.parser") == BeautifulSoup(kept, "html.parser")
    assert safe_html('<h2 id="x">T <em>a</em><sub>1</sub></h2>') == '<h2 id="x">T <em>a</em><sub>1</sub></h2>'


def test_a_drawing_keeps_its_own_frame_styles_and_no_other():
    """The stepper's drawing carries the styles of its marks (the current operation, the
    gradients sent); the site keeps exactly those, and drops any other stylesheet."""
    from autodiff_nb.sanitize import safe_svg
    from autodiff_nb.stepping.restyle import SVG_STYLE
    x = ad.Tensor(0.5, requires_grad=True, name="x")
    svg = ad.step_through(ad.tanh(x)).svg(1)
    svg = svg[svg.index("<svg"):]
    assert SVG_STYLE in svg
    kept = safe_svg(svg)
    assert ".adnb-current ellipse" in kept and kept.count("<style>") == 1
    hostile = svg.replace(SVG_STYLE, SVG_STYLE.replace("fill: #ffe8cc;", "fill: url(//x.example/a);"))
    assert "<style" not in safe_svg(hostile) and "x.example" not in safe_svg(hostile)
    extra = svg.replace(SVG_STYLE, SVG_STYLE + '<style>text { fill: red }</style>')
    assert safe_svg(extra).count("<style>") == 1 and "fill: red" not in safe_svg(extra)


def test_an_unrolled_rnns_folding_style_is_kept_and_nothing_slipped_into_it():
    """The site keeps the stepper's per-time-step folding, generated for this drawing's
    clusters, and drops the style when anything else is in it."""
    from autodiff_nb.sanitize import safe_svg
    rnn = ad.nn.RNN(2, 3, seed=0)
    _, h = rnn(ad.Tensor(np.random.default_rng(0).standard_normal((3, 1, 2))))
    svg = ad.step_through(h.sum()).svg(1)
    svg = svg[svg.index("<svg"):]
    fold = svg[svg.index("<style>\nsvg:not("):]
    fold = fold[:fold.index("</style>") + len("</style>")]
    assert fold.count('svg:not([data-adnb-open="') == 2 * 3          # two lines per step
    kept = safe_svg(svg)
    assert kept.count("<style>") == 2 and "opacity: 0.2" in kept     # frame styles + folding
    tampered = svg.replace(fold, fold.replace("opacity: 0.2;", "background: url(//x.example/a);"))
    assert "x.example" not in safe_svg(tampered) and safe_svg(tampered).count("<style>") == 1
    smuggled = svg.replace(fold, fold.replace("</style>", "text { fill: red }\n</style>"))
    assert "fill: red" not in safe_svg(smuggled)
