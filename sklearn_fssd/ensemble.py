"""Combining per-layer FSSD scores into one in-distribution score.

The input is a matrix ``D`` of shape (n_samples, n_layers) of FSSD distances
(higher = further from the singularity). Three rules:

``"stack"`` (the paper's FSSD-Ensem)
    A logistic regression over the layers, fitted on in-distribution rows
    (label +1) against out-of-distribution rows (label -1), its
    regularisation chosen by inner cross-validation
    (:class:`~sklearn.linear_model.LogisticRegressionCV`). The OoD rows are
    real validation OoD samples (``fit(X, y)``) or synthetic outliers made
    from the ID data (``fit(X)``). Each layer enters as its standardised log
    distance ``z_k``; with ``quadratic=True`` also as ``z_k**2``, so the
    regression can learn that distances *too large* for the data are as
    suspicious as distances too small (inputs far outside the training
    range). The score is the regression's log-odds of "in-distribution".

``"typical"``
    How typical the vector of standardised log distances is of the
    in-distribution data: minus its Mahalanobis distance from their mean,
    with a Ledoit-Wolf shrunk covariance. It needs no OoD data and is
    two-sided: inputs whose layers sit too near their singularities *and*
    inputs whose layers sit too far (far outside the training range, or
    layers that OoD inputs excite more than ID ones) score low.

``"mean"``
    The mean of the standardised log distances ``z_k`` over the layers. It
    needs no OoD data at all, but trusts every layer to put OoD samples near
    its singularity, which measurement contradicts for early convolutional
    layers (see the user guide).
"""

import inspect

import numpy as np
from threadpoolctl import threadpool_limits
from sklearn.base import BaseEstimator
from sklearn.covariance import LedoitWolf
from sklearn.linear_model import LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold

__all__ = ["LayerCombiner"]

_TINY = 1e-12

# scikit-learn 1.8 announced new defaults for LogisticRegressionCV; take them
# now where they exist (plain L2, simplified attributes), silently elsewhere.
_NEW_LOGISTIC_DEFAULTS = {
    key: value
    for key, value in {"l1_ratios": (0.0,), "use_legacy_attributes": False}.items()
    if key in inspect.signature(LogisticRegressionCV).parameters
}


def log_distances(D):
    """``log(D)``, with zeros mapped to ``log(1e-12)`` instead of ``-inf``.

    Parameters
    ----------
    D : array-like
        Distances (non-negative).

    Returns
    -------
    log_D : ndarray of float64, shaped like ``D``

    Examples
    --------
    >>> import numpy as np
    >>> log_distances(np.array([[1.0, 0.0]])).round(2).tolist()
    [[0.0, -27.63]]
    """
    return np.log(np.maximum(np.asarray(D, dtype=np.float64), _TINY))


class LayerCombiner(BaseEstimator):
    """Turn per-layer FSSD distances into one in-distribution score.

    Parameters
    ----------
    combine : {"stack", "typical", "mean"}, default="stack"
        The combination rule, named as ``FSSDDetector``'s ``combine``.
    quadratic : bool, default=True
        ``"stack"`` only: also feed ``z_k**2`` to the regression.
    cv : int, default=5
        Folds of the inner cross-validation that picks the regularisation.
    random_state : int or None

    Attributes
    ----------
    centre_, scale_ : ndarray of shape (n_layers,)
        Mean and standard deviation of the ID log distances.
    regression_ : LogisticRegressionCV
        ``"stack"`` only.
    covariance_ : LedoitWolf
        ``"typical"`` only, fitted on the ID ``z``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.RandomState(0)
    >>> D = np.vstack([rng.uniform(5, 6, (50, 2)), rng.uniform(0, 1, (50, 2))])
    >>> y = np.r_[np.ones(50), -np.ones(50)]
    >>> comb = LayerCombiner(random_state=0).fit(D, y)
    >>> bool(comb.decision_function(D[:50]).min() > comb.decision_function(D[50:]).max())
    True
    """

    def __init__(self, combine="stack", quadratic=True, cv=5, random_state=None):
        self.combine = combine
        self.quadratic = quadratic
        self.cv = cv
        self.random_state = random_state

    def _features(self, D):
        z = (log_distances(D) - self.centre_) / self.scale_
        if self.combine == "stack" and self.quadratic:
            return np.hstack([z, z**2])
        return z

    def fit(self, D, y):
        """Fit on distances ``D`` with ``y`` = +1 (ID) / -1 (OoD)."""
        D = np.asarray(D, dtype=np.float64)
        y = np.asarray(y)
        inliers = log_distances(D[y == 1])
        self.centre_ = inliers.mean(axis=0)
        scale = inliers.std(axis=0)
        # a layer constant on the ID data has a std of 0 up to rounding (2e-16
        # for log(4) repeated 60 times): dividing by that would blow any other value up
        constant = scale <= 1e-9 * np.maximum(1.0, np.abs(self.centre_))
        self.scale_ = np.where(constant, 1.0, scale)
        if self.combine == "mean":
            return self
        if self.combine == "typical":
            self.covariance_ = LedoitWolf().fit(self._features(D[y == 1]))
            return self
        n_minority = int(min((y == 1).sum(), (y == -1).sum()))
        if n_minority < 2:
            raise ValueError(
                "Stacking the layers needs at least 2 in-distribution (+1) and 2 "
                f"out-of-distribution (-1) samples; got {int((y == 1).sum())} and "
                f"{int((y == -1).sum())}."
            )
        cv = StratifiedKFold(
            n_splits=max(2, min(self.cv, n_minority)), shuffle=True, random_state=self.random_state
        )
        # A small problem: BLAS threads only wait on each other (15x slower when
        # another process holds a core), so fit it on one thread.
        with threadpool_limits(limits=1, user_api="blas"):
            self.regression_ = LogisticRegressionCV(
                Cs=10,
                cv=cv,
                class_weight="balanced",
                scoring="neg_log_loss",
                max_iter=1000,
                **_NEW_LOGISTIC_DEFAULTS,
            ).fit(self._features(D), y)
        return self

    def decision_function(self, D):
        """In-distribution score of each row, higher = more in-distribution.

        Log-odds of ID (``"stack"``), minus the Mahalanobis distance
        (``"typical"``) or the mean ``z`` (``"mean"``).
        """
        features = self._features(D)
        if self.combine == "mean":
            return features.mean(axis=1)
        if self.combine == "typical":
            return -np.sqrt(self.covariance_.mahalanobis(features))
        return self.regression_.decision_function(features)
