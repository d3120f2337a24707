"""The PyOD face: the assertions PyOD makes of its own detectors (cf. its IForest tests)."""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from pyod.models.base import BaseDetector
from pyod.utils.data import generate_data
from scipy.stats import rankdata
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from sklearn_fssd import FSSDDetector
from sklearn_fssd.pyod import FSSD, PyODDetector, as_pyod


@pytest.fixture(scope="module")
def data():
    X_train, X_test, y_train, y_test = generate_data(
        n_train=300, n_test=150, n_features=5, contamination=0.1, random_state=42
    )
    return X_train, X_test, y_train, y_test


@pytest.fixture(scope="module")
def clf(data):
    X_train, _, _, _ = data
    return FSSD(contamination=0.1, max_epochs=20, random_state=0).fit(X_train)


def test_is_a_pyod_detector_with_its_attributes(clf, data):
    X_train, _, _, _ = data
    assert isinstance(clf, BaseDetector)
    assert clf.decision_scores_.shape == (len(X_train),)
    assert clf.labels_.shape == (len(X_train),)
    assert set(np.unique(clf.labels_)) <= {0, 1}
    assert np.isscalar(clf.threshold_)
    # predict_proba's linear scaling is fitted on the training scores (PyOD's _mu/_sigma)
    assert clf._mu == pytest.approx(clf.decision_scores_.mean())
    assert clf._sigma == pytest.approx(clf.decision_scores_.std())
    assert_array_equal(clf.labels_, (clf.decision_scores_ > clf.threshold_).astype(int))
    assert clf.labels_.sum() == pytest.approx(0.1 * len(X_train), abs=2)


def test_roc_auc_floor_on_generate_data(clf, data):
    X_train, X_test, y_train, y_test = data
    assert roc_auc_score(y_train, clf.decision_scores_) >= 0.8
    assert roc_auc_score(y_test, clf.decision_function(X_test)) >= 0.8


def test_decision_function_is_higher_for_outliers_and_predict_is_0_1(clf, data):
    _, X_test, _, y_test = data
    scores = clf.decision_function(X_test)
    assert scores[y_test == 1].mean() > scores[y_test == 0].mean()
    pred = clf.predict(X_test)
    assert set(np.unique(pred)) <= {0, 1}
    assert_array_equal(pred, (scores > clf.threshold_).astype(int))
    assert_allclose(scores, -clf.estimator_.score_samples(X_test))


def test_training_scores_match_decision_function(clf, data):
    X_train, _, _, _ = data
    assert_allclose(clf.decision_function(X_train), clf.decision_scores_)


@pytest.mark.parametrize("method", ["linear", "unify"])
def test_predict_proba_in_unit_interval(clf, data, method):
    _, X_test, _, _ = data
    proba = clf.predict_proba(X_test, method=method)
    assert proba.shape == (len(X_test), 2)
    assert (proba >= 0).all() and (proba <= 1).all()
    assert_allclose(proba.sum(axis=1), 1.0)
    # the outlier probability never decreases as the outlier score grows
    order = np.argsort(clf.decision_function(X_test))
    assert (np.diff(proba[order, 1]) >= -1e-12).all()


def test_predict_proba_with_bad_method_raises(clf, data):
    _, X_test, _, _ = data
    with pytest.raises(ValueError):
        clf.predict_proba(X_test, method="something")


def test_confidence_and_rejection(clf, data):
    _, X_test, _, _ = data
    confidence = clf.predict_confidence(X_test)
    assert confidence.shape == (len(X_test),)
    assert (confidence >= 0).all() and (confidence <= 1).all()
    pred, conf = clf.predict(X_test, return_confidence=True)
    assert_allclose(conf, confidence)
    rejected = clf.predict_with_rejection(X_test, T=32)
    assert set(np.unique(rejected)) <= {0, 1, -2}


def test_rank_order_follows_the_scores(clf, data):
    _, X_test, _, y_test = data
    scores = clf.decision_function(X_test)
    ranks = rankdata(scores)
    # outliers rank above inliers on average, and the top-ranked sample is flagged
    assert ranks[y_test == 1].mean() > ranks[y_test == 0].mean()
    assert clf.predict(X_test)[np.argmax(ranks)] == 1


def test_fit_predict_returns_training_labels(data):
    X_train, _, _, _ = data
    model = FSSD(contamination=0.1, max_epochs=5, random_state=0)
    assert_array_equal(model.fit_predict(X_train), model.labels_)


def test_clone_and_pickle_give_identical_scores(clf, data):
    X_train, X_test, _, _ = data
    cloned = clone(clf)
    assert cloned.get_params() == clf.get_params()
    assert not hasattr(cloned, "decision_scores_")
    assert_allclose(cloned.fit(X_train).decision_function(X_test), clf.decision_function(X_test))
    loaded = pickle.loads(pickle.dumps(clf))
    assert_array_equal(loaded.decision_function(X_test), clf.decision_function(X_test))


def test_joblib_save_and_load(clf, data, tmp_path):
    joblib = pytest.importorskip("joblib")
    _, X_test, _, _ = data
    path = tmp_path / "fssd.joblib"
    joblib.dump(clf, path)
    assert_array_equal(joblib.load(path).decision_function(X_test), clf.decision_function(X_test))


def test_no_feature_name_warning_with_a_dataframe(data, recwarn):
    pd = pytest.importorskip("pandas")
    X_train, X_test, _, _ = data
    cols = [f"x{i}" for i in range(X_train.shape[1])]
    model = FSSD(contamination=0.1, max_epochs=3, random_state=0)
    model.fit(pd.DataFrame(X_train, columns=cols))
    model.decision_function(pd.DataFrame(X_test, columns=cols))
    assert not [w for w in recwarn if "feature names" in str(w.message)]


def test_contamination_is_checked():
    with pytest.raises(ValueError, match="contamination"):
        FSSD(contamination=0.7)


@pytest.mark.parametrize("contamination", ["auto", 0.7, 0.0, None])
def test_contamination_outside_pyods_range_is_refused_before_training(
    data, contamination, monkeypatch
):
    X_train, _, _, _ = data

    def train(*args, **kwargs):
        raise AssertionError("the network was trained before contamination was checked")

    monkeypatch.setattr(FSSDDetector, "_train_default_model", train)
    clf = FSSD(max_epochs=1).set_params(contamination=contamination)  # as a search would
    with pytest.raises(ValueError, match=r"'contamination' parameter of FSSD must be a float in "
                       r"the range \(0.0, 0.5\] or an object implementing 'fit'\. Got "
                       rf"{contamination!r} instead\..*0\.1.*FSSDDetector"):
        clf.fit(X_train)
    assert not hasattr(clf, "estimator_")


def test_a_thresholder_object_sets_the_threshold(data):
    X_train, _, _, _ = data

    class TopTenPercent:  # PyThresh's interface: fit(scores) sets labels_ and thresh_
        def fit(self, scores):
            self.thresh_ = float(np.percentile(scores, 90))
            self.labels_ = (scores > self.thresh_).astype(int)
            return self

    clf = FSSD(contamination=TopTenPercent(), max_epochs=2, random_state=0).fit(X_train)
    assert clf.threshold_ == np.percentile(clf.decision_scores_, 90)
    assert clf.labels_.sum() == 30


def test_far_outside_inputs_are_outliers(clf, data):
    _, X_test, _, y_test = data
    assert clf.predict(100 * X_test[y_test == 0]).mean() > 0.95


def test_any_detector_wraps_in_one_call(data):
    X_train, X_test, _, y_test = data
    wrapped = as_pyod(FSSDDetector(combine="stack", max_epochs=5, random_state=0), 0.1)
    assert isinstance(wrapped, PyODDetector)
    wrapped.fit(X_train)
    assert roc_auc_score(y_test, wrapped.decision_function(X_test)) >= 0.7
    assert wrapped.estimator_.combine_ == "stack"


def test_fssd_exposes_layers_and_layer_scores(clf, data):
    _, X_test, _, _ = data
    assert clf.layers_ == clf.estimator_.layers_
    assert clf.layer_scores(X_test).shape == (len(X_test), len(clf.layers_))


def test_huge_rows_are_the_most_abnormal_and_leave_the_other_rows_alone(clf, data):
    _, X_test, _, _ = data
    X = X_test[:8].copy()
    X[2] *= 1e39  # beyond float32
    X[5] *= 1e30  # features overflow float32
    good = [0, 1, 3, 4, 6, 7]
    with pytest.warns(UserWarning, match="2 of the 8 samples .*could not be scored"):
        scores = clf.decision_function(X)
        labels = clf.predict(X)
        linear, unify = clf.predict_proba(X), clf.predict_proba(X, method="unify")
        layers = clf.layer_scores(X)
    assert (scores[[2, 5]] == np.finfo(np.float64).max).all()
    assert_allclose(scores[good], clf.decision_function(X[good]), rtol=1e-5)
    assert_array_equal(labels[[2, 5]], [1, 1])
    assert_array_equal(labels[good], clf.predict(X[good]))
    for proba in (linear, unify):
        assert np.isfinite(proba).all()
        assert_array_equal(proba[[2, 5]], [[0.0, 1.0], [0.0, 1.0]])
    assert (layers[[2, 5]] == -np.finfo(np.float64).max).all()


def test_fit_refuses_values_beyond_float32_before_training(data, monkeypatch):
    X_train = data[0].copy()
    X_train[7, 1] = -1e39
    monkeypatch.setattr(FSSDDetector, "_train_default_model",
                        lambda *args: pytest.fail("training started"))
    with pytest.raises(ValueError, match=r"beyond the float32 range.*first row 7.*StandardScaler"):
        FSSD().fit(X_train)


# ------------------------------------------------ parameters derived from FSSDDetector


def test_fssd_has_every_parameter_of_fssd_detector():
    import inspect

    detector = set(inspect.signature(FSSDDetector).parameters)
    face = set(inspect.signature(FSSD).parameters)
    assert face == detector | {"calibration_size"}
    for name, param in inspect.signature(FSSDDetector).parameters.items():
        if name != "contamination":
            assert inspect.signature(FSSD).parameters[name].default == param.default, name
    assert inspect.signature(FSSD).parameters["contamination"].default == 0.1  # PyOD's


def test_a_new_detector_parameter_appears_in_the_face_by_itself():
    from sklearn_fssd.pyod import _face_signature

    class Extended(FSSDDetector):
        def __init__(self, model=None, *, new_knob=3, **params):
            super().__init__(model, **params)
            self.new_knob = new_knob

    signature = _face_signature(Extended)
    assert signature.parameters["new_knob"].default == 3
    assert list(signature.parameters)[:3] == ["self", "contamination", "model"]
    assert list(signature.parameters)[-1] == "calibration_size"


def test_fssd_params_round_trip_through_clone_and_set_params():
    from sklearn.base import clone

    clf = FSSD(0.2, None, epsilon=0.01, perturb="joint", calibration_size=0.3, random_state=4)
    params = clf.get_params()
    assert params["contamination"] == 0.2 and params["epsilon"] == 0.01
    assert clone(clf).get_params() == params
    clf.set_params(n_noise=7, contamination=0.05)
    assert clf.n_noise == 7 and clf.contamination == 0.05
    assert clf.estimator.get_params()["n_noise"] == 7
    assert clf.estimator.get_params()["contamination"] == 0.05
    assert FSSD(**params).get_params() == params
    with pytest.raises(TypeError, match="unexpected keyword"):
        FSSD(epsilonn=0.1)
