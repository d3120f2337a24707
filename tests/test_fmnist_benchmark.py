"""The FMNIST benchmark's quick mode runs the OoD protocol end to end and reuses its cached
networks."""

import json

import pytest

from benchmarks import fmnist_mnist, protocol

KINDS = ["MNIST", "notMNIST", "uniform noise", "Gaussian noise", "far out", "corrupted noise",
         "corrupted blur"]
EXTRAS = ["Energy", "FSSD (eps=0)", "FSSD network ensemble"]


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


# about 2.5 minutes on 2 quiet cores, twice: it trains 3 LeNets on 2,000 images and fits 10
# methods in 3 settings on 7 OoD kinds, so it runs with the slow tests (python -m pytest -m slow)
@pytest.mark.slow
def test_fmnist_quick_runs_every_method_in_every_setting_and_reuses_the_cache(tmp_path):
    _require_data()
    out, cache = tmp_path / "out", tmp_path / "cache"
    first = fmnist_mnist.main(["--quick", "--out", str(out), "--cache", str(cache)])

    assert list(first["settings"]) == list(protocol.SETTINGS)
    methods = [*fmnist_mnist.MAIN_METHODS, *EXTRAS]
    for setting, block in first["settings"].items():
        assert list(block["columns"]) == KINDS
        for kind, col in block["columns"].items():
            tuned = col["tuned_on"]
            # no column is tuned on its own kind, except in the paper's setting
            assert tuned == {"no_ood": None, "other_kind": "notMNIST" if kind == "MNIST"
                             else "MNIST", "same_kind": kind}[setting]
            assert set(col["methods"]) == set(methods)
            for name, row in col["methods"].items():
                assert 0.0 <= row["auroc"] <= 100.0 and row["n_ood"] == 150
                assert row["fitted_on"] == (None if name in ("Base", "DE", "OE", "Energy")
                                            else tuned)
        assert set(block["mean"]) == set(methods)
    # the premise of FSSD: uniform noise sits at F*, with no OoD data at all
    assert first["settings"]["no_ood"]["columns"]["uniform noise"]["methods"]["FSSD"][
        "auroc"] > 90
    assert set(first["fits"]["FSSD"]) == {"no_ood", *KINDS}
    assert set(first["fits"]["Base"]) == {"no_ood"}
    assert set(first["fssd_layers"]) == set(KINDS)
    for key in ("command", "commit", "versions", "seed", "wall_s", "machine"):
        assert first[key] is not None, key

    text = (out / "fmnist_mnist.md").read_text()
    for label in protocol.SETTINGS.values():
        assert f"### {label} (AUROC %)" in text
    assert text.count("| FSSD network ensemble |") >= 3
    assert "| method | " + " | ".join(KINDS) + " | mean |" in text
    saved = json.loads((out / "fmnist_mnist.json").read_text())
    assert saved["settings"]["other_kind"]["mean"]["FSSD"]["auroc"] == pytest.approx(
        first["settings"]["other_kind"]["mean"]["FSSD"]["auroc"])
    for plot in first["plots"].values():
        assert (out / plot).stat().st_size > 0

    # three networks trained and cached; a rerun loads them all, trains nothing, scores alike
    assert len(first["networks"]["trained"]) == 3
    assert sorted(p.name for p in cache.iterdir()) == sorted(first["networks"]["trained"])
    mtimes = {p: p.stat().st_mtime_ns for p in cache.iterdir()}
    second = fmnist_mnist.main(["--quick", "--out", str(out), "--cache", str(cache)])
    assert second["networks"]["trained"] == []
    assert sorted(second["networks"]["loaded"]) == sorted(first["networks"]["trained"])
    assert {p: p.stat().st_mtime_ns for p in cache.iterdir()} == mtimes
    assert second["settings"]["same_kind"]["mean"]["FSSD"]["auroc"] == pytest.approx(
        first["settings"]["same_kind"]["mean"]["FSSD"]["auroc"])


def test_fmnist_case_keeps_oe_outliers_apart_from_every_kind():
    _require_data()
    case = fmnist_mnist.load_case(fmnist_mnist.config(quick=True), seed=0)
    assert list(case.kinds) == KINDS
    aux = fmnist_mnist.AUX
    # a row of OE's outliers is in no other pool (the case checked every pair when built)
    assert case.pools_touched([case.auxiliary[aux]]) == {f"auxiliary {aux}"}
    assert case.tune_on == {k: "notMNIST" if k == "MNIST" else "MNIST" for k in KINDS}
