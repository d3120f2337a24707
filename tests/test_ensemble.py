"""Tests of sklearn_fssd.ensemble: combining per-layer FSSD distances, on hand-made matrices."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from sklearn_fssd.ensemble import LayerCombiner, NonNegativeLogistic, log_distances


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    # On 2 cores shared with other work, a 2-thread OpenBLAS makes these tiny
    # logistic regressions about 15x slower (threads wait for a busy core).
    with threadpool_limits(limits=1):
        yield


def _separable(seed=0, n_id=60, n_ood=60, n_layers=3):
    """ID distances in [5, 6], OoD distances in [0.1, 1] (near the singularity)."""
    rng = np.random.RandomState(seed)
    D = np.vstack([rng.uniform(5, 6, (n_id, n_layers)), rng.uniform(0.1, 1, (n_ood, n_layers))])
    y = np.r_[np.ones(n_id), -np.ones(n_ood)]
    return D, y


def _two_sided(seed=0, n=60, n_layers=2):
    """ID distances around 10; OoD both much smaller and much larger."""
    rng = np.random.RandomState(seed)
    D_id = rng.uniform(8, 12, (n, n_layers))
    small = rng.uniform(0.01, 1, (n // 2, n_layers))
    large = rng.uniform(100, 1000, (n - n // 2, n_layers))
    D = np.vstack([D_id, small, large])
    y = np.r_[np.ones(n), -np.ones(n)]
    return D, y


# ---------------------------------------------------------------- log_distances


def test_log_distances_of_zeros_are_finite_and_below_every_positive_distance():
    L = log_distances(np.array([[0.0, 1e-6], [1.0, np.e]]))
    assert np.isfinite(L).all()
    assert L[0, 0] < L[0, 1] < L[1, 0]
    np.testing.assert_allclose(L[1], [0.0, 1.0])
    assert L.dtype == np.float64


# ---------------------------------------------------------------- stack


def test_stack_separates_separable_data_and_scores_id_higher():
    D, y = _separable()
    comb = LayerCombiner(random_state=0).fit(D, y)
    score = comb.decision_function(D)
    assert score.shape == (len(D),)
    assert score[y == 1].min() > score[y == -1].max()
    # also on fresh samples of the same two populations
    D_new, y_new = _separable(seed=1)
    score_new = comb.decision_function(D_new)
    assert roc_auc_score(y_new == 1, score_new) == 1.0
    assert (score_new[y_new == 1] > 0).all() and (score_new[y_new == -1] < 0).all()


@pytest.mark.parametrize("quadratic", [True, False])
def test_stack_uses_the_informative_layer_and_ignores_noise(quadratic):
    # layer 0 separates, layer 1 is the same for ID and OoD (an inverted or
    # useless layer must not drown the useful one)
    rng = np.random.RandomState(0)
    n = 80
    D = np.c_[np.r_[rng.uniform(5, 6, n), rng.uniform(0.1, 1, n)], rng.uniform(1, 100, 2 * n)]
    y = np.r_[np.ones(n), -np.ones(n)]
    comb = LayerCombiner(quadratic=quadratic, random_state=0).fit(D, y)
    assert roc_auc_score(y == 1, comb.decision_function(D)) > 0.99


def test_stack_quadratic_learns_a_two_sided_band():
    D, y = _two_sided()
    comb = LayerCombiner(quadratic=True, random_state=0).fit(D, y)
    score = comb.decision_function(D)
    assert score[y == 1].min() > score[y == -1].max()
    id_min = score[y == 1].min()
    # distances far beyond anything seen, on either side, score below every ID sample
    extremes = np.array([[1e6, 1e6], [1e-9, 1e-9], [0.0, 0.0], [1e6, 10.0], [10.0, 1e-6]])
    assert (comb.decision_function(extremes) < id_min).all()
    # and the centre of the band is ID
    assert comb.decision_function(np.array([[10.0, 10.0]]))[0] >= np.median(score[y == 1])


def test_stack_linear_is_monotone_increasing_in_each_layer():
    D, y = _separable(n_layers=3)
    comb = LayerCombiner(quadratic=False, random_state=0).fit(D, y)
    grid = np.geomspace(1e-3, 1e4, 30)
    for k in range(3):
        rows = np.full((len(grid), 3), 3.0)
        rows[:, k] = grid
        score = comb.decision_function(rows)
        assert (np.diff(score) > 0).all(), k
    # so huge distances look *more* in-distribution without the quadratic terms
    assert comb.decision_function(np.array([[1e6] * 3]))[0] > comb.decision_function(D[:60]).max()


def test_stack_is_reproducible_and_clonable():
    D, y = _separable()
    a = LayerCombiner(random_state=3).fit(D, y).decision_function(D)
    b = LayerCombiner(random_state=3).fit(D, y).decision_function(D)
    np.testing.assert_array_equal(a, b)
    comb = LayerCombiner(combine="stack", quadratic=False, cv=3, random_state=3)
    twin = clone(comb)
    assert twin.get_params() == comb.get_params()
    np.testing.assert_array_equal(
        twin.fit(D, y).decision_function(D), comb.fit(D, y).decision_function(D)
    )


def test_stack_score_of_a_row_does_not_depend_on_the_batch():
    D, y = _separable()
    comb = LayerCombiner(random_state=0).fit(D, y)
    full = comb.decision_function(D)
    rows = np.array([comb.decision_function(D[i : i + 1])[0] for i in range(0, len(D), 7)])
    np.testing.assert_allclose(rows, full[::7])


def test_stack_handles_zero_and_constant_distances():
    D, y = _separable()
    D[:, 2] = 4.0  # a constant layer
    D[y == -1, 0] = 0.0  # OoD exactly at the singularity
    comb = LayerCombiner(random_state=0).fit(D, y)
    score = comb.decision_function(D)
    assert np.isfinite(score).all()
    assert score[y == 1].min() > score[y == -1].max()


@pytest.mark.parametrize("n_id", [10, 60])
def test_a_layer_constant_on_id_data_does_not_blow_up_the_scores(n_id):
    # the std of log(4.0) repeated 60 times is 2e-16, not 0, in floating point
    rng = np.random.RandomState(0)
    D = np.c_[rng.uniform(5, 6, n_id), np.full(n_id, 4.0)]
    comb = LayerCombiner(combine="mean").fit(D, np.ones(n_id))
    np.testing.assert_allclose(comb.scale_[1], 1.0)
    # z of the constant layer is the plain log-ratio, not log-ratio / 2e-16
    score = comb.decision_function(np.array([[5.5, 4.0], [5.5, 5.0]]))
    np.testing.assert_allclose(score[1] - score[0], np.log(5.0 / 4.0) / 2)


def test_stack_with_imbalanced_classes_still_separates():
    D, y = _separable(n_id=100, n_ood=6)
    comb = LayerCombiner(random_state=0).fit(D, y)
    score = comb.decision_function(D)
    assert score[y == 1].min() > score[y == -1].max()


@pytest.mark.parametrize("n_id, n_ood", [(10, 1), (1, 10), (10, 0)])
def test_stack_needs_two_samples_of_each_class(n_id, n_ood):
    D = np.random.RandomState(0).uniform(1, 2, (n_id + n_ood, 2))
    y = np.r_[np.ones(n_id), -np.ones(n_ood)]
    with pytest.raises(ValueError, match="at least 2") as info:
        LayerCombiner().fit(D, y)
    assert f"got {n_id} and {n_ood}" in str(info.value)


def test_stack_with_two_samples_of_each_class_fits():
    D = np.array([[5.0, 5.0], [6.0, 5.5], [0.5, 0.2], [0.3, 0.4]])
    y = np.array([1, 1, -1, -1])
    score = LayerCombiner(random_state=0).fit(D, y).decision_function(D)
    assert score[:2].min() > score[2:].max()


# ---------------------------------------------------------------- mean


def test_mean_is_the_mean_of_standardised_log_distances_by_hand():
    e = np.e
    # ID log distances: layer 0 {0, 2} (mean 1, std 1), layer 1 {1, 3} (mean 2, std 1)
    D = np.array([[1.0, e], [e**2, e**3], [0.01, 0.01]])
    y = np.array([1, 1, -1])  # the OoD row does not enter the standardisation
    comb = LayerCombiner(combine="mean").fit(D, y)
    np.testing.assert_allclose(comb.centre_, [1.0, 2.0])
    np.testing.assert_allclose(comb.scale_, [1.0, 1.0])
    test = np.array([[e**3, 1.0], [e, e**4], [e**2, e**3]])
    # z = (2, -2) -> 0; (0, 2) -> 1; (1, 1) -> 1
    np.testing.assert_allclose(comb.decision_function(test), [0.0, 1.0, 1.0], atol=1e-12)


def test_mean_needs_no_ood_samples_and_ignores_quadratic():
    rng = np.random.RandomState(0)
    D = rng.uniform(1, 10, (20, 3))
    y = np.ones(20)
    a = LayerCombiner(combine="mean", quadratic=True).fit(D, y)
    b = LayerCombiner(combine="mean", quadratic=False).fit(D, y)
    np.testing.assert_allclose(a.decision_function(D), b.decision_function(D))
    assert not hasattr(a, "regression_")
    # the score rises with every layer's distance
    low, high = a.decision_function(np.array([[1.0] * 3, [10.0] * 3]))
    assert high > low


def test_typical_is_two_sided_and_needs_no_ood_rows():
    rng = np.random.RandomState(0)
    D = np.exp(rng.normal(loc=2.0, scale=0.1, size=(200, 3)))
    comb = LayerCombiner(combine="typical").fit(D, np.ones(len(D)))
    inside = comb.decision_function(D[:20])
    too_near = comb.decision_function(D[:20] / 10.0)   # near the singularity
    too_far = comb.decision_function(D[:20] * 10.0)    # far outside the training range
    assert too_near.max() < inside.min()
    assert too_far.max() < inside.min()
    # minus a Mahalanobis distance: 0 at the ID mean, negative elsewhere
    centre = np.exp(comb.centre_)[None, :]
    assert comb.decision_function(centre)[0] == pytest.approx(0.0, abs=0.2)
    assert (inside <= 0).all()


# ---------------------------------------------------------------- class_typical


def _two_classes(seed=0, n=200):
    """Class 0 sits near distance 10 in every layer, class 1 near 100."""
    rng = np.random.RandomState(seed)
    D = np.vstack([np.exp(rng.normal(np.log(10), 0.1, (n, 3))),
                   np.exp(rng.normal(np.log(100), 0.1, (n, 3)))])
    return D, np.r_[np.zeros(n, int), np.ones(n, int)]


def test_class_typical_compares_a_row_with_the_class_the_network_gives_it():
    D, groups = _two_classes()
    y = np.ones(len(D))
    per_class = LayerCombiner(combine="class_typical").fit(D, y, groups=groups)
    pooled = LayerCombiner(combine="typical").fit(D, y)
    # a row typical of class 1 that the network files under class 0 is suspicious
    misfiled = D[-20:]
    as_class0 = per_class.decision_function(misfiled, groups=np.zeros(20, int))
    as_class1 = per_class.decision_function(misfiled, groups=np.ones(20, int))
    assert as_class0.max() < as_class1.min()
    # the pooled Gaussian of "typical" cannot tell: its score ignores the class
    inside = per_class.decision_function(D[:20], groups=groups[:20])
    assert as_class0.max() < inside.min()
    assert pooled.decision_function(misfiled).min() > as_class0.max()


def test_class_typical_falls_back_to_all_classes_for_a_rare_class():
    D, groups = _two_classes()
    groups[:3] = 7  # a class the network predicts for 3 rows only: too few for a Gaussian
    comb = LayerCombiner(combine="class_typical").fit(D, np.ones(len(D)), groups=groups)
    assert set(comb.class_covariances_) == {0, 1}
    rows = D[:5]
    np.testing.assert_allclose(
        comb.decision_function(rows, groups=np.full(5, 7)),  # and a class never seen at fit
        -np.sqrt(comb.covariance_.mahalanobis(comb._features(rows))),
    )
    np.testing.assert_allclose(comb.decision_function(rows, groups=np.full(5, 7)),
                               comb.decision_function(rows, groups=np.full(5, 9)))


def test_class_typical_needs_one_group_per_row():
    D, groups = _two_classes()
    with pytest.raises(ValueError, match="needs groups: the class of each row, or the network's"):
        LayerCombiner(combine="class_typical").fit(D, np.ones(len(D)))
    with pytest.raises(ValueError, match=r"one class per row of D \(400\)"):
        LayerCombiner(combine="class_typical").fit(D, np.ones(len(D)), groups=groups[:10])
    comb = LayerCombiner(combine="class_typical").fit(D, np.ones(len(D)), groups=groups)
    for bad in ([[0.5, -0.5]], [[0.0, 0.0]]):
        with pytest.raises(ValueError, match="must hold class probabilities: non-negative"):
            comb.decision_function(D[:1], groups=np.array(bad))


def test_class_typical_weighs_the_classes_by_their_probabilities():
    D, groups = _two_classes()
    y = np.ones(len(D))
    one_hot = np.eye(2)[groups]
    hard = LayerCombiner(combine="class_typical").fit(D, y, groups=groups)
    soft = LayerCombiner(combine="class_typical").fit(D, y, groups=one_hot)
    # probabilities fit the Gaussians on each row's most probable class: the same fit
    np.testing.assert_allclose(soft.class_covariances_[1].location_,
                               hard.class_covariances_[1].location_)
    rows = D[-20:]  # typical of class 1
    as_class = {c: hard.decision_function(rows, groups=np.full(20, c)) for c in (0, 1)}
    # certain probabilities are the class itself
    np.testing.assert_allclose(soft.decision_function(rows, groups=np.tile([0.0, 1.0], (20, 1))),
                               as_class[1])
    # a network that hesitates: the squared distances averaged with its probabilities as weights
    hesitant = soft.decision_function(rows, groups=np.tile([0.3, 0.7], (20, 1)))
    np.testing.assert_allclose(hesitant**2, 0.3 * as_class[0]**2 + 0.7 * as_class[1]**2)
    assert (as_class[0] < hesitant).all() and (hesitant < as_class[1]).all()
    # unnormalised weights count as their shares; a class without a Gaussian takes all classes'
    np.testing.assert_allclose(soft.decision_function(rows, groups=np.tile([3.0, 7.0], (20, 1))),
                               hesitant)
    pooled = -np.sqrt(hard.covariance_.mahalanobis(hard._features(rows)))
    np.testing.assert_allclose(
        soft.decision_function(rows, groups=np.tile([0.0, 0.5, 0.5], (20, 1))) ** 2,
        0.5 * as_class[1]**2 + 0.5 * pooled**2)


# ---------------------------------------------------------------- guarded_stack


def test_guarded_stack_flags_what_the_stack_learned_to_accept():
    # the stack sees ID rows against OoD rows near the singularity only, and learns
    # "far from F* = ID"; rows further out than any ID row are a kind it never saw
    D, y = _separable(n_id=200, n_ood=200)
    further = D[:20] * 50.0
    plain = LayerCombiner(combine="stack", quadratic=False, random_state=0).fit(D, y)
    guarded = LayerCombiner(combine="guarded_stack", quadratic=False, random_state=0).fit(D, y)
    assert plain.decision_function(further).min() > plain.decision_function(D[:200]).max()
    assert guarded.decision_function(further).max() < guarded.decision_function(D[:200]).min()
    # and what the stack learned still holds
    assert guarded.decision_function(D[200:]).max() < guarded.decision_function(D[:200]).min()


def test_guarded_stack_is_the_smaller_id_percentile_of_its_two_rules():
    D, y = _separable(n_id=100, n_ood=100)
    comb = LayerCombiner(combine="guarded_stack", random_state=0).fit(D, y)
    rows = D[:10]
    stack = comb.regression_.decision_function(comb._features(rows))
    typical = -np.sqrt(comb.covariance_.mahalanobis(comb._z(rows)))
    share = lambda s, ref: np.log(np.interp(s, ref, np.arange(1, 101)) / 101)  # noqa: E731
    np.testing.assert_allclose(comb.decision_function(rows), np.minimum(
        share(stack, comb.stack_reference_), share(typical, comb.guard_reference_)))


def _one_sided_kind(seed=0, n=200):
    """ID rows with layer 0 around 10 and layer 1 around 5; the OoD kind of the fit has layer 0
    *larger* than any ID row (an input class that excites layer 0 more), layer 1 as ID."""
    rng = np.random.RandomState(seed)
    D_id = np.c_[rng.uniform(8, 12, n), rng.uniform(4, 6, n)]
    D_ood = np.c_[rng.uniform(30, 60, n), rng.uniform(4, 6, n)]
    return np.vstack([D_id, D_ood]), np.r_[np.ones(n), -np.ones(n)]


def test_non_negative_logistic_keeps_its_weights_non_negative_and_separates():
    rng = np.random.RandomState(0)
    # feature 0 rises for OoD rows (a positive weight), feature 1 rises for ID rows: the
    # unconstrained regression would give it a negative weight, this one gives it none
    X = np.c_[np.r_[rng.normal(0, 1, 100), rng.normal(4, 1, 100)],
              np.r_[rng.normal(2, 1, 100), rng.normal(0, 1, 100)]]
    y = np.r_[np.ones(100), -np.ones(100)]
    clf = NonNegativeLogistic().fit(X, y)
    assert clf.coef_[0] > 0 and clf.coef_[1] <= 1e-8
    assert roc_auc_score(y, clf.decision_function(X)) > 0.95
    # a column constant up to rounding gets no blown-up scale
    X_const = np.c_[X, np.full(len(X), 0.1)]
    assert NonNegativeLogistic().fit(X_const, y).scale_[-1] == 1.0


def test_typical_stack_flags_both_sides_of_a_layer_it_saw_one_side_of():
    # fitted against a kind whose layer 0 lies *above* the ID range, the signed stacks learn
    # "layer 0 small = ID"; rows whose layer 0 sits *below* it (near the singularity, as noise
    # does) are a kind none of them saw
    D, y = _one_sided_kind()
    near = D[:20] * [0.05, 1.0]
    plain = LayerCombiner(combine="stack", quadratic=False, random_state=0).fit(D, y)
    weighted = LayerCombiner(combine="typical_stack", random_state=0).fit(D, y)
    ids = weighted.decision_function(D[:200])
    assert plain.decision_function(near).min() > np.median(plain.decision_function(D[:200]))
    assert weighted.decision_function(near).max() < ids.min()
    assert weighted.decision_function(D[200:]).max() < ids.min()  # and the kind it saw
    # layer 0's atypicality carries the weight, layer 1's (as ID for the kind) none
    w = weighted.regression_.coef_
    assert w.shape == (3,) and (w >= 0).all() and w[0] > 0 and w[1] <= 1e-8


def test_typical_stack_features_are_per_layer_and_whole_atypicality_by_hand():
    D, groups = _two_classes()
    y = np.r_[np.ones(len(D) - 20), -np.ones(20)]
    comb = LayerCombiner(combine="typical_stack", guard="class_typical").fit(D, y, groups=groups)
    rows, g = D[:6], groups[:6]
    z = comb._z(rows)
    gaussians = [comb.class_covariances_[c] for c in g]
    per_layer = np.array([(zi - ga.location_) ** 2 / np.diag(ga.covariance_)
                          for zi, ga in zip(z, gaussians)])
    whole = np.array([ga.mahalanobis(zi[None])[0] for zi, ga in zip(z, gaussians)])
    np.testing.assert_allclose(comb._atypicality(rows, g),
                               np.log1p(np.c_[per_layer, whole]), rtol=1e-10)
    # guarded as guarded_stack is: the smaller log ID percentile of the stack and the guard
    stack = comb.regression_.decision_function(comb._atypicality(rows, g))
    share = lambda s, ref: np.log(np.interp(s, ref, np.arange(1, len(ref) + 1))  # noqa: E731
                                  / (len(ref) + 1))
    np.testing.assert_allclose(comb.decision_function(rows, g), np.minimum(
        share(stack, comb.stack_reference_), share(-np.sqrt(whole), comb.guard_reference_)))


def test_typical_stack_reads_one_hot_probabilities_as_the_labels_they_name():
    D, groups = _two_classes()
    y = np.r_[np.ones(len(D) - 20), -np.ones(20)]
    one_hot = np.eye(2)[groups]
    by_label = LayerCombiner(combine="typical_stack", guard="class_typical").fit(D, y, groups)
    by_prob = LayerCombiner(combine="typical_stack", guard="class_typical").fit(D, y, one_hot)
    np.testing.assert_allclose(by_prob.decision_function(D[:30], one_hot[:30]),
                               by_label.decision_function(D[:30], groups[:30]), rtol=1e-9)
    # a row the network splits between the classes is compared with both
    split = np.tile([0.5, 0.5], (5, 1))
    assert not np.allclose(by_prob.decision_function(D[:5], split),
                           by_prob.decision_function(D[:5], one_hot[:5]))


def test_log_percentile_keeps_falling_below_the_reference():
    from sklearn_fssd.ensemble import log_percentile

    ref = np.sort(np.random.RandomState(0).normal(size=50))
    scores = np.array([-100.0, -10.0, ref[0], 0.0, ref[-1], 10.0])
    out = log_percentile(scores, ref)
    assert (np.diff(out) >= 0).all() and out[0] < out[1] < out[2]
    assert out[2] == pytest.approx(np.log(1 / 51)) and out[-1] == pytest.approx(np.log(50 / 51))


def test_a_refit_with_another_rule_keeps_nothing_of_the_first():
    D, groups = _two_classes()
    y = np.ones(len(D))
    comb = LayerCombiner(combine="class_typical").fit(D, y, groups=groups)
    comb.set_params(combine="typical").fit(D, y)
    np.testing.assert_allclose(comb.decision_function(D[:5]),
                               LayerCombiner(combine="typical").fit(D, y).decision_function(D[:5]))
    assert not hasattr(comb, "class_covariances_")


@pytest.mark.parametrize("params, message", [
    ({"combine": "bogus"}, r"combine='bogus' is not a rule; valid: \['class_typical'"),
    ({"combine": "guarded_stack", "guard": "typo"}, r"guard='typo' is not a rule without OoD"),
    ({"combine": "typical", "covariance": "full"},
     r"covariance='full' is not a covariance; valid: 'shrunk' \(Ledoit-Wolf\) or 'diagonal'"),
    ({"combine": "typical_stack", "guard": "mean"},
     r"guard='mean' is not a rule without OoD data whose layers' atypicality a stack can "
     r"weigh for combine='typical_stack'; valid: \['-mean', 'class_typical', 'typical'\]"),
])
def test_unknown_rules_are_named(params, message):
    D, y = _separable()
    with pytest.raises(ValueError, match=message):
        LayerCombiner(**params).fit(D, y)


def test_diagonal_class_typical_is_the_squared_standardised_deviation_by_hand():
    D, groups = _two_classes()
    comb = LayerCombiner(combine="class_typical", covariance="diagonal").fit(
        D, np.ones(len(D)), groups=groups)
    z = comb._z(D)
    zc, n = z[groups == 1], (groups == 1).sum()
    # class 1's variances, shrunk toward all classes' as if 10 more rows had them
    variance = (n * zc.var(axis=0) + 10 * z.var(axis=0)) / (n + 10)
    expected = -np.sqrt((((z[-5:] - zc.mean(axis=0)) ** 2) / variance).sum(axis=1))
    np.testing.assert_allclose(comb.decision_function(D[-5:], groups=np.ones(5, int)), expected)


def test_diagonal_class_typical_survives_a_column_one_class_never_moves():
    rng = np.random.RandomState(0)
    # 60 columns (channels), 40 rows per class: too few for a full covariance per class
    D = np.exp(rng.normal(size=(80, 60)))
    groups = np.repeat([0, 1], 40)
    D[groups == 0, 5] = 1.0  # a channel class 0 never uses
    comb = LayerCombiner(combine="class_typical", covariance="diagonal").fit(
        D, np.ones(80), groups=groups)
    assert set(comb.class_covariances_) == {0, 1}  # two rows per class are enough
    fresh = np.exp(rng.normal(size=(40, 60)))
    shifted = np.exp(rng.normal(size=(40, 60)) + 2.0)
    scores = comb.decision_function(fresh, groups=np.zeros(40, int))
    # class 0's dead channel counts against fresh rows, but finitely: shifted rows score lower
    assert np.isfinite(scores).all()
    assert roc_auc_score(np.r_[np.ones(40), np.zeros(40)],
                         np.r_[scores, comb.decision_function(shifted, groups=np.zeros(40, int))]
                         ) > 0.95


def test_diagonal_typicality_of_a_column_constant_on_the_fit_rows_is_not_a_hair_trigger():
    rng = np.random.RandomState(0)
    D = np.exp(rng.normal(size=(200, 5)))
    D[:, 2] = 1.0  # a channel the fit rows never move
    comb = LayerCombiner(combine="typical", covariance="diagonal").fit(D, np.ones(200))
    nudged = D[:20].copy()
    nudged[:, 2] = 1.001  # a row that barely moves it
    drop = comb.decision_function(D[:20]) - comb.decision_function(nudged)
    assert drop.max() < 0.01  # with a variance floor of 1e-6 it would fall by about a quarter
    moved = D[:20].copy()
    moved[:, 2] = np.e  # a row that moves it by one unit of log distance
    assert (comb.decision_function(moved) < comb.decision_function(D[:20]) - 5).all()


def _channels_of_three_layers(seed=0):
    """60 ID rows and 30 OoD rows of 2 + 5 + 3 channel columns; the OoD rows move layer 1."""
    rng = np.random.RandomState(seed)
    D = np.exp(rng.normal(size=(90, 10)))
    D[60:, 2:7] *= np.e ** 2
    return D, np.r_[np.ones(60), -np.ones(30)]


def test_typical_stack_with_layer_widths_weighs_each_layer_not_each_channel():
    D, y = _channels_of_three_layers()
    comb = LayerCombiner(combine="typical_stack", covariance="diagonal",
                         layer_widths=[2, 5, 3]).fit(D, y)
    # one weight per layer and one for the whole vector, not one per channel
    assert comb.regression_.coef_.shape == (4,)
    z = comb._z(D)
    squared = (z - comb.covariance_.location_) ** 2 / comb.covariance_.variance_
    by_layer = np.c_[squared[:, :2].sum(1), squared[:, 2:7].sum(1), squared[:, 7:].sum(1)]
    np.testing.assert_allclose(comb._atypicality(D, None),
                               np.log1p(np.c_[by_layer, squared.sum(1)]))
    # the layer the OoD rows moved is the one the stack weighs most
    assert np.argmax(comb.regression_.coef_[:3]) == 1
    assert roc_auc_score(y, comb.decision_function(D)) > 0.95
    # with the guard "-mean" (distances that grow for OoD inputs) each layer's mean z
    minus_mean = LayerCombiner(combine="typical_stack", guard="-mean",
                               layer_widths=[2, 5, 3]).fit(D, y)
    np.testing.assert_allclose(minus_mean._atypicality(D, None),
                               np.c_[z[:, :2].mean(1), z[:, 2:7].mean(1), z[:, 7:].mean(1)])
    # the widths as fitted: changing the parameter afterwards changes nothing until a refit
    before = comb.decision_function(D)
    comb.set_params(layer_widths=[5, 5])
    np.testing.assert_array_equal(comb.decision_function(D), before)


def test_layer_widths_of_one_column_each_change_nothing():
    D, y = _channels_of_three_layers()
    for guard in ("typical", "-mean"):
        params = dict(combine="typical_stack", guard=guard, covariance="diagonal")
        np.testing.assert_allclose(
            LayerCombiner(layer_widths=[1] * 10, **params).fit(D, y).decision_function(D),
            LayerCombiner(**params).fit(D, y).decision_function(D))


@pytest.mark.parametrize("widths", [[2, 5], [2, 5, 3, 0], [2.0, 5.0, 3.0], []])
def test_layer_widths_that_do_not_cover_the_columns_are_refused(widths):
    D, y = _channels_of_three_layers()
    with pytest.raises(ValueError, match="layer_widths must be positive whole numbers of "
                                         "columns, one per layer, that add up to the 10"):
        LayerCombiner(combine="typical_stack", layer_widths=widths).fit(D, y)
