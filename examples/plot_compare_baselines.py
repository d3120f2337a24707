"""
FSSD against the paper's baselines, side by side
================================================

Every detector of the package shares one contract (``score_samples``
higher = more in-distribution, ``predict`` in {+1, -1}, the user's network
never changed), so comparing them is one loop. Here: FSSD and the
paper's comparison methods, maximum softmax probability (MSP, the paper's
"Base"), ODIN, Mahalanobis, Deep Ensemble and MC Dropout, plus Energy, all
on a LeNet trained on scikit-learn's digits and fitted on the training
digits only (no OoD data).

The paper's own table (Fashion-MNIST vs MNIST, full-size LeNet) is
reproduced by ``python -m benchmarks fmnist-mnist``; this is the
seconds-long version of the same loop.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from sklearn_fssd import (
    DeepEnsembleDetector,
    EnergyDetector,
    FSSDDetector,
    MahalanobisDetector,
    MCDropoutDetector,
    MSPDetector,
    ODINDetector,
)
from sklearn_fssd.metrics import format_ood_report, ood_report
from sklearn_fssd.models import LeNet
from sklearn_fssd.singularity import shuffle_within_rows
from sklearn_fssd.training import train_deep_ensemble

digits = load_digits()
X = (digits.images / 16.0).astype(np.float32)[:, None]
y = digits.target
rng = np.random.RandomState(0)
order = rng.permutation(len(X))
X, y = X[order], y[order]
X_train, y_train, X_test = X[:1000], y[:1000], X[1000:1300]

# %%
# Networks: three LeNets trained independently (a small Deep Ensemble); the
# first one is "the" network of the other detectors. ``train_deep_ensemble``
# seeds network ``i`` with ``random_state + i``.
nets = train_deep_ensemble(
    LeNet, X_train, y_train, n_networks=3, max_epochs=5, lr=1e-3,
    module__input_size=8, random_state=0,
)
net = nets[0]
accuracy = (net.predict(X_test) == y[1000:1300]).mean()
print(f"test accuracy of the first network: {accuracy:.3f}")

detectors = {
    "FSSD": FSSDDetector(net, random_state=0),
    "MSP (Base)": MSPDetector(net),
    "ODIN": ODINDetector(net, temperature=1000.0, epsilon=0.0014),
    "Energy": EnergyDetector(net),
    "Mahalanobis": MahalanobisDetector(net),
    "Deep Ensemble (3)": DeepEnsembleDetector(nets),
    "MC Dropout": MCDropoutDetector(net, n_passes=8, random_state=0),
}
for name, det in detectors.items():
    if name == "Mahalanobis":
        det.fit(X_train, class_labels=y_train)  # the class of each ID row
    else:
        det.fit(X_train)

# %%
# Scores against three kinds of OoD inputs
# ----------------------------------------
# :func:`~sklearn_fssd.metrics.ood_report` computes the metrics the field
# reports (AUROC, AUPR-In/Out, FPR at 80/95 % TPR, detection accuracy); the
# sign is named in the argument: ``id_score=`` here.
ood = {
    "uniform noise": rng.uniform(size=(300, 1, 8, 8)).astype(np.float32),
    "shuffled pixels": shuffle_within_rows(X_test, rng),
    "inverted digits": 1.0 - X_test,
}
reports = {kind: {} for kind in ood}
for name, det in detectors.items():
    id_score = det.score_samples(X_test)
    for kind, X_ood in ood.items():
        y_ood = np.r_[np.zeros(len(X_test)), np.ones(len(X_ood))]
        score = np.r_[id_score, det.score_samples(X_ood)]
        reports[kind][name] = ood_report(
            y_ood, id_score=score, unit="percent"
        )

for kind, table in reports.items():
    print(f"\n{kind}\n" + format_ood_report(table, digits=1))

# %%
# AUROC at a glance
# -----------------
names = list(detectors)
width = 0.8 / len(ood)
fig, ax = plt.subplots(figsize=(9, 4))
for i, kind in enumerate(ood):
    values = [reports[kind][name]["auroc"] for name in names]
    positions = np.arange(len(names)) + (i - 1) * width
    ax.bar(positions, values, width, label=kind)
ax.axhline(50, color="grey", lw=0.8, ls=":")
ax.set_xticks(np.arange(len(names)), names, rotation=20)
ax.set_ylabel("AUROC (%)")
ax.set_ylim(0, 100)
ax.legend(fontsize=8, loc="lower right")
ax.set_title("Digits (ID) against OoD inputs, fitted without OoD data")
fig.tight_layout()
plt.show()

# %%
# Reading the results
# -------------------
# Softmax-based scores (MSP, ODIN, Energy, Deep Ensemble, MC Dropout) read
# only the logits; FSSD and Mahalanobis read the hidden layers too. Two
# caveats before ranking anything:
#
# * Fitted without OoD data, no detector here has seen an OoD input: FSSD
#   compares each input's layer scores with those of the training digits of
#   the classes the network predicts for it, weighted by its softmax;
#   Mahalanobis its features with the class Gaussians.
# * One small setting ranks nothing. The paper's comparison (Fashion-MNIST
#   vs MNIST) is ``python -m benchmarks fmnist-mnist``, and the tables on
#   the :doc:`benchmark pages </benchmarks>` come from such runs.
#
# With labelled validation data every detector is tuned the same way, with
# ``GridSearchCV`` over its parameters (see
# :ref:`sphx_glr_auto_examples_plot_grid_search_epsilon.py`).
