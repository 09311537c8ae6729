"""The engine: a tape of NumPy operations and the reverse pass that walks it.

Read it in this order: ``primitives`` (every operation: forward, VJP and
chain-rule text side by side), ``tensor`` (the front end that runs and
records them), ``tape`` (records, and the reverse loop), ``guard`` (arrays the
tape needs stay read-only), ``errors``. It imports nothing but NumPy and the
standard library; drawings, the stepper, ``nn`` and the course-handout API
read its records and steps and are never imported by it.
"""
from .errors import AnomalyError, DTypeError, GraphError, ReadOnlyError, ShapeError
from .functions import (abs, add, avg_pool1d, avg_pool2d, clip, concatenate, conv1d, conv2d,
                        exp, flatten, linear, log, log_softmax, logsumexp, matmul, max,
                        max_pool1d, max_pool2d, maximum, mean, minimum, neg, outer, relu,
                        reshape, sigmoid, sqrt, stack, sum, tanh, transpose, where)
from .primitives import PRIMITIVES, defprimitive
from .tape import (Pass, Record, Step, Update, backward_steps, detect_anomaly, enable_grad,
                   no_grad, scope, tape_of)
from .tensor import Tensor, apply
