"""
The PyOD face: FSSD next to PyOD's detectors on a table
=======================================================

:class:`sklearn_fssd.pyod.FSSD` is the same detector with PyOD's
conventions: ``decision_function`` higher = *more abnormal*, labels 0
(inlier) / 1 (outlier), and ``decision_scores_``, ``threshold_`` and
``labels_`` set by ``fit`` on the training data. With no network given it
trains a small network on ``X`` itself (an MLP that tells the rows of ``X``
from noise and shuffled rows), so plain tables need no labels.
It drops into a PyOD benchmark loop beside IForest, LOF or ECOD.

Any detector of the package becomes a PyOD detector with
:func:`sklearn_fssd.pyod.as_pyod`.
"""

# %%
# A table with a few outliers
# ---------------------------
# Breast cancer measurements: benign tumours are the inliers, a small sample
# of malignant ones the outliers (about 7 % of the rows), split in a training
# part (unlabelled for the detectors) and a test part.
import matplotlib.pyplot as plt
import numpy as np
from pyod.models.ecod import ECOD
from pyod.models.iforest import IForest
from pyod.models.lof import LOF
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import RocCurveDisplay, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sklearn_fssd import FSSDDetector
from sklearn_fssd.pyod import FSSD, as_pyod

X, target = load_breast_cancer(return_X_y=True)
rng = np.random.RandomState(0)
benign = np.flatnonzero(target == 1)
malignant = rng.choice(np.flatnonzero(target == 0), size=25, replace=False)
rows = np.r_[benign, malignant]
X, y = X[rows], (target[rows] == 0).astype(int)  # PyOD: 1 = outlier
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.4, stratify=y, random_state=0
)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
contamination = y_train.mean()
print(f"{len(X_train)} training rows, {contamination:.1%} outliers")

# %%
# Fit and read PyOD's attributes
# ------------------------------
clf = FSSD(contamination=contamination, random_state=0).fit(X_train)
print("decision_scores_:", clf.decision_scores_.shape)
print("threshold_:", round(clf.threshold_, 3))
print("training rows labelled 1:", int(clf.labels_.sum()))
print("predict:", clf.predict(X_test[:8]), " truth:", y_test[:8])
print("predict_proba[:3]:\n", clf.predict_proba(X_test[:3]).round(3))

# %%
# The same through ``as_pyod``: any detector of the package, wrapped.
wrapped = as_pyod(FSSDDetector(random_state=0), contamination=contamination)
wrapped.fit(X_train)
same = np.allclose(wrapped.decision_function(X_test),
                   clf.decision_function(X_test))
print("same scores:", same)

# %%
# Side by side with PyOD's detectors
# ----------------------------------
# Every detector is fitted on the same unlabelled training rows;
# ``decision_function`` (higher = more abnormal) is ranked against the test
# labels.
detectors = {
    "FSSD": clf,
    "IForest": IForest(contamination=contamination, random_state=0),
    "LOF": LOF(contamination=contamination),
    "ECOD": ECOD(contamination=contamination),
}
fig, ax = plt.subplots(figsize=(5, 5))
for name, det in detectors.items():
    if det is not clf:
        det.fit(X_train)
    scores = det.decision_function(X_test)
    print(f"{name:8s} ROC-AUC {roc_auc_score(y_test, scores):.3f}")
    RocCurveDisplay.from_predictions(y_test, scores, name=name, ax=ax)
ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls=":")
ax.set_title("Malignant among benign tumours (test part)")
fig.tight_layout()
plt.show()

# %%
# FSSD's premise, that unfamiliar inputs stay near the singularity, is about
# networks trained on structured data such as images. On tables it is one
# detector among many: on the 17 ODDS tables it ranks behind IsolationForest
# and most classical detectors (see :doc:`/benchmark_results/odds`).
