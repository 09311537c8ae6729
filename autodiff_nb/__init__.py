"""autodiff_nb: see reverse-mode differentiation, one recorded operation at a time.

The engine is a tape of NumPy operations (``tape.py``) with a ``Tensor``
front end (``tensor.py``) and one registry of primitives (``primitives.py``).
"""
from .checks import GradcheckError, gradcheck, jacobian
from .errors import AnomalyError, DTypeError, GraphError, ShapeError
from .functions import (abs, add, clip, concatenate, exp, log, log_softmax, logsumexp, matmul,
                        max, maximum, mean, minimum, neg, outer, relu, reshape, sigmoid,
                        sqrt, stack, sum, tanh, transpose, where)
from .primitives import PRIMITIVES
from .stepping import Stepper, step_through
from .tape import TAPE, backward_steps, detect_anomaly, enable_grad, no_grad, scope
from .tensor import Tensor

__version__ = "0.1.0"
