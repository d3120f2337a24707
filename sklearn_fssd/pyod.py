"""The PyOD face: FSSD (and any detector of this package) as a PyOD detector.

PyOD's conventions differ from scikit-learn's: ``decision_function`` is
higher for *more abnormal* samples, labels are 0 (inlier) / 1 (outlier), and
``fit`` sets ``decision_scores_``, ``threshold_`` and ``labels_`` on the
training data. This module is the only one that imports PyOD::

    from sklearn_fssd.pyod import FSSD
    clf = FSSD(contamination=0.1).fit(X_train)
    clf.decision_scores_, clf.labels_, clf.predict(X_test), clf.predict_proba(X_test)

Any scikit-learn-style detector of the package (whose ``score_samples`` is
higher for in-distribution) becomes a PyOD detector with :func:`as_pyod`.
"""

import inspect
from numbers import Real

from pyod.models.base import BaseDetector
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted

from ._utils import HasMethods, Interval, InvalidParameterError, validate_parameter_constraints
from .base import clone_keeping_model
from .conformal import ConformalDetector
from .detector import FSSDDetector
from ._docstrings import SCORING_X, fill_doc

__all__ = ["FSSD", "PyODDetector", "as_pyod"]


class PyODDetector(BaseDetector):
    """Adapter: a scikit-learn outlier detector seen through PyOD's API.

    Parameters
    ----------
    estimator : estimator with ``fit`` and ``score_samples``
        Higher ``score_samples`` = more normal (scikit-learn's sign), e.g.
        :class:`~sklearn_fssd.FSSDDetector`. It is cloned at ``fit``.
    contamination : float in (0, 0.5] or PyThresh thresholder, default=0.1
        Share of outliers in the training data; sets ``threshold_``. As in
        PyOD, a thresholder object (with ``fit``) may set it instead; there
        is no ``"auto"`` (that is the scikit-learn face's). With
        ``calibration_size``: the false-alarm rate ``alpha`` instead (a float).
    calibration_size : None, float in (0, 1) or int >= 1, default=None
        ``None``: PyOD's rule, ``threshold_`` is the ``1 - contamination``
        quantile of ``decision_scores_``. Otherwise the share (or number) of
        rows of ``X`` held out from fitting to calibrate a conformal
        threshold (:class:`~sklearn_fssd.ConformalDetector` at
        ``alpha=contamination``): ``predict`` and ``labels_`` flag at most a
        share ``contamination`` of inliers on average, if the inliers of
        ``X`` and the new inputs are exchangeable. Assumes ``X`` is clean
        inliers; outliers among the calibration rows only make it flag less.
    random_state : int, RandomState instance or None, default=None
        Draws the calibration rows (only with ``calibration_size``).

    Attributes
    ----------
    estimator_ : the fitted clone of ``estimator``
    conformal_ : ConformalDetector
        Only with ``calibration_size``: the calibration (``conformal_.p_values``
        gives conformal p-values); ``estimator_`` is its ``detector_``.
    decision_scores_ : ndarray of shape (n_samples,)
        Outlier scores of the training data, higher = more abnormal.
    threshold_ : float
        ``decision_scores_`` above it are outliers. With ``calibration_size``
        minus the conformal threshold ``conformal_.offset_``.
    labels_ : ndarray of shape (n_samples,)
        0 = inlier, 1 = outlier, for the training data.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_fssd import FSSDDetector
    >>> X = np.random.RandomState(0).normal(size=(200, 3))
    >>> clf = as_pyod(FSSDDetector(max_epochs=3, random_state=0), contamination=0.1).fit(X)
    >>> int(clf.labels_.sum())
    20
    >>> clf.predict(np.vstack([X[:1], 50 * X[:1]])).tolist()
    [0, 1]
    """

    _parameter_constraints = {
        "contamination": [Interval(Real, 0, 0.5, closed="right"), HasMethods(["fit"])],
    }

    def __init__(self, estimator, contamination=0.1, calibration_size=None, random_state=None):
        super().__init__(contamination=contamination)
        self.estimator = estimator
        self.calibration_size = calibration_size
        self.random_state = random_state

    def _check_contamination(self):
        """PyOD's contamination: a float in (0, 0.5] or a thresholder, checked before any work."""
        try:
            validate_parameter_constraints(
                self._parameter_constraints,
                {"contamination": self.contamination},
                caller_name=type(self).__name__,
            )
        except InvalidParameterError as exc:
            raise InvalidParameterError(
                f"{exc} PyOD detectors take the share of outliers in the training data "
                "(PyOD's default is 0.1); contamination='auto' belongs to the scikit-learn "
                "face, sklearn_fssd.FSSDDetector."
            ) from None

    def _make_estimator(self):
        return clone(self.estimator)

    def fit(self, X, y=None):
        """Fit the detector on ``X`` (unsupervised: ``y`` is ignored, as in PyOD).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
        y : ignored

        Returns
        -------
        self
        """
        self._check_contamination()
        self._set_n_classes(y)
        self.estimator_ = self._fit_estimator(X)
        self.decision_scores_ = -self.estimator_.score_samples(X)
        self._process_decision_scores()
        return self

    def _fit_estimator(self, X):
        """The fitted estimator: on all of ``X``, or on the rows not held out to calibrate."""
        if self.calibration_size is None:
            self.__dict__.pop("conformal_", None)  # from an earlier fit with calibration_size
            return self._make_estimator().fit(X)
        if not isinstance(self.contamination, Real) or self.calibration_size == "all":
            raise ValueError(
                "calibration_size needs a float contamination, the false-alarm rate alpha, and "
                f"a share or number of rows; got contamination={self.contamination!r}, "
                f"calibration_size={self.calibration_size!r}."
            )
        self.conformal_ = ConformalDetector(
            self._make_estimator(), alpha=float(self.contamination),
            calibration_size=self.calibration_size, random_state=self.random_state,
        ).fit(X)
        return self.conformal_.detector_

    def _process_decision_scores(self):
        # PyOD's rule, then, when asked, the conformal one (PyOD's sign: flag above -offset_)
        super()._process_decision_scores()
        if self.calibration_size is not None:
            self.threshold_ = -self.conformal_.offset_
            self.labels_ = (self.decision_scores_ > self.threshold_).astype(int)
        return self

    @fill_doc(scoring_x=SCORING_X)
    def decision_function(self, X):
        """Outlier score of each sample: higher = more abnormal.

        {scoring_x}
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self, ["estimator_", "decision_scores_", "threshold_"])
        return -self.estimator_.score_samples(X)


def as_pyod(detector, contamination=0.1, calibration_size=None, random_state=None):
    """Wrap a scikit-learn-style detector of this package in PyOD's API.

    Parameters
    ----------
    detector : estimator with ``fit`` and ``score_samples`` (higher = normal)
    contamination : float in (0, 0.5], default=0.1
    calibration_size : None, float in (0, 1) or int >= 1, default=None
        A conformal ``threshold_`` at ``alpha=contamination``; see
        :class:`PyODDetector`.
    random_state : int, RandomState instance or None, default=None
        Draws the calibration rows.

    Returns
    -------
    PyODDetector

    Examples
    --------
    >>> from sklearn_fssd import FSSDDetector
    >>> as_pyod(FSSDDetector(), contamination=0.05).contamination
    0.05
    """
    return PyODDetector(detector, contamination=contamination,
                        calibration_size=calibration_size, random_state=random_state)


def _face_signature(detector_cls):
    """The ``__init__`` signature of the PyOD face of ``detector_cls``.

    PyOD's ``contamination`` comes first (PyOD's default, 0.1) and ``model``
    second, then every other parameter of ``detector_cls.__init__`` with its
    default, read from its signature (so a new parameter of the detector
    appears in the face by itself), keyword-only, then the PyOD-only
    ``calibration_size``.
    """
    keyword = inspect.Parameter.KEYWORD_ONLY
    own = [p for name, p in inspect.signature(detector_cls.__init__).parameters.items()
           if name not in ("self", "contamination")]
    positional = inspect.Parameter.POSITIONAL_OR_KEYWORD
    params = [
        inspect.Parameter("self", positional),
        inspect.Parameter("contamination", positional, default=0.1),
        *[p.replace(kind=positional if p.name == "model" else keyword) for p in own],
        inspect.Parameter("calibration_size", keyword, default=None),
    ]
    return inspect.Signature(params)


class FSSD(PyODDetector):
    """FSSD out-of-distribution detection with PyOD's conventions.

    The same detector as :class:`~sklearn_fssd.FSSDDetector` (see it for
    every parameter), with PyOD's API: ``decision_function`` higher = more
    abnormal, ``predict`` 0 (inlier) / 1 (outlier), ``decision_scores_``,
    ``threshold_`` and ``labels_`` set by ``fit``, ``predict_proba``
    ("linear" or "unify"), ``predict_confidence`` and
    ``predict_with_rejection`` from PyOD's base class. With ``model=None``
    (the default) it builds and trains its own network on ``X``, so no
    labels are needed. Its parameters are read from ``FSSDDetector``'s
    signature: every parameter of the detector is one of the face's.

    Parameters
    ----------
    contamination : float in (0, 0.5] or PyThresh thresholder, default=0.1
        As for :class:`PyODDetector` (no ``"auto"``: ``fit`` refuses it
        before any training).
    {detector_params}
        As for :class:`~sklearn_fssd.FSSDDetector`; all but ``model`` are
        keyword-only.
    calibration_size : None, float in (0, 1) or int >= 1, default=None
        ``None``: PyOD's threshold. Otherwise rows held out from fitting to
        set a conformal ``threshold_`` that flags at most a share
        ``contamination`` of new inliers (see :class:`PyODDetector`); they
        are drawn with ``random_state``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_fssd.pyod import FSSD
    >>> X = np.random.RandomState(0).normal(size=(200, 4))
    >>> clf = FSSD(contamination=0.1, max_epochs=3, random_state=0).fit(X)
    >>> clf.decision_scores_.shape, int(clf.labels_.sum())
    ((200,), 20)
    >>> clf.predict(100 * X[:2]).tolist()
    [1, 1]
    """

    def __init__(self, *args, **kwargs):
        # the signature is FSSDDetector's (see _face_signature); __init__ only stores
        bound = type(self).__init__.__signature__.bind(self, *args, **kwargs)
        bound.apply_defaults()
        params = dict(bound.arguments)
        del params["self"]
        BaseDetector.__init__(self, contamination=params.pop("contamination"))
        for name, value in params.items():
            setattr(self, name, value)

    __init__.__signature__ = _face_signature(FSSDDetector)

    def __setstate__(self, state):
        # a face pickled before a parameter of FSSDDetector existed takes its default, or the
        # value it behaved as where the default changed since
        for name, param in type(self).__init__.__signature__.parameters.items():
            if param.default is not inspect.Parameter.empty:
                state.setdefault(name, FSSDDetector._value_before.get(name, param.default))
        self.__dict__.update(state)

    @property
    def estimator(self):
        """The :class:`~sklearn_fssd.FSSDDetector` these parameters describe."""
        params = self.get_params(deep=False)
        params.pop("contamination")
        params.pop("calibration_size")
        # a PyThresh object thresholds the PyOD scores; the inner detector then uses "auto"
        contamination = (
            float(self.contamination) if isinstance(self.contamination, Real) else "auto"
        )
        return FSSDDetector(contamination=contamination, **params)

    def _make_estimator(self):
        # the network is pretrained data: clone() would refit a skorch net
        return self.estimator

    def __sklearn_clone__(self):
        return clone_keeping_model(self)

    @property
    def layers_(self):
        """The tapped layers of the fitted detector."""
        check_is_fitted(self, "estimator_")
        return self.estimator_.layers_

    def layer_scores(self, X):
        """FSSD per layer (higher = more in-distribution, the paper's sign)."""
        check_is_fitted(self, "estimator_")
        return self.estimator_.layer_scores(X)



# the names of FSSDDetector's parameters, one numpydoc entry (a long line in the docstring)
FSSD.__doc__ = FSSD.__doc__.replace(
    "{detector_params}", ", ".join(list(inspect.signature(FSSD).parameters)[1:-1])
)
