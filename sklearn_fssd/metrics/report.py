"""All the OoD metrics of one detector in one report, and reports as a Markdown table."""

from ._checks import _check_inputs, _shared_docs
from .curves import aupr_in, aupr_out, auroc, detection_accuracy, fpr_at_80_tpr, fpr_at_95_tpr

__all__ = ["ood_report", "format_ood_report"]

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


@_shared_docs
def ood_report(y_ood, *, ood_score=None, id_score=None, unit="fraction"):
    """All OoD metrics of one detector in one dict.

    Parameters
    ----------
    {score_params}
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
