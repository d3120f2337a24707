"""Outlier Exposure (Hendrycks et al., 2019): its loss, and training with it.

The network learns the in-distribution classes and a uniform posterior on
auxiliary outliers, so that its maximum softmax probability separates
in-distribution from OoD inputs; score it with :class:`~sklearn_fssd.MSPDetector`.
"""

import math
import numbers

import numpy as np
import torch
from skorch import NeuralNet
from torch import nn

from ._checks import as_module, check_X, check_y
from .recipes import _fit_classifier

__all__ = ["OutlierExposureLoss", "train_outlier_exposure"]


#: The target that marks an auxiliary outlier for :class:`OutlierExposureLoss`.
OUTLIER_LABEL = -1


class OutlierExposureLoss(nn.CrossEntropyLoss):
    """Cross-entropy plus the Outlier Exposure term (Hendrycks et al., 2019).

    Rows whose target is a class index ``0..K-1`` are in-distribution and get
    the cross-entropy; rows whose target is -1 (``OUTLIER_LABEL``) are
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
    >>> target = torch.tensor([0, -1])  # an in-distribution row, an outlier
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
    module, X, y, X_outliers, *, lam=0.5, optimizer=torch.optim.Adam, lr=1e-3, max_epochs=10,
    batch_size=64, lr_scheduler=None, train_split=None, callbacks=None, device="cpu",
    random_state=0, verbose=False, **kwargs,
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
        module = as_module(module, "fine-tune")
    X = check_X(X)
    y, n_classes = check_y(y, X.shape[0])
    X_outliers = check_X(X_outliers, name="X_outliers")
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
    X_all = np.concatenate([X, X_outliers])
    y_all = np.r_[y, np.full(len(X_outliers), OUTLIER_LABEL, dtype=np.int64)]
    return _fit_classifier(
        module, X_all, y_all, optimizer=optimizer, lr=lr, max_epochs=max_epochs,
        batch_size=batch_size, lr_scheduler=lr_scheduler, train_split=train_split,
        callbacks=callbacks, device=device, random_state=random_state, verbose=verbose, **kwargs,
    )
