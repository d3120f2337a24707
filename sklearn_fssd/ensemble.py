"""Combining per-layer FSSD scores into one in-distribution score.

The input is a matrix ``D`` of shape (n_samples, n_layers) of FSSD distances
(higher = further from the singularity), or (n_samples, n_channels) of the
distances of each layer's channels (``FSSDDetector(distances="channel")``); a
"layer" below is then a channel. The rules:

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

``"class_typical"``
    ``"typical"`` within the classes the network predicts: one shrunk Gaussian
    of the standardised log distances per predicted class, so an input is
    compared with the ID inputs the network files beside it. Classes of the
    network differ in how far from ``F*`` each layer puts them, and one
    Gaussian over all classes blurs that. ``groups`` gives each row's class,
    or the network's class probabilities (its softmax): the Gaussians are then
    fitted on the most probable class, and an input's squared Mahalanobis
    distance is its mean over the classes, weighted by their probabilities,
    so an input the network hesitates over is compared with every class it
    hesitates between, not with the one that won by a hair. A class predicted
    for too few ID rows to estimate its Gaussian (fewer than
    ``2 * n_layers + 2``) falls back to the Gaussian of all classes. Needs no
    OoD data; needs a classifier.

``covariance="diagonal"``
    The Gaussians of ``"typical"`` and ``"class_typical"`` (and of the stacks
    guarded by them) with a diagonal covariance: for many columns, such as
    one FSSD per channel (``FSSDDetector(distances="channel")``), where a
    full covariance is estimated from too few rows per class. A class's
    variances are shrunk toward those of all classes, as if
    ``_PRIOR_ROWS`` (10) more of its rows had all classes' variance, so a
    channel that one class never uses does not make every other input
    infinitely atypical of it.
``"guarded_stack"``
    The stack, fitted on real OoD rows of one kind, guarded by a typicality
    rule (``guard``) that needs no OoD data: each score becomes its
    percentile among the ID rows' scores, and the smaller of the two is the
    score. An input is flagged when either rule finds it unusual, so kinds
    the stack never saw (uniform noise, blur) stay flagged: a plain stack
    fitted on MNIST against Fashion-MNIST learns that "far from ``F*``" is
    OoD and calls uniform noise in-distribution.

``"typical_stack"``
    The typicality rule (``guard``) with its layers weighted on real OoD rows
    of one kind: a logistic regression over how atypical each layer is (its
    squared standardised deviation from the ID Gaussian, or with
    ``"class_typical"`` the probability-weighted mean over the classes'
    Gaussians) and over the whole vector's squared Mahalanobis distance,
    each as ``log1p``, with **non-negative** weights on atypicality
    (:class:`NonNegativeLogistic`). The regression learns how much each
    layer's atypicality counts against the kind it saw, never that being
    unusual is in-distribution, so an input atypical in the layers the
    stack trusts is flagged whatever its kind; and the stack is guarded as
    ``"guarded_stack"`` is (the smaller ID percentile of the two). With
    ``layer_widths`` (one distance per channel), a layer's atypicality is the
    sum of its channels': one weight per layer, not per channel. Measured
    on OoD kinds the stack never saw, it stays close to the rule without
    OoD data on Fashion-MNIST and MNIST digits 0-4, where the signed stack of
    ``"guarded_stack"`` falls further behind; on MNIST the guarded stack does
    better, and on DNA it does better on one of the three BiLSTMs and worse on
    the other two (``benchmarks/results/fssd_defaults.md``). The typical stack
    leads the mean over that file's sets and is
    :class:`~sklearn_fssd.FSSDDetector`'s default with OoD data for
    classifiers of images and sequences.

``"mean"``
    The mean of the standardised log distances ``z_k`` over the layers. It
    needs no OoD data at all, but trusts every layer to put OoD samples near
    its singularity, which measurement contradicts for early convolutional
    layers (see the user guide).
"""

import inspect
import warnings
from numbers import Real

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit
from threadpoolctl import threadpool_limits
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.covariance import LedoitWolf
from sklearn.linear_model import LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from ._utils import Interval, _fit_context

__all__ = ["LayerCombiner", "NonNegativeLogistic"]

_TINY = 1e-12
#: Pseudo-rows of all classes' variance added to each class's (covariance="diagonal"); chosen
#: among 0, 10 and 100 on validation fragments of the genome benchmark (two BiLSTMs) and on
#: Fashion-MNIST's validation kinds, in runs outside the benchmarks (issue 14's notes).
_PRIOR_ROWS = 10
#: The least variance of a standardised column (covariance="diagonal"): a column constant on the
#: fit rows (a channel they never use) would otherwise make any row that moves it infinitely
#: atypical.
_LEAST_VARIANCE = 1e-2
#: The rules guarded by a rule without OoD data, and every rule that fits a regression on OoD rows.
GUARDED_RULES = ("guarded_stack", "typical_stack")
STACK_RULES = ("stack",) + GUARDED_RULES

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


def log_percentile(scores, reference):
    """The log of the share of ``reference`` (sorted) at or below each score, interpolated;
    below the lowest reference value it keeps falling, by one reference standard deviation per
    unit of log, so scores stay ordered however far out they are.

    Examples
    --------
    >>> import numpy as np
    >>> ref = np.arange(1.0, 10.0)  # 9 values
    >>> np.exp(log_percentile(np.array([9.0, 5.0, 1.0]), ref)).round(2).tolist()
    [0.9, 0.5, 0.1]
    >>> bool(log_percentile(np.array([-5.0]), ref)[0] < log_percentile(np.array([0.0]), ref)[0])
    True
    """
    scores = np.asarray(scores, dtype=np.float64)
    n = len(reference)
    out = np.log(np.interp(scores, reference, np.arange(1, n + 1)) / (n + 1))
    below = scores < reference[0]
    spread = np.std(reference) or 1.0
    out[below] = np.log(1 / (n + 1)) - (reference[0] - scores[below]) / spread
    return out


def _labels(groups):
    """Each row's class: ``groups`` itself, or the most probable class of its probabilities."""
    return groups.argmax(axis=1) if groups.ndim == 2 else groups


def _class_weights(groups, classes):
    """class -> weight of each row, for the classes of ``classes``: 1 where ``groups`` (labels)
    names the class, else 0; or the class's share of the row's probabilities."""
    if groups.ndim == 1:
        return {c: (groups == c).astype(np.float64) for c in classes}
    shares = groups / groups.sum(axis=1, keepdims=True)
    return {c: shares[:, c] for c in classes
            if isinstance(c, (int, np.integer)) and 0 <= c < shares.shape[1]}


def _variances(gaussian):
    """The diagonal of a fitted Gaussian's covariance."""
    if isinstance(gaussian, _DiagonalGaussian):
        return gaussian.variance_
    return np.diag(gaussian.covariance_)


def _log_atypicality(per_layer, whole):
    """``"typical_stack"``'s features: ``log1p`` of the per-layer squared deviations beside that
    of the whole squared Mahalanobis distance."""
    return np.log1p(np.hstack([per_layer, whole[:, None]]))


class _DiagonalGaussian:
    """A Gaussian with a diagonal covariance, with the parts of
    :class:`~sklearn.covariance.LedoitWolf` the combiner reads (``location_``,
    ``covariance_``, ``mahalanobis``) and its ``variance_``; ``fit(Z, prior=v)``
    shrinks the variances toward ``v`` as if ``_PRIOR_ROWS`` more rows had it.
    Columns are standardised ``z`` (variance 1 over all ID rows), and no
    variance falls below ``_LEAST_VARIANCE``."""

    def fit(self, Z, prior=None):
        n = len(Z)
        self.location_ = Z.mean(axis=0)
        variance = Z.var(axis=0)
        if prior is not None:
            variance = (n * variance + _PRIOR_ROWS * prior) / (n + _PRIOR_ROWS)
        self.variance_ = np.maximum(variance, _LEAST_VARIANCE)
        return self

    @property
    def covariance_(self):
        return np.diag(self.variance_)

    def mahalanobis(self, Z):
        return (((Z - self.location_) ** 2) / self.variance_).sum(axis=1)


class NonNegativeLogistic(ClassifierMixin, BaseEstimator):
    """Binary logistic regression whose log-odds of ``classes_[1]`` fall as each feature grows:
    ``b - X_std @ w`` with ``w >= 0``, where ``X_std`` are the features standardised on the
    training rows.

    scikit-learn's logistic regression takes no sign constraint; this fits the class-balanced,
    L2-penalised log-loss with SciPy's bounded L-BFGS-B. ``"typical_stack"`` feeds it
    atypicalities with ``y`` = +1 (ID) / -1 (OoD): being atypical can only count against ID.

    Parameters
    ----------
    alpha : float, default=0.01
        L2 penalty on ``w`` (the loss is a mean over rows, each class weighing half).

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
    coef_ : ndarray of shape (n_features,)
        ``w``, non-negative, on the standardised features.
    intercept_ : float
    mean_, scale_ : ndarray of shape (n_features,)
        The standardisation.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 5.0], [0.1, 1.0], [2.0, 3.0], [2.2, 0.0]])
    >>> clf = NonNegativeLogistic().fit(X, [1, 1, -1, -1])
    >>> bool(clf.coef_.min() >= 0), clf.predict(X).tolist()
    (True, [1, 1, -1, -1])
    """

    _parameter_constraints = {"alpha": [Interval(Real, 0, None, closed="left")]}

    def __init__(self, alpha=0.01):
        self.alpha = alpha

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the weights (non-negative) and the intercept on ``X`` and binary ``y``."""
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        y_type = type_of_target(y, input_name="y", raise_unknown=True)
        if y_type != "binary":
            raise ValueError("Only binary classification is supported. The type of the target "
                             f"is {y_type}: NonNegativeLogistic needs exactly two classes "
                             "(for a layer stack, +1 ID and -1 OoD).")
        self.classes_, index = np.unique(y, return_inverse=True)
        sign = np.where(index == 1, 1.0, -1.0)
        self.mean_ = X.mean(axis=0)
        scale = X.std(axis=0)
        # a constant column has a std of 0 up to rounding: dividing by that would blow up
        # any other value at predict time
        constant = scale <= 1e-9 * np.maximum(1.0, np.abs(self.mean_))
        self.scale_ = np.where(constant, 1.0, scale)
        Xs = (X - self.mean_) / self.scale_
        n_features = X.shape[1]
        row_weight = np.where(sign == 1, 0.5 / (sign == 1).sum(), 0.5 / (sign == -1).sum())

        def loss(theta):
            w, b = theta[:n_features], theta[n_features]
            margin = sign * (b - Xs @ w)
            d_score = -row_weight * expit(-margin) * sign
            value = -(row_weight * log_expit(margin)).sum() + self.alpha * (w @ w)
            return value, np.r_[-(Xs.T @ d_score) + 2 * self.alpha * w, d_score.sum()]

        start = np.r_[np.full(n_features, 1.0 / n_features), 0.0]
        bounds = [(0.0, None)] * n_features + [(None, None)]
        found = minimize(loss, start, jac=True, bounds=bounds, method="L-BFGS-B")
        if not found.success:
            warnings.warn(f"NonNegativeLogistic did not converge: {found.message}",
                          ConvergenceWarning, stacklevel=2)
        self.coef_, self.intercept_ = found.x[:n_features], float(found.x[n_features])
        return self

    def decision_function(self, X):
        """Log-odds of ``classes_[1]``, falling in every feature."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self.intercept_ - ((X - self.mean_) / self.scale_) @ self.coef_

    def predict_proba(self, X):
        """Probabilities of ``classes_[0]`` and ``classes_[1]``, shape (n_samples, 2)."""
        p = expit(self.decision_function(X))
        return np.c_[1 - p, p]

    def predict(self, X):
        """``classes_[1]`` where the log-odds are positive, else ``classes_[0]``."""
        scores = self.decision_function(X)
        return self.classes_[(scores > 0).astype(int)]


class LayerCombiner(BaseEstimator):
    """Turn per-layer FSSD distances into one in-distribution score.

    Parameters
    ----------
    combine : {"stack", "guarded_stack", "typical_stack", "typical", "class_typical", "mean"}, \
default="stack"
        The combination rule, named as ``FSSDDetector``'s ``combine``.
    quadratic : bool, default=True
        ``"stack"`` and ``"guarded_stack"``: also feed ``z_k**2`` to the regression.
    guard : {"typical", "class_typical", "mean", "-mean"}, default="typical"
        ``"guarded_stack"`` and ``"typical_stack"``: the rule that needs no OoD data and
        guards the stack; ``"-mean"`` is minus the mean ``z``, for distances that grow for OoD
        inputs (the Mahalanobis detector's). ``"typical_stack"`` also weighs this rule's layers,
        so it takes ``"typical"``, ``"class_typical"`` or ``"-mean"`` (whose ``z`` it weighs as
        they are).
    cv : int, default=5
        Folds of the inner cross-validation that picks the regularisation of ``"stack"`` and
        ``"guarded_stack"``; ``"typical_stack"`` has a fixed one (its non-negative
        weights need no search) and ignores ``cv`` and ``random_state``.
    random_state : int or None
    covariance : {"shrunk", "diagonal"}, default="shrunk"
        The typicality rules' Gaussians: Ledoit-Wolf shrunk full covariances, or
        diagonal ones whose per-class variances are shrunk toward all classes'
        (for many columns, such as one distance per channel).
    layer_widths : list of int or None, default=None
        How many columns of ``D`` each layer holds, in order (its channels, for
        ``FSSDDetector(distances="channel")``); None: one column per layer.
        ``"typical_stack"`` then weighs each layer's atypicality, the sum of its
        columns' (with the guard ``"-mean"``: the mean of their ``z``), so one
        OoD kind fits one weight per layer, not one per channel.

    Attributes
    ----------
    centre_, scale_ : ndarray of shape (n_layers,)
        Mean and standard deviation of the ID log distances.
    regression_ : LogisticRegressionCV or NonNegativeLogistic
        ``"stack"`` and ``"guarded_stack"``; ``"typical_stack"`` (NonNegativeLogistic).
    layer_widths_ : list of int or None
        ``layer_widths`` as fitted.
    stack_reference_, guard_reference_ : ndarray
        ``"guarded_stack"`` and ``"typical_stack"`` only: the sorted scores of the stack and of
        the guard on the ID rows, against which new scores become percentiles.
    covariance_ : LedoitWolf
        The typicality rules (and a guard), fitted on the ID ``z`` (with
        ``covariance="diagonal"`` a diagonal Gaussian with the same attributes).
    class_covariances_ : dict
        ``"class_typical"`` only: class -> LedoitWolf (or diagonal Gaussian)
        fitted on the ID ``z`` of that class (classes with enough ID rows; with
        probabilities as ``groups``, a row's class is its most probable one).

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

    def __init__(self, combine="stack", quadratic=True, guard="typical", cv=5,
                 random_state=None, covariance="shrunk", layer_widths=None):
        self.combine = combine
        self.quadratic = quadratic
        self.guard = guard
        self.cv = cv
        self.random_state = random_state
        self.covariance = covariance
        self.layer_widths = layer_widths

    def __setstate__(self, state):
        # a combiner pickled before covariance (layer_widths) existed used Ledoit-Wolf (one
        # column per layer)
        state.setdefault("covariance", "shrunk")
        state.setdefault("layer_widths", None)
        super().__setstate__(state)

    def _z(self, D):
        return (log_distances(D) - self.centre_) / self.scale_

    def _features(self, D):
        z = self._z(D)
        if self.combine in ("stack", "guarded_stack") and self.quadratic:
            return np.hstack([z, z**2])
        return z

    def _typical_rule(self):
        """The typicality rule fitted: ``combine`` itself, or ``guard`` for a guarded stack."""
        return self.guard if self.combine in GUARDED_RULES else self.combine

    def _stack_and_guard(self, D, groups):
        """The stack's log-odds of ID and, for a guarded stack, the guard's score (else None).
        ``"typical_stack"`` with a Gaussian guard computes the guard's squared distances once,
        for its own features and for the guard."""
        if self.combine == "typical_stack" and self.guard != "-mean":
            per_layer, whole = self._squared_deviations(D, groups)
            features = _log_atypicality(per_layer, whole)
            return self.regression_.decision_function(features), -np.sqrt(whole)
        inputs = (self._atypicality(D, groups) if self.combine == "typical_stack"
                  else self._features(D))
        guard = (self._rule_score(self.guard, D, groups) if self.combine in GUARDED_RULES
                 else None)
        return self.regression_.decision_function(inputs), guard

    def fit(self, D, y, groups=None):
        """Fit on distances ``D`` with ``y`` = +1 (ID) / -1 (OoD).

        ``groups`` (``"class_typical"``, and the stacks guarded by it;
        required there): the class of each row, shape (n_samples,), or the network's class
        probabilities, shape (n_samples, n_classes), whose most probable class is the row's.
        """
        D = np.asarray(D, dtype=np.float64)
        y = np.asarray(y)
        self._check_rules()
        self._check_layer_widths(D)
        self.layer_widths_ = (None if self.layer_widths is None
                              else [int(width) for width in self.layer_widths])
        groups = self._check_groups(D, groups)
        # a refit starts afresh: nothing of an earlier fit with other rules is kept
        for name in ("covariance_", "class_covariances_", "regression_", "stack_reference_",
                     "guard_reference_"):
            self.__dict__.pop(name, None)
        inliers = log_distances(D[y == 1])
        self.centre_ = inliers.mean(axis=0)
        scale = inliers.std(axis=0)
        # a layer constant on the ID data has a std of 0 up to rounding (2e-16
        # for log(4) repeated 60 times): dividing by that would blow any other value up
        constant = scale <= 1e-9 * np.maximum(1.0, np.abs(self.centre_))
        self.scale_ = np.where(constant, 1.0, scale)
        if self.combine == "mean":
            return self
        if self._typical_rule() in ("typical", "class_typical"):
            self._fit_typical(self._z(D[y == 1]),
                              None if groups is None else _labels(groups)[y == 1])
        if self.combine in ("typical", "class_typical"):
            return self
        self._fit_stack(D, y, groups)
        if self.combine in GUARDED_RULES:
            stack, guard = self._stack_and_guard(
                D[y == 1], None if groups is None else groups[y == 1])
            self.stack_reference_, self.guard_reference_ = np.sort(stack), np.sort(guard)
        return self

    def _fit_typical(self, Z, groups):
        if self.covariance == "diagonal":
            self.covariance_ = _DiagonalGaussian().fit(Z)
            # a class's variances are shrunk toward all classes': 2 rows are enough
            prior = self.covariance_.variance_
            fit_class, enough = lambda Zc: _DiagonalGaussian().fit(Zc, prior=prior), 2
        else:
            self.covariance_ = LedoitWolf().fit(Z)
            fit_class, enough = lambda Zc: LedoitWolf().fit(Zc), 2 * Z.shape[1] + 2
        if self._typical_rule() == "class_typical":
            self.class_covariances_ = {c: fit_class(Z[groups == c]) for c in np.unique(groups)
                                       if (groups == c).sum() >= enough}

    def _fit_stack(self, D, y, groups):
        n_minority = int(min((y == 1).sum(), (y == -1).sum()))
        if n_minority < 2:
            raise ValueError(
                "Stacking the layers needs at least 2 in-distribution (+1) and 2 "
                f"out-of-distribution (-1) samples; got {int((y == 1).sum())} and "
                f"{int((y == -1).sum())}."
            )
        if self.combine == "typical_stack":
            self.regression_ = NonNegativeLogistic().fit(self._atypicality(D, groups), y)
            return
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

    def _check_rules(self):
        rules = {"stack", "guarded_stack", "typical_stack", "typical", "class_typical", "mean"}
        # typical_stack weighs how atypical each layer is: the typicality rules' deviations, or
        # for "-mean" the distances themselves (they grow for OoD inputs)
        guards = {"typical", "class_typical", "-mean"} | (
            {"mean"} if self.combine != "typical_stack" else set())
        if self.combine not in rules:
            raise ValueError(f"combine={self.combine!r} is not a rule; valid: {sorted(rules)}.")
        if self.covariance not in ("shrunk", "diagonal"):
            raise ValueError(f"covariance={self.covariance!r} is not a covariance; valid: "
                             "'shrunk' (Ledoit-Wolf) or 'diagonal'.")
        if self.combine in GUARDED_RULES and self.guard not in guards:
            raise ValueError(f"guard={self.guard!r} is not a rule without OoD data "
                             + ("whose layers' atypicality a stack can weigh "
                                if self.combine == "typical_stack" else "")
                             + f"for combine={self.combine!r}; valid: {sorted(guards)}.")

    def _check_layer_widths(self, D):
        if self.layer_widths is None:
            return
        widths = np.asarray(self.layer_widths)
        if (widths.ndim != 1 or len(widths) == 0 or not np.issubdtype(widths.dtype, np.integer)
                or widths.min() < 1 or widths.sum() != D.shape[1]):
            raise ValueError(
                f"layer_widths must be positive whole numbers of columns, one per layer, that "
                f"add up to the {D.shape[1]} columns of D; got {self.layer_widths!r}. Pass the "
                "detector's channels_, or None for one column per layer.")

    def _per_layer(self, columns, mean=False):
        """``columns`` (n_samples, n_columns) summed (``mean``: averaged) within each layer of
        ``layer_widths`` (as fitted); unchanged without them."""
        widths = getattr(self, "layer_widths_", None)  # None too in a combiner pickled before
        if widths is None:
            return columns
        widths = np.asarray(widths)
        summed = np.add.reduceat(columns, np.r_[0, np.cumsum(widths)[:-1]], axis=1)
        return summed / widths if mean else summed

    def _check_groups(self, D, groups):
        if self._typical_rule() != "class_typical":
            return None
        if groups is None:
            raise ValueError(f'combine="{self.combine}"'
                             + (' guarded by "class_typical"' if self.combine != "class_typical"
                                else "")
                             + " needs groups: the class of each row, or the network's "
                             "class probabilities.")
        groups = np.asarray(groups)
        if groups.ndim not in (1, 2) or len(groups) != len(D):
            raise ValueError(f"groups must hold one class per row of D ({len(D)}), or one row "
                             f"of class probabilities per row of D; got shape {groups.shape}.")
        if groups.ndim == 2 and not (np.all(groups >= 0) and np.all(groups.sum(axis=1) > 0)):
            raise ValueError("groups of shape (n_samples, n_classes) must hold class "
                             "probabilities: non-negative, with a positive sum in every row "
                             "(the network's softmax).")
        return groups

    def _over_classes(self, z, groups, measure):
        """``measure(gaussian, z)`` (per row, or per row and layer) of the ID Gaussian; for
        ``"class_typical"`` with ``groups``, of the row's class's Gaussian, or its mean over the
        classes weighted by their probabilities (the weight of classes without a Gaussian of
        their own goes to the Gaussian of all)."""
        value = measure(self.covariance_, z)
        classes = getattr(self, "class_covariances_", {})
        if groups is None or not classes:
            return value

        def times(weight, values):
            return weight.reshape((-1,) + (1,) * (values.ndim - 1)) * values

        weights = _class_weights(groups, classes)
        expected = times((1 - sum(weights.values(), np.zeros(len(z)))).clip(min=0), value)
        for c, weight in weights.items():
            rows = weight > 0
            if rows.any():
                expected[rows] += times(weight[rows], measure(classes[c], z[rows]))
        return expected

    def _typical_score(self, D, groups):
        """Minus the Mahalanobis distance of the rows' ``z`` from the ID Gaussian (for
        ``"class_typical"``: from their class's, or the root of the probability-weighted mean
        squared distance from the classes' Gaussians)."""
        return -np.sqrt(self._over_classes(self._z(D), groups,
                                           lambda gaussian, z: gaussian.mahalanobis(z)))

    def _squared_deviations(self, D, groups):
        """Each layer's squared standardised deviation of ``z`` from the guard's Gaussian(s)
        (with ``layer_widths``, summed over the layer's columns), shape (n_samples, n_layers),
        and the whole squared Mahalanobis distance, (n_samples,); averaged over the classes as
        ``"class_typical"`` averages."""
        z = self._z(D)
        per_layer = self._over_classes(
            z, groups, lambda gaussian, z: (z - gaussian.location_) ** 2
            / np.maximum(_variances(gaussian), _TINY))
        whole = self._over_classes(z, groups, lambda gaussian, z: gaussian.mahalanobis(z))
        return self._per_layer(per_layer), whole

    def _atypicality(self, D, groups):
        """``"typical_stack"``'s features: ``log1p`` of :meth:`_squared_deviations`, shape
        (n_samples, n_layers + 1), larger = less typical. With the guard ``"-mean"`` (distances
        that grow for OoD inputs, the Mahalanobis detector's), the standardised log distances
        ``z`` themselves."""
        if self.guard == "-mean":
            return self._per_layer(self._z(D), mean=True)
        return _log_atypicality(*self._squared_deviations(D, groups))

    def _rule_score(self, rule, D, groups):
        """The score of a rule without OoD data (``combine``'s or the guard's), higher = more
        in-distribution."""
        if rule == "mean":
            return self._z(D).mean(axis=1)
        if rule == "-mean":
            return -self._z(D).mean(axis=1)
        return self._typical_score(D, groups)

    def decision_function(self, D, groups=None):
        """In-distribution score of each row, higher = more in-distribution.

        Log-odds of ID (``"stack"``), minus the Mahalanobis distance
        (``"typical"``; ``"class_typical"``: from the Gaussian of the row's
        class, or with class probabilities as ``groups`` the root of the
        probability-weighted mean of the squared distances from the classes'
        Gaussians; ``groups`` required), the mean ``z`` (``"mean"``), or the
        smaller log ID percentile of the stack and the guard
        (``"guarded_stack"``, ``"typical_stack"``).
        """
        D = np.asarray(D, dtype=np.float64)
        groups = self._check_groups(D, groups)
        if self.combine not in STACK_RULES:
            return self._rule_score(self.combine, D, groups)
        stack, guard = self._stack_and_guard(D, groups)
        if guard is None:
            return stack
        return np.minimum(log_percentile(stack, self.stack_reference_),
                          log_percentile(guard, self.guard_reference_))
