"""Weight files: a network's ``state_dict`` saved atomically with a digest, and loaded back.

:func:`save_weights` records a SHA-256 of the tensors (names, dtypes, shapes,
values) in the state dict's metadata; :func:`load_weights` reads with
``weights_only=True`` and checks that digest, then the keys and shapes, before
anything is copied.
"""

import hashlib
import os
import pickle
import struct
import warnings
from collections.abc import Mapping

import torch
from skorch import NeuralNet

from .._utils import atomic_write, resolve_device
from ..datasets import CorruptDataError
from ._checks import as_module

__all__ = ["load_weights", "save_weights"]


#: Where :func:`save_weights` records the digest: a key of the state dict's
#: ``_metadata[""]`` (the root module's entry, which ``torch.save`` keeps and
#: ``load_state_dict`` ignores), so the file stays a plain state dict.
_DIGEST_KEY = "sklearn_fssd.sha256"


# By hand, not pooch.file_hash: the digest covers the tensors, so the file stays a state dict.
def _weights_digest(state):
    """SHA-256 over the names, dtypes, shapes and bytes of the tensors of ``state``."""
    digest = hashlib.sha256()
    for key in sorted(state):
        tensor = state[key].detach().cpu().contiguous()
        digest.update(f"{key}\0{tensor.dtype}\0{tuple(tensor.shape)}\n".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


def save_weights(net_or_module, path):
    """Save a network's ``state_dict`` to ``path``, atomically, with an integrity digest.

    Tensors are copied to the CPU first, so a network trained on CUDA loads
    anywhere. The file is written next to ``path`` under a temporary name and
    moved into place with :func:`os.replace`, so a reader never sees a
    half-written file; missing parent folders are created. The file is a plain
    state dict, which ``module.load_state_dict(torch.load(path))`` also reads.
    It records the SHA-256 of its tensors (names, dtypes, shapes and values) in
    the state dict's metadata, which :func:`load_weights` checks, so a file
    damaged on disk or in a copy is refused rather than loaded.

    Parameters
    ----------
    net_or_module : torch.nn.Module or skorch.NeuralNet
        The network, or an initialized skorch net (its ``module_`` is saved).
    path : str or os.PathLike
        Destination file, e.g. ``"cache/lenet_fmnist.pt"``.

    Returns
    -------
    path : str
        The path written.

    See Also
    --------
    load_weights : the inverse.

    Examples
    --------
    >>> import os, tempfile, torch
    >>> from sklearn_fssd.models import LeNet
    >>> net = LeNet().eval()
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = save_weights(net, os.path.join(tmp, "lenet.pt"))
    ...     copy = load_weights(LeNet(), path).eval()
    >>> x = torch.rand(2, 1, 28, 28)
    >>> torch.equal(net(x), copy(x))
    True
    """
    module = as_module(net_or_module, "save the weights of")
    state = module.state_dict()  # fresh tensors and metadata dicts: ours to change
    for key, value in state.items():
        state[key] = value.detach().cpu()
    state._metadata.setdefault("", {})[_DIGEST_KEY] = _weights_digest(state)
    path = os.fspath(path)
    with atomic_write(path) as fh:
        torch.save(state, fh)
    return path


def _listing(keys, limit=5):
    keys = list(keys)
    shown = ", ".join(repr(k) for k in keys[:limit])
    more = f", ... ({len(keys) - limit} more)" if len(keys) > limit else ""
    return f"[{shown}{more}]"


def _check_state_dict(module, state, path):
    """Raise a ValueError naming every difference between ``state`` and ``module``."""
    expected = module.state_dict()
    name = type(module).__name__
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [
        f"{k!r}: file {tuple(state[k].shape)} vs {name} {tuple(expected[k].shape)}"
        for k in expected
        if k in state and tuple(state[k].shape) != tuple(expected[k].shape)
    ]
    if not (missing or unexpected or shapes):
        return
    problems = []
    if missing:
        problems.append(f"missing keys (in {name}, not in the file): {_listing(missing)}")
    if unexpected:
        problems.append(f"unexpected keys (in the file, not in {name}): {_listing(unexpected)}")
    if shapes:
        problems.append(f"shape mismatches: {'; '.join(shapes[:5])}")
        if len(shapes) > 5:
            problems[-1] += f"; ... ({len(shapes) - 5} more)"
    raise ValueError(
        f"The weights in {path!r} do not fit this {name}: " + "; ".join(problems) + ". "
        "They were saved from another architecture or with other constructor arguments "
        "(e.g. num_classes, in_channels, input_size); build the network as it was when saved."
    )


def _module_device(module):
    for tensor in (*module.parameters(), *module.buffers()):
        return tensor.device
    return torch.device("cpu")


# What torch.load raises on a damaged file, depending on where the damage is (zip directory,
# record names, the pickle, the byte-order record, ...).
_UNREADABLE = (
    RuntimeError, EOFError, ValueError, IndexError, KeyError, struct.error, pickle.PickleError
)


def _read_state(path):
    """The object in the weights file ``path``, on the CPU, or a clear error naming the file."""
    fix = (
        "Delete it and save the weights again with save_weights (train again, or copy or "
        "download the file again from where it came)."
    )
    if os.path.getsize(path) == 0:
        raise CorruptDataError(
            f"The weights file {path!r} is empty (0 bytes): it was not written completely "
            f"(an interrupted copy or download, a full disk). {fix}",
            path=path,
        )
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "Unsupported global" in str(exc):  # intact, but holds more than tensors
            raise ValueError(
                f"{path!r} does not hold a plain state dict of tensors; torch.load with "
                f"weights_only=True refused it ({exc}). Save weights with save_weights."
            ) from exc
        problem = exc
    except _UNREADABLE as exc:
        problem = exc
    raise CorruptDataError(
        f"The weights file {path!r} could not be read ({type(problem).__name__}: "
        f"{str(problem)[:200]}): it is truncated or corrupt, or not a PyTorch weights file. "
        f"{fix}",
        path=path,
    ) from problem


def _check_digest(state, path):
    """Check the tensors of ``state`` against the digest :func:`save_weights` recorded.

    Returns the state without the digest. A file without one (``torch.save``, or an
    older sklearn-fssd) loads with a warning: its integrity cannot be checked.
    """
    metadata = getattr(state, "_metadata", None)
    root = metadata.get("") if isinstance(metadata, Mapping) else None
    expected = root.get(_DIGEST_KEY) if isinstance(root, Mapping) else None
    if expected is None:
        warnings.warn(
            f"The weights file {path!r} has no integrity digest (it was written by torch.save "
            "or an older sklearn-fssd), so damage to it cannot be detected; it was loaded "
            "unchecked. Save it again with save_weights to add one.",
            UserWarning,
            stacklevel=3,
        )
        return state
    actual = _weights_digest(state)
    if actual != expected:
        raise CorruptDataError(
            f"The weights file {path!r} is corrupt or was altered after it was saved: the "
            f"SHA-256 of its tensors is {actual}, but save_weights recorded {expected}. Do not "
            "use it: delete it and save the weights again with save_weights (train again, or "
            "copy or download the file again from where it came).",
            path=path,
            expected=expected,
            actual=actual,
        )
    metadata[""] = {k: v for k, v in root.items() if k != _DIGEST_KEY}
    return state


def load_weights(module_or_net, path, device=None):
    """Load weights saved by :func:`save_weights` into a network, in place.

    The file is read with ``torch.load(..., weights_only=True)``, which
    refuses anything but tensors and plain containers, so loading a cached
    file cannot run code. The tensors are checked against the SHA-256 digest
    that :func:`save_weights` recorded, then their keys and shapes against the
    network, before anything is copied. A file without a digest (a plain
    ``torch.save(module.state_dict(), path)``, or one written by an older
    version) is loaded with a ``UserWarning`` that its integrity cannot be
    checked; save it again with :func:`save_weights` to add one.

    Parameters
    ----------
    module_or_net : torch.nn.Module or skorch.NeuralNet
        A network of the architecture that was saved (same class and
        constructor arguments), or a skorch net around one; an uninitialized
        net is initialized first.
    path : str or os.PathLike
        File written by :func:`save_weights` (or any ``torch.save``-d state
        dict).
    device : {"cpu", "cuda", "auto"}, str or None, default=None
        Where the network ends up. None keeps it where it is (a skorch net:
        its ``device``). Weights saved on CUDA load on a CPU-only machine.

    Returns
    -------
    module_or_net : torch.nn.Module or skorch.NeuralNet
        The object passed in, holding the loaded weights.

    Raises
    ------
    ValueError
        When the file does not hold a state dict, or its keys or shapes do
        not match the network; the message lists the differences.
    sklearn_fssd.datasets.CorruptDataError
        When the file is empty, truncated or unreadable, or its tensors do
        not match the digest recorded by :func:`save_weights` (a damaged or
        altered file). An ``OSError``; the message names the file.

    Warns
    -----
    UserWarning
        When the file holds no digest, so its integrity cannot be checked.

    See Also
    --------
    save_weights : the inverse.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn_fssd.models import LeNet
    >>> with tempfile.TemporaryDirectory() as tmp:  # doctest: +ELLIPSIS
    ...     path = save_weights(LeNet(num_classes=10), os.path.join(tmp, "lenet.pt"))
    ...     load_weights(LeNet(num_classes=5), path)
    Traceback (most recent call last):
    ...
    ValueError: The weights in '...lenet.pt' do not fit this LeNet: shape mismatches: ...
    """
    is_net = isinstance(module_or_net, NeuralNet)
    if is_net and not getattr(module_or_net, "initialized_", False):
        module_or_net.initialize()
    module = as_module(module_or_net, "load weights into")
    if device is not None:
        target = resolve_device(device)
    elif is_net and module_or_net.device is not None:
        target = resolve_device(module_or_net.device)
    else:
        target = _module_device(module)
    path = os.fspath(path)
    state = _read_state(path)
    if not isinstance(state, Mapping) or not all(
        isinstance(v, torch.Tensor) for v in state.values()
    ):
        raise ValueError(
            f"{path!r} does not hold a state dict (a mapping of names to tensors); got "
            f"{type(state).__name__}. Save weights with save_weights."
        )
    state = _check_digest(state, path)
    _check_state_dict(module, state, path)
    module.load_state_dict(state)
    module.to(target)
    if is_net and device is not None:
        module_or_net.device = str(target)
    return module_or_net
