"""One-call training of the model zoo with the FSSD paper's recipes, and weight caching.

Every ``train_*`` function returns a fitted :class:`skorch.NeuralNetClassifier`
(its network is ``net.module_``) and shares one code path,
:func:`train_classifier`: cross-entropy on the networks' logits, shuffled
mini-batches, an optional learning-rate schedule, all of it seeded by
``random_state`` without touching the random state the caller sees.

Two of the FSSD paper's comparison methods are training recipes on that same
path: :func:`train_deep_ensemble` (independently seeded networks for
:class:`~sklearn_fssd.DeepEnsembleDetector`) and :func:`train_outlier_exposure`
(:class:`OutlierExposureLoss`: cross-entropy plus a uniform posterior on
auxiliary outliers; score the network with :class:`~sklearn_fssd.MSPDetector`).

:func:`save_weights` and :func:`load_weights` store a network's
``state_dict`` (written atomically with a SHA-256 digest of its tensors, read
with ``weights_only=True`` and checked against that digest), so that
benchmarks train a network once and load it afterwards.
"""

import hashlib
import math
import numbers
import os
import pickle
import struct
import warnings
from collections.abc import Mapping

import numpy as np
import torch
from skorch import NeuralNet, NeuralNetClassifier
from skorch.callbacks import LRScheduler, ProgressBar
from skorch.dataset import ValidSplit
from torch import nn

from ._progress import skorch_progress
from ._utils import atomic_write, resolve_device, torch_seed
from .datasets import CorruptDataError
from .models import GenomeLSTM, LeNet, ResNet18, ResNet34

__all__ = [
    "OUTLIER_LABEL",
    "OutlierExposureLoss",
    "load_weights",
    "save_weights",
    "train_classifier",
    "train_deep_ensemble",
    "train_genome_lstm",
    "train_lenet",
    "train_outlier_exposure",
    "train_resnet",
]


# --------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------


def _check_X(X, name="X"):
    """Return ``X`` as a numpy array: float32 for pixels/features, int64 for token ids."""
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    X = np.asarray(X)
    if X.dtype.kind == "f":
        return X.astype(np.float32, copy=False)
    if X.dtype.kind in "iu":
        return X.astype(np.int64, copy=False)
    raise ValueError(
        f"{name} must hold floats (features, pixels in [0, 1]) or integers (token ids); "
        f"got an array of dtype {X.dtype}."
    )


def _check_y(y, n_samples):
    """Return ``y`` as int64 class indices ``0..n_classes-1``, and ``n_classes``."""
    if isinstance(y, torch.Tensor):
        y = y.detach().cpu().numpy()
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D (one class index per sample); got shape {y.shape}.")
    if y.shape[0] != n_samples:
        raise ValueError(
            f"X and y have different numbers of samples: {n_samples} and {y.shape[0]}."
        )
    if y.size == 0:
        raise ValueError("y is empty; training needs at least one sample.")
    if y.dtype.kind not in "iuf" or (y.dtype.kind == "f" and not np.all(np.mod(y, 1) == 0)):
        raise ValueError(
            "y must hold integer class indices 0..n_classes-1 (the networks predict indices); "
            f"got dtype {y.dtype}. Encode labels first, e.g. with "
            "sklearn.preprocessing.LabelEncoder."
        )
    y = y.astype(np.int64)
    if y.min() < 0:
        raise ValueError(f"y must hold class indices 0..n_classes-1; got the label {y.min()}.")
    return y, int(y.max()) + 1


def _check_image_X(X, model_name):
    X = _check_X(X)
    if X.ndim != 4 or X.dtype != np.float32:
        raise ValueError(
            f"{model_name} trains on float images of shape (n_samples, channels, height, "
            f"width) with pixels in [0, 1]; got an array of shape {X.shape} and dtype "
            f"{X.dtype}. Add the channel axis with X[:, None] if it is missing."
        )
    return X


def _check_random_state(random_state):
    if random_state is None:
        return None
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state must be None or an int >= 0; got {random_state}.")
        return int(random_state)
    raise ValueError(f"random_state must be None or an int >= 0; got {random_state!r}.")


def _resolve_train_split(train_split, random_state):
    if train_split is None or callable(train_split):
        return train_split
    if isinstance(train_split, numbers.Real) and 0 < train_split < 1:
        return ValidSplit(float(train_split), stratified=True, random_state=random_state)
    raise ValueError(
        "train_split must be None (train on everything), a float in (0, 1) (the fraction "
        f"held out for validation) or a skorch split such as ValidSplit; got {train_split!r}."
    )


# --------------------------------------------------------------------------
# training
# --------------------------------------------------------------------------


def train_classifier(
    module,
    X,
    y,
    *,
    optimizer=torch.optim.Adam,
    lr=1e-3,
    max_epochs=10,
    batch_size=64,
    lr_scheduler=None,
    train_split=None,
    callbacks=None,
    device="cpu",
    random_state=0,
    verbose=False,
    **kwargs,
):
    """Train a classification network with skorch and return the fitted net.

    The one code path behind :func:`train_lenet`, :func:`train_resnet` and
    :func:`train_genome_lstm`: cross-entropy loss on the network's logits,
    shuffled mini-batches, an optional learning-rate schedule. The module is
    initialised and trained under ``random_state``: the same seed gives the
    same weights, and the caller's global random state is restored afterwards.

    Parameters
    ----------
    module : type or torch.nn.Module
        The network, returning logits. Pass the class (with constructor
        arguments as ``module__name=value`` keyword arguments) so that its
        initial weights, too, come from ``random_state``; an instance is
        trained in place from the weights it has.
    X : array-like of shape (n_samples, ...)
        Training inputs: floats (become float32) or integer token ids
        (become int64).
    y : array-like of shape (n_samples,)
        Integer class indices ``0..n_classes-1``.
    optimizer : type, default=torch.optim.Adam
        Optimizer class; its other arguments go as ``optimizer__name=value``.
    lr : float, default=1e-3
        Learning rate.
    max_epochs : int, default=10
        Number of passes over the training data.
    batch_size : int, default=64
        Mini-batch size.
    lr_scheduler : skorch.callbacks.LRScheduler or None, default=None
        Learning-rate schedule, added to the callbacks as ``"lr_scheduler"``.
    train_split : None, float or callable, default=None
        None trains on everything. A float in (0, 1) holds that fraction out,
        stratified and seeded by ``random_state``, and reports validation
        loss and accuracy in ``net.history``; a callable is used as skorch's
        ``train_split`` (e.g. :class:`skorch.dataset.ValidSplit`).
    callbacks : list or None, default=None
        Further skorch callbacks (instances or ``(name, callback)`` pairs).
    device : {"cpu", "cuda", "auto"} or str, default="cpu"
        Where to train; ``"auto"`` takes CUDA when it is available.
    random_state : int or None, default=0
        Seed of weight initialisation, shuffling and dropout. None leaves
        torch's global generator as it is (not reproducible). On CUDA,
        cuDNN may still add non-determinism.
    verbose : bool or int, default=False
        False trains silently; True (or 1) shows one progress bar over the
        epochs, the losses as its postfix; 2 prints skorch's table per epoch
        and a progress bar over the batches as well.
    **kwargs
        Passed on to :class:`skorch.NeuralNetClassifier`, e.g.
        ``module__num_classes=10``, ``optimizer__weight_decay=5e-4``,
        ``criterion=...``, ``iterator_train__num_workers=2``.

    Returns
    -------
    net : skorch.NeuralNetClassifier
        The fitted net; ``net.module_`` is the trained network and
        ``net.predict(X)`` returns class indices.

    See Also
    --------
    train_lenet, train_resnet, train_genome_lstm : the paper's recipes.
    save_weights : cache the trained network.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_fssd.models import MLP
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 4)).astype("float32")
    >>> y = (X[:, 0] > 0).astype("int64")
    >>> net = train_classifier(MLP, X, y, module__in_features=4, lr=0.01, max_epochs=2)
    >>> net.predict(X).shape
    (40,)
    """
    X = _check_X(X)
    y, _ = _check_y(y, X.shape[0])
    return _fit_classifier(
        module,
        X,
        y,
        optimizer=optimizer,
        lr=lr,
        max_epochs=max_epochs,
        batch_size=batch_size,
        lr_scheduler=lr_scheduler,
        train_split=train_split,
        callbacks=callbacks,
        device=device,
        random_state=random_state,
        verbose=verbose,
        **kwargs,
    )


def _fit_classifier(
    module,
    X,
    y,
    *,
    optimizer,
    lr,
    max_epochs,
    batch_size,
    lr_scheduler,
    train_split,
    callbacks,
    device,
    random_state,
    verbose,
    **kwargs,
):
    """The skorch code path of :func:`train_classifier`, on checked ``X`` and ``y``."""
    random_state = _check_random_state(random_state)
    torch_device = resolve_device(device)
    verbose = int(verbose)

    all_callbacks = list(callbacks) if callbacks is not None else []
    if lr_scheduler is not None:
        all_callbacks.append(("lr_scheduler", lr_scheduler))
    bar_callbacks, skorch_verbose = skorch_progress(verbose)
    all_callbacks.extend(bar_callbacks)
    if verbose >= 2:
        all_callbacks.append(("progress_bar", ProgressBar()))

    kwargs.setdefault("criterion", nn.CrossEntropyLoss)
    kwargs.setdefault("iterator_train__shuffle", True)
    if random_state is not None:
        kwargs.setdefault(
            "iterator_train__generator", torch.Generator().manual_seed(random_state)
        )
    net = NeuralNetClassifier(
        module,
        optimizer=optimizer,
        lr=lr,
        max_epochs=max_epochs,
        batch_size=batch_size,
        train_split=_resolve_train_split(train_split, random_state),
        callbacks=all_callbacks,
        device=str(torch_device),
        verbose=skorch_verbose,
        **kwargs,
    )
    with torch_seed(random_state, torch_device):
        net.fit(X, y)
    return net


def train_lenet(
    X,
    y,
    *,
    max_epochs=14,
    batch_size=64,
    lr=1.0,
    gamma=0.7,
    device="cpu",
    random_state=0,
    verbose=False,
    **kwargs,
):
    """Train :class:`~sklearn_fssd.models.LeNet` with the PyTorch MNIST example's recipe.

    The recipe of the FSSD paper's Fashion-MNIST experiments: Adadelta with
    learning rate 1.0, multiplied by ``gamma`` = 0.7 after every epoch
    (``StepLR``), batches of 64, 14 epochs, cross-entropy loss. The number of
    input channels, the image size and the number of classes (``max(y) + 1``)
    are read from the data unless given as ``module__*`` arguments.

    Parameters
    ----------
    X : array-like of shape (n_samples, channels, height, width)
        Float images with pixels in ``[0, 1]`` (the network normalises).
    y : array-like of shape (n_samples,)
        Integer class indices ``0..n_classes-1``.
    max_epochs : int, default=14
        Number of epochs.
    batch_size : int, default=64
        Mini-batch size.
    lr : float, default=1.0
        Initial learning rate of Adadelta.
    gamma : float, default=0.7
        Learning-rate decay per epoch.
    device : {"cpu", "cuda", "auto"} or str, default="cpu"
        Where to train.
    random_state : int or None, default=0
        Seed of initialisation, shuffling and dropout.
    verbose : bool or int, default=False
        A progress bar over the epochs (True); skorch's epoch table and a batch
        progress bar as well (2).
    **kwargs
        Passed on to :func:`train_classifier` and skorch, e.g.
        ``train_split=0.1`` or ``module__mean=(0.1307,)``.

    Returns
    -------
    net : skorch.NeuralNetClassifier
        The fitted net; ``net.module_`` is the trained LeNet.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((16, 1, 28, 28), dtype=np.float32)
    >>> y = np.arange(16) % 2
    >>> net = train_lenet(X, y, max_epochs=1)
    >>> net.module_.fc2.out_features, net.predict(X).shape
    (2, (16,))
    """
    X = _check_image_X(X, "LeNet")
    _, n_classes = _check_y(y, X.shape[0])
    kwargs.setdefault("module__in_channels", X.shape[1])
    kwargs.setdefault("module__input_size", tuple(X.shape[2:]))
    kwargs.setdefault("module__num_classes", n_classes)
    scheduler = LRScheduler(
        policy=torch.optim.lr_scheduler.StepLR, step_size=1, gamma=gamma, step_every="epoch"
    )
    return train_classifier(
        LeNet,
        X,
        y,
        optimizer=torch.optim.Adadelta,
        lr=lr,
        max_epochs=max_epochs,
        batch_size=batch_size,
        lr_scheduler=scheduler,
        device=device,
        random_state=random_state,
        verbose=verbose,
        **kwargs,
    )


_RESNETS = {18: ResNet18, 34: ResNet34}


def train_resnet(
    X,
    y,
    *,
    depth=34,
    max_epochs=200,
    batch_size=128,
    lr=0.1,
    momentum=0.9,
    weight_decay=5e-4,
    schedule="cosine",
    device="cpu",
    random_state=0,
    verbose=False,
    **kwargs,
):
    """Train a CIFAR :class:`~sklearn_fssd.models.ResNet18` or ``ResNet34``.

    The usual CIFAR recipe: SGD with momentum 0.9, learning rate 0.1, weight
    decay 5e-4, batches of 128, 200 epochs, and a cosine-annealed learning
    rate (``schedule="cosine"``) or a step schedule dividing it by 10 at 50 %
    and 75 % of the epochs (``schedule="step"``). No data augmentation: pass
    augmented images, or a custom ``dataset``, if you want it. The number of
    input channels and of classes (``max(y) + 1``) are read from the data
    unless given as ``module__*`` arguments.

    Parameters
    ----------
    X : array-like of shape (n_samples, channels, height, width)
        Float images with pixels in ``[0, 1]`` (the network normalises).
    y : array-like of shape (n_samples,)
        Integer class indices ``0..n_classes-1``.
    depth : {18, 34}, default=34
        ResNet-34 is the FSSD paper's CIFAR-10 network.
    max_epochs : int, default=200
        Number of epochs.
    batch_size : int, default=128
        Mini-batch size. Batch norm needs batches of at least 2 samples.
    lr : float, default=0.1
        Initial learning rate.
    momentum : float, default=0.9
        SGD momentum.
    weight_decay : float, default=5e-4
        L2 penalty of SGD.
    schedule : {"cosine", "step", None}, default="cosine"
        Learning-rate schedule over ``max_epochs``; None keeps ``lr``.
    device : {"cpu", "cuda", "auto"} or str, default="cpu"
        Where to train; CIFAR-size training wants a GPU.
    random_state : int or None, default=0
        Seed of initialisation and shuffling.
    verbose : bool or int, default=False
        A progress bar over the epochs (True); skorch's epoch table and a batch
        progress bar as well (2).
    **kwargs
        Passed on to :func:`train_classifier` and skorch.

    Returns
    -------
    net : skorch.NeuralNetClassifier
        The fitted net; ``net.module_`` is the trained ResNet.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((2, 3, 32, 32), dtype=np.float32)
    >>> net = train_resnet(X, [0, 1], depth=18, max_epochs=1, batch_size=2)  # doctest: +SKIP
    >>> net.predict(X).shape  # doctest: +SKIP
    (2,)
    """
    if depth not in _RESNETS:
        raise ValueError(f"depth must be one of {sorted(_RESNETS)}; got {depth!r}.")
    if schedule == "cosine":
        scheduler = LRScheduler(
            policy=torch.optim.lr_scheduler.CosineAnnealingLR,
            T_max=max_epochs,
            step_every="epoch",
        )
    elif schedule == "step":
        milestones = sorted({max(1, int(max_epochs * 0.5)), max(1, int(max_epochs * 0.75))})
        scheduler = LRScheduler(
            policy=torch.optim.lr_scheduler.MultiStepLR,
            milestones=milestones,
            gamma=0.1,
            step_every="epoch",
        )
    elif schedule is None:
        scheduler = None
    else:
        raise ValueError(f"schedule must be 'cosine', 'step' or None; got {schedule!r}.")
    name = _RESNETS[depth].__name__
    X = _check_image_X(X, name)
    _, n_classes = _check_y(y, X.shape[0])
    kwargs.setdefault("module__in_channels", X.shape[1])
    kwargs.setdefault("module__num_classes", n_classes)
    kwargs.setdefault("optimizer__momentum", momentum)
    kwargs.setdefault("optimizer__weight_decay", weight_decay)
    return train_classifier(
        _RESNETS[depth],
        X,
        y,
        optimizer=torch.optim.SGD,
        lr=lr,
        max_epochs=max_epochs,
        batch_size=batch_size,
        lr_scheduler=scheduler,
        device=device,
        random_state=random_state,
        verbose=verbose,
        **kwargs,
    )


def train_genome_lstm(
    X,
    y,
    *,
    max_epochs=10,
    batch_size=128,
    lr=1e-3,
    device="cpu",
    random_state=0,
    verbose=False,
    **kwargs,
):
    """Train :class:`~sklearn_fssd.models.GenomeLSTM` on DNA token sequences with Adam.

    Adam with learning rate 1e-3, batches of 128, cross-entropy loss. The
    number of classes is ``max(y) + 1`` unless ``module__num_classes`` is
    given; other architecture arguments go as ``module__hidden_size=64`` and
    so on.

    Parameters
    ----------
    X : array-like of int of shape (n_samples, sequence_length)
        Token ids: A=0, C=1, G=2, T=3, 4 for N or anything else
        (:data:`~sklearn_fssd.models.DNA_TOKENS`).
    y : array-like of shape (n_samples,)
        Integer class indices ``0..n_classes-1``.
    max_epochs : int, default=10
        Number of epochs.
    batch_size : int, default=128
        Mini-batch size.
    lr : float, default=1e-3
        Learning rate of Adam.
    device : {"cpu", "cuda", "auto"} or str, default="cpu"
        Where to train.
    random_state : int or None, default=0
        Seed of initialisation, shuffling and dropout.
    verbose : bool or int, default=False
        A progress bar over the epochs (True); skorch's epoch table and a batch
        progress bar as well (2).
    **kwargs
        Passed on to :func:`train_classifier` and skorch, e.g.
        ``module__pooling="mean"`` or ``optimizer__weight_decay=1e-4``.

    Returns
    -------
    net : skorch.NeuralNetClassifier
        The fitted net; ``net.module_`` is the trained GenomeLSTM.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 5, size=(8, 20))
    >>> y = np.arange(8) % 2
    >>> net = train_genome_lstm(X, y, max_epochs=1, module__hidden_size=8)
    >>> net.predict(X).shape
    (8,)
    """
    X = _check_X(X)
    if X.ndim != 2 or X.dtype != np.int64:
        raise ValueError(
            "GenomeLSTM trains on integer token ids of shape (n_samples, sequence_length); "
            f"got an array of shape {X.shape} and dtype {X.dtype}."
        )
    _, n_classes = _check_y(y, X.shape[0])
    kwargs.setdefault("module__num_classes", n_classes)
    return train_classifier(
        GenomeLSTM,
        X,
        y,
        optimizer=torch.optim.Adam,
        lr=lr,
        max_epochs=max_epochs,
        batch_size=batch_size,
        device=device,
        random_state=random_state,
        verbose=verbose,
        **kwargs,
    )


# --------------------------------------------------------------------------
# baselines that are training recipes: Deep Ensemble, Outlier Exposure
# --------------------------------------------------------------------------


def train_deep_ensemble(
    module,
    X,
    y,
    *,
    n_networks=5,
    random_state=0,
    **kwargs,
):
    """Train ``n_networks`` copies of a network independently: a Deep Ensemble.

    Each network is trained by :func:`train_classifier` from its own random
    initialisation and data order: network ``i`` is seeded with
    ``random_state + i`` (Lakshminarayanan et al., 2017; the FSSD paper uses
    5 networks). Score them with
    :class:`~sklearn_fssd.DeepEnsembleDetector`, or average FSSD over them
    with ``FSSDDetector(model=nets)``.

    Parameters
    ----------
    module : type
        The network class (constructor arguments as ``module__name=value``):
        every network needs its own random initial weights, so an instance
        is refused.
    X : array-like of shape (n_samples, ...)
        Training inputs.
    y : array-like of shape (n_samples,)
        Integer class indices ``0..n_classes-1``.
    n_networks : int, default=5
        Number of networks.
    random_state : int or None, default=0
        Seed of the first network; network ``i`` gets ``random_state + i``.
        None leaves every network unseeded (not reproducible).
    **kwargs
        Passed on to :func:`train_classifier` (``lr``, ``max_epochs``,
        ``optimizer``, ``module__*``, ...).

    Returns
    -------
    nets : list of skorch.NeuralNetClassifier
        The fitted nets.

    See Also
    --------
    sklearn_fssd.DeepEnsembleDetector : scores inputs with them.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_fssd.models import MLP
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 4)).astype("float32")
    >>> y = (X[:, 0] > 0).astype("int64")
    >>> nets = train_deep_ensemble(MLP, X, y, n_networks=2, module__in_features=4, max_epochs=1)
    >>> len(nets)
    2
    """
    if not isinstance(module, type):
        raise TypeError(
            f"train_deep_ensemble needs the network class, e.g. train_deep_ensemble(LeNet, X, y), "
            f"so that every network starts from its own random weights; got an instance of "
            f"{type(module).__name__}. Pass its class, and its arguments as module__name=value."
        )
    if (
        not isinstance(n_networks, numbers.Integral)
        or isinstance(n_networks, bool)
        or n_networks < 1
    ):
        raise ValueError(f"n_networks must be an int >= 1; got {n_networks!r}.")
    random_state = _check_random_state(random_state)
    return [
        train_classifier(
            module, X, y, random_state=None if random_state is None else random_state + i, **kwargs
        )
        for i in range(n_networks)
    ]


#: The target that marks an auxiliary outlier for :class:`OutlierExposureLoss`.
OUTLIER_LABEL = -1


class OutlierExposureLoss(nn.CrossEntropyLoss):
    """Cross-entropy plus the Outlier Exposure term (Hendrycks et al., 2019).

    Rows whose target is a class index ``0..K-1`` are in-distribution and get
    the cross-entropy; rows whose target is :data:`OUTLIER_LABEL` (-1) are
    auxiliary outliers, pushed towards the uniform posterior::

        loss = mean_in CE(z, y) + lam * mean_out KL(U || softmax(z))
        KL(U || softmax(z)) = logsumexp(z) - mean_c z_c - log K

    The outlier term is Hendrycks et al.'s cross-entropy from the uniform
    distribution minus its minimum ``log K``: the same gradients, and zero
    when the posterior is uniform. It subclasses
    :class:`torch.nn.CrossEntropyLoss`, so skorch's ``predict_proba``
    applies the softmax as it does for plain cross-entropy. Use it as a
    skorch ``criterion`` (``NeuralNetClassifier(..., criterion=
    OutlierExposureLoss, criterion__lam=0.5, classes=list(range(K)))`` with
    ``y = -1`` on the outliers), or through :func:`train_outlier_exposure`.

    Parameters
    ----------
    lam : float, default=0.5
        Weight of the outlier term (the paper's 0.5).

    Examples
    --------
    >>> import torch
    >>> loss = OutlierExposureLoss(lam=0.5)
    >>> logits = torch.tensor([[2.0, 0.0], [1.0, 1.0]])
    >>> target = torch.tensor([0, OUTLIER_LABEL])
    >>> bool(loss(logits, target) == torch.nn.functional.cross_entropy(logits[:1], target[:1]))
    True
    """

    def __init__(self, lam=0.5):
        super().__init__()
        if not isinstance(lam, numbers.Real) or isinstance(lam, bool) or lam < 0:
            raise ValueError(f"lam must be a float >= 0; got {lam!r}.")
        self.lam = float(lam)

    def forward(self, input, target):
        outlier = target == OUTLIER_LABEL
        loss = input.new_zeros(())
        if not bool(outlier.all()):
            loss = loss + super().forward(input[~outlier], target[~outlier])
        if bool(outlier.any()):
            logits = input[outlier]
            uniform_kl = (
                torch.logsumexp(logits, dim=1) - logits.mean(dim=1) - math.log(logits.shape[1])
            )
            loss = loss + self.lam * uniform_kl.mean()
        return loss


def train_outlier_exposure(
    module,
    X,
    y,
    X_outliers,
    *,
    lam=0.5,
    optimizer=torch.optim.Adam,
    lr=1e-3,
    max_epochs=10,
    batch_size=64,
    lr_scheduler=None,
    train_split=None,
    callbacks=None,
    device="cpu",
    random_state=0,
    verbose=False,
    **kwargs,
):
    """Train, or fine-tune, a classifier with Outlier Exposure (Hendrycks et al., 2019).

    The network learns the classes of ``X`` (cross-entropy) and a uniform
    posterior on the auxiliary outliers ``X_outliers``
    (:class:`OutlierExposureLoss`), so that its maximum softmax probability
    separates in-distribution from OoD inputs: score it with
    :class:`~sklearn_fssd.MSPDetector`. The same code path as
    :func:`train_classifier`: the samples of ``X`` and ``X_outliers`` are
    shuffled together, so each mini-batch holds them in the proportion of
    their numbers (the paper draws twice as many outliers as in-distribution
    samples per step: pass about twice as many).

    Parameters
    ----------
    module : type, torch.nn.Module or skorch.NeuralNet
        The network, returning logits. A class is built (arguments as
        ``module__name=value``) and trained from scratch under
        ``random_state``; an instance, or the ``module_`` of a fitted skorch
        net, is fine-tuned in place from the weights it has (the paper
        fine-tunes a trained network for 10 epochs). Pass a
        ``copy.deepcopy`` to keep the original.
    X : array-like of shape (n_samples, ...)
        In-distribution training inputs.
    y : array-like of shape (n_samples,)
        Their integer class indices ``0..n_classes-1``.
    X_outliers : array-like of shape (n_outliers, ...)
        Auxiliary outliers, shaped like ``X`` (the paper: 80 Million Tiny
        Images for CIFAR; any data set unlike the in-distribution).
    lam : float, default=0.5
        Weight of the outlier term.
    optimizer, lr, max_epochs, batch_size, lr_scheduler, train_split, \
callbacks, device, random_state, verbose
        As for :func:`train_classifier`.
    **kwargs
        Passed on to :class:`skorch.NeuralNetClassifier`.

    Returns
    -------
    net : skorch.NeuralNetClassifier
        The fitted net; ``net.module_`` is the trained network and
        ``net.predict(X)`` returns class indices.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_fssd.models import MLP
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 4)).astype("float32")
    >>> y = (X[:, 0] > 0).astype("int64")
    >>> X_aux = rng.uniform(-6, 6, size=(120, 4)).astype("float32")
    >>> net = train_outlier_exposure(MLP, X, y, X_aux, module__in_features=4, max_epochs=2)
    >>> net.predict_proba(X_aux[:3]).shape
    (3, 2)
    """
    if isinstance(module, NeuralNet):
        module = _as_module(module, "fine-tune")
    X = _check_X(X)
    y, n_classes = _check_y(y, X.shape[0])
    X_outliers = _check_X(X_outliers, name="X_outliers")
    if X_outliers.shape[1:] != X.shape[1:] or X_outliers.dtype != X.dtype:
        raise ValueError(
            f"X_outliers must be shaped like the samples of X {X.shape[1:]} with dtype "
            f"{X.dtype}; got samples of shape {X_outliers.shape[1:]} and dtype "
            f"{X_outliers.dtype}."
        )
    if len(X_outliers) == 0:
        raise ValueError("X_outliers is empty; Outlier Exposure needs auxiliary outliers.")
    kwargs.setdefault("criterion", OutlierExposureLoss)
    kwargs.setdefault("criterion__lam", lam)
    kwargs.setdefault("classes", list(range(n_classes)))
    return _fit_classifier(
        module,
        np.concatenate([X, X_outliers]),
        np.r_[y, np.full(len(X_outliers), OUTLIER_LABEL, dtype=np.int64)],
        optimizer=optimizer,
        lr=lr,
        max_epochs=max_epochs,
        batch_size=batch_size,
        lr_scheduler=lr_scheduler,
        train_split=train_split,
        callbacks=callbacks,
        device=device,
        random_state=random_state,
        verbose=verbose,
        **kwargs,
    )


# --------------------------------------------------------------------------
# saving and loading weights
# --------------------------------------------------------------------------


def _as_module(net_or_module, action):
    """Return the ``nn.Module`` inside a skorch net, or the module itself."""
    if isinstance(net_or_module, nn.Module):
        return net_or_module
    if isinstance(net_or_module, NeuralNet):
        module = getattr(net_or_module, "module_", None)
        if not isinstance(module, nn.Module):
            raise ValueError(
                f"Cannot {action} this {type(net_or_module).__name__}: it is not initialized. "
                "Fit it, or call .initialize(), first."
            )
        return module
    raise TypeError(
        f"Expected a torch.nn.Module or a skorch net; got {type(net_or_module).__name__}."
    )


#: Where :func:`save_weights` records the digest: a key of the state dict's
#: ``_metadata[""]`` (the root module's entry, which ``torch.save`` keeps and
#: ``load_state_dict`` ignores), so the file stays a plain state dict.
_DIGEST_KEY = "sklearn_fssd.sha256"


def _weights_digest(state):
    """SHA-256 over the names, dtypes, shapes and bytes of the tensors of ``state``."""
    digest = hashlib.sha256()
    for key in sorted(state):
        tensor = state[key].detach().cpu().contiguous()
        digest.update(f"{key}\0{tensor.dtype}\0{tuple(tensor.shape)}\n".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


def save_weights(net_or_module, path):
    """Save a network's ``state_dict`` to ``path``, atomically, with an integrity digest.

    Tensors are copied to the CPU first, so a network trained on CUDA loads
    anywhere. The file is written next to ``path`` under a temporary name and
    moved into place with :func:`os.replace`, so a reader never sees a
    half-written file; missing parent folders are created. The file is a plain
    state dict, which ``module.load_state_dict(torch.load(path))`` also reads.
    It records the SHA-256 of its tensors (names, dtypes, shapes and values) in
    the state dict's metadata, which :func:`load_weights` checks, so a file
    damaged on disk or in a copy is refused rather than loaded.

    Parameters
    ----------
    net_or_module : torch.nn.Module or skorch.NeuralNet
        The network, or an initialized skorch net (its ``module_`` is saved).
    path : str or os.PathLike
        Destination file, e.g. ``"cache/lenet_fmnist.pt"``.

    Returns
    -------
    path : str
        The path written.

    See Also
    --------
    load_weights : the inverse.

    Examples
    --------
    >>> import os, tempfile, torch
    >>> from sklearn_fssd.models import LeNet
    >>> net = LeNet().eval()
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = save_weights(net, os.path.join(tmp, "lenet.pt"))
    ...     copy = load_weights(LeNet(), path).eval()
    >>> x = torch.rand(2, 1, 28, 28)
    >>> torch.equal(net(x), copy(x))
    True
    """
    module = _as_module(net_or_module, "save the weights of")
    state = module.state_dict()  # fresh tensors and metadata dicts: ours to change
    for key, value in state.items():
        state[key] = value.detach().cpu()
    state._metadata.setdefault("", {})[_DIGEST_KEY] = _weights_digest(state)
    path = os.fspath(path)
    with atomic_write(path) as fh:
        torch.save(state, fh)
    return path


def _listing(keys, limit=5):
    keys = list(keys)
    shown = ", ".join(repr(k) for k in keys[:limit])
    more = f", ... ({len(keys) - limit} more)" if len(keys) > limit else ""
    return f"[{shown}{more}]"


def _check_state_dict(module, state, path):
    """Raise a ValueError naming every difference between ``state`` and ``module``."""
    expected = module.state_dict()
    name = type(module).__name__
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [
        f"{k!r}: file {tuple(state[k].shape)} vs {name} {tuple(expected[k].shape)}"
        for k in expected
        if k in state and tuple(state[k].shape) != tuple(expected[k].shape)
    ]
    if not (missing or unexpected or shapes):
        return
    problems = []
    if missing:
        problems.append(f"missing keys (in {name}, not in the file): {_listing(missing)}")
    if unexpected:
        problems.append(f"unexpected keys (in the file, not in {name}): {_listing(unexpected)}")
    if shapes:
        problems.append(f"shape mismatches: {'; '.join(shapes[:5])}")
        if len(shapes) > 5:
            problems[-1] += f"; ... ({len(shapes) - 5} more)"
    raise ValueError(
        f"The weights in {path!r} do not fit this {name}: " + "; ".join(problems) + ". "
        "They were saved from another architecture or with other constructor arguments "
        "(e.g. num_classes, in_channels, input_size); build the network as it was when saved."
    )


def _module_device(module):
    for tensor in (*module.parameters(), *module.buffers()):
        return tensor.device
    return torch.device("cpu")


# What torch.load raises on a damaged file, depending on where the damage is (zip directory,
# record names, the pickle, the byte-order record, ...).
_UNREADABLE = (
    RuntimeError, EOFError, ValueError, IndexError, KeyError, struct.error, pickle.PickleError
)


def _read_state(path):
    """The object in the weights file ``path``, on the CPU, or a clear error naming the file."""
    fix = (
        "Delete it and save the weights again with save_weights (train again, or copy or "
        "download the file again from where it came)."
    )
    if os.path.getsize(path) == 0:
        raise CorruptDataError(
            f"The weights file {path!r} is empty (0 bytes): it was not written completely "
            f"(an interrupted copy or download, a full disk). {fix}",
            path=path,
        )
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "Unsupported global" in str(exc):  # intact, but holds more than tensors
            raise ValueError(
                f"{path!r} does not hold a plain state dict of tensors; torch.load with "
                f"weights_only=True refused it ({exc}). Save weights with save_weights."
            ) from exc
        problem = exc
    except _UNREADABLE as exc:
        problem = exc
    raise CorruptDataError(
        f"The weights file {path!r} could not be read ({type(problem).__name__}: "
        f"{str(problem)[:200]}): it is truncated or corrupt, or not a PyTorch weights file. "
        f"{fix}",
        path=path,
    ) from problem


def _check_digest(state, path):
    """Check the tensors of ``state`` against the digest :func:`save_weights` recorded.

    Returns the state without the digest. A file without one (``torch.save``, or an
    older sklearn-fssd) loads with a warning: its integrity cannot be checked.
    """
    metadata = getattr(state, "_metadata", None)
    root = metadata.get("") if isinstance(metadata, Mapping) else None
    expected = root.get(_DIGEST_KEY) if isinstance(root, Mapping) else None
    if expected is None:
        warnings.warn(
            f"The weights file {path!r} has no integrity digest (it was written by torch.save "
            "or an older sklearn-fssd), so damage to it cannot be detected; it was loaded "
            "unchecked. Save it again with save_weights to add one.",
            UserWarning,
            stacklevel=3,
        )
        return state
    actual = _weights_digest(state)
    if actual != expected:
        raise CorruptDataError(
            f"The weights file {path!r} is corrupt or was altered after it was saved: the "
            f"SHA-256 of its tensors is {actual}, but save_weights recorded {expected}. Do not "
            "use it: delete it and save the weights again with save_weights (train again, or "
            "copy or download the file again from where it came).",
            path=path,
            expected=expected,
            actual=actual,
        )
    metadata[""] = {k: v for k, v in root.items() if k != _DIGEST_KEY}
    return state


def load_weights(module_or_net, path, device=None):
    """Load weights saved by :func:`save_weights` into a network, in place.

    The file is read with ``torch.load(..., weights_only=True)``, which
    refuses anything but tensors and plain containers, so loading a cached
    file cannot run code. The tensors are checked against the SHA-256 digest
    that :func:`save_weights` recorded, then their keys and shapes against the
    network, before anything is copied. A file without a digest (a plain
    ``torch.save(module.state_dict(), path)``, or one written by an older
    version) is loaded with a ``UserWarning`` that its integrity cannot be
    checked; save it again with :func:`save_weights` to add one.

    Parameters
    ----------
    module_or_net : torch.nn.Module or skorch.NeuralNet
        A network of the architecture that was saved (same class and
        constructor arguments), or a skorch net around one; an uninitialized
        net is initialized first.
    path : str or os.PathLike
        File written by :func:`save_weights` (or any ``torch.save``-d state
        dict).
    device : {"cpu", "cuda", "auto"}, str or None, default=None
        Where the network ends up. None keeps it where it is (a skorch net:
        its ``device``). Weights saved on CUDA load on a CPU-only machine.

    Returns
    -------
    module_or_net : torch.nn.Module or skorch.NeuralNet
        The object passed in, holding the loaded weights.

    Raises
    ------
    ValueError
        When the file does not hold a state dict, or its keys or shapes do
        not match the network; the message lists the differences.
    sklearn_fssd.datasets.CorruptDataError
        When the file is empty, truncated or unreadable, or its tensors do
        not match the digest recorded by :func:`save_weights` (a damaged or
        altered file). An ``OSError``; the message names the file.

    Warns
    -----
    UserWarning
        When the file holds no digest, so its integrity cannot be checked.

    See Also
    --------
    save_weights : the inverse.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn_fssd.models import LeNet
    >>> with tempfile.TemporaryDirectory() as tmp:  # doctest: +ELLIPSIS
    ...     path = save_weights(LeNet(num_classes=10), os.path.join(tmp, "lenet.pt"))
    ...     load_weights(LeNet(num_classes=5), path)
    Traceback (most recent call last):
    ...
    ValueError: The weights in '...lenet.pt' do not fit this LeNet: shape mismatches: ...
    """
    is_net = isinstance(module_or_net, NeuralNet)
    if is_net and not getattr(module_or_net, "initialized_", False):
        module_or_net.initialize()
    module = _as_module(module_or_net, "load weights into")
    if device is not None:
        target = resolve_device(device)
    elif is_net and module_or_net.device is not None:
        target = resolve_device(module_or_net.device)
    else:
        target = _module_device(module)
    path = os.fspath(path)
    state = _read_state(path)
    if not isinstance(state, Mapping) or not all(
        isinstance(v, torch.Tensor) for v in state.values()
    ):
        raise ValueError(
            f"{path!r} does not hold a state dict (a mapping of names to tensors); got "
            f"{type(state).__name__}. Save weights with save_weights."
        )
    state = _check_digest(state, path)
    _check_state_dict(module, state, path)
    module.load_state_dict(state)
    module.to(target)
    if is_net and device is not None:
        module_or_net.device = str(target)
    return module_or_net
