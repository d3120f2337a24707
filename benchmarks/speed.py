"""FSSDDetector scoring speed and memory, measured against a plain forward pass.

    python -m benchmarks.speed            # full run, writes benchmarks/results/speed.{md,json,png}
    python -m benchmarks.speed --quick    # seconds; what the test suite runs

Throughput: samples per second of
  * the forward pass of the same network (torch.inference_mode, same batch size, same
    numpy -> tensor conversion): the physical limit of FSSD without pre-processing;
  * FSSDDetector.score_samples with epsilon=0 (the paper's four layers of LeNet tapped, and
    LeNet's default eight);
  * layer_scores of the early layers only (the forward pass stops after them);
  * per-layer input pre-processing (epsilon > 0): FSSDDetector, and the least work it can
    take written in plain torch (:func:`per_layer_minimum`: one forward pass with its graph,
    one input-gradient backward pass and one forward pass per layer), which must give the
    same scores (checked in every run);
  * the joint step (``perturb="joint"``: one step for all layers).
All are measured in one run, best of several interleaved rounds, so the ratios compare like
with like.

Quality of the joint step against the per-layer step: AUROC on a digits protocol
(:func:`joint_step_auroc`), the same epsilon for both, no OoD data in fitting.

Memory: peak resident memory added while scoring n samples, each n in a fresh
subprocess (ru_maxrss after scoring minus ru_maxrss before it, with X already in memory).
Streaming means it stays flat in n.
"""

import copy
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks._ood import ResultsParser
from benchmarks._provenance import provenance
from sklearn_fssd import FSSDDetector
from sklearn_fssd._utils import iter_batches, to_tensor
from sklearn_fssd.models import LeNet
from sklearn_fssd.singularity import fssd_distance


def _synchronize(device):
    """Wait for the device's queued work (CUDA runs asynchronously), so a clock reads it all."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def _best_time(fn, repeats, device="cpu"):
    times = []
    for _ in range(repeats):
        _synchronize(device)
        start = time.perf_counter()
        fn()
        _synchronize(device)
        times.append(time.perf_counter() - start)
    return min(times)


def _forward_pass(module, X, batch_size, device="cpu"):
    with torch.inference_mode():
        for sl in iter_batches(len(X), batch_size):
            module(to_tensor(X[sl], device))


def _make(n, seed=0):
    rng = np.random.RandomState(seed)
    return rng.uniform(0, 1, size=(n, 1, 28, 28)).astype(np.float32)


MINIMUM = "per-layer pre-processing, plain-torch minimum"
JOINT = "perturb='joint' (one step for all layers)"
DEFAULT_LAYERS = "FSSD score_samples, epsilon=0, LeNet's default 8 layers"
PER_LAYER = "per-layer step"
JOINT_SUM = "joint step on sum_k FSSD_k (perturb='joint')"
JOINT_LOG = "joint step on sum_k log FSSD_k (not in the library)"


def _forward_to(layers, x, names):
    """Run ``layers`` (a sequential network's ``(name, module)`` children, in forward order)
    on ``x``; the outputs of the layers ``names``, stopping after the last of them."""
    outputs = []
    for name, layer in layers:
        x = layer(x)
        if name in names:
            outputs.append(x)
            if len(outputs) == len(names):
                break
    return outputs


def per_layer_minimum(network, names, centres, X, batch_size, epsilon, device="cpu"):
    """Per-layer pre-processing (the paper's Algorithm 1) in plain torch, with the least work.

    For each batch: ONE forward pass of ``x`` with its graph, reading every tapped layer;
    for each layer ``k`` the input gradient of ``||F_k(x) - F*_k||`` (a backward pass through
    the part of the graph below ``k``); then for each layer one forward pass of
    ``x + epsilon * sign(grad_k)``, without autograd, that stops at ``k``. The network runs
    by hand as its children in order (LeNet's forward is exactly that). No sklearn_fssd
    code: only the network and the F* tensors come from the library.
    """
    layers = list(network.named_children())
    columns_of_batches = []
    for start in range(0, len(X), batch_size):
        x = torch.from_numpy(X[start : start + batch_size]).to(device).requires_grad_(True)
        features = _forward_to(layers, x, names)
        distances = [torch.linalg.vector_norm(f.flatten(1) - c, dim=1)
                     for f, c in zip(features, centres)]
        last = len(distances) - 1
        grads = [torch.autograd.grad(d.sum(), x, retain_graph=k < last)[0]
                 for k, d in enumerate(distances)]
        del features, distances
        x = x.detach()
        with torch.inference_mode():
            columns = [
                torch.linalg.vector_norm(
                    _forward_to(layers, x + epsilon * torch.sign(g), [name])[0].flatten(1) - c,
                    dim=1,
                )
                for name, g, c in zip(names, grads, centres)
            ]
        columns_of_batches.append(torch.stack(columns, dim=1))
    return torch.cat(columns_of_batches).cpu().numpy()


class LogJointStepFSSD(FSSDDetector):
    """The joint step on ``J = sum_k log FSSD_k`` (each layer's relative change counts alike):
    a variant measured here and left out of the library (``perturb="joint"`` steps on
    ``sum_k FSSD_k``), with ``perturb="joint"``. Fitting and scoring both use it."""

    def _step_objective(self, centres):
        return lambda k, feats: torch.log(fssd_distance(feats, centres[k]).clamp_min(1e-12))


def throughput(n, batch_size, repeats, epsilon=0.01, device="cpu"):
    torch.manual_seed(0)
    module = LeNet().eval()
    X_fit, X = _make(256, seed=1), _make(n)
    # the paper's four layers, as the rows say (LeNet's default taps all eight stages)
    on = {"batch_size": batch_size, "device": device, "random_state": 0}
    paper = {**on, "layers": LeNet.paper_layers}
    det = FSSDDetector(module, **paper).fit(X_fit)
    det_default = FSSDDetector(module, **on).fit(X_fit)
    det_early = FSSDDetector(module, layers=["conv1"], **on).fit(X_fit)
    det_eps = FSSDDetector(module, epsilon=epsilon, **paper).fit(X_fit)
    det_joint = FSSDDetector(module, epsilon=epsilon, perturb="joint", **paper).fit(X_fit)
    # the minimum runs on a plain copy of the network: eval mode, no parameter gradients
    plain = copy.deepcopy(module).to(device).eval().requires_grad_(False)
    layers, centres = det_eps.layers_, det_eps.singularities_

    def minimum():
        return per_layer_minimum(plain, layers, centres, X, batch_size, epsilon, device)

    runs = {
        "forward pass (reference)": lambda: _forward_pass(det.model_, X, batch_size, device),
        "FSSD score_samples, epsilon=0, 4 layers": lambda: det.score_samples(X),
        "FSSD layer_scores, epsilon=0, 4 layers": lambda: det.layer_scores(X),
        DEFAULT_LAYERS: lambda: det_default.score_samples(X),
        "FSSD layer_scores, conv1 only (stops early)": lambda: det_early.layer_scores(X),
    }
    preprocessing = {
        MINIMUM: minimum,
        f"FSSD score_samples, epsilon={epsilon}, 4 layers": lambda: det_eps.score_samples(X),
        f"FSSD layer_scores, epsilon={epsilon}, 4 layers": lambda: det_eps.layer_scores(X),
        f"FSSD score_samples, epsilon={epsilon}, 4 layers, {JOINT}":
            lambda: det_joint.score_samples(X),
    }
    runs.update(preprocessing)
    # the minimum computes what FSSD computes, to float tolerance
    same = compare_scores(minimum(), det_eps.layer_scores(X))
    # Warm-up of every run (allocator, kernels). The autograd passes raise glibc's mmap
    # threshold, after which plain forward passes run faster: warming every run up first puts
    # the allocator in that state for all the timed rounds alike.
    for fn in runs.values():
        fn()
    # interleaved rounds, best of each: a slow spell of the machine hits every run alike
    seconds = {name: float("inf") for name in runs}
    for _ in range(repeats):
        for name, fn in runs.items():
            seconds[name] = min(seconds[name], _best_time(fn, 1, device))
    rows = []
    for name, s in seconds.items():
        row = {"run": name, "seconds": s, "samples_per_s": n / s,
               "ratio_to_forward": seconds["forward pass (reference)"] / s}
        if name in preprocessing:
            row["ratio_to_minimum"] = seconds[MINIMUM] / s
        rows.append(row)
    return rows, same


def compare_scores(minimum, fssd, rtol=1e-5):
    """The largest relative difference between the minimum's scores and FSSD's; an error
    above ``rtol``: the minimum must compute what FSSD computes."""
    worst = float(np.max(np.abs(minimum - fssd) / np.maximum(np.abs(fssd), 1e-30)))
    if not worst <= rtol:
        raise RuntimeError(
            f"The plain-torch minimum's scores differ from FSSDDetector.layer_scores by up to "
            f"{worst:.3g} (relative), above {rtol}: they do not compute the same thing."
        )
    return worst


def _digits_protocol(seed):
    """The digits evaluation: in-distribution digits 0-6 (train and test halves) and OoD kinds
    nobody tuned for, built from the test half and the held-out classes."""
    from sklearn.datasets import load_digits

    data = load_digits()
    X = (data.images / 16.0).astype(np.float32)[:, None]
    rng = np.random.RandomState(seed)
    known = data.target <= 6
    X_id, y_id = X[known], data.target[known]
    order = rng.permutation(len(X_id))
    half = len(order) // 2
    train, test = order[:half], order[half:]
    X_test = X_id[test]
    shuffled = X_test.reshape(len(X_test), -1).copy()
    for row in shuffled:
        rng.shuffle(row)
    ood = {
        "digits 7-9": X[~known],
        "uniform noise": rng.uniform(0, 1, size=X_test.shape).astype(np.float32),
        "shuffled pixels": shuffled.reshape(X_test.shape),
        "inverted digits": 1.0 - X_test,
        "10x digits": 10.0 * X_test,
    }
    return X_id[train], y_id[train], X_test, ood


def joint_step_auroc(seeds, epsilons, max_epochs):
    """AUROC (in-distribution positive) of FSSD with the per-layer step against the joint step,
    at the same epsilon, on the digits protocol: one LeNet per seed trained on digits 0-6,
    every detector fitted on the training digits only (no OoD data), the default combination."""
    from sklearn_fssd.metrics import auroc
    from sklearn_fssd.training import train_lenet

    methods = {
        PER_LAYER: lambda net, eps, seed: FSSDDetector(net, epsilon=eps, random_state=seed),
        JOINT_SUM: lambda net, eps, seed: FSSDDetector(net, epsilon=eps, perturb="joint",
                                                       random_state=seed),
        JOINT_LOG: lambda net, eps, seed: LogJointStepFSSD(net, epsilon=eps, perturb="joint",
                                                           random_state=seed),
    }
    rows = []
    for seed in seeds:
        X_train, y_train, X_test, ood = _digits_protocol(seed)
        net = train_lenet(X_train, y_train, max_epochs=max_epochs, random_state=seed)
        for epsilon in epsilons:
            for method, make in methods.items():
                if epsilon == 0 and method != PER_LAYER:
                    continue  # no step: the methods coincide
                det = make(net, epsilon, seed)
                det.fit(X_train)
                id_scores, id_layers = det.score_samples(X_test), det.layer_scores(X_test)
                row = {"seed": seed, "epsilon": epsilon, "method": method, "auroc": {},
                       "layer_auroc": {}}
                for kind, X_ood in ood.items():
                    y_ood = np.r_[np.zeros(len(X_test), int), np.ones(len(X_ood), int)]
                    row["auroc"][kind] = auroc(
                        y_ood, id_score=np.r_[id_scores, det.score_samples(X_ood)])
                    layers = det.layer_scores(X_ood)
                    row["layer_auroc"][kind] = {
                        name: auroc(y_ood, id_score=np.r_[id_layers[:, k], layers[:, k]])
                        for k, name in enumerate(det.layers_)
                    }
                row["mean_auroc"] = float(np.mean(list(row["auroc"].values())))
                rows.append(row)
    return rows


def summarise_auroc(rows):
    """Mean over seeds of each (epsilon, method): AUROC per OoD kind and their mean."""
    groups = {}
    for row in rows:
        groups.setdefault((row["epsilon"], row["method"]), []).append(row)
    summary = []
    for (epsilon, method), group in groups.items():
        kinds = list(group[0]["auroc"])
        means = [r["mean_auroc"] for r in group]
        summary.append({
            "epsilon": epsilon,
            "method": method,
            "seeds": len(group),
            "auroc": {k: float(np.mean([r["auroc"][k] for r in group])) for k in kinds},
            "mean_auroc": float(np.mean(means)),
            "mean_auroc_sd_over_seeds": float(np.std(means)),
        })
    return summary


_MEMORY_CHILD = """
import sys, numpy as np, torch
from benchmarks._provenance import provenance
from sklearn_fssd import FSSDDetector
from sklearn_fssd.models import LeNet
from benchmarks.speed import reset_peak_rss, peak_rss_mib
torch.manual_seed(0)
n, batch_size, epsilon = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
rng = np.random.RandomState(0)
det = FSSDDetector(LeNet().eval(), epsilon=epsilon, batch_size=batch_size, random_state=0)
det.fit(rng.uniform(0, 1, size=(256, 1, 28, 28)).astype(np.float32))
X = rng.uniform(0, 1, size=(n, 1, 28, 28)).astype(np.float32)
base = reset_peak_rss()
scores = det.score_samples(X)
print(peak_rss_mib() - base, X.nbytes / 2**20)
"""


def _status_mib(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"{field} not in /proc/self/status")


def reset_peak_rss():
    """Reset the kernel's peak-RSS mark (Linux) and return the current RSS in MiB."""
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")
    return _status_mib("VmRSS")


def peak_rss_mib():
    """Peak resident memory since the last reset, in MiB (Linux)."""
    return _status_mib("VmHWM")


def memory(sizes, batch_size, epsilon):
    rows = []
    for n in sizes:
        out = subprocess.run(
            [sys.executable, "-c", _MEMORY_CHILD, str(n), str(batch_size), str(epsilon)],
            check=True,
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parents[1],
        ).stdout.split()
        rows.append({"n": n, "epsilon": epsilon, "peak_added_mib": float(out[0]),
                     "input_mib": float(out[1])})
    return rows


def _verdict(kept):
    return "kept" if kept else "**missed**"


def _joint_lines(results):
    """The Markdown of the joint-step experiment: AUROC table, then what it decided."""
    summary = results["joint_step"]["summary"]
    kinds = list(summary[0]["auroc"])
    lines = [
        "## One step for all layers (the joint step): speed and AUROC",
        "",
        "The joint step `x~ = x + epsilon * sign(grad_x J(x))`, one for all layers, with `J` the "
        "sum of the layers' FSSD (`perturb=\"joint\"`) or of their logs (a variant), costs one "
        "forward pass with its graph, one backward pass and one forward pass; the table above "
        "times it. Its quality, against the per-layer step at the same epsilon, on digits: "
        f"{results['joint_step']['protocol']}",
        "",
        "| epsilon | step | " + " | ".join(kinds) + " | mean (sd over seeds) |",
        "|---:|---|" + "---:|" * (len(kinds) + 1),
    ]
    for row in summary:
        lines.append(
            f"| {row['epsilon']} | {row['method']} | "
            + " | ".join(f"{row['auroc'][k]:.3f}" for k in kinds)
            + f" | {row['mean_auroc']:.3f} ({row['mean_auroc_sd_over_seeds']:.3f}) |"
        )
    lines += ["", results["joint_step"]["decision"]]
    return lines


def write(results, out_dir):
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "speed.json").write_text(json.dumps(results, indent=2))
    prov = results
    cpu = prov["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in prov["versions"].items() if v)
    rows = {row["run"]: row for row in results["throughput"]}
    lines = [
        "# FSSDDetector speed and memory",
        "",
        f"Written by `{prov['command']}` at commit `{(prov['commit'] or '?')[:10]}`"
        f"{' (with uncommitted changes)' if prov['uncommitted_changes'] else ''}, {prov['utc']}, "
        f"in {prov['wall_s']} s, seed {prov['seed']}, on {cpu['cpus']} CPUs "
        f"({cpu.get('processor', cpu['machine'])}; load average {cpu.get('load_average_1min')} "
        f"at the end, other processes included), {results['torch_threads']} torch threads; "
        f"{versions}. LeNet on 28x28 inputs, batch size {results['batch_size']}, "
        f"n = {results['n']}.",
        "",
        "| run | seconds | samples/s | x forward pass | x per-layer minimum |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in results["throughput"]:
        floor = row.get("ratio_to_minimum")
        lines.append(
            f"| {row['run']} | {row['seconds']:.3f} | {row['samples_per_s']:.0f} | "
            f"{row['ratio_to_forward']:.2f} | {'' if floor is None else f'{floor:.2f}'} |"
        )
    plain = rows["FSSD score_samples, epsilon=0, 4 layers"]["ratio_to_forward"]
    fssd = [row for name, row in rows.items()
            if name.startswith("FSSD") and "ratio_to_minimum" in row and JOINT not in name]
    worst = min(row["ratio_to_minimum"] for row in fssd)
    lines += [
        "",
        "Ratios come from interleaved rounds in one process (best of each), after a warm-up of "
        "every run, so load from other processes on the machine hits every run alike; absolute "
        "rates depend on that load.",
        "",
        f"* Without pre-processing, at least 0.90 x the forward pass: {plain:.2f}, "
        f"{_verdict(plain >= 0.9)}.",
        f"* With per-layer pre-processing, at least 0.95 x the minimum it can cost: "
        f"{worst:.2f} (the lower of score_samples and layer_scores), {_verdict(worst >= 0.95)}. "
        "The minimum is written in plain torch in `benchmarks/speed.py` "
        "(`per_layer_minimum`): per batch one forward pass with its graph reading all four "
        "layers, one input-gradient backward pass per layer, one forward pass per layer on its "
        "perturbed input, stopping at that layer. Its layer scores equal "
        "`FSSDDetector.layer_scores` up to a relative difference of "
        f"{results['minimum_vs_fssd_max_rel_diff']:.1g} (the run checks it).",
        "",
    ]
    lines += _joint_lines(results)
    lines += [
        "",
        "## Peak memory added while scoring n samples (fresh process each)",
        "",
        "| n | epsilon | input X (MiB) | peak added (MiB) |",
        "|---:|---:|---:|---:|",
    ]
    for row in results["memory"]:
        lines.append(
            f"| {row['n']} | {row['epsilon']} | {row['input_mib']:.1f} | "
            f"{row['peak_added_mib']:.1f} |"
        )
    lines += [
        "",
        "Flat in n: batches stream, only (n, n_layers) distances are kept.",
    ]
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        names = [r["run"].replace("FSSD ", "").replace(", ", "\n", 1).replace(", perturb",
                                                                             "\nperturb")
                 for r in results["throughput"]]
        axes[0].barh(names, [r["ratio_to_forward"] for r in results["throughput"]])
        axes[0].axvline(0.9, color="k", ls="--", lw=1)
        axes[0].set_xscale("log")
        axes[0].set_xlabel("throughput / forward pass (log scale)")
        axes[0].tick_params(axis="y", labelsize=7)
        axes[0].invert_yaxis()
        for eps in sorted({r["epsilon"] for r in results["memory"]}):
            rows = [r for r in results["memory"] if r["epsilon"] == eps]
            axes[1].plot([r["n"] for r in rows], [r["peak_added_mib"] for r in rows], "o-",
                         label=f"scoring, epsilon={eps}")
        rows = [r for r in results["memory"] if r["epsilon"] == 0]
        axes[1].plot([r["n"] for r in rows], [r["input_mib"] for r in rows], "k:",
                     label="size of X")
        axes[1].set_xlabel("n samples")
        axes[1].set_ylabel("MiB")
        axes[1].legend()
        fig.tight_layout()
        fig.savefig(out_dir / "speed.png", dpi=110)
        plt.close(fig)
        lines += ["", "![speed](speed.png)"]
    except ImportError:  # plots are an extra
        pass
    (out_dir / "speed.md").write_text("\n".join(lines) + "\n")


def joint_decision(summary):
    """What the AUROC table says, in words and figures: per joint objective its mean AUROC minus
    the per-layer step's at each epsilon, whether that backs ``perturb="joint"``, and how the
    steps compare with no step at all."""
    base = {r["epsilon"]: r["mean_auroc"] for r in summary if r["method"] == PER_LAYER}
    spread = max(r["mean_auroc_sd_over_seeds"] for r in summary)
    words, kept = [], {}
    for method in dict.fromkeys(r["method"] for r in summary if r["method"] != PER_LAYER):
        gaps = {r["epsilon"]: r["mean_auroc"] - base[r["epsilon"]] for r in summary
                if r["method"] == method}
        kept[method] = min(gaps.values()) >= 0
        words.append(f"{method}: mean AUROC minus the per-layer step's "
                     + ", ".join(f"{g:+.4f} at epsilon {e}" for e, g in gaps.items())
                     + (" (at least as good everywhere)." if kept[method]
                        else " (worse at some epsilon)."))
    if kept[JOINT_SUM]:
        words.append("So the library offers the joint step on the sum of FSSD_k as "
                     "`perturb=\"joint\"`; the default stays the paper's per-layer step. The "
                     "log variant stays out" + ("." if not kept[JOINT_LOG] else
                                                 ": one joint objective is enough."))
    else:
        words.append("**These figures do not back `perturb=\"joint\"`**: the per-layer step "
                     "is better at some epsilon.")
    no_step = base.get(0.0)
    best = max(r["mean_auroc"] for r in summary if r["epsilon"] > 0)
    largest = max(abs(r["mean_auroc"] - base[r["epsilon"]]) for r in summary)
    words.append(f"The largest gap is {largest:.4f}, the spread of the mean over seeds up to "
                 f"{spread:.3f}"
                 + ("" if no_step is None else
                    f"; the best step scores {best:.3f} against {no_step:.3f} without one")
                 + ". The figures say what the joint step costs and that it loses nothing on "
                 "this protocol, not that it detects better.")
    return " ".join(words)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = ResultsParser("speed.{md,json,png}",
                           description="FSSDDetector speed and memory benchmark")
    parser.add_argument("--quick", action="store_true", help="small sizes, for the test suite")
    parser.add_argument("--device", default="cpu",
                        help="where the network runs: cpu (the full benchmark) or cuda (the "
                        "throughput and minimum only, written to speed_cuda.{md,json})")
    args = parser.parse_args(argv)
    if args.device != "cpu":
        return cuda_main(args)
    started = time.perf_counter()
    if args.quick:
        n, repeats, sizes = 256, 1, [128, 512]
        seeds, epsilons, epochs = [0], [0.0, 0.02], 2
    else:
        n, repeats, sizes = 4096, 7, [2000, 8000, 32000]
        seeds, epsilons, epochs = [0, 1, 2, 3, 4], [0.0, 0.01, 0.02, 0.05, 0.1], 14
    batch_size = 256
    rows, same = throughput(n, batch_size, repeats)
    auroc_rows = joint_step_auroc(seeds, epsilons, epochs)
    summary = summarise_auroc(auroc_rows)
    results = {
        "torch_threads": torch.get_num_threads(),
        "batch_size": batch_size,
        "n": n,
        "throughput": rows,
        "minimum_vs_fssd_max_rel_diff": same,
        "joint_step": {
            "protocol": (
                f"a LeNet per seed (seeds {seeds}) trained {epochs} epochs "
                "(`sklearn_fssd.training.train_lenet`) on half of the digits 0-6 of "
                "`sklearn.datasets.load_digits`; each detector fitted on those training digits "
                "only (`fit(X_train)`, default combination, no OoD data); in-distribution test "
                "set: the other half of the digits 0-6; OoD sets: the digits 7-9, uniform "
                "noise, the test digits with shuffled pixels, inverted (1 - x) and times 10. "
                "AUROC of `score_samples`, in-distribution positive, mean over the seeds."
            ),
            "summary": summary,
            "decision": joint_decision(summary),
            "runs": auroc_rows,
        },
        "memory": memory(sizes, batch_size, 0.0)
        + ([] if args.quick else memory(sizes, batch_size, 0.01)),
        "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }
    command = "python -m benchmarks.speed" + (" --quick" if args.quick else "")
    results = {**provenance(command, seed=0, started=started), **results}
    write(results, args.out)
    for row in results["throughput"]:
        floor = row.get("ratio_to_minimum")
        print(f"{row['run']:<62} {row['samples_per_s']:>9.0f}/s  x{row['ratio_to_forward']:.3f}"
              + ("" if floor is None else f"  x{floor:.3f} of the minimum"))
    print(results["joint_step"]["decision"])
    for row in results["memory"]:
        print(f"memory n={row['n']:<6} eps={row['epsilon']:<5} +{row['peak_added_mib']:.1f} MiB")
    return results


def cuda_main(args):
    """Throughput on a GPU: the same runs as on CPU, CUDA work timed to its end."""
    if not torch.cuda.is_available():
        raise SystemExit(f"--device {args.device}: torch sees no CUDA device here "
                         f"(torch {torch.__version__}, CUDA build: {torch.version.cuda}). Run it "
                         "on a GPU machine with a CUDA build of torch, or use --device cpu.")
    started = time.perf_counter()
    n, repeats = (1024, 2) if args.quick else (32768, 7)
    batch_size = 256
    rows, same = throughput(n, batch_size, repeats, device=args.device)
    command = f"python -m benchmarks.speed --device {args.device}" + (
        " --quick" if args.quick else "")
    results = {**provenance(command, seed=0, started=started),
               "device": torch.cuda.get_device_name(), "cuda": torch.version.cuda,
               "batch_size": batch_size, "n": n, "throughput": rows,
               "minimum_vs_fssd_max_rel_diff": same}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "speed_cuda.json").write_text(json.dumps(results, indent=2))
    lines = [f"# FSSDDetector speed on {results['device']} (CUDA {results['cuda']})", "",
             f"Command: `{command}`; commit {results['commit']}; n = {n}, batches of "
             f"{batch_size}, best of {repeats} interleaved rounds.", "",
             "| run | samples/s | x forward pass | x plain-torch minimum |", "|---|---|---|---|"]
    for row in rows:
        floor = row.get("ratio_to_minimum")
        lines.append(f"| {row['run']} | {row['samples_per_s']:.0f} | "
                     f"{row['ratio_to_forward']:.3f} | "
                     + ("" if floor is None else f"{floor:.3f}") + " |")
    (out / "speed_cuda.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return results


if __name__ == "__main__":
    main()
