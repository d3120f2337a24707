"""Out-of-distribution (OoD) detection metrics.

Numpy and scikit-learn only: the curves and areas come from
:func:`sklearn.metrics.roc_auc_score`, :func:`sklearn.metrics.average_precision_score`
and :func:`sklearn.metrics.roc_curve`; this module only fixes the conventions
around them, which the OoD literature states in two opposite ways.

Conventions
-----------
Labels, ``y_ood``
    One label per sample, **1 (or True) = OoD, 0 (or False) = in-distribution
    (ID)**. This is PyOD's convention (``labels_``, 1 = outlier), so PyOD labels
    can be passed as they are. scikit-learn's outlier convention (``+1`` =
    inlier/ID, ``-1`` = outlier/OoD, as returned by ``FSSDDetector.predict``
    and used for ``y_val``) must be converted first with
    :func:`y_ood_from_sklearn`; labels in ``{-1, +1}`` passed as ``y_ood`` are
    refused with an error that says so, never silently reinterpreted.

Scores, ``ood_score=`` or ``id_score=`` (keyword only, exactly one)
    ``ood_score``: higher = more OoD (PyOD's ``decision_function``, the sign of
    pytorch-ood). ``id_score``: higher = more in-distribution (scikit-learn's
    ``score_samples``, e.g. ``FSSDDetector.score_samples``); it is used as
    ``ood_score = -id_score``. Because the keyword names the sign at every
    call site, a flipped score cannot be passed by accident.

A sample is *accepted* (kept as ID) when its ``id_score >= t`` for a threshold
``t``, the rule of :func:`sklearn.metrics.roc_curve`. Every metric is returned
as a fraction in [0, 1]; :func:`ood_report` can give percent on request and
says which in its ``"unit"`` entry.

Metrics
-------
- :func:`auroc`: area under the ROC curve; the same number whichever class is
  called positive, as long as the score's sign matches.
- :func:`aupr_in`: average precision with ID as the positive class, ranked by
  ``id_score`` (AUPR-In).
- :func:`aupr_out`: average precision with OoD as the positive class, ranked by
  ``ood_score`` (AUPR-Out).
- :func:`fpr_at_tpr`, :func:`fpr_at_80_tpr`, :func:`fpr_at_95_tpr`: the
  fraction of OoD samples accepted as ID at the strictest threshold that still
  accepts a fraction ``tpr`` of the ID samples (Liang et al., 2018, ODIN; the
  TPR is measured on the ID samples, the ones that must be kept). Read off the
  ROC curve of :func:`sklearn.metrics.roc_curve` without interpolation; see
  :func:`fpr_at_tpr` for ties and for the other convention.
- :func:`detection_accuracy`: ``1 - min_t {0.5 P_in(id_score <= t) + 0.5
  P_out(id_score > t)}`` (Liang et al., 2018; Lee et al., 2018), the best
  balanced accuracy of a single threshold.
- :func:`ood_report`: all of the above in one dict; :func:`format_ood_report`
  renders one or several reports as a Markdown table.

Examples
--------
>>> from sklearn_fssd.metrics import auroc, fpr_at_95_tpr, y_ood_from_sklearn
>>> y_val = [1, 1, 1, -1, -1]          # scikit-learn labels: +1 ID, -1 OoD
>>> id_score = [3.0, 2.5, 1.0, 2.0, 0.5]  # e.g. detector.score_samples(X_val)
>>> y_ood = y_ood_from_sklearn(y_val)
>>> y_ood
array([0, 0, 0, 1, 1])
>>> round(auroc(y_ood, id_score=id_score), 4)
0.8333
>>> fpr_at_95_tpr(y_ood, id_score=id_score)
0.5
"""

import numbers

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

__all__ = [
    "y_ood_from_sklearn",
    "auroc",
    "aupr_in",
    "aupr_out",
    "fpr_at_tpr",
    "fpr_at_80_tpr",
    "fpr_at_95_tpr",
    "detection_accuracy",
    "ood_report",
    "format_ood_report",
]

# Report keys are the function names; the labels are the names the field uses.
_REPORT_LABELS = {
    "auroc": "AUROC",
    "aupr_in": "AUPR-In",
    "aupr_out": "AUPR-Out",
    "fpr_at_80_tpr": "FPR80TPR",
    "fpr_at_95_tpr": "FPR95TPR",
    "detection_accuracy": "DetAcc",
}
_UNITS = ("fraction", "percent")


# ---------------------------------------------------------------------------
# Input validation
# ---------------------------------------------------------------------------


def _as_1d(values, name):
    """Return ``values`` as a 1-D numpy array, or raise a ValueError naming ``name``."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(
            f"{name} must be 1-D, one value per sample; got an array of shape "
            f"{array.shape}. Pass a flat array (e.g. `{name}.ravel()` for a single "
            f"column, or one column at a time for per-layer scores)."
        )
    if array.shape[0] == 0:
        raise ValueError(f"{name} is empty; metrics need at least one ID and one OoD sample.")
    return array


def _check_labels(y_ood):
    """Validate ``y_ood`` (1 = OoD, 0 = ID) and return it as an int array."""
    y = _as_1d(y_ood, "y_ood")
    if y.dtype.kind == "b":
        y = y.astype(np.int64)
    elif y.dtype.kind not in "iuf":
        try:
            y = y.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"y_ood must hold numbers or booleans (1/True = OoD, 0/False = ID); "
                f"got dtype {y.dtype} with values such as {y[:3].tolist()}."
            ) from None
    if y.dtype.kind == "f" and np.isnan(y).any():
        raise ValueError("y_ood contains NaN; every sample needs a label, 1 = OoD, 0 = ID.")
    values = np.unique(y)
    if not np.isin(values, (0, 1)).all():
        if np.isin(values, (-1, 1)).all():
            raise ValueError(
                f"y_ood must be 1 (or True) for OoD and 0 (or False) for ID; got values "
                f"{values.tolist()}, which look like scikit-learn's outlier labels "
                f"(+1 = ID, -1 = OoD). Convert them first: "
                f"y_ood = y_ood_from_sklearn(y)."
            )
        raise ValueError(
            f"y_ood must contain only 1 (or True) for OoD and 0 (or False) for ID; "
            f"got values {values.tolist()}."
        )
    y = y.astype(np.int64)
    n_ood = int(y.sum())
    if n_ood == 0 or n_ood == y.shape[0]:
        present, missing = ("ID (0)", "OoD (1)") if n_ood == 0 else ("OoD (1)", "ID (0)")
        raise ValueError(
            f"y_ood contains only {present} samples; OoD metrics need both classes. "
            f"Add {missing} samples to the evaluation set."
        )
    return y


def _check_scores(scores, name, n_samples):
    """Validate one score array and return it as float64."""
    s = _as_1d(scores, name)
    try:
        s = s.astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must hold real numbers, one score per sample; got dtype {s.dtype}."
        ) from None
    if s.shape[0] != n_samples:
        raise ValueError(
            f"y_ood has {n_samples} samples but {name} has {s.shape[0]}; pass one score "
            f"per labelled sample, in the same order."
        )
    bad = ~np.isfinite(s)
    if bad.any():
        n_nan = int(np.isnan(s).sum())
        n_inf = int(bad.sum()) - n_nan
        raise ValueError(
            f"{name} contains {n_nan} NaN and {n_inf} infinite value(s) (first at index "
            f"{int(np.flatnonzero(bad)[0])}); metrics need finite scores. Remove those "
            f"samples from both y_ood and {name}, or fix the scorer that produced them."
        )
    return s


def _check_inputs(y_ood, ood_score, id_score):
    """Return ``(y_ood, ood_score)`` as validated arrays, whatever score sign was given."""
    if ood_score is None and id_score is None:
        raise ValueError(
            "Pass the scores as exactly one keyword: ood_score= (higher = more OoD, e.g. "
            "PyOD's decision_function) or id_score= (higher = more in-distribution, e.g. "
            "FSSDDetector.score_samples); got neither."
        )
    if ood_score is not None and id_score is not None:
        raise ValueError(
            "Pass the scores as exactly one keyword: ood_score= (higher = more OoD) or "
            "id_score= (higher = more in-distribution); got both. One is the other "
            "with its sign flipped, so keep only one of them."
        )
    y = _check_labels(y_ood)
    if ood_score is not None:
        return y, _check_scores(ood_score, "ood_score", y.shape[0])
    return y, -_check_scores(id_score, "id_score", y.shape[0])


def _check_tpr(tpr):
    """Validate the target true-positive rate (a fraction, not a percent)."""
    if (
        isinstance(tpr, (bool, np.bool_))
        or not isinstance(tpr, numbers.Real)
        or not 0.0 < float(tpr) <= 1.0
    ):
        raise ValueError(
            f"tpr must be a fraction in (0, 1], e.g. tpr=0.95 for FPR at 95 % TPR; "
            f"got {tpr!r}."
        )
    return float(tpr)


def _id_roc(y, ood_score):
    """ROC curve over thresholds on the ID score, ID counted as positive.

    ``fpr[i]`` is the fraction of OoD samples and ``tpr[i]`` the fraction of ID
    samples with ``id_score >= thresholds[i]``; every threshold is kept
    (``drop_intermediate=False``), so no corner of the curve is lost.
    """
    fpr, tpr, _ = roc_curve(1 - y, -ood_score, drop_intermediate=False)
    return fpr, tpr


# ---------------------------------------------------------------------------
# Label conversion
# ---------------------------------------------------------------------------


def y_ood_from_sklearn(y):
    """Convert scikit-learn outlier labels (+1 ID, -1 OoD) to ``y_ood`` (1 OoD, 0 ID).

    scikit-learn's outlier detectors, and :class:`~sklearn_fssd.FSSDDetector`,
    label inliers (in-distribution) ``+1`` and outliers (OoD) ``-1``. The
    metrics of this module take ``y_ood`` with 1 = OoD and 0 = ID instead, the
    convention of PyOD and pytorch-ood; this function maps one to the other.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Labels in ``{+1, -1}``: +1 = inlier/ID, -1 = outlier/OoD.

    Returns
    -------
    y_ood : ndarray of shape (n_samples,), dtype int64
        1 where ``y == -1`` (OoD), 0 where ``y == +1`` (ID).

    Raises
    ------
    ValueError
        If ``y`` holds any value other than -1 and +1 (in particular 0, which
        means the labels are already in the 0/1 convention).

    Examples
    --------
    >>> from sklearn_fssd.metrics import y_ood_from_sklearn
    >>> y_ood_from_sklearn([1, -1, 1, -1])
    array([0, 1, 0, 1])
    """
    y = _as_1d(y, "y")
    if y.dtype.kind not in "iuf":
        raise ValueError(
            f"y must hold the integers +1 (ID) and -1 (OoD); got dtype {y.dtype}."
        )
    values = np.unique(y)
    if not np.isin(values, (-1, 1)).all():
        hint = (
            " Labels in {0, 1} are already in the y_ood convention (1 = OoD, 0 = ID): "
            "pass them to the metrics directly."
            if np.isin(values, (0, 1)).all()
            else ""
        )
        raise ValueError(
            f"y must contain only scikit-learn's outlier labels, +1 (ID) and -1 (OoD); "
            f"got values {values.tolist()}.{hint}"
        )
    return (y == -1).astype(np.int64)


# ---------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------


def auroc(y_ood, *, ood_score=None, id_score=None):
    """Area under the ROC curve of an OoD detector.

    The probability that a random OoD sample scores as more OoD than a random
    ID sample, ties counting one half; computed by
    :func:`sklearn.metrics.roc_auc_score` with OoD as the positive class. The
    value does not depend on which class is called positive, as long as the
    sign of the score is given correctly: 1.0 is a perfect detector, 0.5
    chance, 0.0 a perfect detector with its sign flipped.

    Parameters
    ----------
    y_ood : array-like of shape (n_samples,)
        1 (or True) = OoD, 0 (or False) = in-distribution. Convert
        scikit-learn's +1/-1 labels with :func:`y_ood_from_sklearn`.
    ood_score : array-like of shape (n_samples,), default=None
        Higher = more OoD. Give exactly one of ``ood_score`` and ``id_score``.
    id_score : array-like of shape (n_samples,), default=None
        Higher = more in-distribution (e.g. ``FSSDDetector.score_samples``).

    Returns
    -------
    float
        AUROC as a fraction in [0, 1].

    Raises
    ------
    ValueError
        If both or neither score is given, ``y_ood`` is not 0/1 or holds a
        single class, the lengths differ, or a score is NaN or infinite.

    Examples
    --------
    >>> from sklearn_fssd.metrics import auroc
    >>> y_ood = [0, 0, 1, 1]
    >>> auroc(y_ood, ood_score=[0.1, 0.4, 0.35, 0.8])
    0.75
    >>> auroc(y_ood, id_score=[-0.1, -0.4, -0.35, -0.8])
    0.75
    """
    y, s = _check_inputs(y_ood, ood_score, id_score)
    return float(roc_auc_score(y, s))


def aupr_in(y_ood, *, ood_score=None, id_score=None):
    """Area under the precision-recall curve with in-distribution as positive (AUPR-In).

    Average precision (:func:`sklearn.metrics.average_precision_score`) of
    finding the ID samples when ranked by decreasing ``id_score``. Its chance
    level is the fraction of ID samples, so compare it across data sets only
    at equal ID/OoD ratios.

    Parameters
    ----------
    y_ood : array-like of shape (n_samples,)
        1 (or True) = OoD, 0 (or False) = in-distribution. Convert
        scikit-learn's +1/-1 labels with :func:`y_ood_from_sklearn`.
    ood_score : array-like of shape (n_samples,), default=None
        Higher = more OoD. Give exactly one of ``ood_score`` and ``id_score``.
    id_score : array-like of shape (n_samples,), default=None
        Higher = more in-distribution (e.g. ``FSSDDetector.score_samples``).

    Returns
    -------
    float
        AUPR-In as a fraction in [0, 1].

    Raises
    ------
    ValueError
        On ambiguous or invalid input, as in :func:`auroc`.

    See Also
    --------
    aupr_out : The same with OoD as the positive class.

    Examples
    --------
    >>> from sklearn_fssd.metrics import aupr_in
    >>> aupr_in([0, 0, 1, 1], id_score=[0.9, 0.6, 0.7, 0.2])
    0.8333333333333333
    """
    y, s = _check_inputs(y_ood, ood_score, id_score)
    return float(average_precision_score(1 - y, -s))


def aupr_out(y_ood, *, ood_score=None, id_score=None):
    """Area under the precision-recall curve with OoD as positive (AUPR-Out).

    Average precision (:func:`sklearn.metrics.average_precision_score`) of
    finding the OoD samples when ranked by decreasing ``ood_score``. Its chance
    level is the fraction of OoD samples.

    Parameters
    ----------
    y_ood : array-like of shape (n_samples,)
        1 (or True) = OoD, 0 (or False) = in-distribution. Convert
        scikit-learn's +1/-1 labels with :func:`y_ood_from_sklearn`.
    ood_score : array-like of shape (n_samples,), default=None
        Higher = more OoD. Give exactly one of ``ood_score`` and ``id_score``.
    id_score : array-like of shape (n_samples,), default=None
        Higher = more in-distribution (e.g. ``FSSDDetector.score_samples``).

    Returns
    -------
    float
        AUPR-Out as a fraction in [0, 1].

    Raises
    ------
    ValueError
        On ambiguous or invalid input, as in :func:`auroc`.

    See Also
    --------
    aupr_in : The same with in-distribution as the positive class.

    Examples
    --------
    >>> from sklearn_fssd.metrics import aupr_out
    >>> aupr_out([0, 0, 1, 1], ood_score=[0.1, 0.4, 0.3, 0.8])
    0.8333333333333333
    """
    y, s = _check_inputs(y_ood, ood_score, id_score)
    return float(average_precision_score(y, s))


def fpr_at_tpr(y_ood, *, ood_score=None, id_score=None, tpr=0.95):
    """False-positive rate on OoD samples when a fraction ``tpr`` of ID samples is kept.

    The fraction of OoD samples accepted as in-distribution at the strictest
    threshold that still accepts at least a fraction ``tpr`` of the ID samples:
    the standard FPR at 95 % TPR of OoD detection (Liang et al., 2018, ODIN),
    where the true-positive rate is measured on the ID samples, the ones the
    detector must keep.

    Exactly: with the ROC curve of :func:`sklearn.metrics.roc_curve` built with
    ID as the positive class on ``id_score`` (a sample is accepted when
    ``id_score >= threshold``; every threshold kept,
    ``drop_intermediate=False``), the result is the smallest FPR among the
    points with ``TPR >= tpr``. There is no interpolation between points: with
    tied scores a threshold accepts or rejects a whole tie group, so the TPR
    can jump past the target and the FPR is the one of that threshold.

    Parameters
    ----------
    y_ood : array-like of shape (n_samples,)
        1 (or True) = OoD, 0 (or False) = in-distribution. Convert
        scikit-learn's +1/-1 labels with :func:`y_ood_from_sklearn`.
    ood_score : array-like of shape (n_samples,), default=None
        Higher = more OoD. Give exactly one of ``ood_score`` and ``id_score``.
    id_score : array-like of shape (n_samples,), default=None
        Higher = more in-distribution (e.g. ``FSSDDetector.score_samples``).
    tpr : float, default=0.95
        Target true-positive rate on the ID samples, a fraction in (0, 1]
        (0.95, not 95), compared exactly (``>=``) with the curve's TPR values,
        which are ratios ``k / n_id``.

    Returns
    -------
    float
        The FPR as a fraction in [0, 1]; lower is better.

    Raises
    ------
    ValueError
        If ``tpr`` is not in (0, 1], or on ambiguous or invalid input, as in
        :func:`auroc`.

    See Also
    --------
    fpr_at_95_tpr, fpr_at_80_tpr : The two operating points the field reports.

    Notes
    -----
    Some code bases (Hendrycks et al.'s Outlier Exposure, pytorch-ood) measure
    the TPR on the OoD samples instead: the fraction of ID samples rejected
    when a fraction ``tpr`` of the OoD samples is detected. Swapping the roles
    of the two classes gives that number from this function:
    ``fpr_at_tpr(1 - y_ood, id_score=ood_score, tpr=0.95)``.

    Examples
    --------
    Five ID and three OoD samples; keeping 4 of the 5 ID samples (TPR 0.8)
    needs the threshold 0.6, which also accepts the OoD sample at 0.65:

    >>> from sklearn_fssd.metrics import fpr_at_tpr
    >>> y_ood = [0, 0, 0, 0, 0, 1, 1, 1]
    >>> id_score = [0.9, 0.8, 0.7, 0.6, 0.5, 0.65, 0.4, 0.3]
    >>> round(fpr_at_tpr(y_ood, id_score=id_score, tpr=0.8), 4)
    0.3333
    >>> fpr_at_tpr(y_ood, id_score=id_score, tpr=0.6)
    0.0
    """
    tpr = _check_tpr(tpr)
    y, s = _check_inputs(y_ood, ood_score, id_score)
    fprs, tprs = _id_roc(y, s)
    # tprs and fprs are non-decreasing and tprs[-1] == 1, so the first point
    # reaching the target exists and has the smallest FPR among those that do.
    return float(fprs[np.argmax(tprs >= tpr)])


def fpr_at_95_tpr(y_ood, *, ood_score=None, id_score=None):
    """FPR on OoD samples when 95 % of ID samples are kept (FPR95TPR).

    Shorthand for ``fpr_at_tpr(y_ood, ..., tpr=0.95)``; see :func:`fpr_at_tpr`
    for the exact definition, the handling of ties and the other convention.

    Parameters
    ----------
    y_ood : array-like of shape (n_samples,)
        1 (or True) = OoD, 0 (or False) = in-distribution. Convert
        scikit-learn's +1/-1 labels with :func:`y_ood_from_sklearn`.
    ood_score : array-like of shape (n_samples,), default=None
        Higher = more OoD. Give exactly one of ``ood_score`` and ``id_score``.
    id_score : array-like of shape (n_samples,), default=None
        Higher = more in-distribution (e.g. ``FSSDDetector.score_samples``).

    Returns
    -------
    float
        The FPR as a fraction in [0, 1]; lower is better.

    Examples
    --------
    >>> from sklearn_fssd.metrics import fpr_at_95_tpr
    >>> fpr_at_95_tpr([0, 0, 1, 1], id_score=[0.9, 0.8, 0.1, 0.2])
    0.0
    """
    return fpr_at_tpr(y_ood, ood_score=ood_score, id_score=id_score, tpr=0.95)


def fpr_at_80_tpr(y_ood, *, ood_score=None, id_score=None):
    """FPR on OoD samples when 80 % of ID samples are kept (FPR80TPR).

    Shorthand for ``fpr_at_tpr(y_ood, ..., tpr=0.8)``, the operating point the
    FSSD paper reports; see :func:`fpr_at_tpr` for the exact definition.

    Parameters
    ----------
    y_ood : array-like of shape (n_samples,)
        1 (or True) = OoD, 0 (or False) = in-distribution. Convert
        scikit-learn's +1/-1 labels with :func:`y_ood_from_sklearn`.
    ood_score : array-like of shape (n_samples,), default=None
        Higher = more OoD. Give exactly one of ``ood_score`` and ``id_score``.
    id_score : array-like of shape (n_samples,), default=None
        Higher = more in-distribution (e.g. ``FSSDDetector.score_samples``).

    Returns
    -------
    float
        The FPR as a fraction in [0, 1]; lower is better.

    Examples
    --------
    >>> from sklearn_fssd.metrics import fpr_at_80_tpr
    >>> y_ood = [0, 0, 0, 0, 0, 1, 1, 1]
    >>> id_score = [0.9, 0.8, 0.7, 0.6, 0.5, 0.65, 0.4, 0.3]
    >>> round(fpr_at_80_tpr(y_ood, id_score=id_score), 4)
    0.3333
    """
    return fpr_at_tpr(y_ood, ood_score=ood_score, id_score=id_score, tpr=0.8)


def detection_accuracy(y_ood, *, ood_score=None, id_score=None):
    """Best balanced accuracy of a single threshold on the score.

    The detection accuracy of Liang et al. (2018, ODIN) and Lee et al. (2018,
    Mahalanobis)::

        1 - min over t of { 0.5 * P_in(id_score <= t) + 0.5 * P_out(id_score > t) }

    where ``P_in`` is taken over the ID samples and ``P_out`` over the OoD
    samples: the error of the detector that accepts as ID the samples with
    ``id_score > t``, with ID and OoD weighted equally whatever their counts,
    minimised over every threshold ``t`` (accept all and reject all included,
    so the result is at least 0.5). Equivalently ``max_t 0.5 * (TPR_in(t) +
    TNR_out(t))``, which is how it is computed, over the points of
    :func:`sklearn.metrics.roc_curve` (ID positive, ``id_score``): those
    points are exactly the distinct ways one threshold can split the samples.

    Parameters
    ----------
    y_ood : array-like of shape (n_samples,)
        1 (or True) = OoD, 0 (or False) = in-distribution. Convert
        scikit-learn's +1/-1 labels with :func:`y_ood_from_sklearn`.
    ood_score : array-like of shape (n_samples,), default=None
        Higher = more OoD. Give exactly one of ``ood_score`` and ``id_score``.
    id_score : array-like of shape (n_samples,), default=None
        Higher = more in-distribution (e.g. ``FSSDDetector.score_samples``).

    Returns
    -------
    float
        Detection accuracy as a fraction in [0.5, 1].

    Raises
    ------
    ValueError
        On ambiguous or invalid input, as in :func:`auroc`.

    Examples
    --------
    Accepting the samples with ``id_score >= 0.5`` keeps all 5 ID samples and
    one of the 3 OoD samples: error 0.5 * 0 + 0.5 * 1/3, accuracy 5/6.

    >>> from sklearn_fssd.metrics import detection_accuracy
    >>> y_ood = [0, 0, 0, 0, 0, 1, 1, 1]
    >>> id_score = [0.9, 0.8, 0.7, 0.6, 0.5, 0.65, 0.4, 0.3]
    >>> round(detection_accuracy(y_ood, id_score=id_score), 4)
    0.8333
    """
    y, s = _check_inputs(y_ood, ood_score, id_score)
    fprs, tprs = _id_roc(y, s)
    return float(np.max(0.5 * (tprs + (1.0 - fprs))))


# ---------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------


def ood_report(y_ood, *, ood_score=None, id_score=None, unit="fraction"):
    """All OoD metrics of one detector in one dict.

    Parameters
    ----------
    y_ood : array-like of shape (n_samples,)
        1 (or True) = OoD, 0 (or False) = in-distribution. Convert
        scikit-learn's +1/-1 labels with :func:`y_ood_from_sklearn`.
    ood_score : array-like of shape (n_samples,), default=None
        Higher = more OoD. Give exactly one of ``ood_score`` and ``id_score``.
    id_score : array-like of shape (n_samples,), default=None
        Higher = more in-distribution (e.g. ``FSSDDetector.score_samples``).
    unit : {"fraction", "percent"}, default="fraction"
        ``"fraction"`` gives every metric in [0, 1], ``"percent"`` in [0, 100]
        (the metric times 100, as papers print them).

    Returns
    -------
    report : dict
        Keys are the names of this module's functions, in this order:
        ``"auroc"``, ``"aupr_in"``, ``"aupr_out"``, ``"fpr_at_80_tpr"``,
        ``"fpr_at_95_tpr"``, ``"detection_accuracy"`` (floats, in ``unit``);
        then ``"n_id"`` and ``"n_ood"`` (int, the sample counts) and
        ``"unit"`` (the ``unit`` argument, so a saved report says which it
        is). Render it with :func:`format_ood_report`.

    Raises
    ------
    ValueError
        If ``unit`` is not one of the two choices, or on ambiguous or invalid
        input, as in :func:`auroc`.

    Examples
    --------
    >>> from sklearn_fssd.metrics import ood_report
    >>> y_ood = [0, 0, 0, 0, 0, 1, 1, 1]
    >>> id_score = [0.9, 0.8, 0.7, 0.6, 0.5, 0.65, 0.4, 0.3]
    >>> report = ood_report(y_ood, id_score=id_score, unit="percent")
    >>> {key: round(value, 2) for key, value in report.items() if key != "unit"}
    ... # doctest: +NORMALIZE_WHITESPACE
    {'auroc': 86.67, 'aupr_in': 92.67, 'aupr_out': 86.67, 'fpr_at_80_tpr': 33.33,
     'fpr_at_95_tpr': 33.33, 'detection_accuracy': 83.33, 'n_id': 5, 'n_ood': 3}
    >>> report["unit"]
    'percent'
    """
    if unit not in _UNITS:
        raise ValueError(f"unit must be one of {list(_UNITS)}; got {unit!r}.")
    # Validate once; every metric below then sees ood_score, already checked.
    y, s = _check_inputs(y_ood, ood_score, id_score)
    values = {
        "auroc": auroc(y, ood_score=s),
        "aupr_in": aupr_in(y, ood_score=s),
        "aupr_out": aupr_out(y, ood_score=s),
        "fpr_at_80_tpr": fpr_at_80_tpr(y, ood_score=s),
        "fpr_at_95_tpr": fpr_at_95_tpr(y, ood_score=s),
        "detection_accuracy": detection_accuracy(y, ood_score=s),
    }
    scale = 100.0 if unit == "percent" else 1.0
    report = {key: value * scale for key, value in values.items()}
    report["n_id"] = int((y == 0).sum())
    report["n_ood"] = int(y.sum())
    report["unit"] = unit
    return report


def format_ood_report(report, *, digits=None):
    """Render one or several :func:`ood_report` dicts as a Markdown table.

    Parameters
    ----------
    report : dict
        Either one dict returned by :func:`ood_report`, or a dict mapping
        method names to such dicts (one row each, all in the same unit).
    digits : int, default=None
        Decimals shown; ``None`` gives 2 for percent and 4 for fractions.

    Returns
    -------
    table : str
        A Markdown pipe table, readable as plain text. The header names the
        unit; ``FPR80TPR`` and ``FPR95TPR`` are better when lower, the other
        metrics when higher.

    Raises
    ------
    ValueError
        If a dict is not an :func:`ood_report` output or the units differ.

    Examples
    --------
    >>> from sklearn_fssd.metrics import format_ood_report, ood_report
    >>> y_ood = [0, 0, 0, 0, 0, 1, 1, 1]
    >>> id_score = [0.9, 0.8, 0.7, 0.6, 0.5, 0.65, 0.4, 0.3]
    >>> reports = {
    ...     "good": ood_report(y_ood, id_score=id_score, unit="percent"),
    ...     "flipped": ood_report(y_ood, ood_score=id_score, unit="percent"),
    ... }
    >>> print(format_ood_report(reports))
    | method (%) | AUROC | AUPR-In | AUPR-Out | FPR80TPR | FPR95TPR | DetAcc |
    |---|---|---|---|---|---|---|
    | good | 86.67 | 92.67 | 86.67 | 33.33 | 33.33 | 83.33 |
    | flipped | 13.33 | 50.60 | 30.36 | 100.00 | 100.00 | 50.00 |
    """
    if not isinstance(report, dict):
        raise ValueError(
            f"report must be a dict from ood_report, or a dict of them keyed by method "
            f"name; got {type(report).__name__}."
        )
    rows = report if report and all(isinstance(v, dict) for v in report.values()) else {
        "": report
    }
    units = set()
    for name, row in rows.items():
        missing = [key for key in (*_REPORT_LABELS, "unit") if key not in row]
        if missing:
            label = f"report {name!r}" if name else "report"
            raise ValueError(
                f"{label} lacks the keys {missing}; build it with ood_report(y_ood, "
                f"ood_score=... or id_score=...)."
            )
        units.add(row["unit"])
    if len(units) > 1:
        raise ValueError(
            f"reports mix units {sorted(units)}; compute them all with the same "
            f"ood_report(..., unit=...)."
        )
    unit = units.pop()
    if digits is None:
        digits = 2 if unit == "percent" else 4
    header = "method (%)" if unit == "percent" else "method (fraction)"
    lines = [
        "| " + " | ".join([header, *_REPORT_LABELS.values()]) + " |",
        "|" + "---|" * (len(_REPORT_LABELS) + 1),
    ]
    for name, row in rows.items():
        cells = [f"{float(row[key]):.{digits}f}" for key in _REPORT_LABELS]
        lines.append("| " + " | ".join([str(name), *cells]) + " |")
    return "\n".join(lines)
