"""
Tuning epsilon with GridSearchCV in a Pipeline
==============================================

The paper tunes FSSD's input pre-processing step ``epsilon`` on validation
data. With scikit-learn that is a ``GridSearchCV`` over a ``Pipeline``: the
detector is an ordinary estimator, labels are +1 (in-distribution) / -1
(OoD), and ``scoring="roc_auc"`` ranks by ``decision_function``.

Which data each step consumes:

* the network is trained on **ID training data** (digits ``0-999``);
* the search fits the detector on **labelled validation data**: held-out ID
  digits and OoD samples of *known* kinds (uniform noise, shuffled pixels);
  with ``y`` the detector weighs its layers with a logistic regression (the
  paper's protocol; by default over each layer's atypicality, with
  non-negative weights), guarded by its rule without OoD data;
* the final check is on **test data** with a kind of OoD input the search
  never saw (inverted digits).
"""

# %%
# Flat rows in, images inside the pipeline
# ----------------------------------------
# ``load_digits().data`` are flat rows of 64 pixels in ``[0, 16]``; a
# ``FunctionTransformer`` turns them into the ``(N, 1, 8, 8)`` images in
# ``[0, 1]`` that the network expects.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from sklearn_fssd import FSSDDetector
from sklearn_fssd.metrics import auroc
from sklearn_fssd.singularity import shuffle_within_rows
from sklearn_fssd.training import train_lenet


def to_images(rows):
    return (np.asarray(rows, dtype=np.float32) / 16.0).reshape(-1, 1, 8, 8)


digits = load_digits()
rng = np.random.RandomState(0)
order = rng.permutation(len(digits.data))
rows, labels = digits.data[order], digits.target[order]
train, val, test = rows[:1000], rows[1000:1150], rows[1150:]

net = train_lenet(to_images(train), labels[:1000], max_epochs=6,
                  random_state=0)

# %%
# Labelled validation data: ID digits (+1) and two known OoD kinds (-1)
# ---------------------------------------------------------------------
noise = rng.uniform(0, 16, size=(75, 64))
shuffled = shuffle_within_rows(val[:75], rng)
X_val = np.vstack([val, noise, shuffled])
y_val = np.r_[np.ones(len(val)), -np.ones(len(noise) + len(shuffled))]

pipe = make_pipeline(
    FunctionTransformer(to_images),
    FSSDDetector(net, random_state=0),
)

# %%
# The search
# ----------
# Use a shuffled, stratified ``cv``: scikit-learn's default for an outlier
# detector is an unshuffled ``KFold``, which would put all the OoD rows
# (stored last here) in one fold. ``clone`` keeps the trained network: it is
# pretrained data, not a hyper-parameter. The paper searches 0 to 0.2 in
# steps of 0.01; a coarse grid keeps this example fast.
search = GridSearchCV(
    pipe,
    {"fssddetector__epsilon": [0.0, 0.02, 0.1]},
    scoring="roc_auc",
    cv=StratifiedKFold(3, shuffle=True, random_state=0),
).fit(X_val, y_val)
print("best:", search.best_params_, f"CV AUROC {search.best_score_:.4f}")

results = search.cv_results_
epsilons = np.array(results["param_fssddetector__epsilon"], dtype=float)
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.errorbar(epsilons, results["mean_test_score"],
            yerr=results["std_test_score"], marker="o", capsize=3)
ax.set_xlabel("epsilon")
ax.set_ylabel("AUROC (3-fold CV)")
ax.set_title("Validation AUROC against the pre-processing step")
fig.tight_layout()

# %%
# On test data, with an OoD kind the search never saw
# ---------------------------------------------------
# ``search`` was refitted on all of ``X_val`` with the best ``epsilon``. The
# unsupervised detector (``fit`` on ID training data only) is shown for
# comparison.
inverted = 16.0 - test[:300]
y_test = np.r_[np.zeros(len(test)), np.ones(len(inverted))]
X_test = np.vstack([test, inverted])
unsupervised = make_pipeline(
    FunctionTransformer(to_images), FSSDDetector(net, random_state=0)
).fit(train)
for name, model in [("tuned", search), ("unsupervised", unsupervised)]:
    score = auroc(y_test, id_score=model.decision_function(X_test))
    print(f"{name:12s} test AUROC, inverted digits: {score:.3f}")
plt.show()

# %%
# The stack learns from the OoD kinds it is shown: on a kind it never saw,
# it can do better or worse than the unsupervised detector (the guard keeps
# what that detector flags flagged, so it rarely does much worse). Validate
# on OoD data that looks like what the gate will meet, and keep a kind aside
# to check that the choice generalises.
