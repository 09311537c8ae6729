"""Make notebook HTML safe to publish, the way JupyterLab treats an untrusted notebook.

A lesson's Markdown and its HTML outputs go on a public site. Whatever they
hold, the page must run no script of theirs, fire no event handler, open no
frame and load nothing from elsewhere (the site promises no network). So
every fragment passes an allowlist (``bleach``, which nbconvert itself uses):
text markup, tables, images from ``data:`` or relative URLs, links, the form
controls of the stepper, ``class``/``data-*``/``aria-*`` and a few inline
styles without ``url()``. ``<script>``, ``<style>``, frames and other
embedded content are removed with their content, everything else not allowed
is unwrapped to its text.

The stepper (``stepping/page.py``) is the package's one output that needs a
script. Its player is not taken from the output: the exported page loads the
package's own ``stepper.js`` and ``stepper.css``. What the player reads from
the output, the JSON of its frames and the SVG it restyles, is data: it is
cleaned here too (the HTML strings in the JSON by the same allowlist, the SVG
by an SVG allowlist) and put back as inert ``<script>`` elements.
"""
from __future__ import annotations

import json
import re
import secrets
import xml.etree.ElementTree as ET
from functools import lru_cache

import bleach
from bleach.css_sanitizer import CSSSanitizer
from bs4 import BeautifulSoup

from .stepping.page import script_json
from .stepping.restyle import FOLD_STYLE, SVG_STYLE, VALUE_STYLE

__all__ = ["safe_html", "safe_svg"]

# Removed with everything inside them (bleach alone would keep their text).
DROPPED = ["script", "style", "iframe", "frame", "frameset", "object", "embed", "applet",
           "noscript", "template", "link", "meta", "base", "svg", "math", "audio", "video",
           "source", "track", "canvas", "form", "textarea", "portal"]
TAGS = {
    "a", "abbr", "b", "bdi", "bdo", "blockquote", "br", "caption", "cite", "code", "col",
    "colgroup", "dd", "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p",
    "pre", "q", "s", "samp", "small", "span", "strike", "strong", "sub", "summary", "sup",
    "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul", "var", "wbr",
    # the stepper's controls (JupyterLab's sanitizer keeps these too)
    "button", "input", "label", "select", "option",
}
ATTRIBUTES = {
    "a": ["href", "title", "name"],
    "img": ["src", "alt", "title", "width", "height"],
    "td": ["colspan", "rowspan", "align"], "th": ["colspan", "rowspan", "align", "scope"],
    "ol": ["start", "type"], "col": ["span"], "colgroup": ["span"],
    "button": ["type", "title", "disabled"],
    "input": ["type", "min", "max", "step", "value", "checked", "disabled"],
    "option": ["value", "selected"], "select": ["disabled"],
}
GLOBAL_ATTRIBUTES = {"id", "class", "title", "style", "tabindex", "role", "lang", "dir", "hidden"}
CSS_PROPERTIES = [
    "color", "background-color", "border", "border-top", "border-right", "border-bottom",
    "border-left", "border-color", "border-style", "border-width", "border-radius",
    "border-collapse", "border-spacing", "margin", "margin-top", "margin-right", "margin-bottom",
    "margin-left", "padding", "padding-top", "padding-right", "padding-bottom", "padding-left",
    "width", "height", "min-width", "max-width", "min-height", "max-height", "display", "flex",
    "flex-wrap", "flex-direction", "align-items", "justify-content", "gap", "overflow",
    "overflow-x", "overflow-y", "white-space", "text-align", "vertical-align", "font-family",
    "font-size", "font-weight", "font-style", "line-height", "text-decoration",
    "--adnb-width", "--adnb-min-scale",   # a drawing's natural width, legible scale (stepping/page.py)
]
PROTOCOLS = ["http", "https", "mailto", "data"]
LOCAL_SOURCE = re.compile(r"^(data:image/(png|jpeg|gif|webp|svg\+xml)[;,]|(?![a-z][a-z0-9+.-]*:)(?!//))",
                          re.I)


def _allowed(tag, name, value):
    if name.startswith(("data-", "aria-")) or name in GLOBAL_ATTRIBUTES:
        return True
    if name not in ATTRIBUTES.get(tag, ()):
        return False
    # Images only from the page itself: no request leaves the machine.
    return tag != "img" or name != "src" or bool(LOCAL_SOURCE.match(value.strip()))


@lru_cache(maxsize=1)
def _cleaner():
    return bleach.Cleaner(tags=TAGS, attributes=_allowed, protocols=PROTOCOLS, strip=True,
                          strip_comments=True,
                          css_sanitizer=CSSSanitizer(allowed_css_properties=CSS_PROPERTIES))


def _clean(fragment):
    soup = BeautifulSoup(fragment, "html.parser")
    for element in soup.find_all(DROPPED):
        element.decompose()
    cleaned = _cleaner().clean(str(soup))
    # An allowed property may still name a resource: url(...) or image-set(...).
    return re.sub(r"(?i)(url|image-set|image)\s*\(", "blocked(", cleaned)


def safe_html(fragment):
    """``fragment`` (Markdown rendered to HTML, or an HTML output) safe to publish; a stepper
    in it keeps its (cleaned) frames and drawing for the page's own player."""
    fragment = fragment.decode() if isinstance(fragment, bytes) else str(fragment)
    if "adnb-data" not in fragment:
        return _clean(fragment)
    soup = BeautifulSoup(fragment, "html.parser")
    nonce, carried = secrets.token_hex(8), {}
    for n, root in enumerate(soup.select("div.adnb-stepper")):
        data, svg = root.select_one("script.adnb-data"), root.select_one("script.adnb-svg")
        if data is None or svg is None:
            continue
        try:
            carried[n] = _stepper_scripts(json.loads(data.get_text()), svg.get_text())
        except (ValueError, TypeError, KeyError, ET.ParseError):
            continue   # not a stepper this package wrote: it stays a still picture
        data.replace_with(f"adnb-stepper-{nonce}-{n}")
        svg.decompose()
    cleaned = _clean(str(soup))
    for n, scripts in carried.items():
        cleaned = cleaned.replace(f"adnb-stepper-{nonce}-{n}", scripts, 1)
    return cleaned


def _stepper_scripts(data, svg):
    """The stepper's data and drawing, cleaned, as the inert scripts its player reads."""
    data["panels"] = [_clean(panel) for panel in data["panels"]]
    data["controls"] = _clean(data["controls"])
    data["labels"] = [str(label) for label in data["labels"]]
    return (f'<script type="application/json" class="adnb-data">{script_json(data)}</script>'
            f'<script type="text/plain" class="adnb-svg">{safe_svg(svg)}</script>')


# --- SVG (Graphviz drawings) ------------------------------------------------------

SVG_NS, XLINK_NS = "http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"
SVG_TAGS = {"svg", "g", "title", "desc", "path", "polygon", "polyline", "ellipse", "circle",
            "rect", "line", "text", "tspan", "a", "defs", "linearGradient", "radialGradient",
            "stop"}
SVG_ATTRIBUTES = {
    "id", "class", "width", "height", "viewBox", "transform", "fill", "stroke", "stroke-width",
    "stroke-dasharray", "stroke-opacity", "fill-opacity", "opacity", "points", "d", "x", "y",
    "x1", "y1", "x2", "y2", "cx", "cy", "r", "rx", "ry", "text-anchor", "font-family",
    "font-size", "font-weight", "font-style", "text-decoration", "dominant-baseline",
    "baseline-shift", "offset", "stop-color", "stop-opacity", "preserveAspectRatio",
    "gradientUnits", "gradientTransform", "xml:space", f"{{{XLINK_NS}}}title",
    "{http://www.w3.org/XML/1998/namespace}space",
}


def safe_svg(svg):
    """A Graphviz SVG with only drawing elements and attributes: no script, event handler,
    link target, foreign content or external reference. Raises ET.ParseError if not XML."""
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", XLINK_NS)
    root = ET.fromstring(svg)
    if _local(root.tag) != "svg":
        raise ET.ParseError("not an SVG")
    _prune(root)
    return ET.tostring(root, encoding="unicode")


# The stylesheets a drawing may keep: the package's own frame styles (the current
# operation, the gradients sent, blank and final cells), word for word, and the folding
# of an unrolled RNN's time steps: FOLD_STYLE's block for each cluster, nothing else.
OWN_SVG_STYLES = {style[len("<style>"):-len("</style>")] for style in (SVG_STYLE, VALUE_STYLE)}
_CLUSTER = re.compile(r'svg:not\(\[data-adnb-open="([A-Za-z0-9_]+)"\]\)')


def _own_style(element):
    if _local(element.tag) != "style" or len(element) or element.text is None:
        return False
    text = element.text
    if text in OWN_SVG_STYLES:
        return True
    folds = "".join(FOLD_STYLE.format(c=c) for c in dict.fromkeys(_CLUSTER.findall(text)))
    return bool(folds) and text == "\n" + folds


def _local(tag):
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _prune(element):
    for child in list(element):
        if not (isinstance(child.tag, str) and child.tag.startswith(f"{{{SVG_NS}}}")
                and (_local(child.tag) in SVG_TAGS or _own_style(child))):
            element.remove(child)
        elif _local(child.tag) == "style":
            child.attrib.clear()
        else:
            _prune(child)
    for name in list(element.attrib):
        value = element.attrib[name]
        if name not in SVG_ATTRIBUTES or re.search(r"(?i)url\s*\(|javascript:", value):
            del element.attrib[name]
