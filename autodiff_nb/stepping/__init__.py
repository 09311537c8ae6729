"""The reverse-pass stepper: ``step_through(loss)`` replays backward one operation at a time.

* ``frames``: the frames, from the engine's own ``backward_steps`` snapshots (and,
  in forward mode, the forward pass in recording order before them);
* ``explain``: each step's chain-rule update, written as the lecture writes it;
* ``restyle``: every frame from one rendering of the drawing (Python side);
* ``page`` + ``static/stepper.js``: the same frames in plain HTML, no kernel;
* ``widget``: the live ipywidgets view;
* ``stepper``: ``step_through`` and ``Stepper``, which tie them together.
"""
from .stepper import Stepper, step_through

__all__ = ["Stepper", "step_through"]
