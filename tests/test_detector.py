"""Behaviour of FSSDDetector that users rely on."""

import copy
import functools
import io
import pickle
import threading

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn
from torch.nn.utils import prune

from sklearn_fssd import FSSDDetector
from sklearn_fssd._validation import LOWEST_SCORE
from sklearn_fssd.features import FeatureTap

from conftest import SmallCNN, permuted_pixels

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def auroc(id_scores, ood_scores):
    """AUROC with in-distribution as the positive class."""
    y = np.r_[np.ones(len(id_scores)), np.zeros(len(ood_scores))]
    return roc_auc_score(y, np.r_[id_scores, ood_scores])


#: How far float32 rounding moves a sample's features between batch shapes, as a share of
#: the largest element of its feature vector. In a batch of another shape, or with another
#: number of BLAS threads, the network may run another kernel, which sums each dot product in
#: another order; over K terms the rounding errors add up like a random walk, to about sqrt(K)
#: units in the last place. The longest sums here have K = 256 terms (SmallCNN's fc1):
#: sqrt(256) * 2**-24 = 2**-20 (measured on SmallCNN: at most 4.6e-7, at 1 and 2 threads).
#: The batch tests derive each score's tolerance from it; a step of input pre-processing
#: (epsilon > 0) changes the features it applies to, which a factor 2 covers.
FEATURE_ROUNDING = 2.0**-20


def tapped_features(network, layers, X, pooling="flatten"):
    """The features of each layer of ``network`` as a detector's taps read them (float64)."""
    with torch.no_grad():
        features = FeatureTap(network, layers, pooling=pooling)(torch.as_tensor(X))
    return [f.double() for f in features]


def assert_within(actual, desired, bound):
    """``|actual - desired| <= bound``, element-wise, for a bound per element."""
    excess = np.abs(np.asarray(actual) - desired) / np.maximum(bound, 1e-300)
    assert (excess <= 1).all(), (
        f"{int((excess > 1).sum())} of {excess.size} values differ by more than their rounding "
        f"bound (up to {excess.max():.3g} times it)"
    )


def model_snapshot(module):
    return {
        "state": {k: v.detach().clone() for k, v in module.state_dict().items()},
        "training": {name: m.training for name, m in module.named_modules()},
        "requires_grad": {name: p.requires_grad for name, p in module.named_parameters()},
        "grads": {
            name: None if p.grad is None else p.grad.clone() for name, p in module.named_parameters()
        },
        "hooks": sum(len(m._forward_hooks) for m in module.modules()),
        "device": {p.device for p in module.parameters()},
    }


def assert_same_snapshot(before, after):
    assert before["training"] == after["training"]
    assert before["requires_grad"] == after["requires_grad"]
    for name, grad in before["grads"].items():
        other = after["grads"][name]
        assert (grad is None and other is None) or torch.equal(grad, other), name
    assert before["hooks"] == after["hooks"]
    assert before["device"] == after["device"]
    assert before["state"].keys() == after["state"].keys()
    for key, value in before["state"].items():
        assert torch.equal(value, after["state"][key]), key


# ---------------------------------------------------------------- tables


@pytest.fixture(scope="module")
def table():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(600, 5))
    X[:, 1] = 2 * X[:, 0] + 0.1 * X[:, 1]  # structure the network can learn
    return X[:400], X[400:]


@pytest.fixture(scope="module")
def table_detector(table):
    X_train, _ = table
    return FSSDDetector(max_epochs=20, random_state=0).fit(X_train)


def test_default_network_needs_no_labels_and_detects_novel_classes():
    # wine: class 0 is in-distribution, the other cultivars are novelties
    from sklearn.datasets import load_wine

    X, y = load_wine(return_X_y=True)
    rng = np.random.RandomState(0)
    X_id = X[y == 0][rng.permutation((y == 0).sum())]
    scaler = StandardScaler().fit(X_id[:40])
    det = FSSDDetector(random_state=0).fit(scaler.transform(X_id[:40]))
    assert det.combine_ == "typical"
    assert det.layers_ == ["net.fc1", "net.fc2", "net.out"]
    assert auroc(det.score_samples(scaler.transform(X_id[40:])),
                 det.score_samples(scaler.transform(X[y != 0]))) > 0.9


def test_synthetic_stack_separates_uniform_noise_on_tables(table):
    X_train, X_test = table
    noise = np.random.RandomState(3).uniform(X_test.min(0), X_test.max(0), size=X_test.shape)
    det = FSSDDetector(combine="stack", max_epochs=20, random_state=0).fit(X_train)
    assert det.combine_ == "stack"
    assert auroc(det.score_samples(X_test), det.score_samples(noise)) > 0.75


@pytest.mark.parametrize("transform", [lambda X: 100 * X, lambda X: X + 1e3, lambda X: -50 * X])
def test_inputs_far_outside_the_training_range_are_flagged(table, table_detector, transform):
    # FSSD alone calls these in-distribution (their features are far from F*);
    # the detector must not.
    _, X_test = table
    far = transform(X_test)
    assert (table_detector.predict(far) == -1).mean() > 0.95
    assert np.median(table_detector.score_samples(far)) < np.median(
        table_detector.score_samples(X_test)
    )


def test_plain_fssd_calls_far_inputs_in_distribution(table, table_detector):
    # Why far_outliers exists: the raw distance grows with the input norm.
    _, X_test = table
    raw_id = table_detector.layer_scores(X_test)
    raw_far = table_detector.layer_scores(100 * X_test)
    assert (np.median(raw_far, axis=0) > np.median(raw_id, axis=0)).all()


def test_predict_and_decision_function_follow_sklearn_conventions(table, table_detector):
    _, X_test = table
    pred = table_detector.predict(X_test)
    assert set(np.unique(pred)) <= {-1, 1}
    assert pred.dtype.kind == "i"
    decision = table_detector.decision_function(X_test)
    np.testing.assert_allclose(
        decision, table_detector.score_samples(X_test) - table_detector.offset_
    )
    np.testing.assert_array_equal(pred, np.where(decision < 0, -1, 1))
    assert (pred == 1).mean() > 0.8


@pytest.mark.parametrize("contamination", [0.05, 0.2])
def test_contamination_sets_the_share_flagged_in_training(table, contamination):
    X_train, _ = table
    det = FSSDDetector(max_epochs=5, contamination=contamination, random_state=0).fit(X_train)
    flagged = (det.predict(X_train) == -1).mean()
    assert abs(flagged - contamination) < 0.02


def test_random_state_makes_fit_reproducible(table):
    X_train, X_test = table
    a = FSSDDetector(max_epochs=5, random_state=7).fit(X_train).score_samples(X_test)
    b = FSSDDetector(max_epochs=5, random_state=7).fit(X_train).score_samples(X_test)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("combine", ["typical", "mean"])
def test_auto_offset_keeps_most_training_data(table, combine):
    X_train, X_test = table
    det = FSSDDetector(max_epochs=5, combine=combine, random_state=0).fit(X_train)
    assert (det.predict(X_test) == 1).mean() > 0.9


def test_mean_combination_needs_no_stack(table):
    X_train, X_test = table
    det = FSSDDetector(max_epochs=5, combine="mean", random_state=0).fit(X_train)
    assert not hasattr(det.combiner_, "regression_")
    layer = det.layer_scores(X_test)
    z = (np.log(layer) - det.combiner_.centre_) / det.combiner_.scale_
    np.testing.assert_allclose(det.score_samples(X_test), z.mean(axis=1))


def test_works_in_a_pipeline_with_a_dataframe_free_of_warnings(table, recwarn):
    pd = pytest.importorskip("pandas")
    X_train, X_test = table
    cols = [f"f{i}" for i in range(X_train.shape[1])]
    pipe = make_pipeline(StandardScaler(), FSSDDetector(max_epochs=3, random_state=0))
    pipe.fit(pd.DataFrame(X_train, columns=cols))
    scores = pipe.score_samples(pd.DataFrame(X_test, columns=cols))
    assert scores.shape == (len(X_test),)
    assert not [w for w in recwarn if "feature names" in str(w.message)]


# ---------------------------------------------------------------- images


@pytest.fixture(scope="module")
def image_detector(trained_cnn, digits):
    X_train, _, _, _ = digits
    return FSSDDetector(trained_cnn, random_state=0).fit(X_train)


def test_auto_layers_of_a_plain_cnn(image_detector):
    assert image_detector.layers_ == ["conv1", "conv2", "fc1", "fc2"]


def test_unsupervised_fit_detects_noise_and_shuffled_digits(image_detector, digits, digits_ood):
    _, _, X_test, _ = digits
    assert auroc(image_detector.score_samples(X_test), image_detector.score_samples(digits_ood)) > 0.9


def test_layer_scores_are_fssd_distances(image_detector, digits):
    _, _, X_test, _ = digits
    scores = image_detector.layer_scores(X_test[:20])
    assert scores.shape == (20, 4)
    # recompute the last layer by hand: logits minus the singularity
    module = image_detector.model_
    with torch.no_grad():
        logits = module(torch.from_numpy(X_test[:20]))
    expected = torch.linalg.vector_norm(logits - image_detector.singularities_[-1], dim=1)
    np.testing.assert_allclose(scores[:, -1], expected.numpy(), rtol=1e-5)


def test_supervised_stack_on_validation_labels(trained_cnn, digits, digits_ood):
    _, _, X_test, _ = digits
    X_val = np.concatenate([X_test[:300], digits_ood[::2]])
    y_val = np.r_[np.ones(300), -np.ones(len(digits_ood[::2]))]
    held_id, held_ood = X_test[300:], digits_ood[1::2]
    det = FSSDDetector(trained_cnn, random_state=0).fit(X_val, y_val)
    assert det.combine_ == "typical_stack"
    assert auroc(det.score_samples(held_id), det.score_samples(held_ood)) > 0.98
    # one non-negative weight per layer's atypicality, and one for the whole vector's
    assert det.combiner_.regression_.coef_.shape == (5,)
    assert (det.combiner_.regression_.coef_ >= 0).all()
    # the signed stacks: with squared terms (8 inputs), and the paper's plain linear one,
    # weaker here: early layers are two-sided
    signed = FSSDDetector(trained_cnn, combine="guarded_stack", random_state=0).fit(X_val, y_val)
    assert signed.combiner_.regression_.coef_.shape == (1, 8)
    plain = FSSDDetector(trained_cnn, combine="guarded_stack", far_outliers=False,
                         random_state=0).fit(X_val, y_val)
    assert auroc(plain.score_samples(held_id), plain.score_samples(held_ood)) > 0.9
    assert plain.combiner_.regression_.coef_.shape == (1, 4)


def test_epsilon_moves_in_distribution_away_from_the_singularity(trained_cnn, digits):
    _, _, X_test, _ = digits
    plain = FSSDDetector(trained_cnn, random_state=0).fit(X_test)
    pert = FSSDDetector(trained_cnn, epsilon=0.05, random_state=0).fit(X_test)
    # each layer's step increases that layer's distance
    assert (pert.layer_scores(X_test[:50]) > plain.layer_scores(X_test[:50])).all()
    # and is the paper's step, computed here by hand for every layer:
    # x~ = x + eps * sign(grad_x ||F_k(x) - F*_k||), score = ||F_k(x~) - F*_k||
    module = copy.deepcopy(trained_cnn.module_).eval()
    x = torch.from_numpy(X_test[:20]).requires_grad_(True)
    for k, layer in enumerate(pert.layers_):
        def features(inputs):
            captured = []
            handle = dict(module.named_modules())[layer].register_forward_hook(
                lambda mod, inp, out: captured.append(out))
            module(inputs)
            handle.remove()
            return captured[0].flatten(1)

        centre = pert.singularities_[k].reshape(1, -1)
        distance = (features(x) - centre).norm(dim=1)
        (grad,) = torch.autograd.grad(distance.sum(), x)
        with torch.no_grad():
            by_hand = (features(x + 0.05 * grad.sign()) - centre).norm(dim=1).numpy()
        np.testing.assert_allclose(pert.layer_scores(X_test[:20])[:, k], by_hand, rtol=1e-4)


def preprocessing_by_hand(network, layers, centres, x, epsilon, joint=False):
    """FSSD_k(x~) of each layer, the straightforward way: whole forward passes read by plain
    forward hooks. Per layer: x~_k = x + epsilon * sign(grad_x FSSD_k(x)), a forward pass with
    its graph, a backward pass and a forward pass for each layer. ``joint``: one
    x~ = x + epsilon * sign(grad_x sum_k FSSD_k(x)) for all layers."""
    modules = dict(network.named_modules())

    def distances(inputs):
        seen = {}

        def read(name):
            def hook(module, args, output):
                seen.setdefault(name, output.flatten(1))

            return hook

        handles = [modules[name].register_forward_hook(read(name)) for name in layers]
        try:
            network(inputs)
        finally:
            for handle in handles:
                handle.remove()
        return [(seen[name] - centre).norm(dim=1) for name, centre in zip(layers, centres)]

    def stepped(objective):
        x_var = x.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(objective(distances(x_var)).sum(), x_var)
        with torch.no_grad():
            return distances(x + epsilon * torch.sign(grad))

    if joint:
        columns = stepped(sum)
    else:
        columns = [stepped(lambda d, k=k: d[k])[k] for k in range(len(layers))]
    return torch.stack(columns, dim=1).numpy()


@pytest.mark.parametrize("epsilon, perturb", [(0.01, "per_layer"), (0.05, "per_layer"),
                                              (0.05, "joint")])
def test_preprocessing_scores_equal_the_straightforward_computation(
    trained_cnn, digits, epsilon, perturb
):
    # the detector shares one forward pass with its graph among the layers and stops each
    # perturbed pass at its layer; the scores must be those of one pass per layer and step
    X_train, _, X_test, _ = digits
    det = FSSDDetector(trained_cnn, epsilon=epsilon, perturb=perturb, batch_size=64,
                       random_state=0)
    det.fit(X_train[:100])
    x = torch.from_numpy(X_test[:64])
    expected = preprocessing_by_hand(det.model_, det.layers_, det.singularities_, x, epsilon,
                                     joint=perturb == "joint")
    np.testing.assert_allclose(det.layer_scores(X_test[:64]), expected, rtol=1e-6)
    plain = FSSDDetector(trained_cnn, random_state=0).fit(X_train[:100])
    # the steps move away from the singularities
    assert (expected.sum(axis=1) > plain.layer_scores(X_test[:64]).sum(axis=1)).mean() > 0.9
    if perturb == "joint":  # and the joint step is another step than the per-layer ones
        per_layer = preprocessing_by_hand(det.model_, det.layers_, det.singularities_, x,
                                          epsilon)
        assert not np.allclose(per_layer, expected, rtol=1e-3)


@pytest.mark.parametrize("epsilon", [0.0, 0.02])
def test_scores_do_not_depend_on_the_batch(trained_cnn, digits, epsilon):
    X_train, _, X_test, _ = digits
    det = FSSDDetector(trained_cnn, epsilon=epsilon, batch_size=256, random_state=0).fit(
        X_train[:200]
    )
    full = det.layer_scores(X_test[:40])
    # FSSD_k = ||F_k - F*_k|| moves by at most ||dF_k||, and each of the n_k elements of dF_k by
    # at most FEATURE_ROUNDING * max|F_k|
    margin = 2 if epsilon else 1
    bound = np.stack([
        margin * FEATURE_ROUNDING * f.abs().amax(dim=1).numpy() * np.sqrt(f.shape[1])
        for f in tapped_features(det.model_, det.layers_, X_test[:40])
    ], axis=1)
    det.set_params(batch_size=7)
    assert_within(det.layer_scores(X_test[:40]), full, bound)
    alone = np.vstack([det.layer_scores(X_test[i : i + 1]) for i in (0, 13, 39)])
    assert_within(alone, full[[0, 13, 39]], bound[[0, 13, 39]])


@pytest.mark.parametrize("param, value", [("epsilon", 0.05), ("pooling", "avg")])
def test_set_params_after_fit_takes_effect_at_the_next_fit(trained_cnn, digits, param, value):
    X_train, _, X_test, _ = digits
    det = FSSDDetector(trained_cnn, random_state=0).fit(X_train[:200])
    scores, layers = det.score_samples(X_test[:30]), det.layer_scores(X_test[:30])
    det.set_params(**{param: value})  # the stack and offset_ were fitted at the old value
    np.testing.assert_array_equal(det.score_samples(X_test[:30]), scores)
    np.testing.assert_array_equal(det.layer_scores(X_test[:30]), layers)
    assert getattr(det, f"{param}_") != value
    refitted = det.fit(X_train[:200])
    assert getattr(refitted, f"{param}_") == value
    assert not np.allclose(refitted.layer_scores(X_test[:30]), layers)


def test_avg_pooling_gives_channel_sized_features(trained_cnn, digits):
    X_train, _, _, _ = digits
    det = FSSDDetector(trained_cnn, layers=["conv1", "conv2"], pooling="avg", random_state=0)
    det.fit(X_train[:100])
    assert [c.shape[0] for c in det.singularities_] == [8, 16]


def test_singularity_from_given_ood_samples(trained_cnn, digits, digits_ood):
    X_train, _, _, _ = digits
    det = FSSDDetector(trained_cnn, layers="fc2", singularity=digits_ood[:100], random_state=0)
    det.fit(X_train)
    with torch.no_grad():
        module = copy.deepcopy(trained_cnn.module_).eval()  # the session fixture stays as it is
        expected = module(torch.from_numpy(digits_ood[:100])).mean(0)
    np.testing.assert_allclose(det.singularities_[0].numpy(), expected.numpy(), rtol=1e-4, atol=1e-5)


def test_noise_range_auto_is_global_for_images(image_detector, digits):
    X_train, _, _, _ = digits
    # the border pixels of digits are always 0: per-pixel ranges would collapse
    assert image_detector.noise_low_.min() == 0.0 == image_detector.noise_low_.max()
    assert image_detector.noise_high_.min() == X_train.max() == image_detector.noise_high_.max()


# ------------------------------------------------- the user's model is safe


def test_user_module_is_left_exactly_as_it_was(digits):
    X_train, _, X_test, _ = digits
    torch.manual_seed(0)
    module = SmallCNN()
    module.train()  # training mode: BatchNorm would update its statistics
    module.fc2.weight.requires_grad_(False)
    with torch.no_grad():
        module.bn1.running_mean.fill_(0.3)
    before = model_snapshot(module)
    det = FSSDDetector(module, epsilon=0.01, random_state=0).fit(X_train[:100])
    det.score_samples(X_test[:50])
    det.layer_scores(X_test[:50])
    assert_same_snapshot(before, model_snapshot(module))
    assert module.training


def test_skorch_net_is_left_exactly_as_it_was(trained_cnn, digits):
    X_train, _, X_test, _ = digits
    before = model_snapshot(trained_cnn.module_)
    history = len(trained_cnn.history)
    det = FSSDDetector(trained_cnn, epsilon=0.01, random_state=0).fit(X_train[:100])
    det.predict(X_test[:30])
    assert_same_snapshot(before, model_snapshot(trained_cnn.module_))
    assert len(trained_cnn.history) == history


class HookRecorder:
    """Hooks of every kind on every submodule of a user's network; each call is recorded.

    The hooks are methods of this object, which holds a lock: it cannot be
    deep-copied, so a detector that copied the user's hooks would fail.
    """

    KINDS = (
        "_forward_pre_hooks", "_forward_hooks", "_backward_pre_hooks", "_backward_hooks",
        "_state_dict_pre_hooks", "_state_dict_hooks", "_load_state_dict_pre_hooks",
        "_load_state_dict_post_hooks",
    )

    def __init__(self):
        self.calls = []
        self._lock = threading.Lock()

    def record(self, module, *args, **kwargs):
        with self._lock:
            self.calls.append(type(module).__name__)

    def attach(self, module):
        for sub in module.modules():
            sub.register_forward_pre_hook(self.record)
            sub.register_forward_pre_hook(self.record, with_kwargs=True)
            sub.register_forward_hook(self.record, always_call=True)
            sub.register_full_backward_pre_hook(self.record)
            sub.register_full_backward_hook(self.record)
            sub.register_state_dict_pre_hook(self.record)
            sub.register_state_dict_post_hook(functools.partial(self.record))  # takes attributes
            sub.register_load_state_dict_pre_hook(self.record)
            sub.register_load_state_dict_post_hook(self.record)
        return self

    @classmethod
    def counts(cls, module):
        return {kind: sum(len(getattr(m, kind)) for m in module.modules()) for kind in cls.KINDS}


def assert_user_hooks_stay_with_the_user(module, run):
    """``run(module)`` (fit and score a detector) never calls the hooks of ``module``, whose
    hooks are all still there and still fire; returns the fitted detector."""
    recorder = HookRecorder().attach(module)
    before = HookRecorder.counts(module)
    det = run(module)
    for network in det.model_ if isinstance(det.model_, list) else [det.model_]:
        network.state_dict()
        assert not any(HookRecorder.counts(network).values())
    assert recorder.calls == []
    assert HookRecorder.counts(module) == before
    module(torch.zeros((2, *det.input_shape_)))
    assert recorder.calls  # the user's network still calls its hooks
    return det


def test_user_hooks_never_fire_in_the_detectors_passes(digits):
    X_train, _, X_test, _ = digits
    torch.manual_seed(0)

    def run(module):
        det = FSSDDetector(module, epsilon=0.01, random_state=0).fit(X_train[:100])
        det.score_samples(X_test[:20])
        det.layer_scores(X_test[:20])
        return det

    assert_user_hooks_stay_with_the_user(SmallCNN().eval(), run)


def test_torch_own_hooks_still_run_in_the_private_copy(digits):
    X_train, _, X_test, _ = digits
    torch.manual_seed(0)
    module = SmallCNN().eval()
    prune.l1_unstructured(module.fc1, "weight", amount=0.5)  # a forward pre-hook of torch's
    x = torch.from_numpy(X_test[:20])
    with torch.no_grad():
        module(x)
        module.fc1.weight_orig.mul_(2.0)  # fc1.weight is stale until the hook recomputes it
    det = FSSDDetector(module, layers=["fc2"], random_state=0).fit(X_train[:100])
    with torch.no_grad():
        torch.testing.assert_close(det.model_(x), module(x))
    assert det.model_.fc1._forward_pre_hooks  # copied, bound to the copy


# ------------------------------------------------------------ sequences


class TinyLSTM(nn.Module):
    def __init__(self, vocab=4, dim=6, hidden=8, n_classes=2):
        super().__init__()
        self.embedding = nn.Embedding(vocab, dim)
        self.lstm = nn.LSTM(dim, hidden, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(2 * hidden, n_classes)

    def forward(self, x):
        out, _ = self.lstm(self.embedding(x))
        return self.fc(out.mean(dim=1))


def test_token_sequences_with_perturbation_in_embedding_space():
    torch.manual_seed(0)
    module = TinyLSTM()
    rng = np.random.RandomState(0)
    X = rng.randint(0, 4, size=(60, 12))
    det = FSSDDetector(module, epsilon=0.05, random_state=0).fit(X)
    assert det.tokens_ and det.layers_ == ["embedding", "lstm", "fc"]
    scores = det.layer_scores(X[:10])
    plain = FSSDDetector(module, random_state=0).fit(X).layer_scores(X[:10])
    assert scores.shape == (10, 3)
    assert (scores >= plain - 1e-6).all() and (scores > plain).any()
    with pytest.raises(ValueError, match="integer token ids"):
        det.score_samples(X[:5].astype(np.float64))


def test_both_strands_average_each_layer_and_the_classes_over_the_two_strands():
    from sklearn_fssd.genomes import reverse_complement

    torch.manual_seed(0)
    module = TinyLSTM(vocab=5, n_classes=3)
    X = np.random.RandomState(0).randint(0, 5, size=(60, 12))
    rc = reverse_complement(X)
    one = FSSDDetector(module, random_state=0).fit(X)
    both = FSSDDetector(module, both_strands=True, random_state=0).fit(X)
    assert both.combine_ == "class_typical"
    # the same noise, the same F*: each layer's FSSD is the mean of the two strands' FSSD
    np.testing.assert_allclose(
        both.layer_scores(X), (one.layer_scores(X) + one.layer_scores(rc)) / 2, rtol=1e-5)
    np.testing.assert_allclose(both.score_samples(X), both.score_samples(rc), rtol=1e-6)
    # the rule is fitted on, and applied to, the averaged columns (not the mean of scores)
    columns = (one._columns(X) + one._columns(rc)) / 2
    np.testing.assert_allclose(both.score_samples(X), both._combine(columns), rtol=1e-5)


@pytest.mark.parametrize("X, match", [
    (np.random.RandomState(0).normal(size=(20, 12)), "X has dtype float64, not integer token"),
    (np.random.RandomState(0).randint(0, 3, size=(20, 12)), "embeds only 3 token ids"),
])
def test_both_strands_need_dna_token_ids(X, match):
    torch.manual_seed(0)
    module = TinyLSTM(vocab=3) if X.dtype.kind == "i" else nn.Sequential(
        nn.Linear(12, 4), nn.ReLU(), nn.Linear(4, 2))
    with pytest.raises(ValueError, match=f"both_strands=True reverse-complements.*{match}"):
        FSSDDetector(module, both_strands=True).fit(X)


def test_both_strands_refuse_the_default_network_of_tables():
    with pytest.raises(ValueError, match="model=None trains a network for tables"):
        FSSDDetector(both_strands=True).fit(np.random.RandomState(0).normal(size=(20, 3)))


def test_a_detector_pickled_before_both_strands_existed_reads_one_strand():
    torch.manual_seed(0)
    X = np.random.RandomState(0).randint(0, 5, size=(40, 12))
    det = FSSDDetector(TinyLSTM(vocab=5), random_state=0).fit(X)
    state = det.__getstate__()
    old = torch.load(io.BytesIO(state["_torch_state"]), weights_only=False)
    del old["both_strands"], old["both_strands_"]
    loaded = FSSDDetector.__new__(FSSDDetector)
    loaded.__setstate__(old)
    assert loaded.get_params()["both_strands"] is False and "both_strands" in repr(
        clone(loaded).set_params(both_strands=True))
    np.testing.assert_array_equal(loaded.score_samples(X), det.score_samples(X))


def test_token_noise_behind_fstar_draws_every_token_id_of_the_vocabulary():
    # id 4 (DNA's unknown base N, say) is in the vocabulary but never in X. The noise behind F*
    # draws token ids uniformly (benchmarks/results/fssd_defaults.md), so id 4 fills about a fifth
    # of it and moving its embedding moves F*; the stacks' synthetic outliers keep to X's tokens
    torch.manual_seed(0)
    module = TinyLSTM(vocab=5)
    X = np.random.RandomState(0).randint(0, 4, size=(60, 12))
    det = FSSDDetector(module, combine="typical_stack", random_state=0).fit(X)
    np.testing.assert_allclose(det.noise_tokens_[:4].sum(), 1.0)
    assert det.noise_tokens_[4] == 0
    outliers = det._extra_outliers(X, np.zeros(len(X), dtype=int), det.noise_low_,
                                   det.noise_high_, np.random.RandomState(0))
    assert len(outliers) and outliers.max() < 4
    other = copy.deepcopy(module)
    with torch.no_grad():
        other.embedding.weight[4] += 5.0
    moved = FSSDDetector(other, combine="typical_stack", random_state=0).fit(X)
    assert det.layers_[0] == "embedding"
    shift = (moved.singularities_[0] - det.singularities_[0]).mean().item()
    assert shift == pytest.approx(5.0 / 5, abs=0.2)
    for a, b in zip(det.singularities_[1:], moved.singularities_[1:]):
        assert not torch.allclose(a, b)


# ------------------------------------------------- clone, pickle, search


def test_clone_keeps_the_network_and_refits_identically(trained_cnn, digits, image_detector):
    X_train, _, X_test, _ = digits
    cloned = clone(image_detector)
    assert cloned.model is trained_cnn
    assert not hasattr(cloned, "offset_")
    np.testing.assert_allclose(
        cloned.fit(X_train).score_samples(X_test[:50]), image_detector.score_samples(X_test[:50])
    )


def test_pickle_round_trip_gives_identical_scores(image_detector, digits):
    _, _, X_test, _ = digits
    loaded = pickle.loads(pickle.dumps(image_detector))
    np.testing.assert_array_equal(
        loaded.score_samples(X_test[:50]), image_detector.score_samples(X_test[:50])
    )
    copied = copy.deepcopy(image_detector)
    np.testing.assert_array_equal(
        copied.score_samples(X_test[:50]), image_detector.score_samples(X_test[:50])
    )


def test_grid_search_over_epsilon_in_a_pipeline(table):
    X_train, X_test = table
    rng = np.random.RandomState(0)
    X_ood = rng.uniform(-4, 4, size=(200, X_train.shape[1]))
    X_val = np.vstack([X_test, X_ood])
    y_val = np.r_[np.ones(len(X_test)), -np.ones(len(X_ood))]
    pipe = make_pipeline(StandardScaler(), FSSDDetector(max_epochs=3, random_state=0))
    search = GridSearchCV(
        pipe,
        {"fssddetector__epsilon": [0.0, 0.01]},
        scoring="roc_auc",
        cv=StratifiedKFold(3, shuffle=True, random_state=0),
    ).fit(X_val, y_val)
    assert search.best_params_["fssddetector__epsilon"] in (0.0, 0.01)
    assert search.best_score_ > 0.8
    assert (search.predict(X_ood) == -1).mean() > 0.8
    assert (search.predict(X_test) == 1).mean() > 0.8


# ---------------------------------------------------------------- errors


@pytest.fixture(scope="module")
def fitted_small(table):
    X_train, _ = table
    return FSSDDetector(max_epochs=2, random_state=0).fit(X_train[:100])


@pytest.mark.parametrize(
    "X, message",
    [
        (np.full((3, 5), np.nan), "NaN"),
        (np.full((3, 5), np.inf), "infinity"),
        (np.zeros((3, 4)), "5 features"),
        (np.zeros((0, 5)), "0 sample"),
        (np.array([["a"] * 5] * 3, dtype=object), "could not convert|string"),
    ],
)
def test_bad_input_at_scoring_is_named(fitted_small, X, message):
    with pytest.raises(ValueError, match=message):
        fitted_small.score_samples(X)


def test_wrong_image_shape_is_named(image_detector):
    with pytest.raises(ValueError, match=r"shape \(1, 9, 9\).*fitted on samples of shape \(1, 8, 8\)"):
        image_detector.score_samples(np.zeros((2, 1, 9, 9), dtype=np.float32))


def test_unfitted_detector_raises_not_fitted():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError, match="not fitted yet"):
        FSSDDetector().score_samples(np.zeros((2, 3)))


def test_unfitted_skorch_net_is_refused():
    from skorch import NeuralNetClassifier

    with pytest.raises(ValueError, match="never fitted.*net.fit"):
        FSSDDetector(NeuralNetClassifier(SmallCNN)).fit(np.zeros((4, 1, 8, 8), np.float32))


def test_unknown_layer_lists_the_valid_names(trained_cnn, digits):
    X_train, _, _, _ = digits
    with pytest.raises(ValueError, match=r"Layer 'fc3' not found in SmallCNN; available: \['conv1'"):
        FSSDDetector(trained_cnn, layers=["conv1", "fc3"]).fit(X_train[:20])


def test_negative_epsilon_is_refused(table):
    with pytest.raises(ValueError, match="'epsilon' parameter of FSSDDetector must be a float in the range \\[0"):
        FSSDDetector(epsilon=-0.1).fit(table[0])


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised without CUDA")
def test_cuda_without_cuda_says_what_to_do(table):
    with pytest.raises(RuntimeError, match="CUDA is not available.*device='cpu'"):
        FSSDDetector(device="cuda").fit(table[0])


def test_empty_or_bad_labels(table):
    X_train, _ = table
    with pytest.raises(ValueError, match="0 sample"):
        FSSDDetector().fit(X_train[:0])
    with pytest.raises(ValueError, match="no in-distribution sample"):
        FSSDDetector().fit(X_train[:10], -np.ones(10))
    with pytest.raises(ValueError, match="NaN"):
        FSSDDetector().fit(np.where(X_train < 2, X_train, np.nan))


@pytest.mark.parametrize(
    "y",
    [
        np.r_[np.zeros(10), np.ones(10)],  # PyOD's convention: 1 = outlier
        np.zeros(20, dtype=int),
        np.r_[np.zeros(10, bool), np.ones(10, bool)],
        np.r_[-np.ones(10), np.zeros(5), np.ones(5)],
    ],
    ids=["zero-one", "all-zero", "boolean", "minus-one-zero-one"],
)
def test_labels_of_another_binary_convention_are_refused_with_the_conversion(table, y):
    X_train, _ = table
    det = FSSDDetector(max_epochs=1)
    with pytest.raises(ValueError, match=r"y holds labels \[.*\], but FSSDDetector.fit reads y as "
                       r"\+1 \(in-distribution\) / -1.*np.where\(y == 1, -1, 1\)"):
        det.fit(X_train[:20], y)
    assert not hasattr(det, "model_")  # refused before any work


def test_grid_search_with_pyod_labels_fails_instead_of_reversing_the_detector(table):
    X_train, X_test = table
    rng = np.random.RandomState(0)
    X_ood = rng.uniform(-4, 4, size=(100, X_train.shape[1]))
    X_val = np.vstack([X_test[:100], X_ood])
    y_pyod = np.r_[np.zeros(100), np.ones(100)]  # 1 = outlier
    search = GridSearchCV(
        FSSDDetector(max_epochs=1, random_state=0), {"epsilon": [0.0, 0.01]}, scoring="roc_auc",
        cv=StratifiedKFold(2, shuffle=True, random_state=0),
    )
    with pytest.raises(ValueError, match=r"np.where\(y == 1, -1, 1\)"):
        search.fit(X_val, y_pyod)


def test_labels_that_are_no_ood_labelling_are_ignored_with_a_warning(table):
    X_train, _ = table
    classes = np.arange(60) % 3
    with pytest.warns(UserWarning, match=r"labels \[0, 1, 2\].*not out-of-distribution labels"):
        det = FSSDDetector(max_epochs=1, random_state=0).fit(X_train[:60], classes)
    plain = FSSDDetector(max_epochs=1, random_state=0).fit(X_train[:60])
    np.testing.assert_array_equal(
        det.score_samples(X_train[:20]), plain.score_samples(X_train[:20])
    )


# ------------------------------------------------------------------ CUDA


@pytest.mark.cuda
@needs_cuda
def test_cuda_scores_match_cpu(trained_cnn, digits):
    X_train, _, X_test, _ = digits
    cpu = FSSDDetector(trained_cnn, epsilon=0.01, random_state=0).fit(X_train)
    gpu = FSSDDetector(trained_cnn, epsilon=0.01, device="cuda", random_state=0).fit(X_train)
    assert gpu.device_.type == "cuda"
    np.testing.assert_allclose(gpu.layer_scores(X_test), cpu.layer_scores(X_test), rtol=1e-3)


@pytest.mark.cuda
@needs_cuda
def test_detector_pickled_on_cuda_loads_on_a_cpu_only_machine(trained_cnn, digits, tmp_path):
    import subprocess
    import sys

    X_train, _, X_test, _ = digits
    det = FSSDDetector(trained_cnn, device="cuda", random_state=0).fit(X_train)
    path = tmp_path / "det.pkl"
    path.write_bytes(pickle.dumps(det))
    np.save(tmp_path / "x.npy", X_test[:20])
    np.save(tmp_path / "expected.npy", det.score_samples(X_test[:20]))
    script = (
        "import pickle, warnings, numpy as np, sys\n"
        f"sys.path.insert(0, {str(__import__('pathlib').Path(__file__).parent)!r})\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        "    warnings.simplefilter('always')\n"
        f"    det = pickle.loads(open({str(path)!r}, 'rb').read())\n"
        "assert any('fitted on CUDA' in str(x.message) for x in w)\n"
        "assert det.device_.type == 'cpu'\n"
        f"s = det.score_samples(np.load({str(tmp_path / 'x.npy')!r}))\n"
        f"np.testing.assert_allclose(s, np.load({str(tmp_path / 'expected.npy')!r}), rtol=1e-3, atol=1e-4)\n"
    )
    env = {**__import__("os").environ, "CUDA_VISIBLE_DEVICES": ""}
    subprocess.run([sys.executable, "-c", script], check=True, env=env)


def test_verbose_shows_clean_bars_and_no_escape_codes(capfd):
    """verbose=True: an epoch bar for the default network, bars for multi-batch passes,
    no colour escape codes (skorch's table) and no empty bars."""
    X = np.random.RandomState(0).normal(size=(300, 4)).astype(np.float32)
    det = FSSDDetector(verbose=True, max_epochs=3, batch_size=64, random_state=0).fit(X)
    det.score_samples(X[:10])  # one batch: no bar
    out, err = capfd.readouterr()
    assert "\x1b[" not in out + err
    assert "0it" not in err and "0/0" not in err
    assert "FSSD default network" in err and "3/3" in err  # the epoch bar, complete
    assert "FSSD:   0%|          | 0/5" in err  # a pass over 300 rows in batches of 64
    assert out == ""
    FSSDDetector(verbose=False, max_epochs=3, random_state=0).fit(X).score_samples(X)
    assert capfd.readouterr() == ("", "")


# ------------------------------------------- inputs a hostile tester tries


def assert_unscorable_rows_are_ood(det, X, bad, rtol=1e-5):
    """Rows ``bad`` of ``X`` get the lowest score from every method of ``det`` (a scikit-learn
    face) and are predicted OoD; the other rows keep the scores they have alone (up to the
    float32 rounding of another batch shape, the package's tolerance for any batching)."""
    good = np.setdiff1d(np.arange(len(X)), bad)
    with pytest.warns(UserWarning, match=rf"{len(bad)} of the {len(X)} samples given to "
                                         rf"{type(det).__name__} could not be scored"):
        scores = det.score_samples(X)
        decision = det.decision_function(X)
        predicted = det.predict(X)
        layers = det.layer_scores(X) if hasattr(det, "layer_scores") else None
    assert (scores[bad] == LOWEST_SCORE).all()
    np.testing.assert_allclose(scores[good], det.score_samples(X[good]), rtol=rtol)
    assert np.isfinite(decision).all() and decision[bad].max() < decision[good].min()
    np.testing.assert_allclose(decision, scores - det.offset_)
    assert (predicted[bad] == -1).all()
    np.testing.assert_array_equal(predicted[good], det.predict(X[good]))
    if layers is not None:
        assert (layers[bad] == LOWEST_SCORE).all()
        np.testing.assert_allclose(layers[good], det.layer_scores(X[good]), rtol=rtol)


@pytest.mark.parametrize("scale", [1e19, 1e30, 1e39, 1e300])
@pytest.mark.parametrize("which", ["table (typical)", "images (stack)"])
def test_huge_rows_score_lowest_and_leave_the_other_rows_alone(
    request, table, digits, scale, which
):
    if which.startswith("table"):
        det, X = request.getfixturevalue("fitted_small"), table[1][:8].copy()
    else:
        det, X = request.getfixturevalue("image_detector"), digits[2][:8].astype(np.float64)
    X[[1, 6]] *= scale
    X[[1, 6]] += scale  # also rows that are 0 (image borders) get huge
    assert_unscorable_rows_are_ood(det, X, [1, 6])


def test_fit_refuses_values_beyond_float32_before_training(table, monkeypatch):
    X = table[0][:50].copy()
    X[3, 2] = 1e39  # finite in float64, inf in the float32 network
    monkeypatch.setattr(FSSDDetector, "_train_default_model",
                        lambda *args: pytest.fail("training started"))
    with pytest.raises(ValueError, match=r"X has values beyond the float32 range.*1e\+39.*"
                                         r"first row 3.*StandardScaler"):
        FSSDDetector().fit(X)


def test_fit_refuses_features_that_overflow_float32(table):
    net = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 2))
    X = (table[0][:50] * 1e30).astype(np.float32)  # representable, but its squares are not
    with pytest.raises(ValueError, match=r"network's features overflow float32.*StandardScaler"):
        FSSDDetector(net, n_noise=10, random_state=0).fit(X)


def test_default_network_standardises_data_near_float32_limits(table):
    # the moments behind the default network's standardisation are float64: in float32 the
    # squares of values of 1e20 overflow, the scale becomes inf and every input looks alike
    X_train, X_test = table
    det = FSSDDetector(max_epochs=5, random_state=0).fit(X_train * 1e20)
    assert np.isfinite(det.model_.standardize.scale.numpy()).all()
    assert (det.predict(X_test * 1e20) == 1).mean() > 0.8
    assert (det.predict(X_test * 1e22) == -1).mean() > 0.9


@pytest.mark.parametrize(
    "X, message",
    [
        (np.zeros((20, 64), np.float32), r"X has shape \(20, 64\).*X.reshape\(-1, 1, 8, 8\)"),
        (np.zeros((20, 8, 8, 1), np.float32),
         r"X has shape \(20, 8, 8, 1\).*Conv2d\(1, 8.*X.transpose\(0, 3, 1, 2\)"),
        (np.zeros((20, 1, 10, 10), np.float32),
         r"X has shape \(20, 1, 10, 10\).*'fc1' \(Linear\(in_features=256.*size the network"),
    ],
    ids=["flat-rows", "channels-last", "10x10-into-8x8"],
)
def test_fit_names_the_input_shape_the_network_expects(X, message, monkeypatch):
    monkeypatch.setattr(FSSDDetector, "_singularities",
                        lambda *args: pytest.fail("work started before the shape check"))
    with pytest.raises(ValueError, match=message):
        FSSDDetector(SmallCNN()).fit(X)


@pytest.mark.parametrize(
    "transform, message",
    [
        (lambda X: X.transpose(0, 2, 3, 1),
         r"samples of shape \(8, 8, 1\), but FSSDDetector was fitted on samples of shape "
         r"\(1, 8, 8\).*channels-last.*X.transpose\(0, 3, 1, 2\)"),
        (lambda X: X.reshape(len(X), -1),
         r"samples of shape \(64,\).*\(n_samples, 1, 8, 8\).*X.reshape\(-1, 1, 8, 8\)"),
    ],
    ids=["channels-last", "flat-rows"],
)
def test_scoring_names_the_fitted_sample_shape_and_the_fix(image_detector, digits, transform,
                                                           message):
    X = transform(digits[2][:4])
    for method in (image_detector.score_samples, image_detector.layer_scores):
        with pytest.raises(ValueError, match=message):
            method(X)


def test_token_ids_outside_the_embedding_are_refused_at_scoring():
    torch.manual_seed(0)
    X = np.random.RandomState(0).randint(0, 4, size=(30, 12))
    det = FSSDDetector(TinyLSTM(), n_noise=10, random_state=0).fit(X)
    message = (r"Token ids must lie in \[0, 4\) for the embedding 'embedding' "
               r"\(num_embeddings=4\); X holds values in \[{}, {}\]")
    for bad, low, high in [(X[:3] + 1, 1, 4), (X[:3] - 1, -1, 2)]:
        for method in (det.score_samples, det.layer_scores, det.predict):
            with pytest.raises(ValueError, match=message.format(low, high)):
                method(bad)


def test_bool_inputs_to_an_embedding_network_name_the_integer_ids_it_needs():
    X = np.random.RandomState(0).randint(0, 4, size=(30, 12))
    with pytest.raises(ValueError, match=r"Embedding\(4, 6\).*dtype bool.*X.astype\(np.int64\)"):
        FSSDDetector(TinyLSTM()).fit(X > 1)


@pytest.mark.parametrize("requires_grad", [False, True])
def test_tensors_are_scored_like_arrays(image_detector, trained_cnn, digits, requires_grad):
    X_train, _, X_test, _ = digits
    # the tensor shares the array's memory: float32 convolutions round by its alignment
    tensor = torch.from_numpy(X_test[:10]).requires_grad_(requires_grad)
    np.testing.assert_array_equal(image_detector.score_samples(tensor),
                                  image_detector.score_samples(X_test[:10]))
    fitted = FSSDDetector(trained_cnn, n_noise=10, random_state=0)
    fitted.fit(torch.from_numpy(X_train[:50]).requires_grad_(requires_grad))
    assert fitted.layer_scores(tensor).shape == (10, 4)


def test_a_dataloader_is_refused_with_the_way_to_collect_it(image_detector, digits):
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.from_numpy(digits[2][:8])), batch_size=4
    )
    for call in (image_detector.score_samples, FSSDDetector().fit):
        with pytest.raises(TypeError, match=r"X is a torch DataLoader.*\.numpy\(\)"):
            call(loader)


@pytest.mark.parametrize("device", ["meta", "gpu", torch.device("meta")])
def test_devices_the_detector_cannot_use_are_refused_at_fit(table, device):
    det = FSSDDetector(device=device)  # __init__ only stores
    with pytest.raises(ValueError, match="valid choices: 'cpu', 'cuda', 'cuda:N', 'auto'"):
        det.fit(table[0][:20])


def test_a_network_returning_a_dict_works_when_its_layers_are_tapped(table):
    class DictNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(5, 8), nn.Linear(8, 3)

        def forward(self, x):
            return {"logits": self.fc2(torch.relu(self.fc1(x)))}

    det = FSSDDetector(DictNet(), n_noise=10, random_state=0).fit(table[0][:50])
    assert det.layers_ == ["fc1", "fc2"] and det.score_samples(table[1][:5]).shape == (5,)


@pytest.mark.parametrize("combine", ["stack", "typical", "mean"])
def test_auto_contamination_keeps_95_percent_of_the_fit_samples_whatever_the_rule(combine):
    # one meaning of contamination="auto" for every detector and every combination rule
    X = np.random.RandomState(0).normal(size=(200, 4))
    det = FSSDDetector(combine=combine, max_epochs=2, random_state=0).fit(X)
    scores = det.score_samples(X)
    assert det.offset_ == pytest.approx(np.percentile(scores, 5))
    assert np.mean(det.predict(X) == 1) == pytest.approx(0.95, abs=0.01)


# ---------------------------------------------------------------- class_typical and "auto"


def _predicted(net, X):
    """The network's class probabilities of X."""
    with torch.no_grad():
        return torch.softmax(net(torch.as_tensor(X)), dim=1).numpy()


def test_auto_weighs_by_class_probabilities_for_an_image_classifier(image_detector, trained_cnn,
                                                                    digits):
    # without OoD labels, an image classifier gets the per-class typicality rule, each class
    # weighted by the network's softmax
    assert image_detector.combine_ == "class_typical" and image_detector.n_classes_ == 10
    X = digits[2][:60]
    by_hand = image_detector.combiner_.decision_function(
        image_detector.layer_scores(X), groups=_predicted(image_detector.model_, X))
    np.testing.assert_allclose(image_detector.score_samples(X), by_hand, rtol=1e-6)


def test_auto_guards_the_stack_when_ood_labels_are_given_and_is_typical_for_tables(
        trained_cnn, digits, digits_ood, table, table_detector):
    X = np.concatenate([digits[0][:200], digits_ood[:100]])
    y = np.r_[np.ones(200, int), -np.ones(100, int)]
    assert FSSDDetector(trained_cnn, random_state=0).fit(X, y).combine_ == "typical_stack"
    assert table_detector.combine_ == "typical" and table_detector.n_classes_ is None
    # tables with OoD labels keep the signed guarded stack
    X_id = table[0][:100]
    X = np.vstack([X_id, np.random.RandomState(0).uniform(-4, 4, size=(50, X_id.shape[1]))])
    y = np.r_[np.ones(100, int), -np.ones(50, int)]
    assert FSSDDetector(max_epochs=2, random_state=0).fit(X, y).combine_ == "guarded_stack"


def test_class_typical_takes_the_class_of_the_input_not_of_the_perturbed_input(trained_cnn,
                                                                             digits):
    X_train, _, X_test, _ = digits
    det = FSSDDetector(trained_cnn, epsilon=0.05, random_state=0).fit(X_train[:300])
    by_hand = det.combiner_.decision_function(det.layer_scores(X_test[:40]),
                                              groups=_predicted(det.model_, X_test[:40]))
    np.testing.assert_allclose(det.score_samples(X_test[:40]), by_hand, rtol=1e-6)


def test_a_network_ensemble_groups_by_its_mean_probabilities(trained_cnn, digits):
    X_train, _, X_test, _ = digits
    other = copy.deepcopy(trained_cnn.module_)
    with torch.no_grad():
        for p in other.parameters():
            p.mul_(1.1)
    det = FSSDDetector([trained_cnn, other], random_state=0).fit(X_train[:300])
    x = torch.as_tensor(X_test[:40])
    with torch.no_grad():
        mean = sum(torch.softmax(net(x), dim=1) for net in det.model_) / 2
    by_hand = det.combiner_.decision_function(det.layer_scores(X_test[:40]),
                                              groups=mean.numpy())
    np.testing.assert_allclose(det.score_samples(X_test[:40]), by_hand, rtol=1e-6)
    # not the most probable class alone: the network hesitates over some of these digits
    argmax = det.combiner_.decision_function(det.layer_scores(X_test[:40]),
                                             groups=mean.argmax(dim=1).numpy())
    assert not np.allclose(det.score_samples(X_test[:40]), argmax, rtol=1e-6)


def test_class_typical_takes_a_softmax_output_as_the_probabilities_it_is(trained_cnn, digits):
    # a network that ends in a softmax (skorch's NLLLoss convention) scores as its logits do:
    # a second softmax would flatten the probabilities towards uniform weights
    X_train, _, X_test, _ = digits
    ending_in_softmax = nn.Sequential(copy.deepcopy(trained_cnn.module_), nn.Softmax(dim=1))
    layers = [f"0.{name}" for name in ("conv1", "fc1")]
    logits = FSSDDetector(trained_cnn, layers=["conv1", "fc1"], random_state=0).fit(X_train[:300])
    probs = FSSDDetector(ending_in_softmax, layers=layers, random_state=0).fit(X_train[:300])
    assert probs.combine_ == "class_typical"
    np.testing.assert_allclose(probs.score_samples(X_test[:40]),
                               logits.score_samples(X_test[:40]), rtol=1e-4)


def test_class_typical_refuses_a_network_that_predicts_no_class(table):
    net = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 1))  # a regression
    with pytest.raises(ValueError, match=r'class_typical.*not a \(batch, n_classes\).*'
                                         r'combine="typical"'):
        FSSDDetector(net, combine="class_typical").fit(table[0][:50])
    assert FSSDDetector(net, n_noise=10, random_state=0).fit(table[0][:50]).combine_ == "typical"


def test_guarded_stack_fitted_on_one_ood_kind_still_flags_uniform_noise(trained_cnn, digits):
    # the stack is fitted against pixel-shuffled digits only; uniform noise is a kind it never
    # saw, and the plain stack may call it in-distribution: the guard keeps it flagged
    X_train, _, X_test, _ = digits
    rng = np.random.RandomState(3)
    shuffled = permuted_pixels(X_train[300:500])
    X = np.concatenate([X_train[:300], shuffled])
    y = np.r_[np.ones(300, int), -np.ones(len(shuffled), int)]
    for combine in ("auto", "guarded_stack"):
        det = FSSDDetector(trained_cnn, combine=combine, random_state=0).fit(X, y)
        assert det.combine_ == {"auto": "typical_stack"}.get(combine, combine)
        assert det.guard_ == "class_typical"
        noise = rng.uniform(0, 1, size=(300, 1, 8, 8)).astype(np.float32)
        assert (det.predict(noise) == -1).mean() >= 0.99
        assert (det.predict(X_test) == 1).mean() > 0.8


def test_typical_stack_without_ood_labels_weighs_the_layers_against_synthetic_outliers(
        trained_cnn, digits):
    X_train, _, X_test, _ = digits
    det = FSSDDetector(trained_cnn, combine="typical_stack", random_state=0).fit(X_train[:300])
    assert det.combine_ == "typical_stack" and det.guard_ == "class_typical"
    assert (det.combiner_.regression_.coef_ >= 0).all()
    noise = np.random.RandomState(1).uniform(0, 1, size=(200, 1, 8, 8)).astype(np.float32)
    assert (det.predict(noise) == -1).mean() >= 0.99
    assert (det.predict(X_test * 10) == -1).mean() >= 0.99
    assert (det.predict(X_test) == 1).mean() > 0.8


def test_class_typical_without_a_classifier_fails_before_any_training(table, monkeypatch):
    monkeypatch.setattr(FSSDDetector, "_train_default_model",
                        lambda *args: pytest.fail("training started"))
    with pytest.raises(ValueError, match=r'model=None builds a network that tells X from synthetic '
                       r'outliers.*combine="typical"'):
        FSSDDetector(combine="class_typical").fit(table[0][:50])


def test_layer_scores_need_no_class_and_stop_at_the_last_tapped_layer(trained_cnn, digits):
    X_train, _, X_test, _ = digits
    det = FSSDDetector(trained_cnn, layers=["conv1"], random_state=0).fit(X_train[:200])
    assert det.combine_ == "class_typical"
    calls = []
    handle = det.model_.fc2.register_forward_hook(lambda *args: calls.append(1))
    try:
        det.layer_scores(X_test[:20])
        assert not calls  # the forward pass stopped after conv1
        det.score_samples(X_test[:20])
        assert calls  # the score needs the predicted class: the whole network runs
    finally:
        handle.remove()


# ------------------------------------------------------- distances per channel


@pytest.fixture(scope="module")
def channel_detector(trained_cnn, digits):
    X_train, _, _, _ = digits
    return FSSDDetector(trained_cnn, distances="channel", random_state=0).fit(X_train)


def test_channel_distances_split_each_layer_fssd_into_its_channels(channel_detector,
                                                                   image_detector, digits):
    _, _, X_test, _ = digits
    # one column per channel of conv1 (8), conv2 (16) and per unit of fc1 (32), fc2 (10)
    assert channel_detector.channels_ == [8, 16, 32, 10]
    assert channel_detector.combiner_.covariance == "diagonal"
    columns = channel_detector._distances(X_test[:20])
    assert columns.shape == (20, 4)  # layer_scores: still one FSSD per layer...
    np.testing.assert_allclose(channel_detector.layer_scores(X_test[:20]),
                               image_detector.layer_scores(X_test[:20]), rtol=1e-4)
    # ...whose squares the channels' distances sum to
    parts = channel_detector._columns(X_test[:20], classes=False)
    assert parts.shape == (20, 66)
    np.testing.assert_allclose(np.sqrt((parts[:, 24:56] ** 2).sum(axis=1)), columns[:, 2],
                               rtol=1e-5)


def test_channel_distances_flag_noise_and_shuffled_digits(channel_detector, digits, digits_ood):
    _, _, X_test, _ = digits
    assert auroc(channel_detector.score_samples(X_test),
                 channel_detector.score_samples(digits_ood)) > 0.9
    noise = np.random.RandomState(1).uniform(0, 1, size=(100, *X_test.shape[1:]))
    assert (channel_detector.predict(noise.astype(np.float32)) == -1).mean() >= 0.99


def test_channel_distances_of_a_token_model_with_a_guarded_stack():
    torch.manual_seed(0)
    module = TinyLSTM()
    rng = np.random.RandomState(0)
    X = rng.randint(0, 4, size=(120, 12))
    det = FSSDDetector(module, distances="channel", random_state=0).fit(X)
    # embedding (6), lstm (2 directions x 8), fc (2 classes), each channel over its positions
    assert det.channels_ == [6, 16, 2] and det.combine_ == "class_typical"
    y = np.r_[np.ones(100, int), -np.ones(20, int)]
    X_ood = X.copy()
    X_ood[100:] = 3  # one repeated base: a kind of its own
    stacked = FSSDDetector(module, distances="channel", random_state=0).fit(X_ood, y)
    assert stacked.combine_ == "typical_stack"
    # the stack weighs the three layers (and the whole vector), not the 24 channels
    assert stacked.combiner_.layer_widths == [6, 16, 2]
    assert stacked.combiner_.regression_.coef_.shape == (4,)
    assert stacked.score_samples(X_ood[100:]).max() < np.median(stacked.score_samples(X[:100]))


def test_auto_distances_are_per_channel_for_token_sequences_and_per_layer_otherwise(
        image_detector):
    # chosen on fssd_defaults.md: per channel leads on the genome set, per layer on images
    assert image_detector.get_params()["distances"] == "auto"
    assert image_detector.distances_ == "layer" and image_detector.channels_ == [1, 1, 1, 1]
    torch.manual_seed(0)
    X = np.random.RandomState(0).randint(0, 4, size=(60, 12))
    det = FSSDDetector(TinyLSTM(), random_state=0).fit(X)
    assert det.distances_ == "channel" and det.channels_ == [6, 16, 2]
    assert det.combiner_.covariance == "diagonal" and det.combiner_.layer_widths == [6, 16, 2]
    pinned = FSSDDetector(det.model_, distances="layer", random_state=0).fit(X)
    assert pinned.distances_ == "layer" and pinned.combiner_.layer_widths is None
    # rules never measured per channel keep one distance per layer
    for combine in ("stack", "guarded_stack", "typical", "mean"):
        other = FSSDDetector(det.model_, combine=combine, random_state=0).fit(X)
        assert other.distances_ == "layer", combine


@pytest.mark.parametrize("perturb", ["per_layer", "joint"])
def test_channel_distances_take_the_step_of_the_layer_fssd(perturb):
    # the pre-processing step climbs each layer's FSSD whatever the columns the rules read
    torch.manual_seed(0)
    module = TinyLSTM()
    X = np.random.RandomState(0).randint(0, 4, size=(60, 12))
    params = dict(epsilon=0.05, perturb=perturb, random_state=0)
    by_channel = FSSDDetector(module, distances="channel", **params).fit(X)
    by_layer = FSSDDetector(module, distances="layer", **params).fit(X)
    np.testing.assert_allclose(by_channel.layer_scores(X[:10]), by_layer.layer_scores(X[:10]),
                               rtol=1e-5)
    plain = FSSDDetector(module, distances="channel", random_state=0).fit(X)
    assert (by_channel.layer_scores(X[:10]) > plain.layer_scores(X[:10]) + 1e-6).any()


@pytest.mark.parametrize("setting", ["two networks", "both strands"])
def test_channel_distances_keep_layer_scores_of_averaged_networks_and_strands(setting):
    # each network's (strand's) layer FSSD is averaged, not the layer FSSD of averaged channels
    torch.manual_seed(0)
    module = TinyLSTM(vocab=5, n_classes=3)
    other = copy.deepcopy(module)
    with torch.no_grad():
        for p in other.parameters():
            p.add_(0.3 * torch.randn_like(p))
    X = np.random.RandomState(0).randint(0, 5, size=(60, 12))
    params = ({"model": [module, other]} if setting == "two networks"
              else {"model": module, "both_strands": True})
    by_channel = FSSDDetector(**params, distances="channel", random_state=0).fit(X)
    by_layer = FSSDDetector(**params, distances="layer", random_state=0).fit(X)
    assert (by_channel.distances_, by_layer.distances_) == ("channel", "layer")
    np.testing.assert_allclose(by_channel.layer_scores(X), by_layer.layer_scores(X), rtol=1e-5)


def test_a_detector_pickled_before_distances_existed_reads_one_per_layer(trained_cnn, digits):
    from sklearn_fssd.pyod import FSSD

    X_train, _, X_test, _ = digits
    det = FSSDDetector(trained_cnn, random_state=0).fit(X_train[:200])
    old = torch.load(io.BytesIO(det.__getstate__()["_torch_state"]), weights_only=False)
    del old["distances"], old["distances_"], old["channels_"]
    del old["combiner_"].__dict__["covariance"], old["combiner_"].__dict__["layer_widths"]
    old["combiner_"] = pickle.loads(pickle.dumps(old["combiner_"]))
    loaded = FSSDDetector.__new__(FSSDDetector)
    loaded.__setstate__(old)
    assert loaded.get_params()["distances"] == "layer" and loaded.combiner_.covariance == "shrunk"
    assert loaded.combiner_.layer_widths is None
    np.testing.assert_array_equal(loaded.score_samples(X_test[:20]), det.score_samples(X_test[:20]))
    refit = clone(loaded).set_params(distances="channel").fit(X_train[:200])
    assert refit.channels_ == [8, 16, 32, 10]
    # the PyOD face of before reads one distance per layer too (not today's default, "auto")
    face = FSSD(model=trained_cnn, random_state=0)
    state = dict(face.__dict__)
    del state["distances"]
    old_face = FSSD.__new__(FSSD)
    old_face.__setstate__(state)
    assert old_face.get_params()["distances"] == "layer"


def test_channel_distances_of_networks_that_disagree_on_channels_are_refused(digits):
    X_train, _, _, _ = digits
    small, wide = SmallCNN(), SmallCNN()
    wide.fc1 = nn.Linear(wide.fc1.in_features, 33)
    wide.fc2 = nn.Linear(33, 10)
    with pytest.raises(ValueError, match="different channels.*distances='layer'"):
        FSSDDetector([small, wide], distances="channel", random_state=0).fit(X_train[:50])


def test_unknown_distances_name_the_valid_ones(table):
    X_train, _ = table
    with pytest.raises(ValueError, match=r"'distances' parameter.*'channel'.*'layer'|"
                                         r"'distances' parameter.*'layer'.*'channel'"):
        FSSDDetector(distances="position").fit(X_train)
