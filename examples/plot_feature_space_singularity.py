"""
The Feature Space Singularity, seen
===================================

The picture behind FSSD (Huang et al., *Feature Space Singularity for
Out-of-Distribution Detection*): training moves the features of
in-distribution inputs away from where every feature started, while inputs
unlike the training data barely move. They stay near one point, the Feature
Space Singularity ``F*``, which the mean features of uniform noise locate.

This example watches it happen on a LeNet trained on scikit-learn's 8x8
digits: the distance ``FSSD_k(x) = ||F_k(x) - F*_k||`` of each kind of input,
epoch by epoch, and where the features lie after training.
"""

# %%
# Data: digits in-distribution, three kinds of OoD inputs
# -------------------------------------------------------
import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA

from sklearn_fssd import FSSDDetector
from sklearn_fssd.features import FeatureTap
from sklearn_fssd.models import LeNet
from sklearn_fssd.singularity import shuffle_within_rows
from sklearn_fssd.training import train_lenet

digits = load_digits()
X = (digits.images / 16.0).astype(np.float32)[:, None]
y = digits.target
rng = np.random.RandomState(0)
order = rng.permutation(len(X))
X, y = X[order], y[order]
X_train, y_train, X_test = X[:1000], y[:1000], X[1000:1300]
inputs = {
    "digits (ID)": X_test,
    "uniform noise": rng.uniform(size=(300, 1, 8, 8)).astype(np.float32),
    "shuffled pixels": shuffle_within_rows(X_test, rng),
    "inverted digits": 1.0 - X_test,
}

# %%
# FSSD of each layer, epoch by epoch
# ----------------------------------
# A detector fitted after each epoch holds a frozen copy of the network at
# that point, with its own ``F*``. Epoch 0 is the untrained LeNet. The median
# of ``layer_scores`` (the raw ``FSSD_k``) per kind of input:
torch.manual_seed(0)


def snapshot(network):
    """A detector holding a frozen copy of the network as it is now."""
    # combine="mean": only the raw layer scores are read here; the
    # paper's four layers, one panel each (LeNet's default also taps the
    # ReLUs and the pooling)
    det = FSSDDetector(network, layers=LeNet.paper_layers, combine="mean",
                       random_state=0)
    return det.fit(X_train)


snapshots = [snapshot(LeNet(input_size=8))]
net = train_lenet(X_train, y_train, max_epochs=1, random_state=0)
snapshots.append(snapshot(net))
for epoch in range(2, 7):
    net.partial_fit(X_train, y_train)  # one more epoch
    snapshots.append(snapshot(net))

layers = snapshots[-1].layers_
medians = {
    kind: np.array(
        [np.median(det.layer_scores(data), axis=0) for det in snapshots]
    )
    for kind, data in inputs.items()
}

fig, axes = plt.subplots(2, 2, figsize=(8, 6), sharex=True)
for k, (ax, layer) in enumerate(zip(axes.flat, layers)):
    for kind, values in medians.items():
        ax.plot(values[:, k], marker="o", ms=3, label=kind)
    ax.set_title(f"layer {layer}")
    ax.set_ylabel("median FSSD_k")
for ax in axes[1]:
    ax.set_xlabel("training epoch")
axes[0, 0].legend(fontsize=8)
fig.suptitle("Training moves the digits away from F*; OoD inputs lag")
fig.tight_layout()

# %%
# In the late layers (``fc1``, ``fc2``) the digits move far from ``F*``
# while noise, shuffled and inverted digits stay much closer: that gap is
# the FSSD score. The early convolutions tell another story: shuffled pixels
# move *as far as* the digits there, because those layers respond to local
# strokes, not to shapes. Which layers to trust is therefore learned (see
# :ref:`sphx_glr_auto_examples_plot_layer_histograms.py`).
#
# Where the features lie
# ----------------------
# Left: the ``fc1`` features of the trained network, projected on their
# first two principal components, with ``F*`` (the mean ``fc1`` features of
# 100 uniform-noise images, ``det.singularities_``) marked by a star. Right:
# the distance to the star in the full 128-dimensional feature space, which
# is ``FSSD_fc1``, the layer's score.
det = snapshots[-1]
k = det.layers_.index("fc1")
tap = FeatureTap(det.model_, ["fc1"])
with torch.no_grad():
    features = {
        kind: tap(torch.as_tensor(data))[0].numpy()
        for kind, data in inputs.items()
    }
centre = det.singularities_[k].numpy()[None]

pca = PCA(n_components=2).fit(np.vstack([*features.values(), centre]))
distances = {
    kind: np.linalg.norm(feats - centre, axis=1)
    for kind, feats in features.items()
}
bins = np.linspace(0, max(d.max() for d in distances.values()), 50)
fig, (ax, ax_hist) = plt.subplots(1, 2, figsize=(11, 4.5))
for kind, feats in features.items():
    xy = pca.transform(feats)
    ax.scatter(xy[:, 0], xy[:, 1], s=6, alpha=0.5, label=kind)
    ax_hist.hist(distances[kind], bins=bins, alpha=0.5, label=kind)
star = pca.transform(centre)
ax.scatter(star[:, 0], star[:, 1], marker="*", s=300, c="k",
           edgecolors="w", label="F* (fc1)")
ax.set_xlabel("principal component 1")
ax.set_ylabel("principal component 2")
ax.set_title("fc1 features of the trained LeNet")
legend = ax.legend(fontsize=8)
for handle, size in zip(legend.legend_handles, [30] * len(features) + [150]):
    handle.set_sizes([size])
ax_hist.set_xlabel("||F_fc1(x) - F*_fc1||  (FSSD of fc1)")
ax_hist.set_ylabel("count")
ax_hist.set_title("Distance to F* in the full feature space")
ax_hist.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %%
# The digits spread out far from the star; uniform noise sits on it, and
# the other OoD inputs stay closer than the digits. The 2-D projection only
# hints at this: the histogram of the true distances is what the detector
# scores.
