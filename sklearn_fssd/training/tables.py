"""The networks :class:`~sklearn_fssd.FSSDDetector` can build for unlabelled tables.

``FSSDDetector(model=None)`` calls :func:`train_table_discriminator`: an MLP trained through
skorch to tell the rows of ``X`` from synthetic outliers made from them (uniform noise over
their range and rows with shuffled features), which needs no labels. The candidates were
measured on ADBench tables that the ODDS table does not contain
(``python -m benchmarks default-network``, ``benchmarks/results/default_network.md``): the
discriminator, :func:`train_table_autoencoder` (an autoencoder that reconstructs ``X``, the
default before) and :func:`table_autoencoder` untrained, as a control. All three standardise
their input inside the network, so a detector scores raw rows.
"""

import numpy as np
import torch
from torch import nn

from .._docstrings import fill_doc
from .._progress import skorch_progress
from .._utils import torch_seed
from ..base import _Standardize
from ..models import MLP, MLPAutoencoder
from ..singularity import input_range, synthetic_outliers

#: The synthetic outliers the discriminator learns to tell from X.
DISCRIMINATOR_OUTLIERS = ("noise", "shuffled")


def table_hidden_sizes(n_features):
    """Hidden widths for ``n_features`` inputs: ``clip(2 d, 16, 128)``, ``clip(d / 2, 4, 32)``."""
    return (int(np.clip(2 * n_features, 16, 128)), int(np.clip(n_features // 2, 4, 32)))


#: The training parameters both trained table networks take (their Parameters after ``X``).
_TRAINING = """\
max_epochs : int, default=30
    random_state : int, default=0
        Seeds everything random in training: the initial weights, the batch
        order and, for the discriminator, its synthetic outliers.
    device : str, default="cpu"
    verbose : int or bool, default=0
        1: an epoch bar; 2: skorch's epoch table as well."""


def _flat(X):
    return np.asarray(X).reshape(len(X), -1).astype(np.float32)


def _standardizer(flat):
    """The ``_Standardize`` layer of ``flat``'s columns; moments in float64, since squares of
    float32 values above 1.8e19 overflow float32."""
    mean = flat.mean(axis=0, dtype=np.float64).astype(np.float32)
    scale = flat.std(axis=0, dtype=np.float64).astype(np.float32)
    scale[scale == 0] = 1.0
    return _Standardize(mean, scale)


def _module(flat, net_class, **kwargs):
    """``standardize`` (``flat``'s moments) then ``net``, a ``net_class`` sized to ``flat``'s
    width (:func:`table_hidden_sizes`)."""
    width = flat.shape[1]
    module = nn.Sequential()
    module.add_module("standardize", _standardizer(flat))
    module.add_module("net", net_class(width, table_hidden_sizes(width), **kwargs))
    return module


def _fit(net_class, module, data, target, *, criterion, max_epochs, device, verbose, desc):
    callbacks, skorch_verbose = skorch_progress(verbose, desc=desc)
    net = net_class(
        module,
        criterion=criterion,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        max_epochs=max_epochs,
        batch_size=min(128, len(data)),
        train_split=None,
        iterator_train__shuffle=True,
        device=device,
        callbacks=callbacks,
        verbose=skorch_verbose,
    )
    return net.fit(data, target).module_


def table_autoencoder(X, random_state=0):
    """An untrained :class:`~sklearn_fssd.models.MLPAutoencoder` sized to ``X``.

    The control of ``python -m benchmarks default-network``: does training matter?

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Gives the width and the moments of the standardising first layer.
    random_state : int, default=0
        Seeds the initial weights.

    Returns
    -------
    torch.nn.Sequential
        ``standardize`` then ``net``, the autoencoder at its initial weights.

    Examples
    --------
    >>> import numpy as np
    >>> net = table_autoencoder(np.random.RandomState(0).normal(size=(20, 5)))
    >>> net(torch.zeros(2, 5)).shape
    torch.Size([2, 5])
    """
    with torch_seed(random_state):
        return _module(_flat(X), MLPAutoencoder)


@fill_doc(training=_TRAINING)
def train_table_autoencoder(X, *, max_epochs=30, random_state=0, device="cpu", verbose=0):
    """An :class:`~sklearn_fssd.models.MLPAutoencoder` trained through skorch to reconstruct
    the standardised rows of ``X`` (mean squared error, Adam, learning rate 1e-3, batches of
    128): ``FSSDDetector(model=None)``'s network before the discriminator measured ahead.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The rows to reconstruct; no labels.
    {training}

    Returns
    -------
    torch.nn.Sequential
        ``standardize`` then ``net``, the autoencoder (layers ``net.enc1``, ``net.code``, ...).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.RandomState(0).normal(size=(64, 4))
    >>> net = train_table_autoencoder(X, max_epochs=2)
    >>> net(torch.zeros(3, 4)).shape
    torch.Size([3, 4])
    """
    from skorch import NeuralNetRegressor

    flat = _flat(X)
    with torch_seed(random_state, device):
        module = _module(flat, MLPAutoencoder)
        target = module.standardize(torch.from_numpy(flat)).numpy()
        return _fit(NeuralNetRegressor, module, flat, target, criterion=nn.MSELoss,
                    max_epochs=max_epochs, device=device, verbose=verbose,
                    desc="table autoencoder")


@fill_doc(training=_TRAINING)
def train_table_discriminator(X, *, max_epochs=30, random_state=0, device="cpu", verbose=0):
    """An :class:`~sklearn_fssd.models.MLP` trained through skorch to tell the rows of ``X``
    (class 1) from as many synthetic outliers (class 0): uniform noise over the range of ``X``
    and rows of ``X`` with their features shuffled
    (:func:`~sklearn_fssd.singularity.synthetic_outliers`). Cross-entropy, Adam, learning rate
    1e-3, batches of 128.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The rows the network learns to accept; no labels.
    {training}

    Returns
    -------
    torch.nn.Sequential
        ``standardize`` then ``net``, the MLP (layers ``net.fc1``, ``net.fc2``, ``net.out``).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.RandomState(0).normal(size=(64, 4))
    >>> net = train_table_discriminator(X, max_epochs=2)
    >>> net(torch.zeros(3, 4)).shape
    torch.Size([3, 2])
    """
    from skorch import NeuralNetClassifier

    flat = _flat(X)
    # the noise range of X as the detector takes it (one range for images, per column for tables)
    low, high = input_range(np.asarray(X, dtype=np.float32))
    fake = synthetic_outliers(X, low, high, len(flat), kinds=DISCRIMINATOR_OUTLIERS,
                              random_state=random_state)
    data = np.vstack([flat, _flat(fake)])
    labels = np.r_[np.ones(len(flat)), np.zeros(len(fake))].astype(np.int64)
    with torch_seed(random_state, device):
        module = _module(flat, MLP, out_features=2)
        return _fit(NeuralNetClassifier, module, data, labels, criterion=nn.CrossEntropyLoss,
                    max_epochs=max_epochs, device=device, verbose=verbose,
                    desc="FSSD default network")
