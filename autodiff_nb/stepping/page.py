"""``Stepper.to_html()``: the stepper as one self-contained HTML fragment.

The fragment holds the drawing once (the last frame, so that it reads well
when scripts cannot run), the chain-rule panel of that frame, the controls,
a JSON description of every frame and the player script, all inline: no
external resource, no network request. ``static/stepper.js`` restyles the
drawing exactly as ``restyle.Restyler`` does in Python.

The root element ``div.adnb-stepper`` carries ``data-step`` (the frame shown)
and ``tabindex="0"`` (arrow keys step when it has focus); buttons carry
``data-action`` = first, prev, next, last, play. Ids start with the
stepper's own prefix, so several steppers share a page without interfering.
"""
from __future__ import annotations

import html
import json
from importlib import resources

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


def static_text(name):
    """A file of ``autodiff_nb/static`` (the player's JS and CSS)."""
    return resources.files("autodiff_nb").joinpath("static", name).read_text(encoding="utf-8")


def frame_label(stepper, k):
    """What the counter says: "Before backward (0 / 12)", "Step 3 / 12"."""
    steps = len(stepper) - 1
    return f"Before backward (0 / {steps})" if k == 0 else f"Step {k} / {steps}"


def body_html(stepper, k):
    """The drawing and the chain-rule panel of frame ``k``, side by side."""
    return (f'<div class="adnb-body"><div class="adnb-graph">{stepper.svg(k)}</div>'
            f'<div class="adnb-panel">{stepper.explanation(k).html()}</div></div>')


def legend_html():
    items = "".join(f'<span><span class="adnb-swatch" style="background:{fill};'
                    f'border-color:{border}"></span>{html.escape(text)}</span>'
                    for fill, border, text in LEGEND)
    return f'<div class="adnb-legend">{items}</div>'


def _json_script(data):
    """JSON safe inside <script>: no "</" can end the element early."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")


def stepper_html(stepper):
    last = len(stepper) - 1
    root_id = f"{stepper.prefix}stepper"
    data = stepper.restyler.browser_data()
    data["panels"] = [e.html() for e in stepper.explanations]
    data["labels"] = [frame_label(stepper, k) for k in range(len(stepper))]
    speeds = "".join(f'<option value="{ms}"{" selected" if name == "normal" else ""}>{name}</option>'
                     for name, ms in SPEEDS)
    controls = (
        '<div class="adnb-controls">'
        '<button type="button" data-action="first" title="First frame (Home)">|◀ First</button>'
        '<button type="button" data-action="prev" title="Previous step (←)">◀ Prev</button>'
        '<button type="button" data-action="play" title="Play the steps">▶ Play</button>'
        '<button type="button" data-action="next" title="Next step (→)">Next ▶</button>'
        '<button type="button" data-action="last" title="Last frame (End)">Last ▶|</button>'
        f'<input type="range" class="adnb-slider" min="0" max="{last}" value="{last}" '
        f'aria-label="frame">'
        f'<span class="adnb-counter">{html.escape(frame_label(stepper, last))}</span>'
        f'<label class="adnb-hint">speed <select class="adnb-speed">{speeds}</select></label>'
        '<span class="adnb-hint">click here, then ← → to step</span>'
        '</div>')
    init = ('window.adnbStepper.init(document.currentScript ? '
            'document.currentScript.closest(".adnb-stepper") : '
            f'document.getElementById("{root_id}"));')
    return (
        f'<div class="adnb-stepper adnb-nojs" id="{root_id}" data-step="{last}" tabindex="0">'
        f'<style>{static_text("stepper.css")}</style>'
        f'{controls}'
        '<div class="adnb-nojs-note">Scripts are off: this is the finished backward pass '
        '(the last frame).</div>'
        f'{body_html(stepper, last)}{legend_html()}'
        f'<script type="application/json" class="adnb-data">{_json_script(data)}</script>'
        f'<script>{static_text("stepper.js")}\n{init}</script>'
        '</div>')
