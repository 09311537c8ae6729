"""Convolution, pooling and flatten: forward, VJP and words side by side, as in ``primitives``.

Everything works on sliding windows. ``_windows`` views the (padded) input
as ``(N, C, *positions, *kernel)`` without a copy; a convolution is then a
dot product of every window with every kernel (one matrix product, the
"im2col" layout), and a pooling a max or mean over each window.

Backward goes the other way. A window's gradient is *added* back onto the
input positions it read (``_scatter_windows``): windows overlap, so one
input element receives "+=" from every window that used it. Read with the
kernel fixed, that sum is a full convolution of the output gradient with
the flipped kernel; the weight's gradient, a "+=" over every position where
the weight was used, is a correlation of the input with the output
gradient. PyTorch's layouts and semantics throughout: cross-correlation,
``(N, C, L)`` / ``(N, C, H, W)``, weights ``(C_out, C_in / groups, *K)``.
"""
from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .primitives import defprimitive

_SPATIAL = {1: "(N, C, L)", 2: "(N, C, H, W)"}


# --- geometry -----------------------------------------------------------------

def _span(kernel, dilation):
    """How many input positions one window covers along each axis."""
    return tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))


def _positions(size, kernel, stride, padding, dilation):
    """Output sizes: where a window fits in the padded input (PyTorch's floor rule)."""
    return tuple((n + 2 * p - s_pan) // s + 1
                 for n, p, s_pan, s in zip(size, padding, _span(kernel, dilation), stride))


def _geometry_problem(op, shape, kernel, stride, padding, dilation):
    """What is wrong with sliding ``kernel`` over an input of ``shape`` ('' if nothing)."""
    d = len(kernel)
    if len(shape) != d + 2:
        return (f"{op}: expected a batched input {_SPATIAL[d]} with {d + 2} dimensions, got "
                f"shape {shape}" + (" (add a batch axis: x.reshape(1, *x.shape))"
                                    if len(shape) == d + 1 else ""))
    for name, values, least in (("kernel size", kernel, 1), ("stride", stride, 1),
                                ("dilation", dilation, 1), ("padding", padding, 0)):
        if any(v < least for v in values):
            return f"{op}: {name} must be at least {least} in every dimension, got {values}"
    for axis, (n, p, span) in enumerate(zip(shape[2:], padding, _span(kernel, dilation))):
        if n + 2 * p < span:
            return (f"{op}: input dimension {axis + 2} has size {n} (+2×{p} padding = "
                    f"{n + 2 * p}), smaller than the kernel's span {span}; expected at "
                    f"least {span}")
    return ""


def _pad(x, padding, value=0.0):
    """``x`` inside a border of ``value`` (np.pad's general machinery costs more, here)."""
    if not any(padding):
        return x
    padded = np.full(x.shape[:2] + tuple(n + 2 * p for n, p in zip(x.shape[2:], padding)),
                     value, dtype=x.dtype)
    padded[(Ellipsis,) + tuple(slice(p, p + n) for p, n in zip(padding, x.shape[2:]))] = x
    return padded


def _windows(xp, kernel, stride, dilation):
    """The windows of the padded input ``xp``: a view of shape (N, C, *positions, *kernel)."""
    d = len(kernel)
    view = sliding_window_view(xp, _span(kernel, dilation), axis=tuple(range(2, 2 + d)))
    return view[(slice(None),) * 2 + tuple(slice(None, None, s) for s in stride)
                + tuple(slice(None, None, dil) for dil in dilation)]


def _tiling(shape, kernel, stride, padding, dilation):
    """Do the windows tile the input exactly (stride = kernel, no padding, sizes divisible)?"""
    return (not any(padding) and tuple(stride) == tuple(kernel)
            and all(dil == 1 or k == 1 for dil, k in zip(dilation, kernel))
            and all(n % k == 0 for n, k in zip(shape[2:], kernel)))


def _scatter_windows(grad_windows, shape, stride, padding, dilation):
    """The input gradient from each window's gradient: a "+=" wherever windows overlap.

    ``grad_windows`` has the windows' shape (N, C, *positions, *kernel); the
    result has the unpadded input's ``shape``. One loop turn per kernel
    offset adds that offset's gradients onto the strided input positions it read.
    """
    d = len(stride)
    positions = grad_windows.shape[2:2 + d]
    kernel = grad_windows.shape[2 + d:]
    if _tiling(shape, kernel, stride, padding, dilation):
        # Windows side by side, no overlap (a 2×2 pool at stride 2): each input element
        # belongs to exactly one window, so the "+=" is a plain rearrangement.
        order = (0, 1) + tuple(axis for i in range(d) for axis in (2 + i, 2 + d + i))
        return grad_windows.transpose(order).reshape(shape)
    padded = shape[:2] + tuple(n + 2 * p for n, p in zip(shape[2:], padding))
    grad = np.zeros(padded, dtype=grad_windows.dtype)
    for offset, target in _offsets(kernel, stride, dilation, positions):
        grad[target] += grad_windows[(Ellipsis,) + offset]
    return _crop(grad, padding, shape)


def _offsets(kernel, stride, dilation, positions):
    """Each kernel offset with the strided slice of the padded input it reads at every position."""
    for offset in np.ndindex(*kernel):
        yield offset, (slice(None),) * 2 + tuple(
            slice(k * dil, k * dil + s * (n - 1) + 1, s)
            for k, dil, s, n in zip(offset, dilation, stride, positions))


def _crop(padded, padding, shape):
    """The padded array's inner part, of the input's ``shape``."""
    return padded[(slice(None),) * 2 + tuple(slice(p, p + n) for p, n in zip(padding, shape[2:]))]


# --- convolution ----------------------------------------------------------------

def _conv_problem(name, shapes, params):
    """The shape error of conv1d / conv2d: which dimension, which sizes, what was expected."""
    x, w = shapes[0], shapes[1]
    d = len(params["stride"])
    groups = params["groups"]
    if len(w) != d + 2:
        return (f"{name}: expected a weight (C_out, C_in/groups, {', '.join('K' * d)}) with "
                f"{d + 2} dimensions, got shape {w}")
    problem = _geometry_problem(name, x, w[2:], params["stride"], params["padding"],
                                params["dilation"])
    if problem:
        return problem
    if groups < 1 or x[1] % groups or w[0] % groups:
        return (f"{name}: groups={groups} must divide both the input channels ({x[1]}) and "
                f"the output channels ({w[0]})")
    if w[1] * groups != x[1]:
        return (f"{name}: input of shape {x} has {x[1]} channels (dimension 1), but the "
                f"weight of shape {w} expects C_in = {w[1]}×{groups} groups = "
                f"{w[1] * groups}")
    if len(shapes) == 3 and shapes[2] != (w[0],):
        return f"{name}: expected a bias of shape ({w[0]},) (one per output channel), got {shapes[2]}"
    return f"{name}: cannot convolve input {x} with weight {w}"


def _columns(x, kernel, groups, stride, padding, dilation):
    """im2col: every window as a row, (groups, N·positions, C_in/groups · K...)."""
    windows = _windows(_pad(x, padding), kernel, stride, dilation)
    n, c = x.shape[:2]
    d = len(kernel)
    positions = windows.shape[2:2 + d]
    grouped = windows.reshape((n, groups, c // groups) + positions + tuple(kernel))
    order = (1, 0) + tuple(range(3, 3 + d)) + (2,) + tuple(range(3 + d, 3 + 2 * d))
    rows = n * math.prod(positions)
    width = c // groups * math.prod(kernel)
    return grouped.transpose(order).reshape(groups, rows, width), positions


def _conv(x, w, b=None, *, stride, padding, dilation, groups):
    if (len(w.shape) != len(stride) + 2 or len(x.shape) != len(stride) + 2 or groups < 1
            or x.shape[1] != w.shape[1] * groups or w.shape[0] % groups
            or (b is not None and b.shape != (w.shape[0],))
            or _geometry_problem("", x.shape, w.shape[2:], stride, padding, dilation)):
        raise ValueError("the shapes do not fit")    # apply() words it with _conv_problem
    n, out_channels = x.shape[0], w.shape[0]
    cols, positions = _columns(x, w.shape[2:], groups, stride, padding, dilation)
    kernels = w.reshape(groups, out_channels // groups, -1)
    out = cols @ kernels.transpose(0, 2, 1)                  # (groups, N·P, C_out/groups)
    out = out.reshape((groups, n) + positions + (out_channels // groups,))
    d = len(positions)
    out = out.transpose((1, 0, 2 + d) + tuple(range(2, 2 + d))).reshape(
        (n, out_channels) + positions)
    if b is not None:
        out = out + b.reshape((out_channels,) + (1,) * d)
    return np.ascontiguousarray(out)


def _conv_vjp(g, out, x, w, b=None, *, needs=(True, True, True), stride, padding, dilation,
              groups):
    n, c = x.shape[:2]
    out_channels, kernel = w.shape[0], w.shape[2:]
    d = len(kernel)
    positions = g.shape[2:]
    # The output gradient as (groups, N·positions, C_out/groups), the layout of the forward product.
    g_rows = g.reshape((n, groups, out_channels // groups, math.prod(positions)))
    g_rows = g_rows.transpose(1, 0, 3, 2).reshape(groups, n * math.prod(positions),
                                                  out_channels // groups)
    gx = gw = gb = None
    if needs[0]:    # each window's gradient, then "+=" back onto the positions it read
        kernels = w.reshape(groups, out_channels // groups, -1)
        grad_cols = (g_rows @ kernels).reshape((groups, n) + positions + (c // groups,) + kernel)
        order = (1, 0, 2 + d) + tuple(range(2, 2 + d)) + tuple(range(3 + d, 3 + 2 * d))
        grad_windows = grad_cols.transpose(order).reshape((n, c) + positions + kernel)
        gx = _scatter_windows(grad_windows, x.shape, stride, padding, dilation)
    if needs[1]:    # every weight "+=" over every position where it was used
        cols, _ = _columns(x, kernel, groups, stride, padding, dilation)
        gw = (g_rows.transpose(0, 2, 1) @ cols).reshape(w.shape)
    if b is not None and len(needs) > 2 and needs[2]:
        gb = np.add.reduce(g, axis=(0,) + tuple(range(2, 2 + d)))
    return (gx, gw) if b is None else (gx, gw, gb)


def _conv_formula(d):
    """conv2d({0}, {1}, {2}, stride=...): only the options that differ from the default."""
    def formula(n, params):
        arguments = ", ".join(f"{{{i}}}" for i in range(n))
        extras = "".join(f", {key}={{{key}}}" for key, default in
                         (("stride", 1), ("padding", 0), ("dilation", 1), ("groups", 1))
                         if key in params and _differs(params[key], default))
        return f"conv{d}d({arguments}{extras})"
    return formula


def _differs(value, default):
    values = value if isinstance(value, tuple) else (value,)
    return any(v != default for v in values)


_CONV_RULES = (
    # ∇x: every window that read x sends g[p]·w back to it ("+="): read with the kernel
    # fixed, that is the output gradient fully convolved with the kernel (flipped, slid over g).
    "full_conv({g}, flip({1})): each window's += onto the inputs it read",
    # ∇w: the same weight at every position, so one "+=" per position: a correlation.
    "corr({0}, {g}): one += per position the weight was used at",
    "Σ of {g} over batch and positions",
)

CONV = {
    d: defprimitive(f"conv{d}d", _conv, _conv_vjp, selective=True, symbol="⋆",
                    formula=_conv_formula(d), rules=_CONV_RULES, shape_error=_conv_problem)
    for d in (1, 2)
}


# --- pooling --------------------------------------------------------------------

def _pool_problem(name, shapes, params):
    kernel, stride = params["kernel_size"], params["stride"]
    padding, dilation = params["padding"], params.get("dilation", (1,) * len(kernel))
    problem = _geometry_problem(name, shapes[0], kernel, stride, padding, dilation)
    if problem:
        return problem
    if any(2 * p > k for p, k in zip(padding, kernel)):
        return (f"{name}: padding {padding} must be at most half the kernel size {kernel} "
                f"(as PyTorch): a window of padding alone has no value")
    return f"{name}: cannot pool an input of shape {shapes[0]} ({params})"


def _pool_windows(op, x, kernel_size, stride, padding, dilation, fill):
    if (_geometry_problem(op, x.shape, kernel_size, stride, padding, dilation)
            or any(2 * p > k for p, k in zip(padding, kernel_size))):
        raise ValueError("the shapes do not fit")    # apply() words it with _pool_problem
    windows = _windows(_pad(x, padding, fill), kernel_size, stride, dilation)
    return windows.reshape(windows.shape[:-len(kernel_size)] + (-1,))


def _max_pool(x, *, kernel_size, stride, padding, dilation):
    # One elementwise maximum per kernel offset over the strided slices: no window copies.
    xp, positions = _pool_input(x, kernel_size, stride, padding, dilation)
    out = None
    for _, target in _offsets(kernel_size, stride, dilation, positions):
        out = xp[target].copy() if out is None else np.maximum(out, xp[target], out=out)
    return out


def _max_pool_vjp(g, out, x, *, kernel_size, stride, padding, dilation):
    # The whole gradient goes to the first maximum of each window (ties: the first, as
    # PyTorch; a NaN counts as the maximum, as PyTorch's forward propagates it). Windows
    # that overlap each "+=" into the elements they share.
    xp, positions = _pool_input(x, kernel_size, stride, padding, dilation)
    nan_max = np.isnan(out) if np.isnan(out).any() else None
    taken = np.zeros(out.shape, dtype=bool)        # windows whose maximum was found already
    grad = np.zeros(xp.shape, dtype=g.dtype)
    zero = np.zeros((), dtype=g.dtype)
    for _, target in _offsets(kernel_size, stride, dilation, positions):
        value = xp[target]
        hit = value == out
        if nan_max is not None:
            hit |= nan_max & np.isnan(value)
        hit &= ~taken
        taken |= hit
        grad[target] += np.where(hit, g, zero)
    return (_crop(grad, padding, x.shape),)


def _pool_input(x, kernel_size, stride, padding, dilation):
    """The input padded with its lowest value (never a window's maximum), and the output sizes."""
    if (_geometry_problem("max_pool", x.shape, kernel_size, stride, padding, dilation)
            or any(2 * p > k for p, k in zip(padding, kernel_size))):
        raise ValueError("the shapes do not fit")    # apply() words it with _pool_problem
    lowest = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    return (_pad(x, padding, lowest),
            _positions(x.shape[2:], kernel_size, stride, padding, dilation))


def _avg_pool(x, *, kernel_size, stride, padding):
    # PyTorch's default count_include_pad=True: padding zeros count in every mean.
    flat = _pool_windows("avg_pool", x, kernel_size, stride, padding, (1,) * len(stride), 0)
    return np.add.reduce(flat, axis=-1) / math.prod(kernel_size)


def _avg_pool_vjp(g, out, x, *, kernel_size, stride, padding):
    share = (g / math.prod(kernel_size)).astype(g.dtype, copy=False)
    grad_windows = np.empty(g.shape + tuple(kernel_size), dtype=g.dtype)
    grad_windows[...] = share.reshape(g.shape + (1,) * len(kernel_size))
    return (_scatter_windows(grad_windows, x.shape, stride, padding, (1,) * len(stride)),)


MAX_POOL = {
    d: defprimitive(f"max_pool{d}d", _max_pool, _max_pool_vjp, symbol="max▦",
                    formula=f"max_pool{d}d({{0}}, kernel={{kernel_size}}, stride={{stride}})",
                    rules=("{g} routed to each window's (first) maximum, += where windows overlap",),
                    shape_error=_pool_problem)
    for d in (1, 2)
}
AVG_POOL = {
    d: defprimitive(f"avg_pool{d}d", _avg_pool, _avg_pool_vjp, symbol="avg▦",
                    formula=f"avg_pool{d}d({{0}}, kernel={{kernel_size}}, stride={{stride}})",
                    rules=("{g} / window size, spread over each window, += where windows overlap",),
                    shape_error=_pool_problem)
    for d in (1, 2)
}


# --- flatten --------------------------------------------------------------------

def _flatten(x, *, start_dim, end_dim):
    shape = x.shape
    if not 0 <= start_dim <= end_dim < len(shape):
        raise ValueError("dimensions out of range")
    return x.reshape(shape[:start_dim] + (math.prod(shape[start_dim:end_dim + 1]),)
                     + shape[end_dim + 1:])


def _flatten_problem(name, shapes, params):
    return (f"flatten: start_dim={params['start_dim']} and end_dim={params['end_dim']} must "
            f"name dimensions of the input of shape {shapes[0]}, start_dim ≤ end_dim")


FLATTEN = defprimitive(
    "flatten", _flatten, lambda g, out, x, *, start_dim, end_dim: (g.reshape(x.shape),),
    formula="flatten({0})", rules=("reshape({g}) to the input's shape",),
    shape_error=_flatten_problem)
