"""The benchmarks' quick modes run and write their result files, so they cannot silently rot."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from benchmarks import odds, speed

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def test_speed_quick_writes_ratios_and_flat_memory(tmp_path):
    results = speed.main(["--quick", "--out", str(tmp_path)])
    runs = {row["run"]: row for row in results["throughput"]}
    assert runs["forward pass (reference)"]["ratio_to_forward"] == pytest.approx(1.0)
    assert all(row["samples_per_s"] > 0 for row in runs.values())
    assert [row["n"] for row in results["memory"]] == [128, 512]
    # the plain-torch minimum of per-layer pre-processing computes FSSD's layer scores
    assert results["minimum_vs_fssd_max_rel_diff"] <= 1e-5
    assert runs[speed.MINIMUM]["ratio_to_minimum"] == pytest.approx(1.0)
    timed_against_it = [name for name, row in runs.items() if "ratio_to_minimum" in row]
    assert len(timed_against_it) == 4 and any(speed.JOINT in name for name in timed_against_it)
    methods = {row["method"] for row in results["joint_step"]["summary"]}
    assert methods == {speed.PER_LAYER, speed.JOINT_SUM, speed.JOINT_LOG}
    assert all(0 <= row["mean_auroc"] <= 1 for row in results["joint_step"]["summary"])
    saved = json.loads((tmp_path / "speed.json").read_text())
    assert saved["throughput"][0]["run"] == "forward pass (reference)"
    assert saved["command"] == "python -m benchmarks.speed --quick"
    text = (tmp_path / "speed.md").read_text()
    assert "| forward pass (reference) |" in text and "x per-layer minimum" in text
    assert "Written by `python -m benchmarks.speed --quick` at commit" in text


def test_speed_minimum_check_refuses_scores_that_differ():
    import numpy as np

    scores = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert speed.compare_scores(scores, scores) == 0.0
    with pytest.raises(RuntimeError, match="do not compute the same thing"):
        speed.compare_scores(scores * (1 + 1e-3), scores)


def test_odds_quick_ranks_fssd_against_pyod(tmp_path, monkeypatch):
    root = os.environ.get("SKLEARN_FSSD_DATA") or (str(DATA) if DATA.is_dir() else None)
    if root is None or not (Path(root) / "odds" / "mat" / "wbc.mat").exists():
        pytest.skip(reason=f"ODDS data not found at {root or DATA}; set SKLEARN_FSSD_DATA")
    monkeypatch.setenv("SKLEARN_FSSD_DATA", root)
    # without --out a quick run writes to its own folder, never over the reported results file
    from benchmarks import _ood

    monkeypatch.setattr(_ood, "QUICK_RESULTS", tmp_path)
    reported = (_ood.RESULTS / "odds.json").read_bytes()
    ranks = odds.main(["--quick"])
    assert (_ood.RESULTS / "odds.json").read_bytes() == reported
    assert set(ranks) == {"FSSD", "IForest", "KNN"}
    rows = json.loads((tmp_path / "odds.json").read_text())["rows"]
    roc = {(r["dataset"], r["detector"]): r["roc_auc"] for r in rows}
    # a floor well above chance, as PyOD's own tests assert (split 0 gives 0.84 with the
    # default network; the 5-split mean in results/odds.md is 0.86)
    assert roc["wbc", "FSSD"] > 0.8
    # rank 1 = the highest ROC-AUC on each data set, averaged over the data sets
    from scipy.stats import rankdata

    names = sorted(ranks)
    per_set = [rankdata([-roc[d, n] for n in names]) for d in ("wbc", "vertebral")]
    expected = dict(zip(names, np.mean(per_set, axis=0)))
    assert ranks == pytest.approx(expected)
    text = (tmp_path / "odds.md").read_text()
    assert "| wbc |" in text and "| vertebral |" in text and "average rank" in text


def test_dask_scaling_quick_on_the_test_cluster(tmp_path, dask_client):
    from benchmarks import dask_scaling

    address = dask_client.scheduler.address
    results = dask_scaling.main(["--quick", "--out", str(tmp_path), "--scheduler", address])
    runs = {row["run"]: row for row in results["runs"]}
    assert list(runs) == ["in-process", "in-process, 1 thread", "1 worker", "2 workers"]
    for row in runs.values():  # every ratio is against the right reference run
        assert row["time_vs_in_process"] == pytest.approx(
            row["seconds"] / runs["in-process"]["seconds"], rel=1e-2)
    assert runs["2 workers"]["speedup_vs_first_count"] == pytest.approx(
        runs["2 workers"]["samples_per_s"] / runs["1 worker"]["samples_per_s"], rel=1e-2)
    assert all(row["samples_per_s"] > 0 for row in runs.values())
    assert runs["2 workers"]["samples_per_s_per_worker"] == pytest.approx(
        runs["2 workers"]["samples_per_s"] / 2
    )
    assert results["max_abs_diff_vs_in_process"] < 1e-3
    assert results["worker_torch_threads"] == [1]
    saved = json.loads((tmp_path / "dask_scaling.json").read_text())
    assert [row["run"] for row in saved["runs"]] == list(runs)
    text = (tmp_path / "dask_scaling.md").read_text()
    assert "| 2 workers |" in text and "python -m benchmarks dask-scaling --quick" in text
    with pytest.raises(ValueError, match="has 2 workers; this run needs 4"):
        dask_scaling.measure(16, 8, (1, 4), 1, scheduler=address)


def test_provenance_names_the_run_that_wrote_a_results_file():
    import subprocess
    import time

    from benchmarks._provenance import provenance

    started = time.perf_counter() - 2.0
    p = provenance("python -m benchmarks speed --quick", seed=7, started=started)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parents[1],
                          capture_output=True, text=True).stdout.strip()
    assert p["commit"] == (head or None)
    assert p["command"] == "python -m benchmarks speed --quick" and p["seed"] == 7
    assert 2.0 <= p["wall_s"] < 60
    import torch
    assert p["versions"]["torch"] == torch.__version__
    assert p["machine"]["cpus"] == os.cpu_count()
    assert p["utc"].endswith("+00:00")


def test_promises_quick_times_the_demo_in_a_fresh_interpreter(tmp_path):
    from benchmarks import promises

    assert promises.main(["--quick", "--out", str(tmp_path)]) == 0
    res = json.loads((tmp_path / "promises.json").read_text())
    assert 0 < res["demo_s"] and list(res["example_s"]) == ["plot_compare_baselines.py"]
    assert res["kept"]["demo_s"] == (res["demo_s"] <= 15)
    assert res["command"] == "python -m benchmarks promises --quick"
    assert "| demo (`python -m sklearn_fssd.demo`) |" in (tmp_path / "promises.md").read_text()



def test_default_network_is_chosen_on_tables_the_odds_table_does_not_hold(tmp_path, monkeypatch):
    root = os.environ.get("SKLEARN_FSSD_DATA") or (str(DATA) if DATA.is_dir() else None)
    if root is None or not (Path(root) / "odds" / "adbench_classical").is_dir():
        pytest.skip(reason=f"ADBench data not found at {root or DATA}; set SKLEARN_FSSD_DATA")
    monkeypatch.setenv("SKLEARN_FSSD_DATA", root)
    from benchmarks import default_network
    from sklearn_fssd.datasets import list_odds_datasets

    chosen = {name.lower() for name in default_network.selection_tables()}
    odds = {name.lower() for name in list_odds_datasets()}
    assert chosen and not chosen & odds
    assert not chosen & {"lymphography", "breastw", "cardiotocography"}  # ODDS data, renamed
    rows = default_network.main(["--datasets", "wine", "--out", str(tmp_path)])
    assert [r["dataset"] for r in rows] == ["wine"] and 0.0 <= rows[0]["autoencoder"] <= 1.0
    saved = json.loads((tmp_path / "default_network.json").read_text())
    assert saved["collection"] == "adbench" and saved["commit"]
    assert saved["command"] == "python -m benchmarks default-network --datasets wine"


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="a CUDA device is present")
def test_the_gpu_script_and_the_cuda_speed_run_say_plainly_that_no_gpu_is_here(tmp_path):
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    done = subprocess.run(["sh", ".ci/gpu", str(tmp_path)], cwd=root, env=env,
                          capture_output=True, text=True)
    assert done.returncode != 0 and "sees no CUDA device" in done.stderr
    assert not list(tmp_path.iterdir())  # nothing half-written
    with pytest.raises(SystemExit, match="torch sees no CUDA device.*--device cpu"):
        speed.main(["--device", "cuda", "--out", str(tmp_path)])


def test_genome_fragments_that_share_dna_on_either_strand_are_found():
    from benchmarks.genome import overlapping
    from sklearn_fssd.genomes import reverse_complement

    genome = np.random.RandomState(0).randint(0, 4, 5000)
    X = np.stack([genome[start:start + 250] for start in (0, 200, 1000, 3000)])
    # 0-249 and 200-449 share 50 bases; 1000 and 3000 share nothing with the first
    assert overlapping(X[1:], X[:1]).tolist() == [True, False, False]
    assert overlapping(reverse_complement(X[1:2]), X[:1]).tolist() == [True]  # other strand
    assert not overlapping(X[2:3], X[3:]).any()


def test_fssd_defaults_picks_the_layer_set_by_the_mean_over_the_image_cases_only():
    from benchmarks import fssd_defaults
    from benchmarks.headlines import _layer_sentences

    paper, every = fssd_defaults.LENET_LAYER_SETS
    # every stage wins on Fashion-MNIST by more than it loses on MNIST; the genome case has
    # no layer-set rows and must not count
    auroc = {"Fashion-MNIST": {paper: 90.0, every: 96.0}, "MNIST": {paper: 99.0, every: 98.0}}
    results = {case: {"settings": {setting: {"mean": {
        fssd_defaults.layer_set_name(rule, layers): {"auroc": value}
        for rule in fssd_defaults.LAYER_SET_RULES for layers, value in per_set.items()}}
        for setting in ("no_ood", "other_kind")}} for case, per_set in auroc.items()}
    results["genome"] = {"settings": {}}
    summary = fssd_defaults.layer_summary(results)
    assert summary["cases"] == ["Fashion-MNIST", "MNIST"]
    assert summary["best layer set"] == {rule: every for rule in fssd_defaults.LAYER_SET_RULES}
    row = summary["auroc"][fssd_defaults.layer_set_name("class_typical", paper)]
    assert row["mean over image cases"] == pytest.approx(94.5)
    (sentence,) = _layer_sentences(summary)
    assert sentence.startswith("On the 2 image cases")
    assert f"class_typical 97.00 % on {every} against 94.50 % on {paper}" in sentence


def test_fssd_defaults_counts_the_genome_networks_as_one_set_in_the_mean_that_chooses():
    from benchmarks import fssd_defaults
    from benchmarks.headlines import fssd_defaults as sentences

    nets = [fssd_defaults.genome_case_name(s, (0, 1, 2)) for s in (0, 1, 2)]
    assert nets[1] == "genome, BiLSTM seed 1"
    assert fssd_defaults.genome_case_name(0, (0,)) == "genome"
    # "a" wins on every network and on the mean over the 4 cases (70.5 vs 67.75); "b" wins on
    # the mean over the sets, where the three networks weigh as much as one image set
    per_case = {"a": {"MNIST": 84.0, nets[0]: 70.0, nets[1]: 70.0, nets[2]: 58.0},
                "b": {"MNIST": 91.0, nets[0]: 60.0, nets[1]: 60.0, nets[2]: 60.0}}
    results = {case: {"settings": {
        "no_ood": {"mean": {**{f"FSSD {r}": {"auroc": per_case["a"][case]}
                               for r in fssd_defaults.NO_OOD_RULES},
                            "FSSD class_typical": {"auroc": per_case["b"][case]},
                            fssd_defaults.ARGMAX_RULE: {"auroc": 0.0},
                            fssd_defaults.CHANNEL_RULE: {"auroc": 0.0},
                            **{r: {"auroc": 0.0} for r in fssd_defaults.NO_OOD_STACKS},
                            "MSP": {"auroc": 50.0}, "Energy": {"auroc": 50.0},
                            "Maha": {"auroc": 50.0}}},
        "other_kind": {"mean": {rule: {"auroc": 50.0} for rule in fssd_defaults.STACKS},
                       "columns": {"random sequences" if case in nets else "uniform noise": {
                           "methods": {rule: {"flagged": 100.0}
                                       for rule in fssd_defaults.STACKS}}}}}}
        for case in per_case["a"]}
    for case, result in results.items():  # each network's layer sets, on its family's cases
        sets = fssd_defaults.LAYER_SET_FAMILIES[fssd_defaults.family_of(case)][1]
        for setting in result["settings"].values():
            setting["mean"].update({fssd_defaults.layer_set_name(rule, layers): {"auroc": 50.0}
                                    for rule in fssd_defaults.LAYER_SET_RULES for layers in sets})
            # one kind per case, whose figures are the means (leave_one_out reads the kinds)
            column = next(iter(setting.setdefault("columns", {"a kind": {"methods": {}}}).values()))
            for rule, figures in setting["mean"].items():
                column["methods"].setdefault(rule, {}).update(figures)
    summary = fssd_defaults.summary(results)
    table = summary["no_ood"]["auroc"]
    assert table["FSSD class_typical"] == pytest.approx(
        {"MNIST": 91.0, "genome": 60.0, "mean over cases": 75.5})
    assert table["FSSD typical"]["genome"] == pytest.approx(66.0)  # (70 + 70 + 58) / 3
    assert table["FSSD typical"]["mean over cases"] == pytest.approx(75.0)
    assert summary["no_ood"]["best FSSD rule"] == "FSSD class_typical"
    loo = summary["leave_one_out"]
    assert loo["rule without OoD data"]["winner"] == "FSSD class_typical"
    assert loo["rule without OoD data"]["lead"] == pytest.approx(0.5)  # over typical (and co.)
    assert loo["rule tuned on one other kind"]["winner"] == summary["other_kind"]["best FSSD rule"]
    assert {loo[f"layers LeNet taps for {rule}"]["winner"]
            for rule in fssd_defaults.LAYER_SET_RULES} == set(summary["layers"]["best layer set"]
                                                                .values())
    assert summary["no_ood"]["genome networks"]["FSSD typical"] == {
        nets[0]: 70.0, nets[1]: 70.0, nets[2]: 58.0}
    assert summary["layers"]["cases"] == ["MNIST"]
    assert summary["genome_layers"]["cases"] == nets
    assert list(summary["genome_layers"]["sets"]) == list(fssd_defaults.GENOME_LAYER_SETS)
    text = "\n".join(fssd_defaults._genome_networks_markdown(summary["no_ood"]))
    assert f"| rule | {' | '.join(nets)} |" in text
    assert "| FSSD typical | 70.00 | 70.00 | 58.00 |" in text
    assert sentences({"summary": summary})[0].startswith(
        "Without OoD data, the mean AUROC over MNIST and genome is 75.50 % for FSSD class_typical")


def _kind_figures(figures, setting="no_ood"):
    """Results of fssd-defaults from ``{case: {kind: {row: AUROC}}}``."""
    return {case: {"settings": {setting: {"columns": {
        kind: {"methods": {row: {"auroc": v} for row, v in rows.items()}}
        for kind, rows in kinds.items()}}}} for case, kinds in figures.items()}


def test_fssd_defaults_makes_each_choice_again_without_each_set_and_each_kind():
    from benchmarks import fssd_defaults
    from benchmarks.headlines import _leave_one_out_sentences

    # "a" leads by 0.5 on the mean over the two sets, all of it from kind k1 (in both sets):
    # without k1, "b" wins; without any other kind or either set, "a" still does
    figures = {"Fashion-MNIST": {"k1": {"a": 90.0, "b": 80.0}, "k2": {"a": 90.0, "b": 99.0}},
               "MNIST": {"k1": {"a": 90.0, "b": 80.0}, "k3": {"a": 90.0, "b": 99.0}}}
    results = _kind_figures(figures)
    made = {"rule without OoD data": ("no_ood", {rule: dict.fromkeys(figures, rule)
                                                 for rule in "ab"})}
    loo = fssd_defaults.leave_one_out(results, made)["rule without OoD data"]
    assert loo["winner"] == "a" and loo["lead"] == pytest.approx(0.5)
    assert loo["sets"] == ["Fashion-MNIST", "MNIST"]
    assert loo["n_left_out"] == 5  # 2 sets, 3 kinds
    assert loo["changed by"] == [{"left out": ["kind", "k1"], "winner": "b"}]
    assert loo["closest"]["left out"] == ["kind", "k1"]
    assert loo["closest"]["margin"] == pytest.approx(-9.0)  # b: 99 against a: 90
    text = "\n".join(fssd_defaults.leave_one_out_markdown({"rule without OoD data": loo}))
    assert ("| rule without OoD data | Fashion-MNIST, MNIST | a | 0.50 | 5 | k1 (b wins) | "
            "-9.00 over b, without k1 |") in text
    sentences = _leave_one_out_sentences({"rule without OoD data": loo})
    assert sentences == [
        "Made again with one set or one OoD kind left out in turn, the rule without OoD data "
        "(a, lead 0.50 points) changes when k1 is left out (to b).",
        "With one whole set left out, the rule without OoD data does not change."]
    assert _leave_one_out_sentences({}) == []

    # made on MNIST alone: no set to leave out; a tie under a left-out kind is no change
    alone = fssd_defaults.leave_one_out(_kind_figures({"MNIST": {
        "k1": {"a": 90.0, "b": 90.0}, "k3": {"a": 91.0, "b": 90.0}}}), {"layers": (
            "no_ood", {rule: {"MNIST": rule} for rule in "ab"})})["layers"]
    assert alone["n_left_out"] == 2 and alone["changed by"] == []
    assert alone["closest"] == {"left out": ["kind", "k3"], "margin": 0.0, "rival": "b"}
    assert _leave_one_out_sentences({"layers": alone}) == [
        "Made again with one set or one OoD kind left out in turn, the layers (a, lead 0.50 "
        "points, at least 0.00 with one left out) stays as chosen.",
        "Chosen on the MNIST set alone, so on its OoD kinds: the layers."]

    # one kind per set: "a" leads on the mean over both sets (90 vs 89.5), "b" on MNIST alone
    del figures["Fashion-MNIST"]["k2"], figures["MNIST"]["k1"]
    by_set = fssd_defaults.leave_one_out(_kind_figures(figures), made)
    assert by_set["rule without OoD data"]["changed by"] == [
        {"left out": ["set", "Fashion-MNIST"], "winner": "b"},
        {"left out": ["kind", "k1"], "winner": "b"}]  # Fashion-MNIST's only kind
    assert _leave_one_out_sentences(by_set)[-1] == (
        "With one whole set left out, the rule without OoD data changes when Fashion-MNIST is "
        "left out (to b).")


def test_fssd_defaults_leaves_the_genome_networks_out_as_one_set():
    from benchmarks import fssd_defaults

    # "b" wins on two of three networks but "a" on their mean (the genome set's figure), which
    # counts as one set beside MNIST: without MNIST, "a" still wins; without the genome set, "b"
    nets = [fssd_defaults.genome_case_name(s, (0, 1, 2)) for s in (0, 1, 2)]
    figures = {"MNIST": {"k": {"a": 80.0, "b": 81.0}},
               **{net: {"Klebsiella": {"a": a, "b": 70.0}} for net, a in zip(nets, (99, 60, 60))}}
    made = {"rule": ("no_ood", {rule: dict.fromkeys(figures, rule) for rule in "ab"})}
    loo = fssd_defaults.leave_one_out(_kind_figures(figures), made)["rule"]
    assert loo["sets"] == ["MNIST", "genome"]
    assert loo["lead"] == pytest.approx((80 + 73) / 2 - (81 + 70) / 2)
    assert loo["changed by"] == [{"left out": ["set", "genome"], "winner": "b"},
                                 {"left out": ["kind", "Klebsiella"], "winner": "b"}]
    assert loo["n_left_out"] == 4  # 2 sets, 2 kinds


def test_fssd_defaults_compares_the_token_noise_on_the_genome_cases_only():
    from benchmarks import fssd_defaults
    from benchmarks.headlines import _token_noise_sentences

    def case(default, frequencies=None):
        mean = {fssd_defaults.TOKEN_NOISES["uniform token ids"]: {"auroc": default}}
        if frequencies is not None:
            mean[fssd_defaults.FREQUENCY_TOKENS_RULE] = {"auroc": frequencies}
        return {"settings": {"no_ood": {"mean": mean}}}

    nets = [fssd_defaults.genome_case_name(s, (0, 1)) for s in (0, 1)]
    results = {"MNIST": case(99.0), nets[0]: case(68.0, 66.0), nets[1]: case(70.0, 67.0)}
    noise = fssd_defaults.token_noise_summary(results)
    assert noise["cases"] == nets
    assert noise["auroc"]["uniform token ids"]["mean over genome cases"] == 69.0
    assert noise["auroc"]["in-distribution token frequencies"] == {
        nets[0]: 66.0, nets[1]: 67.0, "mean over genome cases": 66.5}
    (sentence,) = _token_noise_sentences(noise)
    # compared with the distances sequence models default to: one per channel
    assert sentence == ("On the 2 genome cases, without OoD data, class_typical per channel "
                        "reaches mean AUROC 69.00 % with F* from noise of uniform token ids (the "
                        "default) against 66.50 % from noise of in-distribution token frequencies.")
    table = fssd_defaults.token_noise_markdown(noise)
    assert "| in-distribution token frequencies | 66.00 | 67.00 | 66.50 |" in table
    # a results file without the row of the other noise (older runs) reports nothing
    assert fssd_defaults.token_noise_summary({nets[0]: case(68.0)}) == {}
    assert _token_noise_sentences({}) == [] and fssd_defaults.token_noise_markdown({}) == []


def test_fssd_defaults_bounds_what_fssds_distances_hold_on_the_noise_itself():
    from benchmarks import fssd_defaults, protocol
    from benchmarks.headlines import _noise_bound_sentences
    import torch
    from sklearn_fssd.models import GenomeLSTM

    torch.manual_seed(0)
    net = GenomeLSTM(embedding_dim=4, hidden_size=3, num_classes=2).eval()
    rng = np.random.RandomState(0)
    # in-distribution sequences hold A and C only; the noise is every base, drawn uniformly
    X = rng.randint(0, 2, (200, 30))
    noise = protocol.Kind.draw(rng.randint(0, 4, (120, 30)), 60, 60)
    other = protocol.Kind.draw(rng.randint(2, 4, (20, 30)), 10, 10)
    case = protocol.Case("toy", X[:120], X[:120, 0], X[120:140], X[120:140, 0], X[140:],
                         {"G and T": other, "random sequences": noise})
    bound = fssd_defaults.noise_bound(case, net, np.arange(100), seed=0)
    # one column per channel of the default layers: embedding 4, each LSTM 2 * 3, fc 2
    assert bound["columns"] == 4 + 6 + 6 + 2 and bound["kind"] == "random sequences"
    for name in fssd_defaults.BOUND_CLASSIFIERS:
        figures = bound[name]
        assert figures["flagged"] == pytest.approx(100 - figures["fpr_at_95_tpr"])
        assert figures["auroc"] > 95 and figures["flagged"] > 90  # the bases tell them apart
    per_case = {"genome, BiLSTM seed 0": bound, "genome, BiLSTM seed 1": bound}
    text = "\n".join(fssd_defaults.noise_bound_markdown(per_case))
    assert "classifiers on FSSD's 18 distances" in text
    (sentence,) = _noise_bound_sentences(per_case)
    worst = max(bound[n]["flagged"] for n in fssd_defaults.BOUND_CLASSIFIERS)
    assert sentence.startswith("Fitted on the random sequences themselves, classifiers on FSSD")
    assert sentence.endswith(f"at most {worst:.1f} %.")
    assert _noise_bound_sentences({}) == [] and fssd_defaults.noise_bound_markdown({}) == []


def test_fssd_defaults_reports_the_stacks_fitted_on_the_noise_itself_and_no_other_kind():
    from benchmarks import fssd_defaults
    from benchmarks.headlines import _same_kind_noise_sentences

    def column(offset):
        return {"methods": {rule: {"auroc": 90.0 + offset + i, "flagged": 60.0 + offset + i}
                            for i, rule in enumerate(fssd_defaults.STACKS)}}

    # a species measured in the paper's setting is no noise kind: only random sequences count;
    # a case without the same-kind setting (or without noise in it) adds nothing
    results = {"genome": {"settings": {"same_kind": {"columns": {
        "Klebsiella": column(5.0), "random sequences": column(0.0)}}}},
        "MNIST": {"settings": {"same_kind": {"columns": {"notMNIST A-E": column(1.0)}}}},
        "MNIST digits 0-4": {"settings": {}}}
    same = fssd_defaults.same_kind_noise(results)
    assert fssd_defaults.same_kind_measured(same) == [("genome", "random sequences")]
    typical = same["FSSD typical stack"]["genome"]["random sequences"]
    assert typical == {"auroc": 93.0, "flagged": 63.0}  # the 4th stack: offset 3
    (sentence,) = _same_kind_noise_sentences(same)
    assert sentence.startswith("Fitted on the random sequences of the genome case themselves")
    assert "63.0 % of them (AUROC 93.0 %) for the typical stack" in sentence
    assert _same_kind_noise_sentences({}) == []


def test_fssd_defaults_reads_the_default_rules_rows_for_the_networks_own_layer_set():
    from benchmarks import fssd_defaults

    paper, every = fssd_defaults.LENET_LAYER_SETS
    result = {"layers": list(fssd_defaults.LENET_LAYER_SETS[every])}
    assert fssd_defaults.layer_set_row(result, "typical", every) == "FSSD typical"
    assert fssd_defaults.layer_set_row(result, "typical", paper) == f"FSSD typical, {paper}"


def test_fssd_defaults_argmax_rule_compares_an_input_with_its_most_probable_class_alone(
        trained_cnn, digits):
    import torch

    from benchmarks.fssd_defaults import ArgmaxClassTypical

    X_train, _, X_test, _ = digits
    det = ArgmaxClassTypical(trained_cnn, combine="class_typical", random_state=0)
    det.fit(X_train[:300])
    with torch.no_grad():
        predicted = det.model_(torch.as_tensor(X_test[:40])).argmax(dim=1).numpy()
    by_hand = det.combiner_.decision_function(det.layer_scores(X_test[:40]), groups=predicted)
    np.testing.assert_allclose(det.score_samples(X_test[:40]), by_hand, rtol=1e-6)


def test_distance_sentences_stand_each_row_against_the_baselines_in_both_settings():
    from types import SimpleNamespace

    from benchmarks.headlines import _distance_sentences

    block = lambda figures: {"mean": {m: {"auroc": v} for m, v in figures.items()}}  # noqa: E731
    f = SimpleNamespace(
        none=block({"FSSD per channel (eps=0)": 67.0}), other=block({"FSSD per channel (eps=0)":
                                                                    60.0}),
        mean=lambda b, m: b["mean"][m]["auroc"], base={"MSP": 68.0, "Energy": 63.0},
        tuned={"ODIN": 64.5, "MC Dropout": 58.0})
    (sentence,) = _distance_sentences(f, "species")  # a file measured per channel only
    assert sentence == (
        'With one distance per channel (distances="channel", epsilon 0), FSSD reaches mean AUROC '
        "67.0 % without OoD data, where it trails MSP (68.0), and 60.0 % tuned on one other "
        "species, where it trails ODIN (64.5).")
    f.base = {"MSP": 60.0}
    assert "without OoD data, where it is ahead of every baseline, and" in (
        _distance_sentences(f, "species")[0])
    # both rows: per layer first
    f.none["mean"]["FSSD per layer (eps=0)"] = {"auroc": 59.0}
    f.other["mean"]["FSSD per layer (eps=0)"] = {"auroc": 65.0}
    layer, channel = _distance_sentences(f, "species")
    assert layer.startswith('With one distance per layer (distances="layer", epsilon 0), FSSD '
                            "reaches mean AUROC 59.0 % without OoD data, where it trails MSP")
    assert "65.0 % tuned on one other species, where it is ahead of every baseline." in layer
    assert channel.startswith("With one distance per channel")
    # results written before the rows existed say nothing of them
    assert _distance_sentences(SimpleNamespace(none=block({}), other=block({})), "species") == []


def test_fssd_defaults_chooses_the_distances_per_family_in_each_setting():
    from benchmarks import fssd_defaults
    from benchmarks.headlines import _distances_choice_sentences

    nets = [fssd_defaults.genome_case_name(s, (0, 1)) for s in (0, 1)]
    rows = fssd_defaults.DISTANCE_ROWS
    # per layer wins on the image set, per channel on the genome networks' mean
    figures = {"no_ood": {"MNIST": {"k": {rows["no_ood"]["layer"]: 99.0,
                                          rows["no_ood"]["channel"]: 98.5}},
                          **{net: {"Klebsiella": {rows["no_ood"]["layer"]: 60.0,
                                                  rows["no_ood"]["channel"]: c}}
                             for net, c in zip(nets, (70.0, 58.0))}},
               "other_kind": {case: {"k": {rows["other_kind"]["layer"]: 80.0}}
                              for case in ["MNIST", *nets]}}
    results = _kind_figures(figures["no_ood"])
    for case, setting in _kind_figures(figures["other_kind"], "other_kind").items():
        results[case]["settings"].update(setting["settings"])
    for setting, per_case in figures.items():  # the rows each case measured
        for case, kinds in per_case.items():
            results[case]["settings"][setting]["mean"] = dict.fromkeys(*kinds.values())
    made = fssd_defaults.choices(results)
    image = made["distances of image cases, without OoD data"]
    assert image == ("no_ood", {"layer": {"MNIST": "FSSD class_typical"},
                                "channel": {"MNIST": fssd_defaults.CHANNEL_RULE}})
    loo = fssd_defaults.leave_one_out(results, {k: made[k] for k in made if "distances" in k})
    assert loo["distances of image cases, without OoD data"]["winner"] == "layer"
    genome = loo["distances of genome cases, without OoD data"]
    assert genome["winner"] == "channel" and genome["lead"] == pytest.approx(4.0)
    assert genome["sets"] == ["genome"]
    # the tuned setting measured no per-channel stack: no choice is made there
    assert not [k for k in made if k.startswith("distances") and "tuned" in k]
    assert _distances_choice_sentences(loo) == [
        "Chosen per family of cases, the distances FSSD reads are on the image cases one per "
        "layer (without OoD data: lead 0.50 points over one per channel) and on the genome "
        "cases one per channel (without OoD data: lead 4.00 points over one per layer)."]
    assert _distances_choice_sentences({}) == []
