"""The course-handout API (CMU 11-785, HW1 bonus) on autodiff_nb's tape.

``autograd_engine`` (``Autograd``, ``Operation``), ``utils`` (``GradientBuffer``,
alias ``MemoryBuffer``), ``functional`` (the backward functions; HW2's in ``functional_hw2``) and ``nn``
(layers and losses), under the import paths the handouts use.
"""
from . import functional, functional_hw2, nn
from .autograd_engine import Autograd, Operation
from .utils import GradientBuffer, MemoryBuffer

__all__ = ["Autograd", "Operation", "GradientBuffer", "MemoryBuffer", "functional", "functional_hw2", "nn"]
