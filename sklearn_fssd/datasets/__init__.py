"""Dataset loaders in the style of :mod:`sklearn.datasets`, checksummed.

Every loader returns ``(X, y)`` as numpy arrays and takes the same keyword
arguments: ``data_home`` (where to look first), ``download`` (fetch missing
files from the official source) and ``verify`` (check the SHA-256 of the
content against the checksum recorded for each file).

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

The package's modules: ``images`` (MNIST, Fashion-MNIST, notMNIST, CIFAR-10),
``tables`` (ODDS, ADBench); privately ``_fetch`` (search, download, checksums),
``_formats`` (IDX, ``.npz``, ``.mat``), ``_registry`` (folders, mirrors,
checksums) and ``_errors``. The genome benchmark is :mod:`sklearn_fssd.genomes`.
"""

from ._errors import CorruptDataError, DatasetNotFoundError
from ._fetch import get_data_home
from .images import load_cifar10_test, load_fashion_mnist, load_mnist, load_notmnist
from .tables import list_adbench_datasets, list_odds_datasets, load_adbench, load_odds

__all__ = [
    "CorruptDataError",
    "DatasetNotFoundError",
    "get_data_home",
    "list_adbench_datasets",
    "list_odds_datasets",
    "load_adbench",
    "load_cifar10_test",
    "load_fashion_mnist",
    "load_mnist",
    "load_notmnist",
    "load_odds",
]
