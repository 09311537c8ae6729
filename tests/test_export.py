"""The offline lecture site, and the lessons in a real JupyterLab.

Exports that execute notebooks go through the CLI in a subprocess: that
tests the real entry point, and keeps nbclient's event loop away from the
one Playwright runs in this process.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

import browser as helpers
from autodiff_nb.export import ExportError, export_site

DATA = Path(__file__).parent / "data"
MINI = DATA / "mini_lesson.ipynb"
MINI_TITLE = "Mini lesson: one gradient"


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "autodiff_nb.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def write_notebook(path: Path, *cells) -> None:
    nbformat.write(new_notebook(cells=list(cells)), path)


def nav_links(page: Path) -> dict[str, str]:
    """The top navigation bar of an exported page, as {"index"|"prev"|"next": href}."""
    nav = BeautifulSoup(page.read_text(), "html.parser").select_one("nav.adnb-nav-top")
    return {(a.get("rel") or ["index"])[0]: a["href"] for a in nav.find_all("a")}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The mini lesson executed and exported by ``autodiff-nb export``."""
    root = tmp_path_factory.mktemp("export")
    lessons = root / "lessons"
    lessons.mkdir()
    shutil.copy(MINI, lessons / "00_mini.ipynb")
    result = run_cli("export", lessons, "--out", root / "site")
    assert result.returncode == 0, result.stderr
    return root / "site"


def test_site_has_index_pages_and_local_mathjax(site):
    assert sorted(p.name for p in site.iterdir()) == [".autodiff-nb-site.json", "00_mini.html",
                                                      "_static", "index.html"]
    assert f'<a href="00_mini.html">{MINI_TITLE}</a>' in (site / "index.html").read_text()
    mathjax = site / "_static" / "mathjax"
    assert (mathjax / "MathJax.js").is_file()
    assert sum(f.stat().st_size for f in mathjax.rglob("*") if f.is_file()) < 4_000_000

    page = (site / "00_mini.html").read_text()
    assert not re.search(r'(?:src|href)="(?:https?:)?//', page)
    for cdn_script in ("require.min.js", "html-manager", "embed-amd", "mermaid.esm"):
        assert cdn_script not in page
    assert "widget-state+json" not in page


def test_page_renders_offline(site, open_offline):
    page, log = open_offline((site / "00_mini.html").as_uri())
    helpers.wait_for_mathjax(page)

    assert page.locator(".MathJax").count() >= 1  # inline math
    assert page.locator(".MathJax_Display").count() >= 1  # display math
    text = page.evaluate("() => document.body.innerText")
    for raw in ("$$", "\\frac", "\\nabla"):
        assert raw not in text
    assert page.locator(".jp-RenderedImage img[src^='data:image/png']").count() == 1
    assert page.locator("[data-mime-type='image/svg+xml'] img[src^='data:image/svg+xml']").count() == 1

    # The widget's text/html fallback is there, but its inline JS is the lesson's own
    # script, which a published page does not run (as in an untrusted notebook).
    count = page.locator(".mini-counter .mini-count")
    assert count.inner_text() == "clicked 0 times"
    page.locator(".mini-counter button").click()
    assert count.inner_text() == "clicked 0 times"

    helpers.save_screenshot(page, "export_mini_lesson")
    assert log.network == []
    assert log.errors == []


def test_index_renders_offline(site, open_offline):
    page, log = open_offline((site / "index.html").as_uri())
    helpers.wait_for_mathjax(page)
    page.get_by_role("link", name=MINI_TITLE).click()
    page.wait_for_load_state()
    assert page.url.endswith("/00_mini.html")
    assert log.network == []
    assert log.errors == []


def test_pages_link_to_index_previous_and_next(tmp_path):
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    write_notebook(lessons / "01_loss.ipynb", new_markdown_cell("Intro\n\n## The loss"))
    write_notebook(lessons / "00_tour.ipynb", new_markdown_cell("# A tour"))
    write_notebook(lessons / "02_untitled.ipynb", new_code_cell("1 + 1"))

    pages = export_site(lessons, tmp_path / "site", execute=False)

    assert [p.name for p in pages] == ["index.html", "00_tour.html", "01_loss.html", "02_untitled.html"]
    index = pages[0].read_text()
    titles = re.findall(r'<li><a href="([^"]+)">([^<]+)</a>', index)
    assert titles == [("00_tour.html", "A tour"), ("01_loss.html", "The loss"),
                      ("02_untitled.html", "02_untitled")]
    assert nav_links(pages[1]) == {"index": "index.html", "next": "01_loss.html"}
    assert nav_links(pages[2]) == {"index": "index.html", "prev": "00_tour.html", "next": "02_untitled.html"}
    assert nav_links(pages[3]) == {"index": "index.html", "prev": "01_loss.html"}


def test_index_shows_each_lessons_summary_as_safe_markdown(tmp_path):
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    write_notebook(lessons / "00_tour.ipynb", new_markdown_cell(
        "# 00 · A tour\nWhat *one* `Tensor` records <script>alert(1)</script>."))

    index = export_site(lessons, tmp_path / "site", execute=False)[0].read_text()

    summary = BeautifulSoup(index, "html.parser").select_one(".adnb-summary")
    assert summary.get_text().strip() == "What one Tensor records <script>alert(1)</script>."
    assert summary.find("em").get_text() == "one" and summary.find("code").get_text() == "Tensor"
    assert summary.find("script") is None


def test_no_execute_converts_stored_outputs(tmp_path):
    pages = export_site(DATA / "failing", tmp_path / "site", execute=False)
    assert [p.name for p in pages] == ["index.html", "01_broken.html"]


def test_failing_lesson_stops_export_without_a_site(tmp_path):
    result = run_cli("export", DATA / "failing", "--out", tmp_path / "site")

    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert "01_broken.ipynb" in last_line and "cell 3" in last_line
    assert "ValueError: broken on purpose" in last_line
    assert list(tmp_path.iterdir()) == []  # no site, no temporary build folder


def test_failing_lesson_leaves_existing_site_untouched(tmp_path):
    old = tmp_path / "site"
    export_site(DATA / "failing", old, execute=False)
    before = {p: p.read_bytes() for p in old.rglob("*") if p.is_file()}

    result = run_cli("export", DATA / "failing", "--out", old)

    assert result.returncode != 0
    assert list(tmp_path.iterdir()) == [old]
    assert {p: p.read_bytes() for p in old.rglob("*") if p.is_file()} == before


def test_refuses_to_replace_a_folder_that_is_not_a_site(tmp_path):
    out = tmp_path / "precious"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(ExportError, match="not a site autodiff-nb export made"):
        export_site(DATA / "failing", out, execute=False)
    assert (out / "notes.txt").read_text() == "keep me"


def test_refuses_a_folder_with_an_index_that_export_did_not_write(tmp_path):
    out = tmp_path / "mine"
    (out / "photos").mkdir(parents=True)
    (out / "index.html").write_text("my home page")
    (out / "precious.txt").write_text("keep me")
    (out / "photos" / "cat.jpg").write_bytes(b"\xff\xd8")

    result = run_cli("export", DATA / "failing", "--no-execute", "--out", out)

    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith(
        f"autodiff-nb export: error: refusing to replace {out}: it is not empty")
    assert "--out" in result.stderr
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        "index.html", "photos", "photos/cat.jpg", "precious.txt"]
    assert list(tmp_path.iterdir()) == [out]


def test_replaces_its_own_site_but_refuses_one_a_user_added_files_to(tmp_path):
    out = tmp_path / "site"
    export_site(DATA / "failing", out, execute=False)
    (out / "index.html").write_text("stale")
    export_site(DATA / "failing", out, execute=False)       # its own files only: replaced
    assert "01_broken.html" in (out / "index.html").read_text()

    (out / "_static" / "precious.txt").write_text("keep me")
    with pytest.raises(ExportError, match=r"not write \(_static/precious.txt\)"):
        export_site(DATA / "failing", out, execute=False)
    assert (out / "_static" / "precious.txt").read_text() == "keep me"
    assert (out / "01_broken.html").is_file()


def test_mini_lesson_runs_in_jupyterlab(browser, tmp_path):
    shutil.copy(MINI, tmp_path / "mini_lesson.ipynb")
    with helpers.jupyterlab(tmp_path) as server:
        page = helpers.run_in_lab(browser, server, "mini_lesson.ipynb")
        try:
            # JupyterLab shows image/svg+xml as an <img> of the SVG, like nbconvert.
            assert page.locator(".jp-OutputArea-output[data-mime-type='image/svg+xml'] img").count() == 1
            assert page.locator(".jp-OutputArea-output[data-mime-type='image/png'] img").count() == 1
            assert page.locator(".jp-OutputArea-output .widget-button").count() == 1
            assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
            page.locator(".widget-button").scroll_into_view_if_needed()
            helpers.save_screenshot(page, "jupyterlab_mini_lesson")
        finally:
            page.close()


def test_a_missing_notebooks_folder_says_so(tmp_path):
    result = run_cli("export", tmp_path / "lessons", "--out", tmp_path / "site")
    assert result.returncode == 1
    assert result.stderr == f"autodiff-nb export: error: {tmp_path / 'lessons'}: no such folder\n"
    assert list(tmp_path.iterdir()) == []


def test_an_invalid_notebook_gives_one_line_and_no_site(tmp_path):
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    write_notebook(lessons / "00_fine.ipynb", new_markdown_cell("# Fine"))
    (lessons / "01_broken.ipynb").write_text("not json at all")

    result = run_cli("export", lessons, "--no-execute", "--out", tmp_path / "site")

    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert "01_broken.ipynb: not a valid notebook" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lessons"]


def test_a_cells_full_error_message_names_notebook_and_cell(tmp_path):
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    write_notebook(lessons / "03_shapes.ipynb", new_markdown_cell("# Shapes"),
                   new_code_cell("import numpy as np\nimport autodiff_nb as ad"),
                   new_code_cell("W = ad.Tensor(np.ones((1, 2)))\nx = ad.Tensor(np.ones(3))\ny = W @ x"))

    result = run_cli("export", lessons, "--out", tmp_path / "site")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert ("autodiff-nb export: error: 03_shapes.ipynb, cell 3: ShapeError: matmul: shapes "
            "(1, 2) and (3,) do not fit") in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lessons"]


def test_an_unwritable_output_gives_one_line(tmp_path):
    (tmp_path / "a_file").write_text("not a folder")
    out = tmp_path / "a_file" / "site"

    result = run_cli("export", DATA / "failing", "--no-execute", "--out", out)

    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"autodiff-nb export: error: cannot write the site to {out}: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


def test_tagged_setup_cells_keep_their_code_off_the_page(tmp_path):
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    setup = new_code_cell("%config InlineBackend.figure_formats = ['png']",
                          metadata={"tags": ["remove-input"]})
    shown = new_code_cell("print('setup says hi')", metadata={"tags": ["hide_input"]},
                          outputs=[nbformat.v4.new_output("stream", name="stdout", text="setup says hi\n")])
    gone = new_code_cell("secret = 42", metadata={"tags": ["remove_cell"]})
    write_notebook(lessons / "00_tags.ipynb", new_markdown_cell("# Tags"), setup, shown, gone,
                   new_code_cell("1 + 1"))

    page = export_site(lessons, tmp_path / "site", execute=False)[1].read_text()

    soup = BeautifulSoup(page, "html.parser")
    text = soup.get_text()
    assert "InlineBackend" not in text and "secret" not in text and "print(" not in text
    assert "setup says hi" in text                         # a hidden cell's output stays
    assert len(soup.select(".jp-Cell")) == 3               # heading, the output, 1 + 1


def test_student_edition_shows_exercises_without_answers_or_ticks(tmp_path):
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    shutil.copy(helpers.REPO_ROOT / "notebooks" / "09_exercises.ipynb", lessons)
    stored = export_site(lessons, tmp_path / "site", execute=False)[1].read_text()
    assert stored.count("✓ the reference") == 5          # the default: as the instructor stored it

    result = run_cli("export", lessons, "--student", "--out", tmp_path / "student")

    assert result.returncode == 0, result.stderr
    page = BeautifulSoup((tmp_path / "student" / "09_exercises.html").read_text(), "html.parser")
    text = " ".join(area.get_text() for area in page.select(".jp-OutputArea"))
    assert "✓" not in text and "the reference" not in text and "show_answers=True)" not in text
    assert "SHOW_ANSWERS = False" in text
    for function in ("mul_backward", "div_backward", "tanh_backward", "matmul_backward",
                     "SoftmaxCrossEntropy_backward"):
        assert f"… {function} is not written yet" in " ".join(text.split())
    code = page.get_text()
    assert "unbroadcast(" not in code and "sum_to_shape(grad_output" not in code   # no answer code


def test_student_edition_needs_to_run_the_lessons(tmp_path):
    with pytest.raises(ExportError, match="drop --no-execute"):
        export_site(DATA / "failing", tmp_path / "site", execute=False, student=True)
