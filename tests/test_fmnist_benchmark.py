"""The FMNIST vs MNIST benchmark's quick mode runs end to end and reuses its cached networks."""

import json

import pytest

from benchmarks import fmnist_mnist


def _require_data():
    from sklearn_fssd.datasets import (DatasetNotFoundError, load_fashion_mnist, load_mnist,
                                       load_notmnist)

    for name, load in [("Fashion-MNIST", lambda: load_fashion_mnist("test")),
                       ("MNIST", lambda: load_mnist("test")),
                       ("notMNIST", load_notmnist)]:
        try:
            load()
        except DatasetNotFoundError as exc:
            pytest.skip(reason=f"{name} not found (set SKLEARN_FSSD_DATA): {exc}")


# about 50 s on 2 quiet cores and minutes on a loaded one: it trains 3 LeNets on 2,000 images and
# fits 11 detectors, so it runs with the slow tests (python -m pytest -m slow)
@pytest.mark.slow
def test_fmnist_quick_runs_every_method_and_reuses_the_cache(tmp_path):
    _require_data()
    out, cache = tmp_path / "out", tmp_path / "cache"
    first = fmnist_mnist.main(["--quick", "--out", str(out), "--cache", str(cache)])

    methods = set(first["methods"])
    assert set(fmnist_mnist.MAIN_METHODS) <= methods
    assert {"Energy", "FSSD (eps=0)", "FSSD unsupervised", "FSSD network ensemble"} <= methods
    for row in first["methods"].values():
        assert 0.0 <= row["auroc"] <= 100.0
        assert row["fit_s"] >= 0 and row["score_s"] >= 0
    assert set(first["fssd_layers"]) == {"conv1", "conv2", "fc1", "fc2"}
    assert len(first["robustness"]) == 10

    text = (out / "fmnist_mnist.md").read_text()
    for name in methods:
        assert f"| {name} |" in text
    saved = json.loads((out / "fmnist_mnist.json").read_text())
    assert saved["methods"]["FSSD"]["auroc"] == pytest.approx(first["methods"]["FSSD"]["auroc"])
    for plot in first["plots"].values():
        assert (out / plot).stat().st_size > 0

    # three networks trained and cached; a rerun loads them all and trains nothing
    assert len(first["networks"]["trained"]) == 3
    assert sorted(p.name for p in cache.iterdir()) == sorted(first["networks"]["trained"])
    mtimes = {p: p.stat().st_mtime_ns for p in cache.iterdir()}
    second = fmnist_mnist.main(["--quick", "--out", str(out), "--cache", str(cache)])
    assert second["networks"]["trained"] == []
    assert sorted(second["networks"]["loaded"]) == sorted(first["networks"]["trained"])
    assert {p: p.stat().st_mtime_ns for p in cache.iterdir()} == mtimes
    assert second["methods"]["FSSD"]["auroc"] == pytest.approx(first["methods"]["FSSD"]["auroc"])
