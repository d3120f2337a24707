"""The FSSD paper's comparison methods, on the same base and contract as FSSDDetector.

Every detector here is a scikit-learn outlier detector built on
:class:`~sklearn_fssd.base.BaseTorchDetector`, exactly like
:class:`~sklearn_fssd.FSSDDetector`: ``score_samples`` higher = more
in-distribution, ``decision_function = score_samples - offset_``, ``predict``
in {+1, -1}, ``contamination``, ``device``, ``batch_size``, pickling and
cloning, and the user's network left exactly as it was (the detectors work on
a private copy in eval mode, without the hooks registered on the network).

``score_samples`` (higher = more in-distribution) of each detector:

- :class:`MSPDetector` (Hendrycks & Gimpel, 2017): the maximum softmax
  probability.
- :class:`ODINDetector` (Liang et al., 2018): the maximum softmax at
  temperature ``T`` of the pre-processed input.
- :class:`EnergyDetector` (Liu et al., 2020): ``T * logsumexp(logits / T)``,
  minus the free energy.
- :class:`MahalanobisDetector` (Lee et al., 2018): minus the Mahalanobis
  distance to the closest class-conditional Gaussian, per layer, the layers
  stacked by logistic regression as FSSD's are.
- :class:`DeepEnsembleDetector` (Lakshminarayanan et al., 2017): the maximum
  of the softmax averaged over independently trained networks.
- :class:`MCDropoutDetector` (Gal & Ghahramani, 2016): the maximum of the
  softmax averaged over stochastic dropout passes (or minus its entropy, or
  minus the variance over the passes).

Outlier Exposure (Hendrycks et al. 2019) is a way of *training* a network
(:func:`sklearn_fssd.training.train_outlier_exposure`); the trained network
is scored with :class:`MSPDetector`.

The networks are classifiers that output logits: by default the output of
the whole module, or the output of the submodule named ``logits_layer``.
ODIN's and Mahalanobis's input pre-processing are the gradient-sign step of
:func:`sklearn_fssd.features.perturbation`, the one primitive FSSD also uses:
``x~ = x + epsilon * sign(grad_x id_score(x))``, run by the scoring loop FSSD
also uses, :func:`sklearn_fssd.features.layer_scores`.

The maths is kept in small functions that take tensors
(``softmax_probabilities`` and ``energy_score`` in ``_logits.py``,
``class_mahalanobis`` in ``mahalanobis.py``), tested without a network; they
are building blocks, not API.

The package, one part per file: ``_logits.py`` the shared base of the
detectors scored from logits (one scoring loop) with MSP, ODIN and Energy;
``ensembles.py`` Deep Ensemble and MC Dropout, whose batch-independent
dropout masks are in ``_dropout.py``; ``mahalanobis.py`` the Mahalanobis
detector. Running statistics come from :mod:`sklearn_fssd._stats`.
"""

from ._logits import EnergyDetector, MSPDetector, ODINDetector
from .ensembles import DeepEnsembleDetector, MCDropoutDetector
from .mahalanobis import MahalanobisDetector

__all__ = [
    "DeepEnsembleDetector",
    "EnergyDetector",
    "MCDropoutDetector",
    "MSPDetector",
    "MahalanobisDetector",
    "ODINDetector",
]
