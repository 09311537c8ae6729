"""autodiff_nb: see reverse-mode differentiation, one recorded operation at a time.

The engine is a tape of NumPy operations (``tape.py``) with a ``Tensor``
front end (``tensor.py``) and one registry of primitives (``primitives.py``).
Everything else reads the tape and is never imported by the engine:
drawings (``draw``), the reverse-pass stepper (``stepping``), layers and
training (``nn``, ``optim``, ``data``, ``training``, ``viz``), the
course-handout API (``mytorch``), exercises and the lesson-site export.
"""
from .checks import GradcheckError, gradcheck, jacobian
from .errors import AnomalyError, DTypeError, GraphError, ShapeError
from .functions import (abs, add, clip, concatenate, exp, linear, log, log_softmax, logsumexp,
                        matmul, max, maximum, mean, minimum, neg, outer, relu, reshape,
                        sigmoid, sqrt, stack, sum, tanh, transpose, where)
from .primitives import PRIMITIVES
from .tape import TAPE, backward_steps, detect_anomaly, enable_grad, no_grad, scope
from .tensor import Tensor

# Consumers of the tape, after the engine they read.
from .draw import Graph, draw, side_by_side
from .listing import show_tape
from .stepping import Stepper, step_through
from . import data, exercises, mytorch, nn, optim, viz
from .training import train

__version__ = "0.1.0"
