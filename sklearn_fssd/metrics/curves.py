"""The OoD metrics read off the ROC and precision-recall curves, and the label conversion."""

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from ._checks import _as_1d, _check_inputs, _check_tpr, _id_roc, _shared_docs

__all__ = [
    "y_ood_from_sklearn",
    "auroc",
    "aupr_in",
    "aupr_out",
    "fpr_at_tpr",
    "fpr_at_80_tpr",
    "fpr_at_95_tpr",
    "detection_accuracy",
]


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


@_shared_docs
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
    {score_params}

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


@_shared_docs
def aupr_in(y_ood, *, ood_score=None, id_score=None):
    """Area under the precision-recall curve with in-distribution as positive (AUPR-In).

    Average precision (:func:`sklearn.metrics.average_precision_score`) of
    finding the ID samples when ranked by decreasing ``id_score``. Its chance
    level is the fraction of ID samples, so compare it across data sets only
    at equal ID/OoD ratios.

    Parameters
    ----------
    {score_params}

    Returns
    -------
    float
        AUPR-In as a fraction in [0, 1].

    {raises}

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


@_shared_docs
def aupr_out(y_ood, *, ood_score=None, id_score=None):
    """Area under the precision-recall curve with OoD as positive (AUPR-Out).

    Average precision (:func:`sklearn.metrics.average_precision_score`) of
    finding the OoD samples when ranked by decreasing ``ood_score``. Its chance
    level is the fraction of OoD samples.

    Parameters
    ----------
    {score_params}

    Returns
    -------
    float
        AUPR-Out as a fraction in [0, 1].

    {raises}

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


@_shared_docs
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
    {score_params}
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


@_shared_docs
def fpr_at_95_tpr(y_ood, *, ood_score=None, id_score=None):
    """FPR on OoD samples when 95 % of ID samples are kept (FPR95TPR).

    Shorthand for ``fpr_at_tpr(y_ood, ..., tpr=0.95)``; see :func:`fpr_at_tpr`
    for the exact definition, the handling of ties and the other convention.

    Parameters
    ----------
    {score_params}

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


@_shared_docs
def fpr_at_80_tpr(y_ood, *, ood_score=None, id_score=None):
    """FPR on OoD samples when 80 % of ID samples are kept (FPR80TPR).

    Shorthand for ``fpr_at_tpr(y_ood, ..., tpr=0.8)``, the operating point the
    FSSD paper reports; see :func:`fpr_at_tpr` for the exact definition.

    Parameters
    ----------
    {score_params}

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


@_shared_docs
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
    {score_params}

    Returns
    -------
    float
        Detection accuracy as a fraction in [0.5, 1].

    {raises}

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
