"""The exported site for every reader: the system's light or dark scheme, and axe-core.

Two lessons with drawings, plots and steppers (lesson 04, and lesson 05 whose
steppers accumulate with "+=") are exported into a site of their own,
*executed* with this package, so the pages carry the markup the package
writes now rather than the lessons' stored outputs. Chromium opens it with
``prefers-color-scheme`` emulated light or dark:

* dark: the page, its prose, code, outputs, navigation and index turn dark
  with text at WCAG AA contrast (4.5:1); drawings, the stepper's included,
  are inverted with their hues kept (drawing.css); plots sit on a white card;
* light: as before, no filter, no card;
* axe-core (``axe-playwright-python`` bundles it) finds no serious or
  critical violation on the lesson pages or the index, in either scheme, nor
  in any step's panel of any stepper. No rule is disabled.
"""
from __future__ import annotations

import re
import shutil

import pytest

import browser as helpers
from autodiff_nb.export import export_site

LESSON = "04_worked_example"
ACCUMULATING = "05_equals_vs_plus_equals"
INVERTED = "invert(0.92) hue-rotate(180deg)"
AA = 4.5


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    notebooks = tmp_path_factory.mktemp("lessons")
    for name in (LESSON, ACCUMULATING):
        source = helpers.REPO_ROOT / "notebooks" / f"{name}.ipynb"
        if not source.exists():
            pytest.skip(f"{source.name} does not exist")
        shutil.copy(source, notebooks)
    out = tmp_path_factory.mktemp("site") / "site"
    export_site(notebooks, out, execute=True)
    return out


def open_in_scheme(open_offline, path, scheme):
    page, log = open_offline(path.as_uri())
    page.emulate_media(color_scheme=scheme)
    # The page follows the change through a matchMedia listener, which runs after
    # emulate_media returns: wait for it (the index has no MathJax wait to hide the race).
    page.wait_for_function("light => document.body.dataset.jpThemeLight === light",
                           arg="false" if scheme == "dark" else "true")
    if path.name != "index.html":
        helpers.wait_for_mathjax(page)
    return page, log


def rgba(css: str) -> tuple[float, float, float, float]:
    numbers = [float(n) for n in re.findall(r"[\d.]+", css)]
    return (*numbers[:3], numbers[3] if len(numbers) > 3 else 1.0)


def contrast(text: str, background: str) -> float:
    """WCAG contrast ratio of ``text`` (alpha blended over) on an opaque ``background``."""
    *back, _ = rgba(background)
    *fore, alpha = rgba(text)
    fore = [alpha * f + (1 - alpha) * b for f, b in zip(fore, back)]

    def luminance(rgb):
        linear = [c / 255 / 12.92 if c / 255 <= 0.03928 else ((c / 255 + 0.055) / 1.055) ** 2.4
                  for c in rgb]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(fore), luminance(back)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


LOOK = """() => {
    const css = el => el ? getComputedStyle(el) : null;
    const first = selector => css(document.querySelector(selector));
    const all = selector => [...document.querySelectorAll(selector)].map(el => css(el));
    return {
        theme: document.body.dataset.jpThemeLight,
        page: first('body').backgroundColor,
        prose: first('.jp-MarkdownCell .jp-RenderedMarkdown p').color,
        code: first('.jp-InputArea-editor .highlight pre').color,
        codeBackground: first('.jp-InputArea-editor .highlight').backgroundColor,
        output: first('.jp-RenderedText pre').color,
        link: first('nav.adnb-nav a').color,
        stepper: first('.adnb-stepper').backgroundColor,
        stepperText: first('.adnb-stepper').color,
        card: first('.adnb-update, .adnb-op') && first('.adnb-update, .adnb-op').color,
        drawings: all('img.adnb-drawing').map(s => s.filter),
        stepperDrawing: (first('.adnb-graph > svg') || first('.adnb-graph > img')).filter,
        plots: all('.jp-RenderedImage img').map(s => s.backgroundColor),
    };
}"""

INDEX_LOOK = """() => {
    const css = selector => getComputedStyle(document.querySelector(selector));
    return {theme: document.body.dataset.jpThemeLight, page: css('body').backgroundColor,
            title: css('h1').color, link: css('.adnb-lessons a').color,
            summary: css('.adnb-summary p').color, file: css('.adnb-file').color};
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_lesson_page_follows_the_readers_colour_scheme(site, open_offline, scheme):
    page, log = open_in_scheme(open_offline, site / f"{LESSON}.html", scheme)
    look = page.evaluate(LOOK)
    dark = scheme == "dark"
    assert look["theme"] == ("false" if dark else "true")
    assert look["page"] == ("rgb(17, 17, 17)" if dark else "rgb(255, 255, 255)")
    assert look["stepper"] == look["page"]                  # the stepper follows the page
    for text, background in ((look["prose"], look["page"]), (look["output"], look["page"]),
                             (look["link"], look["page"]), (look["stepperText"], look["stepper"]),
                             (look["code"], look["codeBackground"])):
        assert contrast(text, background) >= AA, (text, background)
    if dark:
        # The panel's cards keep their light backgrounds, so their text stays dark.
        assert look["card"] in (None, "rgb(33, 37, 41)")
    assert look["drawings"], "lesson 04 has plain drawings"
    filtered = INVERTED if dark else "none"
    assert look["drawings"] == [filtered] * len(look["drawings"])
    assert look["stepperDrawing"] == filtered
    assert look["plots"], "lesson 04 has a plot"
    assert look["plots"] == ["rgb(255, 255, 255)" if dark else "rgba(0, 0, 0, 0)"] * len(look["plots"])
    helpers.save_screenshot(page, f"site_{LESSON}_{scheme}")
    assert log.network == [] and log.errors == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_index_follows_the_readers_colour_scheme(site, open_offline, scheme):
    page, log = open_in_scheme(open_offline, site / "index.html", scheme)
    look = page.evaluate(INDEX_LOOK)
    assert look["theme"] == ("false" if scheme == "dark" else "true")
    assert look["page"] == ("rgb(17, 17, 17)" if scheme == "dark" else "rgb(255, 255, 255)")
    for part in ("title", "link", "summary", "file"):
        assert contrast(look[part], look["page"]) >= AA, (part, look[part])
    helpers.save_screenshot(page, f"site_index_{scheme}")
    assert log.network == [] and log.errors == []


def test_a_change_of_scheme_is_followed_print_is_light_and_without_scripts_light_too(
        site, browser, open_offline):
    page, log = open_in_scheme(open_offline, site / f"{LESSON}.html", "light")
    page.emulate_media(color_scheme="dark")
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
    assert page.evaluate(LOOK)["page"] == "rgb(17, 17, 17)"
    page.evaluate("() => window.dispatchEvent(new Event('beforeprint'))")   # paper is light
    assert page.evaluate(LOOK)["page"] == "rgb(255, 255, 255)"
    page.evaluate("() => window.dispatchEvent(new Event('afterprint'))")
    assert page.evaluate(LOOK)["theme"] == "false"
    assert log.errors == []
    # Scripts off: nothing marks the page dark, so it stays light and consistent
    # (no dark page around un-inverted drawings or light cards with light text).
    context = browser.new_context(java_script_enabled=False, color_scheme="dark")
    try:
        still = context.new_page()
        still.goto((site / f"{LESSON}.html").as_uri())
        look = still.evaluate(LOOK)           # Playwright's own scripts still run
    finally:
        context.close()
    assert look["theme"] == "true" and look["page"] == "rgb(255, 255, 255)"
    assert set(look["drawings"]) == {"none"}


# --- axe-core ----------------------------------------------------------------

BLOCKING = ("serious", "critical")


def axe_violations(page, within: str | None = None) -> list[dict]:
    """axe's serious and critical violations on the page (or in the element ``within``)."""
    from axe_playwright_python.sync_playwright import Axe

    context = {"include": [[within]]} if within else None
    results = Axe().run(page, context=context, options={"resultTypes": ["violations"]})
    return [v for v in results.response["violations"] if v["impact"] in BLOCKING]


def describe(violations) -> str:
    """Each violation's id, impact and rule, then its first nodes with what axe says is wrong."""
    return "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']}\n"
        + "\n".join(f"    {node['target']}: {' '.join(node.get('failureSummary', '').split())}"
                    for node in v["nodes"][:8])
        for v in violations)


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("name", ["index", LESSON, ACCUMULATING])
def test_axe_finds_no_serious_or_critical_violation(site, open_offline, name, scheme):
    pytest.importorskip("axe_playwright_python")
    page, log = open_in_scheme(open_offline, site / f"{name}.html", scheme)
    steppers = page.locator(".adnb-stepper")
    if steppers.count():
        steppers.first.locator('[data-action="next"]').click()   # a step in: its panel shown
    assert log.network == [] and log.errors == []
    # (axe itself then reads the stylesheets by XMLHttpRequest, which file: pages refuse
    # with a console error: not the page's, so the log is checked before.)
    violations = axe_violations(page)
    assert violations == [], describe(violations)
    if steppers.count():
        # Every frame's panel at once: for print the player lists them all (stepper.css),
        # in the same colours. (One run instead of one per frame: axe takes seconds.)
        page.emulate_media(media="print")
        violations = axe_violations(page, ".adnb-print-steps")
        assert violations == [], f"a step's panel:\n{describe(violations)}"
