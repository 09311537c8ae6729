"""HW2's downsampling and flattening (``mytorch.nn.resampling``, ``Flatten``).

``Downsample1d(k)`` keeps every k-th position from 0. The factor is recorded
as a second, constant input (``np.array([k])``), as the course's code does,
and takes no gradient.
"""
from __future__ import annotations

import numpy as np

from .. import functional_hw2 as F
from .module import Module, in_scope


class _Downsample(Module):
    backward_function = None
    dims = 0

    def __init__(self, downsampling_factor, autograd_engine):
        super().__init__(autograd_engine)
        self.downsampling_factor = int(downsampling_factor)

    @in_scope
    def forward(self, A):
        k = self.downsampling_factor
        factor = self.autograd_engine.label(np.array([k]), f"k={k}", constant=True)
        Z = np.ascontiguousarray(A[(slice(None),) * 2 + (slice(None, None, k),) * self.dims])
        self.autograd_engine.add_operation([A, factor], Z, [None, None],
                                           type(self).backward_function)
        return Z


class Downsample1d(_Downsample):
    """Z = A[:, :, ::k]."""

    dims = 1
    backward_function = staticmethod(F.downsampling1d_backward)


class Downsample2d(_Downsample):
    """Z = A[:, :, ::k, ::k]."""

    dims = 2
    backward_function = staticmethod(F.downsampling2d_backward)


class Flatten(Module):
    """Z = A.reshape(N, -1): (N, C, W) or (N, C, H, W) to one row per example."""

    @in_scope
    def forward(self, A):
        Z = A.reshape(A.shape[0], -1).copy()
        self.autograd_engine.add_operation([A], Z, [None], F.flatten_backward)
        return Z
