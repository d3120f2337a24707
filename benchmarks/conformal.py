"""Calibrated thresholds on Fashion-MNIST: the false-alarm rate asked for against the one observed.

    python -m benchmarks conformal            # about 5 minutes on one CPU thread
    python -m benchmarks conformal --quick    # small subsets, in seconds (the tests run it)

Issue 16.2. Fashion-MNIST training images are split three ways by the seed: ``n_net`` train a
LeNet (:func:`sklearn_fssd.training.train_lenet`, the paper's recipe: Adadelta, lr 1.0, gamma
0.7, batches of 64, but ``--epochs`` epochs, default 2, instead of its 14, to fit the time
budget); ``n_fit`` of those same images fit :class:`~sklearn_fssd.FSSDDetector` with in-
distribution data only (``F*`` from uniform noise, the layers stacked against synthetic
outliers: no OoD data anywhere); ``n_pool`` images that neither the network nor the detector
sees form the calibration pool. In-distribution test: Fashion-MNIST test; OoD test: MNIST test.

For each calibration size ``n`` and ``alpha`` in 0.01, 0.05, 0.1, ``--draws`` random calibration
sets of ``n`` images are drawn from the pool; each sets the conformal threshold
(:func:`sklearn_fssd.conformal_threshold`), and the share of Fashion-MNIST test images flagged
(the false-alarm rate, FAR) and of MNIST test images flagged (the detection rate) are recorded.
Scores are computed once; the first draw of each alpha also runs through the estimator,
``ConformalDetector(FrozenEstimator(detector), calibration_size="all")``, and its ``predict`` is
checked to flag the same images. Beside it, what ``FSSDDetector(contamination=alpha)`` gives
today: its threshold is the alpha-quantile of the scores of its own fit images.
Trained weights are cached under ``--cache`` (git-ignored), so a rerun only scores.
"""

import time

import numpy as np
from tqdm.auto import tqdm

from benchmarks import _ood as ood
from benchmarks._ood import command, fmt
from benchmarks._provenance import provenance


ALPHAS = [0.01, 0.05, 0.1]


def config(quick, epochs=None, draws=None, device="cpu"):
    """Sizes of the run: the full one, or small ones for --quick."""
    if quick:
        cfg = dict(n_net=2000, epochs=1, n_fit=500, n_pool=1000, n_test=1000,
                   calibration_sizes=[100, 500], draws=100)
    else:
        cfg = dict(n_net=50000, epochs=2, n_fit=5000, n_pool=10000, n_test=None,
                   calibration_sizes=[100, 1000, 5000], draws=1000)
    if epochs is not None:
        cfg["epochs"] = epochs
    if draws is not None:
        cfg["draws"] = draws
    cfg["device"] = device
    return cfg


def load_data(cfg, seed):
    """Network, detector-fit and calibration-pool images (the pool disjoint from the others)."""
    from sklearn_fssd.datasets import load_fashion_mnist, load_mnist

    X_tr, y_tr = load_fashion_mnist("train", as_float=True)
    X_fte, y_fte = load_fashion_mnist("test", as_float=True)
    X_mte, _ = load_mnist("test", as_float=True)
    if cfg["n_net"] + cfg["n_pool"] > len(X_tr):
        raise ValueError(f"n_net + n_pool exceeds the {len(X_tr)} Fashion-MNIST training images")
    rng = np.random.RandomState(seed)
    order = rng.permutation(len(X_tr))
    net_rows, pool_rows = order[:cfg["n_net"]], order[len(order) - cfg["n_pool"]:]
    n_test = cfg["n_test"]
    f_test = rng.permutation(len(X_fte))[:n_test] if n_test else np.arange(len(X_fte))
    m_test = rng.permutation(len(X_mte))[:n_test] if n_test else np.arange(len(X_mte))
    return {
        "X_net": X_tr[net_rows], "y_net": y_tr[net_rows],
        "X_fit": X_tr[net_rows[:cfg["n_fit"]]],
        "X_pool": X_tr[pool_rows],
        "X_test_id": X_fte[f_test], "y_test_id": y_fte[f_test], "X_test_ood": X_mte[m_test],
    }


def network(data, cfg, seed, cache):
    from benchmarks._ood import cached_lenet
    from sklearn_fssd.training import train_lenet

    log = {"trained": [], "loaded": [], "train_s": {}}
    name = (f"lenet_adadelta-lr1-g0.7-b64_e{cfg['epochs']}_n{cfg['n_net']}"
            f"_pool{cfg['n_pool']}-held-out_s{seed}.pt")
    net = cached_lenet(cache, name, lambda: train_lenet(
        data["X_net"], data["y_net"], max_epochs=cfg["epochs"], random_state=seed,
        device=cfg["device"]), log)
    return net, log


def contamination_detectors(net, X_fit, cfg, seed):
    """``FSSDDetector(contamination=c)`` fitted on the ID fit images, c in "auto" and ALPHAS."""
    from sklearn_fssd import FSSDDetector

    fitted = {}
    for contamination in tqdm(["auto", *ALPHAS], desc="fits"):
        start = time.perf_counter()
        det = FSSDDetector(net, contamination=contamination, device=cfg["device"],
                           random_state=seed).fit(X_fit)
        fitted[contamination] = {"detector": det, "fit_s": time.perf_counter() - start}
    return fitted


def draws(scores, n, alpha, n_draws, seed):
    """Conformal thresholds from ``n_draws`` random calibration sets of ``n`` pool scores."""
    from sklearn_fssd import conformal_threshold
    from sklearn_fssd.conformal import _n_flaggable_ranks

    rng = np.random.RandomState(seed)
    far, far_rest, detection, calibrations = [], [], [], []
    for _ in range(n_draws):
        calibration = rng.choice(len(scores["pool"]), n, replace=False)
        threshold = conformal_threshold(scores["pool"][calibration], alpha)
        rest = np.ones(len(scores["pool"]), bool)
        rest[calibration] = False
        far.append(np.mean(scores["id"] < threshold))
        far_rest.append(np.mean(scores["pool"][rest] < threshold))
        detection.append(np.mean(scores["ood"] < threshold))
        calibrations.append(calibration)
    far, far_rest, detection = np.array(far), np.array(far_rest), np.array(detection)
    k = _n_flaggable_ranks(n, alpha)
    row = {
        "alpha": alpha, "n_calibration": n, "k": k, "expected_far": k / (n + 1),
        "far_mean": far.mean(), "far_sd": far.std(ddof=1),
        "far_p05": np.percentile(far, 5), "far_p95": np.percentile(far, 95),
        "share_of_draws_far_above_alpha": float(np.mean(far > alpha)),
        "far_rest_of_pool_mean": far_rest.mean(), "far_rest_of_pool_sd": far_rest.std(ddof=1),
        "detection_mean": detection.mean(), "detection_sd": detection.std(ddof=1),
    }
    return row, calibrations[0], far[0], detection[0]


def through_the_estimator(detector, data, calibration, alpha):
    """The first draw again, through ConformalDetector(FrozenEstimator(detector), "all")."""
    from sklearn.frozen import FrozenEstimator

    from sklearn_fssd import ConformalDetector

    conformal = ConformalDetector(FrozenEstimator(detector), alpha=alpha,
                                  calibration_size="all").fit(data["X_pool"][calibration])
    return {"far": float(np.mean(conformal.predict(data["X_test_id"]) == -1)),
            "detection": float(np.mean(conformal.predict(data["X_test_ood"]) == -1)),
            "offset": conformal.offset_}


def run(args):
    cfg = config(args.quick, args.epochs, args.draws, args.device)
    seed, started = args.seed, time.perf_counter()
    data = load_data(cfg, seed)
    net, train_log = network(data, cfg, seed, args.cache)
    fitted = contamination_detectors(net, data["X_fit"], cfg, seed)
    detector = fitted["auto"]["detector"]
    tqdm.write("scoring the pool and the test sets")
    start = time.perf_counter()
    scores = {key: detector.score_samples(data[f"X_{key}"])
              for key in ["fit", "pool", "test_id", "test_ood"]}
    scores["id"], scores["ood"] = scores.pop("test_id"), scores.pop("test_ood")
    score_s = time.perf_counter() - start
    # contamination changes only offset_: the fits must give the same scores
    probe = data["X_test_id"][:500]
    score_diff = max(float(np.max(np.abs(f["detector"].score_samples(probe) - scores["id"][:500])))
                     for f in fitted.values())

    rows, api = [], []
    for n in cfg["calibration_sizes"]:
        for alpha in ALPHAS:
            # the same calibration draws for every alpha of one n (seed + n)
            row, first, far0, det0 = draws(scores, n, alpha, cfg["draws"], seed + n)
            rows.append(row)
            if n == cfg["calibration_sizes"][len(cfg["calibration_sizes"]) // 2]:
                est = through_the_estimator(detector, data, first, alpha)
                api.append({"alpha": alpha, "n_calibration": n, "estimator": est,
                            "functions": {"far": far0, "detection": det0},
                            "same": bool(est["far"] == far0 and est["detection"] == det0)})
    baseline = []
    for contamination, f in fitted.items():
        offset = f["detector"].offset_
        baseline.append({
            "contamination": contamination, "offset": offset, "fit_s": f["fit_s"],
            "far_test": float(np.mean(scores["id"] < offset)),
            "far_pool": float(np.mean(scores["pool"] < offset)),
            "far_fit_images": float(np.mean(scores["fit"] < offset)),
            "detection": float(np.mean(scores["ood"] < offset)),
        })
    return {
        **provenance(command("conformal", args.argv), seed=seed, started=started),
        "config": cfg,
        "sizes": {"net_train": len(data["X_net"]), "detector_fit": len(data["X_fit"]),
                  "calibration_pool": len(data["X_pool"]), "test_id": len(data["X_test_id"]),
                  "test_ood": len(data["X_test_ood"])},
        "network": train_log,
        "test_accuracy": ood.accuracy(net, data["X_test_id"], data["y_test_id"]),
        "combine": detector.combine_,
        "detector_metrics": ood.report(scores["id"], scores["ood"]),
        "score_s": score_s,
        "max_score_difference_between_fits": score_diff,
        "conformal": rows,
        "estimator_check": api,
        "contamination": baseline,
    }


def markdown(res):
    cfg, pct = res["config"], lambda v: fmt(100 * v, 2)
    machine = res["machine"]
    lines = [
        "# Calibrated thresholds on Fashion-MNIST: target vs observed false-alarm rate", "",
        f"Command: `{res['command']}`. Seed {res['seed']}. Commit {res['commit']}"
        f"{' (with uncommitted changes)' if res['uncommitted_changes'] else ''}. Wall time "
        f"{res['wall_s']:.0f} s on {machine['platform']} ({machine['cpus']} CPUs, "
        f"{machine['torch_threads']} torch thread(s)), of which network training "
        f"{sum(res['network']['train_s'].values()):.0f} s (trained: "
        f"{res['network']['trained'] or 'none'}; from cache: {res['network']['loaded'] or 'none'}"
        "). Versions: " + ", ".join(f"{k} {v}" for k, v in res["versions"].items()) + ".", "",
        f"LeNet trained {cfg['epochs']} epoch(s) with the paper's recipe otherwise (the paper: "
        f"14 epochs) on {res['sizes']['net_train']} Fashion-MNIST training images: test accuracy "
        f"{100 * res['test_accuracy']:.1f} %. `FSSDDetector` fitted on "
        f"{res['sizes']['detector_fit']} of those images, with no OoD data (`combine_` = "
        f"{res['combine']!r}, the default rule without OoD data); AUROC FMNIST vs MNIST "
        f"{fmt(res['detector_metrics']['auroc'])} %. Calibration pool: "
        f"{res['sizes']['calibration_pool']} Fashion-MNIST training images seen by neither the "
        f"network nor the detector. Test: {res['sizes']['test_id']} Fashion-MNIST test images "
        f"(ID) and {res['sizes']['test_ood']} MNIST test images (OoD).", "",
        "## Conformal thresholds (`ConformalDetector`)", "",
        f"Each row: {cfg['draws']} random calibration sets of n images drawn from the pool. FAR = "
        "share of Fashion-MNIST test images flagged (the false-alarm rate); detection = share of "
        "MNIST test images flagged. The guarantee: the mean FAR over calibration draws is at "
        "most alpha; with k = floor(alpha (n + 1)) it is k / (n + 1) for scores without ties, "
        "if the test images are exchangeable with the calibration images. The pool's other "
        "images are exchangeable with the calibration images by construction (column 'rest of "
        "pool'); the Fashion-MNIST test split need not be (the last table shows one threshold "
        "flagging different shares of the pool and of the test set). Rates in %.", "",
        "| alpha | n | k/(n+1) | FAR mean | FAR sd | FAR 5-95 % of draws | draws with FAR > alpha "
        "| FAR rest of pool: mean | sd | detection mean | detection sd |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in res["conformal"]:
        lines.append(
            f"| {r['alpha']} | {r['n_calibration']} | {pct(r['expected_far'])} "
            f"| {pct(r['far_mean'])} | {pct(r['far_sd'])} | {pct(r['far_p05'])} - "
            f"{pct(r['far_p95'])} | {pct(r['share_of_draws_far_above_alpha'])} "
            f"| {pct(r['far_rest_of_pool_mean'])} | {pct(r['far_rest_of_pool_sd'])} "
            f"| {pct(r['detection_mean'])} | {pct(r['detection_sd'])} |")
    checks = res["estimator_check"]
    lines += [
        "", "Through the estimator: the first draw of each alpha at n = "
        f"{checks[0]['n_calibration']}, run as `ConformalDetector(FrozenEstimator(detector), "
        "alpha=alpha, calibration_size=\"all\")`, flags "
        + ("the same images as the functions" if all(c["same"] for c in checks)
           else "DIFFERENT images from the functions: "
           + str([(c["alpha"], c["same"]) for c in checks]))
        + " (" + "; ".join(f"alpha {c['alpha']}: FAR {pct(c['estimator']['far'])} %, detection "
                           f"{pct(c['estimator']['detection'])} %" for c in checks) + ").",
        "", "## What `FSSDDetector(contamination=alpha)` gives today", "",
        "The threshold is the alpha-quantile of the detector's scores of its own fit images; "
        "nothing bounds its false-alarm rate on new images. Rates in %.", "",
        "| contamination | FAR on FMNIST test | FAR on held-out FMNIST train (the pool) "
        "| FAR on the fit images | detection (MNIST flagged) |",
        "|---|---|---|---|---|",
    ]
    for r in res["contamination"]:
        lines.append(f"| {r['contamination']} | {pct(r['far_test'])} "
                     f"| {pct(r['far_pool'])} | {pct(r['far_fit_images'])} "
                     f"| {pct(r['detection'])} |")
    lines += ["", f"The detectors fitted with each contamination give the same scores (largest "
              f"difference {res['max_score_difference_between_fits']:.1e}); only `offset_` "
              "differs."]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = ood.benchmark_parser("conformal", __doc__, "conformal",
                                  "small subsets, 1 epoch, 100 draws")
    parser.add_argument("--epochs", type=int, default=None,
                        help="LeNet training epochs (default 2, quick 1; the paper: 14)")
    parser.add_argument("--draws", type=int, default=None,
                        help="random calibration sets per row (default 1000, quick 100)")
    parser.add_argument("--device", default="cpu",
                        help="where the network trains and the detector scores: cpu, cuda, auto")
    args = ood.parse_benchmark_args(parser, argv)
    res = run(args)
    tqdm.write(ood.write(res, args.out, "conformal", markdown(res)))
    return res


if __name__ == "__main__":
    main()
