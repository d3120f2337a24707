"""Fashion-MNIST with LeNet against seven OoD kinds, every method in the protocol's three settings.

    python -m benchmarks fmnist-mnist            # the whole experiment (hours of CPU), writes
                                                 # results/fmnist_mnist.{md,json} and plots
    python -m benchmarks fmnist-mnist --quick    # small subsets, 1 epoch (a couple of minutes)
    python -m benchmarks.fmnist_mnist [--quick]  # the same

Networks: LeNet trained on Fashion-MNIST train with the paper's recipe
(:func:`sklearn_fssd.training.train_lenet`: Adadelta, lr 1.0, gamma 0.7, batches of 64, 14
epochs), ``--n-ensemble`` more LeNets for Deep Ensemble and the FSSD network ensemble (seeds
``seed + 1 ...``), and an Outlier Exposure network: the trained LeNet fine-tuned (Adam, 10 epochs,
``lam`` 0.5) with notMNIST letters A-E as auxiliary outliers. Trained weights are cached under
``--cache`` (default ``benchmarks/cache/``, git-ignored), keyed by recipe, epochs, training size
and seed, so a rerun only scores.

Data (:mod:`benchmarks.protocol`'s :class:`~benchmarks.protocol.Case`): in distribution,
Fashion-MNIST train (networks; 5,000 of its images, --quick 500, fit what needs no OoD data)
and, from Fashion-MNIST test, 500 validation and 2,000 test images (--quick 60 and 150). OoD
kinds, each with 500 validation and 2,000 test samples (--quick 60 and 150), disjoint:
``MNIST`` (test digits, the paper's OoD set and the reference kind), ``notMNIST`` (letters F-J;
A-E are Outlier Exposure's auxiliary outliers, and no F-J image equal to one of them is used),
and the kinds of :func:`benchmarks.ood_kinds.image_kinds`, made from the 7,500 Fashion-MNIST
test images used nowhere else: uniform noise, Gaussian noise, far out (images times 10), and
Fashion-MNIST corrupted by noise and by blur (dataset shift).

Protocol (:mod:`benchmarks.protocol`), methods (:mod:`benchmarks.methods`): every method in
three settings, a table each. No OoD data: every detector fitted on the training images alone,
with its library defaults (ODIN: temperature 1000 and epsilon 0.0014, the values its paper
settles on; MC Dropout: the network's own dropout rates). Tuned on one other OoD kind: every
column is tuned on MNIST, the paper's tuning kind, and the MNIST column on notMNIST. The
paper's setting: tuned on the test kind, kept only to compare with the paper's Table 2, so
only its MNIST column (each column of that setting costs one more tuning of every method).

What a method fits and tunes on OoD validation data: the layer stack of FSSD on the validation
images (``combine="auto"``: its rule without OoD data with the layers' atypicality weighted
non-negatively by a logistic regression, and guarded by that rule) and Mahalanobis's (the same
kind of stack over its layers' distances); epsilon of FSSD (0, 0.01, ..., 0.2, the paper's grid), ODIN
(0, 0.0005, 0.001, 0.0014, 0.002, 0.0024, 0.005, 0.01, 0.05, 0.1, 0.2, its paper's grid) with
its temperature (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, its paper's) and Mahalanobis (0,
0.0005, 0.001, 0.0014, 0.002, 0.005, 0.01, its paper's) by ``GridSearchCV`` (stratified, shuffled
3-fold, ROC-AUC; --quick: 2-fold, two values each); MC Dropout's rate over {0.1, 0.25, 0.5}
with 32 passes (the paper does not state its grid; --quick: {0.25, 0.5}, 4 passes).
Mahalanobis fits its class Gaussians on the training images with their classes, as Lee et al.
do, and its layer stack on them against the validation OoD samples, over FSSD's default layers.
MSP, Energy, Deep Ensemble and OE use no OoD data in any setting: one fit serves every column.
FSSD without pre-processing (epsilon 0) and the FSSD network ensemble (the ``--n-ensemble``
LeNets, epsilon as FSSD chose on the same kind) are extras.

Metrics: :func:`sklearn_fssd.metrics.ood_report` with in-distribution as the *positive* class (the
paper's convention): AUROC, AUPR-In (the paper's AUPRC), AUPR-Out, FPR of OoD at 95 % TPR of
ID, per kind and their mean over the kinds; each fit's parameters, fit and score seconds;
FSSD per single layer; ``--transfer`` adds the AUROC of every tuned fit on every kind. Plots:
per-layer FSSD histograms of each kind (the paper's Fig. 6), PCA of ``fc1`` features with ``F*``
marked (Fig. 1 right), the mean AUROC of each method in each setting.
"""

import copy
import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from benchmarks import _ood as ood
from benchmarks import protocol
from benchmarks._ood import command, fmt
from benchmarks._provenance import provenance, provenance_line
from benchmarks.methods import (DROPOUT_RATES, FSSD_EPSILONS, MAHA_EPSILONS, ODIN_EPSILONS,
                                ODIN_TEMPERATURES, ood_methods)
from benchmarks.protocol import Kind


#: The paper's Table 2, FMNIST vs MNIST with LeNet, AUROC in %.
PAPER_AUROC = {
    "Base": 77.3, "ODIN": 96.9, "Maha": 99.6, "DE": 83.9, "MCD": 81.7, "OE": 99.6, "FSSD": 99.6,
}

MAIN_METHODS = ["Base", "ODIN", "Maha", "DE", "MCD", "OE", "FSSD"]

#: The auxiliary outliers of Outlier Exposure, as the case names them.
AUX = "OE outliers (notMNIST A-E)"


def config(quick, epochs=None, n_ensemble=None, oe_epochs=None, device="cpu", n_jobs=None):
    """Sizes of the run: the paper's, or small ones for --quick."""
    if quick:
        cfg = dict(n_train=2000, epochs=1, n_ensemble=2, oe_epochs=1, n_aux=1000,
                   n_val=60, n_test=150, n_fit=500, fssd_eps=[0.0, 0.01],
                   odin_eps=[0.0, 0.0014], temperatures=[1, 1000], maha_eps=[0.0, 0.0014],
                   dropout_rates=[0.25, 0.5], n_passes=4, cv=2)
    else:
        cfg = dict(n_train=None, epochs=14, n_ensemble=5, oe_epochs=10, n_aux=5000,
                   n_val=500, n_test=2000, n_fit=5000, fssd_eps=FSSD_EPSILONS,
                   odin_eps=ODIN_EPSILONS, temperatures=ODIN_TEMPERATURES,
                   maha_eps=MAHA_EPSILONS, dropout_rates=DROPOUT_RATES, n_passes=32, cv=3)
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


def load_case(cfg, seed):
    """The protocol's case: Fashion-MNIST in distribution, seven OoD kinds, OE's outliers."""
    from benchmarks.ood_kinds import image_kinds
    from sklearn_fssd.datasets import load_fashion_mnist, load_mnist, load_notmnist

    X_tr, y_tr = load_fashion_mnist("train", as_float=True)
    X_fte, y_fte = load_fashion_mnist("test", as_float=True)
    X_mte, _ = load_mnist("test", as_float=True)
    X_nm, y_nm = load_notmnist(as_float=True)
    rng = np.random.RandomState(seed)
    if cfg["n_train"] is not None:
        keep = rng.permutation(len(X_tr))[: cfg["n_train"]]
        X_tr, y_tr = X_tr[keep], y_tr[keep]
    n_val, n_test = cfg["n_val"], cfg["n_test"]
    order = rng.permutation(len(X_fte))
    val, test, source = order[:n_val], order[n_val:n_val + n_test], order[n_val + n_test:]
    # auxiliary outliers for OE: letters A-E only (labels 0-4); the F-J kind keeps none of them
    aux = X_nm[rng.permutation(np.flatnonzero(y_nm <= 4))[: cfg["n_aux"]]]
    letters = X_nm[y_nm >= 5]
    kinds = {
        "MNIST": Kind.draw(X_mte[protocol.unique_rows(X_mte)], n_val, n_test, rng,
                           note="MNIST test digits (the paper's OoD set)"),
        "notMNIST": Kind.draw(letters[protocol.unique_rows(letters, exclude=[aux])], n_val,
                              n_test, rng, note="notMNIST letters F-J, none equal to an OE "
                              "outlier (A-E)"),
        **image_kinds(X_fte[source], n_val, n_test, rng),
    }
    return protocol.Case("Fashion-MNIST", X_tr, y_tr, X_fte[val], y_fte[val], X_fte[test],
                         kinds, auxiliary={AUX: aux}, y_test=y_fte[test], same_kind=["MNIST"])


# ---------------------------------------------------------------- networks


def networks(case, cfg, seed, cache, only=None):
    """The base LeNet, the ensemble LeNets and the OE LeNet (trained or from the cache), all
    trained on the case's training images (and OE's on its auxiliary outliers).

    ``only`` (a list of ``"base"``, ``"ensemble-<i>"``, ``"oe"``) trains or loads just those
    networks and returns None for the rest, so several processes can fill the cache at once.
    """
    from sklearn_fssd.training import train_lenet, train_outlier_exposure

    X, y, aux = case.X_train, case.y_train, case.auxiliary[AUX]
    n = len(X)
    log = {"trained": [], "loaded": [], "train_s": {}}
    tag = f"adadelta-lr1-g0.7-b64_e{cfg['epochs']}_n{n}"

    def wanted(key):
        return only is None or key in only

    def lenet(s):
        return lambda: train_lenet(X, y, max_epochs=cfg["epochs"], random_state=s,
                                   device=cfg["device"])

    base = (ood.cached_lenet(cache, f"lenet_{tag}_s{seed}.pt", lenet(seed), log)
            if wanted("base") or wanted("oe") else None)
    ensemble = [base] + [
        ood.cached_lenet(cache, f"lenet_{tag}_s{seed + i}.pt", lenet(seed + i), log)
        if wanted(f"ensemble-{i}") else None
        for i in range(1, cfg["n_ensemble"])
    ]
    oe_name = f"lenet-oe_{tag}_adam-lam0.5-e{cfg['oe_epochs']}_aux{len(aux)}_s{seed}.pt"
    oe = ood.cached_lenet(
        cache, oe_name,
        lambda: train_outlier_exposure(copy.deepcopy(base), X, y, aux,
                                       max_epochs=cfg["oe_epochs"], random_state=seed,
                                       device=cfg["device"]),
        log,
    ) if wanted("oe") else None
    return base, ensemble, oe, log


# ---------------------------------------------------------------- plots


def plots(out, fssd, case, results, seed):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.decomposition import PCA
    import torch

    from benchmarks._plots import legend_outside
    from sklearn_fssd.features import FeatureTap

    files = {}
    # Fig. 6: per-layer FSSD of the detector fitted without OoD data, for each kind
    parts = {"Fashion-MNIST (ID)": case.X_test, **{k: v.test for k, v in case.kinds.items()}}
    layer_scores = {name: np.log10(fssd.layer_scores(X) + 1e-12) for name, X in parts.items()}
    fig, axes = plt.subplots(1, len(fssd.layers_), figsize=(4 * len(fssd.layers_), 3.4))
    axes = np.atleast_1d(axes)
    for k, (ax, layer) in enumerate(zip(axes, fssd.layers_)):
        bins = np.histogram_bin_edges(np.concatenate([L[:, k] for L in layer_scores.values()]),
                                      50)
        for i, (name, L) in enumerate(layer_scores.items()):
            ax.hist(L[:, k], bins, histtype="step", density=True, label=name,
                    lw=2.2 if i == 0 else 1.2, color=f"C{i}")
        ax.set_title(f"FSSD at {layer}")
        ax.set_xlabel("log10 FSSD_k")
    legend_outside(axes[-1])
    fig.tight_layout()
    files["histograms"] = _save(fig, out / "fmnist_mnist_layers.png")

    # Fig. 1 right: PCA of fc1 features with F* marked (ID, MNIST, noise)
    layer = "fc1" if "fc1" in fssd.layers_ else fssd.layers_[-1]
    k = fssd.layers_.index(layer)
    tap = FeatureTap(fssd.model_, [layer])
    rng = np.random.RandomState(seed)
    noise = rng.uniform(fssd.noise_low_, fssd.noise_high_,
                        size=(200,) + tuple(fssd.input_shape_)).astype(np.float32)
    feats = {}
    with torch.inference_mode():
        for key, X in [("ID", case.X_test[:1000]), ("MNIST", case.kinds["MNIST"].test[:1000]),
                       ("noise", noise)]:
            feats[key] = tap(torch.as_tensor(X, device=fssd.device_))[0].flatten(1).cpu().numpy()
    pca = PCA(2, random_state=seed).fit(np.vstack([feats["ID"], feats["MNIST"]]))
    star = pca.transform(fssd.singularities_[k].detach().cpu().numpy().reshape(1, -1))
    fig, ax = plt.subplots(figsize=(5, 4.5))
    for key, colour in [("ID", "C0"), ("MNIST", "C1"), ("noise", "C7")]:
        P = pca.transform(feats[key])
        ax.scatter(P[:, 0], P[:, 1], s=4, alpha=0.5, c=colour, label=key)
    ax.scatter(star[:, 0], star[:, 1], marker="*", s=250, c="red", edgecolors="k",
               label="F* (mean of noise features)")
    ax.set_title(f"PCA of {layer} features")
    ax.legend()
    fig.tight_layout()
    files["pca"] = _save(fig, out / "fmnist_mnist_pca.png")

    # the mean AUROC over the kinds of each method, in each setting
    settings = results["settings"]
    names = list(next(iter(settings.values()))["mean"])
    fig, ax = plt.subplots(figsize=(10, 4))
    width = 0.8 / len(settings)
    for i, (setting, block) in enumerate(settings.items()):
        ax.bar(np.arange(len(names)) + i * width, [block["mean"][n]["auroc"] for n in names],
               width, label=protocol.SETTINGS[setting].split(":")[0], color=f"C{i}")
    ax.set_xticks(np.arange(len(names)) + width * (len(settings) - 1) / 2)
    ax.set_xticklabels(names, rotation=30, ha="right")
    ax.axhline(50, color="0.5", ls=":", lw=0.8)
    ax.set_ylabel("mean AUROC over the OoD kinds (%)")
    legend_outside(ax)
    fig.tight_layout()
    files["settings"] = _save(fig, out / "fmnist_mnist_settings.png")
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
    started = time.perf_counter()
    case = load_case(cfg, seed)
    base, ensemble, oe, train_log = networks(case, cfg, seed, args.cache, args.train_only)
    if args.train_only:
        return {"networks": train_log}

    accuracy = {name: ood.accuracy(net, case.X_test, case.y_test)
                for name, net in [("base", base), ("oe", oe)]
                + [(f"ensemble_{i}", n) for i, n in enumerate(ensemble)]}
    made = ood_methods(base, cfg, seed, ensemble=ensemble, oe=oe)
    ev = protocol.evaluate(case, made, transfer=args.transfer)
    fssd = ev.detectors["FSSD", None]  # fitted on training images only
    layers = {kind: ood.layer_reports(fssd, case.X_test, k.test) for kind, k in case.kinds.items()}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    files = plots(out, fssd, case, ev.results, seed)
    plots_s = time.perf_counter() - start
    return {
        **provenance(command("fmnist-mnist", args.argv), seed=seed, started=started),
        "config": dict(cfg),
        "sizes": {"train": len(case.X_train), "val_id": len(case.X_val),
                  "test_id": len(case.X_test), AUX: len(case.auxiliary[AUX]),
                  **{f"{k} val/test": [len(v.val), len(v.test)] for k, v in case.kinds.items()}},
        "kinds": {k: {"family": v.family, "note": v.note} for k, v in case.kinds.items()},
        "networks": train_log,
        "test_accuracy": accuracy,
        **ev.results,
        "paper_auroc": PAPER_AUROC,
        "fssd_layers": layers,
        "plots": files,
        "plots_s": plots_s,
    }


def sizes_line(res, cfg):
    sizes, kinds = res["sizes"], res["kinds"]
    val, test = sizes[f"{next(iter(kinds))} val/test"]
    return (f"Sizes: {sizes['train']:,} Fashion-MNIST training images train the networks, "
            f"{cfg['n_fit']:,} of them fit what needs no OoD data; {sizes['val_id']:,} validation "
            f"and {sizes['test_id']:,} test images of Fashion-MNIST, {val:,} and {test:,} of each "
            f"OoD kind; {sizes[AUX]:,} OE outliers.")


def markdown(res):
    cfg, net = res["config"], res["networks"]
    lines = [
        "# Fashion-MNIST with LeNet against seven OoD kinds, in three settings", "",
        provenance_line(res),
        sizes_line(res, cfg),
        f"Networks: LeNet {cfg['epochs']} epochs (the paper's recipe: 14), Deep Ensemble of "
        f"{cfg['n_ensemble']} LeNets, Outlier Exposure fine-tuned {cfg['oe_epochs']} epochs "
        f"(default 10) with {res['sizes'][AUX]} notMNIST letters A-E; device {cfg['device']}. "
        "Fashion-MNIST test accuracy: " + ", ".join(
            f"{k} {100 * v:.1f} %" for k, v in res["test_accuracy"].items()) + ". "
        f"Trained this run: {len(net['trained'])} ({sum(net['train_s'].values()):.0f} s), "
        f"loaded from the cache: {len(net['loaded'])} (named in the JSON).", "",
        "OoD kinds (validation and test samples disjoint, none equal to a training, "
        "validation or test image or an OE outlier): "
        + "; ".join(f"**{k}**: {v['note']}" + (f" (family {v['family']})" if v["family"]
                                                 else "")
                    for k, v in res["kinds"].items()) + ".", "",
        protocol.describe(res, "Fashion-MNIST") + " **OE's network was trained with notMNIST "
        "letters A-E**, so its numbers are never free of OoD data, and its notMNIST column "
        "(letters F-J) is a kind it was trained against.", "",
        "## The three settings", "", *protocol.tables(res),
    ]
    paper = res["settings"]["same_kind"]["columns"]["MNIST"]["methods"]
    lines += ["## The paper's Table 2 (MNIST column of the paper's setting)", "",
              "| method | AUROC | paper AUROC | AUPR-In | AUPR-Out | FPR95 |",
              "|---|---|---|---|---|---|"]
    for name, r in paper.items():
        lines.append(f"| {name} | {fmt(r['auroc'])} | {fmt(res['paper_auroc'].get(name))} "
                     f"| {fmt(r['aupr_in'])} | {fmt(r['aupr_out'])} | {fmt(r['fpr_at_95_tpr'])} |")
    lines += ["", "## FSSD per single layer, no OoD data (raw FSSD_k, AUROC %)", "",
              *ood.layer_table(res["fssd_layers"]), "", *protocol.details(res)]
    lines += ["## Plots", ""]
    lines += [f"![{k}]({v})" for k, v in res["plots"].items()]
    return "\n".join(lines) + "\n"


def write(res, out):
    return ood.write(res, out, "fmnist_mnist", markdown(res))


def main(argv=None):
    parser = ood.benchmark_parser("fmnist-mnist", __doc__, "fmnist_mnist",
                                  "small subsets, 1 epoch, short grids (a couple of minutes)")
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
    parser.add_argument("--transfer", action="store_true",
                        help="also score every tuned fit on every OoD kind (more scoring)")
    parser.add_argument("--n-jobs", type=int, default=None,
                        help="processes for each grid search (GridSearchCV n_jobs; default 1)")
    parser.add_argument("--device", default="cpu",
                        help="where networks train and detectors score: cpu, cuda or auto")
    args = ood.parse_benchmark_args(parser, argv)
    res = run(args)
    if args.train_only:
        tqdm.write(f"networks: {res['networks']}")
        return res
    text = write(res, args.out)
    tqdm.write(text)
    return res


if __name__ == "__main__":
    main()
