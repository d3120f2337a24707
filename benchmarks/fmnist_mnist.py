"""FMNIST vs MNIST with LeNet, every method side by side: the paper's Table 2 on CPU.

    python -m benchmarks fmnist-mnist            # the whole experiment (hours of CPU), writes
                                                 # results/fmnist_mnist.{md,json} and plots
    python -m benchmarks fmnist-mnist --quick    # small subsets, 1 epoch (a couple of minutes)
    python -m benchmarks.fmnist_mnist [--quick]  # the same

Networks: LeNet trained on Fashion-MNIST train with the paper's recipe
(:func:`sklearn_fssd.training.train_lenet`: Adadelta, lr 1.0, gamma 0.7, batches of 64, 14
epochs), ``--n-ensemble`` more LeNets for Deep Ensemble and the FSSD network ensemble (seeds
``seed + 1 ...``), and an Outlier Exposure network: the trained LeNet fine-tuned (Adam, 10 epochs,
``lam`` 0.5) with notMNIST letters A-E as auxiliary outliers. Letters F-J are never used for
training; the evaluation OoD set is MNIST, which no network sees. Trained weights are cached under
``--cache`` (default ``benchmarks/cache/``, git-ignored), keyed by recipe, epochs, training size
and seed, so a rerun only scores.

Protocol (the paper's): a validation set of 1,000 Fashion-MNIST test images (ID, +1) and 1,000
MNIST test images (OoD, -1), disjoint from the test samples (the remaining 9,000 + 9,000). The
layer-ensemble logistic regression of FSSD and Mahalanobis is fitted on it; epsilon of FSSD, ODIN
and Mahalanobis is searched over 0, 0.01, ..., 0.2 with ``GridSearchCV`` (stratified, shuffled
3-fold, ROC-AUC; --quick: 2-fold, epsilon in {0, 0.01}, 0 for Mahalanobis), ODIN's
temperature over {1, 10, 100, 1000} (--quick: {1, 1000}), MC Dropout's rate over {0.1, 0.25, 0.5}
with 32 passes (the paper does not state its grid; this one is ours; --quick: 0.5, 4 passes, no
search). Unsupervised baselines
(MSP, Energy, Deep Ensemble, OE) are fitted on Fashion-MNIST training images only.

Metrics: :func:`sklearn_fssd.metrics.ood_report` with in-distribution as the *positive* class (the
paper's convention): AUROC, AUPR-In (the paper's AUPRC), AUPR-Out, FPR of OoD at 80 % and 95 % TPR
of ID. The paper's own AUROC (Table 2) is shown beside ours. Each method's fit (including its
grid search) and score times are recorded.

Extras: FSSD without pre-processing (epsilon 0), FSSD per single layer (the raw ``FSSD_k``, no
combination), FSSD with the unsupervised combination (fitted on training images only, no OoD data),
FSSD averaged over the ensemble networks. Robustness (the paper's Fig. 5): the same fitted
detectors score Fashion-MNIST test images (2,000 of them; --quick: 60) corrupted by Gaussian noise
and by impulse (salt-and-pepper) noise at five severities against clean MNIST; the table gives the
AUROC of corrupted ID vs OoD (the authors' code, too, names a corrupted Fashion-MNIST,
"fmnist-corrupt", as the in-distribution set of its corruption runs). Plots: per-layer FSSD histograms (Fig. 6), PCA of ``fc1`` features
with ``F*`` marked (Fig. 1 right), ROC curves, robustness curves.
"""

import argparse
import copy
import platform
import sys
import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from benchmarks import _ood as ood
from benchmarks._ood import command, fmt, report, search

RESULTS = Path(__file__).resolve().parent / "results"
CACHE = Path(__file__).resolve().parent / "cache"

#: The paper's Table 2, FMNIST vs MNIST with LeNet, AUROC in %.
PAPER_AUROC = {
    "Base": 77.3, "ODIN": 96.9, "Maha": 99.6, "DE": 83.9, "MCD": 81.7, "OE": 99.6, "FSSD": 99.6,
}

#: Corruption severities in the style of ImageNet-C (Hendrycks & Dietterich, 2019).
GAUSSIAN_SIGMAS = [0.08, 0.12, 0.18, 0.26, 0.38]
IMPULSE_AMOUNTS = [0.03, 0.06, 0.09, 0.17, 0.27]

MAIN_METHODS = ["Base", "ODIN", "Maha", "DE", "MCD", "OE", "FSSD"]


def config(quick, epochs=None, n_ensemble=None, oe_epochs=None, device="cpu", n_jobs=None):
    """Sizes of the run: the paper's, or small ones for --quick."""
    if quick:
        cfg = dict(n_train=2000, epochs=1, n_ensemble=2, oe_epochs=1, n_aux=1000,
                   n_val=200, n_test=300, n_fit_unsup=500, eps_grid=[0.0, 0.01],
                   odin_eps_grid=[0.0, 0.01], maha_eps_grid=[0.0], temperatures=[1, 1000],
                   dropout_rates=[0.5], n_passes=4, cv=2, n_robust=60)
    else:
        cfg = dict(n_train=None, epochs=14, n_ensemble=5, oe_epochs=10, n_aux=5000,
                   n_val=1000, n_test=None, n_fit_unsup=5000,
                   eps_grid=[round(e, 2) for e in np.arange(0, 0.21, 0.01)],
                   temperatures=[1, 10, 100, 1000], dropout_rates=[0.1, 0.25, 0.5],
                   n_passes=32, cv=3, n_robust=2000)
        cfg["odin_eps_grid"] = cfg["maha_eps_grid"] = cfg["eps_grid"]
    if epochs is not None:
        cfg["epochs"] = epochs
    if n_ensemble is not None:
        cfg["n_ensemble"] = n_ensemble
    if oe_epochs is not None:
        cfg["oe_epochs"] = oe_epochs
    cfg["device"] = device
    cfg["n_jobs"] = n_jobs
    return cfg


# ---------------------------------------------------------------- data


def load_data(cfg, seed):
    """Training, validation and test splits (validation and test disjoint)."""
    from sklearn_fssd.datasets import load_fashion_mnist, load_mnist, load_notmnist

    X_tr, y_tr = load_fashion_mnist("train", as_float=True)
    X_fte, y_fte = load_fashion_mnist("test", as_float=True)
    X_mte, _ = load_mnist("test", as_float=True)
    X_nm, y_nm = load_notmnist(as_float=True)
    rng = np.random.RandomState(seed)
    if cfg["n_train"] is not None:
        keep = rng.permutation(len(X_tr))[: cfg["n_train"]]
        X_tr, y_tr = X_tr[keep], y_tr[keep]
    f_perm, m_perm = rng.permutation(len(X_fte)), rng.permutation(len(X_mte))
    n_val = cfg["n_val"]
    n_test = cfg["n_test"] or len(X_fte) - n_val
    f_val, f_test = f_perm[:n_val], f_perm[n_val: n_val + n_test]
    m_val, m_test = m_perm[:n_val], m_perm[n_val: n_val + n_test]
    # auxiliary outliers for OE: letters A-E only (labels 0-4); F-J never used in training
    aux = np.flatnonzero(y_nm <= 4)
    aux = rng.permutation(aux)[: cfg["n_aux"]]
    fit_unsup = rng.permutation(len(X_tr))[: cfg["n_fit_unsup"]]
    return {
        "X_train": X_tr, "y_train": y_tr,
        "X_fit": X_tr[fit_unsup],
        "X_val": np.concatenate([X_fte[f_val], X_mte[m_val]]),
        "y_val": np.r_[np.ones(n_val, int), -np.ones(n_val, int)],
        "c_val": np.r_[y_fte[f_val], np.zeros(n_val, int)],
        "X_test_id": X_fte[f_test], "y_test_id": y_fte[f_test], "X_test_ood": X_mte[m_test],
        "X_aux": X_nm[aux],
    }


# ---------------------------------------------------------------- networks


def _cached(cache, name, train, log):
    """A LeNet module from ``cache/name`` or trained by ``train()`` and saved there."""
    from sklearn_fssd.models import LeNet
    from sklearn_fssd.training import load_weights, save_weights

    path = Path(cache) / name
    if path.exists():
        log["loaded"].append(name)
        return load_weights(LeNet(), path).eval()
    start = time.perf_counter()
    net = train()
    module = net.module_ if hasattr(net, "module_") else net
    save_weights(module, path)
    log["trained"].append(name)
    log["train_s"][name] = time.perf_counter() - start
    return module.cpu().eval()


def networks(data, cfg, seed, cache, only=None):
    """The base LeNet, the ensemble LeNets and the OE LeNet (trained or from the cache).

    ``only`` (a list of ``"base"``, ``"ensemble-<i>"``, ``"oe"``) trains or loads just those
    networks and returns None for the rest, so several processes can fill the cache at once.
    """
    from sklearn_fssd.training import train_lenet, train_outlier_exposure

    X, y = data["X_train"], data["y_train"]
    n = len(X)
    log = {"trained": [], "loaded": [], "train_s": {}}
    tag = f"adadelta-lr1-g0.7-b64_e{cfg['epochs']}_n{n}"

    def wanted(key):
        return only is None or key in only

    def lenet(s):
        return lambda: train_lenet(X, y, max_epochs=cfg["epochs"], random_state=s,
                                   device=cfg["device"])

    base = (_cached(cache, f"lenet_{tag}_s{seed}.pt", lenet(seed), log)
            if wanted("base") or wanted("oe") else None)
    ensemble = [base] + [
        _cached(cache, f"lenet_{tag}_s{seed + i}.pt", lenet(seed + i), log)
        if wanted(f"ensemble-{i}") else None
        for i in range(1, cfg["n_ensemble"])
    ]
    oe_name = f"lenet-oe_{tag}_adam-lam0.5-e{cfg['oe_epochs']}_aux{len(data['X_aux'])}_s{seed}.pt"
    oe = _cached(
        cache, oe_name,
        lambda: train_outlier_exposure(copy.deepcopy(base), X, y, data["X_aux"],
                                       max_epochs=cfg["oe_epochs"], random_state=seed,
                                       device=cfg["device"]),
        log,
    ) if wanted("oe") else None
    return base, ensemble, oe, log


# ---------------------------------------------------------------- methods


def _search(estimator, grid, data, cfg, seed, **fit_params):
    return search(estimator, grid, data["X_val"], data["y_val"], cv=cfg["cv"], seed=seed,
                  n_jobs=cfg["n_jobs"], **fit_params)


def methods(base, ensemble, oe, data, cfg, seed):
    """name -> function returning (fitted detector, chosen parameters)."""
    from sklearn_fssd import (DeepEnsembleDetector, EnergyDetector, FSSDDetector,
                              MahalanobisDetector, MSPDetector, ODINDetector)

    eps = cfg["eps_grid"]
    dev = {"device": cfg["device"]}
    chosen = {}

    def fssd():
        det, params = _search(FSSDDetector(base, **dev, random_state=seed), {"epsilon": eps},
                              data, cfg, seed)
        chosen["fssd_epsilon"] = params["epsilon"]
        return det, params

    return {
        "Base": lambda: (MSPDetector(base, **dev).fit(data["X_fit"]), {}),
        "ODIN": lambda: _search(ODINDetector(base, **dev),
                                {"temperature": cfg["temperatures"],
                                 "epsilon": cfg["odin_eps_grid"]},
                                data, cfg, seed),
        "Maha": lambda: _search(MahalanobisDetector(base, **dev, random_state=seed),
                                {"epsilon": cfg["maha_eps_grid"]}, data, cfg, seed,
                                class_labels=data["c_val"]),
        "DE": lambda: (DeepEnsembleDetector(ensemble, **dev).fit(data["X_fit"]), {}),
        "MCD": lambda: _mcd(base, data, cfg, seed),
        "OE": lambda: (MSPDetector(oe, **dev).fit(data["X_fit"]), {}),
        "FSSD": fssd,
        "Energy": lambda: (EnergyDetector(base, **dev).fit(data["X_fit"]), {}),
        "FSSD (eps=0)": lambda: (
            FSSDDetector(base, **dev, random_state=seed).fit(data["X_val"], data["y_val"]),
            {"epsilon": 0.0}),
        "FSSD unsupervised": lambda: (
            FSSDDetector(base, **dev, random_state=seed).fit(data["X_fit"]), {"epsilon": 0.0}),
        "FSSD network ensemble": lambda: (
            FSSDDetector(ensemble, **dev, epsilon=chosen.get("fssd_epsilon", 0.0),
                         random_state=seed).fit(data["X_val"], data["y_val"]),
            {"epsilon": chosen.get("fssd_epsilon", 0.0), "n_networks": len(ensemble)}),
    }


def _mcd(base, data, cfg, seed):
    from sklearn_fssd import MCDropoutDetector

    dev = {"device": cfg["device"]}

    det = MCDropoutDetector(base, **dev, n_passes=cfg["n_passes"], random_state=seed)
    if len(cfg["dropout_rates"]) == 1:
        det.set_params(dropout_rate=cfg["dropout_rates"][0]).fit(data["X_fit"])
        return det, {"dropout_rate": cfg["dropout_rates"][0], "n_passes": cfg["n_passes"]}
    det, params = _search(det, {"dropout_rate": cfg["dropout_rates"]}, data, cfg, seed)
    return det, {**params, "n_passes": cfg["n_passes"]}


# ---------------------------------------------------------------- corruptions


def gaussian_noise(X, sigma, rng):
    return np.clip(X + rng.normal(0, sigma, X.shape), 0, 1).astype(np.float32)


def impulse_noise(X, amount, rng):
    out = X.copy()
    u = rng.random_sample(X.shape)
    out[u < amount / 2] = 0.0
    out[(u >= amount / 2) & (u < amount)] = 1.0
    return out.astype(np.float32)


def robustness(detectors, data, seed, n=None):
    """AUROC of corrupted ID test vs clean OoD test, per detector and severity."""
    rows = []
    X_id = data["X_test_id"][:n] if n else data["X_test_id"]
    ood_scores = {name: det_scores["ood"] for name, det_scores in detectors["scores"].items()}
    for kind, fn, levels in [("gaussian", gaussian_noise, GAUSSIAN_SIGMAS),
                             ("impulse", impulse_noise, IMPULSE_AMOUNTS)]:
        for severity, level in enumerate(levels, start=1):
            X = fn(X_id, level, np.random.RandomState(seed + severity))
            row = {"corruption": kind, "severity": severity, "level": level, "auroc": {}}
            for name, det in detectors["fitted"].items():
                row["auroc"][name] = report(det.score_samples(X), ood_scores[name])["auroc"]
            rows.append(row)
    return rows


# ---------------------------------------------------------------- plots


def plots(out, fssd, data, scores, robust, seed):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.decomposition import PCA
    from sklearn.metrics import roc_curve
    import torch

    from benchmarks._plots import draw_order, legend_outside, method_styles
    from sklearn_fssd.features import FeatureTap

    files = {}
    # Fig. 6: per-layer FSSD histograms
    L_id = fssd.layer_scores(data["X_test_id"])
    L_ood = fssd.layer_scores(data["X_test_ood"])
    fig, axes = plt.subplots(1, len(fssd.layers_), figsize=(4 * len(fssd.layers_), 3.2))
    for k, (ax, name) in enumerate(zip(np.atleast_1d(axes), fssd.layers_)):
        bins = np.histogram_bin_edges(np.r_[L_id[:, k], L_ood[:, k]], 40)
        ax.hist(L_id[:, k], bins, alpha=0.6, label="FMNIST (ID)", density=True)
        ax.hist(L_ood[:, k], bins, alpha=0.6, label="MNIST (OoD)", density=True)
        ax.set_title(f"FSSD at {name}")
    np.atleast_1d(axes)[0].legend()
    fig.tight_layout()
    files["histograms"] = _save(fig, out / "fmnist_mnist_layers.png")

    # Fig. 1 right: PCA of fc1 features with F* marked
    layer = "fc1" if "fc1" in fssd.layers_ else fssd.layers_[-1]
    k = fssd.layers_.index(layer)
    tap = FeatureTap(fssd.model_, [layer])
    rng = np.random.RandomState(seed)
    noise = rng.uniform(fssd.noise_low_, fssd.noise_high_,
                        size=(200,) + tuple(fssd.input_shape_)).astype(np.float32)
    feats = {}
    with torch.inference_mode():
        for key, X in [("ID", data["X_test_id"][:1000]), ("OoD", data["X_test_ood"][:1000]),
                       ("noise", noise)]:
            feats[key] = tap(torch.as_tensor(X, device=fssd.device_))[0].flatten(1).cpu().numpy()
    pca = PCA(2, random_state=seed).fit(np.vstack([feats["ID"], feats["OoD"]]))
    star = pca.transform(fssd.singularities_[k].detach().cpu().numpy().reshape(1, -1))
    fig, ax = plt.subplots(figsize=(5, 4.5))
    for key, colour in [("ID", "C0"), ("OoD", "C1"), ("noise", "C7")]:
        P = pca.transform(feats[key])
        ax.scatter(P[:, 0], P[:, 1], s=4, alpha=0.5, c=colour, label=key)
    ax.scatter(star[:, 0], star[:, 1], marker="*", s=250, c="red", edgecolors="k",
               label="F* (mean of noise features)")
    ax.set_title(f"PCA of {layer} features")
    ax.legend()
    fig.tight_layout()
    files["pca"] = _save(fig, out / "fmnist_mnist_pca.png")

    # ROC curves
    fig, ax = plt.subplots(figsize=(8, 5))
    looks = method_styles(list(scores))
    for name in draw_order(scores):
        s = scores[name]
        y = np.r_[np.ones(len(s["id"])), np.zeros(len(s["ood"]))]
        fpr, tpr, _ = roc_curve(y, np.r_[s["id"], s["ood"]])
        ax.plot(fpr, tpr, **{**looks[name], "marker": None})
    ax.plot([0, 1], [0, 1], color="0.6", ls=":", lw=0.8, label="chance")
    ax.set_xlabel("FPR (MNIST accepted)")
    ax.set_ylabel("TPR (FMNIST accepted)")
    legend_outside(ax)
    fig.tight_layout()
    files["roc"] = _save(fig, out / "fmnist_mnist_roc.png")

    # Fig. 5: robustness
    fig, axes = plt.subplots(1, 2, figsize=(12, 4), sharey=True)
    for ax, kind in zip(axes, ["gaussian", "impulse"]):
        rows = [r for r in robust if r["corruption"] == kind]
        looks = method_styles(list(rows[0]["auroc"]))
        for name in draw_order(rows[0]["auroc"]):
            ax.plot([r["severity"] for r in rows], [r["auroc"][name] for r in rows],
                    **looks[name])
        ax.set_title(f"{kind} noise on ID test")
        ax.set_xlabel("severity")
    axes[0].set_ylabel("AUROC (%) corrupted FMNIST vs MNIST")
    legend_outside(axes[1])
    fig.tight_layout()
    files["robustness"] = _save(fig, out / "fmnist_mnist_robustness.png")
    return files


def _save(fig, path):
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=110, bbox_inches="tight")  # keeps legends placed outside the axes
    plt.close(fig)
    return path.name


# ---------------------------------------------------------------- run and write


def run(args):
    cfg = config(args.quick, args.epochs, args.n_ensemble, args.oe_epochs, args.device,
                 args.n_jobs)
    seed = args.seed
    t0 = time.perf_counter()
    data = load_data(cfg, seed)
    base, ensemble, oe, train_log = networks(data, cfg, seed, args.cache, args.train_only)
    if args.train_only:
        return {"networks": train_log}

    rows, fitted, scores = {}, {}, {}
    accuracy = {name: ood.accuracy(net, data["X_test_id"], data["y_test_id"]) for name, net in
                [("base", base), ("oe", oe)]
                + [(f"ensemble_{i}", n) for i, n in enumerate(ensemble)]}
    made = methods(base, ensemble, oe, data, cfg, seed)
    done = ood.evaluate(made, data["X_test_id"], data["X_test_ood"])
    rows = {name: {**d["row"], "paper_auroc": PAPER_AUROC.get(name)} for name, d in done.items()}
    fitted = {name: d["detector"] for name, d in done.items()}
    scores = {name: {"id": d["id"], "ood": d["ood"]} for name, d in done.items()}

    # FSSD per single layer: the raw FSSD_k of the tuned detector, no combination
    fssd = fitted["FSSD"]
    layers = ood.layer_reports(fssd, data["X_test_id"], data["X_test_ood"])

    tqdm.write("robustness: scoring corrupted test images")
    start = time.perf_counter()
    robust = robustness({"fitted": fitted, "scores": scores}, data, seed, cfg["n_robust"])
    robust_s = time.perf_counter() - start
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    files = plots(out, fssd, data, scores, robust, seed)
    plots_s = time.perf_counter() - start
    return {
        "command": command('fmnist-mnist', args.argv),
        "config": {k: v for k, v in cfg.items()},
        "seed": seed,
        "sizes": {"train": len(data["X_train"]), "val_id": int((data["y_val"] == 1).sum()),
                  "val_ood": int((data["y_val"] == -1).sum()),
                  "test_id": len(data["X_test_id"]), "test_ood": len(data["X_test_ood"]),
                  "aux_outliers": len(data["X_aux"]),
                  "robust_id": len(data["X_test_id"][:cfg["n_robust"]])},
        "networks": train_log,
        "test_accuracy": accuracy,
        "methods": rows,
        "fssd_layers": layers,
        "robustness": robust,
        "plots": files,
        "robustness_s": robust_s,
        "plots_s": plots_s,
        "total_s": time.perf_counter() - t0,
        "platform": {"python": platform.python_version(), "machine": platform.machine()},
    }


def markdown(res):
    lines = [
        "# FMNIST vs MNIST with LeNet (the paper's Table 2)", "",
        f"Command: `{res['command']}`. Seed {res['seed']}. Sizes: {res['sizes']}.",
        f"Networks: LeNet {res['config']['epochs']} epochs (the paper's recipe: 14), Deep "
        f"Ensemble of {res['config']['n_ensemble']} LeNets, Outlier Exposure fine-tuned "
        f"{res['config']['oe_epochs']} epochs (default 10); device {res['config']['device']}.",
        "Fashion-MNIST test accuracy: " + ", ".join(
            f"{k} {100 * v:.1f} %" for k, v in res["test_accuracy"].items()) + ".",
        f"Networks trained this run: {len(res['networks']['trained'])}, loaded from the "
        f"cache: {len(res['networks']['loaded'])} (their files are named in the JSON). "
        f"Training {sum(res['networks']['train_s'].values()):.0f} s, robustness "
        f"{res['robustness_s']:.0f} s, plots {res['plots_s']:.0f} s, total {res['total_s']:.0f} s.",
        "",
        "In-distribution (Fashion-MNIST) is the positive class. Metrics in %; AUPR-In is the "
        "paper's AUPRC; FPR80/FPR95 = share of MNIST accepted at 80 % / 95 % of Fashion-MNIST "
        "accepted (lower is better). Paper = the paper's own AUROC (Table 2).", "",
        "| method | AUROC | paper AUROC | AUPR-In | AUPR-Out | FPR80 | FPR95 | fit s | score s "
        "| parameters |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in res["methods"].items():
        params = ", ".join(f"{k}={v}" for k, v in r["params"].items())
        lines.append(
            f"| {name} | {fmt(r['auroc'])} | {fmt(r['paper_auroc'])} | {fmt(r['aupr_in'])} "
            f"| {fmt(r['aupr_out'])} | {fmt(r['fpr_at_80_tpr'])} | {fmt(r['fpr_at_95_tpr'])} "
            f"| {r['fit_s']:.1f} | {r['score_s']:.1f} | {params} |")
    lines += ["", "The paper reports for FSSD AUPRC 99.7 and FPR80 0.0.", "",
              "## FSSD per single layer (raw FSSD_k, no combination)", "",
              "| layer | AUROC | AUPR-In | FPR80 | FPR95 |", "|---|---|---|---|---|"]
    for name, r in res["fssd_layers"].items():
        lines.append(f"| {name} | {fmt(r['auroc'])} | {fmt(r['aupr_in'])} "
                     f"| {fmt(r['fpr_at_80_tpr'])} | {fmt(r['fpr_at_95_tpr'])} |")
    names = list(res["methods"])
    lines += ["", "## Robustness (Fig. 5)", "",
              "The detectors, unchanged, score Fashion-MNIST test images corrupted by noise; "
              f"AUROC (%) of {res['sizes']['robust_id']} corrupted Fashion-MNIST test images (ID) "
              "against the clean MNIST test images (OoD). Gaussian: "
              f"sigma {GAUSSIAN_SIGMAS}; impulse: salt-and-pepper share {IMPULSE_AMOUNTS}.", "",
              "| corruption | severity | " + " | ".join(names) + " |",
              "|---|---|" + "---|" * len(names)]
    for r in res["robustness"]:
        lines.append(f"| {r['corruption']} | {r['severity']} | "
                     + " | ".join(fmt(r["auroc"][n]) for n in names) + " |")
    lines += ["", "## Plots", ""]
    lines += [f"![{k}]({v})" for k, v in res["plots"].items()]
    return "\n".join(lines) + "\n"


def write(res, out):
    return ood.write(res, out, "fmnist_mnist", markdown(res))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks fmnist-mnist",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="small subsets, 1 epoch, short grids (a couple of minutes)")
    parser.add_argument("--cache", type=Path, default=CACHE,
                        help="folder of cached network weights (default benchmarks/cache)")
    parser.add_argument("--out", type=Path, default=RESULTS,
                        help="folder for fmnist_mnist.{md,json} and plots")
    parser.add_argument("--epochs", type=int, default=None,
                        help="training epochs of each LeNet (default 14, quick 1)")
    parser.add_argument("--n-ensemble", type=int, default=None,
                        help="networks of the Deep Ensemble (default 5, quick 2)")
    parser.add_argument("--oe-epochs", type=int, default=None,
                        help="fine-tuning epochs of the Outlier Exposure network (default 10)")
    parser.add_argument("--train-only", nargs="+", metavar="NET",
                        help="only train (or load) these networks into the cache and stop: base, "
                        "ensemble-1 ... ensemble-<n-1>, oe; run several such processes at once, "
                        "then the full command only scores")
    parser.add_argument("--n-jobs", type=int, default=None,
                        help="processes for each grid search (GridSearchCV n_jobs; default 1)")
    parser.add_argument("--device", default="cpu",
                        help="where networks train and detectors score: cpu, cuda or auto")
    parser.add_argument("--seed", type=int, default=0)
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    args.argv = argv
    res = run(args)
    if args.train_only:
        tqdm.write(f"networks: {res['networks']}")
        return res
    text = write(res, args.out)
    tqdm.write(text)
    return res


if __name__ == "__main__":
    main()
