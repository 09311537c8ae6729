"""The live stepper (ipywidgets): first / prev / next / last, a frame slider, Play and its speed.

The slider is the one source of truth: buttons set it, ``Stepper.goto``
sets it, and its observer shows the frame (one ``Restyler.svg`` call, no
Graphviz). ``Play`` and the speed slider are ``jslink``-ed in the browser
(Play -> frame slider, speed -> Play's interval), so playing animates the
slider without a Python callback per tick; the kernel only redraws the
frame the slider lands on. Arrow keys step when the frame slider has focus.

The drawing and the panel are two HTML widgets side by side. The drawing's
widget is its own scroll box, and its element stays while each frame replaces
its content; the drawing is fitted to the box down to its legible scale, as
in the exported player. A widget's HTML runs no script, so it cannot scroll
itself to the operation of the step; instead each frame carries a marker on
that operation, and while "follow the step" is ticked the box snaps to it,
sideways and up and down, from the first step on (CSS scroll snapping,
``adnb-follow`` in stepper.css). Unticked, the box scrolls freely and stays
where the reader left it.
"""
from __future__ import annotations

import ipywidgets as W

from .page import frame_label, graph_html, legend_html, panel_html, stylesheet


class StepperWidget:
    """Builds the view once; ``show(k)`` puts frame ``k`` in it."""

    def __init__(self, stepper):
        self.stepper = stepper
        last = len(stepper) - 1
        layout = W.Layout(width="auto")
        self.buttons = {action: W.Button(description=text, tooltip=tip, layout=layout)
                        for action, text, tip in (
                            ("first", "|◀ First", "first frame: " + (
                                "only the leaves' values" if stepper.forward else "before backward")),
                            ("prev", "◀ Prev", "previous step"),
                            ("next", "Next ▶", "next step"),
                            ("last", "Last ▶|", "last frame: backward finished"))}
        self.slider = W.IntSlider(value=stepper.step, min=0, max=last, description="frame",
                                  continuous_update=True, layout=W.Layout(width="320px"))
        self.play = W.Play(value=stepper.step, min=0, max=last, step=1, interval=800,
                           description="Play", show_repeat=False)
        self.speed = W.IntSlider(value=800, min=100, max=2000, step=100,
                                 description="ms/step", layout=W.Layout(width="240px"))
        W.jslink((self.play, "value"), (self.slider, "value"))
        W.jslink((self.speed, "value"), (self.play, "interval"))
        self.counter = W.Label()
        self.view = W.HTML(layout=W.Layout(flex="1 1 340px", min_width="0", max_height="80vh",
                                           overflow="auto"))
        self.view.add_class("adnb-drawing-box")
        self.follow = W.Checkbox(value=True, description="follow the step", indent=False,
                                 layout=W.Layout(width="auto"))
        self.follow.observe(lambda change: self._follow(change["new"]), names="value")
        self._follow(True)
        self.panel = W.HTML(layout=W.Layout(flex="0 0 340px", max_width="100%", margin="0 0 0 12px"))
        style = W.HTML(f"<style>{stylesheet()}</style>")
        for action, button in self.buttons.items():
            button.on_click(lambda _, action=action: self.act(action))
        self.slider.observe(lambda change: self._shown(change["new"]), names="value")
        b = self.buttons
        controls = W.HBox([b["first"], b["prev"], self.play, b["next"], b["last"], self.slider,
                           self.counter, self.speed, self.follow],
                          layout=W.Layout(flex_flow="row wrap"))
        body = W.HBox([self.view, self.panel],
                      layout=W.Layout(flex_flow="row wrap", align_items="flex-start"))
        self.box = W.VBox([style, controls, body, W.HTML(legend_html(stepper.forward is not None))])
        self._shown(stepper.step)

    def act(self, action):
        """A button: move the slider (clamped: "next" on the last frame stays there)."""
        last = len(self.stepper) - 1
        k = {"first": 0, "prev": self.slider.value - 1, "next": self.slider.value + 1,
             "last": last}[action]
        self.slider.value = max(0, min(last, k))

    def _follow(self, on):
        if on:
            self.view.add_class("adnb-follow")
        else:
            self.view.remove_class("adnb-follow")

    def show(self, k):
        self.slider.value = k   # the observer redraws (if k is not shown already)

    def _shown(self, k):
        self.stepper._step = k
        self.view.value = (f'<div class="adnb-stepper adnb-live" data-step="{k}">'
                           f'{graph_html(self.stepper, k, marker=True)}</div>')
        self.panel.value = panel_html(self.stepper, k)
        self.counter.value = frame_label(self.stepper, k)
        last = len(self.stepper) - 1
        self.buttons["first"].disabled = self.buttons["prev"].disabled = k == 0
        self.buttons["next"].disabled = self.buttons["last"].disabled = k == last
