"""Tabular outlier-detection benchmarks: ODDS and ADBench "Classical".

Each loader returns ``(X, y)``: float64 features and int64 labels, **1 =
outlier**, 0 = inlier, as in the files (PyOD's convention).
"""

import difflib
import re

import numpy as np

from .._docstrings import fill_doc
from ._errors import CorruptDataError
from ._fetch import locate, read_verified, remedy_for
from ._formats import read_mat, read_npz
from ._registry import COLLECTIONS, SHA256

__all__ = ["list_adbench_datasets", "list_odds_datasets", "load_adbench", "load_odds"]


def _tabular_Xy(arrays, shown, remedy):
    """Check and convert the ``X``/``y`` arrays of an ODDS or ADBench file."""
    if "X" not in arrays or "y" not in arrays:
        found = sorted(k for k in arrays if not k.startswith("__"))
        raise CorruptDataError(
            f"{shown} lacks the arrays 'X' and 'y' (found {found}). {remedy}", path=shown
        )
    X, y = np.asarray(arrays["X"]), np.asarray(arrays["y"]).ravel()
    if X.ndim != 2 or X.shape[0] != y.shape[0]:
        raise CorruptDataError(
            f"{shown} holds X of shape {X.shape} and y of shape {np.shape(arrays['y'])}; "
            f"expected X (n_samples, n_features) and n_samples labels. {remedy}",
            path=shown,
        )
    if not np.all(np.isin(y, (0, 1))):
        raise CorruptDataError(
            f"{shown} holds labels {np.unique(y)[:10].tolist()}, expected 0 (inlier) and "
            f"1 (outlier). {remedy}",
            path=shown,
        )
    return X.astype(np.float64), y.astype(np.int64)


def _validate_mat(data, shown, name, remedy):
    _tabular_Xy(read_mat(data, shown, remedy), shown, remedy)


def _validate_npz(data, shown, name, remedy):
    _tabular_Xy(read_npz(data, shown, remedy), shown, remedy)



def _odds_names():
    prefix = COLLECTIONS["odds"].folder + "/"
    return sorted(k[len(prefix) : -len(".mat")] for k in SHA256 if k.startswith(prefix))


def _adbench_files():
    """Map ADBench bare names to file stems (``"cardio" -> "6_cardio"``), in ADBench order."""
    prefix = COLLECTIONS["adbench"].folder + "/"
    stems = [k[len(prefix) : -len(".npz")] for k in SHA256 if k.startswith(prefix)]
    stems.sort(key=lambda s: (int(s.split("_", 1)[0]) if s.split("_", 1)[0].isdigit() else 0, s))
    return {re.sub(r"^\d+_", "", s): s for s in stems}


def list_odds_datasets():
    """Return the names :func:`load_odds` knows.

    These are the 17 ODDS data sets that PyOD's benchmark reads; whether their
    files are present locally is checked only when one is loaded.

    Returns
    -------
    names : list of str
        Sorted names, such as ``"cardio"``.

    Examples
    --------
    >>> from sklearn_fssd.datasets import list_odds_datasets
    >>> names = list_odds_datasets()
    >>> len(names), names[:3]
    (17, ['arrhythmia', 'cardio', 'glass'])
    """
    return _odds_names()


def list_adbench_datasets():
    """Return the names :func:`load_adbench` knows, in ADBench's order.

    These are the bare names of the 47 ADBench "Classical" data sets (the
    file ``6_cardio.npz`` is ``"cardio"``). No checksum is recorded for
    ``backdoor``, ``census``, ``fraud`` and ``speech``; they load with a warning.

    Returns
    -------
    names : list of str
        Bare names, such as ``"cardio"`` or ``"Cardiotocography"``.

    Examples
    --------
    >>> from sklearn_fssd.datasets import list_adbench_datasets
    >>> names = list_adbench_datasets()
    >>> len(names), names[:3]
    (47, ['ALOI', 'annthyroid', 'backdoor'])
    """
    return list(_adbench_files())


def _unknown_name(kind, name, available):
    lowered = {n.lower(): n for n in available}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(repr(lowered[c]) for c in close)}?" if close else ""
    return ValueError(f"Unknown {kind} data set {name!r}.{hint} Available: {available}")


def _check_name(name):
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}: {name!r}.")
    return name.strip()


#: The Returns and Raises of :func:`load_odds` and :func:`load_adbench`.
_RETURNS_RAISES = """\
Returns
    -------
    X : ndarray of shape (n_samples, n_features), dtype=float64
        The features (converted to float64 whatever the file stores).
    y : ndarray of shape (n_samples,), dtype=int64
        1 for outliers, 0 for inliers.

    Raises
    ------
    ValueError
        If ``name`` is unknown; the message suggests close names and lists all.
    DatasetNotFoundError
        If no searched folder holds the file (and ``download=False``).
    CorruptDataError
        If the file is malformed or fails its checksum."""


@fill_doc(returns_raises=_RETURNS_RAISES)
def load_odds(name, *, data_home=None, download=False, verify=True):
    """Load an ODDS outlier-detection benchmark (Rayana, 2016) by name.

    The ``.mat`` files are those of PyOD's benchmark (``notebooks/data/`` of
    github.com/yzhao062/pyod). Labels are as in the files: **1 = outlier**,
    0 = inlier (PyOD's convention, the opposite sign of scikit-learn's
    ``predict``).

    Parameters
    ----------
    name : str
        A name from :func:`list_odds_datasets`, such as ``"cardio"`` (case and
        a ``.mat`` suffix are ignored).
    data_home : str or path-like, default=None
        A data root searched first; it holds ``odds/mat/<name>.mat``. The file
        is searched, in this order, in ``<data_home>/odds/mat``,
        ``<root>/odds/mat`` for every root in the environment variable
        ``SKLEARN_FSSD_DATA``, and ``~/sklearn_fssd_data/odds/mat``.
    download : bool, default=False
        If the file is not found, download it from PyOD's GitHub repository
        (at a fixed commit) into ``get_data_home(data_home)/odds/mat``.
    verify : bool, default=True
        Check the SHA-256 of the file against the recorded one.

    {returns_raises}

    Examples
    --------
    >>> from sklearn_fssd.datasets import load_odds
    >>> X, y = load_odds("cardio")  # doctest: +SKIP
    >>> X.shape, int(y.sum())  # doctest: +SKIP
    ((1831, 21), 176)
    """
    query = _check_name(name)
    available = _odds_names()
    stem = query[: -len(".mat")] if query.lower().endswith(".mat") else query
    matches = [n for n in available if n.lower() == stem.lower()]
    if not matches:
        raise _unknown_name("ODDS", name, available)
    file = matches[0] + ".mat"
    (path,) = locate(
        "odds", (file,), data_home=data_home, download=download, verify=verify,
        validate=_validate_mat,
    )
    remedy = remedy_for(path, "odds")
    data = read_verified(path, key=f"odds/mat/{file}", verify=verify, gz=False, remedy=remedy)
    return _tabular_Xy(read_mat(data, str(path), remedy), str(path), remedy)


@fill_doc(returns_raises=_RETURNS_RAISES)
def load_adbench(name, *, data_home=None, download=False, verify=True):
    """Load an ADBench "Classical" outlier-detection data set (Han et al., 2022).

    The ``.npz`` files are those of ``adbench/datasets/Classical/`` in
    github.com/Minqi824/ADBench, read with ``allow_pickle=False``. Labels are as
    in the files: **1 = outlier**, 0 = inlier.

    Parameters
    ----------
    name : str
        A bare name from :func:`list_adbench_datasets` (``"cardio"``) or the
        file's stem (``"6_cardio"``); case and a ``.npz`` suffix are ignored.
    data_home : str or path-like, default=None
        A data root searched first; it holds
        ``odds/adbench_classical/<number>_<name>.npz``. The file is searched,
        in this order, in ``<data_home>/odds/adbench_classical``,
        ``<root>/odds/adbench_classical`` for every root in the environment
        variable ``SKLEARN_FSSD_DATA``, and
        ``~/sklearn_fssd_data/odds/adbench_classical``.
    download : bool, default=False
        If the file is not found, download it from ADBench's GitHub
        repository (at a fixed commit) into
        ``get_data_home(data_home)/odds/adbench_classical``.
    verify : bool, default=True
        Check the SHA-256 of the file against the recorded one. Four files
        (backdoor, census, fraud, speech) have no recorded checksum and load
        with a ``UserWarning``.

    {returns_raises}

    Examples
    --------
    >>> from sklearn_fssd.datasets import load_adbench
    >>> X, y = load_adbench("cardio")  # doctest: +SKIP
    >>> X.shape, int(y.sum())  # doctest: +SKIP
    ((1831, 21), 176)
    """
    query = _check_name(name)
    files = _adbench_files()
    stem = query[: -len(".npz")] if query.lower().endswith(".npz") else query
    by_lower = {}
    for bare, full in files.items():
        by_lower.setdefault(bare.lower(), full)
        by_lower.setdefault(full.lower(), full)
    full = by_lower.get(stem.lower())
    if full is None:
        raise _unknown_name("ADBench", re.sub(r"^\d+_", "", stem), list(files))
    file = full + ".npz"
    (path,) = locate(
        "adbench", (file,), data_home=data_home, download=download, verify=verify,
        validate=_validate_npz,
    )
    remedy = remedy_for(path, "adbench")
    key = f"{COLLECTIONS['adbench'].folder}/{file}"
    data = read_verified(path, key=key, verify=verify, gz=False, remedy=remedy)
    return _tabular_Xy(read_npz(data, str(path), remedy), str(path), remedy)
