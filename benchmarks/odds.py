"""FSSD against PyOD's own detectors on the 17 ODDS tables, with PyOD's benchmark protocol.

    python -m benchmarks.odds                 # 17 data sets x 5 splits, writes results/odds.{md,json}
    python -m benchmarks.odds --quick         # 2 small sets, 1 split, 3 detectors (test suite)

Protocol (PyOD's benchmark notebook): for each data set and each random 60/40 split, standardise
with statistics of the training part, fit every detector on the (contaminated, unlabelled)
training part with the true outlier share as contamination, score the test part. Report ROC-AUC
and precision @ n (n = number of test outliers), and fit and score times. Every detector runs in
the same process on the same splits; the average rank is over data sets (1 = best).
"""

import json
import time
import warnings

import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from scipy.stats import rankdata
from tqdm.auto import tqdm

# imported at the start of a run, so that the results name the commit the run began at
from benchmarks._ood import ResultsParser
from benchmarks._provenance import provenance, provenance_line

QUICK_DATASETS = ["wbc", "vertebral"]


def detectors(n_features, contamination, seed, quick=False):
    """name -> fresh detector, all with PyOD's API (decision_function higher = more abnormal)."""
    from pyod.models.auto_encoder import AutoEncoder
    from pyod.models.copod import COPOD
    from pyod.models.deep_svdd import DeepSVDD
    from pyod.models.ecod import ECOD
    from pyod.models.iforest import IForest
    from pyod.models.knn import KNN
    from pyod.models.lof import LOF
    from pyod.models.ocsvm import OCSVM
    from pyod.models.pca import PCA

    from sklearn_fssd.pyod import FSSD

    made = {
        "FSSD": lambda: FSSD(contamination=contamination, random_state=seed),
        "IForest": lambda: IForest(contamination=contamination, random_state=seed),
        "KNN": lambda: KNN(contamination=contamination),
    }
    if quick:
        return made
    made.update({
        "LOF": lambda: LOF(contamination=contamination),
        "OCSVM": lambda: OCSVM(contamination=contamination),
        "ECOD": lambda: ECOD(contamination=contamination),
        "COPOD": lambda: COPOD(contamination=contamination),
        "PCA": lambda: PCA(contamination=contamination, random_state=seed),
        "AutoEncoder": lambda: AutoEncoder(contamination=contamination, random_state=seed,
                                           verbose=0),
        "DeepSVDD": lambda: DeepSVDD(n_features=n_features, contamination=contamination,
                                     random_state=seed, verbose=0),
    })
    return made


def precision_at_n(y, scores):
    n = int(y.sum())
    top = np.argsort(-scores)[:n]
    return float(y[top].mean()) if n else float("nan")


def run(names, splits, quick):
    from sklearn_fssd.datasets import load_odds

    rows = []
    for name in tqdm(names, desc="data sets"):
        X, y = load_odds(name)
        for split in range(splits):
            X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.4, random_state=split)
            scaler = StandardScaler().fit(X_tr)
            X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
            contamination = float(np.clip(y_tr.mean(), 0.001, 0.5))
            for det_name, make in detectors(X.shape[1], contamination, split, quick).items():
                clf = make()
                # warnings are recorded, never hidden: the results list them per detector
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    start = time.perf_counter()
                    clf.fit(X_tr)
                    fit_s = time.perf_counter() - start
                    start = time.perf_counter()
                    scores = clf.decision_function(X_te)
                    score_s = time.perf_counter() - start
                scores = np.asarray(scores, dtype=np.float64)
                n_inf, n_nan = int(np.isinf(scores).sum()), int(np.isnan(scores).sum())
                # +-inf is a ranking (most / least abnormal): keep it as the extreme finite
                # value; NaN is a failure of the detector and is reported as such.
                scores = np.nan_to_num(scores, nan=np.nan, posinf=np.finfo(float).max,
                                       neginf=-np.finfo(float).max)
                failed = n_nan > 0
                rows.append({
                    "dataset": name, "split": split, "detector": det_name,
                    "roc_auc": float("nan") if failed else float(roc_auc_score(y_te, scores)),
                    "precision_at_n": float("nan") if failed else precision_at_n(y_te, scores),
                    "fit_s": fit_s, "score_s": score_s, "n_inf": n_inf, "n_nan": n_nan,
                    "warnings": sorted({f"{w.category.__name__}: {str(w.message)[:160]}"
                                        for w in caught}),
                })
    return rows


def summarise(rows):
    names = sorted({r["dataset"] for r in rows})
    dets = list(dict.fromkeys(r["detector"] for r in rows))
    mean = {
        metric: {
            d: {n: float(np.nanmean([r[metric] for r in rows
                                     if r["dataset"] == n and r["detector"] == d]))
                for n in names}
            for d in dets
        }
        for metric in ("roc_auc", "precision_at_n", "fit_s", "score_s")
    }
    ranks = {d: [] for d in dets}
    for n in names:
        values = [-mean["roc_auc"][d][n] for d in dets]
        for d, rank in zip(dets, rankdata(values)):
            ranks[d].append(float(rank))
    return names, dets, mean, {d: float(np.mean(r)) for d, r in ranks.items()}


def write(rows, out, command, splits, started=None):
    """``odds.json`` (the rows and the run's provenance) and ``odds.md`` in ``out``; returns the
    average rank of each detector."""
    avg_rank = summarise(rows)[3]
    out.mkdir(parents=True, exist_ok=True)
    res = {**provenance(command, seed=0, started=started), "splits": splits, "rows": rows,
           "average_rank": avg_rank}
    (out / "odds.json").write_text(json.dumps(res, indent=2))
    (out / "odds.md").write_text(markdown(res))
    return avg_rank


def markdown(res):
    """The results page of ``res`` (what :func:`write` saved as ``odds.json``)."""
    rows, splits = res["rows"], res["splits"]
    names, dets, mean, avg_rank = summarise(rows)
    lines = [
        "# FSSD on the ODDS tables, against PyOD's detectors",
        "",
        provenance_line(res) + f" {splits} random 60/40 splits per data set, StandardScaler on "
        "the training part, contamination = true outlier share; means over splits.",
        "",
    ]
    for metric, title in (("roc_auc", "ROC-AUC"), ("precision_at_n", "Precision @ n")):
        lines += [f"## {title}", "", "| data set | " + " | ".join(dets) + " |",
                  "|---|" + "---:|" * len(dets)]
        for n in names:
            best = max(mean[metric][d][n] for d in dets)
            cells = [
                (f"**{mean[metric][d][n]:.3f}**" if mean[metric][d][n] == best
                 else f"{mean[metric][d][n]:.3f}")
                for d in dets
            ]
            lines.append(f"| {n} | " + " | ".join(cells) + " |")
        lines.append("| **mean** | " + " | ".join(
            f"{np.mean(list(mean[metric][d].values())):.3f}" for d in dets) + " |")
        if metric == "roc_auc":
            lines.append("| **average rank** | " + " | ".join(f"{avg_rank[d]:.2f}" for d in dets) + " |")
        lines.append("")
    lines += ["## Time (s), mean per fit and per scoring of the test part", "",
              "| | " + " | ".join(dets) + " |", "|---|" + "---:|" * len(dets)]
    for metric in ("fit_s", "score_s"):
        lines.append(f"| {metric[:-2]} | " + " | ".join(
            f"{np.mean(list(mean[metric][d].values())):.2f}" for d in dets) + " |")
    odd = [r for r in rows if r["n_inf"] or r["n_nan"]]
    if odd:
        lines += ["", "## Non-finite scores", "",
                  "+-inf scores are ranked as the most / least abnormal; NaN scores make the "
                  "split count as failed (excluded from the mean).", ""]
        lines += [f"- {r['detector']} on {r['dataset']} split {r['split']}: "
                  f"{r['n_inf']} infinite, {r['n_nan']} NaN" for r in odd]
    warned = {}
    for r in rows:
        for w in r.get("warnings", []):
            warned.setdefault((r["detector"], w), set()).add(r["dataset"])
    if warned:
        lines += ["", "## Warnings the detectors raised (recorded, not suppressed)", ""]
        lines += [f"- {det}: {w} ({len(sets)} data sets: {', '.join(sorted(sets))})"
                  for (det, w), sets in sorted(warned.items())]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = ResultsParser("odds.{md,json}", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--datasets", nargs="*")
    args = parser.parse_args(argv)
    from sklearn_fssd.datasets import list_odds_datasets

    names = args.datasets or (QUICK_DATASETS if args.quick else list_odds_datasets())
    splits = 1 if args.quick else args.splits
    command = "python -m benchmarks.odds" + (" --quick" if args.quick else "")
    started = time.perf_counter()
    rows = run(names, splits, args.quick)
    return write(rows, args.out, command, splits, started)


if __name__ == "__main__":
    main()
