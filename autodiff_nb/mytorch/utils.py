"""The gradient buffer: one gradient "spot" per internally tracked array.

The engine gives a spot to every input recorded with ``gradients_to_update``
``None`` (data and intermediate values) and adds into it during backward.
"""
from __future__ import annotations

import numpy as np

from ..core.errors import ShapeError, at_user_line


class NotInBufferError(KeyError):
    """An array that has no spot in the gradient buffer."""

    def __str__(self):  # KeyError would print the message quoted, on one line
        return str(self.args[0])


class GradientBuffer:
    """``memory`` maps each tracked array to its gradient.

    Unlike the handout's buffer, which keys by the data address (so ``x.T``
    shares ``x``'s spot and a freed array's address is reused), this one keys
    by the array object itself, ``id(a)``, and keeps the array alive until
    ``clear()``, so that id cannot be reused while it is a key.
    """

    def __init__(self):
        self.memory = {}     # id(array) -> gradient
        self._arrays = {}    # id(array) -> array, holding every key's array alive

    def add_spot(self, np_array):
        """Give ``np_array`` a zero gradient of its shape (once; later calls keep the spot)."""
        key = id(np_array)
        if key not in self.memory:
            dtype = np_array.dtype if np_array.dtype.kind == "f" else np.float64
            self.memory[key] = np.zeros(np.shape(np_array), dtype=dtype)
            self._arrays[key] = np_array

    def is_in_memory(self, np_array):
        return id(np_array) in self.memory

    def update_param(self, np_array, gradient):
        """Add ``gradient`` into ``np_array``'s spot (``None``: nothing to add)."""
        if gradient is None:
            return
        self.memory[self._key(np_array, "update_param")] += gradient

    def get_param(self, np_array):
        """The gradient accumulated for ``np_array``."""
        return self.memory[self._key(np_array, "get_param")]

    def set_param(self, np_array, gradient):
        """Replace ``np_array``'s gradient by (a copy of) ``gradient``."""
        key = self._key(np_array, "set_param")
        spot = self.memory[key]
        if np.shape(gradient) != spot.shape:
            raise ShapeError(at_user_line(
                f"set_param: gradient of shape {np.shape(gradient)} for an array of shape "
                f"{spot.shape}; expected the array's shape"))
        self.memory[key] = np.array(gradient, dtype=spot.dtype)

    def clear(self):
        self.memory.clear()
        self._arrays.clear()

    def _key(self, np_array, method):
        key = id(np_array)
        if key not in self.memory:
            raise NotInBufferError(at_user_line(
                f"{method}: this array of shape {np.shape(np_array)} has no spot in the gradient "
                f"buffer ({len(self.memory)} arrays have one). Spots exist for the inputs recorded "
                f"with gradients_to_update None; a view such as x.T or x[0] is a different "
                f"array from x, with a spot of its own only if it was recorded itself."))
        return key


MemoryBuffer = GradientBuffer  # the 2021 handout's name
