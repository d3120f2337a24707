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

:func:`train_table_discriminator` is the network ``FSSDDetector(model=None)``
trains on unlabelled tables (an MLP that tells ``X`` from synthetic outliers);
:func:`train_table_autoencoder` and :func:`table_autoencoder` are the
candidates it was measured against (``python -m benchmarks default-network``).

The package's modules: ``recipes`` (:func:`train_classifier`, the paper's
networks, Deep Ensembles), ``outlier_exposure``, ``tables`` and ``weights``.
"""

from .outlier_exposure import OutlierExposureLoss, train_outlier_exposure
from .recipes import (
    train_classifier,
    train_deep_ensemble,
    train_genome_lstm,
    train_lenet,
    train_resnet,
)
from .tables import table_autoencoder, train_table_autoencoder, train_table_discriminator
from .weights import load_weights, save_weights

__all__ = [
    "OutlierExposureLoss",
    "load_weights",
    "save_weights",
    "table_autoencoder",
    "train_classifier",
    "train_deep_ensemble",
    "train_genome_lstm",
    "train_lenet",
    "train_outlier_exposure",
    "train_resnet",
    "train_table_autoencoder",
    "train_table_discriminator",
]
