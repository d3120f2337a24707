"""The one place for device resolution, torch/numpy converters, batching, seeds and file writes.

Everything that touches devices or moves arrays between numpy and torch goes
through here, so that the estimators stay thin and the rules (float32 inputs,
int64 tokens, batches that stream) are written once. Every file the library
writes (downloads, caches, weights) goes through :func:`atomic_write`.

It is also the one module that imports scikit-learn's private helpers
(``_fit_context``, the parameter-constraint classes): the rest of the package
imports them from here, so that a change in scikit-learn is fixed in one line.
"""

import contextlib
import os
import re
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.base import _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    InvalidParameterError,
    RealNotInt,
    StrOptions,
    validate_parameter_constraints,
    validate_params,
)
from torch.utils.data import DataLoader, Dataset

__all__ = [
    "atomic_write",
    "resolve_device",
    "to_tensor",
    "to_numpy",
    "as_input_array",
    "iter_batches",
    "torch_seed",
    "draw_seed",
    # scikit-learn's private helpers, imported here only
    "HasMethods",
    "Interval",
    "InvalidParameterError",
    "RealNotInt",
    "StrOptions",
    "_fit_context",
    "validate_parameter_constraints",
    "validate_params",
]

#: A temporary file of :func:`atomic_write` not modified for this many seconds
#: belongs to a writer that was killed; the next write of the same file removes it.
STALE_PART_SECONDS = 15 * 60


def _remove_stale_parts(path, max_age=STALE_PART_SECONDS):
    """Remove the temporary files that killed writers of ``path`` left behind.

    Only names :func:`atomic_write` makes for ``path`` (``.<name>.<random>.part``)
    are touched, and only when older than ``max_age`` seconds, so a write in
    progress in another process (its file grows, so its mtime is recent) is spared.
    """
    pattern = re.compile(rf"\.{re.escape(path.name)}\.[a-z0-9_]+\.part")
    now = time.time()
    with contextlib.suppress(OSError):  # an unreadable folder: the write below says so
        for entry in os.scandir(path.parent):
            if pattern.fullmatch(entry.name):
                with contextlib.suppress(OSError):  # gone already, or not ours to remove
                    if now - entry.stat().st_mtime > max_age:
                        os.unlink(entry.path)


@contextlib.contextmanager
def atomic_write(path):
    """Write ``path`` whole or not at all: a context manager yielding a binary file.

    The content goes to a temporary file in the same folder
    (``.<name>.<random>.part``), which is flushed to disk and moved onto
    ``path`` with :func:`os.replace` when the block ends without an exception,
    so a reader never sees a half-written file. On any exception (a failed
    check, ``KeyboardInterrupt``) the temporary file is removed and ``path`` is
    left as it was. Temporary files older than :data:`STALE_PART_SECONDS` left
    by killed writers of the same ``path`` are removed first. Missing parent
    folders are created; the file ends up with mode ``0o644``.

    Parameters
    ----------
    path : str or path-like
        The file to write.

    Yields
    ------
    fh : file object
        Open for binary writing. ``fh.name`` is the temporary file's path, so
        the content can be checked before it is moved into place.

    Examples
    --------
    >>> import os, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "a.txt")
    ...     with atomic_write(path) as fh:
    ...         _ = fh.write(b"all or nothing")
    ...     with open(path, "rb") as fh:
    ...         print(fh.read(), os.listdir(tmp))
    b'all or nothing' ['a.txt']
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_parts(path)
    tmp = tempfile.NamedTemporaryFile(
        "wb", dir=path.parent, prefix=f".{path.name}.", suffix=".part", delete=False
    )
    try:
        with tmp as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp.name, 0o644)
        os.replace(tmp.name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp.name)
        raise


def _available_devices():
    """The device choices valid on this machine, for error messages."""
    n_cuda = torch.cuda.device_count() if torch.cuda.is_available() else 0
    mps = ", 'mps'" if torch.backends.mps.is_available() else ""
    return (
        f"'cpu', 'cuda', 'cuda:N', 'auto'{mps} or a torch.device of those (this machine has "
        f"{n_cuda} CUDA device(s){'' if n_cuda else ': use cpu or auto'})"
    )


def resolve_device(device):
    """Turn the ``device`` parameter into a :class:`torch.device`.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda"} or str or torch.device
        ``"auto"`` picks CUDA when it is available and the CPU otherwise.
        ``"cuda:1"`` and the like are accepted, and ``"mps"`` where PyTorch
        has it.

    Returns
    -------
    torch.device

    Raises
    ------
    ValueError
        For a string that names no device, and for devices the detectors
        cannot compute on (``"meta"`` holds no data); the message lists the
        choices valid on this machine.
    RuntimeError
        When CUDA (or MPS) is asked for on a machine without it, or a CUDA
        device index the machine does not have.

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
    except (RuntimeError, ValueError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a valid torch device; valid choices: "
            f"{_available_devices()}."
        ) from exc
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(
                f"device={device!r} was requested but CUDA is not available on this machine "
                "(torch.cuda.is_available() is False). Use device='cpu', or device='auto' to "
                "take CUDA only where it exists."
            )
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise RuntimeError(
                f"device={device!r} names CUDA device {resolved.index}, but this machine has "
                f"{torch.cuda.device_count()} (cuda:0 to cuda:{torch.cuda.device_count() - 1}); "
                f"valid choices: {_available_devices()}."
            )
    elif resolved.type == "mps":
        if not torch.backends.mps.is_available():
            raise RuntimeError(
                f"device={device!r} was requested but MPS is not available on this machine "
                "(torch.backends.mps.is_available() is False); valid choices: "
                f"{_available_devices()}."
            )
    elif resolved.type != "cpu":
        raise ValueError(
            f"device={device!r} is a {resolved.type!r} device, which the detectors cannot "
            f"compute on; valid choices: {_available_devices()}."
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
    """Detach a tensor, move it to the CPU and return a numpy array.

    bfloat16, which numpy lacks, becomes float32.
    """
    if isinstance(tensor, np.ndarray):
        return tensor
    tensor = tensor.detach().cpu()
    if tensor.dtype == torch.bfloat16:
        tensor = tensor.to(torch.float32)
    return tensor.resolve_conj().resolve_neg().numpy()


def as_input_array(X, name="X"):
    """The samples a detector is given, ready for scikit-learn's validation.

    A torch tensor becomes a numpy array (detached, on the CPU, also when it
    requires grad); a torch ``DataLoader`` or ``Dataset`` is refused with the
    way to collect its samples; anything else is returned as it is.

    Examples
    --------
    >>> import torch
    >>> as_input_array(torch.ones(2, 3, requires_grad=True)).shape
    (2, 3)
    """
    if isinstance(X, torch.Tensor):
        return to_numpy(X)
    if isinstance(X, (DataLoader, Dataset)):
        raise TypeError(
            f"{name} is a torch {type(X).__name__}; the detectors take the samples as one "
            "array of shape (n_samples, ...), which they batch themselves (batch_size=). "
            "Collect the inputs first, e.g. "
            f"{name} = torch.cat([batch[0] for batch in loader]).numpy() for a DataLoader "
            "of (input, target) batches."
        )
    return X


def iter_batches(n_samples, batch_size):
    """Yield ``slice`` objects covering ``range(n_samples)`` in order."""
    for start in range(0, n_samples, batch_size):
        yield slice(start, min(start + batch_size, n_samples))


def draw_seed(random_state):
    """One int32 seed drawn from ``random_state``, the way every estimator seeds its parts.

    ``random_state`` is anything :func:`sklearn.utils.check_random_state`
    takes; a ``RandomState`` instance advances, so a caller may go on
    drawing from it.

    Examples
    --------
    >>> draw_seed(0) == draw_seed(0)
    True
    """
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


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
