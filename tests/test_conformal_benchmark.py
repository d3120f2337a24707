"""The conformal benchmark's quick mode runs end to end and records what it promises."""

import json

import pytest

from benchmarks import conformal


def _require_data():
    from sklearn_fssd.datasets import DatasetNotFoundError, load_fashion_mnist, load_mnist

    for name, load in [("Fashion-MNIST", lambda: load_fashion_mnist("test")),
                       ("MNIST", lambda: load_mnist("test"))]:
        try:
            load()
        except DatasetNotFoundError as exc:
            pytest.skip(reason=f"{name} not found (set SKLEARN_FSSD_DATA): {exc}")


# about 15 s of CPU: a LeNet on 2,000 images for 1 epoch, 4 detector fits on 500 images
def test_conformal_quick_reports_target_and_observed_false_alarm_rates(tmp_path):
    _require_data()
    res = conformal.main(["--quick", "--out", str(tmp_path), "--cache", str(tmp_path / "c")])
    rows = res["conformal"]
    assert [(r["n_calibration"], r["alpha"]) for r in rows] == [
        (n, a) for n in (100, 500) for a in conformal.ALPHAS]
    for r in rows:
        assert r["expected_far"] <= r["alpha"] < r["expected_far"] + 1 / (r["n_calibration"] + 1)
        # 100 draws from a pool of 1,000, tested on 1,000 images: the mean is near k/(n+1)
        assert abs(r["far_mean"] - r["expected_far"]) < 0.03
        # the rest of the pool is exchangeable with the calibration draws by construction
        assert abs(r["far_rest_of_pool_mean"] - r["expected_far"]) < 0.01
        assert 0.0 <= r["detection_mean"] <= 1.0
    assert all(check["same"] for check in res["estimator_check"])
    # contamination=alpha is the alpha-quantile of the fit images' own scores, by construction
    for r in res["contamination"][1:]:
        assert r["far_fit_images"] == pytest.approx(r["contamination"], abs=2 / 500)
    assert res["max_score_difference_between_fits"] == 0.0
    saved = json.loads((tmp_path / "conformal.json").read_text())
    for key in ["command", "commit", "versions", "seed", "wall_s", "machine"]:
        assert key in saved
    assert saved["command"] == "python -m benchmarks conformal --quick"
    text = (tmp_path / "conformal.md").read_text()
    assert "| 0.05 | 500 |" in text and "## What `FSSDDetector(contamination=alpha)`" in text
