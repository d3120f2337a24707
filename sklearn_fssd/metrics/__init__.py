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

The package: ``curves.py`` the metrics read off the ROC and precision-recall
curves (and the label conversion), ``report.py`` the report of all of them,
``_checks.py`` the one validation of labels and scores they share.
"""

from .curves import (
    aupr_in,
    aupr_out,
    auroc,
    detection_accuracy,
    fpr_at_80_tpr,
    fpr_at_95_tpr,
    fpr_at_tpr,
    y_ood_from_sklearn,
)
from .report import format_ood_report, ood_report
from . import curves, report

__all__ = [*curves.__all__, *report.__all__]
