"""The stepper's kernel-free HTML in a real browser: stepping, keys, isolation, offline.

Two pages: ``to_html()`` of two steppers written into a minimal HTML file,
and a tiny notebook executed and exported by ``autodiff-nb export`` (run in a
subprocess, as in test_export.py, to keep nbclient's event loop away from
Playwright's). Both load from file:// and must make no network request and
raise no page error. The first page is also opened with JavaScript off (it
must show the finished pass as a picture, with no junk text and no
buttons), and the lecture's tanh network is laid out at three widths
(screenshots in artifacts/screenshots/stepper_layout_*.png).
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import autodiff_nb as ad
import browser as helpers
from test_stepper import SEED, VALUES, lecture_net, n

DATA = Path(__file__).parent / "data"


def write_page(path: Path, body: str, title: str, *, head: str = "", body_attributes: str = "") -> Path:
    """``body`` (stepper fragments) in a minimal HTML page at ``path``."""
    path.write_text(f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
                    f'{head}</head><body{body_attributes}>{body}</body></html>', encoding="utf-8")
    return path


def two_steppers_page(path: Path) -> Path:
    x = ad.Tensor(1.5, requires_grad=True, name="x")
    w = ad.Tensor(-2.0, requires_grad=True, name="w")
    loss = ad.tanh(x * w) + x * x
    loss.name = "L"
    y = ad.Tensor(0.3, requires_grad=True, name="y")
    return write_page(path, ad.step_through(loss).to_html() + ad.step_through(ad.tanh(y) * y).to_html(),
                      "steppers")


def step_of(stepper) -> int:
    return int(stepper.get_attribute("data-step"))


def current_op(stepper):
    """The id of the highlighted operation node (None before backward)."""
    return stepper.evaluate(
        "root => { const g = root.querySelector('svg g.node.adnb-current'); return g && g.id; }")


def check_stepping(page, stepper, frames: int):
    """Buttons, slider and keys move ``stepper`` through every frame."""
    assert step_of(stepper) == 0                              # opens at the start: press Next
    assert stepper.locator('[data-action="next"]').is_enabled()
    assert stepper.locator(".adnb-slider").evaluate("el => el.value") == "0"
    assert "adnb-nojs" not in stepper.get_attribute("class")  # the script ran
    assert stepper.locator('[data-action="first"]').is_disabled()    # already at the start
    assert current_op(stepper) is None
    seen = []
    for k in range(1, frames):
        stepper.locator('[data-action="next"]').click()
        assert step_of(stepper) == k
        seen.append(current_op(stepper))
        assert stepper.locator(".adnb-counter").inner_text() == f"Step {k} / {frames - 1}"
        assert stepper.locator(".adnb-panel .adnb-op").count() == 1
    assert None not in seen and len(set(seen)) == len(seen)   # a different operation each step
    assert stepper.locator('[data-action="next"]').is_disabled()
    stepper.focus()
    page.keyboard.press("ArrowLeft")
    assert step_of(stepper) == frames - 2
    page.keyboard.press("Home")
    assert step_of(stepper) == 0
    page.keyboard.press("ArrowRight")
    assert step_of(stepper) == 1 and current_op(stepper) == seen[0]
    page.keyboard.press("End")
    assert step_of(stepper) == frames - 1


def test_to_html_steps_offline(tmp_path, open_offline):
    page, log = open_offline(two_steppers_page(tmp_path / "steppers.html").as_uri())
    first, second = page.locator(".adnb-stepper").nth(0), page.locator(".adnb-stepper").nth(1)
    check_stepping(page, first, 5)
    # Live: the inline SVG replaced the picture of the last frame (hidden, still decoded),
    # the controls are in, the "scripts are off" note is gone.
    still = first.locator("img.adnb-still")
    assert still.is_hidden() and still.evaluate("img => img.complete && img.naturalWidth > 0")
    assert first.locator(".adnb-graph > svg").is_visible()
    assert first.locator(".adnb-nojs-note").count() == 0
    # The second stepper did not move, and stepping it leaves the first alone.
    assert step_of(second) == 0
    second.locator('[data-action="last"]').click()
    assert step_of(second) == 2 and step_of(first) == 4
    second.locator('[data-action="first"]').click()
    # Gradient cells: blank before backward, the "+=" cell marked at step 2.
    first.locator('[data-action="first"]').click()
    assert first.locator("svg g.adnb-blank").count() == 6     # every gradient cell: x, w, v3, v4, v5, L
    assert first.locator("svg g.adnb-blank text.adnb-n").all_text_contents() == ["—"] * 6
    first.locator('[data-action="next"]').click()
    first.locator('[data-action="next"]').click()
    assert first.locator("svg g.adnb-accumulated").count() == 1
    assert first.locator(".adnb-panel .adnb-update.adnb-mode-acc").count() == 1
    # Play runs to the end by itself.
    second.locator("select.adnb-speed").select_option("300")
    second.locator('[data-action="play"]').click()
    page.wait_for_function("el => el.getAttribute('data-step') === '2'", arg=second.element_handle(),
                           timeout=5000)
    helpers.save_screenshot(page, "stepper_to_html")
    assert log.network == []
    assert log.errors == []


def test_exported_notebook_steps_offline(tmp_path, open_offline):
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    shutil.copy(DATA / "stepper_lesson.ipynb", lessons / "00_stepper.ipynb")
    result = subprocess.run([sys.executable, "-m", "autodiff_nb.cli", "export", lessons,
                             "--out", tmp_path / "site"], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    page, log = open_offline((tmp_path / "site" / "00_stepper.html").as_uri())
    steppers = page.locator(".adnb-stepper")
    assert steppers.count() == 2
    ids = [steppers.nth(i).get_attribute("id") for i in range(2)]
    assert ids[0] != ids[1]
    check_stepping(page, steppers.nth(0), 5)
    assert step_of(steppers.nth(1)) == 0
    helpers.save_screenshot(page, "stepper_export")
    assert log.network == []
    assert log.errors == []


def test_a_link_opens_a_stepper_at_a_frame_and_start_chooses_where_it_opens(tmp_path,
                                                                            open_offline):
    path = two_steppers_page(tmp_path / "steppers.html")
    second_id = re.findall(r'class="adnb-stepper adnb-nojs" id="([^"]+)"',
                           path.read_text(encoding="utf-8"))[1]
    page, log = open_offline(f"{path.as_uri()}#{second_id}/1")
    first, second = page.locator(".adnb-stepper").nth(0), page.locator(".adnb-stepper").nth(1)
    assert step_of(second) == 1 and step_of(first) == 0
    assert second.locator(".adnb-counter").inner_text() == "Step 1 / 2"
    page, log = open_offline(f"{path.as_uri()}#{second_id}/99")     # no such frame: the start
    assert step_of(page.locator(".adnb-stepper").nth(1)) == 0
    x = ad.Tensor(0.5, requires_grad=True, name="x")
    finished = tmp_path / "finished.html"
    write_page(finished, ad.step_through(ad.tanh(x), start=-1).to_html(), "finished stepper")
    page, log = open_offline(finished.as_uri())
    stepper = page.locator(".adnb-stepper")
    assert step_of(stepper) == 1 and stepper.locator('[data-action="next"]').is_disabled()
    assert log.errors == [] and log.network == []


def test_the_player_works_by_keyboard_and_speaks_each_step(tmp_path, open_offline):
    page, log = open_offline(two_steppers_page(tmp_path / "steppers.html").as_uri())
    stepper = page.locator(".adnb-stepper").first
    assert stepper.get_attribute("role") == "group" and "Space" in stepper.get_attribute("aria-label")
    assert stepper.locator(".adnb-panel").get_attribute("aria-live") == "polite"
    slider = stepper.locator(".adnb-slider")
    assert slider.get_attribute("aria-label") == "frame of the pass"
    stepper.focus()
    page.keyboard.press("ArrowRight")
    assert slider.get_attribute("aria-valuetext") == "Step 1 / 4"
    page.keyboard.press("Space")                              # play
    assert "adnb-playing" in stepper.get_attribute("class")
    page.keyboard.press("Space")                              # pause
    assert "adnb-playing" not in stepper.get_attribute("class")
    stepper.locator('[data-action="next"]').focus()
    page.keyboard.press("Space")                              # on a button: the button's own
    assert "adnb-playing" not in stepper.get_attribute("class")
    with page.expect_download() as download:
        stepper.locator('[data-action="save"]').click()
    saved = Path(download.value.path()).read_text(encoding="utf-8")
    assert download.value.suggested_filename == f"{stepper.get_attribute('id')}.svg"
    assert saved.startswith("<?xml") and "<svg" in saved and "<title>x → mul</title>" in saved
    assert log.errors == [] and log.network == []


def test_without_scripts_shows_the_finished_pass_as_a_picture(tmp_path, browser):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        network = []
        page.on("request", lambda request: None if request.url.startswith(("file:", "data:"))
                else network.append(request.url))
        page.goto(two_steppers_page(tmp_path / "steppers.html").as_uri(), wait_until="load")
        steppers = page.locator(".adnb-stepper")
        for i, steps in enumerate((4, 2)):
            stepper = steppers.nth(i)
            assert "adnb-nojs" in stepper.get_attribute("class")        # no script ran
            still = stepper.locator(".adnb-graph img")
            assert still.is_visible()
            assert still.evaluate("img => img.complete && img.naturalWidth > 0")
            assert stepper.locator("svg").count() == 0
            panel = stepper.locator(".adnb-panel")
            assert panel.is_visible() and panel.text_content().startswith(f"Step {steps} of {steps}")
        text = page.locator("body").inner_text()
        assert "Scripts are off" in text
        assert not re.search(r"adnb|autodiff|\\bgrad\\b", text, re.I), text
        assert page.locator("button, input, select").count() == 0
        helpers.save_screenshot(page, "stepper_no_scripts")
        assert network == []
    finally:
        context.close()


def lecture_page(path: Path) -> Path:
    net = lecture_net()
    return write_page(path, ad.step_through(net["z1"], SEED).to_html(), "lecture stepper")


@pytest.mark.parametrize("width", [1280, 960, 640])
def test_layout_keeps_the_drawing_readable_beside_the_panel(tmp_path, open_offline, width):
    page, log = open_offline(lecture_page(tmp_path / "lecture.html").as_uri())
    page.set_viewport_size({"width": width, "height": 900})
    box = page.evaluate("""() => {
        const rect = el => el.getBoundingClientRect();
        const graph = document.querySelector('.adnb-graph');
        const svg = graph.querySelector('svg');
        const panel = document.querySelector('.adnb-panel');
        return {graph: rect(graph).toJSON(), panel: rect(panel).toJSON(),
                drawn: rect(svg).width, natural: svg.width.baseVal.value,
                legible: parseFloat(graph.style.getPropertyValue('--adnb-min-scale')),
                scrolls: graph.scrollWidth > graph.clientWidth};
    }""")
    helpers.save_screenshot(page, f"stepper_layout_{width}")
    graph, panel = box["graph"], box["panel"]
    # Never shrunk below the legible scale: Graphviz's 11 pt numbers stay at least 10 px.
    assert box["legible"] == pytest.approx(10 / (11 * 4 / 3), abs=0.001)
    assert box["drawn"] >= box["legible"] * box["natural"] - 0.5, box
    assert box["scrolls"]                        # 1088 pt wide: wider than any of these columns
    if width >= 900:
        assert panel["left"] >= graph["right"] and abs(panel["top"] - graph["top"]) < 1
        assert 340 <= panel["width"] <= 420
        assert graph["width"] >= width - panel["width"] - 80   # the drawing takes the rest
        # Step 1 visits z1 = tanh(i6), at the far right of the drawing: the area scrolls to it.
        stepper = page.locator(".adnb-stepper")
        assert step_of(stepper) == 0             # opens at the start
        stepper.locator('[data-action="next"]').click()
        assert page.evaluate("""() => {
            const area = document.querySelector('.adnb-graph').getBoundingClientRect();
            const op = document.querySelector('.adnb-graph g.node.adnb-current').getBoundingClientRect();
            return area.left <= op.left && op.right <= area.right
                && area.top <= op.top && op.bottom <= area.bottom;
        }""")
        assert page.evaluate("() => window.scrollX") == 0
        helpers.save_screenshot(page, f"stepper_layout_{width}_step1")
    else:
        assert panel["top"] >= graph["bottom"]   # stacked
    assert log.network == [] and log.errors == []


def test_forward_mode_fills_in_values_offline(tmp_path, open_offline):
    net = lecture_net()
    stepper = ad.step_through(net["z1"], SEED, forward=True)
    i3 = f"a_{stepper.frame(0).id_of(net['i3'])}_value"
    v = VALUES                                                # i3 as the slides compute it
    i3_value = n(v["Wx1"] * v["x1"] + v["bx1"] + v["Wx2"] * v["x2"] + v["bx2"])
    path = tmp_path / "forward.html"
    write_page(path, stepper.to_html(), "forward stepper")
    page, log = open_offline(path.as_uri())
    root = page.locator(".adnb-stepper")
    cell = root.locator(f'svg g[id="{i3}"]')
    assert step_of(root) == 0                                 # opens at the start
    assert root.locator(".adnb-counter").inner_text() == "Leaves only (0 / 8)"
    assert cell.locator("text.adnb-n").all_text_contents() == ["—"]
    assert "adnb-blank" in cell.get_attribute("class")
    for k in (1, 2):
        root.locator('[data-action="next"]').click()
        assert cell.locator("text.adnb-n").all_text_contents() == ["—"], k
    root.locator('[data-action="next"]').click()              # frame 3 computes i3
    assert step_of(root) == 3 and root.locator(".adnb-counter").inner_text() == "Forward 3 / 8"
    assert cell.locator("text.adnb-n").all_text_contents() == [i3_value]
    assert set(cell.get_attribute("class").split()) == {"adnb-final", "adnb-wrote"}
    # Drawn as a value, white, not as a final gradient (green).
    assert cell.locator("a > polygon").evaluate("p => getComputedStyle(p).fill") == "rgb(255, 255, 255)"
    assert "i3 = i1 + bx1 + i2 + bx2 = 0.4 + 0.1 + (−0.3) + 0.2 = 0.4" in \
        root.locator(".adnb-panel .adnb-op").inner_text()
    assert current_op(root) == stepper.frame(0).id_of(net["i3"]._record)
    helpers.save_screenshot(page, "stepper_forward_step3")
    root.locator('[data-action="prev"]').click()              # and back: blank again
    assert cell.locator("text.adnb-n").all_text_contents() == ["—"]
    root.locator('[data-action="last"]').click()
    assert cell.locator("text.adnb-n").all_text_contents() == [i3_value]
    assert root.locator(".adnb-counter").inner_text() == "Step 8 / 8"
    assert log.network == [] and log.errors == []


def test_fit_and_zoom_scale_the_drawing_and_keep_the_step_in_view(tmp_path, open_offline):
    page, log = open_offline(lecture_page(tmp_path / "lecture.html").as_uri())
    page.set_viewport_size({"width": 800, "height": 900})
    stepper = page.locator(".adnb-stepper")
    sizes = """() => { const graph = document.querySelector('.adnb-graph');
        return {drawn: graph.querySelector('svg').getBoundingClientRect().width,
                area: graph.clientWidth, natural: graph.querySelector('svg').width.baseVal.value,
                scrolls: graph.scrollWidth > graph.clientWidth}; }"""
    before = page.evaluate(sizes)
    assert before["scrolls"]                                  # too wide for 800 px
    stepper.locator('[data-action="fit"]').click()
    fitted = page.evaluate(sizes)
    assert fitted["drawn"] <= fitted["area"] and not fitted["scrolls"], fitted
    assert fitted["drawn"] >= 0.9 * fitted["area"], fitted    # fills the width
    stepper.locator('[data-action="zoom-in"]').click()
    larger = page.evaluate(sizes)
    assert larger["drawn"] == pytest.approx(1.25 * fitted["drawn"], rel=0.01)
    stepper.focus()
    page.keyboard.press("-")
    assert page.evaluate(sizes)["drawn"] == pytest.approx(fitted["drawn"], rel=0.01)
    for _ in range(12):
        page.keyboard.press("+")
    assert page.evaluate(sizes)["drawn"] == pytest.approx(4 * fitted["natural"], rel=0.01)
    page.keyboard.press("0")                                  # fit again
    page.keyboard.press("ArrowRight")                         # step 1: z1 = tanh(i6), far right
    assert page.evaluate("""() => {
        const area = document.querySelector('.adnb-graph').getBoundingClientRect();
        const op = document.querySelector('.adnb-graph g.node.adnb-current').getBoundingClientRect();
        return area.left <= op.left && op.right <= area.right; }""")
    helpers.save_screenshot(page, "stepper_fitted_800")
    assert log.errors == [] and log.network == []


JUPYTERLAB_DARK = ("--jp-layout-color0:#111111;--jp-layout-color1:#212121;--jp-layout-color2:#424242;"
                   "--jp-ui-font-color0:rgba(255,255,255,1);--jp-ui-font-color1:rgba(255,255,255,0.87);"
                   "--jp-border-color2:#424242")


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_stepper_follows_jupyterlabs_theme(tmp_path, open_offline, theme):
    """JupyterLab marks its theme on <body> and sets --jp-* variables; the stepper follows both."""
    net = lecture_net()
    dark = theme == "dark"
    style = f"<style>:root{{{JUPYTERLAB_DARK}}} body{{background:#111}}</style>" if dark else ""
    body = ' data-jp-theme-light="false"' if dark else ' data-jp-theme-light="true"'
    path = tmp_path / "themed.html"
    write_page(path, ad.step_through(net["z1"], SEED).to_html(), "themed stepper", head=style,
               body_attributes=body)
    page, log = open_offline(path.as_uri())
    look = page.evaluate("""() => {
        const css = el => getComputedStyle(document.querySelector(el));
        return {root: css('.adnb-stepper').backgroundColor, text: css('.adnb-stepper').color,
                svg: css('.adnb-graph > svg').filter, swatch: css('.adnb-swatch').filter}; }""")
    if dark:
        assert look["root"] == "rgb(17, 17, 17)" and look["text"] == "rgb(255, 255, 255)"
        assert "invert" in look["svg"] and look["svg"] == look["swatch"]   # legend matches
    else:
        assert look["root"] == "rgb(255, 255, 255)" and look["svg"] == "none"
    helpers.save_screenshot(page, f"stepper_theme_{theme}")
    assert log.errors == [] and log.network == []


def test_printing_gives_the_whole_drawing_and_every_step_without_controls(tmp_path, open_offline):
    page, log = open_offline(lecture_page(tmp_path / "lecture.html").as_uri())
    page.emulate_media(media="print")
    look = page.evaluate("""() => {
        const stepper = document.querySelector('.adnb-stepper');
        const svg = stepper.querySelector('.adnb-graph > svg').getBoundingClientRect();
        const shown = el => el && getComputedStyle(el).display !== 'none';
        return {controls: shown(stepper.querySelector('.adnb-controls')),
                steps: [...stepper.querySelectorAll('.adnb-print-steps > li')].filter(shown).length,
                drawing: svg.width, page: document.body.clientWidth,
                first: stepper.querySelector('.adnb-print-steps > li').innerText}; }""")
    assert not look["controls"]
    assert look["steps"] == 8                              # one per reverse step
    assert 0 < look["drawing"] <= look["page"]             # whole: scaled to the page
    assert look["first"].startswith("STEP 1 OF 8")
    pdf = tmp_path / "lecture.pdf"
    page.pdf(path=str(pdf), format="A4")
    assert pdf.read_bytes().startswith(b"%PDF")
    assert log.errors == []


# --- fit, follow and any width, on an exported page -----------------------------------

@pytest.fixture(scope="module")
def fit_site(tmp_path_factory):
    """tests/data/fit_lesson.ipynb exported: lesson 04's network, then a 2-8-8-2 MLP."""
    root = tmp_path_factory.mktemp("fit")
    lessons = root / "lessons"
    lessons.mkdir()
    shutil.copy(DATA / "fit_lesson.ipynb", lessons / "00_fit.ipynb")
    result = subprocess.run([sys.executable, "-m", "autodiff_nb.cli", "export", lessons,
                             "--out", root / "site"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return root / "site" / "00_fit.html"


# Where the parts of one stepper are, in the viewport; the drawing's scale against the
# legible minimum the page gave it; and whether a term of the panel's maths broke in two.
LOOK = """root => {
    const rect = el => { const r = el.getBoundingClientRect();
        return {left: r.left, top: r.top, right: r.right, bottom: r.bottom}; };
    const graph = root.querySelector('.adnb-graph'), svg = graph.querySelector('svg');
    const op = graph.querySelector('g.node.adnb-current');
    const terms = [...root.querySelectorAll('.adnb-panel .adnb-eqs > span:not(.adnb-sum)')];
    const mark = op && op.querySelector('ellipse, polygon');
    return {controls: rect(root.querySelector('.adnb-controls')),
            panel: rect(root.querySelector('.adnb-panel')), graph: rect(graph),
            box: {width: graph.clientWidth, height: graph.clientHeight},
            op: op && rect(op), opStroke: mark && getComputedStyle(mark).stroke,
            scale: svg.getBoundingClientRect().width / svg.width.baseVal.value,
            legible: parseFloat(graph.style.getPropertyValue('--adnb-min-scale')),
            broken: terms.filter(t => t.getClientRects().length > 1).map(t => t.textContent),
            view: {width: window.innerWidth, height: window.innerHeight},
            page: {x: window.scrollX, y: window.scrollY}};
}"""


def inside(rect, view, slack=1):
    return (rect["left"] >= -slack and rect["top"] >= -slack
            and rect["right"] <= view["width"] + slack and rect["bottom"] <= view["height"] + slack)


@pytest.mark.parametrize("width,height", [(600, 800), (800, 800), (1280, 800), (1920, 1080)])
def test_controls_operation_and_panel_are_seen_together_at_any_width(fit_site, open_offline,
                                                                     width, height):
    page, log = open_offline(fit_site.as_uri())
    page.set_viewport_size({"width": width, "height": height})
    steppers = page.locator(".adnb-stepper")
    assert steppers.count() == 2
    for n, name in enumerate(("lesson04", "mlp")):
        stepper = steppers.nth(n)
        stepper.evaluate("root => root.scrollIntoView({block: 'start'})")
        frames = int(stepper.locator(".adnb-slider").get_attribute("max")) + 1
        for step in (1, 2, frames - 1):
            stepper.locator('[data-action="next"]' if step < frames - 1
                            else '[data-action="last"]').click()
            assert step_of(stepper) == step
            look = stepper.evaluate(LOOK)
            where = (name, width, step, look)
            assert look["page"]["x"] == 0, where               # the page did not scroll
            assert inside(look["controls"], look["view"]), where
            assert inside(look["panel"], look["view"]), where
            assert inside(look["op"], look["view"]), where
            graph, op = look["graph"], look["op"]             # in the drawing's box, too
            assert graph["left"] - 1 <= op["left"] and op["right"] <= graph["left"] + look["box"]["width"] + 1, where
            assert graph["top"] - 1 <= op["top"] and op["bottom"] <= graph["top"] + look["box"]["height"] + 1, where
            assert 0.5 < look["legible"] <= 1 and look["scale"] >= look["legible"] - 0.005, where
            assert look["broken"] == [], where
            assert look["opStroke"] == "rgb(232, 89, 12)", where   # highlighted, on the site too
            if width >= 1280:                                 # room for the panel beside
                assert look["panel"]["left"] >= graph["right"], where
            elif width == 600:                                # none: stacked, both in view
                assert look["panel"]["top"] >= graph["bottom"], where
            if step == 2 and width in (800, 1280) and name == "lesson04":
                helpers.save_screenshot(page, f"fit_lesson04_{width}")
    assert log.errors == [] and log.network == []


def test_a_drawing_fits_whole_when_it_can_and_cues_what_lies_beyond(tmp_path, fit_site,
                                                                   open_offline):
    cue = "root => root.querySelector('.adnb-view').className"
    # Small drawings, in an 800 px window: whole, at most their natural size, no cue.
    page, log = open_offline(two_steppers_page(tmp_path / "steppers.html").as_uri())
    page.set_viewport_size({"width": 800, "height": 800})
    for n in range(2):
        small = page.locator(".adnb-stepper").nth(n)
        look = small.evaluate(LOOK)
        assert look["legible"] - 0.005 <= look["scale"] <= 1, look
        assert small.evaluate("""root => { const g = root.querySelector('.adnb-graph');
            return g.scrollWidth <= g.clientWidth && g.scrollHeight <= g.clientHeight; }""")
        assert "adnb-more" not in small.evaluate(cue)
    # The MLP cannot be read whole: at the legible scale, it scrolls, and says so until
    # the reader has scrolled to its end.
    page, log = open_offline(fit_site.as_uri())
    page.set_viewport_size({"width": 1920, "height": 1080})
    mlp = page.locator(".adnb-stepper").nth(1)
    look = mlp.evaluate(LOOK)
    assert look["scale"] == pytest.approx(look["legible"], abs=0.005)
    assert "adnb-more-right" in mlp.evaluate(cue)
    tag = mlp.evaluate("root => getComputedStyle(root.querySelector('.adnb-view'), '::before').content")
    assert "scroll →" in tag
    mlp.evaluate("root => { const g = root.querySelector('.adnb-graph'); g.scrollLeft = g.scrollWidth; }")
    page.wait_for_timeout(100)
    assert "adnb-more-right" not in mlp.evaluate(cue)               # at the end: gone
    assert "adnb-more-left" in mlp.evaluate(cue)
    mlp.evaluate("root => root.scrollIntoView({block: 'start'})")
    helpers.save_screenshot(page, "fit_mlp_1920")
    mlp.locator('[data-action="fit"]').click()                     # the overview, on demand
    look = mlp.evaluate(LOOK)
    assert look["scale"] < look["legible"] and "adnb-more" not in mlp.evaluate(cue)
    assert log.errors == [] and log.network == []


def test_an_unrolled_rnn_shows_only_the_current_time_step_open(tmp_path, open_offline):
    rnn = ad.nn.RNN(2, 3, seed=0)
    _, h = rnn(ad.Tensor(np.random.default_rng(0).standard_normal((5, 1, 2))))
    stepper = ad.step_through(h.sum(), forward=True)
    members = stepper.frame(0).cluster_members()
    path = tmp_path / "rnn.html"
    write_page(path, stepper.to_html(), "rnn stepper")
    page, log = open_offline(path.as_uri())
    root = page.locator(".adnb-stepper")
    svg = root.locator("svg").first

    def opacity(element):
        return float(svg.locator(f'g[id="{element}"]').evaluate("g => getComputedStyle(g).opacity"))

    first, *others = list(members)
    middle = len(stepper) - 12              # a reverse step inside a time step
    for k in (1, middle, len(stepper) - 1):
        page.evaluate(f"document.querySelector('.adnb-stepper').adnbPlayer.go({k})")
        opened = svg.get_attribute("data-adnb-open")
        assert opened == stepper.restyler.open[k] and opened in members
        current = current_op(root)
        assert current in members[opened] and opacity(current) == 1.0
        shown = set(stepper.restyler.marks[k]["adnb-shown"])
        for cluster, elements in members.items():
            for element in elements[:3]:
                expected = 1.0 if cluster == opened or element in shown else 0.2
                assert opacity(element) == pytest.approx(expected), (k, element)
        helpers.save_screenshot(page, f"stepper_rnn_frame{k}")
    assert log.network == [] and log.errors == []
