"""Input checks shared by every detector.

:class:`~sklearn_fssd.base.BaseTorchDetector` calls these from its one input
validation, so FSSD, the baselines, the PyOD face and ``score_dask`` behave
alike:

* at ``fit``, one forward pass of the first samples through the private copy
  of the network turns a shape mismatch into an error that names the fix;
* at scoring, a sample of the wrong shape, or token ids outside the
  embedding, is an error.
"""

import math

import numpy as np
import torch
from torch import nn

__all__ = [
    "check_network_input",
    "check_token_range",
    "sample_shape_message",
]

# -------------------------------------------------------------------- tokens


def check_token_range(X, vocab_size, embedding, name="X"):
    """Token ids must index the embedding: ``0 <= id < vocab_size``."""
    if X.size == 0:
        return
    low, high = X.min(), X.max()
    if low < 0 or high >= vocab_size:
        outside = int(((X < 0) | (X >= vocab_size)).sum())
        raise ValueError(
            f"Token ids must lie in [0, {vocab_size}) for the embedding {embedding!r} "
            f"(num_embeddings={vocab_size}); {name} holds values in [{low}, {high}], "
            f"{outside} of them outside. Map ids the network never saw to one it knows "
            "(e.g. its padding or unknown-token id)."
        )


# -------------------------------------------------------------------- shapes


def _reshape_call(shape):
    return f"X.reshape(-1, {', '.join(map(str, shape))})"


def sample_shape_message(name, got, expected, owner):
    """The error for samples of shape ``got`` given to ``owner``, fitted on ``expected``."""
    got, expected = tuple(got), tuple(expected)
    message = (
        f"{name} has samples of shape {got}, but {owner} was fitted on samples of shape "
        f"{expected}; pass an array of shape (n_samples, {', '.join(map(str, expected))})."
    )
    if len(expected) == 3 and got == (expected[1], expected[2], expected[0]):
        message += (
            f" {name} looks channels-last (N, H, W, C): transpose it with "
            f"{name}.transpose(0, 3, 1, 2)."
        )
    elif len(expected) == 2 and got == expected[::-1]:
        message += f" Its two sample axes look swapped: {name}.transpose(0, 2, 1)."
    elif math.prod(got) == math.prod(expected):
        message += f" It holds as many values per sample: {_reshape_call(expected)}."
    return message


_SPATIAL = {1: "L", 2: "H, W", 3: "D, H, W"}


def _first_layer(network):
    """The first (in ``named_modules`` order) layer that fixes the input's shape."""
    kinds = (nn.Embedding, nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.RNNBase)
    for name, module in network.named_modules():
        if isinstance(module, kinds) and not isinstance(module, nn.modules.lazy.LazyModuleMixin):
            return name, module
    return None, None


def _expects(layer):
    if isinstance(layer, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        return f"inputs of shape (N, {layer.in_channels}, {_SPATIAL[len(layer.kernel_size)]})"
    if isinstance(layer, nn.Linear):
        return f"rows of {layer.in_features} features, (N, {layer.in_features})"
    if isinstance(layer, nn.Embedding):
        return f"integer token ids in [0, {layer.num_embeddings}), (N, L)"
    if layer.batch_first:
        return f"sequences of shape (N, L, {layer.input_size})"
    return f"sequences of shape (L, N, {layer.input_size}) (time first)"


def _conv_fix(layer, shape):
    channels, nd = layer.in_channels, len(layer.kernel_size)
    if len(shape) == nd + 2 and shape[-1] == channels and shape[1] != channels:
        axes = ", ".join(map(str, (0, nd + 1, *range(1, nd + 1))))
        return f"the samples look channels-last: transpose them with X.transpose({axes})."
    if len(shape) == nd + 1 and channels == 1:
        return "add the channel axis: X[:, None]."
    if len(shape) == 2 and nd == 2 and shape[1] % channels == 0:
        side = math.isqrt(shape[1] // channels)
        if side * side * channels == shape[1]:
            return f"reshape the rows to images: {_reshape_call((channels, side, side))}."
    if len(shape) == nd + 2 and shape[1] == channels:
        return (
            "pass inputs of the size the network was trained on (its later layers fix it); "
            "resize or crop them."
        )
    return f"reshape X to (N, {channels}, {_SPATIAL[nd]})."


def _fix(layer, shape, dtype):
    if isinstance(layer, nn.Embedding) and dtype.kind not in "iu":
        return f"pass integer token ids (X has dtype {dtype}): X.astype(np.int64)."
    if isinstance(layer, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        return _conv_fix(layer, shape)
    if isinstance(layer, nn.Linear) and len(shape) > 2:
        if math.prod(shape[1:]) == layer.in_features:
            return "flatten the samples: X.reshape(len(X), -1)."
        return f"pass rows of {layer.in_features} features."
    if isinstance(layer, nn.Linear) and len(shape) == 2:
        return f"pass the {layer.in_features} columns the network was trained on."
    return "pass inputs shaped as the network was trained on."


def _network_input_message(network, failed, shape, dtype, exc):
    net = type(network).__name__
    module = network.get_submodule(failed) if failed else None
    if module is None:
        where = f" in {net}.forward"
    else:
        brief = repr(module) if not list(module.children()) else type(module).__name__
        where = f" in its layer {failed!r} ({brief})"
    error = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    message = f"X has shape {tuple(shape)}, and the network {net} fails on it{where}: {error}."
    first_name, first = _first_layer(network)
    if first is not None:
        message += f" Its first layer {first_name!r} takes {_expects(first)}."
    return f"{message} Fix: {_fix(first, tuple(shape), dtype)}"


def check_network_input(network, x, shape, dtype):
    """One forward pass of a few samples ``x`` through ``network``.

    A failure (torch's ``mat1 and mat2 shapes cannot be multiplied`` and the
    like) becomes a ValueError naming the shape of ``X`` (``shape``,
    ``dtype``), the layer that failed, what the network's first layer takes,
    and the fix, before any long work starts.
    """
    stack = []  # the modules whose forward has begun and not ended

    def enter(name):
        return lambda module, args: stack.append(name)  # returns None: input unchanged

    def leave(module, args, output):
        stack.pop()  # returns None: output unchanged

    handles = []
    for name, module in network.named_modules():
        handles.append(module.register_forward_pre_hook(enter(name)))
        handles.append(module.register_forward_hook(leave))
    try:
        with torch.inference_mode():
            network(x)
    except (RuntimeError, ValueError) as exc:
        failed = stack[-1] if stack else ""
        raise ValueError(_network_input_message(network, failed, shape, dtype, exc)) from exc
    finally:
        for handle in handles:
            handle.remove()
