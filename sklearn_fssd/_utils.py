"""The one place for device resolution, torch/numpy converters and batching.

Everything that touches devices or moves arrays between numpy and torch goes
through here, so that the estimators stay thin and the rules (float32 inputs,
int64 tokens, batches that stream) are written once.
"""

import numpy as np
import torch

__all__ = [
    "resolve_device",
    "to_tensor",
    "to_numpy",
    "iter_batches",
    "torch_seed",
]


def resolve_device(device):
    """Turn the ``device`` parameter into a :class:`torch.device`.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda"} or str or torch.device
        ``"auto"`` picks CUDA when it is available and the CPU otherwise.
        ``"cuda:1"`` and the like are accepted.

    Returns
    -------
    torch.device

    Raises
    ------
    RuntimeError
        When CUDA is asked for on a machine without it.

    Examples
    --------
    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if isinstance(device, torch.device):
        device = str(device)
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as exc:
        raise ValueError(
            f"device={device!r} is not a valid torch device; use 'cpu', 'cuda' or 'auto'."
        ) from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            f"device={device!r} was requested but CUDA is not available on this machine "
            "(torch.cuda.is_available() is False). Use device='cpu', or device='auto' to "
            "take CUDA only where it exists."
        )
    return resolved


def to_tensor(X, device, dtype=None):
    """Convert a numpy array (or tensor) to a tensor on ``device``.

    Floating inputs become float32 (the dtype networks are trained in);
    integer inputs (token ids) become int64, as embeddings expect.
    """
    if isinstance(X, torch.Tensor):
        tensor = X
    else:
        array = np.ascontiguousarray(X)
        if array.dtype.kind == "f" and array.dtype != np.float32 and dtype in (None, torch.float32):
            array = array.astype(np.float32)  # one copy, and the copy is writable
        if not array.flags.writeable:
            array = array.copy()  # torch refuses read-only memory (memmaps, views)
        tensor = torch.from_numpy(array)
    if dtype is None:
        dtype = torch.int64 if not tensor.is_floating_point() else torch.float32
    return tensor.to(device=device, dtype=dtype)


def to_numpy(tensor):
    """Detach a tensor, move it to the CPU and return a numpy array."""
    if isinstance(tensor, np.ndarray):
        return tensor
    return tensor.detach().cpu().numpy()


def iter_batches(n_samples, batch_size):
    """Yield ``slice`` objects covering ``range(n_samples)`` in order."""
    for start in range(0, n_samples, batch_size):
        yield slice(start, min(start + batch_size, n_samples))


class torch_seed:
    """Context manager: seed torch's CPU generator (and the CUDA generator of
    ``device``), and restore both on exit.

    Training and noise generation are reproducible with ``random_state``
    without changing the random state the caller sees. Unlike
    ``torch.manual_seed``, nothing else is seeded. ``seed=None`` does nothing.

    Examples
    --------
    >>> import torch
    >>> with torch_seed(0):
    ...     a = torch.rand(2)
    >>> with torch_seed(0):
    ...     b = torch.rand(2)
    >>> bool((a == b).all())
    True
    """

    def __init__(self, seed, device=None):
        self.seed = seed
        self.device = torch.device("cpu") if device is None else torch.device(device)

    def __enter__(self):
        if self.seed is None:
            self._fork = None
            return self
        cuda = self.device.type == "cuda"
        index = None
        if cuda:
            index = self.device.index
            if index is None:
                index = torch.cuda.current_device()
        self._fork = torch.random.fork_rng(devices=[index] if cuda else [])
        self._fork.__enter__()
        torch.random.default_generator.manual_seed(int(self.seed))
        if cuda:
            with torch.cuda.device(index):
                torch.cuda.manual_seed(int(self.seed))
        return self

    def __exit__(self, *exc):
        if self._fork is not None:
            return self._fork.__exit__(*exc)
        return False
