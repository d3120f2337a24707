"""Where the data files are, and getting them: search, download, verification.

The data root holds one folder per collection (see :mod:`sklearn_fssd.datasets`);
:func:`locate` searches the roots in order, downloads what is missing when
asked, and :func:`read_verified` reads a file and checks its SHA-256 against
the registry (:mod:`._registry`). Every file written here goes through
:func:`sklearn_fssd._utils.atomic_write`.
"""

import gzip
import hashlib
import logging
import os
import warnings
import zlib
from pathlib import Path

import pooch

from .._utils import atomic_write
from ._errors import CorruptDataError, DatasetNotFoundError
from ._registry import BASE_URLS, COLLECTIONS, SHA256, SYSTEM_DIRS

logger = logging.getLogger(__name__)

#: Environment variable naming one or more data roots (``os.pathsep``-separated).
ENV_VAR = "SKLEARN_FSSD_DATA"

#: Default cache folder, as in :func:`sklearn.datasets.get_data_home`.
DEFAULT_DATA_HOME = os.path.join("~", "sklearn_fssd_data")

#: Seconds to wait for a server before a download gives up.
DOWNLOAD_TIMEOUT = 60


# --------------------------------------------------------------------------- #
# Where the data are
# --------------------------------------------------------------------------- #


def env_roots():
    """The data roots listed in the environment variable ``SKLEARN_FSSD_DATA``, in order."""
    value = os.environ.get(ENV_VAR, "")
    return [os.path.expanduser(p) for p in value.split(os.pathsep) if p]


def get_data_home(data_home=None):
    """Return the folder that downloads go to.

    It is ``data_home`` if given, else the first root listed in the environment
    variable ``SKLEARN_FSSD_DATA``, else ``~/sklearn_fssd_data``. Unlike
    :func:`sklearn.datasets.get_data_home`, the folder is not created here; a
    download creates it.

    Parameters
    ----------
    data_home : str or path-like, default=None
        An explicit data root.

    Returns
    -------
    data_home : str
        The data root, with ``~`` expanded.

    Examples
    --------
    >>> from sklearn_fssd.datasets import get_data_home
    >>> get_data_home("/tmp/my_data")
    '/tmp/my_data'
    """
    if data_home is not None:
        return os.path.expanduser(os.fspath(data_home))
    roots = env_roots()
    if roots:
        return roots[0]
    return os.path.expanduser(DEFAULT_DATA_HOME)


# By hand: pooch caches into one folder; data here may sit in several roots and system folders.
def data_dirs(subfolder, data_home):
    """``subfolder`` of every data root, in search order, as ``(folder, origin)`` pairs.

    The roots are the ``data_home`` argument (when given), each root of
    ``SKLEARN_FSSD_DATA`` and the default cache; the genome benchmark searches
    them too.
    """
    dirs = []
    if data_home is not None:
        dirs.append((Path(get_data_home(data_home), subfolder), "data_home argument"))
    for root in env_roots():
        dirs.append((Path(root, subfolder), f"${ENV_VAR}"))
    dirs.append((Path(os.path.expanduser(DEFAULT_DATA_HOME), subfolder), "default cache"))
    return dirs


def _search_dirs(collection, data_home):
    """Folders to search for ``collection``, in order, as ``(folder, origin)`` pairs."""
    dirs = data_dirs(COLLECTIONS[collection].folder, data_home)
    for folder in SYSTEM_DIRS.get(collection, ()):
        dirs.append((Path(folder), "system package folder"))
    unique, seen = [], set()
    for folder, origin in dirs:
        key = os.path.abspath(folder)
        if key not in seen:
            seen.add(key)
            unique.append((folder, origin))
    return unique


def _on_disk_names(name, gz):
    # IDX files: the .gz (which is what downloads produce) or the uncompressed file.
    return (name + ".gz", name) if gz else (name,)


def _find_in(folder, names, gz):
    """Paths of all ``names`` in ``folder``, or the list of missing names."""
    found, missing = [], []
    for name in names:
        for candidate in _on_disk_names(name, gz):
            path = folder / candidate
            if path.is_file():
                found.append(path)
                break
        else:
            missing.append(_on_disk_names(name, gz)[0])
    return found, missing


def _not_found_message(collection, names, searched, data_home, reason_no_download=None):
    col = COLLECTIONS[collection]
    lines = [f"{col.title} not found: no searched folder holds all of {list(names)}."]
    lines.append("Searched, in this order:")
    for i, (folder, origin, missing) in enumerate(searched, 1):
        lines.append(f"  {i}. {folder} ({origin}): missing {missing}")
    if ENV_VAR not in os.environ:
        lines.append(f"  ({ENV_VAR} is not set.)")
    lines.append("To get the data, any of:")
    if col.how_to_get:
        lines.append(f"  - {col.how_to_get};")
    lines.append(
        f"  - set {ENV_VAR} to a data root that holds '{col.folder}/', or pass "
        "data_home=<that root>;"
    )
    urls = BASE_URLS.get(col.urls_key, ())
    target = Path(get_data_home(data_home), col.folder)
    if reason_no_download is None and urls:
        lines.append(f"  - pass download=True to download from {urls[0]} into {target}.")
    else:
        reason = reason_no_download or "there is no official source for this file."
        lines.append(f"  (download=True cannot help: {reason})")
    return "\n".join(lines)


def remedy_for(path, collection):
    """What to do about a bad file at ``path``."""
    path = Path(path)
    for folder in SYSTEM_DIRS.get(collection, ()):
        if os.path.abspath(path).startswith(os.path.abspath(folder) + os.sep):
            return (
                "Reinstall the package that provides it "
                "(apt-get install --reinstall -y dataset-fashion-mnist)."
            )
    if collection == "cifar10":
        return (
            f"Delete {path} and re-create it as described in the Notes of load_cifar10_test "
            "(there is no official download for it)."
        )
    return f"Delete {path} and load again with download=True to fetch a fresh copy."


def locate(collection, names, *, data_home, download, verify, gz=False, validate=None):
    """Paths of the files ``names`` of ``collection``, downloading them if asked."""
    searched = []
    for folder, origin in _search_dirs(collection, data_home):
        found, missing = _find_in(folder, names, gz)
        if not missing:
            logger.debug("Loading %s from %s", names, folder)
            return found
        searched.append((folder, origin, missing))
    col = COLLECTIONS[collection]
    urls = BASE_URLS.get(col.urls_key, ())
    if not download:
        raise DatasetNotFoundError(_not_found_message(collection, names, searched, data_home))
    if not urls:
        raise DatasetNotFoundError(
            _not_found_message(
                collection,
                names,
                searched,
                data_home,
                reason_no_download="there is no official source for this file.",
            )
        )
    target = Path(get_data_home(data_home), col.folder)
    try:
        target.mkdir(parents=True, exist_ok=True)
        if not os.access(target, os.W_OK):
            raise PermissionError(f"{target} is not writable")
    except OSError as exc:
        raise OSError(
            f"Cannot download {col.title} into {target} ({exc}). Pass data_home= a writable "
            f"folder, or set {ENV_VAR} to one."
        ) from exc
    paths = []
    for name in names:
        present, _ = _find_in(target, [name], gz)
        if present:
            paths.append(present[0])
            continue
        dest = target / _on_disk_names(name, gz)[0]
        _download(
            [base + dest.name for base in urls],
            dest,
            name=name,
            key=f"{col.folder}/{name}",
            verify=verify,
            gz=gz,
            validate=validate,
        )
        paths.append(dest)
    return paths


# --------------------------------------------------------------------------- #
# Reading and verifying
# --------------------------------------------------------------------------- #


# By hand, not pooch.file_hash: IDX digests are of uncompressed content; bytes hashed = bytes parsed
def sha256(data):
    return hashlib.sha256(data).hexdigest()


def read_verified(path, *, key, verify, gz, remedy, shown=None):
    """Content of ``path`` (gunzipped if ``gz``), its SHA-256 checked against ``SHA256[key]``.

    ``shown`` names the file in messages; ``remedy`` says what to do about a bad one.
    """
    shown = str(path) if shown is None else shown
    try:
        if gz:
            with gzip.open(path, "rb") as fh:
                data = fh.read()
        else:
            with open(path, "rb") as fh:
                data = fh.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise CorruptDataError(
            f"{shown} could not be decompressed ({exc}): the file is truncated or corrupt. "
            f"{remedy}",
            path=shown,
        ) from exc
    if not verify:
        return data
    expected = SHA256[key]
    if expected is None:
        warnings.warn(
            f"No SHA-256 is recorded for {key}, so {shown} was loaded unverified.",
            UserWarning,
            stacklevel=3,
        )
        return data
    actual = sha256(data)
    if actual != expected:
        what = "its uncompressed content" if gz else "the file"
        raise CorruptDataError(
            f"Checksum mismatch for {shown}: the SHA-256 of {what} is {actual}, expected "
            f"{expected} (the SHA-256 recorded for {key}). The file is corrupt, truncated "
            f"or another version. {remedy}",
            path=shown,
            expected=expected,
            actual=actual,
        )
    return data


def _download(urls, dest, *, name, key, verify, gz, validate):
    """Download ``dest`` from the first of ``urls`` that gives a good file."""
    errors = []
    for url in urls:  # by hand: pooch knows one URL per file, not a list of mirrors
        try:
            _download_one(url, dest, name=name, key=key, verify=verify, gz=gz, validate=validate)
            return
        except OSError as exc:  # CorruptDataError and requests' errors are OSErrors
            logger.warning("Download of %s failed: %s", url, exc)
            errors.append((url, exc))
    if len(errors) == 1:
        raise errors[0][1]
    message = f"Every source for {dest.name} failed:\n" + "\n".join(
        f"  - {url}: {exc}" for url, exc in errors
    )
    if all(isinstance(exc, CorruptDataError) for _, exc in errors):
        raise CorruptDataError(message, path=str(dest)) from errors[-1][1]
    raise OSError(message) from errors[-1][1]


class _DeclaredLength:
    """A stand-in progress bar for :class:`pooch.HTTPDownloader`: it only keeps ``total``.

    pooch sets ``total`` to the Content-Length (0 when the server sends none) once
    the server has answered, so ``None`` afterwards means no response came.
    """

    total = None

    def update(self, n):
        pass

    def reset(self):
        pass

    def close(self):
        pass


def _download_one(url, dest, *, name, key, verify, gz, validate):
    """Download ``url`` to a temporary file beside ``dest``, check it, then move it in place.

    pooch's HTTP downloader (requests: proxies, timeouts, redirects) streams the
    file into :func:`~sklearn_fssd._utils.atomic_write` rather than through
    :func:`pooch.retrieve`, whose own move into place comes before the checks
    this registry needs (the digest of the uncompressed content, the format).
    The temporary file is removed on any failure; one left by a killed process is
    removed by a later download of ``dest``.
    """
    logger.info("Downloading %s to %s", url, dest)
    remedy = (
        "Nothing was saved. The transfer may have been damaged (try again) or the server "
        "holds another version of the file."
    )
    declared = _DeclaredLength()
    # identity encoding: the bytes saved are those the Content-Length counts
    fetch = pooch.HTTPDownloader(progressbar=declared, chunk_size=1 << 16,
                                 timeout=DOWNLOAD_TIMEOUT, headers={"Accept-Encoding": "identity"})
    with atomic_write(dest) as out:
        failure = None
        try:
            fetch(url, out, None)
        except OSError as exc:  # requests' errors are OSErrors: HTTP status, network, transfer
            failure = exc
        received = out.tell()
        if declared.total is None:  # no answer, or an HTTP error status
            raise OSError(f"Download of {url} failed: {failure}") from failure
        if declared.total and received != declared.total:
            raise CorruptDataError(
                f"Download of {url} was truncated: received {received} of {declared.total} "
                f"bytes. {remedy}",
                path=url,
            ) from failure
        if failure is not None:  # broken off, with no length to compare
            raise CorruptDataError(
                f"Download of {url} failed ({failure!r}). {remedy}", path=url
            ) from failure
        out.flush()
        shown = f"{url} (downloaded)"
        data = read_verified(out.name, key=key, verify=verify, gz=gz, remedy=remedy, shown=shown)
        if validate is not None:
            validate(data, shown, name, remedy)
