"""One-call training of the model zoo with the FSSD paper's recipes; Deep Ensembles.

Every ``train_*`` function returns a fitted :class:`skorch.NeuralNetClassifier`
(its network is ``net.module_``) and shares one code path,
:func:`train_classifier`: cross-entropy on the networks' logits, shuffled
mini-batches, an optional learning-rate schedule, all of it seeded by
``random_state`` without touching the random state the caller sees.

A Deep Ensemble (:func:`train_deep_ensemble`) is independently seeded
networks on that same path, for :class:`~sklearn_fssd.DeepEnsembleDetector`.
"""

import numbers

import numpy as np
import torch
from skorch import NeuralNetClassifier
from skorch.callbacks import LRScheduler, ProgressBar
from skorch.dataset import ValidSplit
from torch import nn

from .._docstrings import EXAMPLE_DATA, fill_doc
from .._progress import skorch_progress
from .._utils import resolve_device, torch_seed
from ..models import GenomeLSTM, LeNet, ResNet18, ResNet34
from ._checks import check_image_X, check_seed, check_X, check_y

__all__ = [
    "train_classifier",
    "train_deep_ensemble",
    "train_genome_lstm",
    "train_lenet",
    "train_resnet",
]


#: ``X`` and ``y`` of the recipes that train on images.
_IMAGES_X_Y = """\
X : array-like of shape (n_samples, channels, height, width)
        Float images with pixels in ``[0, 1]`` (the network normalises).
    y : array-like of shape (n_samples,)
        Integer class indices ``0..n_classes-1``."""


def _recipe_tail(
    network,
    kwargs_examples=None,
    device="Where to train.",
    seed="Seed of initialisation, shuffling and dropout.",
):
    """The parameters from ``device`` on and the Returns of the recipe training ``network``."""
    if kwargs_examples:
        kwargs_examples = f", e.g.\n        {kwargs_examples}"
    return f"""\
device : {{"cpu", "cuda", "auto"}} or str, default="cpu"
        {device}
    random_state : int or None, default=0
        {seed}
    verbose : bool or int, default=False
        A progress bar over the epochs (True); skorch's epoch table and a batch
        progress bar as well (2).
    **kwargs
        Passed on to :func:`train_classifier` and skorch{kwargs_examples or ''}.

    Returns
    -------
    net : skorch.NeuralNetClassifier
        The fitted net; ``net.module_`` is the trained {network}."""


def _resolve_train_split(train_split, random_state):
    if train_split is None or callable(train_split):
        return train_split
    if isinstance(train_split, numbers.Real) and 0 < train_split < 1:
        return ValidSplit(float(train_split), stratified=True, random_state=random_state)
    raise ValueError(
        "train_split must be None (train on everything), a float in (0, 1) (the fraction "
        f"held out for validation) or a skorch split such as ValidSplit; got {train_split!r}."
    )


@fill_doc(mlp_data=EXAMPLE_DATA.lstrip())
def train_classifier(
    module, X, y, *, optimizer=torch.optim.Adam, lr=1e-3, max_epochs=10, batch_size=64,
    lr_scheduler=None, train_split=None, callbacks=None, device="cpu", random_state=0,
    verbose=False, **kwargs,
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
    {mlp_data}
    >>> net = train_classifier(MLP, X, y, module__in_features=4, lr=0.01, max_epochs=2)
    >>> net.predict(X).shape
    (300,)
    """
    X = check_X(X)
    y, _ = check_y(y, X.shape[0])
    return _fit_classifier(
        module, X, y, optimizer=optimizer, lr=lr, max_epochs=max_epochs, batch_size=batch_size,
        lr_scheduler=lr_scheduler, train_split=train_split, callbacks=callbacks, device=device,
        random_state=random_state, verbose=verbose, **kwargs,
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
    random_state = check_seed(random_state)
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


@fill_doc(
    images_x_y=_IMAGES_X_Y,
    recipe_tail=_recipe_tail("LeNet", "``train_split=0.1`` or ``module__mean=(0.1307,)``"),
)
def train_lenet(
    X, y, *, max_epochs=14, batch_size=64, lr=1.0, gamma=0.7, device="cpu", random_state=0,
    verbose=False, **kwargs,
):
    """Train :class:`~sklearn_fssd.models.LeNet` with the PyTorch MNIST example's recipe.

    The recipe of the FSSD paper's Fashion-MNIST experiments: Adadelta with
    learning rate 1.0, multiplied by ``gamma`` = 0.7 after every epoch
    (``StepLR``), batches of 64, 14 epochs, cross-entropy loss. The number of
    input channels, the image size and the number of classes (``max(y) + 1``)
    are read from the data unless given as ``module__*`` arguments.

    Parameters
    ----------
    {images_x_y}
    max_epochs : int, default=14
        Number of epochs.
    batch_size : int, default=64
        Mini-batch size.
    lr : float, default=1.0
        Initial learning rate of Adadelta.
    gamma : float, default=0.7
        Learning-rate decay per epoch.
    {recipe_tail}

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
    X = check_image_X(X, "LeNet")
    _, n_classes = check_y(y, X.shape[0])
    kwargs.setdefault("module__in_channels", X.shape[1])
    kwargs.setdefault("module__input_size", tuple(X.shape[2:]))
    kwargs.setdefault("module__num_classes", n_classes)
    scheduler = LRScheduler(
        policy=torch.optim.lr_scheduler.StepLR, step_size=1, gamma=gamma, step_every="epoch"
    )
    return train_classifier(
        LeNet, X, y, optimizer=torch.optim.Adadelta, lr=lr, max_epochs=max_epochs,
        batch_size=batch_size, lr_scheduler=scheduler, device=device, random_state=random_state,
        verbose=verbose, **kwargs,
    )


_RESNETS = {18: ResNet18, 34: ResNet34}


@fill_doc(
    images_x_y=_IMAGES_X_Y,
    recipe_tail=_recipe_tail(
        "ResNet",
        device="Where to train; CIFAR-size training wants a GPU.",
        seed="Seed of initialisation and shuffling.",
    ),
)
def train_resnet(
    X, y, *, depth=34, max_epochs=200, batch_size=128, lr=0.1, momentum=0.9, weight_decay=5e-4,
    schedule="cosine", device="cpu", random_state=0, verbose=False, **kwargs,
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
    {images_x_y}
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
    {recipe_tail}

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
    X = check_image_X(X, name)
    _, n_classes = check_y(y, X.shape[0])
    kwargs.setdefault("module__in_channels", X.shape[1])
    kwargs.setdefault("module__num_classes", n_classes)
    kwargs.setdefault("optimizer__momentum", momentum)
    kwargs.setdefault("optimizer__weight_decay", weight_decay)
    return train_classifier(
        _RESNETS[depth], X, y, optimizer=torch.optim.SGD, lr=lr, max_epochs=max_epochs,
        batch_size=batch_size, lr_scheduler=scheduler, device=device, random_state=random_state,
        verbose=verbose, **kwargs,
    )


@fill_doc(
    recipe_tail=_recipe_tail(
        "GenomeLSTM", '``module__pooling="mean"`` or ``optimizer__weight_decay=1e-4``'
    )
)
def train_genome_lstm(
    X, y, *, max_epochs=10, batch_size=128, lr=1e-3, device="cpu", random_state=0, verbose=False,
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
    {recipe_tail}

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
    X = check_X(X)
    if X.ndim != 2 or X.dtype != np.int64:
        raise ValueError(
            "GenomeLSTM trains on integer token ids of shape (n_samples, sequence_length); "
            f"got an array of shape {X.shape} and dtype {X.dtype}."
        )
    _, n_classes = check_y(y, X.shape[0])
    kwargs.setdefault("module__num_classes", n_classes)
    return train_classifier(
        GenomeLSTM, X, y, optimizer=torch.optim.Adam, lr=lr, max_epochs=max_epochs,
        batch_size=batch_size, device=device, random_state=random_state, verbose=verbose, **kwargs,
    )


# --------------------------------------------------------------------------
# baselines that are training recipes: Deep Ensemble, Outlier Exposure
# --------------------------------------------------------------------------


@fill_doc(mlp_data=EXAMPLE_DATA.lstrip())
def train_deep_ensemble(module, X, y, *, n_networks=5, random_state=0, **kwargs):
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
    {mlp_data}
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
    random_state = check_seed(random_state)
    return [
        train_classifier(
            module, X, y, random_state=None if random_state is None else random_state + i, **kwargs
        )
        for i in range(n_networks)
    ]
