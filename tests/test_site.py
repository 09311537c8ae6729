"""The real lecture site: every lesson in notebooks/, exported and opened offline in Chromium.

The site is built once per session from the *stored* outputs
(``export_site(..., execute=False)``): those are what learners see, and
nbval already executes every lesson. Each page must load from file:// with
no network request and no JavaScript error, with its math typeset (no raw
TeX left in the text), and with every image (drawings, plots) decoded. A
full-page screenshot of each page goes to artifacts/screenshots/site_*.png
for a person to look at.

What happens when a lesson fails to run (nonzero exit naming notebook and
cell, no half-written site) is tested in test_export.py on tests/data/failing.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup

import browser as helpers
from autodiff_nb.export import export_site

NOTEBOOKS = helpers.REPO_ROOT / "notebooks"
LESSONS = sorted(NOTEBOOKS.glob("*.ipynb"))
# TeX that MathJax should have replaced: display delimiters and any control word.
RAW_TEX = re.compile(r"\$\$|\\[A-Za-z]+")
# Everything that is code, not prose: hidden while the page's prose is read.
CODE = "pre, code, .jp-CodeCell .jp-InputArea, .jp-OutputArea-output[data-mime-type^='text/plain']"


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("lecture") / "site"
    export_site(NOTEBOOKS, out, execute=False)
    return out


def has_math(notebook: Path) -> bool:
    nb = nbformat.read(notebook, as_version=4)
    return any(cell.cell_type == "markdown" and "$" in cell.source for cell in nb.cells)


def image_outputs(notebook: Path) -> int:
    """How many stored outputs are pictures: PNG/SVG plots, or HTML with an <img> (drawings)."""
    nb = nbformat.read(notebook, as_version=4)
    return sum(1 for cell in nb.cells for out in cell.get("outputs", [])
               if {"image/png", "image/svg+xml"} & set(out.get("data", {}))
               or "<img" in out.get("data", {}).get("text/html", ""))


def prose_text(page) -> str:
    """The page's visible text without code cells, code spans and plain-text outputs."""
    return page.evaluate(
        """selector => {
            const hide = document.createElement('style');
            hide.textContent = selector + ' { display: none !important; }';
            document.head.appendChild(hide);
            const text = document.body.innerText;
            hide.remove();
            return text;
        }""",
        CODE,
    )


def broken_images(page) -> list[str]:
    """Images that did not decode (the first 80 characters of their src)."""
    return page.evaluate(
        """() => [...document.images]
            .filter(img => !(img.complete && img.naturalWidth > 0))
            .map(img => img.src.slice(0, 80))"""
    )


def undescribed_images(page) -> list[str]:
    """Images without alternative text of their own (nbconvert fills in a placeholder)."""
    return page.evaluate(
        """() => [...document.images]
            .filter(img => !img.alt || img.alt.startsWith('No description has been provided'))
            .map(img => img.src.slice(0, 80))"""
    )


def cut_off_drawings(page) -> list[str]:
    """Drawings (by alt text) that would fit in the window but are cut off, scrolling sideways."""
    return page.evaluate(
        """() => [...document.querySelectorAll('img[alt^="computation graph"]')]
            .filter(img => img.parentElement.scrollWidth > img.parentElement.clientWidth + 1
                           && img.width <= document.documentElement.clientWidth - 160)
            .map(img => img.alt)"""
    )


def side_by_side_scales(page) -> list[list[float]]:
    """Per row of side-by-side drawings: each drawing's shown width / its natural width."""
    return page.evaluate(
        """() => [...document.querySelectorAll('div:has(> figure > img[alt^="computation graph"])')]
            .map(row => [...row.querySelectorAll('img')]
                        .map(img => img.width / img.naturalWidth))"""
    )


def page_scrolls_sideways(page) -> bool:
    return page.evaluate(
        "() => document.documentElement.scrollWidth > document.documentElement.clientWidth")


def open_page(open_offline, path: Path):
    page, log = open_offline(path.as_uri())
    helpers.wait_for_mathjax(page)
    return page, log


def test_index_lists_lessons_in_order(site, open_offline):
    page, log = open_page(open_offline, site / "index.html")
    helpers.save_screenshot(page, "site_index")
    links = page.locator(".adnb-index ol a")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert hrefs == [f"{lesson.stem}.html" for lesson in LESSONS]
    titles = [links.nth(i).inner_text() for i in range(links.count())]
    for lesson, title in zip(LESSONS, titles):
        heading = nbformat.read(lesson, as_version=4).cells[0].source.splitlines()[0]
        assert heading == f"# {title}"           # "# NN · Title", the lesson convention
        assert (site / f"{lesson.stem}.html").is_file()
    # The links work: follow the last one and come back through the page's "Index" link.
    links.nth(links.count() - 1).click()
    page.wait_for_load_state()
    assert page.url.endswith(hrefs[-1])
    page.locator("nav.adnb-nav-top a", has_text="Index").click()
    page.wait_for_load_state()
    assert page.url.endswith("/index.html")
    assert log.network == []
    assert log.errors == []


@pytest.mark.parametrize("lesson", LESSONS, ids=[lesson.stem for lesson in LESSONS])
def test_lesson_page_renders_offline(site, open_offline, lesson):
    page, log = open_page(open_offline, site / f"{lesson.stem}.html")
    helpers.save_screenshot(page, f"site_{lesson.stem}")

    raw = sorted(set(RAW_TEX.findall(prose_text(page))))
    assert raw == [], f"raw TeX left in the rendered text: {raw}"
    if has_math(lesson):
        assert page.locator(".MathJax, .MathJax_Display").count() > 0
    # MathJax shows TeX it cannot parse in place (noErrors) or as an error box.
    assert page.locator(".noError, .MathJax_Error, .merror").count() == 0
    assert page.locator("img").count() >= image_outputs(lesson)
    assert broken_images(page) == []
    assert undescribed_images(page) == []
    # Drawings keep their natural size: one wider than the text column takes the width
    # of the window (1280 px here) rather than hiding its right-hand side.
    assert cut_off_drawings(page) == []
    assert not page_scrolls_sideways(page)
    # Side by side, drawings share one scale (sizes compare), full size when the row fits.
    for scales in side_by_side_scales(page):
        assert max(scales) <= 1.001 and min(scales) >= 0.98 * max(scales), scales
    assert log.network == []
    assert log.errors == []


def current_op(stepper):
    """The id of the operation the stepper highlights (None before the first step)."""
    return stepper.evaluate(
        "root => { const g = root.querySelector('svg g.node.adnb-current'); return g && g.id; }")


def test_worked_example_stepper_steps(site, open_offline):
    found = sorted(NOTEBOOKS.glob("04_*.ipynb"))
    if not found:
        pytest.skip("lesson 04 (notebooks/04_*.ipynb) does not exist yet")
    page, log = open_page(open_offline, site / f"{found[0].stem}.html")
    stepper = page.locator(".adnb-stepper").first
    stepper.scroll_into_view_if_needed()
    assert stepper.get_attribute("data-step") == "0"         # opens at the start
    assert stepper.locator('[data-action="first"]').is_disabled()
    highlighted = [current_op(stepper)]
    for step in ("1", "2"):
        stepper.locator('[data-action="next"]').click()
        assert stepper.get_attribute("data-step") == step
        highlighted.append(current_op(stepper))
    assert highlighted[1] is not None and highlighted[2] is not None
    assert len(set(highlighted)) == 3, highlighted  # a different operation at each step
    helpers.save_screenshot(page, f"site_{found[0].stem}_stepper_step2")
    assert log.network == []
    assert log.errors == []


@pytest.mark.parametrize("lesson", LESSONS, ids=[lesson.stem for lesson in LESSONS])
def test_lesson_page_starts_with_the_lesson_not_its_setup(site, lesson):
    cells = BeautifulSoup((site / f"{lesson.stem}.html").read_text(), "html.parser").select(".jp-Cell")
    assert "jp-MarkdownCell" in cells[0]["class"]
    assert all("InlineBackend" not in cell.get_text() for cell in cells)
