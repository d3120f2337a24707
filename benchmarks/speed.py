"""FSSDDetector scoring speed and memory, measured against a plain forward pass.

    python -m benchmarks.speed            # full run, writes benchmarks/results/speed.{md,json,png}
    python -m benchmarks.speed --quick    # seconds; what the test suite runs

Throughput: samples per second of
  * the forward pass of the same network (torch.inference_mode, same batch size, same
    numpy -> tensor conversion): the physical limit of FSSD without pre-processing;
  * FSSDDetector.score_samples with epsilon=0 (all layers tapped) and with epsilon > 0
    (one backward and one extra forward per layer);
  * layer_scores of the early layers only (the forward pass stops after them).
All are measured in one run, best of several interleaved rounds, so the ratios compare like
with like.

Memory: peak resident memory added while scoring n samples, each n in a fresh
subprocess (ru_maxrss after scoring minus ru_maxrss before it, with X already in memory).
Streaming means it stays flat in n.
"""

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from sklearn_fssd import FSSDDetector
from sklearn_fssd._utils import iter_batches, to_tensor
from sklearn_fssd.models import LeNet

RESULTS = Path(__file__).resolve().parent / "results"


def _best_time(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _forward_pass(module, X, batch_size):
    with torch.inference_mode():
        for sl in iter_batches(len(X), batch_size):
            module(to_tensor(X[sl], "cpu"))


def _make(n, seed=0):
    rng = np.random.RandomState(seed)
    return rng.uniform(0, 1, size=(n, 1, 28, 28)).astype(np.float32)


def throughput(n, batch_size, repeats):
    torch.manual_seed(0)
    module = LeNet().eval()
    X_fit, X = _make(256, seed=1), _make(n)
    det = FSSDDetector(module, batch_size=batch_size, random_state=0).fit(X_fit)
    det_early = FSSDDetector(module, layers=["conv1"], batch_size=batch_size, random_state=0)
    det_early.fit(X_fit)
    det_eps = FSSDDetector(module, epsilon=0.01, batch_size=batch_size, random_state=0)
    runs = {
        "forward pass (reference)": lambda: _forward_pass(det.model_, X, batch_size),
        "FSSD score_samples, epsilon=0, 4 layers": lambda: det.score_samples(X),
        "FSSD layer_scores, epsilon=0, 4 layers": lambda: det.layer_scores(X),
        "FSSD layer_scores, conv1 only (stops early)": lambda: det_early.layer_scores(X),
    }
    for fn in runs.values():  # warm-up: allocator, kernels
        fn()
    # interleaved rounds, best of each: a slow spell of the machine hits every run alike
    seconds = {name: float("inf") for name in runs}
    for _ in range(repeats):
        for name, fn in runs.items():
            seconds[name] = min(seconds[name], _best_time(fn, 1))
    # Pre-processing last: its autograd allocations change the allocator's state
    # (glibc's mmap threshold), after which plain forward passes run faster; measured
    # in between, it would bias the rounds above.
    name = "FSSD score_samples, epsilon=0.01, 4 layers"
    det_eps.fit(X_fit).score_samples(X[: 2 * batch_size])
    seconds[name] = _best_time(lambda: det_eps.score_samples(X), max(1, repeats // 2))
    reference = seconds["forward pass (reference)"]
    return [
        {
            "run": name,
            "seconds": s,
            "samples_per_s": n / s,
            "ratio_to_forward": reference / s,
        }
        for name, s in seconds.items()
    ]


_MEMORY_CHILD = """
import sys, numpy as np, torch
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


def write(results, out_dir, command):
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "speed.json").write_text(json.dumps(results, indent=2))
    lines = [
        "# FSSDDetector speed and memory",
        "",
        f"Written by `{command}` on {results['machine']} "
        f"({results['torch_threads']} torch threads, torch {results['torch']}), "
        f"LeNet on 28x28 inputs, batch size {results['batch_size']}, n = {results['n']}.",
        "",
        "| run | seconds | samples/s | x forward pass |",
        "|---|---:|---:|---:|",
    ]
    for row in results["throughput"]:
        lines.append(
            f"| {row['run']} | {row['seconds']:.3f} | {row['samples_per_s']:.0f} | "
            f"{row['ratio_to_forward']:.2f} |"
        )
    lines += [
        "",
        "Target: without pre-processing, at least 0.90 x the forward pass. Ratios come from "
        "interleaved rounds in one process (best of each), so load from other processes on the "
        "machine hits every run alike; absolute rates depend on that load.",
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

        fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
        names = [r["run"].replace("FSSD ", "").replace(", ", "\n", 1) for r in results["throughput"]]
        axes[0].barh(names, [r["ratio_to_forward"] for r in results["throughput"]])
        axes[0].axvline(0.9, color="k", ls="--", lw=1)
        axes[0].set_xscale("log")
        axes[0].set_xlabel("throughput / forward pass (log scale)")
        axes[0].invert_yaxis()
        for eps in sorted({r["epsilon"] for r in results["memory"]}):
            rows = [r for r in results["memory"] if r["epsilon"] == eps]
            axes[1].plot([r["n"] for r in rows], [r["peak_added_mib"] for r in rows], "o-",
                         label=f"scoring, epsilon={eps}")
        rows = [r for r in results["memory"] if r["epsilon"] == 0]
        axes[1].plot([r["n"] for r in rows], [r["input_mib"] for r in rows], "k:", label="size of X")
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


def main(argv=None):
    parser = argparse.ArgumentParser(description="FSSDDetector speed and memory benchmark")
    parser.add_argument("--quick", action="store_true", help="small sizes, for the test suite")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    n, repeats, sizes = (256, 1, [128, 512]) if args.quick else (8192, 9, [2000, 8000, 32000])
    batch_size = 256
    command = "python -m benchmarks.speed" + (" --quick" if args.quick else "")
    results = {
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "batch_size": batch_size,
        "n": n,
        "throughput": throughput(n, batch_size, repeats),
        "memory": memory(sizes, batch_size, 0.0)
        + ([] if args.quick else memory(sizes, batch_size, 0.01)),
        "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }
    write(results, args.out, command)
    for row in results["throughput"]:
        print(f"{row['run']:<48} {row['samples_per_s']:>9.0f}/s  x{row['ratio_to_forward']:.2f}")
    for row in results["memory"]:
        print(f"memory n={row['n']:<6} eps={row['epsilon']:<5} +{row['peak_added_mib']:.1f} MiB")
    return results


if __name__ == "__main__":
    main()
