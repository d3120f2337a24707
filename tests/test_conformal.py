"""Conformal thresholds: the off-by-ones by hand, the guarantee by repetition, and both faces."""

import pickle

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import BaseEstimator, OutlierMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from torch import nn

from sklearn_fssd import ConformalDetector, FSSDDetector, conformal_p_values, conformal_threshold
from sklearn_fssd.conformal import _min_calibration_size
from sklearn_fssd.pyod import FSSD, as_pyod

# ---------------------------------------------------------------- the maths, by hand


def test_p_values_count_calibration_scores_at_or_below():
    calibration = [4.0, 1.0, 3.0, 2.0]  # unsorted on purpose
    # below all: (1 + 0) / 5; on a score: the tie counts (larger p); above all: 1
    p = conformal_p_values(calibration, [0.0, 1.0, 1.5, 2.0, 4.0, 7.0])
    assert_allclose(p, [1 / 5, 2 / 5, 2 / 5, 3 / 5, 5 / 5, 5 / 5])


def test_p_values_with_tied_calibration_scores():
    calibration = [1.0, 2.0, 2.0, 2.0, 3.0]
    p = conformal_p_values(calibration, [1.999, 2.0, 2.001, -np.inf, np.inf])
    assert_allclose(p, [2 / 6, 5 / 6, 5 / 6, 1 / 6, 6 / 6])


@pytest.mark.parametrize(
    "n, alpha, k",
    [
        (9, 0.1, 1),  # alpha (n+1) = 1 exactly: the smallest score
        (8, 0.1, 0),  # alpha < 1/(n+1): nothing can be flagged
        (19, 0.05, 1),
        (20, 0.05, 1),  # floor(1.05)
        (39, 0.05, 2),
        (50, 0.1, 5),  # floor(5.1)
        (99, 0.29, 29),  # 0.29 * 100 is 28.999999999999996 in floats, but 29/100 <= 0.29
        (99, 0.01, 1),
        (98, 0.01, 0),
        (4, 0.999, 4),  # k never exceeds n
    ],
)
def test_threshold_is_the_kth_smallest_with_k_floor_alpha_n_plus_1(n, alpha, k):
    calibration = np.random.RandomState(n).permutation(np.arange(1.0, n + 1))
    if k == 0:
        with pytest.warns(UserWarning, match=f"needs at least {n + 1} in-distribution"):
            assert conformal_threshold(calibration, alpha) == -np.inf
    else:
        assert conformal_threshold(calibration, alpha) == k  # the k-th smallest of 1..n


def test_threshold_and_p_values_agree_exactly_with_ties_and_awkward_alphas():
    rng = np.random.RandomState(0)
    for n in [1, 2, 5, 19, 20, 37, 99, 100, 250]:
        calibration = rng.randint(0, 8, size=n).astype(float)  # many ties
        new = np.r_[np.arange(-1.0, 9.0, 0.5), calibration]
        alphas = np.r_[np.arange(1, n + 1) / (n + 1), [0.01, 0.05, 0.1, 0.29, 0.3, 0.57, 0.99]]
        for alpha in alphas:
            if alpha * (n + 1) < 0.999:
                continue  # the too-small case has its own test
            threshold = conformal_threshold(calibration, alpha)
            flagged = conformal_p_values(calibration, new) <= alpha
            assert_array_equal(flagged, new < threshold, err_msg=f"n={n} alpha={alpha}")


def test_too_small_calibration_warns_with_the_count_needed():
    assert [_min_calibration_size(a) for a in [0.5, 0.1, 0.05, 0.01, 0.3]] == [1, 9, 19, 99, 3]
    with pytest.warns(UserWarning, match="18 calibration scores are too few for alpha=0.05.*"
                                         "at least 19"):
        conformal_threshold(np.arange(18.0), 0.05)
    with pytest.warns(UserWarning, match="at least 99"):
        assert conformal_threshold(np.arange(98.0), 0.01) == -np.inf


def test_bad_inputs_to_the_maths_are_clear_errors():
    with pytest.raises(InvalidParameterError, match="'alpha' parameter.*range"):
        conformal_threshold([1.0, 2.0], 1.0)
    with pytest.raises(InvalidParameterError, match="'alpha' parameter"):
        conformal_threshold([1.0, 2.0], 0)
    with pytest.raises(ValueError, match="calibration_id_scores contains NaN"):
        conformal_p_values([1.0, np.nan], [1.0])
    with pytest.raises(ValueError, match="id_scores contains NaN"):
        conformal_p_values([1.0, 2.0], [np.nan])


# ---------------------------------------------------------------- the estimator, mechanics


class RecordingDetector(OutlierMixin, BaseEstimator):
    """Scores minus the distance to the mean of the rows it was fitted on, and keeps them."""

    def __init__(self, shift=0.0):
        self.shift = shift

    def fit(self, X, y=None):
        self.X_fit_, self.y_fit_ = np.asarray(X), y
        self.mean_ = self.X_fit_[np.ones(len(X), bool) if y is None else y == 1].mean(axis=0)
        return self

    def score_samples(self, X):
        return -np.linalg.norm(np.asarray(X) - self.mean_, axis=1) + self.shift


def rows_of(X, subset):
    return {tuple(row) for row in np.asarray(subset)} & {tuple(row) for row in X}


def test_calibration_rows_are_held_out_from_fitting():
    X = np.random.RandomState(0).normal(size=(103, 3))
    det = ConformalDetector(RecordingDetector(), calibration_size=0.2, random_state=0).fit(X)
    calibration = X[det.calibration_indices_]
    assert len(calibration) == 21  # ceil(0.2 * 103)
    assert len(det.detector_.X_fit_) == 82
    assert not rows_of(calibration, det.detector_.X_fit_)
    assert len(rows_of(X, det.detector_.X_fit_)) + len(calibration) == len(X)
    assert_array_equal(det.calibration_scores_,
                       np.sort(det.detector_.score_samples(calibration)))
    # the user's detector is cloned, not fitted
    assert not hasattr(det.detector, "X_fit_")
    # a count instead of a share, and a different draw for another seed
    other = ConformalDetector(RecordingDetector(), calibration_size=30, random_state=1).fit(X)
    assert len(other.calibration_indices_) == 30
    assert set(other.calibration_indices_) != set(det.calibration_indices_[:30])


def test_with_labels_only_in_distribution_rows_calibrate_and_ood_rows_are_fitted():
    rng = np.random.RandomState(0)
    X = np.vstack([rng.normal(size=(60, 2)), rng.normal(5, 1, size=(40, 2))])
    y = np.r_[np.ones(60, int), -np.ones(40, int)]
    det = ConformalDetector(RecordingDetector(), calibration_size=0.5, random_state=0).fit(X, y)
    assert len(det.calibration_indices_) == 30 and (y[det.calibration_indices_] == 1).all()
    assert (det.detector_.y_fit_ == -1).sum() == 40 and (det.detector_.y_fit_ == 1).sum() == 30
    with pytest.raises(ValueError, match=r"PyOD's convention\), pass np.where\(y == 1, -1, 1\)"):
        ConformalDetector(RecordingDetector(), random_state=0).fit(X, (y == -1) * 1)
    with pytest.warns(UserWarning, match="not out-of-distribution labels"):  # class labels
        ignored = ConformalDetector(RecordingDetector(), random_state=0).fit(X, np.arange(100) % 3)
    assert len(ignored.calibration_indices_) == 20 and ignored.detector_.y_fit_ is None


def test_decision_function_predict_and_p_values_follow_one_rule():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(400, 3))
    det = ConformalDetector(RecordingDetector(), alpha=0.1, calibration_size=99,
                            random_state=0).fit(X)
    assert det.offset_ == det.calibration_scores_[9]  # k = floor(0.1 * 100) = 10
    X_new = np.vstack([rng.normal(size=(500, 3)), X[det.calibration_indices_]])
    scores = det.score_samples(X_new)
    assert_allclose(det.decision_function(X_new), scores - det.offset_)
    predicted = det.predict(X_new)
    assert set(np.unique(predicted)) == {-1, 1}
    assert_array_equal(predicted == -1, det.p_values(X_new) <= 0.1)
    # the calibration rows themselves: exactly the 9 below the 10th smallest are flagged
    assert (predicted[500:] == -1).sum() == 9


def test_parameters_and_unfitted_use_are_clear_errors():
    X = np.random.RandomState(0).normal(size=(50, 2))
    for params, match in [({"alpha": 0.0}, "'alpha' parameter"), ({"alpha": 1.5}, "'alpha'"),
                          ({"calibration_size": 0.0}, "'calibration_size'"),
                          ({"calibration_size": "half"}, "'calibration_size'"),
                          ({"calibration_size": 1.0}, "'calibration_size'")]:
        with pytest.raises(InvalidParameterError, match=match):
            ConformalDetector(RecordingDetector(), **params).fit(X)
    with pytest.raises(InvalidParameterError, match="'detector' parameter"):
        ConformalDetector(object()).fit(X)
    with pytest.raises(ValueError, match="holds out 50 of the 50 in-distribution rows"):
        ConformalDetector(RecordingDetector(), calibration_size=50).fit(X)
    for method in ["predict", "p_values", "decision_function", "score_samples"]:
        with pytest.raises(NotFittedError):
            getattr(ConformalDetector(RecordingDetector()), method)(X)
    with pytest.raises(NotFittedError, match="FrozenEstimator"):
        ConformalDetector(RecordingDetector(), calibration_size="all").fit(X)
    X_nan = X.copy()
    X_nan[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ConformalDetector(RecordingDetector()).fit(X_nan)
    fitted = ConformalDetector(RecordingDetector(), alpha=0.2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="NaN"):
        fitted.predict(X_nan)
    with pytest.raises(ValueError, match="features"):
        fitted.predict(X[:, :1])


def test_a_calibration_set_too_small_for_alpha_warns_and_flags_nothing():
    X = np.random.RandomState(0).normal(size=(100, 2))
    with pytest.warns(UserWarning, match="10 calibration scores are too few for alpha=0.05"):
        det = ConformalDetector(RecordingDetector(), alpha=0.05, calibration_size=10,
                                random_state=0).fit(X)
    assert det.offset_ == -np.inf
    assert (det.predict(100 * X) == 1).all()


def test_frozen_detector_is_calibrated_without_refitting():
    rng = np.random.RandomState(0)
    fitted = RecordingDetector().fit(rng.normal(size=(50, 2)))
    mean = fitted.mean_.copy()
    X_cal = rng.normal(size=(80, 2))
    det = ConformalDetector(FrozenEstimator(fitted), alpha=0.1, calibration_size="all").fit(X_cal)
    assert_array_equal(fitted.mean_, mean)
    assert len(det.calibration_scores_) == 80
    assert_array_equal(det.calibration_scores_, np.sort(fitted.score_samples(X_cal)))
    # clone keeps a frozen detector fitted, so the calibrated detector can be cloned and refitted
    again = clone(det).fit(X_cal)
    assert again.offset_ == det.offset_


# ---------------------------------------------------------------- the guarantee, empirically


@pytest.fixture(scope="module")
def fitted_fssd():
    rng = np.random.RandomState(0)
    det = FSSDDetector(max_epochs=5, n_noise=50, random_state=0).fit(rng.normal(size=(400, 4)))
    return det, rng.normal(size=(1500, 4))  # the detector and a held-out in-distribution pool


@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_false_alarm_rate_over_random_splits_is_alpha_up_to_one_rank(fitted_fssd, alpha):
    """Over 500 random calibration/test splits of held-out ID data, the mean share of ID test
    inputs flagged lies in [k/(n+1), alpha] (k = floor(alpha (n+1)), here alpha - 1/(n+1) <
    k/(n+1) <= alpha) up to sampling error; one rank off either way (k +- 1) lies outside."""
    detector, pool = fitted_fssd
    n, n_test, n_splits = 40, 400, 500
    k = int(np.floor(alpha * (n + 1)))
    frozen = FrozenEstimator(detector)
    rng = np.random.RandomState(1)
    rates = []
    for _ in range(n_splits):
        order = rng.permutation(len(pool))
        calibration, test = pool[order[:n]], pool[order[n:n + n_test]]
        det = ConformalDetector(frozen, alpha=alpha, calibration_size="all").fit(calibration)
        rates.append(np.mean(det.predict(test) == -1))
    mean = float(np.mean(rates))
    # standard error of the mean: the calibration draw dominates (Beta(k, n+1-k) spread)
    sem = np.std(rates, ddof=1) / np.sqrt(n_splits)
    tol = 4 * sem
    assert tol < 0.5 / (n + 1), "too few splits to tell one rank from the next"
    assert mean <= alpha + tol
    assert mean >= k / (n + 1) - tol
    assert abs(mean - k / (n + 1)) < tol
    # a plain quantile of the calibration scores at alpha (no +1) would be one rank off here
    assert abs(mean - (k + 1) / (n + 1)) > tol and abs(mean - (k - 1) / (n + 1)) > tol


# ---------------------------------------------------------------- scikit-learn composition


def _table_net():
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))


def test_nested_parameters_grid_search_keeps_the_network():
    net = _table_net()
    rng = np.random.RandomState(0)
    X = np.vstack([rng.normal(size=(120, 4)), rng.uniform(-6, 6, size=(60, 4))])
    y = np.r_[np.ones(120, int), -np.ones(60, int)]
    conformal = ConformalDetector(FSSDDetector(net, n_noise=20, random_state=0), alpha=0.1,
                                  random_state=0)
    params = conformal.get_params(deep=True)
    assert params["detector__epsilon"] == 0.0 and params["detector__model"] is net
    search = GridSearchCV(conformal, {"detector__epsilon": [0.0, 0.05], "alpha": [0.1, 0.2]},
                          scoring="roc_auc", cv=StratifiedKFold(2, shuffle=True, random_state=0))
    search.fit(X, y)
    best = search.best_estimator_
    assert best.detector_.model is net  # clone kept the network, did not re-create it
    assert best.detector_.epsilon == search.best_params_["detector__epsilon"]
    assert search.best_score_ > 0.8
    # calibration rows are +1 rows only; the -1 rows fitted the stack
    assert (y[best.calibration_indices_] == 1).all() and best.detector_.combine_ == "guarded_stack"
    assert_array_equal(best.predict(X) == -1, best.p_values(X) <= best.alpha)


def test_in_a_pipeline_and_through_pickle():
    rng = np.random.RandomState(0)
    X = rng.normal(3, 2, size=(300, 4))
    pipe = make_pipeline(StandardScaler(), ConformalDetector(
        FSSDDetector(_table_net(), n_noise=20, random_state=0), alpha=0.1, random_state=0))
    pipe.set_params(conformaldetector__detector__epsilon=0.01).fit(X)
    conformal = pipe[-1]
    assert conformal.detector_.epsilon == 0.01
    X_new = np.vstack([rng.normal(3, 2, size=(200, 4)), 100 * X[:5]])
    predicted = pipe.predict(X_new)
    assert_array_equal(predicted == -1, conformal.p_values(pipe[0].transform(X_new)) <= 0.1)
    assert (predicted[-5:] == -1).all()
    assert_allclose(pipe.score_samples(X_new), conformal.score_samples(pipe[0].transform(X_new)))
    loaded = pickle.loads(pickle.dumps(pipe))
    assert_array_equal(loaded.decision_function(X_new), pipe.decision_function(X_new))


# ---------------------------------------------------------------- the PyOD face


@pytest.fixture(scope="module")
def table():
    rng = np.random.RandomState(0)
    return rng.normal(size=(300, 4)), np.vstack([rng.normal(size=(400, 4)), 50 * rng.normal(
        size=(20, 4))])


def test_pyod_threshold_and_labels_follow_the_conformal_rule_when_asked(table):
    X, X_test = table
    clf = FSSD(contamination=0.05, calibration_size=0.4, max_epochs=5, random_state=0).fit(X)
    assert clf.estimator_ is clf.conformal_.detector_
    assert clf.conformal_.alpha == 0.05 and len(clf.conformal_.calibration_indices_) == 120
    assert clf.threshold_ == -clf.conformal_.offset_
    # decision_scores_ stay the training scores (all rows), PyOD's sign
    assert_allclose(clf.decision_scores_, -clf.estimator_.score_samples(X))
    assert_array_equal(clf.labels_, (clf.decision_scores_ > clf.threshold_).astype(int))
    predicted = clf.predict(X_test)
    assert_array_equal(predicted, (clf.conformal_.p_values(X_test) <= 0.05).astype(int))
    assert predicted[-20:].all()
    # the calibration rows: exactly the k - 1 = floor(0.05 * 121) - 1 = 5 below the threshold
    assert clf.labels_[clf.conformal_.calibration_indices_].sum() == 5
    # PyOD's quantile threshold would be another number
    assert clf.threshold_ != pytest.approx(np.percentile(clf.decision_scores_, 95))
    assert clf.layer_scores(X_test).shape == (len(X_test), len(clf.layers_))
    # refitted without calibration: PyOD's rule again, and no stale calibration left behind
    clf.set_params(calibration_size=None).fit(X)
    assert not hasattr(clf, "conformal_")
    assert clf.threshold_ == pytest.approx(np.percentile(clf.decision_scores_, 95))


def test_as_pyod_with_calibration_and_its_errors(table):
    X, X_test = table
    wrapped = as_pyod(FSSDDetector(max_epochs=3, random_state=0), contamination=0.1,
                      calibration_size=100, random_state=0).fit(X)
    assert len(wrapped.conformal_.calibration_scores_) == 100
    assert_array_equal(wrapped.predict(X_test),
                       (wrapped.conformal_.p_values(X_test) <= 0.1).astype(int))
    with pytest.raises(ValueError, match="calibration_size needs a float contamination"):
        as_pyod(FSSDDetector(max_epochs=3), calibration_size="all").fit(X)
