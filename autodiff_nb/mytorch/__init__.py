"""The course-handout API (CMU 11-785, HW1 bonus) on autodiff_nb's tape.

``autograd_engine`` (``Autograd``, ``Operation``), ``utils`` (``GradientBuffer``,
alias ``MemoryBuffer``), ``functional`` (the backward functions) and ``nn``
(layers and losses), under the import paths the handouts use.
"""
from . import functional, nn
from .autograd_engine import Autograd, Operation
from .utils import GradientBuffer, MemoryBuffer

__all__ = ["Autograd", "Operation", "GradientBuffer", "MemoryBuffer", "functional", "nn"]
