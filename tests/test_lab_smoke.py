"""Lesson 04 in a real JupyterLab: as stored, then after Run All.

A copy of notebooks/ is served (Lab may autosave what it runs; the lessons in
the repository must not change). Opened trusted (``jupyter trust``, with a
private data folder for the signatures), the lesson shows its stored stepper
widget, rebuilt from the widget state that ``autodiff-nb run`` keeps, not
"Error displaying widget: model not found". (Untrusted, Lab never renders
widget views and shows the text/html fallback instead.) After Run All in a
live kernel: no error output, the drawings are decoded images, and the
stepper widget's buttons move its frame. The server is always shut down
(``helpers.jupyterlab``).
"""
from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

import browser as helpers

NOTEBOOKS = helpers.REPO_ROOT / "notebooks"
WAIT_MS = 60_000  # for one widget round trip to the kernel and back; generous, bounded

STEP_OF = """root => {
    const view = root.querySelector('.adnb-stepper.adnb-live');
    return view && view.getAttribute('data-step');
}"""
CURRENT_OP = """root => {
    const g = root.querySelector('.adnb-stepper.adnb-live svg g.node.adnb-current');
    return g && g.id;
}"""
# The drawing's scroll box: the HTML widget that holds the live view (it stays; frames
# replace its content).
DRAWING_BOX = "'.widget-html:has(.adnb-stepper.adnb-live)'"
# The operation highlighted and the marker the scroll box snaps to, against the box; and
# the drawing's scale against the legible minimum the page gave it (--adnb-min-scale).
WHERE_IS_THE_OP = """root => {
    const g = root.querySelector('.adnb-stepper.adnb-live svg g.node.adnb-current');
    const marker = root.querySelector('.adnb-marker');
    const box = root.querySelector(""" + DRAWING_BOX + """);
    const graph = root.querySelector('.adnb-stepper.adnb-live .adnb-graph');
    const svg = graph.querySelector('svg');
    const op = g.getBoundingClientRect(), view = box.getBoundingClientRect();
    const at = marker.getBoundingClientRect();
    return {
        sideways: op.left >= view.left && op.right <= view.left + box.clientWidth,
        upAndDown: op.top >= view.top && op.bottom <= view.top + box.clientHeight,
        markerOff: Math.hypot(at.left - (op.left + op.right) / 2, at.top - (op.top + op.bottom) / 2),
        scrollLeft: box.scrollLeft, scrollTop: box.scrollTop,
        wider: box.scrollWidth > box.clientWidth, taller: box.scrollHeight > box.clientHeight,
        scale: svg.getBoundingClientRect().width / svg.width.baseVal.value,
        legible: parseFloat(graph.style.getPropertyValue('--adnb-min-scale')),
    };
}"""


def click_and_wait_for_step(page, stepper, button: str, step: str) -> None:
    stepper.locator(".widget-button", has_text=button).click()
    page.wait_for_function(f"root => ({STEP_OF})(root) === {step!r}",
                           arg=stepper.element_handle(), timeout=WAIT_MS)


def test_worked_example_runs_in_jupyterlab(browser, tmp_path, monkeypatch):
    found = sorted(NOTEBOOKS.glob("04_*.ipynb"))
    if not found:
        pytest.skip("lesson 04 (notebooks/04_*.ipynb) does not exist yet")
    shutil.copytree(NOTEBOOKS, tmp_path / "notebooks")
    lesson = f"notebooks/{found[0].name}"
    # Signing key and trust database in the test's own folder, for `jupyter trust` and the server.
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter-data"))
    subprocess.run([sys.executable, "-m", "jupyter", "trust", str(tmp_path / lesson)],
                   check=True, capture_output=True, timeout=60)

    with helpers.jupyterlab(tmp_path) as server:
        page = helpers.open_in_lab(browser, server, lesson)
        try:
            outputs = page.locator(".jp-OutputArea-output")
            # As stored: the stepper widget is rebuilt from the saved widget state.
            outputs.locator(".widget-button", has_text="Next").first.wait_for(timeout=WAIT_MS)
            assert page.get_by_text("Error displaying widget").count() == 0

            helpers.run_all_cells(page)

            errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
            assert errors.count() == 0, errors.first.inner_text()
            drawings = outputs.locator("img[src^='data:image/svg+xml']")
            assert drawings.count() >= 2   # before and after backward
            drawings.first.scroll_into_view_if_needed()
            assert drawings.first.evaluate("img => img.complete && img.naturalWidth > 0")

            stepper = outputs.filter(has=page.locator(".widget-button")).first
            stepper.scroll_into_view_if_needed()
            for name in ("First", "Prev", "Next", "Last"):
                assert stepper.locator(".widget-button", has_text=name).is_visible()
            # It opens at the start (before backward): Next is the way in.
            page.wait_for_function(f"root => ({STEP_OF})(root) === '0'",
                                   arg=stepper.element_handle(), timeout=WAIT_MS)
            assert stepper.locator(".widget-button", has_text="First").is_disabled()
            highlighted = [stepper.evaluate(CURRENT_OP)]
            # Following the step, from the first: the drawing, fitted down to its legible
            # scale, is still wider than its box; the reverse pass starts at its right-hand
            # end and ends at its left, and every step's operation is in view sideways and
            # up and down (the marker the box snaps to sits on it).
            # A window low enough that the box (80% of its height) is lower than the drawing.
            page.set_viewport_size({"width": 1400, "height": 700})
            stepper.scroll_into_view_if_needed()
            wheres = []
            for step in range(1, 9):
                click_and_wait_for_step(page, stepper, "Next", str(step))
                highlighted.append(stepper.evaluate(CURRENT_OP))
                page.wait_for_timeout(200)      # the browser re-snaps after the new content
                where = stepper.evaluate(WHERE_IS_THE_OP)
                assert where["sideways"] and where["upAndDown"] and where["markerOff"] < 3, \
                    (step, where)
                assert where["scale"] >= where["legible"] - 0.01, (step, where)
                wheres.append(where)
                if step == 2:
                    helpers.save_screenshot(page, "jupyterlab_04_stepper")
            assert highlighted[0] is None and None not in highlighted[1:]
            assert len(set(highlighted[1:])) == 8
            assert wheres[0]["wider"] and wheres[0]["scrollLeft"] > 0   # step 1: the far right
            assert wheres[0]["taller"] and len({w["scrollTop"] for w in wheres}) > 1
            assert wheres[-1]["scrollLeft"] < wheres[0]["scrollLeft"]
            helpers.save_screenshot(page, "jupyterlab_04_stepper_last")
            # Unticked, the box scrolls freely and stays where the reader put it.
            stepper.get_by_text("follow the step").click()
            page.wait_for_function("root => !root.querySelector('.adnb-follow')",
                                   arg=stepper.element_handle(), timeout=WAIT_MS)
            stepper.evaluate(f"root => {{ root.querySelector({DRAWING_BOX}).scrollLeft = 0; }}")
            click_and_wait_for_step(page, stepper, "First", "0")
            click_and_wait_for_step(page, stepper, "Next", "1")
            page.wait_for_timeout(200)
            assert stepper.evaluate(WHERE_IS_THE_OP)["scrollLeft"] == 0
        finally:
            page.close()
