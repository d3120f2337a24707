"""Scoring on a Dask cluster (sklearn_fssd.dask.score_dask): 1, 2 and 4 worker processes.

    python -m benchmarks dask-scaling          # full run: benchmarks/results/dask_scaling.{md,json}
    python -m benchmarks dask-scaling --quick  # seconds; what the test suite runs
    python -m benchmarks dask-scaling --scheduler tcp://host:8786   # on a running cluster

One ``distributed.LocalCluster`` on 127.0.0.1 with as many worker processes as the largest count
(``threads_per_worker=1``; torch runs one thread in each), or the cluster of ``--scheduler``. A
run with k workers restricts its tasks to the first k of them, and its input, the same random
28x28 images for every run, is generated and kept on those k workers beforehand, so each run
measures scoring alone, as when data is loaded on the cluster (from zarr, parquet, ...) rather
than sent from the client. The network is the paper's LeNet; the detector FSSDDetector on the
paper's 4 layers (``LeNet.paper_layers``), epsilon=0.

References in the same process: ``det.score_samples(X)`` on the in-memory array, with torch's
default threads (all cores) and with one thread (what one worker gets). Rounds are interleaved
(each round runs every configuration once), and each configuration reports its median round, so
load from other processes on the machine hits every configuration alike. The first compute of
each worker count, which ships the detector to its workers and loads it there, is reported apart.

On a machine with fewer cores than workers the curve flattens at the core count: the benchmark
records what it measures, with the machine's core count and load.
"""

import json
import os
import pickle
import time
from statistics import median

import numpy as np
import torch

from benchmarks._ood import ResultsParser
from benchmarks._provenance import provenance
from sklearn_fssd import FSSDDetector
from sklearn_fssd.models import LeNet


def _timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _name(k):
    return f"{k} worker" + ("s" if k > 1 else "")


def _in_process(det, X, threads):
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return _timed(lambda: det.score_samples(X))
    finally:
        torch.set_num_threads(before)


def measure(n, chunk, worker_counts, rounds, scheduler=None, seed=0):
    import dask.array as da
    from distributed import Client, LocalCluster, wait

    from sklearn_fssd.dask import score_dask

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=max(worker_counts), threads_per_worker=1, processes=True,
            host="127.0.0.1", dashboard_address=None,
        )
    client = Client(cluster if scheduler is None else scheduler, set_as_default=False)
    try:
        available = len(client.scheduler_info()["workers"])
        if scheduler is not None and available < max(worker_counts):
            raise ValueError(
                f"The cluster at {scheduler} has {available} workers; this run needs "
                f"{max(worker_counts)} (worker counts {list(worker_counts)})."
            )
        client.wait_for_workers(max(worker_counts), timeout=120)
        torch.manual_seed(seed)
        rng = np.random.RandomState(seed)
        det = FSSDDetector(LeNet().eval(), layers=LeNet.paper_layers, batch_size=256,
                           random_state=seed)
        det.fit(rng.uniform(0, 1, size=(256, 1, 28, 28)).astype(np.float32))
        images = da.random.default_rng(seed).random(
            (n, 1, 28, 28), dtype=np.float32, chunks=(chunk, 1, 28, 28)
        )
        X = images.compute(scheduler="sync")
        all_threads = torch.get_num_threads()
        workers = sorted(client.scheduler_info()["workers"])
        worker_threads = sorted(set(client.run(torch.get_num_threads).values()))
        runs = {}
        first = {}
        for k in worker_counts:
            subset = workers[:k]
            # the same images, generated on (and kept by) the k workers of this run
            data = images.map_blocks(np.array, dtype=images.dtype, name=f"images-on-{k}-workers")
            data = client.persist(data, workers=subset, allow_other_workers=False)
            with client.as_current():  # wait() looks for the current client
                wait(data)
            lazy = score_dask(det, data, client=client)
            seconds, scores = _timed(
                lambda: client.compute(lazy, workers=subset, allow_other_workers=False).result()
            )
            first[k] = seconds
            runs[k] = (subset, data, lazy, scores)

        reference = det.score_samples(X)
        names = ["in-process", "in-process, 1 thread"] + [_name(k) for k in worker_counts]
        seconds = {name: [] for name in names}
        for _ in range(rounds):
            seconds["in-process"].append(_in_process(det, X, all_threads)[0])
            seconds["in-process, 1 thread"].append(_in_process(det, X, 1)[0])
            for k in worker_counts:
                subset, _, lazy, _ = runs[k]
                elapsed, scores = _timed(
                    lambda: client.compute(lazy, workers=subset, allow_other_workers=False).result()
                )
                seconds[_name(k)].append(elapsed)
                runs[k] = (*runs[k][:3], scores)
        max_diff = max(float(np.abs(runs[k][3] - reference).max()) for k in worker_counts)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()

    base = median(seconds["in-process"])
    one_thread = n / median(seconds["in-process, 1 thread"])
    first_count = median(seconds[_name(worker_counts[0])])
    rows = []
    for name in names:
        s = median(seconds[name])
        k = {"in-process": all_threads, "in-process, 1 thread": 1}.get(name)
        workers_or_threads = k if k is not None else int(name.split()[0])
        rows.append({
            "run": name,
            "workers": None if k is not None else workers_or_threads,
            "torch_threads": k if k is not None else workers_or_threads,
            "seconds": s,
            "rounds": seconds[name],
            "samples_per_s": n / s,
            "samples_per_s_per_worker": n / s / workers_or_threads,
            "time_vs_in_process": s / base,
            "speedup_vs_first_count": first_count / s if k is None else None,
            "per_worker_vs_in_process_1_thread": n / s / workers_or_threads / one_thread,
            "first_compute_seconds": None if k is not None else first[workers_or_threads],
        })
    return {
        "n": n,
        "chunk": chunk,
        "n_chunks": -(-n // chunk),
        "rounds": rounds,
        "worker_counts": list(worker_counts),
        "worker_torch_threads": worker_threads,
        "in_process_torch_threads": all_threads,
        "detector_pickle_mib": len(pickle.dumps(det)) / 2**20,
        "max_abs_diff_vs_in_process": max_diff,
        "runs": rows,
    }


def write(results, out_dir, command):
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "dask_scaling.json").write_text(json.dumps(results, indent=2))
    r = results
    lines = [
        "# Scoring on a Dask cluster: "
        + ", ".join(map(str, r["worker_counts"][:-1])) + f" and {r['worker_counts'][-1]} "
        "worker processes",
        "",
        f"Written by `{command}` at commit {r['commit']} on {r['machine']['machine']} "
        f"({r['machine']['processor']}) with {r['cpu_count']} cores "
        f"(load average {r['load_before'][0]:.1f} before, {r['load_after'][0]:.1f} after), "
        f"torch {r['torch']}, dask {r['dask']}, "
        f"distributed {r['distributed']}.",
        "",
        f"FSSDDetector (the paper's 4 layers, epsilon=0) over the paper's LeNet; n = {r['n']} "
        f"random 28x28 images in {r['n_chunks']} chunks of {r['chunk']}, generated on the workers "
        f"beforehand; `score_dask(det, X).compute()`; median of {r['rounds']} interleaved rounds. "
        f"Workers: one process each, `threads_per_worker=1`, torch threads "
        f"{r['worker_torch_threads']}; in-process: `det.score_samples(X)` with "
        f"{r['in_process_torch_threads']} torch threads, and with 1.",
        "",
        "| run | seconds | samples/s | samples/s per worker (or thread) | time / in-process "
        "| speed-up vs 1 worker | per worker / in-process 1 thread | first compute (s) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def fmt(value, spec):
        return "" if value is None else format(value, spec)

    for row in r["runs"]:
        lines.append(
            f"| {row['run']} | {row['seconds']:.2f} | {row['samples_per_s']:.0f} | "
            f"{row['samples_per_s_per_worker']:.0f} | {row['time_vs_in_process']:.2f} | "
            f"{fmt(row['speedup_vs_first_count'], '.2f')} | "
            f"{row['per_worker_vs_in_process_1_thread']:.2f} | "
            f"{fmt(row['first_compute_seconds'], '.2f')} |"
        )
    dask_rows = [row for row in r["runs"] if row["workers"] is not None]
    one = dask_rows[0]
    lines += [
        "",
        "Reading the table:",
        "",
        f"- *time / in-process* is the overhead ratio against `score_samples` in this process "
        f"with all {r['in_process_torch_threads']} threads: above 1, the cluster is slower.",
        f"- *per worker / in-process 1 thread* is each worker's throughput against one torch "
        f"thread in this process: what task scheduling, pickling chunks and results and the "
        f"loopback network cost per worker ({one['per_worker_vs_in_process_1_thread']:.2f} "
        "with one worker).",
        f"- *first compute* includes shipping the detector ({r['detector_pickle_mib']:.1f} MiB "
        "pickled) to the workers and loading it there, once per worker.",
        f"- Scores equal the in-memory ones up to float32 rounding: largest difference "
        f"{r['max_abs_diff_vs_in_process']:.1e}.",
        f"- This machine has {r['cpu_count']} cores: beyond {r['cpu_count']} workers the "
        "processes share cores and throughput cannot grow, so rows with more workers measure "
        "the cost of oversubscription, not the method.",
    ]
    if r["load_before"][0] > 0.5 * r["cpu_count"]:
        lines.append(
            f"- Load average {r['load_before'][0]:.1f} before the run on {r['cpu_count']} cores: "
            "other jobs held cores during the measurement. While they do, neither more torch "
            "threads nor more workers can add throughput, and the rows compare only with each "
            "other, within this run."
        )
    (out_dir / "dask_scaling.md").write_text("\n".join(lines) + "\n")


def main(argv=None):
    parser = ResultsParser("dask_scaling.{md,json}",
                           description="score_dask scaling over worker processes")
    parser.add_argument("--quick", action="store_true", help="small sizes, for the test suite")
    parser.add_argument("--scheduler", default=None,
                        help="address of a running cluster with enough workers; default: a "
                             "LocalCluster started (and stopped) here")
    args = parser.parse_args(argv)
    import dask
    import distributed

    if args.quick:
        n, chunk, counts, rounds = 512, 256, (1, 2), 1
    else:
        n, chunk, counts, rounds = 8192, 512, (1, 2, 4), 5
    command = "python -m benchmarks dask-scaling" + (" --quick" if args.quick else "")
    load_before = os.getloadavg()
    started = time.perf_counter()
    measured = measure(n, chunk, counts, rounds, args.scheduler)
    results = {
        **provenance(command, seed=0, started=started),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "dask": dask.__version__,
        "distributed": distributed.__version__,
        "load_before": load_before,
        **measured,
        "load_after": os.getloadavg(),
    }
    write(results, args.out, command)
    for row in results["runs"]:
        print(f"{row['run']:<22} {row['seconds']:>7.2f} s {row['samples_per_s']:>8.0f}/s "
              f"{row['samples_per_s_per_worker']:>7.0f}/s per worker  "
              f"x{row['time_vs_in_process']:.2f}")
    return results


if __name__ == "__main__":
    main()
