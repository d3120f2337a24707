"""The OoD evaluation protocol (benchmarks/protocol.py): no test sample and no validation sample
of a column's test kind reaches a fitted or tuned part, and the tables say so.

The spy below fingerprints on its own every array a method receives (not with the protocol's
digests), and its detector writes what it saw into its scores: on the test samples of kind K it
gives 0 if it saw training data only, 0.5 if it also saw validation data but none of kind K,
1 if it saw validation samples of K; half of the in-distribution test samples get 0.25, half
0.75. So the AUROC (%) in a column reads 100, 50 or 0, and the published table itself shows
which data reached the detector behind each of its numbers.
"""

import numpy as np
import pytest

from benchmarks import protocol
from benchmarks.ood_kinds import image_kinds
from benchmarks.protocol import Case, Kind, LeakError, Method

EXPECTED_AUROC = {"no_ood": 100.0, "other_kind": 50.0, "same_kind": 0.0}


def _rows(X):
    """The spy's own fingerprints: each row as a tuple of Python floats."""
    return {tuple(r) for r in np.asarray(X, np.float64).reshape(len(X), -1).tolist()}


def _case(seed=0, n=8):
    """Three OoD kinds of distinct random rows; "b" and "c" of one family."""
    rng = np.random.RandomState(seed)

    def draw(m, shift=0.0):
        return (rng.uniform(size=(m, 2, 3)) + shift).astype(np.float32)

    kinds = {"a": Kind(draw(n, 5), draw(n, 5)),
             "b": Kind(draw(n, -5), draw(n, -5), family="pair"),
             "c": Kind(draw(n, 9), draw(n, 9), family="pair")}
    return Case("toy", draw(30), rng.randint(0, 3, 30), draw(n), rng.randint(0, 3, n), draw(2 * n),
                kinds)


class _SpyDetector:
    def __init__(self, case, saw_kinds, saw_more):
        self.case, self.saw_kinds, self.saw_more = case, saw_kinds, saw_more

    def score_samples(self, X):
        got = _rows(X)
        if got == _rows(self.case.X_test):
            return np.resize([0.25, 0.75], len(X))
        (kind,) = [k for k, v in self.case.kinds.items() if got == _rows(v.test)]
        level = 1.0 if kind in self.saw_kinds else 0.5 if self.saw_more else 0.0
        return np.full(len(X), level)


def _spy(case, calls):
    """A method that records every row it receives, and a detector that reports it."""
    train = _rows(case.X_train)

    def make(seen):
        got = set().union(*(_rows(v) for v in vars(seen).values()
                            if isinstance(v, np.ndarray) and v.ndim > 1))
        calls.append(got)
        saw = {k for k, v in case.kinds.items() if got & _rows(v.val)}
        return _SpyDetector(case, saw, bool(got - train)), {"call": len(calls)}

    return make


def _check(case, results, calls):
    """What the spies saw and the tables show: the protocol's promise, checked from outside."""
    tests = set().union(_rows(case.X_test), *(_rows(k.test) for k in case.kinds.values()))
    assert all(got.isdisjoint(tests) for got in calls), "a test sample reached a fit"
    # one OoD kind at most per fit, so a column at 0 below saw its own kind and no other
    vals = [_rows(k.val) for k in case.kinds.values()]
    assert all(sum(not got.isdisjoint(v) for v in vals) <= 1 for got in calls), "two kinds"
    for setting, block in results["settings"].items():
        for kind, col in block["columns"].items():
            assert col["methods"]["spy"]["auroc"] == EXPECTED_AUROC[setting], (setting, kind)
            assert col["methods"]["fixed spy"]["auroc"] == 100.0, (setting, kind)


def _methods(case, calls, fixed_calls):
    return {"spy": Method(_spy(case, calls)),
            "fixed spy": Method(_spy(case, fixed_calls), uses_ood=False)}


def test_no_test_sample_and_no_validation_sample_of_the_test_kind_reaches_a_fit():
    case = _case()
    calls, fixed_calls = [], []
    res = protocol.evaluate(case, _methods(case, calls, fixed_calls), transfer=True).results
    _check(case, res, calls + fixed_calls)

    # a method that needs no OoD data is fitted once, on the training data, for every column
    assert len(fixed_calls) == 1 and fixed_calls[0] == _rows(case.X_train)
    # the other one once without OoD data and once per kind, each fit shared by its columns
    assert len(calls) == 1 + len(case.kinds)
    assert sorted(res["fits"]["spy"]) == sorted(["no_ood", *case.kinds])
    assert res["tune_on"] == {"a": "b", "b": "a", "c": "a"}
    for setting in protocol.SETTINGS:
        for kind, col in res["settings"][setting]["columns"].items():
            tuned = {"no_ood": None, "other_kind": case.tune_on[kind], "same_kind": kind}[setting]
            assert col["tuned_on"] == col["methods"]["spy"]["fitted_on"] == tuned
            assert col["methods"]["fixed spy"]["fitted_on"] is None
        assert res["settings"][setting]["mean"]["spy"]["auroc"] == EXPECTED_AUROC[setting]
    # the transfer matrix: a fit on kind j scores 0 on j's own test samples, 50 elsewhere
    assert res["transfer"]["spy"] == {
        j: {k: 0.0 if j == k else 50.0 for k in case.kinds} for j in case.kinds}


def _leak_test_rows(monkeypatch):
    """A leaky protocol: the in-distribution test samples join the training data."""
    honest = protocol.seen_for

    def leaky(case, ood_kind):
        seen = honest(case, ood_kind)
        return protocol.Seen(np.concatenate([seen.X_train, case.X_test]),
                             np.r_[seen.y_train, np.zeros(len(case.X_test), int)],
                             seen.X_val_id, seen.c_val_id, seen.X_val_ood, seen.ood_kind)

    monkeypatch.setattr(protocol, "seen_for", leaky)


def _tune_on_the_test_kind(monkeypatch):
    """A leaky protocol: the other-kind column is tuned on the test kind itself."""
    honest = protocol.tuning_kind
    monkeypatch.setattr(protocol, "tuning_kind", lambda case, setting, kind: (
        kind if setting == "other_kind" else honest(case, setting, kind)))


def _pool_every_kind(monkeypatch):
    """A leaky protocol: a tuned method sees the validation samples of every kind."""
    honest = protocol.seen_for

    def leaky(case, ood_kind):
        seen = honest(case, ood_kind)
        if ood_kind is None:
            return seen
        pooled = np.concatenate([k.val for k in case.kinds.values()])
        return protocol.Seen(seen.X_train, seen.y_train, seen.X_val_id, seen.c_val_id, pooled,
                             ood_kind)

    monkeypatch.setattr(protocol, "seen_for", leaky)


@pytest.mark.parametrize("leak", [_leak_test_rows, _tune_on_the_test_kind, _pool_every_kind])
def test_a_leaky_protocol_fails_the_spy_and_the_audit(leak, monkeypatch):
    leak(monkeypatch)
    case = _case()
    with pytest.raises(LeakError, match="would use a detector that saw samples of"):
        protocol.evaluate(case, _methods(case, [], []))
    calls, fixed_calls = [], []
    res = protocol.evaluate(case, _methods(case, calls, fixed_calls), check=False).results
    with pytest.raises(AssertionError):
        _check(case, res, calls + fixed_calls)


def test_the_audit_names_what_each_setting_may_see():
    case = _case()
    every = set(case.pools())
    assert protocol.leaks(case, {"train"}, "no_ood", "a") == set()
    assert protocol.leaks(case, {"train", "id val"}, "no_ood", "a") == {"id val"}
    assert protocol.leaks(case, {"train", "id val", "b val"}, "other_kind", "a") == set()
    assert protocol.leaks(case, {"train", "c val"}, "other_kind", "b") == {"c val"}  # family
    assert protocol.leaks(case, {"train", "a val", "b val"}, "other_kind", "c") == {
        "a val", "b val"}  # one kind only
    assert protocol.leaks(case, {"train", "id val", "a val"}, "same_kind", "a") == set()
    assert protocol.leaks(case, every, "same_kind", "a") == every - {"train", "id val", "a val"}


def test_the_tuning_kinds_follow_the_reference_rule_and_never_the_test_kind():
    case = _case()
    assert protocol.reference_tune_on(case.kinds) == {"a": "b", "b": "a", "c": "a"}
    kinds = {"x": case.kinds["b"], "y": case.kinds["a"]}
    assert protocol.reference_tune_on(kinds) == {"x": "y", "y": "x"}
    with pytest.raises(ValueError, match="of one family"):
        protocol.reference_tune_on({"b": case.kinds["b"], "c": case.kinds["c"]})
    for bad in [{"a": "a", "b": "a", "c": "a"}, {"a": "b", "b": "c", "c": "a"}, {"a": "b"}]:
        with pytest.raises(ValueError, match="tune"):
            Case("toy", case.X_train, case.y_train, case.X_val, case.y_val, case.X_test,
                 case.kinds, tune_on=bad)
    with pytest.raises(ValueError, match="at least two OoD kinds"):
        Case("toy", case.X_train, case.y_train, case.X_val, case.y_val, case.X_test,
             {"a": case.kinds["a"]})


def test_a_case_refuses_pools_that_share_a_row_and_unique_rows_drops_them():
    case = _case()
    leaky = dict(case.kinds, a=Kind(case.kinds["a"].val, np.r_[case.kinds["a"].test,
                                                                case.X_train[:2]]))
    with pytest.raises(ValueError, match="train and a test: 2"):
        Case("toy", case.X_train, case.y_train, case.X_val, case.y_val, case.X_test, leaky)
    with pytest.raises(ValueError, match="a val and auxiliary outliers: 1"):
        Case("toy", case.X_train, case.y_train, case.X_val, case.y_val, case.X_test,
             case.kinds, auxiliary={"outliers": case.kinds["a"].val[:1]})
    # equal values in another dtype are the same row
    X = np.r_[case.X_test[:3], case.X_test[:1], case.X_train[:2]].astype(np.float64)
    assert protocol.unique_rows(X, exclude=[case.X_train]).tolist() == [0, 1, 2]


def test_image_kinds_are_seeded_disjoint_and_where_they_should_be():
    source = np.random.RandomState(0).uniform(size=(60, 1, 6, 6)).astype(np.float32)
    kinds = image_kinds(source[30:], 4, 6, np.random.RandomState(1))
    again = image_kinds(source[30:], 4, 6, np.random.RandomState(1))
    assert list(kinds) == ["uniform noise", "Gaussian noise", "far out", "corrupted noise",
                           "corrupted blur"]
    for name, kind in kinds.items():
        assert kind.val.shape == (4, 1, 6, 6) and kind.test.shape == (6, 1, 6, 6)
        assert kind.val.dtype == kind.test.dtype == np.float32
        np.testing.assert_array_equal(kind.test, again[name].test)
        assert _rows(kind.val).isdisjoint(_rows(kind.test))
    assert kinds["Gaussian noise"].family == kinds["uniform noise"].family == "noise"
    assert kinds["corrupted noise"].family == kinds["corrupted blur"].family == "shift"
    for name in ["uniform noise", "Gaussian noise", "corrupted noise", "corrupted blur"]:
        assert 0.0 <= kinds[name].test.min() and kinds[name].test.max() <= 1.0
    assert kinds["far out"].test.max() > 5.0
    # far-out images are source images times 10
    far = _rows(np.r_[kinds["far out"].val, kinds["far out"].test])
    assert len(far) == 10 and far <= _rows(source[30:] * np.float32(10))
    with pytest.raises(ValueError, match="30 are needed"):
        image_kinds(source[31:], 4, 6, np.random.RandomState(1))
    # a case of them, with the other images in distribution, passes its own checks
    case = Case("images", source[:20], np.zeros(20, int), source[20:24], np.zeros(4, int),
                source[24:30], kinds)
    assert case.tune_on["uniform noise"] == "far out"
    assert case.tune_on["far out"] == "uniform noise"


def test_a_stack_fits_on_the_training_rows_against_the_validation_ood_samples():
    case = _case()
    seen = protocol.seen_for(case, "a")
    rows = np.array([3, 0, 7])
    X, y, classes = seen.training_against_ood(rows)
    assert _rows(X[y == 1]) == _rows(case.X_train[rows])
    assert _rows(X[y == -1]) == _rows(case.kinds["a"].val)
    assert classes[y == 1].tolist() == case.y_train[rows].tolist()
    # no in-distribution validation or test sample takes part, so the audit lets it through
    assert _rows(X).isdisjoint(_rows(case.X_val) | _rows(case.X_test))


def test_search_tunes_on_the_validation_data_and_refits_where_it_is_told():
    from sklearn.linear_model import LogisticRegression

    from benchmarks._ood import search

    rng = np.random.RandomState(0)
    X_val = rng.normal(size=(40, 2))
    y_val = np.where(X_val[:, 0] > 0, 1, -1)
    X_fit = rng.normal(size=(30, 2))
    y_fit = np.where(X_fit[:, 1] > 0, 1, -1)  # another rule: the refit follows it
    found, params = search(LogisticRegression(), {"C": [0.01, 1.0]}, X_val, y_val, cv=2, seed=0,
                           refit_on=(X_fit, y_fit))
    assert params["C"] in (0.01, 1.0) and found.C == params["C"]
    assert abs(found.coef_[0, 1]) > abs(found.coef_[0, 0])
    on_val, _ = search(LogisticRegression(), {"C": [0.01, 1.0]}, X_val, y_val, cv=2, seed=0)
    assert abs(on_val.coef_[0, 0]) > abs(on_val.coef_[0, 1])
