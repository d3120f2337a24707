"""
Quickstart: an out-of-distribution gate for a digits classifier
===============================================================

Train a small LeNet on scikit-learn's 8x8 digits through skorch, then fit
:class:`~sklearn_fssd.FSSDDetector` on the training digits alone: no
out-of-distribution (OoD) data is needed. The detector scores new inputs,
higher = more in-distribution (scikit-learn's sign), and ``predict`` returns
+1 (in-distribution) or -1 (OoD).
"""

# %%
# Data and network
# ----------------
# Pixels scaled to ``[0, 1]``, images shaped ``(N, C, H, W)``. Any trained
# ``torch.nn.Module`` or fitted skorch net would do; ``train_lenet`` is the
# paper's LeNet recipe in one call.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from sklearn_fssd import FSSDDetector
from sklearn_fssd.metrics import auroc
from sklearn_fssd.singularity import shuffle_within_rows
from sklearn_fssd.training import train_lenet

digits = load_digits()
X = (digits.images / 16.0).astype(np.float32)[:, None]  # (1797, 1, 8, 8)
y = digits.target
rng = np.random.RandomState(0)
order = rng.permutation(len(X))
X, y = X[order], y[order]
X_train, y_train, X_test, y_test = X[:1000], y[:1000], X[1000:], y[1000:]

net = train_lenet(X_train, y_train, max_epochs=6, random_state=0)
print(f"test accuracy: {(net.predict(X_test) == y_test).mean():.3f}")

# %%
# Inputs the network never saw
# ----------------------------
# Three kinds of OoD inputs, each shaped like a digit: uniform noise, digits
# with their pixels shuffled (same pixel statistics, no shape) and inverted
# digits (white background).
ood = {
    "uniform noise": rng.uniform(size=(300, 1, 8, 8)).astype(np.float32),
    "shuffled pixels": shuffle_within_rows(X_test[:300], rng),
    "inverted digits": 1.0 - X_test[:300],
}

fig, axes = plt.subplots(1, 4, figsize=(8, 2.3))
for ax, (title, images) in zip(axes, [("digit", X_test), *ood.items()]):
    ax.imshow(images[0, 0], cmap="gray_r", vmin=0, vmax=1)
    ax.set_title(title, fontsize=9)
    ax.set_axis_off()
fig.tight_layout()

# %%
# Fit on in-distribution data only
# --------------------------------
# ``fit(X_train)`` computes the Feature Space Singularity ``F*`` of each
# layer from uniform noise, and combines the layers without any OoD data:
# an input scores by how typical its vector of layer scores is of the
# training digits of the classes the network predicts for it, each weighted
# by the network's probability (``combine_ == "class_typical"``).
det = FSSDDetector(net, layers="auto", epsilon=0.0, random_state=0)
det.fit(X_train)
print("layers:", det.layers_)
print("layer_scores shape:", det.layer_scores(X_test).shape)

id_score = det.score_samples(X_test)
for kind, X_ood in ood.items():
    ood_score = det.score_samples(X_ood)
    y_ood = np.r_[np.zeros(len(id_score)), np.ones(len(ood_score))]
    auc = auroc(y_ood, id_score=np.r_[id_score, ood_score])
    flagged = np.mean(det.predict(X_ood) == -1)
    print(f"{kind:16s} AUROC {auc:.3f}, flagged {flagged:.0%}")
print(f"test digits kept: {np.mean(det.predict(X_test) == 1):.0%}")

# %%
# The scores, side by side
# ------------------------
# ``decision_function = score_samples - offset_``: the dashed line at
# ``offset_`` is where ``predict`` switches from +1 to -1.
fig, ax = plt.subplots(figsize=(7, 3.5))
ood_scores = {kind: det.score_samples(X_ood) for kind, X_ood in ood.items()}
low = min(s.min() for s in [id_score, *ood_scores.values()])
bins = np.linspace(low, id_score.max(), 50)
ax.hist(id_score, bins=bins, alpha=0.6, label="test digits (ID)")
for kind, scores in ood_scores.items():
    ax.hist(scores, bins=bins, alpha=0.5, label=kind)
ax.axvline(det.offset_, color="k", ls="--", lw=1, label="offset_")
ax.set_xlabel("score_samples (higher = more in-distribution)")
ax.set_ylabel("count")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
