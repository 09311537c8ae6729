"""Small heatmap thumbnails of images in a drawing: feature maps and kernels instead of numbers.

An array of three or more dimensions (a kernel ``(C_out, C_in, K, K)``, a
feature map ``(N, C, H, W)``) is shown as its first few 2-D slices over the
last two axes, each a grid of coloured Graphviz table cells: no image files,
so the DOT (and the SVG) is the same bytes on every run. One symmetric
colour scale for all slices of a node, blue for negative, white for 0, red
for positive, stated under the thumbnails; NaN and inf are grey.
"""
from __future__ import annotations

import math

import numpy as np

from . import formatting as fmt

MAX_SLICES = 8          # thumbnails per node
MAX_SIDE = 16           # cells per side; larger images are subsampled
SIDE_POINTS = 36        # a thumbnail's size in points, whatever its number of cells
NEGATIVE, POSITIVE, NOT_FINITE = (33, 102, 172), (178, 24, 43), "#bdbdbd"


def wants_thumbnails(array) -> bool:
    """Images only: three or more dimensions, too many numbers to write out."""
    return array is not None and array.ndim >= 3 and array.size > fmt.MATRIX_LIMIT


def colour(value, scale):
    """#rrggbb on the blue-white-red scale for ``value`` in [-scale, scale]."""
    if not math.isfinite(value):
        return NOT_FINITE
    t = max(-1.0, min(1.0, value / scale))
    end = POSITIVE if t > 0 else NEGATIVE
    rgb = [round(255 + (c - 255) * abs(t)) for c in end]
    return "#" + "".join(f"{c:02x}" for c in rgb)


def thumbnails(array, caption_colour, numbers=fmt.DISPLAY) -> str:
    """HTML-like label content: the thumbnails side by side, then the colour scale."""
    h, w = array.shape[-2:]
    slices = array.reshape(-1, h, w)
    shown = slices[:MAX_SLICES]
    step = max(1, math.ceil(max(h, w) / MAX_SIDE))
    shown = shown[:, ::step, ::step]
    finite = np.abs(shown[np.isfinite(shown)])
    scale = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    cell = max(2, SIDE_POINTS // max(shown.shape[1:]))
    images = "".join(f"<TD>{_image(s, scale, cell)}</TD>" for s in shown.astype(float))
    which = (f"all {len(slices)}" if len(slices) <= MAX_SLICES
             else f"first {MAX_SLICES} of {len(slices)}")
    sampled = f", every {step}th pixel" if step > 1 else ""
    caption = (f'<FONT POINT-SIZE="8" COLOR="{caption_colour}">{which} {h}×{w} slices{sampled}; '
               f'blue −{numbers.number(scale)} · white 0 · red +{numbers.number(scale)}</FONT>')
    return (f'<TABLE BORDER="0" CELLSPACING="2" CELLPADDING="0"><TR>{images}</TR>'
            f'<TR><TD COLSPAN="{len(shown)}">{caption}</TD></TR></TABLE>')


def _image(image, scale, cell):
    rows = "".join(
        "<TR>" + "".join(f'<TD FIXEDSIZE="TRUE" WIDTH="{cell}" HEIGHT="{cell}" '
                         f'BGCOLOR="{colour(v, scale)}"></TD>' for v in row) + "</TR>"
        for row in image.tolist())
    return f'<TABLE BORDER="1" CELLBORDER="0" COLOR="#bdbdbd" CELLSPACING="0" CELLPADDING="0">{rows}</TABLE>'
