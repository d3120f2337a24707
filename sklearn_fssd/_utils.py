"""The one place for device resolution, torch/numpy converters, batching and file writes.

Everything that touches devices or moves arrays between numpy and torch goes
through here, so that the estimators stay thin and the rules (float32 inputs,
int64 tokens, batches that stream) are written once. Every file the library
writes (downloads, caches, weights) goes through :func:`atomic_write`.
"""

import contextlib
import os
import re
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

__all__ = [
    "atomic_write",
    "resolve_device",
    "to_tensor",
    "to_numpy",
    "iter_batches",
    "torch_seed",
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
