"""Pieces the OoD-detection benchmarks (fmnist_mnist, genome) share: the tuning and the metrics."""

import numpy as np


def search(estimator, grid, X_val, y_val, *, cv, seed, n_jobs=None, **fit_params):
    """Tune ``estimator`` over ``grid`` on labelled validation data (+1 ID, -1 OoD).

    ``GridSearchCV`` with stratified, shuffled ``cv``-fold splits and ROC-AUC, refitted on all of
    the validation data; ``n_jobs`` worker processes (joblib gives each one torch thread).
    Returns the best estimator and its parameters (floats as plain floats).
    """
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    folds = StratifiedKFold(cv, shuffle=True, random_state=seed)
    found = GridSearchCV(estimator, grid, scoring="roc_auc", cv=folds, refit=True,
                         n_jobs=n_jobs)
    found.fit(X_val, y_val, **fit_params)
    params = {k: (float(v) if isinstance(v, (float, np.floating)) else v)
              for k, v in found.best_params_.items()}
    return found.best_estimator_, params


def report(id_scores, ood_scores):
    """The paper's metrics in %, in-distribution as the positive class."""
    from sklearn_fssd.metrics import ood_report

    y_ood = np.r_[np.zeros(len(id_scores), int), np.ones(len(ood_scores), int)]
    rep = ood_report(y_ood, id_score=np.r_[id_scores, ood_scores], unit="percent")
    return {k: v for k, v in rep.items() if k != "unit"}


def fmt(value, digits=1):
    """A number for a Markdown table; blank for None."""
    return "" if value is None else f"{value:.{digits}f}"


def command(name, argv):
    """The command line that reproduces a run: ``python -m benchmarks <name>`` and its options.

    ``--out`` and ``--cache`` (machine-specific folders) are left out.
    """
    words, skip = [], False
    for word in argv:
        if skip:
            skip = False
        elif word in ("--out", "--cache"):
            skip = True
        elif not word.startswith(("--out=", "--cache=")):
            words.append(word)
    return " ".join(["python -m benchmarks", name, *words])
