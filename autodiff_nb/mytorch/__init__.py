"""The course-handout API (CMU 11-785, HW1 bonus and HW3) on autodiff_nb's tape.

``autograd_engine`` (``Autograd``, ``Operation``), ``utils`` (``GradientBuffer``,
alias ``MemoryBuffer``), ``functional`` (the backward functions; HW2's in
``functional_hw2``), ``nn`` (layers and losses), and HW3's ``rnn_cell``,
``gru_cell``, ``models`` (phoneme classifier, character predictor) and ``ctc``
(loss and decoders), under the import paths the handouts use.
"""
from . import ctc, functional, functional_hw2, gru_cell, models, nn, rnn_cell
from .autograd_engine import Autograd, Operation
from .utils import GradientBuffer, MemoryBuffer

__all__ = ["Autograd", "Operation", "GradientBuffer", "MemoryBuffer", "functional",
           "functional_hw2", "nn", "rnn_cell", "gru_cell", "models", "ctc"]
