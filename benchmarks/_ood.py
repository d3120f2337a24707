"""Pieces the OoD-detection benchmarks share: the tuning, the metrics, the files they write.

The evaluation itself (settings, OoD kinds, leakage audit) is :mod:`benchmarks.protocol`.
"""

import argparse
import re
from pathlib import Path

import numpy as np

#: Where the benchmarks write their results and cache trained networks.
RESULTS = Path(__file__).resolve().parent / "results"
CACHE = Path(__file__).resolve().parent / "cache"
#: Where a --quick run writes without --out (git-ignored): never over a reported results file.
QUICK_RESULTS = RESULTS / "quick"


class ResultsParser(argparse.ArgumentParser):
    """A benchmark's command line, with ``--out``, the folder for ``what`` (its results files):
    parsed, ``args.out`` is ``--out`` if given, else :data:`QUICK_RESULTS` for a ``--quick``
    run and :data:`RESULTS` for a full one."""

    def __init__(self, what, **kwargs):
        super().__init__(**kwargs)
        self.add_argument("--out", type=Path, default=None,
                          help=f"folder for {what} (default benchmarks/results; with --quick "
                          "benchmarks/results/quick, so a quick run never replaces a reported "
                          "file)")

    def parse_known_args(self, args=None, namespace=None):
        parsed, rest = super().parse_known_args(args, namespace)
        if parsed.out is None:
            parsed.out = QUICK_RESULTS if getattr(parsed, "quick", False) else RESULTS
        return parsed, rest


def search(estimator, grid, X_val, y_val, *, cv, seed, n_jobs=None, refit_on=None,
           **fit_params):
    """Tune ``estimator`` over ``grid`` on labelled validation data (+1 ID, -1 OoD).

    ``GridSearchCV`` with stratified, shuffled ``cv``-fold splits and ROC-AUC, refitted on all of
    the validation data, or with ``refit_on`` (``(X, y)``) on those samples instead (without
    ``fit_params``, which go to the search's fits); ``n_jobs`` worker processes (joblib gives
    each one torch thread). Returns the best estimator and its parameters (floats as plain
    floats).
    """
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    folds = StratifiedKFold(cv, shuffle=True, random_state=seed)
    found = GridSearchCV(estimator, grid, scoring="roc_auc", cv=folds, refit=refit_on is None,
                         n_jobs=n_jobs)
    found.fit(X_val, y_val, **fit_params)
    params = {k: (float(v) if isinstance(v, (float, np.floating)) else v)
              for k, v in found.best_params_.items()}
    if refit_on is None:
        return found.best_estimator_, params
    return clone(estimator).set_params(**found.best_params_).fit(*refit_on), params


def cached_network(cache, name, make_module, train, log):
    """A network from ``cache/name`` (its weights loaded into ``make_module()``), or trained by
    ``train()`` (a fitted skorch net or a module) and saved there; ``log`` (``{"trained": [],
    "loaded": [], "train_s": {}}``) records which and how long, and under ``"history"`` the
    skorch net's per-epoch losses (and validation accuracy, when it had a validation split),
    kept beside the weights in ``cache/name.history.json`` so a run that loads the network
    still records how it was trained."""
    import json
    import time

    from sklearn_fssd.training import load_weights, save_weights

    path = Path(cache) / name
    history_path = path.with_name(path.name + ".history.json")
    if path.exists():
        log["loaded"].append(name)
        if history_path.exists():
            log.setdefault("history", {})[name] = json.loads(history_path.read_text())
        return load_weights(make_module(), path).eval()
    start = time.perf_counter()
    net = train()
    module = net.module_ if hasattr(net, "module_") else net
    save_weights(module, path)
    log["trained"].append(name)
    log["train_s"][name] = time.perf_counter() - start
    if hasattr(net, "history"):
        keys = ("epoch", "train_loss", "valid_loss", "valid_acc", "dur")
        history = [{k: h[k] for k in keys if k in h} for h in net.history]
        history_path.write_text(json.dumps(history))
        log.setdefault("history", {})[name] = history
    return module.cpu().eval()


def cached_lenet(cache, name, train, log, num_classes=10):
    """:func:`cached_network` of a LeNet of ``num_classes``."""
    from sklearn_fssd.models import LeNet

    return cached_network(cache, name, lambda: LeNet(num_classes=num_classes), train, log)


def paper_layers(net):
    """The layers the FSSD paper taps in ``net`` (:attr:`~sklearn_fssd.models.LeNet.paper_layers`),
    or ``"auto"`` for a network the paper did not use."""
    # a skorch net holds its module in module_
    return getattr(getattr(net, "module_", net), "paper_layers", "auto")


def benchmark_parser(command, doc, stem, quick_help,
                     cache_help="folder of cached network weights (default benchmarks/cache)"):
    """The options every OoD benchmark has: ``--quick``, ``--cache``, ``--out`` (``--seed`` is
    added last by :func:`parse_benchmark_args`)."""
    parser = ResultsParser(f"{stem}.{{md,json}}", prog=f"python -m benchmarks {command}",
                           description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--cache", type=Path, default=CACHE, help=cache_help)
    return parser


def parse_benchmark_args(parser, argv):
    """``parser``'s arguments, with ``--seed``, from ``argv`` (the command line when None);
    ``args.argv`` keeps them for the results' command."""
    import sys

    parser.add_argument("--seed", type=int, default=0)
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    args.argv = argv
    return args


def report(id_scores, ood_scores):
    """The paper's metrics in %, in-distribution as the positive class."""
    from sklearn_fssd.metrics import ood_report

    y_ood = np.r_[np.zeros(len(id_scores), int), np.ones(len(ood_scores), int)]
    rep = ood_report(y_ood, id_score=np.r_[id_scores, ood_scores], unit="percent")
    return {k: v for k, v in rep.items() if k != "unit"}


def fmt(value, digits=1):
    """A number for a Markdown table; blank for None."""
    return "" if value is None else f"{value:.{digits}f}"


def command(name, argv):
    """The command line that reproduces a run: ``python -m benchmarks <name>`` and its options.

    ``--out`` and ``--cache`` (machine-specific folders) are left out.
    """
    words, skip = [], False
    for word in argv:
        if skip:
            skip = False
        elif word in ("--out", "--cache"):
            skip = True
        elif not word.startswith(("--out=", "--cache=")):
            words.append(word)
    return " ".join(["python -m benchmarks", name, *words])


def layer_reports(fssd, X_id, X_ood):
    """The metrics of each raw ``FSSD_k`` of a fitted FSSD detector (no combination)."""
    L_id, L_ood = fssd.layer_scores(X_id), fssd.layer_scores(X_ood)
    return {name: report(L_id[:, k], L_ood[:, k]) for k, name in enumerate(fssd.layers_)}


def layer_table(layers, digits=1):
    """Markdown lines: the AUROC of each layer (rows) on each OoD kind (columns), from
    ``kind -> layer_reports(...)``."""
    kinds = list(layers)
    lines = ["| layer | " + " | ".join(kinds) + " |", "|---|" + "---|" * len(kinds)]
    for layer in layers[kinds[0]]:
        lines.append(f"| {layer} | " + " | ".join(fmt(layers[k][layer]["auroc"], digits)
                                                  for k in kinds) + " |")
    return lines


def accuracy(net, X, y, n_chunks=10):
    """Classification accuracy of ``net`` on ``(X, y)``, in chunks, without gradients."""
    import torch

    device = next(net.parameters()).device
    with torch.inference_mode():
        pred = np.concatenate([net(torch.as_tensor(b, device=device)).argmax(1).cpu().numpy()
                               for b in np.array_split(X, n_chunks) if len(b)])
    return float((pred == np.asarray(y)).mean())


def seeded_stem(stem, seed):
    """The results file's name of a run: ``stem`` for the reported seed 0, ``<stem>_seed<N>``
    for another seed, so such runs sit beside the reported file instead of overwriting it."""
    return stem if seed == 0 else f"{stem}_seed{seed}"


def unseeded_stem(stem):
    """The benchmark's own stem of a results file's name: ``genome_seed1`` -> ``genome``."""
    return re.sub(r"_seed\d+$", "", stem)


def write(res, out, stem, text):
    """``<out>/<stem>.json`` (the results) and ``<out>/<stem>.md`` (``text``); returns ``text``."""
    import json
    from pathlib import Path

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.json").write_text(json.dumps(res, indent=2, default=float))
    (out / f"{stem}.md").write_text(text)
    return text
