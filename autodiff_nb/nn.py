"""Layers, activations and losses made only of engine operations.

Nothing here has a hand-written backward: ``Linear`` is ``x @ Wᵀ + b`` on the
tape, ``CrossEntropyLoss`` is ``log_softmax``, a pick and a mean. So the
drawing of a network shows exactly the decomposition the lecture teaches,
and every gradient comes from the same primitives the learner has stepped
through. Each module call opens a ``scope`` named after the module
("0.Linear", "fc1", "MLP"), which drawings use to collapse a layer into one
box.

The layout, initialisation and naming follow PyTorch (``weight`` of shape
(out, in), U(-1/√in, 1/√in) for weight and bias), so code written against
``autodiff_nb.nn`` reads like ``torch.nn`` code and gives the same numbers.
Initialisation is deterministic: pass ``seed=`` or call ``manual_seed(n)``.
"""
from __future__ import annotations

import numpy as np

from .core import functions as F
from .core.errors import ShapeError, at_user_line
from .core.tape import SCOPE
from .core.tensor import Tensor

_generator = np.random.default_rng(0)


def manual_seed(seed):
    """Reset the generator that layers created without ``seed=`` draw their weights from."""
    global _generator
    _generator = np.random.default_rng(seed)


def _rng(seed):
    if seed is None:
        return _generator
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def _as_tensor(x):
    return x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=np.float64))


class Module:
    """Base class: parameters and submodules are found among the attributes.

    A parameter is any leaf Tensor attribute that requires a gradient; a
    submodule is any Module attribute (hold a list of modules in a
    ``Sequential``: plain lists are not searched). Subclasses write ``forward``; calling
    the module runs it inside a ``scope`` named after the module, so the tape
    knows which layer recorded each operation.
    """

    training = True
    _scope_name = None      # set by the parent that holds this module

    def __setattr__(self, name, value):
        if isinstance(value, Module) and not name.startswith("_"):
            value._adopt(name)
        object.__setattr__(self, name, value)

    def _adopt(self, name):
        """Become the child ``name`` of some parent: rename the scope and parameters."""
        self._scope_name = name if not name.isdigit() else f"{name}.{type(self).__name__}"
        for path, parameter in self.named_parameters():
            parameter.name = f"{name}.{path}"

    def named_children(self):
        """``(name, module)`` pairs of the direct submodules, in assignment order."""
        return [(k, v) for k, v in vars(self).items()
                if isinstance(v, Module) and not k.startswith("_")]

    def named_parameters(self):
        """``(dotted path, tensor)`` pairs of every parameter, this module's first."""
        found = [(k, v) for k, v in vars(self).items()
                 if isinstance(v, Tensor) and v.requires_grad and v.is_leaf]
        for child_name, child in self.named_children():
            found += [(f"{child_name}.{path}", p) for path, p in child.named_parameters()]
        return found

    def parameters(self):
        """Every parameter, in the order of ``named_parameters()``."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self):
        """Forget the gradients of the last backward (``.grad = None``, as PyTorch)."""
        for p in self.parameters():
            p.grad = None

    def train(self, mode=True):
        """Switch this module and its submodules to training mode (returns self)."""
        object.__setattr__(self, "training", mode)
        for _, child in self.named_children():
            child.train(mode)
        return self

    def eval(self):
        """Switch to evaluation mode (``train(False)``)."""
        return self.train(False)

    def forward(self, x):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        # ``with scope(...)`` written out: a network calls this for every layer of every
        # step, and the with-statement costs several times these lines.
        token = SCOPE.set(SCOPE.get() + (self._scope_name or type(self).__name__,))
        try:
            return self.forward(*args, **kwargs)
        finally:
            SCOPE.reset(token)

    def extra_repr(self):
        """The text inside the parentheses of ``repr``, e.g. ``in_features=2, ...``."""
        return ""

    def __repr__(self):
        children = self.named_children()
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        for name, child in children:
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        return "\n".join(lines) + "\n)"


class Linear(Module):
    """``y = x @ weight.T + bias``, with ``weight`` of shape (out, in) as in PyTorch.

    On the tape: ``matmul_t`` (x times the weight read transposed, one
    operation whose weight gradient comes out in the weight's own layout)
    and ``add`` (the bias, broadcast over the batch).

    Both ``weight`` and ``bias`` start uniform in (-1/√in, 1/√in), PyTorch's
    default. ``seed`` (an int or a NumPy Generator) makes the draw repeatable
    on its own; without it the module-level generator (``manual_seed``) is used.
    """

    def __init__(self, in_features, out_features, bias=True, seed=None):
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        rng = _rng(seed)
        bound = 1.0 / np.sqrt(self.in_features)
        self.weight = Tensor(rng.uniform(-bound, bound, (self.out_features, self.in_features)),
                             requires_grad=True, name="weight")
        self.bias = (Tensor(rng.uniform(-bound, bound, self.out_features),
                            requires_grad=True, name="bias") if bias else None)

    def forward(self, x):
        x = _as_tensor(x)
        if x.shape[-1:] != (self.in_features,):
            raise ShapeError(at_user_line(
                f"{self._short_name()}: expected input with last dimension {self.in_features}, "
                f"got shape {x.shape}"))
        return F.linear(x, self.weight, self.bias)

    def _short_name(self):
        return f"Linear({self.in_features}, {self.out_features})"

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Sequential(Module):
    """Modules applied one after the other; children are named "0", "1", ..."""

    def __init__(self, *modules):
        for i, module in enumerate(modules):
            setattr(self, str(i), module)

    def __getitem__(self, index):
        return self.named_children()[index][1]

    def __len__(self):
        return len(self.named_children())

    def __iter__(self):
        return iter([module for _, module in self.named_children()])

    def forward(self, x):
        for module in self:
            x = module(x)
        return x


class Identity(Module):
    """Returns its input unchanged (records nothing)."""

    def forward(self, x):
        return x


class Sigmoid(Module):
    """σ(x) = 1 / (1 + e⁻ˣ)."""

    def forward(self, x):
        return F.sigmoid(x)


class Tanh(Module):
    """tanh(x), the lecture's activation."""

    def forward(self, x):
        return F.tanh(x)


class ReLU(Module):
    """max(x, 0); the gradient at 0 is 0, as in PyTorch."""

    def forward(self, x):
        return F.relu(x)


class LeakyReLU(Module):
    """x where x > 0, else ``negative_slope`` · x."""

    def __init__(self, negative_slope=0.01):
        self.negative_slope = negative_slope

    def forward(self, x):
        x = _as_tensor(x)
        return F.where(x > 0, x, x * self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class Softmax(Module):
    """exp(log_softmax(x)) along ``dim``: probabilities, stable for large inputs."""

    def __init__(self, dim=-1):
        self.dim = dim

    def forward(self, x):
        return F.exp(F.log_softmax(x, axis=self.dim))

    def extra_repr(self):
        return f"dim={self.dim}"


ACTIVATIONS = {"identity": Identity, "sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU,
               "leaky_relu": LeakyReLU}


def _activation(activation):
    """A fresh activation module from a name ("tanh"), a Module class or a factory."""
    if isinstance(activation, str):
        try:
            return ACTIVATIONS[activation.lower()]()
        except KeyError:
            raise ValueError(f"MLP: unknown activation {activation!r}; expected one of "
                             f"{', '.join(sorted(ACTIVATIONS))} or a Module class") from None
    if isinstance(activation, Module):
        raise ValueError("MLP: pass the activation class (e.g. nn.Tanh), not an instance, "
                         "so that every layer gets its own module")
    return activation()


class MLP(Sequential):
    """``MLP([2, 16, 16, 3])``: Linear layers of those sizes with an activation between them.

    No activation follows the last layer: it outputs logits for
    ``CrossEntropyLoss`` / ``BCEWithLogitsLoss`` or values for ``MSELoss``.
    ``seed`` draws all the layers' weights from one generator.
    """

    def __init__(self, sizes, activation="tanh", seed=None):
        sizes = [int(n) for n in sizes]
        if len(sizes) < 2:
            raise ValueError(f"MLP: expected at least two sizes (inputs, outputs), got {sizes}")
        rng = _rng(seed)
        layers = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(Linear(n_in, n_out, seed=rng))
            if i < len(sizes) - 2:
                layers.append(_activation(activation))
        super().__init__(*layers)


# --- convolution, pooling, flatten --------------------------------------------


def _pair(value, d):
    """PyTorch's per-axis form of an int argument: 3 → (3, 3) for a 2-D layer."""
    return (int(value),) * d if isinstance(value, (int, np.integer)) else tuple(int(v) for v in value)


class _ConvNd(Module):
    """``conv{d}d(x, weight, bias, ...)`` with PyTorch's parameter shapes, init and ``repr``.

    ``weight`` (out_channels, in_channels / groups, *kernel_size) and ``bias``
    (out_channels,) both start uniform in (-1/√fan_in, 1/√fan_in), fan_in =
    in_channels / groups · ∏ kernel_size: what PyTorch's default
    (Kaiming-uniform with a = √5) comes to.
    """

    dims = 0

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, seed=None):
        d = self.dims
        self.in_channels, self.out_channels, self.groups = int(in_channels), int(out_channels), int(groups)
        if self.groups < 1 or self.in_channels % self.groups or self.out_channels % self.groups:
            raise ValueError(f"{type(self).__name__}: groups={groups} must divide in_channels "
                             f"({in_channels}) and out_channels ({out_channels})")
        self.kernel_size, self.stride = _pair(kernel_size, d), _pair(stride, d)
        self.padding, self.dilation = _pair(padding, d), _pair(dilation, d)
        rng = _rng(seed)
        fan_in = self.in_channels // self.groups * int(np.prod(self.kernel_size))
        bound = 1.0 / np.sqrt(fan_in)
        shape = (self.out_channels, self.in_channels // self.groups) + self.kernel_size
        self.weight = Tensor(rng.uniform(-bound, bound, shape), requires_grad=True, name="weight")
        self.bias = (Tensor(rng.uniform(-bound, bound, self.out_channels), requires_grad=True,
                            name="bias") if bias else None)

    def forward(self, x):
        conv = F.conv1d if self.dims == 1 else F.conv2d
        return conv(_as_tensor(x), self.weight, self.bias, stride=self.stride,
                    padding=self.padding, dilation=self.dilation, groups=self.groups)

    def extra_repr(self):
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        ones = (1,) * self.dims
        if self.padding != (0,) * self.dims:
            text += f", padding={self.padding}"
        if self.dilation != ones:
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text


class Conv1d(_ConvNd):
    """1-D convolution over (N, C_in, L), as ``torch.nn.Conv1d``."""

    dims = 1


class Conv2d(_ConvNd):
    """2-D convolution over (N, C_in, H, W), as ``torch.nn.Conv2d``."""

    dims = 2


class MaxPool2d(Module):
    """The maximum of each window (stride defaults to the kernel size), as ``torch.nn.MaxPool2d``."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1):
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.dilation = padding, dilation

    def forward(self, x):
        return F.max_pool2d(_as_tensor(x), self.kernel_size, self.stride, self.padding,
                            self.dilation)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode=False")


class AvgPool2d(Module):
    """The mean of each window, padding zeros counted, as ``torch.nn.AvgPool2d``."""

    def __init__(self, kernel_size, stride=None, padding=0):
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding

    def forward(self, x):
        return F.avg_pool2d(_as_tensor(x), self.kernel_size, self.stride, self.padding)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class Flatten(Module):
    """Merge dimensions start_dim..end_dim (default: all but the batch), as ``torch.nn.Flatten``."""

    def __init__(self, start_dim=1, end_dim=-1):
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return F.flatten(_as_tensor(x), self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


# --- losses -------------------------------------------------------------------


def _check_same_shape(loss, output, target):
    if output.shape != target.shape:
        raise ShapeError(at_user_line(
            f"{loss}: expected target of the same shape as the output {output.shape}, "
            f"got {target.shape}"))


class MSELoss(Module):
    """mean((output − target)²) over every element."""

    def forward(self, output, target):
        output, target = _as_tensor(output), _as_tensor(target)
        _check_same_shape("MSELoss", output, target)
        diff = output - target
        return (diff * diff).mean()


class CrossEntropyLoss(Module):
    """Mean of −log softmax(logits)[label]: logits (N, C) and labels (N,) or targets (N, C).

    Integer labels pick one log-probability per row; float targets (one-hot
    or probabilities) weight them all: −Σ target · log_softmax(logits). Both
    go through ``log_softmax``, which never overflows.
    """

    def forward(self, logits, target):
        logits = _as_tensor(logits)
        if logits.ndim != 2:
            raise ShapeError(at_user_line(
                f"CrossEntropyLoss: expected logits of shape (N, C), got shape {logits.shape}"))
        n, classes = logits.shape
        target = np.asarray(getattr(target, "_data", target))
        log_p = F.log_softmax(logits, axis=1)
        if target.dtype.kind in "iu":
            _check_labels("CrossEntropyLoss", target, n, classes)
            return -log_p[np.arange(n), target].mean()
        if target.shape == (n,):
            raise ShapeError(at_user_line(
                f"CrossEntropyLoss: got float targets of shape ({n},); class labels must be "
                f"integers (y.astype(int)), or pass one-hot targets of shape ({n}, {classes})"))
        _check_same_shape("CrossEntropyLoss", logits, target)
        return -(log_p * target).sum(axis=1).mean()

    @staticmethod
    def correct(logits, target):
        """How many rows put the highest logit on the right class."""
        target = np.asarray(target)
        labels = target if target.dtype.kind in "iu" else target.argmax(axis=1)
        return int((np.asarray(logits).argmax(axis=1) == labels).sum())


def _check_labels(loss, labels, n, classes):
    if labels.shape != (n,):
        raise ShapeError(at_user_line(
            f"{loss}: expected integer labels of shape ({n},) for logits of shape "
            f"({n}, {classes}), got shape {labels.shape}"))
    if labels.size and (np.minimum.reduce(labels) < 0 or np.maximum.reduce(labels) >= classes):
        bad = labels[(labels < 0) | (labels >= classes)][0]
        raise ValueError(at_user_line(
            f"{loss}: expected labels in 0..{classes - 1} (the logits have {classes} columns), "
            f"found label {bad}"))


class BCEWithLogitsLoss(Module):
    """Binary cross-entropy on logits: mean(softplus(x) − target · x), never overflowing.

    softplus(x) = log(1 + eˣ) is written as ``logsumexp([0, x])`` so that
    large logits of either sign stay finite and its gradient is exactly σ(x).
    """

    def forward(self, logits, target):
        logits = _as_tensor(logits)
        target = np.asarray(getattr(target, "_data", target))
        if target.dtype.kind not in "f":
            target = target.astype(logits.dtype)
        _check_same_shape("BCEWithLogitsLoss", logits, target)
        zeros = np.zeros(logits.shape, dtype=logits.dtype)
        softplus = F.logsumexp(F.stack([zeros, logits]), axis=0)
        return (softplus - logits * target).mean()

    @staticmethod
    def correct(logits, target):
        """How many logits fall on the target's side of 0 (probability ½)."""
        return int(((np.asarray(logits) > 0) == (np.asarray(target) > 0.5)).sum())


# Recurrent layers live in their own module (they import Module from here).
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell  # noqa: E402
