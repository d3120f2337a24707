"""Tests of sklearn_fssd.metrics: conventions, cross-checks with sklearn.metrics, errors."""

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from sklearn_fssd.metrics import (
    aupr_in,
    aupr_out,
    auroc,
    detection_accuracy,
    format_ood_report,
    fpr_at_80_tpr,
    fpr_at_95_tpr,
    fpr_at_tpr,
    ood_report,
    y_ood_from_sklearn,
)

SCORE_METRICS = [auroc, aupr_in, aupr_out, fpr_at_80_tpr, fpr_at_95_tpr, detection_accuracy]
REPORT_KEYS = ["auroc", "aupr_in", "aupr_out", "fpr_at_80_tpr", "fpr_at_95_tpr",
               "detection_accuracy"]

# Five ID samples and three OoD samples, scored by hand (higher = more ID).
HAND_Y = np.array([0, 0, 0, 0, 0, 1, 1, 1])
HAND_ID = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.65, 0.4, 0.3])


def _tied_data(seed, n_id=60, n_ood=40, n_levels=7):
    """Labels and ID scores on a few integer levels, so that ties abound."""
    rng = np.random.default_rng(seed)
    y = np.r_[np.zeros(n_id, int), np.ones(n_ood, int)]
    id_score = np.r_[rng.integers(2, 2 + n_levels, n_id), rng.integers(0, n_levels, n_ood)]
    order = rng.permutation(y.shape[0])
    return y[order], id_score[order].astype(float)


def _brute_fpr_at_tpr(y, id_score, tpr):
    """The definition, threshold by threshold, without roc_curve."""
    best = 1.0
    for t in np.r_[np.unique(id_score), np.inf]:
        accepted = id_score >= t
        if accepted[y == 0].mean() >= tpr:
            best = min(best, accepted[y == 1].mean())
    return best


def _brute_detection_accuracy(y, id_score):
    """1 - min_t {0.5 P_in(f <= t) + 0.5 P_out(f > t)}, t over -inf and every score."""
    errors = [
        0.5 * np.mean(id_score[y == 0] <= t) + 0.5 * np.mean(id_score[y == 1] > t)
        for t in np.r_[-np.inf, np.unique(id_score)]
    ]
    return 1.0 - min(errors)


# ---------------------------------------------------------------------------
# Hand-computed examples
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tpr, expected",
    [
        (0.2, 0.0),  # threshold 0.9
        (0.6, 0.0),  # threshold 0.7 keeps 3 of 5 ID, no OoD
        (0.61, 1 / 3),  # needs threshold 0.6, which accepts the OoD sample at 0.65
        (0.8, 1 / 3),
        (0.95, 1 / 3),  # threshold 0.5 keeps all ID, OoD at 0.65 still accepted
        (1.0, 1 / 3),
    ],
)
def test_fpr_at_tpr_hand_example(tpr, expected):
    assert fpr_at_tpr(HAND_Y, id_score=HAND_ID, tpr=tpr) == pytest.approx(expected)


def test_named_fpr_hand_example():
    assert fpr_at_80_tpr(HAND_Y, id_score=HAND_ID) == pytest.approx(1 / 3)
    assert fpr_at_95_tpr(HAND_Y, id_score=HAND_ID) == pytest.approx(1 / 3)


def test_detection_accuracy_hand_example():
    # Threshold 0.5: error 0.5 * 0/5 + 0.5 * 1/3; threshold 0.7: 0.5 * 2/5 + 0 = 0.2.
    assert detection_accuracy(HAND_Y, id_score=HAND_ID) == pytest.approx(5 / 6)


def test_hand_example_areas():
    # 13 of the 15 (ID, OoD) pairs are ordered right: OoD 0.65 beats ID 0.6 and 0.5.
    assert auroc(HAND_Y, id_score=HAND_ID) == pytest.approx(13 / 15)
    # ID found at ranks 1, 2, 3, 5, 6: precisions 1, 1, 1, 4/5, 5/6.
    assert aupr_in(HAND_Y, id_score=HAND_ID) == pytest.approx((3 + 4 / 5 + 5 / 6) / 5)
    # OoD (ranked by increasing id_score) found at ranks 1, 2, 5: precisions 1, 1, 3/5.
    assert aupr_out(HAND_Y, id_score=HAND_ID) == pytest.approx((2 + 3 / 5) / 3)


def test_ties_hand_example():
    # ID: three at 1, one at 0; OoD: one at 1, three at 0. One threshold at 1
    # gives TPR 3/4 and FPR 1/4; the next, 0, accepts everyone.
    y = [0, 0, 0, 0, 1, 1, 1, 1]
    id_score = [1, 1, 1, 0, 1, 0, 0, 0]
    assert fpr_at_tpr(y, id_score=id_score, tpr=0.75) == 0.25
    # No interpolation: TPR 0.8 is only reached by accepting everyone.
    assert fpr_at_tpr(y, id_score=id_score, tpr=0.8) == 1.0
    # TPR 0.5 lies inside the tie group: its threshold is still 1 (interpolation would say 1/6).
    assert fpr_at_tpr(y, id_score=id_score, tpr=0.5) == 0.25
    assert detection_accuracy(y, id_score=id_score) == 0.75
    # 9 pairs won, 6 tied, 1 lost, out of 16.
    assert auroc(y, id_score=id_score) == 0.75


def test_fpr_at_tpr_keeps_collinear_roc_points():
    # 18 clear ID samples, then two tie groups of one ID and one OoD each, then
    # 8 clear OoD samples. The ROC points (0, .9), (.1, .95), (.2, 1) are
    # collinear; dropping the middle one (roc_curve's drop_intermediate) would
    # give FPR95 = 0.2 instead of 0.1.
    y = np.r_[np.zeros(18, int), 0, 1, 0, 1, np.ones(8, int)]
    id_score = np.r_[np.full(18, 10.0), 5.0, 5.0, 4.0, 4.0, np.zeros(8)]
    assert fpr_at_95_tpr(y, id_score=id_score) == pytest.approx(0.1)


# ---------------------------------------------------------------------------
# Cross-checks with sklearn.metrics and with the definitions
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_areas_match_sklearn_with_ties(seed):
    y, id_score = _tied_data(seed)
    ood_score = -id_score
    assert auroc(y, ood_score=ood_score) == roc_auc_score(y, ood_score)
    # The same area with ID as positive, up to rounding.
    assert auroc(y, id_score=id_score) == pytest.approx(roc_auc_score(1 - y, id_score))
    assert aupr_out(y, ood_score=ood_score) == average_precision_score(y, ood_score)
    assert aupr_in(y, id_score=id_score) == average_precision_score(1 - y, id_score)
    assert aupr_in(y, ood_score=ood_score) == average_precision_score(1 - y, -ood_score)
    assert aupr_out(y, id_score=id_score) == average_precision_score(y, -id_score)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("tpr", [0.1, 0.5, 0.8, 0.95, 0.99, 1.0])
def test_fpr_at_tpr_matches_definition_and_roc_curve(seed, tpr):
    y, id_score = _tied_data(seed)
    result = fpr_at_tpr(y, id_score=id_score, tpr=tpr)
    assert result == pytest.approx(_brute_fpr_at_tpr(y, id_score, tpr))
    fpr, tpr_curve, _ = roc_curve(1 - y, id_score, drop_intermediate=False)
    assert result == fpr[tpr_curve >= tpr].min()


@pytest.mark.parametrize("seed", range(5))
def test_detection_accuracy_matches_definition(seed):
    y, id_score = _tied_data(seed)
    assert detection_accuracy(y, id_score=id_score) == pytest.approx(
        _brute_detection_accuracy(y, id_score)
    )


def test_detection_accuracy_matches_definition_without_ties():
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, 300)
    id_score = rng.normal(size=300) - y
    assert detection_accuracy(y, id_score=id_score) == pytest.approx(
        _brute_detection_accuracy(y, id_score)
    )


def test_other_fpr_convention_by_swapping_roles():
    # Hendrycks et al. / pytorch-ood: fraction of ID rejected when 95 % of OoD is detected.
    y, id_score = _tied_data(3)
    ood_score = -id_score
    expected = 1.0
    for t in np.r_[np.unique(ood_score), np.inf]:
        flagged = ood_score >= t
        if flagged[y == 1].mean() >= 0.95:
            expected = min(expected, flagged[y == 0].mean())
    assert fpr_at_tpr(1 - y, id_score=ood_score, tpr=0.95) == pytest.approx(expected)


# ---------------------------------------------------------------------------
# Behaviour at the extremes
# ---------------------------------------------------------------------------


def test_perfect_separation():
    y = np.r_[np.zeros(50, int), np.ones(30, int)]
    id_score = np.r_[np.linspace(1, 2, 50), np.linspace(-2, 0, 30)]
    assert auroc(y, id_score=id_score) == 1.0
    assert aupr_in(y, id_score=id_score) == pytest.approx(1.0)
    assert aupr_out(y, id_score=id_score) == pytest.approx(1.0)
    assert fpr_at_95_tpr(y, id_score=id_score) == 0.0
    assert fpr_at_80_tpr(y, id_score=id_score) == 0.0
    assert fpr_at_tpr(y, id_score=id_score, tpr=1.0) == 0.0
    assert detection_accuracy(y, id_score=id_score) == 1.0


def test_reversed_separation():
    y = np.r_[np.zeros(50, int), np.ones(30, int)]
    id_score = -np.r_[np.linspace(1, 2, 50), np.linspace(-2, 0, 30)]
    assert auroc(y, id_score=id_score) == 0.0
    assert fpr_at_95_tpr(y, id_score=id_score) == 1.0
    assert fpr_at_80_tpr(y, id_score=id_score) == 1.0
    # The trivial thresholds (accept all, reject all) always reach 0.5.
    assert detection_accuracy(y, id_score=id_score) == 0.5


def test_constant_scores_are_chance():
    y = np.r_[np.zeros(10, int), np.ones(5, int)]
    id_score = np.ones(15)
    assert auroc(y, id_score=id_score) == 0.5
    assert fpr_at_95_tpr(y, id_score=id_score) == 1.0
    assert detection_accuracy(y, id_score=id_score) == 0.5
    assert aupr_out(y, id_score=id_score) == pytest.approx(5 / 15)
    assert aupr_in(y, id_score=id_score) == pytest.approx(10 / 15)


def test_random_scores_are_near_chance():
    rng = np.random.default_rng(0)
    n = 20_000
    y = rng.integers(0, 2, n)
    ood_score = rng.normal(size=n)
    assert auroc(y, ood_score=ood_score) == pytest.approx(0.5, abs=0.02)
    assert aupr_out(y, ood_score=ood_score) == pytest.approx(y.mean(), abs=0.02)
    assert aupr_in(y, ood_score=ood_score) == pytest.approx(1 - y.mean(), abs=0.02)
    assert fpr_at_95_tpr(y, ood_score=ood_score) == pytest.approx(0.95, abs=0.02)
    assert fpr_at_80_tpr(y, ood_score=ood_score) == pytest.approx(0.80, abs=0.02)
    assert 0.5 <= detection_accuracy(y, ood_score=ood_score) < 0.52


@pytest.mark.parametrize("metric", SCORE_METRICS)
def test_invariant_to_increasing_transform(metric):
    y, id_score = _tied_data(1)
    assert metric(y, id_score=id_score) == pytest.approx(
        metric(y, id_score=np.exp(id_score / 3) - 5)
    )


# ---------------------------------------------------------------------------
# Conventions: score sign, label formats
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("metric", SCORE_METRICS)
def test_id_score_and_ood_score_agree(metric):
    y, id_score = _tied_data(2)
    assert metric(y, id_score=id_score) == metric(y, ood_score=-id_score)


@pytest.mark.parametrize("metric", SCORE_METRICS)
def test_unsigned_id_scores_are_flipped_without_wrapping(metric):
    y, id_score = _tied_data(4)
    as_uint = id_score.astype(np.uint8)
    assert metric(y, id_score=as_uint) == metric(y, id_score=id_score)


def test_auroc_flips_with_the_score_keyword():
    y, id_score = _tied_data(0)
    assert auroc(y, ood_score=id_score) == pytest.approx(1 - auroc(y, id_score=id_score))


@pytest.mark.parametrize("metric", SCORE_METRICS)
def test_label_formats_agree(metric):
    y, id_score = _tied_data(5)
    expected = metric(y, id_score=id_score)
    assert metric(y.astype(bool), id_score=id_score) == expected
    assert metric(y.astype(float), id_score=id_score) == expected
    assert metric(y.tolist(), id_score=id_score.tolist()) == expected
    y_sklearn = np.where(y == 1, -1, 1)  # +1 ID, -1 OoD
    assert metric(y_ood_from_sklearn(y_sklearn), id_score=id_score) == expected


def test_y_ood_from_sklearn():
    result = y_ood_from_sklearn([1, -1, -1, 1])
    np.testing.assert_array_equal(result, [0, 1, 1, 0])
    assert result.dtype == np.int64
    np.testing.assert_array_equal(y_ood_from_sklearn(np.array([1.0, -1.0])), [0, 1])


def test_y_ood_from_sklearn_refuses_01_labels():
    with pytest.raises(ValueError, match=r"already in the y_ood convention"):
        y_ood_from_sklearn([0, 1, 1])
    with pytest.raises(ValueError, match=r"only scikit-learn's outlier labels"):
        y_ood_from_sklearn([1, -1, 2])
    with pytest.raises(ValueError, match=r"must hold the integers"):
        y_ood_from_sklearn(["in", "out"])


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("metric", [*SCORE_METRICS, fpr_at_tpr, ood_report])
def test_scores_given_both_or_neither(metric):
    with pytest.raises(ValueError, match=r"exactly one keyword.*got both"):
        metric(HAND_Y, ood_score=-HAND_ID, id_score=HAND_ID)
    with pytest.raises(ValueError, match=r"exactly one keyword.*got neither"):
        metric(HAND_Y)


def test_scores_are_keyword_only():
    with pytest.raises(TypeError):
        auroc(HAND_Y, HAND_ID)


@pytest.mark.parametrize("metric", [*SCORE_METRICS, ood_report])
def test_sklearn_labels_are_refused_with_the_fix(metric):
    with pytest.raises(ValueError, match=r"y_ood_from_sklearn\(y\)"):
        metric(np.where(HAND_Y == 1, -1, 1), id_score=HAND_ID)


@pytest.mark.parametrize(
    "y, match",
    [
        ([0, 0, 0, 0], r"only ID \(0\) samples.*Add OoD \(1\)"),
        ([True, True, True, True], r"only OoD \(1\) samples.*Add ID \(0\)"),
        ([0, 1, 2, 1], r"only 1 \(or True\) for OoD and 0 \(or False\) for ID; got values"),
        ([0, 1, np.nan, 1], r"y_ood contains NaN"),
        (["id", "ood", "id", "ood"], r"y_ood must hold numbers or booleans"),
        ([[0, 1, 0, 1]], r"y_ood must be 1-D"),
    ],
)
def test_bad_labels(y, match):
    with pytest.raises(ValueError, match=match):
        auroc(y, ood_score=[0.1, 0.2, 0.3, 0.4])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"id_score": [0.1, np.nan, 0.3, 0.4]}, r"id_score contains 1 NaN .*first at index 1"),
        ({"ood_score": [0.1, 0.2, np.inf, 0.4]}, r"ood_score contains 0 NaN and 1 infinite"),
        ({"ood_score": [0.1, 0.2, 0.3]}, r"y_ood has 4 samples but ood_score has 3"),
        ({"id_score": [0.1, 0.2, 0.3, 0.4, 0.5]}, r"y_ood has 4 samples but id_score has 5"),
        ({"ood_score": np.ones((4, 2))}, r"ood_score must be 1-D.*shape \(4, 2\)"),
        ({"id_score": 0.5}, r"id_score must be 1-D"),
        ({"ood_score": ["a", "b", "c", "d"]}, r"ood_score must hold real numbers"),
    ],
)
@pytest.mark.parametrize("metric", [*SCORE_METRICS, ood_report])
def test_bad_scores(metric, kwargs, match):
    with pytest.raises(ValueError, match=match):
        metric([0, 1, 0, 1], **kwargs)


def test_empty_input():
    with pytest.raises(ValueError, match=r"y_ood is empty"):
        auroc([], ood_score=[])


@pytest.mark.parametrize("tpr", [95, 0, 0.0, -0.1, 1.01, True, "0.95", None, np.nan])
def test_bad_tpr(tpr):
    with pytest.raises(ValueError, match=r"tpr must be a fraction in \(0, 1\]"):
        fpr_at_tpr(HAND_Y, id_score=HAND_ID, tpr=tpr)


def test_numpy_tpr_accepted():
    assert fpr_at_tpr(HAND_Y, id_score=HAND_ID, tpr=np.float64(0.6)) == 0.0


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------


def test_ood_report_fraction_matches_the_functions():
    y, id_score = _tied_data(6)
    report = ood_report(y, id_score=id_score)
    assert list(report) == [*REPORT_KEYS, "n_id", "n_ood", "unit"]
    for metric in SCORE_METRICS:
        assert report[metric.__name__] == metric(y, id_score=id_score)
    assert report["n_id"] == 60
    assert report["n_ood"] == 40
    assert report["unit"] == "fraction"
    assert ood_report(y, ood_score=-id_score) == report


def test_ood_report_percent():
    fraction = ood_report(HAND_Y, id_score=HAND_ID)
    percent = ood_report(HAND_Y, id_score=HAND_ID, unit="percent")
    assert percent["unit"] == "percent"
    for key in REPORT_KEYS:
        assert percent[key] == pytest.approx(100 * fraction[key])
    assert (percent["n_id"], percent["n_ood"]) == (5, 3)


def test_ood_report_bad_unit():
    with pytest.raises(ValueError, match=r"unit must be one of \['fraction', 'percent'\]"):
        ood_report(HAND_Y, id_score=HAND_ID, unit="%")


def test_format_single_report():
    table = format_ood_report(ood_report(HAND_Y, id_score=HAND_ID))
    lines = table.splitlines()
    assert lines[0] == (
        "| method (fraction) | AUROC | AUPR-In | AUPR-Out | FPR80TPR | FPR95TPR | DetAcc |"
    )
    assert lines[2] == "|  | 0.8667 | 0.9267 | 0.8667 | 0.3333 | 0.3333 | 0.8333 |"
    assert len(lines) == 3


def test_format_several_reports():
    reports = {
        "FSSD": ood_report(HAND_Y, id_score=HAND_ID, unit="percent"),
        "MSP": ood_report(HAND_Y, ood_score=HAND_ID, unit="percent"),
    }
    lines = format_ood_report(reports, digits=1).splitlines()
    assert lines[0].startswith("| method (%) | AUROC |")
    assert lines[2] == "| FSSD | 86.7 | 92.7 | 86.7 | 33.3 | 33.3 | 83.3 |"
    assert lines[3].startswith("| MSP | 13.3 |")


def test_format_errors():
    with pytest.raises(ValueError, match=r"reports mix units"):
        format_ood_report({
            "a": ood_report(HAND_Y, id_score=HAND_ID),
            "b": ood_report(HAND_Y, id_score=HAND_ID, unit="percent"),
        })
    with pytest.raises(ValueError, match=r"report 'a' lacks the keys \['aupr_in'"):
        format_ood_report({"a": {"auroc": 0.5, "unit": "fraction"}})
    with pytest.raises(ValueError, match=r"report must be a dict"):
        format_ood_report([0.5])
