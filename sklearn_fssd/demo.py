"""The main job: FSSD on scikit-learn's bundled digits, in seconds.

Run ``python -m sklearn_fssd.demo``. It trains a LeNet through skorch on the
8x8 digits 0-6 only, so that the digits 7-9 are classes the network never saw
(the most common real OoD input), and then:

1. fits :class:`~sklearn_fssd.FSSDDetector` on the training digits alone (no
   OoD data) and prints AUROC per layer and for the layer ensemble against five
   kinds of OoD inputs;
2. fits the layer stack on validation digits against *one* OoD kind (the
   default ``"typical_stack"``: the rule without OoD data with its layers
   weighted, non-negatively, on that kind, and guarded by it), and scores it on
   all five, so that the kinds it never saw show what a user with one kind of
   OoD sample can expect, next to the paper's plain stack;
3. compares FSSD with the paper's baselines (MSP, ODIN, Energy, Mahalanobis)
   on the same network and data, all fitted without OoD data.

Each table ends with one sentence, computed from its numbers, saying what it
shows.
"""

import argparse
import time

import numpy as np
from sklearn.datasets import load_digits

from . import EnergyDetector, FSSDDetector, MahalanobisDetector, MSPDetector, ODINDetector
from .metrics import auroc
from .models import LeNet
from .singularity import shuffle_within_rows
from .training import train_lenet

#: The network learns these digits; the others are held-out classes (OoD).
SEEN_DIGITS = tuple(range(7))

LEGEND = """\
How to read the tables
  AUROC     chance that a random in-distribution test digit scores as more in-distribution
            than a random OoD input: 0.5 is chance, 1.0 perfect, below 0.5 the score ranks
            the OoD inputs *above* the digits.
  F*        the feature space singularity: at each layer, the mean feature of uniform-noise
            images. FSSD of a layer = distance of an input's features to F*; training moves
            the digits away from F*, unfamiliar inputs stay near it (higher = more ID).
  far out   10 x a digit. A ReLU network's features grow with its input, so inputs far
            outside the training range land *far* from F*: every single layer calls them
            in-distribution (AUROC near 0). The default combination flags them: it asks
            how typical the vector of layer scores is of training digits of the class the
            network predicts, too near F* and too far alike.
  flagged   share of OoD inputs that predict() calls -1, at the threshold that
            contamination (5 %) sets on the training scores."""


def make_ood(X, rng):
    """Synthetic kinds of OoD inputs for the digits, each shaped like ``X``."""
    return {
        "uniform noise": rng.uniform(0, 1, size=X.shape).astype(np.float32),
        "shuffled pixels": shuffle_within_rows(X, rng),
        "inverted digits": (1.0 - X).astype(np.float32),
        "far out (10 x digit)": (10.0 * X).astype(np.float32),
    }


def _table(rows, header):
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).rjust(w) for c, w in zip(r, widths))  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def _auroc(id_score, ood_score_as_id):
    y_ood = np.r_[np.zeros(len(id_score)), np.ones(len(ood_score_as_id))]
    return auroc(y_ood, id_score=np.r_[id_score, ood_score_as_id])


def _layer_table(det, X_id, ood):
    """AUROC per layer and ensemble, share flagged, for each OoD kind."""
    id_layers, id_score = det.layer_scores(X_id), det.score_samples(X_id)
    results = {}
    for kind, X_ood in ood.items():
        ood_layers = det.layer_scores(X_ood)
        results[kind] = {
            "layers": [_auroc(id_layers[:, k], ood_layers[:, k]) for k in range(len(det.layers_))],
            "ensemble": _auroc(id_score, det.score_samples(X_ood)),
            "flagged": float((det.predict(X_ood) == -1).mean()),
        }
    return results


def _layer_rows(results, seen=()):
    rows = []
    for kind, r in results.items():
        cells = [f"{a:.3f}" for a in (*r["layers"], r["ensemble"])]
        mark = ["yes" if kind in seen else "no"] if seen else []
        rows.append([kind, *mark, *cells, f"{r['flagged']:.0%}"])
    return rows


def _mean(values):
    return float(np.mean(list(values)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10, help="LeNet training epochs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    start = time.perf_counter()

    digits = load_digits()
    X_all = (digits.images / 16.0).astype(np.float32)[:, None]  # (N, 1, 8, 8) in [0, 1]
    y_all = digits.target.astype(np.int64)
    rng = np.random.RandomState(args.seed)
    order = rng.permutation(len(X_all))
    X_all, y_all = X_all[order], y_all[order]
    seen = np.isin(y_all, SEEN_DIGITS)
    X, y, X_unseen = X_all[seen], y_all[seen], X_all[~seen]
    n_train, n_val = len(X) // 2, len(X) // 5
    X_train, y_train = X[:n_train], y[:n_train]
    X_val, X_test = X[n_train:n_train + n_val], X[n_train + n_val:]
    half = len(X_unseen) // 2
    unseen_name = f"unseen digits ({min(set(range(10)) - set(SEEN_DIGITS))}-9)"

    net = train_lenet(X_train, y_train, max_epochs=args.epochs, random_state=args.seed)
    accuracy = (net.predict(X_test) == y[n_train + n_val:]).mean()
    print(
        f"LeNet trained through skorch on {len(X_train)} digits of classes "
        f"{SEEN_DIGITS[0]}-{SEEN_DIGITS[-1]}: test accuracy {accuracy:.3f}\n"
    )
    print(LEGEND)

    ood_val = {**make_ood(X_val, rng), unseen_name: X_unseen[:half]}
    ood_test = {**make_ood(X_test, rng), unseen_name: X_unseen[half:]}

    det = FSSDDetector(net, layers="auto", random_state=args.seed).fit(X_train)
    header = ["OoD kind", *det.layers_, "ensemble", "flagged"]
    print("\n1. No OoD data: det.fit(X_train), F* from uniform noise")
    unsup = _layer_table(det, X_test, ood_test)
    print(_table(_layer_rows(unsup), header))
    ens = {kind: r["ensemble"] for kind, r in unsup.items()}
    weakest = min(ens, key=ens.get)
    print(
        f"In words: with no OoD data at all, the ensemble's mean AUROC over the {len(ens)} kinds "
        f"is {_mean(ens.values()):.3f} (weakest: {weakest}, {ens[weakest]:.3f}); it flags "
        f"{(det.predict(X_test) == -1).mean():.1%} of the in-distribution test digits."
    )

    fit_kind = "shuffled pixels"
    X_fit = np.concatenate([X_val, ood_val[fit_kind]])
    y_fit = np.r_[np.ones(len(X_val)), -np.ones(len(ood_val[fit_kind]))]
    sup = FSSDDetector(net, random_state=args.seed).fit(X_fit, y_fit)
    print(
        f"\n2. One OoD kind: det.fit(X_val, y_val), the stack fitted on validation digits "
        f"against '{fit_kind}' only\n   (combine={sup.combine_!r}: the rule of table 1, its layers "
        "weighted on that kind and guarded by it), then tested on "
        "every kind ('fitted on' = the stack saw this kind, on other samples)"
    )
    sup_results = _layer_table(sup, X_test, ood_test)
    print(_table(_layer_rows(sup_results, seen={fit_kind}),
                 ["OoD kind", "fitted on", *det.layers_, "ensemble", "flagged"]))
    others = [kind for kind in ood_test if kind != fit_kind]
    sup_other = _mean(sup_results[k]["ensemble"] for k in others)
    unsup_other = _mean(unsup[k]["ensemble"] for k in others)
    change = "above" if sup_other > unsup_other else "below"
    print(
        f"In words: on the {len(others)} kinds the stack never saw, its mean AUROC is "
        f"{sup_other:.3f}, {abs(sup_other - unsup_other):.3f} {change} the detector fitted "
        f"without OoD data ({unsup_other:.3f}); on '{fit_kind}' itself "
        f"{sup_results[fit_kind]['ensemble']:.3f} vs {unsup[fit_kind]['ensemble']:.3f}."
    )
    # the paper's stack on the paper's layers
    plain = FSSDDetector(net, layers=LeNet.paper_layers, combine="stack", far_outliers=False,
                         random_state=args.seed).fit(X_fit, y_fit)
    plain_results = _layer_table(plain, X_test, ood_test)
    plain_other = _mean(plain_results[k]["ensemble"] for k in others)
    print(
        f"The paper's plain stack (combine='stack', far_outliers=False, on the paper's layers "
        f"LeNet.paper_layers) fitted on the same "
        f"samples: mean AUROC {plain_other:.3f} on the kinds it never saw; it flags "
        + ", ".join(f"{plain_results[k]['flagged']:.0%} of {k}" for k in others) + "."
    )

    print("\n3. Side by side, all fitted on the training digits only (no OoD data), AUROC")
    rivals = {
        "FSSD": det,
        "MSP (Base)": MSPDetector(net).fit(X_train),
        "ODIN T=1000 eps=0.0014": ODINDetector(net).fit(X_train),
        "Energy": EnergyDetector(net).fit(X_train),
        "Mahalanobis": MahalanobisDetector(net).fit(X_train, class_labels=y_train),
    }
    means, rows = {}, []
    for name, rival in rivals.items():
        id_test = rival.score_samples(X_test)
        scores = [_auroc(id_test, rival.score_samples(X_ood)) for X_ood in ood_test.values()]
        means[name] = _mean(scores)
        rows.append([name, *(f"{a:.3f}" for a in scores), f"{means[name]:.3f}"])
    print(_table(rows, ["method", *ood_test, "mean"]))
    ranked = sorted(means, key=means.get, reverse=True)
    best = ranked[0]
    where = (
        "FSSD leads" if best == "FSSD"
        else f"FSSD ranks {ranked.index('FSSD') + 1} of {len(ranked)}, "
        f"{means[best] - means['FSSD']:.3f} behind {best}"
    )
    print(f"In words: by mean AUROC over the {len(ood_test)} kinds, {where} "
          f"({means['FSSD']:.3f} against {means[best]:.3f} for the best).")
    print(f"\ndone in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
