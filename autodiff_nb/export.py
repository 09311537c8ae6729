"""Export the lesson notebooks to an offline HTML lecture site.

A learner should be able to open ``index.html`` from a USB stick, with no
kernel and no network, and still see typeset math, the plots and graphs, and
the stepper (whose mimebundle carries a plain-HTML/JS fallback next to its
widget view). So every page is built to make zero network requests:

* MathJax 2 comes from the ``jupyter-server-mathjax`` wheel. Only what TeX
  input with the HTML-CSS output and its STIX web fonts needs is copied into
  ``_static/mathjax``: that wheel ships no CommonHTML output, so the combined
  ``TeX-AMS-MML_HTMLorMML-full`` config is the one it can serve.
* require.js, the widget manager and mermaid are CDN scripts in nbconvert's
  lab template; the page template below removes their blocks.
* Markdown and HTML outputs are sanitized as JupyterLab treats an untrusted
  notebook (``sanitize.py``): no script, handler, frame or external resource
  of a lesson's gets onto a page. The steppers play through the package's own
  ``stepper.js``, loaded by every page.
* The notebook's widget state is dropped. nbconvert renders a widget view
  only when its model is in that state, so an output with a widget view and
  a ``text/html`` fallback renders the fallback (a widget with none shows
  its ``text/plain``), and no widget-manager script tag is emitted.

Pages follow the reader's colour scheme (``prefers-color-scheme``) the way
JupyterLab follows its theme: a script first thing in ``<body>`` sets its
``data-jp-theme-light``, which nbconvert's dark theme variables (re-scoped),
``site.css``, ``stepper.css`` and ``drawing.css`` all key on. Colours meet
WCAG AA in both schemes; axe-core checks the pages (tests/test_site_a11y.py).

The site is built in a temporary sibling folder and moved into place at the
end, so a lesson that fails to run never leaves a half-written site behind.
Export never deletes a file it did not write: the site carries a manifest
(``MANIFEST``) listing its files, and an existing folder is replaced only
when it is empty or holds exactly the files its manifest lists.
"""

from __future__ import annotations

import html
import importlib.util
import json
import logging
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


from .lessons import LessonError, execute as execute_lesson, read_notebook
from .sanitize import safe_html
from .stepping.page import static_text

__all__ = ["ExportError", "export_site"]

log = logging.getLogger(__name__)

STATIC = "_static"
MANIFEST = ".autodiff-nb-site.json"   # the files export wrote; nothing else may be in a site it replaces
MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full"
MATHJAX_URL = f"{STATIC}/mathjax/MathJax.js?config={MATHJAX_CONFIG}"

# What TeX -> HTML-CSS rendering loads (the combined config plus the pieces it
# fetches on demand: TeX extensions, autoloaded output parts, STIX-Web fonts).
# Left out: the SVG output, localizations (English is built in) and the
# accessibility extensions, about 9 MB of the wheel's 12 MB.
MATHJAX_PARTS = (
    "MathJax.js",
    "LICENSE",
    f"config/{MATHJAX_CONFIG}.js",
    "extensions",
    "jax/input/TeX",
    "jax/element",
    "jax/output/HTML-CSS",
    "fonts/HTML-CSS/STIX-Web/woff",
)
MATHJAX_SKIP = ("a11y",)

# MathJax reads window.MathJax as its configuration when MathJax.js loads.
# The wheel has only the STIX-Web fonts, so HTML-CSS must be told to use them
# (its default, TeX fonts, would be fetched and missed). Some @font-face
# rules still name files that are not there: HTML-CSS's blank probe font
# (about:blank, blocked on file:// with a console error) and the TeX fonts of
# the NativeMML styles, which the hidden screen-reader MathML copies would
# fetch. A local() source fails the same way, but silently and offline.
HEAD = (
    r"""<script>
var noFont = {src: "local('MathJax-none')"};
window.MathJax = {
  tex2jax: {
    inlineMath: [["$", "$"], ["\\(", "\\)"]],
    displayMath: [["$$", "$$"], ["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true
  },
  TeX: {equationNumbers: {autoNumber: "AMS", useLabelIds: true}},
  "HTML-CSS": {
    availableFonts: [], preferredFont: null, webFont: "STIX-Web",
    imageFont: null, linebreaks: {automatic: true},
    styles: {"@font-face": noFont}
  },
  NativeMML: {styles: {
    "@font-face /*1*/": noFont, "@font-face /*2*/": noFont, "@font-face /*3*/": noFont,
    "@font-face /*4*/": noFont, "@font-face /*5*/": noFont, "@font-face /*6*/": noFont
  }},
  displayAlign: "center",
  messageStyle: "none"
};
</script>
"""
    f'<script src="{MATHJAX_URL}"></script>\n'
    f'<link rel="stylesheet" href="{STATIC}/theme-dark.css">\n'
    f'<link rel="stylesheet" href="{STATIC}/site.css">\n'
    f'<link rel="stylesheet" href="{STATIC}/stepper.css">\n'
    f'<link rel="stylesheet" href="{STATIC}/drawing.css">\n'
    # The steppers' player is the package's own script: the outputs' scripts are removed.
    f'<script src="{STATIC}/stepper.js"></script>\n'
    '<script>document.addEventListener("DOMContentLoaded", function () {\n'
    '  document.querySelectorAll(".adnb-stepper").forEach(window.adnbStepper.init);\n'
    '});</script>\n'
)

# The site follows the reader's colour scheme the way JupyterLab follows its theme: <body>'s
# data-jp-theme-light says which, and every stylesheet keys on it, the stepper's and the
# drawings' as in JupyterLab, nbconvert's dark theme (re-scoped to it, see _dark_theme_css)
# and site.css. Run first thing in <body>, it sets the scheme before anything is drawn, and
# follows a change of the system's; paper is always light; with scripts off the site stays light.
THEME_SCRIPT = """\
<script>
(function () {
  var dark = window.matchMedia("(prefers-color-scheme: dark)");
  function show(isDark) {
    document.body.setAttribute("data-jp-theme-light", isDark ? "false" : "true");
    document.body.setAttribute("data-jp-theme-name", isDark ? "JupyterLab Dark" : "JupyterLab Light");
  }
  function follow() { show(dark.matches); }
  follow();
  dark.addEventListener("change", follow);
  window.addEventListener("beforeprint", function () { show(false); });
  window.addEventListener("afterprint", follow);
})();
</script>
"""
DARK = 'body[data-jp-theme-light="false"]'

# Colours: the site's own (navigation, index) as variables, light then dark; JupyterLab's
# code colours and prompts where its themes fall short of WCAG AA (4.5:1) on their code
# background, darkened or lightened in their own hue (Python's tokens only).
SITE_CSS = """\
:root { --adnb-text: #212121; --adnb-muted: #424242; --adnb-faint: #616161; --adnb-link: #1565c0;
  --adnb-rule: #e0e0e0; --adnb-page: #fff;
  --jp-cell-prompt-not-active-opacity: 1;
  --jp-mirror-editor-atom-color: #5252ff; --jp-mirror-editor-number-color: #007e00;
  --jp-mirror-editor-variable-3-color: #007e4f; --jp-mirror-editor-operator-color: #a310ff;
  --jp-mirror-editor-meta-color: #a310ff; --jp-mirror-editor-comment-color: #3b7676;
  --jp-mirror-editor-bracket-color: #6e6e53; --jp-mirror-editor-quote-color: #007f00;
  --jp-mirror-editor-error-color: #db0000; }
""" + DARK + """ { color-scheme: dark;
  --adnb-text: #e0e0e0; --adnb-muted: #bdbdbd; --adnb-faint: #9e9e9e; --adnb-link: #8ab4f8;
  --adnb-rule: #424242; --adnb-page: #111;
  --jp-mirror-editor-def-color: #2c8fe7; --jp-mirror-editor-operator-color: #c05aff;
  --jp-mirror-editor-meta-color: #c05aff; --jp-mirror-editor-comment-color: #4c9898;
  --jp-mirror-editor-qualifier-color: #8c8c8c; --jp-mirror-editor-tag-color: #3e9e43;
  --jp-mirror-editor-attribute-color: #358ee7; --jp-mirror-editor-link-color: #358ee7;
  --jp-mirror-editor-error-color: #ff4545; --jp-mirror-editor-string-2-color: #bd6eca; }
body { margin: 0; background: var(--adnb-page); }
/* Plots are pictures on white: in the dark they sit on a white card, as JupyterLab puts
   images that need a light background. */
""" + DARK + """ .jp-RenderedImage img { background: #fff; padding: 6px; border-radius: 6px; }
main, .adnb-index { max-width: 960px; margin: 0 auto; padding: 0 1.5rem 3rem; box-sizing: border-box; }
/* Drawings keep their natural size (shrunk, their numbers could not be read), so a lesson
   page is as wide as the window allows, and its prose keeps a readable line length. */
main { max-width: 1440px; }
main .jp-MarkdownCell { max-width: 58rem; }
.adnb-nav { display: flex; gap: 1.5rem; padding: 0.8rem 0; margin-bottom: 1rem;
  border-bottom: 1px solid var(--adnb-rule); font: 14px/1.4 system-ui, sans-serif; }
.adnb-nav-bottom { margin-top: 1rem; border-top: 1px solid var(--adnb-rule); border-bottom: none; }
.adnb-nav .adnb-next { margin-left: auto; }
.adnb-nav a { color: var(--adnb-link); text-decoration: none; }
.adnb-nav a:hover { text-decoration: underline; }
.adnb-index { font: 16px/1.6 system-ui, sans-serif; color: var(--adnb-text); }
.adnb-index h1 { font-weight: 600; margin-top: 2rem; }
.adnb-index ol.adnb-lessons { list-style: none; padding: 0; }
.adnb-index li { margin: 0 0 1.1rem; }
.adnb-index li > a { font-size: 1.15em; font-weight: 600; }
.adnb-index .adnb-summary p { margin: 0.15rem 0 0; color: var(--adnb-muted); }
.adnb-index a { color: var(--adnb-link); text-decoration: none; }
.adnb-index .adnb-file { color: var(--adnb-faint); font-size: 0.85em; margin-left: 0.5em; }
"""

# nbconvert's lab template with the CDN blocks emptied, our MathJax/CSS head,
# and the index/previous/next navigation above and below the cells.
PAGE_TEMPLATE = """\
{%- extends 'index.html.j2' -%}
{%- macro site_nav(site, where) -%}
<nav class="adnb-nav adnb-nav-{{ where }}" aria-label="lessons ({{ where }} of the page)">
  <a href="index.html">Index</a>
  {%- if site.prev %}
  <a class="adnb-prev" rel="prev" href="{{ site.prev.page }}">&larr; {{ site.prev.title | e }}</a>
  {%- endif %}
  {%- if site.next %}
  <a class="adnb-next" rel="next" href="{{ site.next.page }}">{{ site.next.title | e }} &rarr;</a>
  {%- endif %}
</nav>
{%- endmacro -%}
{%- block html_head_js_requirejs -%}{%- endblock -%}
{%- block jupyter_widgets -%}{%- endblock -%}
{%- block html_head_js_mermaidjs -%}{%- endblock -%}
{%- block html_head_js_mathjax -%}
{{ resources.site.head }}
{%- endblock -%}
{#- The lab template has no alternative text for PNG outputs: take it from the output's
    metadata ("alt", as autodiff_nb's plots set it) or else the cell's. -#}
{%- block data_png scoped -%}
{%- set alt = (output | get_metadata('alt', 'image/png')) or (cell | get_metadata('alt')) -%}
{%- if alt -%}
{{ super() | replace('<img ', '<img alt="' ~ (alt | escape_html) ~ '" ', 1) }}
{%- else -%}
{{ super() }}
{%- endif -%}
{%- endblock data_png -%}
{%- block body_header -%}
{{ super() }}
{{ resources.site.theme_script }}
{{ site_nav(resources.site, 'top') }}
{%- endblock -%}
{%- block body_footer -%}
{{ site_nav(resources.site, 'bottom') }}
{{ super() }}
{%- endblock -%}
"""

INDEX_TEMPLATE = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{title}</title>
{head}</head>
<body>
{theme_script}<main class="adnb-index">
<h1>{title}</h1>
<ol class="adnb-lessons">
{items}
</ol>
</main>
</body>
</html>
"""

# Cell tags that keep a cell's code off the site (nbconvert's and Jupyter Book's spellings):
# setup cells carry "remove-input". A cell left with no code and no output is dropped whole.
HIDE_INPUT_TAGS = {"remove_input", "remove-input", "hide_input", "hide-input"}
REMOVE_CELL_TAGS = {"remove_cell", "remove-cell"}

HEADING = re.compile(r"^ {0,3}#{1,6}\s+(.+?)(?:\s+#+)?\s*$", re.MULTILINE)


class ExportError(RuntimeError):
    """The site could not be built; the message is one line for the terminal."""


@dataclass(frozen=True)
class Lesson:
    source: Path
    title: str
    summary: str = ""   # the Markdown under the title heading (one sentence, by convention)

    @property
    def page(self) -> str:
        return self.source.stem + ".html"


def export_site(src_dir, out_dir, execute: bool = True, timeout: int = 300,
                title: str = "Lessons", student: bool = False) -> list[Path]:
    """Build the site for every ``*.ipynb`` in ``src_dir`` (sorted by name).

    With ``execute`` each notebook first runs top to bottom in a fresh
    ``python3`` kernel of this environment, in its own folder, with
    ``timeout`` seconds per cell; otherwise its stored outputs are used.
    ``student``: the edition for learners. The lessons run as in a learner's
    kernel, so an exercise shows its stub's "not written yet" verdict, not the
    reference run's tick under the answer it graded in its place; that needs
    ``execute`` (the stored outputs are the reference run).
    Returns the written pages, ``index.html`` first. Raises ExportError, and
    leaves ``out_dir`` as it was, if a lesson fails.
    """
    if student and not execute:
        raise ExportError("the student edition runs the lessons as a learner would; "
                          "it cannot use the stored outputs (drop --no-execute)")
    src, out = Path(src_dir).resolve(), Path(out_dir).resolve()
    if not src.is_dir():
        raise ExportError(f"{src_dir}: no such folder" if not src.exists()
                          else f"{src_dir}: not a folder (give the folder that holds the notebooks)")
    sources = sorted(src.glob("*.ipynb"))
    if not sources:
        raise ExportError(f"no *.ipynb notebooks in {src}")
    _check_target(src, out)

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        build = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    except OSError as exc:
        raise ExportError(f"cannot write the site to {out}: {exc.strerror or exc}") from exc
    try:
        build.chmod(0o755)  # mkdtemp makes it private; the site is for reading
        notebooks = [_load(path, execute, timeout, student) for path in sources]
        lessons = [Lesson(path, *_heading(nb, path)) for path, nb in zip(sources, notebooks)]
        _write_static(build / STATIC)
        _write_pages(build, lessons, notebooks)
        (build / "index.html").write_text(_index_html(lessons, title), encoding="utf-8")
        _write_manifest(build)
        _replace(out, build)
    except OSError as exc:
        shutil.rmtree(build, ignore_errors=True)
        raise ExportError(f"cannot write the site to {out}: {exc.strerror or exc}") from exc
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    return [out / "index.html"] + [out / lesson.page for lesson in lessons]


def _check_target(src: Path, out: Path) -> None:
    """Refuse targets whose replacement would delete anything export did not write."""
    if out == src or out in src.parents:
        raise ExportError(f"refusing to replace {out}: it contains the notebooks; "
                          f"choose another --out")
    if out.exists() and not out.is_dir():
        raise ExportError(f"refusing to replace {out}: it is a file, not a folder; "
                          f"choose another --out")
    if not out.is_dir() or not any(out.iterdir()):
        return
    listed = _manifest(out)
    if listed is None:
        raise ExportError(f"refusing to replace {out}: it is not empty and has no {MANIFEST} "
                          f"(it is not a site autodiff-nb export made); choose a new or empty "
                          f"folder for --out, or move its contents away yourself")
    foreign = sorted(str(p.relative_to(out)) for p in _files(out) if p.relative_to(out).as_posix() not in listed)
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise ExportError(f"refusing to replace {out}: it holds files autodiff-nb export did "
                          f"not write ({shown}); move them out of the site folder, or choose "
                          f"another --out")


def _files(folder: Path) -> list[Path]:
    """Every file and symlink under ``folder`` (folders themselves are not listed)."""
    return [p for p in folder.rglob("*") if p.is_symlink() or not p.is_dir()]


def _manifest(out: Path) -> set[str] | None:
    """The files a site's manifest lists (POSIX paths relative to it), None when it has none."""
    try:
        listed = json.loads((out / MANIFEST).read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return set(listed) | {MANIFEST} if isinstance(listed, list) else None


def _write_manifest(build: Path) -> None:
    files = sorted(p.relative_to(build).as_posix() for p in _files(build))
    (build / MANIFEST).write_text(json.dumps({"written_by": "autodiff-nb export", "files": files},
                                             indent=1) + "\n", encoding="utf-8")


def _load(path: Path, execute: bool, timeout: int, student: bool):
    started = time.perf_counter()
    try:
        nb = read_notebook(path)
        if execute:
            execute_lesson(nb, path, timeout, reference=not student)
    except LessonError as exc:
        raise ExportError(str(exc)) from exc
    if execute:
        log.info("executed %s in %.1f s", path.name, time.perf_counter() - started)
    # Without the widget state nbconvert emits no widget-manager loader and
    # renders each widget's fallback instead of its (here dead) view.
    nb.metadata.pop("widgets", None)
    _hide_tagged(nb)
    return nb


def _hide_tagged(nb) -> None:
    """Apply the cell tags: drop "remove-cell" cells, and hide the code of "remove-input" cells
    (nbconvert's transient ``remove_source``), dropping them when they have no output either."""
    kept = []
    for cell in nb.cells:
        tags = set(cell.metadata.get("tags", ()))
        if tags & REMOVE_CELL_TAGS:
            continue
        if tags & HIDE_INPUT_TAGS:
            if not cell.get("outputs"):
                continue
            cell.metadata.setdefault("transient", {})["remove_source"] = True
        kept.append(cell)
    nb.cells = kept


def _heading(nb, path: Path) -> tuple[str, str]:
    """The first Markdown heading (else the file name) and the text under it in its cell."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            match = HEADING.search(cell.source)
            if match:
                return match.group(1).strip(), cell.source[match.end():].strip()
    return path.stem, ""


def _write_static(static: Path) -> None:
    mathjax_src = Path(importlib.util.find_spec("jupyter_server_mathjax").origin).parent / "static"
    mathjax = static / "mathjax"
    for part in MATHJAX_PARTS:
        source, target = mathjax_src / part, mathjax / part
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns(*MATHJAX_SKIP))
        else:
            shutil.copy2(source, target)
    (static / "site.css").write_text(SITE_CSS, encoding="utf-8")
    (static / "theme-dark.css").write_text(_dark_theme_css(), encoding="utf-8")
    for name in ("stepper.js", "stepper.css", "drawing.css"):
        (static / name).write_text(static_text(name), encoding="utf-8")


def _dark_theme_css() -> str:
    """nbconvert's JupyterLab Dark theme (the variables of its lab template), on when <body>
    says the theme is dark (THEME_SCRIPT) instead of always: its one ``:root`` rule re-scoped."""
    from nbconvert import HTMLExporter

    for folder in HTMLExporter(template_name="lab").template_paths:
        path = Path(folder) / "static" / "theme-dark.css"
        if path.is_file():
            scoped, rules = re.subn(r"^:root\s*\{", DARK + " {", path.read_text(encoding="utf-8"),
                                    flags=re.MULTILINE)
            if rules != 1:
                raise ExportError(f"{path}: expected one :root rule of theme variables, found {rules}")
            return scoped
    raise ExportError("nbconvert's lab template has no static/theme-dark.css; reinstall nbconvert")


def _write_pages(build: Path, lessons: list[Lesson], notebooks: list) -> None:
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    # sanitize_html: nbconvert passes Markdown cells, HTML and Markdown outputs and raw
    # cells through its clean_html filter, here ours, and leaves JavaScript outputs out.
    exporter = HTMLExporter(
        template_name="lab",
        sanitize_html=True,
        filters={"clean_html": safe_html},
        extra_loaders=[DictLoader({"adnb_page.html.j2": PAGE_TEMPLATE})],
        template_file="adnb_page.html.j2",
    )
    links = [{"page": lesson.page, "title": lesson.title} for lesson in lessons]
    for i, (lesson, nb) in enumerate(zip(lessons, notebooks)):
        nb.metadata["title"] = lesson.title
        site = {
            "head": HEAD,
            "theme_script": THEME_SCRIPT,
            "prev": links[i - 1] if i > 0 else None,
            "next": links[i + 1] if i + 1 < len(links) else None,
        }
        body, _ = exporter.from_notebook_node(nb, resources={"site": site})
        (build / lesson.page).write_text(body, encoding="utf-8")


def _index_html(lessons: list[Lesson], title: str) -> str:
    import mistune  # nbconvert's Markdown renderer; it escapes raw HTML in the summary

    render = mistune.create_markdown(escape=True)
    items = "\n".join(
        f'<li><a href="{lesson.page}">{html.escape(lesson.title)}</a>'
        f'<span class="adnb-file">{html.escape(lesson.source.name)}</span>'
        f'<div class="adnb-summary">{render(lesson.summary)}</div></li>'
        for lesson in lessons
    )
    return INDEX_TEMPLATE.format(title=html.escape(title), head=HEAD, theme_script=THEME_SCRIPT,
                                 items=items)


def _replace(out: Path, build: Path) -> None:
    """Move the finished site into place; the old site's files go only now, and only those
    its manifest lists (anything added while the lessons ran is kept and reported)."""
    if not out.exists():
        build.rename(out)
        return
    listed = _manifest(out) or set()
    old = build.with_name(build.name + "-old")
    out.rename(old)
    build.rename(out)
    for name in listed:
        (old / name).unlink(missing_ok=True)
    for folder in sorted((p for p in old.rglob("*") if p.is_dir() and not p.is_symlink()),
                         key=lambda p: len(p.parts), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
    if any(old.iterdir()):
        log.warning("kept files that appeared in %s during the export: they are now in %s", out, old)
    else:
        old.rmdir()
