"""``python -m sklearn_fssd.genomes [--download]``: build the benchmark and print a summary."""

import argparse

import numpy as np

from .benchmark import _PARTS, load_genome_ood


def main(argv=None):
    """``python -m sklearn_fssd.genomes``: build the benchmark and print a summary."""
    parser = argparse.ArgumentParser(prog="python -m sklearn_fssd.genomes",
                                     description="Build the DNA OoD benchmark from real "
                                     "bacterial genomes in Debian packages.")
    parser.add_argument("--download", action="store_true",
                        help="run `apt-get download` for missing packages")
    parser.add_argument("--source", help="folder of .deb files or of a dpkg -x tree")
    parser.add_argument("--data-home", help="data root (default: $SKLEARN_FSSD_DATA or "
                        "~/sklearn_fssd_data)")
    parser.add_argument("--cache-dir", help="where to cache the .npz (default "
                        "<data-home>/genomes)")
    parser.add_argument("--n-train", type=int, default=5000)
    parser.add_argument("--n-val", type=int, default=100)
    parser.add_argument("--n-test", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    data = load_genome_ood(n_train=args.n_train, n_val=args.n_val, n_test=args.n_test,
                           random_state=args.seed, source=args.source, data_home=args.data_home,
                           cache_dir=args.cache_dir, download=args.download)
    print(f"packages read from {data.source}; cached at {data.path}")
    for key in _PARTS:
        X, y = data[f"X_{key}"], data[f"y_{key}"]
        print(f"{key:9s} {X.shape}  per class {np.bincount(y).tolist()}  "
              f"dropped as copies of training fragments: {data.dropped.get(key, 0)}")
    print("in-distribution:", "; ".join(data.classes))
    print("OoD:", "; ".join(data.ood_classes))
    return data


if __name__ == "__main__":
    main()
