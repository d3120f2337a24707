"""Run a benchmark by name.

    python -m benchmarks fmnist-mnist [--quick]   # benchmarks/fmnist_mnist.py
    python -m benchmarks odds [--quick]           # benchmarks/odds.py
    python -m benchmarks speed [--quick]          # benchmarks/speed.py
    python -m benchmarks genome [--quick]         # benchmarks/genome.py
    python -m benchmarks dask-scaling [--quick]   # benchmarks/dask_scaling.py (needs the [dask] extra)
    python -m benchmarks promises [--quick]       # benchmarks/promises.py: the times the docs promise
    python -m benchmarks conformal [--quick]      # benchmarks/conformal.py
    python -m benchmarks fssd-defaults [--quick]  # benchmarks/fssd_defaults.py: FSSD's defaults
    python -m benchmarks headlines [stem ...]     # benchmarks/headlines.py: the sentences the docs
                                                  # quote from each results file (runs nothing)
"""

import importlib
import sys

BENCHMARKS = {
    "fmnist-mnist": "benchmarks.fmnist_mnist",
    "odds": "benchmarks.odds",
    "speed": "benchmarks.speed",
    "default-network": "benchmarks.default_network",
    "genome": "benchmarks.genome",
    "dask-scaling": "benchmarks.dask_scaling",
    "promises": "benchmarks.promises",
    "conformal": "benchmarks.conformal",
    "fssd-defaults": "benchmarks.fssd_defaults",
    "headlines": "benchmarks.headlines",
}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in BENCHMARKS:
        print(__doc__.strip())
        print("benchmarks: " + ", ".join(BENCHMARKS))
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    return importlib.import_module(BENCHMARKS[argv[0]]).main(argv[1:])


if __name__ == "__main__":
    result = main()
    sys.exit(result if isinstance(result, int) else 0)
