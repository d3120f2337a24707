"""The main job: FSSD on scikit-learn's bundled digits, in well under a minute.

Run ``python -m sklearn_fssd.demo``. It trains a LeNet on half of the 8x8
digits through skorch, fits :class:`~sklearn_fssd.FSSDDetector` on the
training digits (no OoD data), and prints AUROC per layer and for the layer
ensemble against several kinds of out-of-distribution inputs; then fits the
paper's supervised stack on a labelled validation set and prints it again; last, it
compares FSSD with the baselines of the paper (MSP, ODIN, Energy, Mahalanobis) on the same
network and data.

Sign: ``score_samples`` is higher for in-distribution inputs (scikit-learn's
convention), so AUROC is computed with in-distribution as the positive class;
0.5 is chance, 1.0 perfect, and below 0.5 means a layer ranks OoD inputs *above*
the digits (early layers do this on some kinds).
"""

import argparse
import time

import numpy as np
from sklearn.datasets import load_digits

from . import EnergyDetector, FSSDDetector, MahalanobisDetector, MSPDetector, ODINDetector
from .metrics import auroc
from .singularity import shuffle_within_rows
from .training import train_lenet


def make_ood(X, rng):
    """Kinds of OoD inputs for the digits, each shaped like X."""
    shuffled = shuffle_within_rows(X, rng)
    return {
        "uniform noise": rng.uniform(0, 1, size=X.shape).astype(np.float32),
        "shuffled pixels": shuffled,
        "inverted digits": (1.0 - X).astype(np.float32),
        "far out (10 x digit)": (10.0 * X).astype(np.float32),
    }


def _table(rows, header):
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).rjust(w) for c, w in zip(r, widths))  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def _auroc_rows(det, X_id, ood):
    id_layers, id_score = det.layer_scores(X_id), det.score_samples(X_id)
    rows = []
    for kind, X_ood in ood.items():
        y_ood = np.r_[np.zeros(len(X_id)), np.ones(len(X_ood))]
        ood_layers = det.layer_scores(X_ood)
        per_layer = [
            auroc(y_ood, id_score=np.r_[id_layers[:, k], ood_layers[:, k]])
            for k in range(len(det.layers_))
        ]
        ens = auroc(y_ood, id_score=np.r_[id_score, det.score_samples(X_ood)])
        flagged = (det.predict(X_ood) == -1).mean()
        rows.append([kind, *(f"{a:.3f}" for a in per_layer), f"{ens:.3f}", f"{flagged:.0%}"])
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10, help="LeNet training epochs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    start = time.perf_counter()

    digits = load_digits()
    X = (digits.images / 16.0).astype(np.float32)[:, None]  # (N, 1, 8, 8) in [0, 1]
    y = digits.target.astype(np.int64)
    rng = np.random.RandomState(args.seed)
    order = rng.permutation(len(X))
    X, y = X[order], y[order]
    X_train, y_train = X[:900], y[:900]
    X_val, X_test = X[900:1300], X[1300:]

    net = train_lenet(X_train, y_train, max_epochs=args.epochs, random_state=args.seed)
    accuracy = (net.predict(X_test) == y[1300:]).mean()
    print(f"LeNet trained on {len(X_train)} digits through skorch: test accuracy {accuracy:.3f}")

    ood_val, ood_test = make_ood(X_val, rng), make_ood(X_test, rng)
    det = FSSDDetector(net, layers="auto", random_state=args.seed).fit(X_train)
    header = ["OoD kind", *det.layers_, "ensemble", "flagged"]
    print(
        "\nAUROC, in-distribution = positive (higher score_samples = more in-distribution).\n"
        "'flagged' = share of OoD inputs that predict() calls -1.\n"
    )
    print("Unsupervised: det.fit(X_train), F* from uniform noise, no OoD data")
    print(_table(_auroc_rows(det, X_test, ood_test), header))
    print(f"(ID test digits flagged: {(det.predict(X_test) == -1).mean():.1%})")

    X_fit = np.concatenate([X_val, *ood_val.values()])
    y_fit = np.r_[np.ones(len(X_val)), -np.ones(len(X_fit) - len(X_val))]
    sup = FSSDDetector(net, random_state=args.seed).fit(X_fit, y_fit)
    print("\nSupervised: det.fit(X_val, y_val), logistic-regression stack on labelled validation")
    print(_table(_auroc_rows(sup, X_test, ood_test), header))

    print("\nSide by side, all fitted on the training digits only (no OoD data), AUROC")
    rivals = {
        "FSSD": det,
        "MSP (Base)": MSPDetector(net),
        "ODIN T=1000 eps=0.0014": ODINDetector(net),
        "Energy": EnergyDetector(net),
        "Mahalanobis": MahalanobisDetector(net),
    }
    rows = []
    for name, rival in rivals.items():
        if rival is not det:
            rival.fit(X_train)
        id_test = rival.score_samples(X_test)
        cells = []
        for X_ood in ood_test.values():
            y_ood = np.r_[np.zeros(len(X_test)), np.ones(len(X_ood))]
            cells.append(f"{auroc(y_ood, id_score=np.r_[id_test, rival.score_samples(X_ood)]):.3f}")
        rows.append([name, *cells])
    print(_table(rows, ["method", *ood_test]))
    print(f"\ndone in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
