"""Tests of sklearn_fssd.features: layer names, forward-hook taps, the perturbation step and
the scoring loop that takes it.

Tiny hand-made networks only; nothing is trained.
"""

import pytest
import torch
from torch import nn

from sklearn_fssd.features import (
    FeatureTap,
    auto_layers,
    layer_scores,
    perturbation,
    resolve_layers,
)
from sklearn_fssd.singularity import fssd_distance


class TinyLeNet(nn.Module):
    """LeNet's layer names on a 1x8x8 input."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 2, 3, padding=1)
        self.conv2 = nn.Conv2d(2, 3, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(3 * 4 * 4, 5)
        self.fc2 = nn.Linear(5, 2)

    def forward(self, x):
        x = torch.relu(self.conv1(x))
        x = self.pool(torch.relu(self.conv2(x)))
        x = torch.relu(self.fc1(x.flatten(1)))
        return self.fc2(x)


class WithDefaults(TinyLeNet):
    default_layers = ("conv2", "fc2")


class Raises(nn.Module):
    """A module that must never run."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        raise ZeroDivisionError("this module ran")


class Counts(nn.Module):
    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return x


class Recurrent(nn.Module):
    """An LSTM classifier on (N, L, 3) inputs."""

    def __init__(self, batch_first=True, cell=nn.LSTM, bidirectional=False):
        super().__init__()
        self.batch_first = batch_first
        self.rnn = cell(3, 4, batch_first=batch_first, bidirectional=bidirectional)
        self.head = nn.Linear(4 * (2 if bidirectional else 1), 2)

    def forward(self, x):
        if not self.batch_first:
            x = x.transpose(0, 1)
        out, _ = self.rnn(x)
        last = out[:, -1] if self.batch_first else out[-1]
        return self.head(last)


def _seed():
    torch.manual_seed(0)


def _no_hooks(module):
    return all(
        len(m._forward_hooks) == 0 and len(m._forward_pre_hooks) == 0 for m in module.modules()
    )


# ---------------------------------------------------------------- resolve_layers


def test_resolve_layers_auto_single_string_and_list():
    net = TinyLeNet()
    assert resolve_layers(net, "auto") == ["conv1", "conv2", "fc1", "fc2"]
    assert resolve_layers(net, "fc1") == ["fc1"]
    assert resolve_layers(net, ["fc2", "conv1"]) == ["fc2", "conv1"]  # order kept
    assert resolve_layers(net, ("pool",)) == ["pool"]  # any module, not only feature layers


def test_resolve_layers_nested_names():
    net = nn.Sequential(nn.Sequential(nn.Linear(2, 3), nn.ReLU()), nn.Linear(3, 1))
    assert resolve_layers(net, ["0.0", "0", "1"]) == ["0.0", "0", "1"]


def test_resolve_layers_unknown_name_lists_valid_names_and_suggests():
    with pytest.raises(ValueError) as info:
        resolve_layers(TinyLeNet(), ["conv1", "fc_1"])
    message = str(info.value)
    assert "'fc_1'" in message
    assert "TinyLeNet" in message
    assert "['conv1', 'conv2', 'pool', 'fc1', 'fc2']" in message
    assert "Did you mean 'fc1'?" in message


def test_resolve_layers_unknown_name_without_near_miss_has_no_suggestion():
    with pytest.raises(ValueError, match="available") as info:
        resolve_layers(TinyLeNet(), "zzzzzz")
    assert "Did you mean" not in str(info.value)


@pytest.mark.parametrize("bad", [[0], [""], [None]])
def test_resolve_layers_non_names_are_errors(bad):
    # the root module's name "" is not a layer; nor are integers
    with pytest.raises(ValueError, match="not found"):
        resolve_layers(TinyLeNet(), bad)


def test_resolve_layers_empty_list_is_an_error():
    with pytest.raises(ValueError, match="empty"):
        resolve_layers(TinyLeNet(), [])


def test_resolve_layers_duplicates_are_an_error():
    with pytest.raises(ValueError, match="twice"):
        resolve_layers(TinyLeNet(), ["fc1", "conv1", "fc1"])


# ---------------------------------------------------------------- auto_layers


def test_auto_layers_uses_default_layers_when_the_module_has_them():
    net = WithDefaults()
    assert auto_layers(net) == ["conv2", "fc2"]
    assert resolve_layers(net, "auto") == ["conv2", "fc2"]


def test_auto_layers_all_feature_layers_of_a_small_net():
    net = nn.Sequential(
        nn.Conv1d(2, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(3, 4), nn.Dropout(), nn.Linear(4, 2)
    )
    assert auto_layers(net) == ["0", "3", "5"]
    assert auto_layers(Recurrent()) == ["rnn", "head"]
    assert auto_layers(Recurrent(cell=nn.GRU)) == ["rnn", "head"]


def test_auto_layers_top_level_blocks_of_a_deep_net():
    net = nn.Sequential(*[nn.Sequential(nn.Linear(4, 4), nn.ReLU()) for _ in range(8)])
    assert auto_layers(net) == [str(i) for i in range(8)]


def test_auto_layers_resnet_like_blocks_skip_blocks_without_feature_layers():
    net = nn.Sequential()
    net.add_module("stem", nn.Conv2d(1, 2, 3))
    net.add_module("act", nn.ReLU())
    for i in range(3):
        net.add_module(f"stage{i}", nn.Sequential(nn.Conv2d(2, 2, 3), nn.Conv2d(2, 2, 3)))
    net.add_module("fc", nn.Linear(2, 2))
    assert auto_layers(net) == ["stem", "stage0", "stage1", "stage2", "fc"]


def test_auto_layers_without_feature_layers_is_an_error_naming_modules():
    net = nn.Sequential(nn.ReLU(), nn.Tanh())
    with pytest.raises(ValueError, match=r"layers=\[\.\.\.\].*\['0', '1'\]"):
        auto_layers(net)


# ---------------------------------------------------------------- FeatureTap


def test_feature_tap_shapes_flatten_and_avg():
    _seed()
    net = TinyLeNet().eval()
    x = torch.randn(5, 1, 8, 8)
    layers = ["conv1", "conv2", "pool", "fc1", "fc2"]
    flat = FeatureTap(net, layers)(x)
    assert [tuple(f.shape) for f in flat] == [(5, 128), (5, 192), (5, 48), (5, 5), (5, 2)]
    avg = FeatureTap(net, layers, pooling="avg")(x)
    assert [tuple(f.shape) for f in avg] == [(5, 2), (5, 3), (5, 3), (5, 5), (5, 2)]
    # 2-D outputs are the same either way
    torch.testing.assert_close(avg[3], flat[3])
    torch.testing.assert_close(avg[4], flat[4])


def test_feature_tap_keeps_channels_last_whatever_the_layout():
    _seed()
    net = TinyLeNet().eval()
    x = torch.randn(5, 1, 8, 8)
    layers = ["conv1", "fc2"]
    conv1, fc2 = FeatureTap(net, layers, keep_channels=True)(x)
    # conv1 is (N, 2, 8, 8): 64 positions of 2 channels; fc2 one position of its 2 units
    assert tuple(conv1.shape) == (5, 64, 2) and tuple(fc2.shape) == (5, 1, 2)
    torch.testing.assert_close(conv1[:, :, 1], net.conv1(x)[:, 1].flatten(1))
    torch.testing.assert_close(fc2[:, 0], net(x))
    (avg,) = FeatureTap(net, ["conv1"], pooling="avg", keep_channels=True)(x)
    torch.testing.assert_close(avg[:, 0], net.conv1(x).mean(dim=(2, 3)))
    # recurrent outputs, time first: (L, N, H) becomes (N, L, H)
    rnn = Recurrent(batch_first=False).eval()
    seq = torch.randn(5, 6, 3)
    out, _ = rnn.rnn(seq.transpose(0, 1))
    (kept,) = FeatureTap(rnn, ["rnn"], keep_channels=True)(seq)
    torch.testing.assert_close(kept, out.transpose(0, 1))
    # channels last already (an embedding, a batch-first LSTM): (N, L, D) as it is
    emb = nn.Sequential(nn.Embedding(4, 3), nn.LSTM(3, 2, batch_first=True))
    tokens = torch.randint(0, 4, (5, 7), generator=torch.Generator().manual_seed(0))
    embedded, (lstm_out, _) = emb[0](tokens), emb[1](emb[0](tokens))
    kept_emb, kept_lstm = FeatureTap(emb, ["0", "1"], keep_channels=True)(tokens)
    torch.testing.assert_close(kept_emb, embedded)
    torch.testing.assert_close(kept_lstm, lstm_out)


def test_feature_tap_values_equal_the_layer_outputs():
    _seed()
    net = TinyLeNet().eval()
    x = torch.randn(3, 1, 8, 8)
    conv1, fc2 = FeatureTap(net, ["conv1", "fc2"])(x)
    torch.testing.assert_close(conv1, net.conv1(x).flatten(1))
    torch.testing.assert_close(fc2, net(x))


def test_feature_tap_avg_pooling_on_a_conv_layer_by_hand():
    conv = nn.Conv2d(1, 2, kernel_size=1)
    with torch.no_grad():
        conv.weight[:] = torch.tensor([2.0, -1.0]).view(2, 1, 1, 1)
        conv.bias[:] = torch.tensor([1.0, 0.0])
    net = nn.Sequential(conv)
    x = torch.tensor([[[[0.0, 1.0], [2.0, 5.0]]], [[[4.0, 4.0], [4.0, 4.0]]]])
    # channel 0 = 2x + 1, channel 1 = -x; the means over H, W of x are 2 and 4
    (avg,) = FeatureTap(net, ["0"], pooling="avg")(x)
    torch.testing.assert_close(avg, torch.tensor([[5.0, -2.0], [9.0, -4.0]]))
    (flat,) = FeatureTap(net, ["0"])(x)
    torch.testing.assert_close(
        flat[0], torch.tensor([1.0, 3.0, 5.0, 11.0, 0.0, -1.0, -2.0, -5.0])
    )


def test_feature_tap_avg_pooling_on_conv1d_keeps_channels():
    conv = nn.Conv1d(2, 3, kernel_size=2)
    net = nn.Sequential(conv)
    x = torch.randn(4, 2, 7, generator=torch.Generator().manual_seed(0))
    (avg,) = FeatureTap(net, ["0"], pooling="avg")(x)
    torch.testing.assert_close(avg, conv(x).mean(dim=2))


def test_feature_tap_avg_pooling_on_embeddings_and_token_wise_linear_keeps_channels():
    # nn.Embedding and a Linear applied per token give (N, L, D): channels last, so "avg" is
    # the mean over the L positions (a sequence's mean embedding), not over the D channels
    _seed()
    net = nn.Sequential(nn.Embedding(5, 4), nn.Linear(4, 3)).eval()
    tokens = torch.tensor([[0, 1, 2, 3, 4, 0], [4, 4, 4, 4, 1, 1]])
    emb, lin = FeatureTap(net, ["0", "1"], pooling="avg")(tokens)
    torch.testing.assert_close(emb, net[0](tokens).mean(dim=1))
    torch.testing.assert_close(lin, net(tokens).mean(dim=1))
    assert emb.shape == (2, 4) and lin.shape == (2, 3)
    # the second sequence holds four 4s and two 1s: its mean embedding weighs them so
    expected = (4 * net[0].weight[4] + 2 * net[0].weight[1]) / 6
    torch.testing.assert_close(emb[1], expected)


@pytest.mark.parametrize("name", ["LayerNorm", "RMSNorm"])
def test_feature_tap_avg_pooling_on_norms_keeps_the_axes_they_normalise(name):
    # a norm over one axis, on tokens (N, L, D), keeps D channels; a norm over [C, H, W] after
    # a convolution keeps the convolution's C channels, not the W columns
    if not hasattr(nn, name):
        pytest.skip(f"torch {torch.__version__} has no nn.{name} (it came in torch 2.4)")
    norm = getattr(nn, name)
    _seed()
    tokens = nn.Sequential(nn.Embedding(5, 4), norm(4)).eval()
    ids = torch.tensor([[0, 1, 2, 3, 4, 0], [4, 4, 4, 4, 1, 1]])
    (avg,) = FeatureTap(tokens, ["1"], pooling="avg")(ids)
    torch.testing.assert_close(avg, tokens(ids).mean(dim=1))
    maps = nn.Sequential(nn.Conv2d(1, 3, 3), norm([3, 4, 6])).eval()
    x = torch.randn(2, 1, 6, 8)
    (avg,) = FeatureTap(maps, ["1"], pooling="avg")(x)
    assert avg.shape == (2, 3)
    torch.testing.assert_close(avg, maps(x).mean(dim=(2, 3)))


@pytest.mark.parametrize("batch_first", [False, True])
def test_feature_tap_transformer_layers_give_one_row_per_sample(batch_first):
    # a transformer layer's output is (L, N, E) unless batch_first: the features must still
    # have one row per sample, and "avg" must average over the L tokens
    _seed()
    layer = nn.TransformerEncoderLayer(4, 2, dim_feedforward=8, dropout=0.0,
                                       batch_first=batch_first)
    net = nn.Sequential(nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)).eval()
    x = torch.randn(3, 5, 4) if batch_first else torch.randn(5, 3, 4)  # 3 samples, 5 tokens
    out = net(x) if batch_first else net(x).transpose(0, 1)  # (N, L, E)
    (flat,) = FeatureTap(net, ["0"])(x)
    torch.testing.assert_close(flat, out.flatten(1))
    (avg,) = FeatureTap(net, ["0"], pooling="avg")(x)
    torch.testing.assert_close(avg, out.mean(dim=1))


@pytest.mark.parametrize("cell", [nn.LSTM, nn.GRU])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_feature_tap_recurrent_outputs_batch_first(cell, bidirectional):
    _seed()
    net = Recurrent(cell=cell, bidirectional=bidirectional).eval()
    x = torch.randn(5, 6, 3)
    out, _ = net.rnn(x)
    (flat,) = FeatureTap(net, ["rnn"])(x)
    torch.testing.assert_close(flat, out.flatten(1))
    (avg,) = FeatureTap(net, ["rnn"], pooling="avg")(x)
    torch.testing.assert_close(avg, out.mean(dim=1))  # over time, per hidden unit


def test_feature_tap_recurrent_outputs_time_first_are_per_sample():
    # nn.LSTM's default is batch_first=False: the output is (L, N, H), and
    # features must still have one row per sample
    _seed()
    net = Recurrent(batch_first=False).eval()
    x = torch.randn(5, 6, 3)  # the wrapper transposes to (6, 5, 3)
    out, _ = net.rnn(x.transpose(0, 1))
    per_sample = out.transpose(0, 1)  # (N, L, H)
    (flat,) = FeatureTap(net, ["rnn"])(x)
    torch.testing.assert_close(flat, per_sample.flatten(1))
    (avg,) = FeatureTap(net, ["rnn"], pooling="avg")(x)
    torch.testing.assert_close(avg, per_sample.mean(dim=1))


def test_feature_tap_removes_hooks_after_success_and_stop_early():
    net = TinyLeNet().eval()
    x = torch.randn(2, 1, 8, 8)
    FeatureTap(net, ["conv1", "fc2"])(x)
    assert _no_hooks(net)
    FeatureTap(net, ["conv1"], stop_early=True)(x)
    assert _no_hooks(net)
    FeatureTap(net, ["fc1"], perturb_at="conv1")(x, delta=torch.zeros(2, 2, 8, 8))
    assert _no_hooks(net)


def test_feature_tap_removes_hooks_when_forward_raises():
    net = nn.Sequential(nn.Linear(3, 3), Raises(), nn.Linear(3, 2))
    tap = FeatureTap(net, ["0", "2"], perturb_at="0")
    with pytest.raises(ZeroDivisionError, match="this module ran"):
        tap(torch.zeros(2, 3), delta=torch.zeros(2, 3))
    assert _no_hooks(net)
    # a bad input (wrong width) fails inside forward too
    with pytest.raises(RuntimeError):
        FeatureTap(net, ["0"])(torch.zeros(2, 5))
    assert _no_hooks(net)


def test_feature_tap_stops_early_after_the_last_tapped_layer():
    raiser = Raises()
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2), raiser)
    feats = FeatureTap(net, ["0", "2"])(torch.ones(2, 3))
    assert raiser.calls == 0
    assert [tuple(f.shape) for f in feats] == [(2, 4), (2, 2)]
    assert _no_hooks(net)


def test_feature_tap_without_stop_early_runs_the_whole_forward():
    counter = Counts()
    net = nn.Sequential(nn.Linear(3, 4), counter)
    FeatureTap(net, ["0"], stop_early=False)(torch.ones(2, 3))
    assert counter.calls == 1
    FeatureTap(net, ["0"])(torch.ones(2, 3))
    assert counter.calls == 1  # the default stops before it


def test_feature_tap_only_returns_the_chosen_layers_and_stops_after_them():
    counter = Counts()
    net = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 5), counter, nn.Linear(5, 2))
    tap = FeatureTap(net, ["0", "1", "3"])
    x = torch.ones(2, 3)
    second, first = tap(x, only=[1, 0])
    assert second.shape == (2, 5) and first.shape == (2, 4)
    assert counter.calls == 0
    torch.testing.assert_close(first, net[0](x))


def test_feature_tap_module_called_twice_keeps_the_first_call():
    class Shared(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 2)

        def forward(self, x):
            return self.lin(torch.relu(self.lin(x)))

    _seed()
    net = Shared()
    x = torch.randn(3, 2)
    (feat,) = FeatureTap(net, ["lin"], stop_early=False)(x)
    torch.testing.assert_close(feat, net.lin(x))


def test_feature_tap_layer_never_called_is_an_error_naming_it():
    class Unused(nn.Module):
        def __init__(self):
            super().__init__()
            self.used = nn.Linear(2, 2)
            self.spare = nn.Linear(2, 2)

        def forward(self, x):
            return self.used(x)

    net = Unused()
    with pytest.raises(RuntimeError, match=r"\['spare'\].*not called"):
        FeatureTap(net, ["used", "spare"])(torch.zeros(1, 2))
    assert _no_hooks(net)


class DictHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 3)

    def forward(self, x):
        return {"logits": self.fc(x), "hidden": x}


@pytest.mark.parametrize("layer, where", [("head", "layer 'head' of"), ("", "the whole network")])
def test_feature_tap_of_a_layer_returning_a_dict_names_it_and_the_fix(layer, where):
    net = nn.Sequential()
    net.add_module("head", DictHead())
    with pytest.raises(TypeError, match=rf"The output of {where} Sequential is a dict with keys "
                                        r"\['logits', 'hidden'\].*model\(x\)\['logits'\]"):
        FeatureTap(net, [layer])(torch.zeros(1, 2))
    assert _no_hooks(net)
    # the tensor inside it can be tapped
    assert FeatureTap(net, ["head.fc"])(torch.zeros(4, 2))[0].shape == (4, 3)


def test_feature_tap_delta_on_the_input_equals_tapping_x_plus_delta():
    _seed()
    net = TinyLeNet().eval()
    x = torch.randn(3, 1, 8, 8)
    delta = 0.1 * torch.randn(3, 1, 8, 8)
    tap = FeatureTap(net, ["conv2", "fc2"])
    with_delta = tap(x, delta=delta)
    shifted = tap(x + delta)
    for a, b in zip(with_delta, shifted):
        torch.testing.assert_close(a, b)
    # and the delta matters
    assert not torch.allclose(with_delta[1], tap(x)[1])


def test_feature_tap_perturb_at_adds_delta_to_that_module_output():
    _seed()
    emb = nn.Embedding(5, 3)
    net = nn.Sequential(emb, nn.Flatten(), nn.Linear(4 * 3, 2))
    tokens = torch.tensor([[0, 1, 2, 3], [4, 4, 0, 1]])
    delta = torch.randn(2, 4, 3)
    tap = FeatureTap(net, ["1", "2"], perturb_at="0")
    flat, logits = tap(tokens, delta=delta)
    torch.testing.assert_close(flat, (emb(tokens) + delta).flatten(1))
    torch.testing.assert_close(logits, net[2]((emb(tokens) + delta).flatten(1)))
    # without delta the embedding is untouched
    flat0, _ = tap(tokens)
    torch.testing.assert_close(flat0, emb(tokens).flatten(1))
    # tapping the perturbation point itself sees the perturbed output
    (emb_feats,) = FeatureTap(net, ["0"], perturb_at="0")(tokens, delta=delta)
    torch.testing.assert_close(emb_feats, (emb(tokens) + delta).flatten(1))


def test_feature_tap_gradients_flow_to_delta():
    _seed()
    emb = nn.Embedding(5, 3)
    net = nn.Sequential(emb, nn.Flatten(), nn.Linear(12, 2))
    tokens = torch.tensor([[0, 1, 2, 3]])
    delta = torch.zeros(1, 4, 3, requires_grad=True)
    (logits,) = FeatureTap(net, ["2"], perturb_at="0")(tokens, delta=delta)
    logits[0, 0].backward()
    # d logit_0 / d delta = the first row of the linear weight, reshaped
    torch.testing.assert_close(delta.grad, net[2].weight[0].detach().view(1, 4, 3))


# ---------------------------------------------------------------- perturbation


def test_perturbation_is_epsilon_times_sign_of_the_analytic_gradient():
    # objective: FSSD of a linear layer, ||W (x + delta) - c||; its gradient
    # in delta at 0 is W^T (W x - c) / ||W x - c||
    W = torch.tensor([[1.0, -2.0, 0.5], [3.0, 1.0, -1.0]])
    c = torch.tensor([0.5, -1.0])
    x = torch.tensor([[1.0, 1.0, 1.0], [0.0, 2.0, -1.0], [-3.0, 0.0, 1.0]])
    delta = torch.zeros_like(x, requires_grad=True)
    objective = fssd_distance((x + delta) @ W.T, c)
    step = perturbation(objective, delta, 0.05)
    f = x @ W.T - c
    grad = (f / f.norm(dim=1, keepdim=True)) @ W
    torch.testing.assert_close(step, 0.05 * torch.sign(grad))
    # the first row by hand: W x - c = (-1, 4); W^T (-1, 4) = (11, 6, -4.5)
    torch.testing.assert_close(step[0], torch.tensor([0.05, 0.05, -0.05]))
    assert not step.requires_grad


def test_perturbation_increases_the_objective():
    x = torch.tensor([[1.0, -2.0, 0.5]])
    c = torch.tensor([0.0, 0.0, 0.0])
    delta = torch.zeros_like(x, requires_grad=True)
    before = fssd_distance(x + delta, c)
    step = perturbation(before, delta, 0.1)
    assert float(fssd_distance(x + step, c)) > float(before.detach())


def test_perturbation_is_independent_per_sample():
    _seed()
    net = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3)).eval()
    centre = torch.randn(3)
    x = torch.randn(6, 4)
    tap = FeatureTap(net, ["2"])

    def step(batch):
        delta = torch.zeros_like(batch, requires_grad=True)
        (feats,) = tap(batch, delta=delta)
        return perturbation(fssd_distance(feats, centre), delta, 0.02)

    in_batch = step(x)
    alone = torch.cat([step(x[i : i + 1]) for i in range(len(x))])
    torch.testing.assert_close(in_batch, alone)
    torch.testing.assert_close(in_batch.abs(), torch.full_like(x, 0.02))


def test_perturbation_with_zero_epsilon_is_zero():
    x = torch.tensor([[1.0, -2.0], [3.0, 0.5]])
    delta = torch.zeros_like(x, requires_grad=True)
    step = perturbation(((x + delta) ** 2).sum(dim=1), delta, 0.0)
    assert step.shape == x.shape
    assert torch.equal(step, torch.zeros_like(x))


# ---------------------------------------------------------------- layer_scores


def _tiny_lenet_setup():
    _seed()
    net = TinyLeNet().eval()
    tap = FeatureTap(net, ["conv1", "conv2", "fc1", "fc2"])
    centres = [torch.randn(n) for n in (128, 192, 5, 2)]

    def distance(k, features):
        return fssd_distance(features, centres[k])

    return net, tap, distance, torch.rand(5, 1, 8, 8)


def _zero_delta(x):
    return torch.zeros_like(x, requires_grad=True)


def test_layer_scores_without_epsilon_is_one_pass_without_autograd():
    _, tap, distance, x = _tiny_lenet_setup()
    got = layer_scores(tap, x, distance)
    with torch.no_grad():
        expected = tap(x, reduce=distance)
    for column, want in zip(got, expected):
        torch.testing.assert_close(column, want)
        assert not column.requires_grad


def test_layer_scores_steps_each_layer_along_its_own_gradient():
    _, tap, distance, x = _tiny_lenet_setup()
    got = layer_scores(tap, x, distance, epsilon=0.05, delta=_zero_delta(x), only=[1, 3])
    assert len(got) == 2
    for k, column in zip([1, 3], got):  # the straightforward loop: a pass, a step, a pass
        delta = _zero_delta(x)
        (objective,) = tap(x, delta=delta, only=[k], reduce=distance)
        step = perturbation(objective, delta, 0.05)
        with torch.no_grad():
            (expected,) = tap(x + step, only=[k], reduce=distance)
        torch.testing.assert_close(column, expected, rtol=0, atol=0)


def test_layer_scores_joint_takes_one_step_along_the_summed_gradient():
    _, tap, distance, x = _tiny_lenet_setup()
    got = layer_scores(tap, x, distance, epsilon=0.05, delta=_zero_delta(x), joint=True)
    delta = _zero_delta(x)
    step = perturbation(sum(tap(x, delta=delta, reduce=distance)), delta, 0.05)
    with torch.no_grad():
        expected = tap(x + step, reduce=distance)
    for column, want in zip(got, expected):
        torch.testing.assert_close(column, want, rtol=0, atol=0)


def test_layer_scores_objective_sets_the_step_and_reduce_the_score():
    _, tap, distance, x = _tiny_lenet_setup()

    def away(k, features):
        return -distance(k, features)

    (towards,) = layer_scores(tap, x, distance, epsilon=0.05, objective=away,
                              delta=_zero_delta(x), only=[2])
    (plain,) = layer_scores(tap, x, distance, only=[2])
    assert (towards < plain).all()


def test_layer_scores_of_early_layers_never_run_the_later_ones():
    net, tap, distance, x = _tiny_lenet_setup()
    calls = []
    handle = net.fc1.register_forward_pre_hook(lambda module, args: calls.append(1))
    try:
        layer_scores(tap, x, distance, epsilon=0.05, delta=_zero_delta(x), only=[0, 1])
    finally:
        handle.remove()
    assert calls == []
    assert _no_hooks(net)
