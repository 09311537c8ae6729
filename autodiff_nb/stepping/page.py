"""``Stepper.to_html()``: the stepper as one self-contained HTML fragment.

The fragment must read well in three places:

* a page with scripts (exported lesson, trusted notebook): the player;
* a page without scripts: the finished backward pass;
* an untrusted notebook in JupyterLab, which runs no script and sanitizes
  the HTML: it drops ``<script>`` and ``<style>`` elements with their
  content, and unwraps everything else it does not allow (``<svg>``,
  ``<text>``...), keeping their text. An inline SVG turns into a paragraph
  of node ids and numbers there; buttons survive but do nothing.

So the static markup holds only what survives all three: the last frame's
drawing as ``<img src="data:image/svg+xml;base64,...">``, its chain-rule
panel (plain HTML) and the legend. What only a script can use is carried in
inert ``<script>`` elements that a sanitizer removes whole: the inline SVG
the player restyles (``script.adnb-svg``) and the JSON description of every
frame, which also holds the controls' markup (``script.adnb-data``). On
load, ``static/stepper.js`` puts the SVG above the picture (hidden, but
kept: it is the page's image of this output), adds the controls and removes
the "scripts are off" note. It restyles the drawing exactly as
``restyle.Restyler`` does in Python. No external resource, no network
request.

The root element ``div.adnb-stepper`` carries ``data-step`` (the frame shown:
the last one until the script runs), ``data-start`` (the frame the player
opens at, ``step_through(..., start=...)``; a page address ending in
``#<root id>/<frame>``, e.g. ``#adnb2_stepper/5``, opens it at that frame
instead, so a lecturer can link to the step under discussion) and
``tabindex="0"`` (arrow keys step when it has focus); buttons carry
``data-action`` = first, prev, next, last, play, zoom-out, fit, zoom-in, save
(the drawing as .svg). Ids start with the
stepper's own prefix, so several steppers share a page without interfering.
"""
from __future__ import annotations

import html
import json
import re
import weakref
from collections import Counter
from importlib import resources

from ..drawing.graph import drawing_css, svg_data_uri, svg_width

# The size, in CSS px, under which a drawing's text (its numbers and names) is no longer
# comfortable to read: a drawing is shown whole, scaled to its column, only down to the
# scale where its text is this size; below, it stays at that scale and scrolls.
LEGIBLE_PX = 10
_FONT_SIZE = re.compile(r'font-size="([0-9.]+)"')
# Every frame of a stepper is one drawing restyled: its legible scale is found once.
_legible_scales = weakref.WeakKeyDictionary()

SPEEDS = (("slow", 1500), ("normal", 800), ("fast", 300))

LEGEND = (
    ("#ffe8cc", "#e8590c", "operation visited"),
    ("#e8590c", "#e8590c", "gradient sent (=)"),
    ("#ffffff", "#c2255c", "gradient added (+=)"),
    ("#ffffff", "#1971c2", "gradient arriving"),
    ("#efefef", "#9a9a9a", "not computed yet"),
    ("#fff3bf", "#9a9a9a", "computed, more to add"),
    ("#d3f9d8", "#9a9a9a", "final"),
)

# Forward mode only: what the same marks mean while values are computed.
FORWARD_LEGEND = (
    ("#ffffff", "#1971c2", "forward: values arriving at the operation"),
    ("#ffffff", "#e8590c", "forward: result sent, value just computed"),
)

NO_SCRIPT_NOTE = ("Scripts are off, so this shows the finished backward pass (the last step). "
                  "To step through it, run the cell (in Jupyter) or open the exported page.")


def static_text(name):
    """A file of ``autodiff_nb/static`` (the player's JS and CSS)."""
    return resources.files("autodiff_nb").joinpath("static", name).read_text(encoding="utf-8")


def stylesheet():
    """The stepper's CSS: its own layout, and the dark theme it shares with every drawing."""
    return static_text("stepper.css") + drawing_css()


def frame_label(stepper, k):
    """What the counter says: "Before backward (0 / 12)", "Step 3 / 12".

    Forward mode first counts its own frames: "Leaves only (0 / 8)", "Forward 3 / 8".
    """
    ahead = stepper.forward_frames
    if k < ahead:
        return f"Leaves only (0 / {ahead - 1})" if k == 0 else f"Forward {k} / {ahead - 1}"
    k -= ahead
    steps = len(stepper) - ahead - 1
    return f"Before backward (0 / {steps})" if k == 0 else f"Step {k} / {steps}"


def svg_element(svg):
    """The ``<svg>`` element alone: no XML prolog, doctype or Graphviz comments."""
    return svg[svg.index("<svg"):]


def svg_image(svg):
    """The drawing as an ``<img>``: a picture to a sanitizer, no text of its own."""
    return (f'<img class="adnb-still" src="{svg_data_uri(svg)}" '
            f'alt="The computational graph after backward, every gradient filled in">')


def legible_scale(svg):
    """The smallest scale at which the drawing's text is still ``LEGIBLE_PX`` high; at most 1.

    The drawing's text is its most common font size, that of the numbers and names
    (Graphviz's sizes are in points, 4/3 px; 11 pt gives 0.68). Its captions ("value",
    "grad", shapes), two points smaller, are then about 8 px.
    """
    sizes = Counter(float(size) for size in _FONT_SIZE.findall(svg) if float(size) > 0)
    if not sizes:
        return 1.0
    body = sizes.most_common(1)[0][0]
    return min(1.0, LEGIBLE_PX / (body * 4 / 3))


def graph_html(stepper, k, *, still=False, marker=False):
    """The drawing area of frame ``k``.

    ``still``: the drawing as an ``<img>`` (survives sanitizers) instead of
    inline SVG (which the player and the live widget restyle). The area
    knows the drawing's natural width (``--adnb-width``) and the smallest
    scale that keeps its text legible (``--adnb-min-scale``), so the CSS
    fits the drawing to its column down to that scale, and scrolls below.
    ``marker``: a point on the operation of the step (``adnb-marker``),
    which the live widget's scroll box snaps to.

    The still's area is the page's scroll box (the live widget's box is its
    own), so it takes keyboard focus: with scripts off, arrow keys scroll it;
    in the player they still step, and the view follows the step.
    """
    svg = stepper.svg(k)
    width = svg_width(svg)
    if stepper not in _legible_scales:
        _legible_scales[stepper] = legible_scale(svg)
    size = (f' style="--adnb-width:{width};--adnb-min-scale:{_legible_scales[stepper]:.3f}"'
            if width else "")
    at = stepper.restyler.position(k) if marker else None
    point = (f'<div class="adnb-marker" style="left: {100 * at[0]:.2f}%; top: {100 * at[1]:.2f}%">'
             f'</div>' if at else "")
    focus = ' tabindex="0"' if still else ""
    return f'<div class="adnb-graph"{size}{focus}>{svg_image(svg) if still else svg}{point}</div>'


def panel_html(stepper, k):
    """The chain-rule panel of frame ``k``."""
    return (f'<div class="adnb-panel" aria-live="polite" aria-label="chain-rule step">'
            f'{stepper.explanation(k).html()}</div>')


def body_html(stepper, k, *, still=False):
    """The drawing and the chain-rule panel of frame ``k``, side by side.

    The drawing's scroll box sits in a ``adnb-view``, which the player marks
    with the sides that have more to scroll to (the cue that more lies there).
    """
    return (f'<div class="adnb-body"><div class="adnb-view">{graph_html(stepper, k, still=still)}'
            f'</div>{panel_html(stepper, k)}</div>')


def legend_html(forward=False):
    """The colour key. Its inline styles are ones JupyterLab's sanitizer keeps, and each
    swatch holds spaces, so it still shows colours where the stylesheet is dropped.

    ``forward``: add what the marks mean in the forward frames.
    """
    entries = LEGEND + FORWARD_LEGEND if forward else LEGEND
    items = "".join(f'<span style="margin-right:12px"><span class="adnb-swatch" '
                    f'style="background-color:{fill};border:1px solid {border}">&nbsp;&nbsp;&nbsp;'
                    f'</span> {html.escape(text)}</span> ' for fill, border, text in entries)
    return f'<div class="adnb-legend">{items}</div>'


def controls_html(stepper):
    """The buttons, frame slider, counter and speed: added by the script, useless without it."""
    last = len(stepper) - 1
    speeds = "".join(f'<option value="{ms}"{" selected" if name == "normal" else ""}>{name}</option>'
                     for name, ms in SPEEDS)
    return (
        '<div class="adnb-controls">'
        '<button type="button" data-action="first" title="First frame (Home)">|◀ First</button>'
        '<button type="button" data-action="prev" title="Previous step (←)">◀ Prev</button>'
        '<button type="button" data-action="play" title="Play the steps (Space)">▶ Play</button>'
        '<button type="button" data-action="next" title="Next step (→)">Next ▶</button>'
        '<button type="button" data-action="last" title="Last frame (End)">Last ▶|</button>'
        f'<input type="range" class="adnb-slider" min="0" max="{last}" value="{stepper.step}" '
        f'aria-label="frame of the pass" '
        f'aria-valuetext="{html.escape(frame_label(stepper, stepper.step))}">'
        f'<span class="adnb-counter">{html.escape(frame_label(stepper, stepper.step))}</span>'
        f'<label class="adnb-hint">speed <select class="adnb-speed">{speeds}</select></label>'
        '<span class="adnb-zoom">'
        '<button type="button" data-action="zoom-out" title="Smaller (-)" '
        'aria-label="zoom out">−</button>'
        '<button type="button" data-action="fit" title="Fit the drawing to the width (0)">'
        'Fit</button>'
        '<button type="button" data-action="zoom-in" title="Larger (+)" '
        'aria-label="zoom in">+</button></span>'
        '<button type="button" data-action="save" title="Save the drawing of the finished '
        'pass as an SVG file">Save SVG</button>'
        '<span class="adnb-hint">click here, then ← → to step, Space to play</span>'
        '</div>')


def script_json(data):
    """``data`` as JSON safe inside ``<script>``: "<", ">" and "&" written as \\u escapes, so
    neither "</script>" nor "<!--" (which would make a later "</script>" not end the
    element) can appear, whatever names the tensors have."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _inert_svg(svg):
    """The SVG as the raw text of a ``<script type="text/plain">``.

    Only ``</script`` would end that element early; a Graphviz SVG has no
    such tag and escapes ``<`` in its text, so this never changes a drawing.
    """
    if re.search(r"</script", svg, re.I):
        raise ValueError("an SVG with a </script> tag cannot be embedded in the stepper page")
    return svg


def stepper_html(stepper):
    last = len(stepper) - 1
    root_id = f"{stepper.prefix}stepper"
    data = stepper.restyler.browser_data()
    data["panels"] = [e.html() for e in stepper.explanations]
    data["labels"] = [frame_label(stepper, k) for k in range(len(stepper))]
    data["controls"] = controls_html(stepper)
    data_json = script_json(data)
    init = ('window.adnbStepper.init(document.currentScript ? '
            'document.currentScript.closest(".adnb-stepper") : '
            f'document.getElementById("{root_id}"));')
    return (
        f'<div class="adnb-stepper adnb-nojs" id="{root_id}" data-step="{last}" '
        f'data-start="{stepper.step}" tabindex="0" role="group" '
        f'aria-label="reverse-pass stepper: arrow keys step, Space plays">'
        f'<style>{stylesheet()}</style>'
        f'<div class="adnb-nojs-note">{html.escape(NO_SCRIPT_NOTE)}</div>'
        f'{body_html(stepper, last, still=True)}{legend_html(stepper.forward is not None)}'
        f'<script type="application/json" class="adnb-data">{data_json}</script>'
        f'<script type="text/plain" class="adnb-svg">{_inert_svg(svg_element(stepper.svg(last)))}'
        '</script>'
        f'<script>{static_text("stepper.js")}\n{init}</script>'
        '</div>')
