"""The sentences that README.md and docs/ quote from each results file.

    python -m benchmarks headlines              # every results file's sentences
    python -m benchmarks headlines odds speed   # those of the named files only
    python -m benchmarks headlines --update-docs  # after a rerun: old sentences -> new ones

The rule: every figure that README.md or docs/ quotes from a benchmark comes from a results JSON
under ``benchmarks/results/``, never from a development run, a notebook or memory. A paragraph
that quotes figures cites its results file (``benchmarks/results/<stem>.md`` or the docs page
``benchmark_results/<stem>``) and quotes them through the sentences below, verbatim: each
function reads the JSON that ``python -m benchmarks <stem>`` wrote and states, in plain English,
the figures the docs quote. ``tests/test_docs.py`` checks every decimal number of a paragraph
that cites a results file against that file's sentences, so a rerun that moves a figure fails the
tests until the docs quote the new sentence. This script runs no benchmark; it only reads.
"""

import argparse
import difflib
import json
import re
from pathlib import Path

import numpy as np

from benchmarks._ood import RESULTS


def _and(items):
    """``a``, ``a and b``, ``a, b and c``."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _alphas(rows):
    return _and(f"{row['alpha']:g}" for row in rows)


def _percent(rows, key, digits=2):
    """``rows[i][key]`` (a share) as percentages, ``a, b and c``."""
    return _and(f"{100 * row[key]:.{digits}f}" for row in rows)


def promises(res):
    cpus = res["machine"]["cpus"]
    example = max(res["example_s"].values())
    return [
        f"On {cpus} CPU cores the default test run took {round(res['tests_s'])} s and the demo "
        f"{res['demo_s']:.1f} s.",
        f"On {cpus} CPU cores the docs build took {round(res['docs_build_s'])} s, and each "
        f"gallery example took at most {round(example)} s in a fresh interpreter.",
        f"The load average was {res['load_before']:.1f} before the run and "
        f"{res['load_after']:.1f} after it.",
    ]


def speed(res):
    runs = {row["run"]: row for row in res["throughput"]}
    plain = runs["FSSD score_samples, epsilon=0, 4 layers"]["ratio_to_forward"]
    per_layer = [runs[f"FSSD {m}, epsilon=0.01, 4 layers"] for m in ("score_samples",
                                                                       "layer_scores")]
    joint = [row for name, row in runs.items() if "perturb='joint'" in name][0]
    summary = res["joint_step"]["summary"]
    from benchmarks.speed import DEFAULT_LAYERS

    default = runs.get(DEFAULT_LAYERS)

    def mean_auroc(method):
        return {row["epsilon"]: row["mean_auroc"] for row in summary
                if row["method"] == method and row["epsilon"] > 0}

    joint_method = [row["method"] for row in summary if "perturb='joint'" in row["method"]][0]
    per, jnt = mean_auroc("per-layer step"), mean_auroc(joint_method)
    gaps = [jnt[eps] - per[eps] for eps in per]
    spread = max(row["mean_auroc_sd_over_seeds"] for row in summary
                 if row["method"] in ("per-layer step", joint_method))
    if min(gaps) >= 0:
        quality = (f"On the digits protocol the joint step was at least as good in mean AUROC as "
                   f"the per-layer step at every epsilon measured, by {min(gaps):.3f} to "
                   f"{max(gaps):.3f}, while the mean AUROC of either step varied by up to "
                   f"{spread:.3f} (standard deviation) from one network to the next.")
    else:
        quality = (f"On the digits protocol the joint step's mean AUROC minus the per-layer "
                   f"step's ranged from {min(gaps):+.3f} to {max(gaps):+.3f} over the epsilons "
                   f"measured, while the mean AUROC of either step varied by up to {spread:.3f} "
                   f"(standard deviation) from one network to the next.")
    memory = [row for row in res["memory"] if row["epsilon"] == 0]
    few, many = min(memory, key=lambda r: r["n"]), max(memory, key=lambda r: r["n"])
    return [
        f"Without pre-processing, scoring runs at {plain:.2f} times the speed of a plain "
        f"forward pass.",
        f"With the per-layer step, scoring runs at "
        f"{min(r['ratio_to_forward'] for r in per_layer):.2f} times the speed of a plain forward "
        f"pass and at {min(r['ratio_to_minimum'] for r in per_layer):.2f} times the speed of the "
        f"least that work costs when written out in plain torch.",
        f"The joint step runs at {joint['ratio_to_forward']:.2f} times the speed of a plain "
        f"forward pass.",
        quality,
        f"Without pre-processing, scoring {few['n']:,} samples added "
        f"{few['peak_added_mib']:.0f} MiB of memory at its peak, and scoring {many['n']:,} "
        f"samples added {many['peak_added_mib']:.0f} MiB.",
        *([] if default is None else [
            f"With LeNet's default eight layers and no pre-processing, scoring runs at "
            f"{default['ratio_to_forward']:.2f} times the speed of a plain forward pass."]),
    ]


def odds(res):
    from benchmarks.odds import summarise

    names, detectors, mean, _ = summarise(res["rows"])
    auc = {d: float(np.mean(list(mean["roc_auc"][d].values()))) for d in detectors}
    splits = len({row["split"] for row in res["rows"]})
    others = sorted((d for d in detectors if d != "FSSD"), key=auc.get)
    below = [f"{d} ({auc[d]:.3f})" for d in others if auc[d] < auc["FSSD"]]
    above = [f"{d} ({auc[d]:.3f})" for d in others if auc[d] >= auc["FSSD"]]
    if below and above:
        place = f"It is ahead of {_and(below)}, and behind {_and(above)}."
    elif above:
        place = f"It is behind every other detector: {_and(above)}."
    else:
        place = f"It is ahead of every other detector: {_and(below)}."
    return [
        f"On the {len(names)} ODDS tables, {splits} random splits each, unsupervised FSSD with "
        f"its default network reaches mean ROC-AUC {auc['FSSD']:.3f}.",
        place,
        f"Its average rank over the data sets is {res['average_rank']['FSSD']:.1f} of "
        f"{len(detectors)} detectors (1 = best).",
    ]


def default_network(res):
    from benchmarks.default_network import KEYS

    m = {k: float(np.mean([row[k] for row in res["rows"]])) for k in KEYS}
    gap = m["discriminator"] - m["autoencoder"]
    tables = sorted({row["dataset"] for row in res["rows"]})
    per = {k: {t: np.mean([r[k] for r in res["rows"] if r["dataset"] == t]) for t in tables}
           for k in ("discriminator", "autoencoder")}
    wins = sum(per["discriminator"][t] > per["autoencoder"][t] for t in tables)
    best = max(m["autoencoder"], m["discriminator"], m["untrained"])
    return [
        f"Mean ROC-AUC over the {len(res['datasets'])} ADBench tables, {res['splits']} splits "
        f"each: the discriminator {m['discriminator']:.3f}, the autoencoder "
        f"{m['autoencoder']:.3f} and the untrained autoencoder {m['untrained']:.3f}.",
        f"On these tables the discriminator is {'ahead of' if gap > 0 else 'behind'} the "
        f"autoencoder by {abs(gap):.3f} (ahead on {wins} of the {len(tables)} tables).",
        f"IsolationForest reaches {m['IForest']:.3f} on the same splits, "
        f"{'ahead of' if m['IForest'] > best else 'not ahead of'} every network.",
        f"With the discriminator, the layer combinations reach mean ROC-AUC "
        f"{m['discriminator']:.3f} for typicality, {m['discriminator, stack']:.3f} for the "
        f"stack against synthetic outliers and {m['discriminator, mean']:.3f} for the mean.",
    ]


def conformal(res, n=1000):
    """The docs quote the rows with ``n`` calibration images."""
    rows = sorted((r for r in res["conformal"] if r["n_calibration"] == n),
                  key=lambda r: r["alpha"])
    by_alpha = {r["contamination"]: r for r in res["contamination"]}
    contamination = [by_alpha[r["alpha"]] for r in rows]
    alphas = _alphas(rows)
    below = all(r["far_mean"] < r["alpha"] for r in rows)
    metrics = res["detector_metrics"]
    return [
        f"With {res['config']['draws']:,} random calibration sets of {n:,} held-out training "
        f"images, the mean false-alarm rate on the other held-out training images is "
        f"{_percent(rows, 'far_rest_of_pool_mean')} % at alpha {alphas}, with a spread of "
        f"{_percent(rows, 'far_rest_of_pool_sd')} points "
        f"from one calibration set to the next.",
        f"The same detector with contamination set to alpha flags "
        f"{_percent(contamination, 'far_pool')} % of those images.",
        f"{_percent(rows, 'detection_mean', 1)} % of MNIST test images are "
        f"flagged at alpha {alphas}.",
        f"The false-alarm rate on Fashion-MNIST's test split is "
        f"{_percent(rows, 'far_mean')} % at alpha {alphas}, "
        f"{'below alpha each time' if below else 'above alpha at least once'}.",
        f"The detector, fitted without OoD data, reaches AUROC {metrics['auroc']:.1f} % for "
        f"Fashion-MNIST against MNIST, over a LeNet with {100 * res['test_accuracy']:.1f} % test "
        f"accuracy.",
    ]


def dask_scaling(res):
    runs = res["runs"]
    workers = [r for r in runs if r["workers"]]
    in_process = [r for r in runs if not r["workers"]]
    threads = sorted(in_process, key=lambda r: -r["torch_threads"])
    one = [r for r in workers if r["workers"] == 1][0]

    def rate(row, unit):
        k = row[unit]
        name = {"workers": "worker", "torch_threads": "torch thread"}[unit]
        return f"{k} {name}{'s' if k > 1 else ''}", f"{row['samples_per_s']:.0f} samples/s"

    per_workers = _and(" ".join(rate(r, "workers")) for r in workers)
    per_threads = _and(" with ".join(rate(r, "torch_threads")[::-1]) for r in threads)
    return [
        f"Scoring {res['n']:,} images in {res['n_chunks']} chunks of {res['chunk']}, median of "
        f"{res['rounds']} interleaved rounds: {per_workers}.",
        f"In the same process, scoring ran at {per_threads}.",
        f"One worker delivers {one['per_worker_vs_in_process_1_thread']:.2f} of the throughput "
        f"of one torch thread in the same process.",
        f"The machine has {res['cpu_count']} cores; its load average was "
        f"{res['load_before'][0]:.1f} before the run and {res['load_after'][0]:.1f} after it.",
    ]


#: The methods of the image benchmarks that use no OoD data in any setting, or can be fitted
#: without it, as the sentences name them.
NO_OOD_BASELINES = {"Base": "MSP", "ODIN": "ODIN (its paper's T and epsilon)", "Energy": "Energy",
                    "Maha": "Mahalanobis", "MCD": "MC Dropout", "DE": "Deep Ensemble"}
TUNED_BASELINES = {"ODIN": "ODIN", "Maha": "Mahalanobis", "MCD": "MC Dropout"}


def _standing(name, value, others):
    """``ahead of every one`` / ``behind X a and Y b``, from ``others`` (label -> value)."""
    better = {k: v for k, v in others.items() if v > value}
    if not better:
        return f"{name} is ahead of every one of them"
    return f"{name} trails " + _and(f"{k} ({v:.1f})" for k, v in
                                    sorted(better.items(), key=lambda kv: -kv[1]))


def _protocol_figures(res):
    """What the sentences of a protocol benchmark (``benchmarks/protocol.py``) read: the
    settings, the methods' mean AUROC, and FSSD's stack (the rule ``fit(X, y)`` took) and the
    paper's plain stack fitted on the reference kind, on the kinds tuned on it (which they never
    saw)."""
    from types import SimpleNamespace

    settings = res["settings"]
    kinds = list(settings["no_ood"]["columns"])
    none, other = settings["no_ood"], settings["other_kind"]

    def mean(block, m):
        return block["mean"][m]["auroc"]

    def col(block, kind, m):
        return block["columns"][kind]["methods"][m]

    reference = next(iter(kinds))
    unseen = [k for k in kinds if other["columns"][k]["tuned_on"] == reference]
    tuned = {TUNED_BASELINES[k]: mean(other, k) for k in TUNED_BASELINES}
    tuned.update({NO_OOD_BASELINES[k]: mean(other, k) for k in ("Base", "Energy", "DE")
                  if k in other["mean"]})
    on_unseen = lambda block, m: float(np.mean([col(block, k, m)["auroc"]  # noqa: E731
                                                for k in unseen]))
    return SimpleNamespace(
        kinds=kinds, none=none, other=other, mean=mean, col=col, reference=reference,
        unseen=unseen, fssd=mean(none, "FSSD"), tuned=tuned,
        base={NO_OOD_BASELINES[k]: mean(none, k) for k in NO_OOD_BASELINES
              if k in none["mean"]},
        guarded=on_unseen(other, "FSSD (eps=0)"),
        # the rule FSSD's fit(X, y) took (files written before the benchmarks recorded it
        # measured the guarded stack, then the default)
        rule=res.get("fits", {}).get("FSSD (eps=0)", {}).get(reference, {}).get(
            "params", {}).get("combine", "guarded_stack").replace("_", " "),
        plain=on_unseen(other, "FSSD plain stack (eps=0)"),
        free=on_unseen(none, "FSSD (eps=0)"),
        paper=settings["same_kind"]["columns"][reference]["methods"])


def _protocol_sentences(f, kinds="OoD kinds", other_kind="OoD kind", how=""):
    """The sentences every protocol benchmark says: FSSD against the baselines without OoD data
    and tuned on another kind, and its stack on the kinds it never saw; ``how`` (", every method
    reading both strands") follows the kinds where the run read them in a way of its own."""
    tuned = f.mean(f.other, "FSSD")
    return {
        "no_ood": f"Without OoD data, FSSD's mean AUROC over the {len(f.kinds)} {kinds}{how} is "
        f"{f.fssd:.1f} %; among the methods that need no OoD data ("
        + _and(f"{k} {v:.1f}" for k, v in f.base.items()) + "), "
        + _standing("FSSD", f.fssd, f.base) + ".",
        "tuned": f"Tuned on one other {other_kind}, FSSD's mean AUROC is {tuned:.1f} %, and "
        + _standing("FSSD", tuned, f.tuned).replace("FSSD ", "it ", 1)
        + " (" + _and(f"{k} {v:.1f}" for k, v in f.tuned.items()) + ").",
        "guarded": f"Fitted on {f.reference} and tested on the {len(f.unseen)} "
        f"{kinds.split()[-1]} it never saw, FSSD's {f.rule} (epsilon 0) reaches mean AUROC "
        f"{f.guarded:.1f} %, against {f.free:.1f} % without OoD data and {f.plain:.1f} % for the "
        "paper's plain stack.",
    }


def fmnist_mnist(res):
    f = _protocol_figures(res)
    none, other, mean, col, reference = f.none, f.other, f.mean, f.col, f.reference
    said = _protocol_sentences(f)
    flags = lambda m: _and(f"{col(other, k, m)['flagged']:.1f} % of {k}"  # noqa: E731
                           for k in ("uniform noise", "far out"))
    paper = f.paper
    return [
        said["no_ood"],
        f"On {reference} alone, without OoD data, FSSD reaches AUROC "
        f"{col(none, reference, 'FSSD')['auroc']:.1f} % (the paper's FSSD, tuned on "
        f"{reference}: {res['paper_auroc']['FSSD']:.1f}).",
        said["tuned"],
        said["guarded"],
        f"Fitted on {reference}, the {f.rule} flags {flags('FSSD (eps=0)')}; the paper's "
        f"plain stack flags {flags('FSSD plain stack (eps=0)')}.",
        f"In the paper's setting (tuned and tested on {reference}) FSSD reaches AUROC "
        f"{paper['FSSD']['auroc']:.1f} % (the paper's plain stack "
        f"{paper['FSSD plain stack (eps=0)']['auroc']:.1f} %), Mahalanobis "
        f"{paper['Maha']['auroc']:.1f} % and ODIN "
        f"{paper['ODIN']['auroc']:.1f} % (the paper: {res['paper_auroc']['FSSD']:.1f}, "
        f"{res['paper_auroc']['Maha']:.1f} and {res['paper_auroc']['ODIN']:.1f}).",
        f"The LeNet classifies Fashion-MNIST with {100 * res['test_accuracy']['base']:.1f} % test "
        f"accuracy.",
        f"Outlier Exposure, whose network trained against notMNIST letters, reaches mean AUROC "
        f"{mean(none, 'OE'):.1f} % and {col(none, reference, 'OE')['auroc']:.1f} % on "
        f"{reference}.",
        f"The run took {res['wall_s'] / 60:.0f} minutes on {res['machine']['cpus']} CPU cores, "
        f"with {len(res['networks']['loaded'])} trained networks loaded from the cache.",
        *_distance_sentences(f, "OoD kind"),
        "Fitted without OoD data, the single layers reach AUROC "
        + _and(f"{r['auroc']:.1f} % ({layer})" for layer, r in
               res["fssd_layers"][reference].items())
        + f" on {reference}: below 50 % a layer ranks {reference} as more in-distribution than "
        "Fashion-MNIST.",
    ]


def genome(res):
    from benchmarks.genome import kept_epoch

    f = _protocol_figures(res)
    # genome --both-strands: its figures say so (older results have no such key)
    how = ", every method reading both strands," if res["config"].get("both_strands") else ""
    paper, said = f.paper, _protocol_sentences(f, "held-out species", "species", how)
    layers = res["fssd_layers"]
    names = list(next(iter(layers.values())))
    train_s = sum(res["network"]["train_s"].values())
    threads = res["machine"]["torch_threads"]
    size = res["config"]["n_train"]
    stopped, kept, spent = kept_epoch(res["network"]), "", ""
    if stopped:
        best, history = stopped
        kept = (f", kept at epoch {best['epoch']} of {len(history)} by its loss on the "
                "in-distribution validation fragments")
        if all("dur" in h for h in history):  # the epochs' seconds, from its history
            spent = f" ({round(sum(h['dur'] for h in history) / 60)} minutes of epochs)"
    return [
        said["no_ood"], said["tuned"], said["guarded"],
        f"In the paper's setting (tuned and tested on {f.reference}) FSSD reaches AUROC "
        f"{paper['FSSD']['auroc']:.1f} %, Mahalanobis {paper['Maha']['auroc']:.1f} % and ODIN "
        f"{paper['ODIN']['auroc']:.1f} %.",
        "Without OoD data, the single FSSD layers reach mean AUROC "
        + _and(f"{np.mean([layers[k][n]['auroc'] for k in layers]):.1f} % ({n})"
               for n in names) + " over the species.",
        (f"The BiLSTM trained on {size:,} fragments per species in {round(train_s / 60)} "
         f"minutes on {threads} CPU thread{'s' if threads > 1 else ''}{kept}"
         f"{',' if kept else ''} and classifies"
         if res["network"]["trained"] else
         f"The BiLSTM, trained on {size:,} fragments per species with this recipe before the "
         f"run{spent} and loaded from the cache{kept}, classifies")
        + f" the {len(res['classes'])} in-distribution species with "
        f"{100 * res['test_accuracy']:.1f} % test accuracy.",
        f"The paper reports AUROC {res['paper_fssd_auroc']:.1f} for FSSD on its own genome "
        f"data.",
        *_network_ensemble_sentences(f, res.get("ensemble_test_accuracy")),
        *_distance_sentences(f, "species"),
    ]


def _row_in_both_settings(f, name, lead, other_kind):
    """``lead`` (what the row ``name`` is) with its mean AUROC without OoD data and tuned on one
    other kind, each against that setting's baselines; nothing for a results file without the
    row (a run that did not measure it)."""
    if name not in f.none["mean"]:
        return []
    none, tuned = f.mean(f.none, name), f.mean(f.other, name)

    def standing(value, others):  # no list of the baselines precedes: name what it is ahead of
        return _standing("it", value, others).replace("every one of them", "every baseline")

    return [
        f"{lead} reaches mean AUROC {none:.1f} % without OoD data, where "
        + standing(none, f.base) + f", and {tuned:.1f} % tuned on one other {other_kind}, "
        "where " + standing(tuned, f.tuned) + "."]


def _network_ensemble_sentences(f, member_accuracies):
    """genome --n-ensemble: the FSSD network ensemble against every baseline, Deep Ensemble
    (the same networks) among them, in both settings; nothing for a single-network run."""
    n = len(member_accuracies or []) + 1
    return _row_in_both_settings(f, "FSSD network ensemble", f"The FSSD network ensemble of {n} "
                                 "BiLSTMs (the networks Deep Ensemble reads)", "species")


def _distance_sentences(f, other_kind):
    """FSSD with one distance per layer and per channel (the rows a file measured) against
    every baseline, in both settings."""
    return [sentence for d in ("layer", "channel") for sentence in _row_in_both_settings(
        f, f"FSSD per {d} (eps=0)", f'With one distance per {d} (distances="{d}", epsilon 0), '
        "FSSD", other_kind)]


NAMES = {"Maha": "Mahalanobis"}


def fssd_defaults(res):
    from benchmarks.fssd_defaults import tuned_gap

    s = res["summary"]
    none, other = s["no_ood"]["auroc"], s["other_kind"]["auroc"]
    cases = [c for c in next(iter(none.values())) if c != "mean over cases"]
    avg = lambda table, rule: table[rule]["mean over cases"]  # noqa: E731
    rules = sorted((r for r in none if r.startswith("FSSD")), key=lambda r: -avg(none, r))
    baselines = [r for r in none if not r.startswith("FSSD")]
    stacks = sorted(other, key=lambda r: -avg(other, r))
    flagged = s["other_kind"]["flagged"]
    # noise: uniform pixels, or uniform bases in the genome case
    shares = lambda rule: [v.get("uniform noise", v.get("random sequences"))  # noqa: E731
                           for v in flagged[rule].values()]
    noise = lambda rule: (min(shares(rule)), max(shares(rule)))  # noqa: E731
    tuned, best, gap = tuned_gap(s)
    per_network = s["no_ood"].get("genome networks")  # only with several genome networks
    genome_where = (f"set (the mean over its {len(next(iter(per_network.values())))} networks) "
                    if per_network else "case ")
    return [
        f"Without OoD data, the mean AUROC over {_and(cases)} is "
        + _and(f"{avg(none, r):.2f} % for {r}" for r in rules) + "; "
        + _and(f"{NAMES.get(r, r)} {avg(none, r):.2f}" for r in baselines) + ".",
        f"The best FSSD rule without OoD data is {rules[0]}, "
        f"{avg(none, rules[0]) - avg(none, rules[1]):.2f} "
        f"points ahead of {rules[1]}.",
        "Tuned on one other OoD kind, the mean AUROC over the sets is "
        + _and(f"{avg(other, r):.2f} % for the {r[len('FSSD '):]}" for r in stacks) + ".",
        f"Against the best rule without OoD data ({best}), the best rule tuned on one other "
        f"OoD kind, the {tuned[len('FSSD '):]}, scores "
        + _and(f"{gap[c]:+.2f} points on {c}" for c in cases)
        + f" ({gap['mean over cases']:+.2f} on the mean over the sets).",
        "Tuned on one other OoD kind, the share of noise (uniform pixels or bases) flagged is "
        + _and((f"{noise(r)[0]:.1f} % in every case" if noise(r)[0] == noise(r)[1] else
                f"{noise(r)[0]:.1f} to {noise(r)[1]:.1f} % over the cases")
               + f" for the {r[len('FSSD '):]}" for r in stacks) + ".",
        *_same_kind_noise_sentences(s.get("same_kind_noise")),
        *_noise_bound_sentences(s.get("noise_bound")),
        *([] if "genome" not in cases else [
            f"In the genome {genome_where}alone, without OoD data, the mean AUROC is "
            + _and(f"{none[r]['genome']:.2f} % for {r}" for r in
                   sorted(rules, key=lambda r: -none[r]["genome"]))
            + "; " + _and(f"{NAMES.get(r, r)} {none[r]['genome']:.2f}" for r in baselines)
            + "."]),
        *_layer_sentences(s.get("layers")),
        *_layer_sentences(s.get("genome_layers")),
        *_token_noise_sentences(s.get("token_noise")),
        *_distances_choice_sentences(s.get("leave_one_out")),
        *_leave_one_out_sentences(s.get("leave_one_out")),
    ]


def _distances_choice_sentences(loo):
    """fssd_defaults: one distance per layer or per channel, chosen per family of cases in each
    setting (:func:`benchmarks.fssd_defaults.distances_choice`); nothing for a file from before
    that choice."""
    from benchmarks.fssd_defaults import (DISTANCE_ROWS, LAYER_SET_FAMILIES, SETTING_WORDS,
                                          distances_choice)

    loo = loo or {}
    picks = {family: [(setting, loo[distances_choice(family, setting)])
                      for setting in DISTANCE_ROWS if distances_choice(family, setting) in loo]
             for family in LAYER_SET_FAMILIES}

    def choice(family, made):
        winners = sorted({c["winner"] for _, c in made})
        return (f"on the {family} cases one per {' / '.join(winners)} ("
                + "; ".join(f"{SETTING_WORDS[setting]}: lead {c['lead']:.2f} points over one per "
                            + next(d for d in DISTANCE_ROWS[setting] if d != c["winner"])
                            for setting, c in made) + ")")

    made = [choice(family, m) for family, m in picks.items() if m]
    return ["Chosen per family of cases, the distances FSSD reads are " + _and(made) + "."
            ] if made else []


def _same_kind_noise_sentences(same):
    """fssd_defaults: each stack fitted on a case's noise itself (the paper's setting)."""
    from benchmarks.fssd_defaults import same_kind_measured

    return [f"Fitted on the {kind} of the {case} case themselves (the paper's same-kind "
            "setting), the stacks flag "
            + _and(f"{m['flagged']:.1f} % of them (AUROC {m['auroc']:.1f} %) for the "
                   f"{rule[len('FSSD '):]}" for rule, per in same.items()
                   for m in [per[case][kind]]) + "."
            for case, kind in same_kind_measured(same or {})]


def _noise_bound_sentences(bound):
    """fssd_defaults: classifiers on FSSD's channel distances fitted on the noise itself."""
    from benchmarks.fssd_defaults import BOUND_CLASSIFIERS

    if not bound:
        return []
    cases = list(bound)
    kind = bound[cases[0]]["kind"]
    flagged = lambda name: [bound[c][name]["flagged"] for c in cases]  # noqa: E731
    return [f"Fitted on the {kind} themselves, classifiers on FSSD's distances (one per channel "
            "of every tapped layer) flag, with 95 % of the in-distribution test samples kept, "
            + _and(f"{' / '.join(f'{v:.1f}' for v in flagged(name))} % of them ({name})"
                   for name in BOUND_CLASSIFIERS)
            + f", case by case ({'; '.join(cases)}): at most "
            f"{max(max(flagged(name)) for name in BOUND_CLASSIFIERS):.1f} %."]


def _token_noise_sentences(noise):
    """fssd_defaults: the noise behind F* of the genome cases' BiLSTMs."""
    from benchmarks.fssd_defaults import token_noise_rule

    if not noise:
        return []
    (default, row), (other, before) = noise["auroc"].items()
    return [f"On the {len(noise['cases'])} genome cases, without OoD data, "
            f"{token_noise_rule(noise)} reaches "
            f"mean AUROC {row['mean over genome cases']:.2f} % with F* from noise of {default} "
            f"(the default) against {before['mean over genome cases']:.2f} % from noise of "
            f"{other}."]


def _leave_one_out_sentences(loo):
    """fssd_defaults: each choice made again with one set or one OoD kind left out in turn."""
    from benchmarks.fssd_defaults import REPORTED_KINDS

    if not loo:
        return []
    start = "Made again with one set or one OoD kind left out in turn, "
    steady = {n: c for n, c in loo.items() if not c["changed by"]}
    out = [start + _and(f"the {n} ({c['winner']}, lead {c['lead']:.2f} points"
                        + (f", at least {c['closest']['margin']:.2f} with one left out"
                           if c["closest"] else "") + ")" for n, c in steady.items())
           + (" stays" if len(steady) == 1 else " stay") + " as chosen."] if steady else []
    out += [start + f"the {n} ({c['winner']}, lead {c['lead']:.2f} points) changes "
            + _and(f"when {w['left out'][1]} is left out (to {w['winner']})"
                   for w in c["changed by"]) + "."
            for n, c in loo.items() if c["changed by"]]
    several = [n for n, c in loo.items() if len(c["sets"]) > 1]
    by_set = [(n, w) for n in several for w in loo[n]["changed by"] if w["left out"][0] == "set"]
    if several:
        out.append("With one whole set left out, " + (
            _and(f"the {n} changes when {w['left out'][1]} is left out (to {w['winner']})"
                 for n, w in by_set) if by_set else
            f"none of the {len(several)} choices made on several sets changes"
            if len(several) > 1 else f"the {several[0]} does not change") + ".")
    alone = {}
    for n, c in loo.items():
        if len(c["sets"]) == 1:
            alone.setdefault(c["sets"][0], []).append(n)
    for name, names in alone.items():
        by, on = REPORTED_KINDS.get(name, (None, None))
        out.append(f"Chosen on the {name} set alone, so on its OoD kinds"
                   + (f", which {by} reports on {on}" if by else "") + ": "
                   + _and(f"the {n}" for n in names) + ".")
    return out


def _layer_sentences(layers):
    """fssd_defaults: a network's layer sets on its family of cases (LeNet's on the image
    cases, the BiLSTM's on the genome cases), per rule."""
    if not layers:
        return []
    table, family = layers["auroc"], layers.get("family", "image")
    avg = lambda name: table[name][f"mean over {family} cases"]  # noqa: E731
    per_rule = []
    for rule in layers["best layer set"]:
        names = sorted((n for n in table if n.startswith(f"FSSD {rule}, ")), key=lambda n: -avg(n))
        per_rule.append(f"{rule} " + " against ".join(
            f"{avg(n):.2f} % on {n.split(', ', 1)[1]}" for n in names))
    return [f"On the {len(layers['cases'])} {family} cases, the mean AUROC with each "
            f"{layers.get('network', 'LeNet')} layer set is " + "; ".join(per_rule) + "."]


SENTENCES = {
    "promises": promises,
    "speed": speed,
    "odds": odds,
    "default_network": default_network,
    "conformal": conformal,
    "dask_scaling": dask_scaling,
    "genome": genome,
    "genome_both_strands": genome,
    "genome_ensemble": genome,  # so far genome_ensemble_seed1 only
    "fmnist_mnist": fmnist_mnist,
    "fssd_defaults": fssd_defaults,
}


def benchmark_of(stem):
    """The stem of the benchmark run a results file's ``stem`` varies: without the seed of a run
    with another seed (``genome_seed1`` -> ``genome``) and the training size of a genome run
    with another (``genome_n12000_both_strands`` -> ``genome_both_strands``)."""
    from benchmarks._ood import unseeded_stem

    return re.sub(r"^genome_n\d+", "genome", unseeded_stem(stem))


def headline_function(stem):
    """The function of :data:`SENTENCES` that reads ``<stem>.json``: its own, or for a run with
    another seed or training size that of the benchmark (:func:`benchmark_of`); None if there is
    none."""
    return SENTENCES.get(stem) or SENTENCES.get(benchmark_of(stem))


def stems_written(results_dir=RESULTS):
    """The stems of the results files in ``results_dir`` that have sentences, in name order:
    each benchmark's reported file and its runs with other seeds."""
    return [p.stem for p in sorted(Path(results_dir).glob("*.json")) if headline_function(p.stem)]


def sentences(stem, results_dir=RESULTS):
    """The sentences the docs may quote from ``<results_dir>/<stem>.json``."""
    res = json.loads((Path(results_dir) / f"{stem}.json").read_text())
    return headline_function(stem)(res)


def _wording(sentence):
    """A sentence with its figures masked: what stays when a rerun moves the numbers."""
    return re.sub(r"\d+(?:\.\d+)?", "#", sentence)


def paired(before, now):
    """``[(old, new)]``: the sentences computed from two versions of one results file that
    differ, each old one beside the new one in its place. The lists are aligned on their wording
    with the figures masked, so a sentence that only one version has (a table the rerun added,
    a setting an older file lacks) shifts no other; a run of sentences reworded in different
    numbers on the two sides is left unpaired, for a hand edit."""
    matcher = difflib.SequenceMatcher(None, [_wording(s) for s in before],
                                      [_wording(s) for s in now], autojunk=False)
    pairs = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal" or (tag == "replace" and i2 - i1 == j2 - j1):
            pairs += zip(before[i1:i2], now[j1:j2])
    return [(old, new) for old, new in pairs if old != new]


def update_docs(stems, rev="HEAD", root=RESULTS.parents[1]):
    """Replace, in README.md and docs/*.md, each sentence of ``stems`` computed from the results
    file at git revision ``rev`` by the one computed from the file now; ``[(path, count)]``."""
    import subprocess

    pairs = []
    for stem in stems:
        shown = subprocess.run(["git", "show", f"{rev}:benchmarks/results/{stem}.json"],
                               cwd=root, capture_output=True, text=True)
        if shown.returncode:
            continue  # a results file new since rev: nothing quoted it yet
        now = sentences(stem, root / "benchmarks" / "results")
        pairs += paired(headline_function(stem)(json.loads(shown.stdout)), now)
    changed = []
    for path in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        text, count = path.read_text(), 0
        for old, new in pairs:
            # the docs wrap sentences over lines: any run of whitespace matches a space
            pattern = r"\s+".join(re.escape(word) for word in old.split())
            text, n = re.subn(pattern, lambda _: new, text)
            count += n
        if count:
            path.write_text(text)
            changed.append((path.relative_to(root), count))
    return changed


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks headlines",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("stems", nargs="*", metavar="stem",
                        help="results files (default: every file of the results folder that "
                        f"has sentences, those of {', '.join(SENTENCES)} and their other seeds)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="results folder")
    parser.add_argument("--update-docs", metavar="REV", nargs="?", const="HEAD",
                        help="after a rerun: in README.md and docs/*.md, replace each sentence "
                        "computed from the results file as it was at git revision REV "
                        "(default HEAD) by the sentence computed from the file now")
    args = parser.parse_args(argv)
    unknown = [stem for stem in args.stems if headline_function(stem) is None]
    if unknown:
        parser.error(f"no sentences for {unknown}; known: {', '.join(SENTENCES)}")
    if args.update_docs:
        for path, count in update_docs(args.stems or stems_written(args.results),
                                       args.update_docs):
            print(f"{path}: {count} sentence(s) replaced")
        return 0
    for stem in args.stems or stems_written(args.results):
        print(f"{stem} ({args.results / stem}.json):")
        for sentence in sentences(stem, args.results):
            print(f"  {sentence}")
        print()
    return 0


if __name__ == "__main__":
    main()
