"""Thresholds with a false-alarm guarantee: split-conformal p-values.

``contamination`` sets a detector's threshold on its own training scores,
which says nothing certain about the share of *new* in-distribution inputs
it will flag. Split-conformal prediction does (Vovk et al., "Algorithmic
Learning in a Random World", 2005; Bates et al., "Testing for outliers with
conformal p-values", Ann. Statist. 2023): score ``n`` in-distribution
samples that the detector was *not* fitted on, the calibration set; the
conformal p-value of a new input with in-distribution score ``s`` is

    p(s) = (1 + #{calibration scores <= s}) / (n + 1).

If the new input and the calibration samples are exchangeable (for example
drawn independently from one distribution), ``P(p <= alpha) <= alpha`` for
every ``alpha``, whatever the detector and however it was fitted. Flagging
exactly the inputs with ``p <= alpha`` therefore flags at most a share
``alpha`` of in-distribution inputs, on average over the draws of the
calibration set and of the new input, and no less than
``alpha - 1 / (n + 1)`` when scores have no ties.

With ``k = floor(alpha (n + 1))``, ``p(s) <= alpha`` exactly when ``s`` is
below the ``k``-th smallest calibration score; when ``alpha < 1 / (n + 1)``
(fewer than ``ceil(1 / alpha) - 1`` calibration samples) no p-value can be
that small and nothing is flagged.

The maths are two pure functions, :func:`conformal_p_values` and
:func:`conformal_threshold`; :class:`ConformalDetector` wraps any detector of
the package (or of scikit-learn) and sets its threshold this way.
"""

import math
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, OutlierMixin, clone
from sklearn.utils import check_random_state, get_tags
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from ._docstrings import SCORING_X, fill_doc
from ._utils import HasMethods, Interval, RealNotInt, StrOptions, _fit_context, validate_params
from .base import check_ood_labels

__all__ = ["ConformalDetector", "conformal_p_values", "conformal_threshold"]

_ALPHA = Interval(Real, 0, 1, closed="neither")


def _scores(scores, name):
    """A 1-D float64 array of scores; NaN is an error, +-inf is a valid (extreme) score."""
    scores = column_or_1d(np.asarray(scores, dtype=np.float64), input_name=name)
    if np.isnan(scores).any():
        raise ValueError(
            f"{name} contains NaN at {np.flatnonzero(np.isnan(scores))[:5].tolist()}...; "
            "a detector's score must be a number for every sample."
        )
    return scores


def _n_flaggable_ranks(n, alpha):
    """``k``, the largest rank ``j`` in ``0..n`` whose p-value ``j / (n + 1)`` is <= alpha.

    It is ``floor(alpha (n + 1))`` in exact arithmetic. It is computed with the
    very division that :func:`conformal_p_values` uses, so that ``p <= alpha``
    and ``score < threshold`` agree to the last bit (``floor(0.29 * 100)`` is
    28 in floats, but ``29 / 100 <= 0.29``).
    """
    return int(np.count_nonzero(np.arange(1, n + 1) / (n + 1) <= alpha))


def _min_calibration_size(alpha):
    """The fewest calibration scores for which some p-value can be <= alpha."""
    n = max(math.ceil(1 / alpha) - 1, 0)
    while _n_flaggable_ranks(n, alpha) == 0:
        n += 1
    while n > 0 and _n_flaggable_ranks(n - 1, alpha) > 0:
        n -= 1
    return n


@validate_params(
    {"calibration_id_scores": ["array-like"], "id_scores": ["array-like"]},
    prefer_skip_nested_validation=True,
)
def conformal_p_values(calibration_id_scores, id_scores):
    """Split-conformal p-values of new inputs: small = unlike the calibration data.

    ``p(s) = (1 + #{c <= s}) / (n + 1)`` over the ``n`` calibration scores
    ``c``, with scikit-learn's sign (higher score = more in-distribution).
    When the calibration samples and a new in-distribution input are
    exchangeable, ``P(p <= alpha) <= alpha`` for every ``alpha`` in (0, 1).
    Ties count against flagging: a new score equal to a calibration score
    gets the larger p-value.

    Parameters
    ----------
    calibration_id_scores : array-like of shape (n_calibration,)
        In-distribution scores (``score_samples``) of in-distribution
        samples the detector was not fitted on. Need not be sorted.
    id_scores : array-like of shape (n_samples,)
        In-distribution scores of the new inputs.

    Returns
    -------
    p_values : ndarray of shape (n_samples,)
        Values in ``{1/(n+1), 2/(n+1), ..., 1}``.

    See Also
    --------
    conformal_threshold : the score below which ``p <= alpha``.
    ConformalDetector : a detector whose ``predict`` flags ``p <= alpha``.

    Examples
    --------
    >>> conformal_p_values([3.0, 1.0, 2.0, 4.0], [0.5, 2.0, 9.0]).tolist()
    [0.2, 0.6, 1.0]
    """
    calibration = np.sort(_scores(calibration_id_scores, "calibration_id_scores"))
    counts = np.searchsorted(calibration, _scores(id_scores, "id_scores"), side="right")
    return (1.0 + counts) / (len(calibration) + 1)


@validate_params(
    {"calibration_id_scores": ["array-like"], "alpha": [_ALPHA]},
    prefer_skip_nested_validation=True,
)
def conformal_threshold(calibration_id_scores, alpha):
    """The in-distribution score below which the conformal p-value is <= alpha.

    With ``k = floor(alpha (n + 1))``, the ``k``-th smallest of the ``n``
    calibration scores: a new input with score ``s`` has
    ``conformal_p_values(calibration_id_scores, [s]) <= alpha`` exactly when
    ``s < threshold``. When ``k = 0`` (fewer than ``ceil(1/alpha) - 1``
    calibration scores) it is ``-inf``, nothing is ever flagged, and a
    warning says how many calibration samples ``alpha`` needs.

    Parameters
    ----------
    calibration_id_scores : array-like of shape (n_calibration,)
        In-distribution scores of in-distribution samples the detector was
        not fitted on.
    alpha : float in (0, 1)
        The false-alarm rate: the share of in-distribution inputs flagged is
        at most ``alpha`` on average over calibration sets and inputs.

    Returns
    -------
    threshold : float
        Flag an input as out-of-distribution when its score is below it.

    Warns
    -----
    UserWarning
        When the calibration set is too small for ``alpha``.

    See Also
    --------
    conformal_p_values : the p-values this threshold cuts.

    Examples
    --------
    >>> calibration = [5.0, 1.0, 4.0, 2.0, 3.0, 6.0, 8.0, 7.0, 9.0]
    >>> conformal_threshold(calibration, alpha=0.2)  # k = floor(0.2 * 10) = 2
    2.0
    >>> conformal_p_values(calibration, [1.5, 2.0]).tolist()  # flagged, not flagged
    [0.2, 0.3]
    """
    calibration = np.sort(_scores(calibration_id_scores, "calibration_id_scores"))
    k = _n_flaggable_ranks(len(calibration), alpha)
    if k == 0:
        warnings.warn(
            f"{len(calibration)} calibration scores are too few for alpha={alpha}: no conformal "
            f"p-value can be <= alpha, so nothing will be flagged. alpha={alpha} needs at least "
            f"{_min_calibration_size(alpha)} in-distribution calibration samples "
            "(ceil(1 / alpha) - 1); calibrate on more samples or raise alpha.",
            UserWarning,
        )
        return -np.inf
    return float(calibration[k - 1])


class ConformalDetector(OutlierMixin, MetaEstimatorMixin, BaseEstimator):
    """A detector whose ``predict`` flags at most a share ``alpha`` of in-distribution inputs.

    Split-conformal calibration: ``fit`` holds out in-distribution rows of
    ``X`` (the calibration set), fits a clone of ``detector`` on the rest and
    scores the calibration rows. A new input is flagged (-1) exactly when its
    conformal p-value (:func:`conformal_p_values`) is <= ``alpha``. If the
    calibration rows and the new in-distribution inputs are exchangeable, the
    expected share of in-distribution inputs flagged is at most ``alpha``
    (and at least ``alpha - 1/(n+1)`` for ``n`` calibration rows without tied
    scores), over the draws of the calibration set and of the inputs. See the
    user guide, "Thresholds with a false-alarm guarantee", for what is not
    guaranteed (the detection rate of OoD inputs; data that shift).

    Parameters
    ----------
    detector : estimator with ``fit`` and ``score_samples``
        Higher ``score_samples`` = more in-distribution, e.g.
        :class:`~sklearn_fssd.FSSDDetector` or a baseline. It is cloned
        (a torch network it holds is kept, not re-created). An already
        fitted detector wrapped in :class:`sklearn.frozen.FrozenEstimator`
        is not refitted: with ``calibration_size="all"`` every row of ``X``
        calibrates it.
    alpha : float in (0, 1), default=0.05
        The false-alarm rate: the share of in-distribution inputs that
        ``predict`` flags is at most ``alpha`` on average. It needs at least
        ``ceil(1/alpha) - 1`` calibration rows (19 for 0.05, 99 for 0.01);
        with fewer, nothing is flagged and ``fit`` warns.
    calibration_size : float in (0, 1), int >= 1 or "all", default=0.2
        In-distribution rows of ``X`` held out from fitting to calibrate:
        a share of them (rounded up), a number of them, or ``"all"`` to fit
        nothing and calibrate the already fitted ``detector`` on all of them.
        With ``fit(X, y)`` only rows with ``y == +1`` are candidates; rows
        with ``y == -1`` always go to the detector's fit.
    random_state : int, RandomState instance or None, default=None
        Draws the calibration rows.

    Attributes
    ----------
    detector_ : estimator
        The fitted clone of ``detector`` (``detector`` itself with
        ``calibration_size="all"``).
    calibration_scores_ : ndarray of shape (n_calibration,)
        ``detector_.score_samples`` of the calibration rows, sorted ascending.
    calibration_indices_ : ndarray of shape (n_calibration,)
        Which rows of the ``X`` given to ``fit`` calibrate.
    offset_ : float
        The conformal threshold (:func:`conformal_threshold`):
        ``decision_function = score_samples - offset_``, negative exactly when
        the p-value is <= ``alpha``; ``-inf`` when the calibration set is too
        small for ``alpha``.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` has column names.

    See Also
    --------
    conformal_p_values, conformal_threshold : the maths, on scores.
    sklearn_fssd.pyod.FSSD : its ``calibration_size`` sets PyOD's
        ``threshold_`` by the same rule, at ``alpha = contamination``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_fssd import ConformalDetector, FSSDDetector
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(500, 4))
    >>> det = ConformalDetector(FSSDDetector(max_epochs=5, random_state=0), alpha=0.05,
    ...                         calibration_size=200, random_state=0).fit(X)
    >>> det.calibration_scores_.shape
    (200,)
    >>> X_new = np.vstack([rng.normal(size=(2000, 4)), 100 * X[:1]])
    >>> flagged = det.predict(X_new) == -1
    >>> bool(flagged[:-1].mean() <= 0.07), bool(flagged[-1])
    (True, True)
    >>> bool(((det.p_values(X_new) <= 0.05) == flagged).all())
    True

    An already fitted detector, calibrated without refitting:

    >>> from sklearn.frozen import FrozenEstimator
    >>> fitted = det.detector_
    >>> recal = ConformalDetector(FrozenEstimator(fitted), alpha=0.1, calibration_size="all")
    >>> recal.fit(rng.normal(size=(300, 4))).calibration_scores_.shape
    (300,)
    """

    _parameter_constraints = {
        "detector": [HasMethods(["fit", "score_samples"])],
        "alpha": [_ALPHA],
        "calibration_size": [
            Interval(RealNotInt, 0, 1, closed="neither"),
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"all"}),
        ],
        "random_state": ["random_state"],
    }

    def __init__(self, detector, *, alpha=0.05, calibration_size=0.2, random_state=None):
        self.detector = detector
        self.alpha = alpha
        self.calibration_size = calibration_size
        self.random_state = random_state

    # the detector's own parameters are validated by its own fit
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Hold out calibration rows, fit the detector on the rest, calibrate.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
            In-distribution samples, or labelled samples with ``y``.
        y : array-like of shape (n_samples,) with values in {+1, -1}, optional
            +1 = in-distribution, -1 = out-of-distribution (given to the
            detector's fit, never used to calibrate). Other labels are
            ignored with a warning, as by every detector of the package.

        Returns
        -------
        self : ConformalDetector
        """
        X = validate_data(self, X, allow_nd=True, dtype="numeric", ensure_min_samples=2)
        y_id = check_ood_labels(X, y, type(self).__name__)  # the package's one label check
        id_rows = np.flatnonzero(y_id == 1)
        if self.calibration_size == "all":
            check_is_fitted(
                self.detector,
                msg=(
                    "calibration_size='all' calibrates an already fitted detector on all of X "
                    "and fits nothing, but this %(name)s is not fitted. Fit it first, on other "
                    "data than the calibration set, and wrap it in "
                    "sklearn.frozen.FrozenEstimator (so that clone keeps it fitted), or pass "
                    "calibration_size=0.2 to fit a clone on the rows not held out."
                ),
            )
            self.detector_ = self.detector
            calibration = id_rows
        else:
            n_calibration = self._n_calibration(len(id_rows))
            rng = check_random_state(self.random_state)
            calibration = np.sort(rng.choice(id_rows, n_calibration, replace=False))
            rest = np.setdiff1d(np.arange(len(X)), calibration)
            y_rest = y_id[rest] if (y_id[rest] == -1).any() else None
            self.detector_ = clone(self.detector).fit(X[rest], y_rest)
        self.calibration_indices_ = calibration
        self.calibration_scores_ = np.sort(
            _scores(self.detector_.score_samples(X[calibration]), "calibration scores")
        )
        self.offset_ = conformal_threshold(self.calibration_scores_, self.alpha)
        return self

    def _n_calibration(self, n_id):
        size = self.calibration_size
        n = math.ceil(size * n_id) if isinstance(size, RealNotInt) else int(size)
        if n >= n_id:
            raise ValueError(
                f"calibration_size={size!r} holds out {n} of the {n_id} in-distribution rows "
                "of X and leaves none to fit the detector on. Pass a smaller calibration_size, "
                "or calibration_size='all' with an already fitted detector wrapped in "
                "sklearn.frozen.FrozenEstimator."
            )
        return n

    @fill_doc(scoring_x=SCORING_X)
    def score_samples(self, X):
        """The detector's in-distribution score: higher = more in-distribution.

        {scoring_x}
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        X = validate_data(self, X, allow_nd=True, dtype="numeric", reset=False)
        return self.detector_.score_samples(X)

    @fill_doc(scoring_x=SCORING_X)
    def p_values(self, X):
        """Conformal p-values: small = unlike the in-distribution calibration rows.

        {scoring_x}
        ndarray of shape (n_samples,)
            ``(1 + #{calibration scores <= score}) / (n_calibration + 1)``;
            ``predict`` is -1 exactly where it is <= ``alpha``.
        """
        id_scores = self.score_samples(X)  # checks that self is fitted
        return conformal_p_values(self.calibration_scores_, id_scores)

    @fill_doc(scoring_x=SCORING_X)
    def decision_function(self, X):
        """``score_samples(X) - offset_``: negative exactly when the p-value is <= ``alpha``.

        {scoring_x}
        ndarray of shape (n_samples,)
        """
        return self.score_samples(X) - self.offset_

    @fill_doc(scoring_x=SCORING_X)
    def predict(self, X):
        """-1 (out-of-distribution) where the p-value is <= ``alpha``, else +1.

        {scoring_x}
        ndarray of shape (n_samples,) of int
        """
        return np.where(self.decision_function(X) < 0, -1, 1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.detector)
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = False
        tags.non_deterministic = inner.non_deterministic
        return tags
