"""The errors a data loader raises: a data set not found, a file corrupt.

Both are :class:`OSError` subclasses, so code that handles missing or
unreadable files handles them too. The genome benchmark and the weight files
of :mod:`sklearn_fssd.training` raise them as well.
"""

__all__ = ["CorruptDataError", "DatasetNotFoundError"]


class DatasetNotFoundError(FileNotFoundError):
    """Raised when a data set is in none of the searched folders.

    The message lists every folder searched, in order, and how to get the data.

    Examples
    --------
    It is a :class:`FileNotFoundError`, so code that handles missing files
    handles it too:

    >>> from sklearn_fssd.datasets import DatasetNotFoundError, load_mnist
    >>> issubclass(DatasetNotFoundError, FileNotFoundError)
    True
    >>> try:  # doctest: +SKIP
    ...     X, y = load_mnist("test")
    ... except DatasetNotFoundError as exc:
    ...     print(exc)  # the folders searched, and download=True or SKLEARN_FSSD_DATA
    """


class CorruptDataError(OSError):
    """Raised when a data file is corrupt, truncated or not the expected version.

    Parameters
    ----------
    message : str
        The full explanation, naming the file and what to do.
    path : str, default=None
        The offending file (or URL, for a download).
    expected, actual : str, default=None
        The SHA-256 checksums, when the error is a checksum mismatch.

    Examples
    --------
    A file that is not what its name says fails the checksum:

    >>> import os, tempfile
    >>> from sklearn_fssd.datasets import CorruptDataError, load_mnist
    >>> with tempfile.TemporaryDirectory() as home:
    ...     os.mkdir(os.path.join(home, "mnist"))
    ...     for name in ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]:
    ...         with open(os.path.join(home, "mnist", name), "wb") as f:
    ...             _ = f.write(b"not an IDX file")
    ...     try:
    ...         load_mnist("test", data_home=home)
    ...     except CorruptDataError as exc:
    ...         print(os.path.basename(exc.path), exc.expected != exc.actual)
    t10k-images-idx3-ubyte True
    """

    def __init__(self, message, *, path=None, expected=None, actual=None):
        super().__init__(message)
        self.path = path
        self.expected = expected
        self.actual = actual
