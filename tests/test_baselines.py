"""The paper's comparison methods: each one's defining property, and its behaviour.

Defining properties are checked against formulas computed here by hand (numpy,
scipy, plain torch autograd); behaviour on the digits fixtures of conftest.py
(a small CNN with BatchNorm and Dropout) against uniform noise.
"""

import copy
import math
import pickle

import numpy as np
import pytest
import torch
from scipy.special import logsumexp
from sklearn.base import clone
from sklearn.covariance import EmpiricalCovariance
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from torch import nn
from torch.nn import functional as F

from sklearn_fssd import (
    DeepEnsembleDetector,
    EnergyDetector,
    FSSDDetector,
    MahalanobisDetector,
    MCDropoutDetector,
    MSPDetector,
    ODINDetector,
)
from sklearn_fssd.baselines.mahalanobis import class_mahalanobis
from sklearn_fssd.baselines._dropout import _KeyedDropout, _sample_keys
from sklearn_fssd.models import MLP
from sklearn_fssd.training import (
    OutlierExposureLoss,
    train_classifier,
    train_deep_ensemble,
    train_outlier_exposure,
)
from sklearn_fssd.training.outlier_exposure import OUTLIER_LABEL

from conftest import SmallCNN, permuted_pixels
from test_detector import (
    FEATURE_ROUNDING,
    TinyLSTM,
    assert_same_snapshot,
    assert_unscorable_rows_are_ood,
    assert_user_hooks_stay_with_the_user,
    assert_within,
    model_snapshot,
    tapped_features,
)


def auroc(id_scores, ood_scores):
    """AUROC with in-distribution as the positive class."""
    y = np.r_[np.ones(len(id_scores)), np.zeros(len(ood_scores))]
    return roc_auc_score(y, np.r_[id_scores, ood_scores])


def logits_of(net_or_module, X):
    """The logits of a network, computed on a private copy in eval mode."""
    module = getattr(net_or_module, "module_", net_or_module)
    with torch.no_grad():
        return copy.deepcopy(module).eval()(torch.as_tensor(X)).double().numpy()


def softmax(logits):
    return np.exp(logits - logsumexp(logits, axis=1, keepdims=True))


@pytest.fixture(scope="module")
def cnn_ensemble(digits):
    """Three SmallCNNs trained independently (seeds 0, 1, 2) through train_deep_ensemble."""
    X_train, y_train, _, _ = digits
    return train_deep_ensemble(
        SmallCNN, X_train, y_train, n_networks=3, lr=3e-3, max_epochs=6, batch_size=64
    )


# ------------------------------------------------------ MSP, ODIN, Energy


def test_odin_at_temperature_one_without_preprocessing_is_msp(trained_cnn, digits):
    X_train, _, X_test, _ = digits
    msp = MSPDetector(trained_cnn).fit(X_train)
    odin = ODINDetector(trained_cnn, temperature=1.0, epsilon=0.0).fit(X_train)
    np.testing.assert_array_equal(odin.score_samples(X_test), msp.score_samples(X_test))
    assert odin.offset_ == msp.offset_
    # MSP is the largest softmax probability
    expected = softmax(logits_of(trained_cnn, X_test)).max(axis=1)
    np.testing.assert_allclose(msp.score_samples(X_test), expected, rtol=1e-5)
    assert msp.n_classes_ == 10


def test_odin_preprocessing_is_the_gradient_sign_step_by_hand(trained_cnn, digits):
    X_train, _, X_test, _ = digits
    T, eps = 10.0, 0.01
    module = copy.deepcopy(trained_cnn.module_).eval()
    x = torch.from_numpy(X_test[:60]).requires_grad_(True)
    torch.log_softmax(module(x) / T, dim=1).max(dim=1).values.sum().backward()
    x_tilde = x.detach() + eps * torch.sign(x.grad)
    with torch.no_grad():
        expected = torch.softmax(module(x_tilde).double() / T, dim=1).max(dim=1).values.numpy()
    det = ODINDetector(trained_cnn, temperature=T, epsilon=eps).fit(X_train[:100])
    scores = det.score_samples(X_test[:60])
    np.testing.assert_allclose(scores, expected, rtol=1e-5)
    # the step raises the temperature-scaled softmax score
    plain = det.set_params(epsilon=0.0).fit(X_train[:100]).score_samples(X_test[:60])
    assert (scores > plain).mean() > 0.9


@pytest.mark.parametrize("temperature", [1.0, 2.5])
def test_energy_is_minus_the_free_energy(trained_cnn, digits, temperature):
    X_train, _, X_test, _ = digits
    det = EnergyDetector(trained_cnn, temperature=temperature).fit(X_train)
    logits = logits_of(trained_cnn, X_test)
    energy = -temperature * logsumexp(logits / temperature, axis=1)
    np.testing.assert_allclose(det.score_samples(X_test), -energy, rtol=1e-5)


def test_logits_layer_reads_the_logits_inside_the_network(trained_cnn, digits):
    X_train, _, X_test, _ = digits
    inner = nn.Sequential()
    inner.add_module("classifier", copy.deepcopy(trained_cnn.module_))
    inner.add_module("extra", nn.Linear(10, 2))  # a head that is not the logits
    det = EnergyDetector(inner, logits_layer="classifier").fit(X_train[:100])
    plain = EnergyDetector(trained_cnn).fit(X_train[:100])
    np.testing.assert_allclose(det.score_samples(X_test[:50]), plain.score_samples(X_test[:50]))
    assert det.n_classes_ == 10
    with pytest.raises(ValueError, match=r"Layer 'clasifier' not found.*Did you mean 'classifier'"):
        EnergyDetector(inner, logits_layer="clasifier").fit(X_train[:10])


# ------------------------------------------------------------ Mahalanobis


def _identity_classifier(n_features):
    """Features of layer "0" are the inputs themselves; the logits too."""
    net = nn.Sequential(nn.Identity(), nn.Linear(n_features, n_features))
    with torch.no_grad():
        net[1].weight.copy_(torch.eye(n_features))
        net[1].bias.zero_()
    return net


@pytest.fixture(scope="module")
def gaussian_classes():
    """Three Gaussian classes in 3-D with one shared, correlated covariance."""
    rng = np.random.RandomState(0)
    means = np.array([[0.0, 0.0, 0.0], [4.0, 0.0, 0.0], [0.0, 4.0, 0.0]])
    A = np.array([[1.0, 0.0, 0.0], [0.6, 0.8, 0.0], [0.2, -0.3, 0.5]])
    labels = np.repeat([0, 1, 2], 150)
    X = (means[labels] + rng.normal(size=(len(labels), 3)) @ A.T).astype(np.float32)
    X_test = (rng.normal(size=(60, 3)) * 3).astype(np.float32)
    return X, labels, X_test


def closed_form_mahalanobis(X, labels, X_test):
    """Lee et al.'s score by hand: -min_c (x - mu_c)^T Sigma^-1 (x - mu_c), tied Sigma (MLE)."""
    X = X.astype(np.float64)
    classes = np.unique(labels)
    means = np.stack([X[labels == c].mean(axis=0) for c in classes])
    centred = X - means[np.searchsorted(classes, labels)]
    covariance = centred.T @ centred / len(X)
    precision = np.linalg.inv(covariance)
    diff = X_test.astype(np.float64)[:, None, :] - means[None]
    squared = np.einsum("ncd,de,nce->nc", diff, precision, diff)
    return -squared.min(axis=1), means, covariance, precision


def test_mahalanobis_on_gaussian_classes_matches_the_closed_form(gaussian_classes):
    X, labels, X_test = gaussian_classes
    expected, means, covariance, _ = closed_form_mahalanobis(X, labels, X_test)
    det = MahalanobisDetector(
        _identity_classifier(3), layers=["0"], combine="last", batch_size=7
    ).fit(X, class_labels=labels)
    np.testing.assert_allclose(det.means_[0].numpy(), means, rtol=1e-10)
    np.testing.assert_allclose(det.covariances_[0].numpy(), covariance, rtol=1e-10)
    sklearn_cov = EmpiricalCovariance(assume_centered=True).fit(X - means[labels])
    np.testing.assert_allclose(det.covariances_[0].numpy(), sklearn_cov.covariance_, rtol=1e-6)
    np.testing.assert_allclose(det.layer_scores(X_test)[:, 0], expected, rtol=1e-8)
    np.testing.assert_allclose(det.score_samples(X_test), expected, rtol=1e-8)
    assert det.class_labels_.tolist() == [0, 1, 2]


def test_mahalanobis_class_labels_of_any_kind_and_predicted_classes(gaussian_classes):
    X, labels, X_test = gaussian_classes
    named = np.array(["cat", "dog", "emu"])[labels]
    det = MahalanobisDetector(_identity_classifier(3), layers=["0"], combine="last")
    by_name = det.fit(X, class_labels=named).score_samples(X_test)
    assert det.class_labels_.tolist() == ["cat", "dog", "emu"]
    np.testing.assert_allclose(by_name, closed_form_mahalanobis(X, labels, X_test)[0], rtol=1e-8)
    # without class labels: the network's predictions (here the argmax of the input)
    predicted = X.argmax(axis=1)
    unsupervised = clone(det).fit(X)
    assert unsupervised.class_labels_.tolist() == np.unique(predicted).tolist()
    np.testing.assert_allclose(
        unsupervised.score_samples(X_test),
        closed_form_mahalanobis(X, predicted, X_test)[0],
        rtol=1e-8,
    )


def test_mahalanobis_preprocessing_is_the_gradient_sign_step_by_hand(gaussian_classes):
    X, labels, X_test = gaussian_classes
    _, means, _, precision = closed_form_mahalanobis(X, labels, X_test)
    eps = 0.05
    x = X_test.astype(np.float64)
    diff = x[:, None, :] - means[None]
    closest = np.einsum("ncd,de,nce->nc", diff, precision, diff).argmin(axis=1)
    gradient = -2 * (x - means[closest]) @ precision  # of M(x) = -d^2 to the closest class
    x_tilde = (X_test + eps * np.sign(gradient)).astype(np.float32)
    expected = closed_form_mahalanobis(X, labels, x_tilde)[0]
    det = MahalanobisDetector(_identity_classifier(3), layers=["0"], epsilon=eps, combine="last")
    det.fit(X, class_labels=labels)
    scores = det.layer_scores(X_test)[:, 0]
    np.testing.assert_allclose(scores, expected, rtol=1e-5)
    plain = closed_form_mahalanobis(X, labels, X_test)[0]
    assert (scores > plain).all()  # the step brings every input closer to its class


@pytest.mark.parametrize("given", [True, False], ids=["class_labels", "predicted_classes"])
def test_mahalanobis_needs_more_samples_than_classes(given):
    X = 3 * np.eye(3, dtype=np.float32)  # one sample per class, given or predicted (argmax)
    fit_params = {"class_labels": np.array([0, 1, 2])} if given else {}
    hint = "" if given else r"the classes are the network.s predicted classes; pass class_labels=.*"
    with pytest.raises(ValueError, match=r"every class has a single sample \(samples per class: "
                       r"\{0: 1, 1: 1, 2: 1\}\), so every score would be 0\. It needs more "
                       rf"samples than classes: {hint}fit on more in-distribution samples"):
        MahalanobisDetector(_identity_classifier(3), layers=["0"]).fit(X, **fit_params)
    # one class with two samples: a covariance to estimate, scores that differ
    X2 = np.vstack([X, [[2.0, 0.5, 0.0]]]).astype(np.float32)
    det = MahalanobisDetector(_identity_classifier(3), layers=["0"], combine="last")
    scores = det.fit(X2, **({"class_labels": np.array([0, 1, 2, 0])} if given else {}))
    assert np.ptp(scores.score_samples(np.float32([[3, 0, 0], [2, 1, 0], [0, 0, 9]]))) > 0


def test_class_mahalanobis_by_hand():
    rng = np.random.RandomState(0)
    f, mu = rng.normal(size=(5, 3)), rng.normal(size=(2, 3))
    B = rng.normal(size=(3, 3))
    P = B @ B.T + np.eye(3)
    expected = np.array([[(a - m) @ P @ (a - m) for m in mu] for a in f])
    got = class_mahalanobis(*(torch.from_numpy(v) for v in (f, mu, P)))
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-10)


def test_mahalanobis_stack_uses_the_in_distribution_rows_for_the_gaussians(gaussian_classes):
    X, labels, X_test = gaussian_classes
    ood = np.random.RandomState(1).uniform(-8, 12, size=(100, 3)).astype(np.float32)
    X_val = np.vstack([X, ood])
    y_val = np.r_[np.ones(len(X)), -np.ones(len(ood))]
    det = MahalanobisDetector(_identity_classifier(3), layers=["0", "1"], random_state=0)
    det.fit(X_val, y_val, class_labels=np.r_[labels, np.full(len(ood), 9)])
    assert det.combine_ == "stack" and hasattr(det.combiner_, "regression_")
    assert det.class_labels_.tolist() == [0, 1, 2]  # the OoD rows' labels are ignored
    _, means, _, _ = closed_form_mahalanobis(X, labels, X_test)
    np.testing.assert_allclose(det.means_[0].numpy(), means, rtol=1e-10)
    # contamination="auto": the threshold that keeps 95 % of the in-distribution fit rows,
    # for the stack as for every rule and detector
    scores = det.score_samples(X_val)
    assert det.offset_ == pytest.approx(np.percentile(scores[y_val == 1], 5))
    assert np.mean(scores[y_val == 1] >= det.offset_) == pytest.approx(0.95, abs=0.01)
    with pytest.raises(ValueError, match="combine='stack'.*y with -1"):
        MahalanobisDetector(_identity_classifier(3), combine="stack").fit(X, class_labels=labels)


def test_mahalanobis_with_class_labels_needs_no_classifier_head(gaussian_classes):
    X, labels, X_test = gaussian_classes
    features = nn.Sequential(nn.Identity(), nn.Linear(3, 1))  # one output: no logits
    det = MahalanobisDetector(features, layers=["0"], combine="last").fit(X, class_labels=labels)
    np.testing.assert_allclose(
        det.score_samples(X_test), closed_form_mahalanobis(X, labels, X_test)[0], rtol=1e-8
    )
    assert det.n_classes_ == 3
    with pytest.raises(ValueError, match="at least 2 logits"):
        MahalanobisDetector(features, layers=["0"]).fit(X)


def test_class_labels_passed_as_y_are_refused_with_a_hint(gaussian_classes):
    X, labels, _ = gaussian_classes
    with pytest.warns(UserWarning, match=r"fit\(X, class_labels=\.\.\.\)"):
        det = MahalanobisDetector(_identity_classifier(3), layers=["0"]).fit(X, labels)
    assert det.combine_ == "mean"
    with pytest.raises(ValueError, match="class_labels must be a 1-D array with one class"):
        MahalanobisDetector(_identity_classifier(3)).fit(X, class_labels=labels[:10])


def test_two_classes_passed_as_y_are_refused_with_both_fixes(gaussian_classes):
    X, labels, _ = gaussian_classes
    two = labels[labels < 2]  # 0/1: PyOD's outlier labels, or two classes
    with pytest.raises(ValueError,
                       match=r"np.where\(y == 1, -1, 1\).*fit\(X, class_labels=\.\.\.\)"):
        MahalanobisDetector(_identity_classifier(3), layers=["0"]).fit(X[labels < 2], two)


# ----------------------------------------------------------- Deep Ensemble


def test_deep_ensemble_of_one_network_repeated_is_msp(trained_cnn, digits):
    X_train, _, X_test, _ = digits
    msp = MSPDetector(trained_cnn).fit(X_train)
    ensemble = DeepEnsembleDetector([trained_cnn] * 5).fit(X_train)
    assert len(ensemble.model_) == 5
    np.testing.assert_array_equal(ensemble.score_samples(X_test), msp.score_samples(X_test))


def test_deep_ensemble_averages_the_softmax_of_its_networks(cnn_ensemble, digits):
    X_train, _, X_test, _ = digits
    det = DeepEnsembleDetector(cnn_ensemble).fit(X_train)
    mean = np.mean([softmax(logits_of(net, X_test)) for net in cnn_ensemble], axis=0)
    np.testing.assert_allclose(det.score_samples(X_test), mean.max(axis=1), rtol=1e-5)


def test_deep_ensemble_networks_are_trained_independently(cnn_ensemble, digits):
    _, _, X_test, _ = digits
    a, b = (logits_of(net, X_test[:20]) for net in cnn_ensemble[:2])
    assert not np.allclose(a, b)
    with pytest.raises(TypeError, match="needs the network class"):
        train_deep_ensemble(SmallCNN(), X_test[:4], np.arange(4))


# -------------------------------------------------------------- MC Dropout


def test_mc_dropout_without_dropout_is_msp_with_zero_variance(trained_cnn, digits):
    X_train, _, X_test, _ = digits
    msp = MSPDetector(trained_cnn).fit(X_train[:200]).score_samples(X_test)
    mean = MCDropoutDetector(trained_cnn, dropout_rate=0.0, n_passes=4).fit(X_train[:200])
    np.testing.assert_array_equal(mean.score_samples(X_test), msp)
    variance = clone(mean).set_params(statistic="variance").fit(X_train[:200])
    np.testing.assert_array_equal(variance.score_samples(X_test), np.zeros(len(X_test)))
    entropy = clone(mean).set_params(statistic="entropy").fit(X_train[:200])
    p = softmax(logits_of(trained_cnn, X_test))
    np.testing.assert_allclose(entropy.score_samples(X_test), (p * np.log(p)).sum(axis=1),
                               rtol=1e-5, atol=1e-7)


def test_mc_dropout_samples_dropout_with_batchnorm_in_eval_mode(trained_cnn, digits):
    X_train, _, X_test, _ = digits
    det = MCDropoutDetector(
        trained_cnn, dropout_rate=0.5, n_passes=8, statistic="variance", random_state=0
    )
    det.fit(X_train[:100])
    assert det.dropout_layers_ == ["drop"]
    bn = det.model_.bn1
    stats = (bn.running_mean.clone(), bn.running_var.clone(), bn.num_batches_tracked.clone())
    modes = []
    handle = bn.register_forward_pre_hook(lambda module, inputs: modes.append(module.training))
    try:
        variance = det.score_samples(X_test[:40])
    finally:
        handle.remove()
    assert len(modes) == 8 and not any(modes)
    for before, after in zip(stats, (bn.running_mean, bn.running_var, bn.num_batches_tracked)):
        assert torch.equal(before, after)
    assert (variance < 0).all()  # the passes differ: dropout is active


def test_mc_dropout_scores_are_reproducible_and_seeded(trained_cnn, digits):
    X_train, _, X_test, _ = digits
    make = lambda seed: MCDropoutDetector(  # noqa: E731
        trained_cnn, n_passes=8, random_state=seed
    ).fit(X_train[:50])
    a, b, c = (make(seed).score_samples(X_test[:40]) for seed in (0, 0, 1))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_keyed_dropout_drops_the_requested_share_whatever_the_batch():
    torch.manual_seed(0)
    offsets = (_sample_keys(torch.randn(400, 5)).double() / 2**32).float()
    drop = _KeyedDropout(0.3, channelwise=False)
    drop.offsets, drop.stream = offsets, 12345
    out = drop(torch.ones(400, 50))
    assert abs((out == 0).float().mean().item() - 0.3) < 0.01
    np.testing.assert_allclose(out[out != 0].numpy(), 1 / 0.7, rtol=1e-6)
    # one sample: the same mask alone as in its batch, a new one at every call
    drop.calls, drop.offsets = 0, offsets[7:8]
    np.testing.assert_array_equal(drop(torch.ones(1, 50)).numpy(), out[7:8].numpy())
    masks = torch.stack([drop(torch.ones(1, 50))[0] == 0 for _ in range(200)])
    assert abs(masks.float().mean().item() - 0.3) < 0.02
    assert 0.2 < masks.float().mean(dim=0).min() and masks.float().mean(dim=0).max() < 0.4
    channels = _KeyedDropout(0.5, channelwise=True)
    channels.offsets = offsets
    per_channel = channels(torch.ones(400, 6, 3, 3)).flatten(start_dim=2)
    assert (per_channel.min(dim=2).values == per_channel.max(dim=2).values).all()
    # a sample's key is its content: the same in any batch
    x = torch.randn(10, 3)
    assert torch.equal(_sample_keys(x)[3:4], _sample_keys(x[3:4]))


def test_mc_dropout_needs_dropout_modules(digits):
    X_train, _, _, _ = digits
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    with pytest.raises(ValueError, match="needs dropout modules.*MSPDetector"):
        MCDropoutDetector(net).fit(X_train[:10])


# -------------------------------------------------------- Outlier Exposure


def test_outlier_exposure_loss_is_cross_entropy_plus_the_uniform_term():
    torch.manual_seed(0)
    logits_id, y = torch.randn(5, 4), torch.tensor([0, 1, 2, 3, 1])
    uniform = torch.full((3, 4), 0.7)  # every class equally likely
    target = torch.cat([y, torch.full((3,), OUTLIER_LABEL)])
    loss = OutlierExposureLoss(lam=0.5)
    cross_entropy = F.cross_entropy(logits_id, y)
    torch.testing.assert_close(loss(torch.cat([logits_id, uniform]), target), cross_entropy)
    # Hendrycks et al.'s term: cross-entropy from the uniform distribution, minus log K
    logits_out = torch.randn(3, 4)
    hendrycks = -torch.log_softmax(logits_out, dim=1).mean(dim=1).mean()
    torch.testing.assert_close(
        loss(torch.cat([logits_id, logits_out]), target),
        cross_entropy + 0.5 * (hendrycks - math.log(4)),
    )
    torch.testing.assert_close(loss(logits_id, y), cross_entropy)
    assert loss(logits_out, torch.full((3,), OUTLIER_LABEL)).item() > 0


@pytest.fixture(scope="module")
def blobs():
    """Three Gaussian classes in 2-D, auxiliary uniform outliers, held-out far OoD points."""
    rng = np.random.RandomState(0)
    centres = np.array([[0.0, 3.0], [-2.6, -1.5], [2.6, -1.5]])
    labels = rng.randint(0, 3, size=600)
    X = (centres[labels] + 0.5 * rng.normal(size=(600, 2))).astype(np.float32)
    aux = rng.uniform(-10, 10, size=(600, 2)).astype(np.float32)
    ood = rng.uniform(-10, 10, size=(2000, 2)).astype(np.float32)
    far = np.linalg.norm(ood[:, None] - centres[None], axis=2).min(axis=1) > 3
    return X[:300], labels[:300], X[300:], aux, ood[far][:300]


def test_outlier_exposure_training_lowers_the_confidence_on_outliers(blobs):
    X, y, X_test, aux, ood = blobs
    settings = dict(module__in_features=2, module__out_features=3, lr=0.01, max_epochs=20,
                    batch_size=128)
    plain = train_classifier(MLP, X, y, **settings)
    exposed = train_outlier_exposure(MLP, X, y, aux, **settings)
    assert isinstance(exposed.criterion_, OutlierExposureLoss)
    assert (exposed.predict(X) == y).mean() > 0.95  # still a classifier
    msp_plain = MSPDetector(plain).fit(X)
    msp_exposed = MSPDetector(exposed).fit(X)
    assert msp_exposed.score_samples(X_test).mean() > 0.8
    assert msp_exposed.score_samples(aux).mean() < msp_exposed.score_samples(X_test).mean() - 0.3
    auc_exposed = auroc(msp_exposed.score_samples(X_test), msp_exposed.score_samples(ood))
    auc_plain = auroc(msp_plain.score_samples(X_test), msp_plain.score_samples(ood))
    assert auc_exposed > 0.95 and auc_exposed > auc_plain + 0.1


def test_outlier_exposure_fine_tunes_a_trained_net_in_place(blobs):
    X, y, X_test, aux, ood = blobs
    net = train_classifier(MLP, X, y, module__in_features=2, module__out_features=3,
                           lr=0.01, max_epochs=20, batch_size=128)
    before = auroc(*(MSPDetector(net).fit(X).score_samples(d) for d in (X_test, ood)))
    tuned = train_outlier_exposure(net, X, y, aux, lr=0.01, max_epochs=10, batch_size=128)
    assert tuned.module_ is net.module_
    after = auroc(*(MSPDetector(tuned).fit(X).score_samples(d) for d in (X_test, ood)))
    assert after > max(0.9, before + 0.3)
    with pytest.raises(ValueError, match="X_outliers must be shaped like"):
        train_outlier_exposure(MLP, X, y, aux[:, :1], module__in_features=2)


# ------------------------------------------------ FSSD network ensemble


def test_fssd_ensemble_of_one_network_is_that_network(trained_cnn, digits):
    X_train, _, X_test, _ = digits
    alone = FSSDDetector(trained_cnn, random_state=0).fit(X_train[:300])
    listed = FSSDDetector([trained_cnn], random_state=0).fit(X_train[:300])
    assert isinstance(listed.model_, list) and len(listed.model_) == 1
    np.testing.assert_array_equal(listed.layer_scores(X_test), alone.layer_scores(X_test))
    np.testing.assert_array_equal(listed.score_samples(X_test), alone.score_samples(X_test))


def test_fssd_ensemble_averages_each_layer_over_the_networks(cnn_ensemble, digits, digits_ood):
    X_train, _, X_test, _ = digits
    nets = cnn_ensemble[:2]
    det = FSSDDetector(nets, random_state=0).fit(X_train[:300])
    singles = [FSSDDetector(net, random_state=0).fit(X_train[:300]) for net in nets]
    assert len(det.singularities_) == 2 and len(det.singularities_[0]) == 4
    np.testing.assert_allclose(
        det.layer_scores(X_test[:100]),
        np.mean([s.layer_scores(X_test[:100]) for s in singles], axis=0),
        rtol=1e-6,
    )
    assert auroc(det.score_samples(X_test), det.score_samples(digits_ood)) > 0.9
    # clone keeps the networks, pickling keeps the scores
    assert clone(det).model is nets
    loaded = pickle.loads(pickle.dumps(det))
    np.testing.assert_array_equal(loaded.score_samples(X_test[:50]), det.score_samples(X_test[:50]))


def test_fssd_ensemble_needs_the_same_layers_in_every_network(trained_cnn, digits):
    X_train, _, _, _ = digits
    other = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    with pytest.raises(ValueError, match="different layers.*network 1"):
        FSSDDetector([trained_cnn, other]).fit(X_train[:20])
    with pytest.raises(ValueError, match="empty list"):
        FSSDDetector([]).fit(X_train[:20])


# ----------------------------------------- behaviour on digits vs noise


@pytest.mark.parametrize(
    "make, fit_params, floor",
    [
        (lambda net: MSPDetector(net), {}, 0.93),
        (lambda net: ODINDetector(net, temperature=1000.0, epsilon=0.0014), {}, 0.97),
        (lambda net: EnergyDetector(net), {}, 0.95),
        (lambda net: MCDropoutDetector(net, n_passes=8, random_state=0), {}, 0.93),
        (lambda net: MahalanobisDetector(net), {"class_labels": True}, 0.99),
    ],
    ids=["msp", "odin", "energy", "mc_dropout", "mahalanobis"],
)
def test_auroc_floor_against_uniform_noise(
    trained_cnn, digits, digits_ood, make, fit_params, floor
):
    X_train, y_train, X_test, _ = digits
    noise = digits_ood[:300]
    det = make(trained_cnn).fit(X_train, **({"class_labels": y_train} if fit_params else {}))
    assert auroc(det.score_samples(X_test), det.score_samples(noise)) > floor
    assert (det.predict(X_test) == 1).mean() > 0.85


def test_deep_ensemble_beats_its_members_on_noise(cnn_ensemble, digits, digits_ood):
    X_train, _, X_test, _ = digits
    noise = digits_ood[:300]
    det = DeepEnsembleDetector(cnn_ensemble).fit(X_train)
    ensemble_auc = auroc(det.score_samples(X_test), det.score_samples(noise))
    members = [MSPDetector(net).fit(X_train) for net in cnn_ensemble]
    member_aucs = [auroc(m.score_samples(X_test), m.score_samples(noise)) for m in members]
    assert ensemble_auc > 0.95 and ensemble_auc >= np.mean(member_aucs)


def test_mahalanobis_stack_on_validation_labels(trained_cnn, digits, digits_ood):
    X_train, y_train, X_test, _ = digits
    X_fit = np.concatenate([X_train, digits_ood[::2]])
    y_fit = np.r_[np.ones(len(X_train)), -np.ones(len(digits_ood[::2]))]
    classes = np.r_[y_train, np.zeros(len(digits_ood[::2]), dtype=int)]
    det = MahalanobisDetector(trained_cnn, random_state=0).fit(X_fit, y_fit, class_labels=classes)
    assert det.layers_ == ["conv1", "conv2", "fc1", "fc2"]
    # each layer enters with its square, the flexibility of FSSD's stack
    assert det.combiner_.regression_.coef_.shape == (1, 8)
    assert auroc(det.score_samples(X_test), det.score_samples(digits_ood[1::2])) > 0.99


# --------------------------------------------------- the shared contract

DETECTORS = {
    "msp": lambda net: MSPDetector(net),
    "odin": lambda net: ODINDetector(net, temperature=10.0, epsilon=0.01),
    "energy": lambda net: EnergyDetector(net),
    "mahalanobis": lambda net: MahalanobisDetector(net, epsilon=0.01, random_state=0),
    "deep_ensemble": lambda net: DeepEnsembleDetector([net, net]),
    "mc_dropout": lambda net: MCDropoutDetector(net, n_passes=4, random_state=0),
}


@pytest.mark.parametrize("name", DETECTORS)
def test_user_module_is_left_exactly_as_it_was(digits, name):
    X_train, y_train, X_test, _ = digits
    torch.manual_seed(0)
    module = SmallCNN()
    module.train()  # training mode: BatchNorm would update its statistics
    module.fc2.weight.requires_grad_(False)
    with torch.no_grad():
        module.bn1.running_mean.fill_(0.3)
    before = model_snapshot(module)
    det = DETECTORS[name](module)
    det.fit(X_train[:60], **({"class_labels": y_train[:60]} if name == "mahalanobis" else {}))
    det.score_samples(X_test[:30])
    det.predict(X_test[:30])
    assert_same_snapshot(before, model_snapshot(module))
    assert module.training and module.drop.training


@pytest.mark.parametrize("name", DETECTORS)
def test_user_hooks_never_fire_in_the_detectors_passes(digits, name):
    X_train, y_train, X_test, _ = digits
    torch.manual_seed(0)

    def run(module):
        det = DETECTORS[name](module)
        det.fit(X_train[:60], **({"class_labels": y_train[:60]} if name == "mahalanobis" else {}))
        det.score_samples(X_test[:20])
        return det

    assert_user_hooks_stay_with_the_user(SmallCNN().eval(), run)


@pytest.mark.parametrize("name", DETECTORS)
def test_pickle_and_clone_give_identical_scores(trained_cnn, digits, name):
    X_train, _, X_test, _ = digits
    det = DETECTORS[name](trained_cnn).fit(X_train[:150])
    scores = det.score_samples(X_test[:40])
    loaded = pickle.loads(pickle.dumps(det))
    np.testing.assert_array_equal(loaded.score_samples(X_test[:40]), scores)
    np.testing.assert_array_equal(loaded.predict(X_test[:40]), det.predict(X_test[:40]))
    cloned = clone(det)
    assert cloned.model is det.model and not hasattr(cloned, "offset_")
    np.testing.assert_array_equal(cloned.fit(X_train[:150]).score_samples(X_test[:40]), scores)


def softmax_rounding_bound(det, net, X):
    """How far float32 rounding of the logits z may move the maximum softmax probability.

    With p = softmax(z / T), dp_i = p_i sum_j p_j (dz_i - dz_j) / T, so |dp_i| <=
    2 p_i (1 - p_i) max|dz| / T <= max|dz| / (2 T), and max|dz| <= FEATURE_ROUNDING * max|z|;
    times 2 for the logits of the pre-processed input (ODIN) and of the dropout passes (MC
    Dropout, whose kept units are scaled by 1 / (1 - p) = 1.4 here) instead of z's.
    """
    temperature = getattr(det, "temperature_", 1.0)
    return FEATURE_ROUNDING * np.abs(logits_of(net, X)).max(axis=1) / temperature


def mahalanobis_rounding_bound(det, X, layer_scores):
    """How far float32 rounding of the features may move each layer's d^2 and the score.

    Each element of a change e of the features f is at most r = FEATURE_ROUNDING * max|f|
    (twice that with pre-processing), so the squared distance to the closest class,
    d^2 = (f - mu)^T P (f - mu), moves by at most r ||2 P (f - mu)||_1 + r^2 sum|P_ij|. An
    ill-conditioned covariance makes that large (P keeps variances down to n_features * eps32
    times the largest): float64 cannot help, the features come rounded. The "mean"
    combination scores minus the mean of (log d_k - centre_k) / scale_k over the layers, which
    moves by the mean of dd_k^2 / (2 d_k^2 scale_k), d_k^2 = -layer_scores as scored.
    """
    features = tapped_features(det.model_, det.layers_, X, pooling=det.pooling_)
    layer_bound = []
    for f, means, precision in zip(features, det.means_, det.precisions_):
        closest = class_mahalanobis(f, means, precision).argmin(dim=1)
        sensitivity = (2 * (f - means[closest]) @ precision).abs().sum(dim=1)
        r = (2 if det.epsilon_ else 1) * FEATURE_ROUNDING * f.abs().amax(dim=1)
        layer_bound.append((r * sensitivity + r**2 * precision.abs().sum()).numpy())
    layer_bound = np.stack(layer_bound, axis=1)
    score_bound = (layer_bound / (-2 * layer_scores) / det.combiner_.scale_).mean(axis=1)
    return layer_bound, score_bound


@pytest.mark.parametrize("name", ["odin", "mahalanobis", "mc_dropout"])
def test_scores_do_not_depend_on_the_batch(trained_cnn, digits, name):
    X_train, _, X_test, _ = digits
    det = DETECTORS[name](trained_cnn).set_params(batch_size=256).fit(X_train[:150])
    X = X_test[:40]
    full = det.score_samples(X)
    if name == "mahalanobis":
        assert det.combine_ == "mean"
        full_layers = det.layer_scores(X)
        layer_bound, bound = mahalanobis_rounding_bound(det, X, full_layers)
    else:
        bound = softmax_rounding_bound(det, trained_cnn, X)
    det.set_params(batch_size=7)
    assert_within(det.score_samples(X), full, bound)
    if name == "mahalanobis":
        assert_within(det.layer_scores(X), full_layers, layer_bound)
    alone = np.concatenate([det.score_samples(X_test[i : i + 1]) for i in (0, 13, 39)])
    assert_within(alone, full[[0, 13, 39]], bound[[0, 13, 39]])


@pytest.mark.parametrize(
    "name, param, value",
    [
        ("msp", "logits_layer", "fc1"),
        ("odin", "temperature", 1.0),
        ("odin", "epsilon", 0.0),
        ("energy", "temperature", 10.0),
        ("mahalanobis", "epsilon", 0.0),
        ("mahalanobis", "pooling", "flatten"),
        ("mc_dropout", "n_passes", 2),
        ("mc_dropout", "statistic", "variance"),
    ],
)
def test_set_params_after_fit_takes_effect_at_the_next_fit(trained_cnn, digits, name, param, value):
    X_train, _, X_test, _ = digits
    det = DETECTORS[name](trained_cnn).fit(X_train[:150])
    scores = det.score_samples(X_test[:30])
    det.set_params(**{param: value})  # offset_ (and the stack) were fitted at the old value
    np.testing.assert_array_equal(det.score_samples(X_test[:30]), scores)
    assert getattr(det, f"{param}_") != value
    refitted = det.fit(X_train[:150])
    assert getattr(refitted, f"{param}_") == value
    assert not np.allclose(refitted.score_samples(X_test[:30]), scores)


@pytest.mark.parametrize("name", DETECTORS)
def test_pyod_labels_are_refused_by_every_detector(trained_cnn, digits, name):
    X_train, _, _, _ = digits
    det = DETECTORS[name](trained_cnn)
    with pytest.raises(ValueError, match=rf"{type(det).__name__}\.fit reads y as \+1 .*"
                       r"np.where\(y == 1, -1, 1\)"):
        det.fit(X_train[:40], np.r_[np.zeros(20), np.ones(20)])


def test_contamination_sets_the_share_flagged_in_training(trained_cnn, digits):
    X_train, _, _, _ = digits
    det = EnergyDetector(trained_cnn, contamination=0.1).fit(X_train)
    assert abs((det.predict(X_train) == -1).mean() - 0.1) < 0.01
    auto = EnergyDetector(trained_cnn).fit(X_train)  # keeps 95 % of the ID fit data
    assert abs((auto.predict(X_train) == 1).mean() - 0.95) < 0.01


def test_grid_search_over_odin_temperature_and_epsilon(trained_cnn, digits, digits_ood):
    _, _, X_test, _ = digits
    X_val = np.concatenate([X_test[:300], digits_ood[:300]])
    y_val = np.r_[np.ones(300), -np.ones(300)]
    search = GridSearchCV(
        ODINDetector(trained_cnn),
        {"temperature": [1.0, 1000.0], "epsilon": [0.0, 0.002]},
        scoring="roc_auc",
        cv=StratifiedKFold(3, shuffle=True, random_state=0),
    ).fit(X_val, y_val)
    assert search.best_params_["temperature"] == 1000.0
    assert search.best_score_ > 0.97
    assert (search.predict(digits_ood[300:]) == -1).mean() > 0.5


def test_grid_search_splits_mahalanobis_class_labels(trained_cnn, digits, digits_ood):
    X_train, y_train, _, _ = digits
    X_val = np.concatenate([X_train[:300], digits_ood[:150]])
    y_val = np.r_[np.ones(300), -np.ones(150)]
    classes = np.r_[y_train[:300], np.zeros(150, dtype=int)]
    search = GridSearchCV(
        MahalanobisDetector(trained_cnn, random_state=0),
        {"epsilon": [0.0, 0.01]},
        scoring="roc_auc",
        cv=StratifiedKFold(2, shuffle=True, random_state=0),
    ).fit(X_val, y_val, class_labels=classes)
    assert search.best_score_ > 0.98


@pytest.mark.parametrize(
    "make",
    [
        lambda module, eps: ODINDetector(module, temperature=2.0, epsilon=eps),
        lambda module, eps: MahalanobisDetector(module, epsilon=eps, combine="last"),
    ],
    ids=["odin", "mahalanobis"],
)
def test_token_sequences_are_perturbed_in_embedding_space(make):
    torch.manual_seed(0)
    module = TinyLSTM()
    X = np.random.RandomState(0).randint(0, 4, size=(60, 12))
    plain = make(module, 0.0).fit(X)
    perturbed = make(module, 0.01).fit(X)
    assert perturbed.tokens_
    assert (perturbed.score_samples(X[:10]) > plain.score_samples(X[:10])).all()


def _strand_net(seed=0):
    """A network of DNA token ids (A, C, G, T, N), with dropout, that reads the two strands
    differently."""
    from sklearn_fssd.models import GenomeLSTM

    torch.manual_seed(seed)
    return GenomeLSTM(num_classes=3, embedding_dim=4, conv_channels=4, hidden_size=4,
                      dropout=0.3)


def _strand_detector(name):
    # a Deep Ensemble of two different networks: each network reads each strand
    if name == "deep_ensemble":
        return DeepEnsembleDetector([_strand_net(0), _strand_net(1)])
    return DETECTORS[name](_strand_net())


@pytest.mark.parametrize("name", DETECTORS)
def test_both_strands_average_a_sequence_and_its_reverse_complement(name):
    from sklearn_fssd.genomes import reverse_complement

    X = np.random.RandomState(0).randint(0, 5, size=(40, 30))
    rc = reverse_complement(X)
    kwargs = {"class_labels": np.arange(40) % 3} if name == "mahalanobis" else {}
    one = _strand_detector(name).fit(X, **kwargs)
    both = _strand_detector(name).set_params(both_strands=True).fit(X, **kwargs)
    assert not np.allclose(one.score_samples(X), one.score_samples(rc))
    # a fragment and its reverse complement are the same molecule: the same score
    np.testing.assert_allclose(both.score_samples(X), both.score_samples(rc), rtol=1e-6)
    if name == "mahalanobis":  # the same Gaussians (one strand), each layer's score averaged
        np.testing.assert_allclose(
            both.layer_scores(X), (one.layer_scores(X) + one.layer_scores(rc)) / 2, rtol=1e-5)
    else:
        np.testing.assert_allclose(
            both.score_samples(X), (one.score_samples(X) + one.score_samples(rc)) / 2,
            rtol=1e-5, atol=1e-6)
    # set_params after fit takes effect at the next fit only
    before = both.score_samples(X)
    np.testing.assert_array_equal(both.set_params(both_strands=False).score_samples(X), before)


# ------------------------------------------------------------------ CUDA

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.mark.cuda
@needs_cuda
@pytest.mark.parametrize("name", DETECTORS)
def test_cuda_scores_match_cpu(trained_cnn, digits, name):
    X_train, _, X_test, _ = digits
    cpu = DETECTORS[name](trained_cnn).fit(X_train[:150])
    gpu = DETECTORS[name](trained_cnn).set_params(device="cuda").fit(X_train[:150])
    assert gpu.device_.type == "cuda"
    close = np.isclose(gpu.score_samples(X_test), cpu.score_samples(X_test), rtol=1e-3, atol=1e-4)
    # a gradient component that rounds to the other sign moves one input's step
    assert close.mean() > 0.98


# ------------------------------------------------------------------ errors


def test_deep_ensemble_needs_a_list_of_networks_with_the_same_classes(trained_cnn, digits):
    X_train, _, _, _ = digits
    with pytest.raises(ValueError, match="'model' parameter of DeepEnsembleDetector must be"):
        DeepEnsembleDetector(trained_cnn).fit(X_train[:10])
    five = nn.Sequential(nn.Flatten(), nn.Linear(64, 5))
    with pytest.raises(ValueError, match="disagree on the number of classes.*10 logits.*5"):
        DeepEnsembleDetector([trained_cnn, five]).fit(X_train[:10])


def test_a_network_with_one_output_is_not_a_classifier(digits):
    X_train, _, _, _ = digits
    with pytest.raises(ValueError, match="at least 2 logits.*logits_layer="):
        MSPDetector(nn.Sequential(nn.Flatten(), nn.Linear(64, 1))).fit(X_train[:10])


def test_negative_temperature_is_refused(trained_cnn, digits):
    with pytest.raises(ValueError, match="'temperature' parameter of ODINDetector must be"):
        ODINDetector(trained_cnn, temperature=0.0).fit(digits[0][:10])


# ------------------------------------------- inputs a hostile tester tries


def _summing_classifier():
    """Logits c * (sum of the pixels) for classes c = 1, 2, 3: a row of 1e38 is a float32
    input whose logits overflow."""
    net = nn.Sequential(nn.Flatten(), nn.Dropout(0.1), nn.Linear(64, 3))
    with torch.no_grad():
        net[2].weight.copy_(torch.arange(1.0, 4.0)[:, None].expand(3, 64))
        net[2].bias.zero_()
    return net


@pytest.mark.parametrize("name", [*DETECTORS, "mahalanobis stack"])
def test_rows_that_overflow_score_lowest_and_leave_the_other_rows_alone(digits, digits_ood,
                                                                         name):
    X_train, _, X_test, _ = digits
    net = _summing_classifier()
    if name == "mahalanobis stack":
        det = MahalanobisDetector(net, random_state=0).fit(
            np.vstack([X_train[:100], digits_ood[:100]]), np.r_[np.ones(100), -np.ones(100)]
        )
        assert det.combine_ == "stack"
    else:
        det = DETECTORS[name](net).fit(X_train[:100])
    X = X_test[:6].astype(np.float64)
    X[2] = 1e38  # a float32 input whose logits overflow
    X[4, 0, 3, 3] = -1e39  # beyond float32
    assert_unscorable_rows_are_ood(det, X, [2, 4])


@pytest.mark.parametrize("name", DETECTORS)
def test_fit_refuses_values_beyond_float32_and_overflowing_networks(digits, name):
    X_train = digits[0][:40].astype(np.float64)
    X_train[5, 0, 1, 1] = 1e39
    with pytest.raises(ValueError, match=r"beyond the float32 range.*first row 5.*StandardScaler"):
        DETECTORS[name](_summing_classifier()).fit(X_train)
    X_train[5] = 1e38
    with pytest.raises(ValueError, match=r"overflow float32 \(inf or NaN\).*first row 5"):
        DETECTORS[name](_summing_classifier()).fit(X_train)


@pytest.mark.parametrize("name", DETECTORS)
def test_fit_names_the_input_shape_the_network_expects(trained_cnn, digits, name):
    X = digits[0][:20]
    with pytest.raises(ValueError, match=r"X has shape \(20, 8, 8, 1\).*SmallCNN.*"
                                         r"X.transpose\(0, 3, 1, 2\)"):
        DETECTORS[name](trained_cnn).fit(X.transpose(0, 2, 3, 1))
    det = DETECTORS[name](trained_cnn).fit(X)
    with pytest.raises(ValueError, match=r"samples of shape \(64,\).*X.reshape\(-1, 1, 8, 8\)"):
        det.score_samples(X.reshape(20, -1))


def test_token_ids_outside_the_embedding_are_refused_at_scoring():
    torch.manual_seed(0)
    X = np.random.RandomState(0).randint(0, 4, size=(30, 12))
    det = EnergyDetector(TinyLSTM()).fit(X)
    with pytest.raises(ValueError, match=r"Token ids must lie in \[0, 4\).*'embedding'.*"
                                         r"values in \[1, 7\]"):
        det.predict(X[:3] * 2 + 1)


def test_a_network_returning_a_dict_is_named_and_logits_layer_reads_inside_it(digits):
    class DictNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.head = nn.Sequential(nn.Flatten(), nn.Linear(64, 3))

        def forward(self, x):
            return {"logits": self.head(x)}

    X = digits[0][:20]
    with pytest.raises(TypeError, match=r"The output of the whole network DictNet is a dict "
                                        r"with keys \['logits'\].*logits_layer=.*"
                                        r"model\(x\)\['logits'\]"):
        MSPDetector(DictNet()).fit(X)
    assert MSPDetector(DictNet(), logits_layer="head").fit(X).score_samples(X).shape == (20,)


def test_mahalanobis_guarded_stack_keeps_flagging_kinds_the_stack_never_saw(trained_cnn, digits):
    # the stack sees pixel-shuffled digits only; uniform noise is a kind it never saw
    X_train, y_train, X_test, _ = digits
    shuffled = permuted_pixels(X_train[300:500])
    X = np.concatenate([X_train[:300], shuffled])
    y = np.r_[np.ones(300, int), -np.ones(len(shuffled), int)]
    classes = np.r_[y_train[:300], np.zeros(len(shuffled), int)]
    noise = np.random.RandomState(3).uniform(0, 1, size=(300, 1, 8, 8)).astype(np.float32)
    flagged = {}
    for combine in ("stack", "guarded_stack", "typical_stack"):
        det = MahalanobisDetector(trained_cnn, combine=combine, random_state=0)
        det.fit(X, y, class_labels=classes)
        flagged[combine] = (det.predict(noise) == -1).mean()
        assert (det.predict(X_test) == 1).mean() > 0.8
        if combine == "typical_stack":  # larger distances only ever count against ID
            assert (det.combiner_.regression_.coef_ >= 0).all()
            assert (det.score_samples(X_test[:20] * 10) < det.offset_).all()
    assert flagged["guarded_stack"] >= 0.99 and flagged["typical_stack"] >= 0.99
    assert flagged["guarded_stack"] >= flagged["stack"]
