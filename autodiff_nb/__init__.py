"""autodiff_nb: see reverse-mode differentiation, one recorded operation at a time.

The engine is ``autodiff_nb.core``: a tape of NumPy operations with a
``Tensor`` front end and one table of primitives, importing nothing but
NumPy. Everything else reads the tape and is never imported by the engine:
drawings (``draw``), the reverse-pass stepper (``stepping``), layers and
training (``nn``, ``optim``, ``data``, ``training``, ``viz``), the
course-handout API (``mytorch``), exercises and the lesson-site export.
"""
from .checks import GradcheckError, gradcheck, jacobian
from .core import (PRIMITIVES, AnomalyError, DTypeError, GraphError, ReadOnlyError, ShapeError,
                   Tensor, abs, add, avg_pool1d, avg_pool2d, backward_steps, clip, concatenate,
                   conv1d, conv2d, detect_anomaly, enable_grad, exp, flatten, linear, log,
                   log_softmax, logsumexp, matmul, max, max_pool1d, max_pool2d, maximum, mean,
                   minimum, neg, no_grad, outer, relu, reshape, scope, sigmoid, sqrt, stack, sum,
                   tanh, tape_of, transpose, where)

# Consumers of the tape, after the engine they read.
from .draw import Graph, draw, side_by_side

# The engine knows nothing of drawings; the package gives its tensors a draw method.
Tensor.draw = lambda self, **options: draw(self, **options)
Tensor.draw.__doc__ = "Draw the computation that produced this tensor (see ``autodiff_nb.draw``)."
from .ctc import beam_search_decode, ctc_loss, greedy_decode
from .listing import show_tape
from .core.number_format import number_text
from .stepping import Stepper, step_through
from . import data, exercises, mytorch, nn, optim, viz
from .training import train

__version__ = "0.1.0"
