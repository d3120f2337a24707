"""Checks of what the training helpers are given: data, labels, seeds, networks."""

import numbers

import numpy as np
import torch
from skorch import NeuralNet
from torch import nn


def check_X(X, name="X"):
    """Return ``X`` as a numpy array: float32 for pixels/features, int64 for token ids."""
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    X = np.asarray(X)
    if X.dtype.kind == "f":
        return X.astype(np.float32, copy=False)
    if X.dtype.kind in "iu":
        return X.astype(np.int64, copy=False)
    raise ValueError(
        f"{name} must hold floats (features, pixels in [0, 1]) or integers (token ids); "
        f"got an array of dtype {X.dtype}."
    )


def check_y(y, n_samples):
    """Return ``y`` as int64 class indices ``0..n_classes-1``, and ``n_classes``."""
    if isinstance(y, torch.Tensor):
        y = y.detach().cpu().numpy()
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D (one class index per sample); got shape {y.shape}.")
    if y.shape[0] != n_samples:
        raise ValueError(
            f"X and y have different numbers of samples: {n_samples} and {y.shape[0]}."
        )
    if y.size == 0:
        raise ValueError("y is empty; training needs at least one sample.")
    if y.dtype.kind not in "iuf" or (y.dtype.kind == "f" and not np.all(np.mod(y, 1) == 0)):
        raise ValueError(
            "y must hold integer class indices 0..n_classes-1 (the networks predict indices); "
            f"got dtype {y.dtype}. Encode labels first, e.g. with "
            "sklearn.preprocessing.LabelEncoder."
        )
    y = y.astype(np.int64)
    if y.min() < 0:
        raise ValueError(f"y must hold class indices 0..n_classes-1; got the label {y.min()}.")
    return y, int(y.max()) + 1


def check_image_X(X, model_name):
    X = check_X(X)
    if X.ndim != 4 or X.dtype != np.float32:
        raise ValueError(
            f"{model_name} trains on float images of shape (n_samples, channels, height, "
            f"width) with pixels in [0, 1]; got an array of shape {X.shape} and dtype "
            f"{X.dtype}. Add the channel axis with X[:, None] if it is missing."
        )
    return X


def check_seed(random_state):
    if random_state is None:
        return None
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state must be None or an int >= 0; got {random_state}.")
        return int(random_state)
    raise ValueError(f"random_state must be None or an int >= 0; got {random_state!r}.")


def as_module(net_or_module, action):
    """Return the ``nn.Module`` inside a skorch net, or the module itself."""
    if isinstance(net_or_module, nn.Module):
        return net_or_module
    if isinstance(net_or_module, NeuralNet):
        module = getattr(net_or_module, "module_", None)
        if not isinstance(module, nn.Module):
            raise ValueError(
                f"Cannot {action} this {type(net_or_module).__name__}: it is not initialized. "
                "Fit it, or call .initialize(), first."
            )
        return module
    raise TypeError(
        f"Expected a torch.nn.Module or a skorch net; got {type(net_or_module).__name__}."
    )
