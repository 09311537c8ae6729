/* autodiff_nb stepper: replay a reverse pass in the browser, with no kernel.
 *
 * The page holds ONE drawing (the last frame: every gradient filled in, so
 * every cell already has its final width and nothing moves) and a compact
 * JSON description of the frames. Going to frame k restyles that drawing:
 * each gradient cell takes the text and state of its last change at or
 * before k (blank before its first write), and the operation, edges and
 * cells of step k get the "current" classes. No frame depends on the frame
 * shown before it, so jumping anywhere is one pass over the cells.
 *
 * The static markup is what a reader without scripts sees (see page.py): the
 * last frame as an <img>, its panel, a note. The player turns it live: it
 * puts the inline SVG carried in script.adnb-svg above that picture (which
 * it hides, not removes), adds the controls from the JSON data and removes
 * the note.
 *
 * Several steppers on one page: every lookup starts from the stepper's own
 * root element, and the script defines the player once (window.adnbStepper).
 */
(function () {
  "use strict";
  if (window.adnbStepper) { return; }

  var MARKS = ["adnb-current", "adnb-sent", "adnb-arriving", "adnb-wrote", "adnb-accumulated",
               "adnb-shown"];
  var STATES = ["adnb-blank", "adnb-partial", "adnb-final"];
  var XLINK = "http://www.w3.org/1999/xlink";

  function Player(root) {
    this.root = root;
    this.data = JSON.parse(root.querySelector("script.adnb-data").textContent);
    this.count = this.data.labels.length;
    this.svg = this.liven();
    this.panel = root.querySelector(".adnb-panel");
    this.slider = root.querySelector("input.adnb-slider");
    this.counter = root.querySelector(".adnb-counter");
    this.speed = root.querySelector("select.adnb-speed");
    this.playButton = root.querySelector('[data-action="play"]');
    this.timer = null;
    this.cells = {};
    for (var id in this.data.cells) {
      var group = this.find(id);
      if (group) {
        this.cells[id] = {group: group, link: group.querySelector("a"),
                        texts: group.querySelectorAll("text.adnb-n")};
      }
    }
    this.bind();
    this.addPrintedSteps();
    root.classList.remove("adnb-nojs");
    this.fitToWindow();
    this.go(this.linked() !== null ? this.linked() :
            (parseInt(root.getAttribute("data-start"), 10) || 0));
  }

  Player.prototype.addPrintedSteps = function () {
    // For print only (stepper.css): every frame's panel in order, after the drawing
    // (class adnb-printed, so that scripts and tests looking for the panel find one);
    // printing shows the finished pass, then goes back to the frame on screen.
    var list = document.createElement("ol"), self = this, shown = null;
    list.className = "adnb-print-steps";
    for (var k = 1; k < this.count; k++) {
      var item = document.createElement("li");
      item.innerHTML = '<div class="adnb-printed">' + this.data.panels[k] + "</div>";
      list.appendChild(item);
    }
    this.root.querySelector(".adnb-body").insertAdjacentElement("afterend", list);
    window.addEventListener("beforeprint", function () { shown = self.step; self.go(self.count - 1); });
    window.addEventListener("afterprint", function () { if (shown !== null) { self.go(shown); } });
  };

  Player.prototype.fitToWindow = function () {
    // Lay the stepper out for the window (stepper.css, "Any width"), now and whenever
    // the window changes: side by side or stacked, and the room under the controls
    // (--adnb-room): the viewport's height less what sits above the drawing and below
    // it, so that controls, drawing and panel are seen together once the stepper is
    // scrolled to.
    var self = this, graph = this.svg && this.svg.parentNode;
    this.measure = function () {
      var root = self.root, body = root.querySelector(".adnb-body");
      var style = window.getComputedStyle(root);
      root.classList.toggle("adnb-stacked", self.stacks());
      var above = body.getBoundingClientRect().top - root.getBoundingClientRect().top;
      var below = parseFloat(style.paddingBottom) + parseFloat(style.borderBottomWidth);
      var room = Math.max(200, window.innerHeight - above - below - 4);
      root.style.setProperty("--adnb-room", room + "px");
      if (graph) {
        var gap = parseFloat(window.getComputedStyle(body).rowGap) || 0;
        root.style.setProperty("--adnb-panel-room",
                               Math.max(120, room - graph.offsetHeight - gap) + "px");
      }
      self.cue();
    };
    this.measure();
    window.addEventListener("resize", this.measure);
    if (graph) {
      graph.addEventListener("scroll", function () { self.cue(); }, {passive: true});
      if (window.ResizeObserver) { new ResizeObserver(function () { self.cue(); }).observe(graph); }
    }
  };

  Player.prototype.stacks = function () {
    // Stack the panel under the drawing when beside it the drawing would have less than
    // its 320 px (the panel wraps), or would be cut where above the panel it is whole
    // (in the 55% of the room it gets there).
    var root = this.root, graph = this.svg && this.svg.parentNode;
    var view = graph && graph.parentNode, panel = this.panel;
    if (!view || !panel) { return false; }
    root.classList.remove("adnb-stacked");
    if (panel.getBoundingClientRect().top > view.getBoundingClientRect().top + 1) { return true; }
    var scale = this.zoomed || parseFloat(graph.style.getPropertyValue("--adnb-min-scale")) || 1;
    var wide = scale * this.svg.width.baseVal.value, high = scale * this.svg.height.baseVal.value;
    var room = parseFloat(root.style.getPropertyValue("--adnb-room")) || window.innerHeight;
    var whole = root.querySelector(".adnb-body").clientWidth;
    return graph.clientWidth < wide && wide <= whole && high <= 0.55 * room;
  };

  Player.prototype.cue = function () {
    // Mark the sides of the drawing's box that have more to scroll to (adnb-more-right...):
    // stepper.css fades those edges and tags the box "scroll →"; at the end, the cue goes.
    var graph = this.svg && this.svg.parentNode, view = graph && graph.parentNode;
    if (!view || !view.classList.contains("adnb-view")) { return; }
    var wide = graph.scrollWidth - graph.clientWidth, high = graph.scrollHeight - graph.clientHeight;
    view.classList.toggle("adnb-more-right", wide - graph.scrollLeft > 1);
    view.classList.toggle("adnb-more-left", wide > 1 && graph.scrollLeft > 1);
    view.classList.toggle("adnb-more-down", high - graph.scrollTop > 1);
    view.classList.toggle("adnb-more-up", high > 1 && graph.scrollTop > 1);
  };

  Player.prototype.linked = function () {
    // "#<root id>/<frame>" in the page's address: open at that frame (a link to a step).
    var hash = window.location.hash, prefix = "#" + this.root.id + "/";
    if (!this.root.id || hash.indexOf(prefix) !== 0) { return null; }
    var k = parseInt(hash.slice(prefix.length), 10);
    return k >= 0 && k < this.count ? k : null;
  };

  Player.prototype.liven = function () {
    // From the no-script view to the player: inline SVG, controls, no note.
    var root = this.root, graph = root.querySelector(".adnb-graph");
    var source = root.querySelector("script.adnb-svg");
    var still = graph.querySelector("img.adnb-still");
    graph.insertAdjacentHTML("afterbegin", source ? source.textContent : "");
    if (still) { still.hidden = true; }
    root.querySelector(".adnb-body").insertAdjacentHTML("beforebegin", this.data.controls);
    var note = root.querySelector(".adnb-nojs-note");
    if (note) { note.parentNode.removeChild(note); }
    return graph.querySelector("svg");
  };

  Player.prototype.find = function (id) {
    // Scoped to this stepper: ids only need to be unique within it.
    return this.svg ? this.svg.querySelector('[id="' + id + '"]') : null;
  };

  Player.prototype.bind = function () {
    var self = this;
    this.root.addEventListener("click", function (event) {
      var button = event.target.closest("[data-action]");
      if (button && self.root.contains(button)) { self.act(button.getAttribute("data-action")); }
    });
    this.root.addEventListener("keydown", function (event) {
      var keys = {ArrowRight: "next", ArrowDown: "next", ArrowLeft: "prev", ArrowUp: "prev",
                  Home: "first", End: "last", " ": "play",
                  "+": "zoom-in", "=": "zoom-in", "-": "zoom-out", "0": "fit"};
      if (event.target === self.slider || event.target === self.speed) { return; }
      if (event.key === " " && event.target.closest("button")) { return; }  // Space clicks it
      if (keys[event.key]) {
        event.preventDefault();
        self.act(keys[event.key]);
      }
    });
    if (this.slider) {
      this.slider.addEventListener("input", function () {
        self.stop();
        self.go(parseInt(self.slider.value, 10));
      });
    }
    if (this.speed) {
      this.speed.addEventListener("change", function () {
        if (self.timer) { self.stop(); self.play(); }
      });
    }
  };

  Player.prototype.act = function (action) {
    var last = this.count - 1, step = this.step;
    if (action === "play") { return this.timer ? this.stop() : this.play(); }
    if (action === "save") { return this.save(); }
    if (action === "zoom-in" || action === "zoom-out" || action === "fit") {
      return this.zoom(action);
    }
    this.stop();
    if (action === "first") { this.go(0); }
    else if (action === "prev") { this.go(Math.max(0, step - 1)); }
    else if (action === "next") { this.go(Math.min(last, step + 1)); }
    else if (action === "last") { this.go(last); }
  };

  Player.prototype.zoom = function (action) {
    // Scale the drawing: "fit" the whole of it to the width of its area (an overview,
    // even below the legible scale it keeps by default), or 1.25 times larger or smaller
    // than now (a quarter, or the fitted scale if smaller, to four times its natural
    // size). The natural width is --adnb-width, in Graphviz's points.
    var graph = this.svg && this.svg.parentNode;
    var points = graph && parseFloat(graph.style.getPropertyValue("--adnb-width"));
    if (!points) { return; }
    var natural = points * 4 / 3;
    var now = this.zoomed || this.svg.getBoundingClientRect().width / natural;
    var fit = Math.min(1, (graph.clientWidth - 1) / natural);
    var scale = action === "fit" ? fit : action === "zoom-in" ? now * 1.25 : now / 1.25;
    this.zoomed = Math.max(Math.min(0.25, fit), Math.min(4, scale));
    graph.style.setProperty("--adnb-zoom", String(this.zoomed));
    graph.classList.add("adnb-zoomed");
    this.root.setAttribute("data-zoom", this.zoomed.toFixed(3));
    this.measure();
    this.reveal(this.data.marks[this.step]);
  };

  Player.prototype.save = function () {
    // The drawing of the finished pass as an .svg file, made in the page (a blob:
    // address): nothing is fetched or sent.
    var source = this.root.querySelector("script.adnb-svg");
    if (!source) { return; }
    var blob = new Blob(['<?xml version="1.0" encoding="UTF-8"?>\n' + source.textContent],
                        {type: "image/svg+xml"});
    var link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = (this.root.id || "stepper") + ".svg";
    document.body.appendChild(link);
    link.click();
    document.body.removeChild(link);
    window.setTimeout(function () { URL.revokeObjectURL(link.href); }, 0);
  };

  Player.prototype.play = function () {
    var self = this;
    if (this.step >= this.count - 1) { this.go(0); }
    this.timer = window.setInterval(function () {
      if (self.step >= self.count - 1) { self.stop(); } else { self.go(self.step + 1); }
    }, this.speed ? parseInt(this.speed.value, 10) : 800);
    this.root.classList.add("adnb-playing");
    if (this.playButton) { this.playButton.textContent = "‖ Pause"; }
  };

  Player.prototype.stop = function () {
    if (!this.timer) { return; }
    window.clearInterval(this.timer);
    this.timer = null;
    this.root.classList.remove("adnb-playing");
    if (this.playButton) { this.playButton.textContent = "▶ Play"; }
  };

  Player.prototype.go = function (k) {
    var data = this.data;
    k = Math.max(0, Math.min(this.count - 1, k));
    this.step = k;
    for (var id in this.cells) { this.showCell(this.cells[id], data.cells[id], k); }
    var marked = this.svg ? this.svg.querySelectorAll("." + MARKS.join(", .")) : [];
    for (var i = 0; i < marked.length; i++) { marked[i].classList.remove.apply(marked[i].classList, MARKS); }
    var marks = data.marks[k];
    for (var cls in marks) {
      for (var j = 0; j < marks[cls].length; j++) {
        var element = this.find(marks[cls][j]);
        if (element) { element.classList.add(cls); }
      }
    }
    // An unrolled RNN: every time step but this frame's is folded (restyle.py, FOLD_STYLE).
    if (data.open && this.svg) { this.svg.setAttribute("data-adnb-open", data.open[k]); }
    this.reveal(marks);
    this.panel.innerHTML = data.panels[k];
    this.cue();
    this.root.setAttribute("data-step", String(k));
    if (this.slider) {
      this.slider.value = String(k);
      this.slider.setAttribute("aria-valuetext", data.labels[k]);
    }
    if (this.counter) { this.counter.textContent = data.labels[k]; }
    var buttons = this.root.querySelectorAll("[data-action]");
    for (var b = 0; b < buttons.length; b++) {
      var action = buttons[b].getAttribute("data-action");
      buttons[b].disabled = (k === 0 && (action === "first" || action === "prev")) ||
                            (k === this.count - 1 && (action === "next" || action === "last"));
    }
  };

  Player.prototype.reveal = function (marks) {
    // Scroll the drawing area (only it, never the page) so that the operation
    // visited and the edges it sends gradients along are in view, sideways and
    // up and down: centred on them when they were not (the operation itself
    // when they do not fit together). A large drawing does not fit, and the
    // reverse pass starts at the far end of it.
    var area = this.svg && this.svg.parentNode;
    var op = this.find((marks["adnb-current"] || [])[0]);
    if (!op || !area) { return; }
    var box = op.getBoundingClientRect(), view = area.getBoundingClientRect();
    var around = {left: box.left, right: box.right, top: box.top, bottom: box.bottom};
    var sent = marks["adnb-sent"] || [];
    for (var i = 0; i < sent.length; i++) {
      var edge = this.find(sent[i]), r = edge && edge.getBoundingClientRect();
      if (!r) { continue; }
      around.left = Math.min(around.left, r.left); around.right = Math.max(around.right, r.right);
      around.top = Math.min(around.top, r.top); around.bottom = Math.max(around.bottom, r.bottom);
    }
    var width = area.clientWidth, height = area.clientHeight;
    if (around.right - around.left > width) { around.left = box.left; around.right = box.right; }
    if (around.bottom - around.top > height) { around.top = box.top; around.bottom = box.bottom; }
    // "In view" leaves a margin (under the edge's fade), so what the edges lead to shows too.
    var x = Math.min(60, width / 10), y = Math.min(60, height / 10);
    if (around.left < view.left + x || around.right > view.left + width - x) {
      area.scrollLeft += (around.left + around.right) / 2 - (view.left + width / 2);
    }
    if (around.top < view.top + y || around.bottom > view.top + height - y) {
      area.scrollTop += (around.top + around.bottom) / 2 - (view.top + height / 2);
    }
  };

  Player.prototype.showCell = function (cell, timeline, k) {
    // timeline: [[frame, [text, ...], state], ...] in frame order; state 1 partial, 2 final.
    var entry = null;
    for (var i = 0; i < timeline.length && timeline[i][0] <= k; i++) { entry = timeline[i]; }
    var texts = entry ? entry[1] : [];
    for (var t = 0; t < cell.texts.length; t++) {
      cell.texts[t].textContent = t < texts.length ? texts[t] : "";
    }
    if (cell.link && entry) { cell.link.setAttributeNS(XLINK, "title", entry[3]); }
    cell.group.classList.remove.apply(cell.group.classList, STATES);
    cell.group.classList.add(STATES[entry ? entry[2] : 0]);
  };

  window.adnbStepper = {
    init: function (root) {
      if (root && !root.adnbPlayer) { root.adnbPlayer = new Player(root); }
    }
  };
})();
