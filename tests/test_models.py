"""Tests of the model zoo: shapes, tappable layers, normalisation inside, LSTM tuples."""

import ast
from pathlib import Path

import pytest
import torch
from torch import nn

from sklearn_fssd import models
from sklearn_fssd.models import (
    CIFAR10_MEAN,
    CIFAR10_STD,
    DNA_TOKENS,
    FMNIST_MEAN,
    FMNIST_STD,
    MLP,
    BasicBlock,
    GenomeLSTM,
    LeNet,
    MLPAutoencoder,
    Normalize,
    ResNet,
    ResNet18,
    ResNet34,
    SequencePool,
)


def _tokens(n, length, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, len(DNA_TOKENS), (n, length), generator=gen)


def _images(n, channels, size, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(n, channels, size, size, generator=gen)


# (factory, input, expected output shape); every batch is tiny, ResNets get 2 samples.
CASES = {
    "MLP": (lambda: MLP(6, hidden_sizes=(5, 4), out_features=3), lambda: torch.rand(3, 6), (3, 3)),
    "MLPAutoencoder": (
        lambda: MLPAutoencoder(6, hidden_sizes=(4, 2)),
        lambda: torch.rand(3, 6),
        (3, 6),
    ),
    "LeNet": (LeNet, lambda: _images(3, 1, 28), (3, 10)),
    "LeNet-rgb32": (
        lambda: LeNet(in_channels=3, num_classes=4, input_size=32),
        lambda: _images(2, 3, 32),
        (2, 4),
    ),
    "ResNet18": (ResNet18, lambda: _images(2, 3, 32), (2, 10)),
    "ResNet34": (lambda: ResNet34(num_classes=7), lambda: _images(2, 3, 32), (2, 7)),
    "GenomeLSTM": (
        lambda: GenomeLSTM(embedding_dim=4, hidden_size=6, num_classes=3),
        lambda: _tokens(3, 15),
        (3, 3),
    ),
}


@pytest.fixture(scope="module")
def built():
    """Build each network once for the module (the ResNets take a moment)."""
    torch.manual_seed(0)
    return {name: factory().eval() for name, (factory, _, _) in CASES.items()}


@pytest.mark.parametrize("name", list(CASES))
def test_output_shapes(built, name):
    _, make_input, shape = CASES[name]
    with torch.no_grad():
        out = built[name](make_input())
    assert out.shape == shape
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", list(CASES))
def test_default_layers_exist_and_produce_features(built, name):
    net = built[name]
    _, make_input, _ = CASES[name]
    x = make_input()
    modules = dict(net.named_modules())
    layers = net.default_layers
    assert isinstance(layers, list) and layers
    assert set(layers) <= set(modules), set(layers) - set(modules)

    captured = {}

    def hook_for(layer):
        def hook(module, inputs, output):
            captured.setdefault(layer, []).append(output)

        return hook

    handles = [modules[layer].register_forward_hook(hook_for(layer)) for layer in layers]
    try:
        with torch.no_grad():
            net(x)
    finally:
        for handle in handles:
            handle.remove()

    assert list(captured) == layers  # every layer fired, in forward order
    for layer, outputs in captured.items():
        assert len(outputs) == 1, f"{layer} ran {len(outputs)} times in one forward"
        output = outputs[0]
        if isinstance(output, tuple):  # nn.LSTM: (output, (h_n, c_n))
            output = output[0]
        features = output.reshape(output.shape[0], -1)
        assert features.shape[0] == x.shape[0]
        assert features.shape[1] > 0
        assert torch.isfinite(features).all()


def test_default_layers_per_model(built):
    assert built["LeNet"].default_layers == ["conv1", "relu1", "conv2", "relu2", "pool", "fc1",
                                             "relu3", "fc2"]
    assert built["LeNet"].paper_layers == ("conv1", "conv2", "fc1", "fc2")
    assert built["ResNet18"].default_layers == ["layer1", "layer2", "layer3", "layer4", "linear"]
    assert built["ResNet34"].default_layers == built["ResNet18"].default_layers
    assert built["GenomeLSTM"].default_layers == ["embedding", "lstm1", "lstm2", "fc"]


def test_lenet_is_the_pytorch_mnist_example(built):
    net = built["LeNet"]
    conv1, conv2 = net.conv1, net.conv2
    assert (conv1.in_channels, conv1.out_channels, conv1.kernel_size) == (1, 32, (3, 3))
    assert (conv2.in_channels, conv2.out_channels, conv2.kernel_size) == (32, 64, (3, 3))
    assert (net.fc1.in_features, net.fc1.out_features) == (9216, 128)
    assert (net.fc2.in_features, net.fc2.out_features) == (128, 10)
    assert isinstance(net.pool, nn.MaxPool2d)
    assert (net.dropout1.p, net.dropout2.p) == (0.25, 0.5)
    # 1,199,882 weights, as in the example (the normalisation buffers are not parameters)
    assert sum(p.numel() for p in net.parameters()) == 1_199_882


def test_lenet_input_size_is_a_parameter():
    net = LeNet(in_channels=2, num_classes=3, input_size=(12, 16))
    assert net.fc1.in_features == 64 * 4 * 6
    assert net(torch.rand(2, 2, 12, 16)).shape == (2, 3)
    with pytest.raises(ValueError, match="at least 6x6"):
        LeNet(input_size=5)
    with pytest.raises(ValueError, match="input_size"):
        LeNet(input_size="large")


def test_resnet_architecture(built):
    for name, counts, n_params in [
        ("ResNet18", (2, 2, 2, 2), 11_173_962),
        ("ResNet34", (3, 4, 6, 3), None),
    ]:
        net = built[name]
        assert tuple(len(getattr(net, f"layer{i}")) for i in range(1, 5)) == counts
        blocks = [b for i in range(1, 5) for b in getattr(net, f"layer{i}")]
        assert all(isinstance(b, BasicBlock) for b in blocks)
        # CIFAR stem: one 3x3 convolution with stride 1, and no max-pooling anywhere
        assert net.conv1.kernel_size == (3, 3) and net.conv1.stride == (1, 1)
        assert not any(isinstance(m, nn.MaxPool2d) for m in net.modules())
        assert isinstance(net.bn1, nn.BatchNorm2d) and isinstance(net.linear, nn.Linear)
        if n_params is not None:  # the count of the well-known CIFAR ResNet-18
            assert sum(p.numel() for p in net.parameters()) == n_params
    assert built["ResNet34"].linear.out_features == 7
    with pytest.raises(ValueError, match="four positive ints"):
        ResNet(num_blocks=(2, 2, 2))


def test_hooks_see_outputs_before_activation(built):
    """No activation works in place: a hook on a batch norm sees negative values."""
    net = built["ResNet18"]
    seen = []
    handle = net.bn1.register_forward_hook(lambda m, i, o: seen.append(o.clone()))
    try:
        with torch.no_grad():
            net(_images(2, 3, 32))
    finally:
        handle.remove()
    assert (seen[0] < 0).any()
    assert not any(getattr(m, "inplace", False) for m in net.modules())


@pytest.mark.parametrize(
    "name, mean, std",
    [("LeNet", FMNIST_MEAN, FMNIST_STD), ("ResNet18", CIFAR10_MEAN, CIFAR10_STD)],
)
def test_normalisation_happens_inside(built, name, mean, std):
    net = built[name]
    x = _images(2, len(mean), 28 if name == "LeNet" else 32, seed=1)
    with torch.no_grad():
        out_raw = net(x)
        standardised = (x - torch.tensor(mean).view(1, -1, 1, 1)) / torch.tensor(std).view(
            1, -1, 1, 1
        )
        normalize, net.normalize = net.normalize, nn.Identity()
        try:
            out_standardised = net(standardised)
        finally:
            net.normalize = normalize
    torch.testing.assert_close(out_raw, out_standardised, rtol=1e-4, atol=1e-5)
    # the statistics are buffers: saved with the weights, never trained
    state = net.state_dict()
    assert torch.allclose(state["normalize.mean"].flatten(), torch.tensor(mean))
    assert torch.allclose(state["normalize.std"].flatten(), torch.tensor(std))
    assert "normalize.mean" not in dict(net.named_parameters())


def test_normalize_module():
    norm = Normalize(mean=(0.5, 0.25), std=(0.5, 0.25))
    x = torch.stack([torch.full((3, 3), 0.5), torch.full((3, 3), 0.25)])[None]
    assert torch.equal(norm(x), torch.zeros_like(x))  # the mean maps to zero
    expected = torch.stack([torch.full((3, 3), 1.0), torch.full((3, 3), 3.0)])[None]
    assert torch.equal(norm(torch.ones_like(x)), expected)
    with pytest.raises(ValueError, match="positive"):
        Normalize(mean=(0.5,), std=(0.0,))
    with pytest.raises(ValueError, match="same number of channels"):
        Normalize(mean=(0.5, 0.5), std=(0.2, 0.2, 0.2))


def test_genome_lstm_tuple_outputs_and_pooling():
    torch.manual_seed(0)
    net = GenomeLSTM(embedding_dim=3, hidden_size=5, num_classes=2).eval()
    x = _tokens(4, 9)
    outputs = {}
    def keep(name):
        return lambda module, inputs, output: outputs.update({name: output})

    handles = [
        getattr(net, name).register_forward_hook(keep(name))
        for name in ("embedding", "lstm1", "lstm2", "pool")
    ]
    try:
        with torch.no_grad():
            net(x)
    finally:
        for handle in handles:
            handle.remove()
    assert outputs["embedding"].shape == (4, 9, 3)
    for name in ("lstm1", "lstm2"):
        seq, (h_n, c_n) = outputs[name]
        assert seq.shape == (4, 9, 10)  # bidirectional: 2 * hidden_size features per step
        assert h_n.shape == c_n.shape == (2, 4, 5)
    torch.testing.assert_close(outputs["pool"], outputs["lstm2"][0].amax(dim=1))

    mean_net = GenomeLSTM(embedding_dim=3, hidden_size=5, num_classes=2, pooling="mean")
    assert mean_net.pool.mode == "mean"
    with pytest.raises(ValueError, match="'max' or 'mean'"):
        GenomeLSTM(pooling="sum")
    with pytest.raises(ValueError, match=r"\(n_samples, sequence_length\)"):
        net(x[None])


def test_dna_tokens_and_sequence_pool():
    assert [DNA_TOKENS.index(b) for b in "ACGTN"] == [0, 1, 2, 3, 4]
    x = torch.tensor([[[1.0, -2.0], [0.0, 4.0], [2.0, 1.0]]])
    assert SequencePool("max")(x).tolist() == [[2.0, 4.0]]
    assert SequencePool("mean")(x).tolist() == [[1.0, 1.0]]
    with pytest.raises(ValueError, match="mode"):
        SequencePool("median")


def test_uniform_noise_is_a_valid_input(built):
    """FSSD's probe, torch.rand over the input range, runs through every image network."""
    for name in ("LeNet", "ResNet18"):
        _, make_input, shape = CASES[name]
        noise = torch.rand_like(make_input())
        with torch.no_grad():
            assert torch.isfinite(built[name](noise)).all()


def test_models_module_imports_nothing_of_the_package():
    tree = ast.parse(Path(models.__file__).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0 and not (node.module or "").startswith("sklearn_fssd")
        elif isinstance(node, ast.Import):
            assert not any(alias.name.startswith("sklearn_fssd") for alias in node.names)
