"""Input checks shared by every detector, and what happens to samples that cannot be scored.

:class:`~sklearn_fssd.base.BaseTorchDetector` calls these from its one input
validation, so FSSD, the baselines, the PyOD face and ``score_dask`` behave
alike:

* at ``fit``, values beyond the float32 range the networks compute in, and
  features that overflow it, are errors (they would silently become ``inf``);
  one forward pass of the first samples through the private copy of the
  network turns a shape mismatch into an error that names the fix;
* at scoring, a sample of the wrong shape, or token ids outside the
  embedding, is an error; a sample whose values or features overflow float32
  gets the lowest score, :data:`LOWEST_SCORE`, and the other samples keep
  exactly the scores they have alone.
"""

import math
import warnings

import numpy as np
import torch
from torch import nn

__all__ = [
    "LOWEST_SCORE",
    "check_float32_range",
    "check_finite_fit",
    "check_network_input",
    "check_token_range",
    "finite_rows",
    "lowest_where_unscorable",
    "on_finite_rows",
    "overflow_rows",
    "sample_shape_message",
]

#: The score of a sample that cannot be scored: the lowest finite float64, so
#: that it sorts below every other score and scikit-learn's metrics (which
#: refuse infinities) still take it.
LOWEST_SCORE = -float(np.finfo(np.float64).max)

FLOAT32_MAX = float(np.finfo(np.float32).max)


# ----------------------------------------------------------- values and scores


def overflow_rows(X):
    """Rows of ``X`` with a value beyond float32's range (they become ``inf`` in a network).

    Parameters
    ----------
    X : ndarray of shape (n_samples, ...)

    Returns
    -------
    ndarray of bool of shape (n_samples,)

    Examples
    --------
    >>> import numpy as np
    >>> overflow_rows(np.array([[1.0, 2.0], [1e39, 0.0]])).tolist()
    [False, True]
    """
    X = np.asarray(X)
    if X.dtype.kind != "f" or X.size == 0 or X.dtype.itemsize <= 4:
        return np.zeros(len(X), dtype=bool)
    if X.max() <= FLOAT32_MAX and X.min() >= -FLOAT32_MAX:  # no copy in the common case
        return np.zeros(len(X), dtype=bool)
    return (np.abs(X.reshape(len(X), -1)) > FLOAT32_MAX).any(axis=1)


def check_float32_range(X, name="X"):
    """Refuse fit data with values beyond float32's range, which would silently become ``inf``."""
    overflow = overflow_rows(X)
    if overflow.any():
        rows = np.flatnonzero(overflow)
        raise ValueError(
            f"{name} has values beyond the float32 range the network computes in "
            f"(|value| up to {np.abs(X[rows[0]]).max():.3g} > {FLOAT32_MAX:.3g}) in "
            f"{len(rows)} sample(s), first row {rows[0]}; they would become inf. Scale the "
            "data (e.g. sklearn.preprocessing.StandardScaler, or np.log1p for heavy tails) "
            "or drop those rows."
        )


def finite_rows(values):
    """Rows of ``values`` (shape (n,) or (n, k)) that are finite throughout."""
    finite = np.isfinite(np.asarray(values))
    return finite.all(axis=tuple(range(1, finite.ndim)))


def on_finite_rows(values, fn):
    """``fn`` applied to the finite rows of ``values``; NaN at the other rows.

    The other rows never reach ``fn`` (a combiner of layer scores refuses
    ``inf``), and the finite rows get what ``fn`` gives them alone.

    Examples
    --------
    >>> import numpy as np
    >>> on_finite_rows(np.array([[1.0], [np.inf], [3.0]]), lambda v: v[:, 0] * 2).tolist()
    [2.0, nan, 6.0]
    """
    finite = finite_rows(values)
    if finite.all():
        return fn(values)
    out = np.full(len(values), np.nan)
    if finite.any():
        out[finite] = fn(values[finite])
    return out


def lowest_where_unscorable(values, owner):
    """``values`` (scores, higher = in-distribution) with :data:`LOWEST_SCORE` in
    every row that holds a non-finite value, with a warning that counts them."""
    bad = ~finite_rows(values)
    if not bad.any():
        return values
    warnings.warn(
        f"{int(bad.sum())} of the {len(values)} samples given to {owner} could not be scored: "
        f"their values exceed float32's range (|x| > {FLOAT32_MAX:.3g}) or make the network's "
        f"features overflow (inf/NaN). They get the lowest score, {LOWEST_SCORE:.3g} "
        "(out-of-distribution); the other samples are scored as usual.",
        UserWarning,
        stacklevel=4,
    )
    values = np.array(values, dtype=np.float64)
    values[bad] = LOWEST_SCORE
    return values


def check_finite_fit(values, owner, what="features", first_row=0):
    """Refuse fit data on which the network's ``what`` overflow float32 (inf or NaN)."""
    if isinstance(values, torch.Tensor):
        finite = torch.isfinite(values)
        bad = ~(finite.flatten(1).all(dim=1) if finite.dim() > 1 else finite).cpu().numpy()
    else:
        bad = ~finite_rows(values)
    if bad.any():
        raise ValueError(
            f"The network's {what} overflow float32 (inf or NaN) on {int(bad.sum())} of the "
            f"samples {owner} is fitted on, first row {first_row + int(np.argmax(bad))}. Scale "
            "the inputs to the range the network was trained on (e.g. "
            "sklearn.preprocessing.StandardScaler), or drop those rows."
        )


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
