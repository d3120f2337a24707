"""The one validation of labels and scores of every metric, and their shared docstring parts."""

import numbers

import numpy as np
from sklearn.metrics import roc_curve

def _shared_docs(func):
    """Fill in the parameter (and Raises) entries every metric shares, written once here."""
    func.__doc__ = func.__doc__.replace("{score_params}", _SCORE_PARAMS.strip()).replace(
        "{raises}", _RAISES.strip()
    )
    return func


_SCORE_PARAMS = """
    y_ood : array-like of shape (n_samples,)
        1 (or True) = OoD, 0 (or False) = in-distribution. Convert
        scikit-learn's +1/-1 labels with :func:`y_ood_from_sklearn`.
    ood_score : array-like of shape (n_samples,), default=None
        Higher = more OoD. Give exactly one of ``ood_score`` and ``id_score``.
    id_score : array-like of shape (n_samples,), default=None
        Higher = more in-distribution (e.g. ``FSSDDetector.score_samples``).
"""

_RAISES = """
    Raises
    ------
    ValueError
        On ambiguous or invalid input, as in :func:`auroc`.
"""


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
