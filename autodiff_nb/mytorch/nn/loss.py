"""The handout's losses (``mytorch.nn.loss``): ``forward(y, y_hat)`` with the ground truth first."""
from __future__ import annotations

import numpy as np

from ...core.errors import GraphError, at_user_line
from .. import functional as F
from .module import Module, constant, in_scope


class LossFN(Module):
    """A loss: ``forward(y, y_hat)`` (ground truth first) sets ``loss_val``, of shape (1,)."""

    def __init__(self, autograd_engine):
        super().__init__(autograd_engine)
        self.loss_val = None

    def forward(self, y, y_hat):
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self):
        """Backpropagate from ``loss_val``, starting from d(loss)/d(loss) = 1."""
        operations = self.autograd_engine.operation_list
        if not operations or operations[-1].output is not self.loss_val:
            raise GraphError(at_user_line(
                f"{self.name}.backward: the engine's last recorded operation is not this "
                f"loss, and backward starts from the last one; expected forward(y, y_hat) "
                f"to be the last operation recorded before backward()"))
        self.autograd_engine.backward(1)

    def _label_target(self, y):
        """Show the ground truth as the constant "y", unless on the tape already (autoencoders)."""
        if not self.autograd_engine.gradient_buffer.is_in_memory(y):
            self.autograd_engine.label(y, "y", constant=True)


class MSELoss(LossFN):
    """Mean of the squared errors over all elements (PyTorch's default reduction)."""

    @in_scope
    def forward(self, y, y_hat):
        engine = self.autograd_engine
        self._label_target(y)
        error = y_hat - y
        engine.add_operation([y_hat, y], error, [None, None], F.sub_backward)
        squared = error * error
        engine.add_operation([error, error], squared, [None, None], F.mul_backward)
        total = np.sum(squared).reshape(1)
        engine.add_operation([squared], total, [None], F.sum_backward)
        count = constant(engine, squared.size)
        self.loss_val = total / count
        engine.add_operation([total, count], self.loss_val, [None, None], F.div_backward)
        return self.loss_val


class SoftmaxCrossEntropy(LossFN):
    """Cross-entropy of softmax(``y_hat``) against one-hot rows ``y``, averaged over the batch."""

    @in_scope
    def forward(self, y, y_hat):
        engine = self.autograd_engine
        self._label_target(y)
        self.loss_val = -np.sum(y * F.log_softmax(y_hat)).reshape(1) / len(y_hat)
        engine.add_operation([y_hat, y], self.loss_val, [None, None],
                             F.SoftmaxCrossEntropy_backward)
        return self.loss_val
