"""Which network should FSSDDetector(model=None) build and train on unlabelled tables?

    python -m benchmarks.default_network [--datasets cardio pima ...] [--splits 1]

Candidates (:mod:`sklearn_fssd.training.tables`), each trained on the (unlabelled,
contaminated) training part only, layers combined by combine="auto" ("typical" on tables):
  * discriminator - an MLP trained to tell X from synthetic outliers (uniform noise and
                    feature-shuffled rows), a self-supervised classification: the default since
                    this benchmark measured it ahead; also with combine="stack" (against
                    synthetic outliers) and combine="mean", the two other rules;
  * autoencoder   - the MLPAutoencoder reconstructing standardised X (the default before);
  * untrained     - the autoencoder at its random initialisation (control: does training matter?).
Protocol (PyOD's): random 60/40 split, StandardScaler fitted on the training part,
contamination = true outlier share, ROC-AUC of -score_samples on the test part. IForest as a
reference. Writes benchmarks/results/default_network.{md,json}.

The choice is made on data the reported ODDS table (``python -m benchmarks odds``) does not
contain: by default the ADBench Classical tables that are not ODDS tables (names compared
without case; Cardiotocography left out as a variant of ODDS's cardio), with at most 12,000 rows
and 100 features so that a run takes minutes; Lymphography and breastw are left out as well,
being ODDS's lympho and wbc data under other names. ``--collection odds`` measures on the ODDS tables
instead (what this benchmark did before; not a fair basis for a default reported on ODDS).
"""

import json
import sys
import time

import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sklearn_fssd import FSSDDetector
from benchmarks._ood import ResultsParser
from benchmarks._provenance import provenance
from sklearn_fssd.datasets import (
    DatasetNotFoundError,
    list_adbench_datasets,
    list_odds_datasets,
    load_adbench,
    load_odds,
)
from sklearn_fssd.training import table_autoencoder, train_table_autoencoder



#: ADBench tables kept apart from the ODDS tables: the same data under another name
#: (Cardiotocography ~ cardio, Lymphography ~ lympho, breastw ~ wbc: Wisconsin breast cancer).
ODDS_VARIANTS = {"cardiotocography", "lymphography", "breastw"}
MAX_ROWS, MAX_FEATURES = 12_000, 100


def selection_tables():
    """ADBench Classical tables that are not ODDS tables and fit the size limits."""
    odds = {name.lower() for name in list_odds_datasets()} | ODDS_VARIANTS
    chosen = []
    for name in list_adbench_datasets():
        if name.lower() in odds:
            continue
        try:
            X, _ = load_adbench(name)
        except DatasetNotFoundError:  # the staged copy lacks the files over 4 MiB
            continue
        if len(X) <= MAX_ROWS and X.shape[1] <= MAX_FEATURES:
            chosen.append(name)
    return chosen


def run(names, splits, load=load_adbench):
    rows = []
    for name in names:
        X, y = load(name)
        for split in range(splits):
            X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.4, random_state=split)
            scaler = StandardScaler().fit(X_tr)
            X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
            contamination = min(0.5, max(y_tr.mean(), 1e-3))
            row = {"dataset": name, "split": split}
            candidates = {
                "discriminator": lambda: FSSDDetector(
                    contamination=contamination, random_state=split
                ),
                "discriminator, stack": lambda: FSSDDetector(
                    combine="stack", contamination=contamination, random_state=split
                ),
                "discriminator, mean": lambda: FSSDDetector(
                    combine="mean", contamination=contamination, random_state=split
                ),
                "autoencoder": lambda: FSSDDetector(
                    train_table_autoencoder(X_tr, random_state=split),
                    contamination=contamination, random_state=split
                ),
                "untrained": lambda: FSSDDetector(
                    table_autoencoder(X_tr, random_state=split), contamination=contamination,
                    random_state=split
                ),
            }
            for key, make in candidates.items():
                start = time.perf_counter()
                det = make().fit(X_tr)
                row[key] = roc_auc_score(y_te, -det.score_samples(X_te))
                row[key + "_s"] = time.perf_counter() - start
            forest = IsolationForest(contamination=contamination, random_state=split).fit(X_tr)
            row["IForest"] = roc_auc_score(y_te, -forest.score_samples(X_te))
            rows.append(row)
            print({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()},
                  flush=True)
    return rows


#: The columns of the table: the candidate networks (the default first), the default network
#: with the two other layer rules, and IsolationForest as a reference.
KEYS = ["discriminator", "autoencoder", "untrained", "discriminator, stack",
        "discriminator, mean", "IForest"]


def write(rows, out, meta):
    out.mkdir(parents=True, exist_ok=True)
    (out / "default_network.json").write_text(json.dumps({**meta, "rows": rows}, indent=2))
    names = sorted({r["dataset"] for r in rows})
    where = ("ADBench Classical tables that are not ODDS tables, so the ODDS table of "
             "`python -m benchmarks odds` contains none of the data the choice was made on"
             if meta["collection"] == "adbench" else "the ODDS tables (the reported ones)")
    lines = [
        f"# Default network for FSSDDetector(model=None): chosen on {meta['collection']}",
        "",
        f"Written by `{meta['command']}` at commit `{(meta['commit'] or '?')[:10]}`, "
        f"{meta['utc']}, in {meta['wall_s']} s. Measured on {where}. ROC-AUC on the 40 % test "
        "part, mean over splits; unsupervised fit on the contaminated 60 % training part. The "
        "first three columns use the default combine='auto' ('typical' on tables).",
        "",
        "| dataset | " + " | ".join(KEYS) + " |",
        "|---|" + "---:|" * len(KEYS),
    ]
    for name in names:
        sub = [r for r in rows if r["dataset"] == name]
        cells = " | ".join(f"{np.mean([r[k] for r in sub]):.3f}" for k in KEYS)
        lines.append(f"| {name} | {cells} |")
    means = " | ".join(f"**{np.mean([r[k] for r in rows]):.3f}**" for k in KEYS)
    lines.append(f"| **mean** | {means} |")
    fit_s = {k: np.mean([r[k + "_s"] for r in rows]) for k in KEYS[:-1]}
    lines += ["", "Mean fit + score time (s): "
              + ", ".join(f"{k} {v:.1f}" for k, v in fit_s.items())]
    (out / "default_network.md").write_text("\n".join(lines) + "\n")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = ResultsParser("default_network.{md,json}", description=__doc__.splitlines()[0])
    parser.add_argument("--collection", choices=["adbench", "odds"], default="adbench")
    parser.add_argument("--datasets", nargs="*", default=None)
    parser.add_argument("--splits", type=int, default=1)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.collection == "odds":
        names, load = args.datasets or list_odds_datasets(), load_odds
    else:
        names, load = args.datasets or selection_tables(), load_adbench
    rows = run(names, args.splits, load)
    words = [w for i, w in enumerate(argv) if w != "--out" and (i == 0 or argv[i - 1] != "--out")]
    meta = {**provenance(" ".join(["python -m benchmarks default-network", *words]), seed=0,
                         started=started),
            "collection": args.collection, "datasets": names, "splits": args.splits}
    write(rows, args.out, meta)
    return rows


if __name__ == "__main__":
    main()
