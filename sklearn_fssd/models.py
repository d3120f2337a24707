"""Plain ``torch.nn.Module`` networks for FSSD.

Nothing here imports the rest of the package. Every network takes raw inputs
and lists the layers FSSD should tap in ``default_layers``, the names of
``named_modules()`` that ``FSSDDetector(layers="auto")`` uses.

Raw inputs means: images as float pixels in ``[0, 1]`` of shape
``(N, C, H, W)``, DNA as ``int64`` token ids of shape ``(N, L)`` (see
:data:`DNA_TOKENS`). Image networks standardise inside ``forward`` with a
:class:`Normalize` module whose mean and standard deviation are registered
buffers, so "uniform noise over the input range" (FSSD's singularity probe)
means ``torch.rand`` for every image network, and the statistics travel with
the weights in ``state_dict()``.

Every activation, pooling and dropout step is a module of its own, used once
per forward pass, and none works in place, so that a forward hook on any name
sees exactly one, unmodified output.

All networks return logits (no softmax): train them with
``torch.nn.CrossEntropyLoss`` (skorch's ``NeuralNetClassifier`` defaults to
``NLLLoss`` on probabilities, so pass ``criterion=torch.nn.CrossEntropyLoss``,
as :mod:`sklearn_fssd.training` does).
"""

import torch
from torch import nn

# The networks a user builds; the building blocks (BasicBlock, SequencePool,
# Normalize) and the constants (FMNIST_*, CIFAR10_*, DNA_TOKENS) stay importable
# from this module but are not API.
__all__ = [
    "GenomeLSTM",
    "LeNet",
    "MLP",
    "MLPAutoencoder",
    "ResNet",
    "ResNet18",
    "ResNet34",
]

#: Per-channel pixel mean and standard deviation of the Fashion-MNIST training
#: set (pixels scaled to ``[0, 1]``); the defaults of :class:`LeNet`.
FMNIST_MEAN = (0.2860,)
FMNIST_STD = (0.3530,)

#: Per-channel pixel mean and standard deviation of the CIFAR-10 training set
#: (pixels scaled to ``[0, 1]``); the defaults of :class:`ResNet`.
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)

#: Token alphabet of :class:`GenomeLSTM`: ``DNA_TOKENS.index(base)`` is the id
#: of a base, so A=0, C=1, G=2, T=3, and 4 stands for N and any other symbol.
DNA_TOKENS = "ACGTN"


class MLP(nn.Module):
    """Multi-layer perceptron on flattened inputs.

    Hidden layers are named ``fc1``, ``fc2``, ... and the output layer ``out``,
    each followed by a ReLU (and dropout, if asked) except the output.

    Parameters
    ----------
    in_features : int
        Number of input features after flattening.
    hidden_sizes : tuple of int, default=(64, 32)
        Width of each hidden layer.
    out_features : int, default=2
        Width of the output layer (classes, or logits).
    dropout : float, default=0.0
        Dropout rate after each hidden activation.

    Examples
    --------
    >>> import torch
    >>> net = MLP(4, hidden_sizes=(8,), out_features=3)
    >>> net(torch.zeros(5, 4)).shape
    torch.Size([5, 3])
    >>> net.default_layers
    ['fc1', 'out']
    """

    def __init__(self, in_features, hidden_sizes=(64, 32), out_features=2, dropout=0.0):
        super().__init__()
        self.flatten = nn.Flatten()
        sizes = [int(in_features), *map(int, hidden_sizes)]
        self._hidden_names = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
            setattr(self, f"fc{i}", nn.Linear(n_in, n_out))
            self._hidden_names.append(f"fc{i}")
        self.act = nn.ReLU()
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(sizes[-1], int(out_features))

    @property
    def default_layers(self):
        return [*self._hidden_names, "out"]

    def forward(self, x):
        x = self.flatten(x)
        for name in self._hidden_names:
            x = self.drop(self.act(getattr(self, name)(x)))
        return self.out(x)


class MLPAutoencoder(nn.Module):
    """Fully connected autoencoder: it reconstructs its (flattened) input.

    The encoder layers are ``enc1``, ``enc2``, ... (the last one is the
    bottleneck ``code``); the decoder mirrors them and ends in ``out``, which
    has as many units as the input has features. Reconstruction needs no
    labels; it was :class:`~sklearn_fssd.FSSDDetector`'s network for
    ``model=None`` until the discriminator of
    :func:`~sklearn_fssd.training.train_table_discriminator` measured ahead.

    Parameters
    ----------
    in_features : int
        Number of input features after flattening.
    hidden_sizes : tuple of int, default=(64, 16)
        Widths of the encoder layers; the last is the code size.

    Examples
    --------
    >>> import torch
    >>> ae = MLPAutoencoder(10, hidden_sizes=(8, 3))
    >>> ae(torch.zeros(2, 10)).shape
    torch.Size([2, 10])
    >>> ae.default_layers
    ['enc1', 'code', 'dec1', 'out']
    """

    def __init__(self, in_features, hidden_sizes=(64, 16)):
        super().__init__()
        self.flatten = nn.Flatten()
        sizes = [int(in_features), *map(int, hidden_sizes)]
        n_enc = len(sizes) - 1
        self._encoder = [f"enc{i}" for i in range(1, n_enc)] + ["code"]
        self._decoder = [f"dec{i}" for i in range(1, n_enc)] + ["out"]
        for name, n_in, n_out in zip(self._encoder, sizes[:-1], sizes[1:]):
            setattr(self, name, nn.Linear(n_in, n_out))
        back = sizes[::-1]
        for name, n_in, n_out in zip(self._decoder, back[:-1], back[1:]):
            setattr(self, name, nn.Linear(n_in, n_out))
        self.act = nn.ReLU()

    @property
    def default_layers(self):
        return [*self._encoder, *self._decoder]

    def forward(self, x):
        x = self.flatten(x)
        names = [*self._encoder, *self._decoder]
        for name in names[:-1]:
            x = self.act(getattr(self, name)(x))
        return getattr(self, names[-1])(x)


def _pair(size, name):
    """Return ``size`` as a tuple ``(height, width)`` of ints."""
    if isinstance(size, int):
        return (size, size)
    try:
        height, width = (int(v) for v in size)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} must be an int or a pair (height, width) of ints; got {size!r}."
        ) from exc
    return (height, width)


class Normalize(nn.Module):
    """Standardise images channel-wise: ``(x - mean) / std``.

    ``mean`` and ``std`` are registered buffers of shape ``(1, C, 1, 1)``
    (``C`` may be 1, to broadcast over every channel), so they move with the
    module between devices and are saved in its ``state_dict``.

    Parameters
    ----------
    mean : sequence of float
        Per-channel mean of the raw inputs.
    std : sequence of float
        Per-channel standard deviation of the raw inputs; every entry must be
        positive.

    Examples
    --------
    >>> import torch
    >>> norm = Normalize(mean=(0.5,), std=(0.25,))
    >>> norm(torch.full((1, 1, 2, 2), 0.75)).flatten().tolist()
    [1.0, 1.0, 1.0, 1.0]
    """

    def __init__(self, mean, std):
        super().__init__()
        mean = torch.as_tensor(mean, dtype=torch.float32).reshape(1, -1, 1, 1)
        std = torch.as_tensor(std, dtype=torch.float32).reshape(1, -1, 1, 1)
        if mean.numel() != std.numel() and 1 not in (mean.numel(), std.numel()):
            raise ValueError(
                f"mean and std must have the same number of channels (or one of them 1); "
                f"got {mean.numel()} and {std.numel()}."
            )
        if not bool((std > 0).all()):
            raise ValueError(
                f"std must be positive in every channel; got {std.flatten().tolist()}."
            )
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)

    def forward(self, x):
        return (x - self.mean) / self.std


class LeNet(nn.Module):
    """The convolutional network of the FSSD paper's Fashion-MNIST experiments.

    It is the network of the PyTorch MNIST example: ``conv1`` (32 filters,
    3x3), ReLU, ``conv2`` (64 filters, 3x3), ReLU, 2x2 max-pooling, dropout
    0.25, flatten, ``fc1`` (128 units), ReLU, dropout 0.5 and ``fc2`` (the
    logits). For 28x28 inputs ``fc1`` has 9216 inputs, as in the paper.
    Inputs are raw pixels in ``[0, 1]``; the first module, ``normalize``,
    standardises them with ``mean`` and ``std``.

    Module names, in forward order: ``normalize``, ``conv1``, ``relu1``,
    ``conv2``, ``relu2``, ``pool``, ``dropout1``, ``flatten``, ``fc1``,
    ``relu3``, ``dropout2``, ``fc2``.

    Parameters
    ----------
    in_channels : int, default=1
        Number of input channels.
    num_classes : int, default=10
        Number of classes (width of ``fc2``).
    input_size : int or (int, int), default=28
        Height and width of the input images; at least 6.
    mean : sequence of float, default=FMNIST_MEAN
        Per-channel mean subtracted from the raw pixels (Fashion-MNIST's).
    std : sequence of float, default=FMNIST_STD
        Per-channel standard deviation the pixels are divided by.

    Attributes
    ----------
    default_layers : list of str
        Every stage of the forward pass: ``['conv1', 'relu1', 'conv2',
        'relu2', 'pool', 'fc1', 'relu3', 'fc2']``, each layer on both sides of
        its non-linearity. Without OoD data this set scores higher than the
        paper's four layers on every image case of ``python -m benchmarks
        fssd-defaults`` (see ``benchmarks/results/fssd_defaults.md``).
    paper_layers : tuple of str
        ``('conv1', 'conv2', 'fc1', 'fc2')``, the layers the paper taps; pass
        ``layers=LeNet.paper_layers`` to reproduce it.

    Examples
    --------
    >>> import torch
    >>> net = LeNet()
    >>> net(torch.rand(2, 1, 28, 28)).shape
    torch.Size([2, 10])
    >>> net.fc1.in_features
    9216
    >>> net.default_layers
    ['conv1', 'relu1', 'conv2', 'relu2', 'pool', 'fc1', 'relu3', 'fc2']
    >>> LeNet.paper_layers
    ('conv1', 'conv2', 'fc1', 'fc2')
    """

    paper_layers = ("conv1", "conv2", "fc1", "fc2")

    def __init__(
        self, in_channels=1, num_classes=10, input_size=28, mean=FMNIST_MEAN, std=FMNIST_STD
    ):
        super().__init__()
        height, width = _pair(input_size, "input_size")
        if min(height, width) < 6:
            raise ValueError(
                f"LeNet needs input images of at least 6x6 pixels; got input_size={input_size!r}."
            )
        self.normalize = Normalize(mean, std)
        self.conv1 = nn.Conv2d(int(in_channels), 32, 3, 1)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.relu2 = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.dropout1 = nn.Dropout(0.25)
        self.flatten = nn.Flatten()
        n_flat = 64 * ((height - 4) // 2) * ((width - 4) // 2)
        self.fc1 = nn.Linear(n_flat, 128)
        self.relu3 = nn.ReLU()
        self.dropout2 = nn.Dropout(0.5)
        self.fc2 = nn.Linear(128, int(num_classes))

    @property
    def default_layers(self):
        return ["conv1", "relu1", "conv2", "relu2", "pool", "fc1", "relu3", "fc2"]

    def forward(self, x):
        x = self.relu1(self.conv1(self.normalize(x)))
        x = self.relu2(self.conv2(x))
        x = self.flatten(self.dropout1(self.pool(x)))
        x = self.dropout2(self.relu3(self.fc1(x)))
        return self.fc2(x)


class BasicBlock(nn.Module):
    """Residual block of two 3x3 convolutions, as in CIFAR ResNet-18/34.

    ``relu2(bn2(conv2(relu1(bn1(conv1(x))))) + shortcut(x))``, where
    ``shortcut`` is the identity (an empty ``nn.Sequential``) or, when the
    stride or the width changes, a 1x1 convolution followed by batch norm.

    Parameters
    ----------
    in_planes : int
        Number of input channels.
    planes : int
        Number of output channels.
    stride : int, default=1
        Stride of ``conv1`` and of the shortcut.

    Examples
    --------
    >>> import torch
    >>> block = BasicBlock(16, 32, stride=2)
    >>> block(torch.rand(2, 16, 8, 8)).shape
    torch.Size([2, 32, 4, 4])
    """

    expansion = 1

    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False),
                nn.BatchNorm2d(planes),
            )
        self.relu2 = nn.ReLU()

    def forward(self, x):
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu2(out + self.shortcut(x))


class ResNet(nn.Module):
    """CIFAR-style residual network (He et al., 2016) on raw pixels in ``[0, 1]``.

    The CIFAR variant: a 3x3 stem convolution with stride 1 and no
    max-pooling, four stages of :class:`BasicBlock` with 64, 128, 256 and 512
    channels (stride 2 from the second stage on), global average pooling and
    a linear head. Inputs are standardised inside by ``normalize``. Global
    average pooling makes any input size of at least 8x8 work; the network is
    meant for 32x32 images. Use :class:`ResNet18` or :class:`ResNet34`.

    Module names, in forward order: ``normalize``, ``conv1``, ``bn1``,
    ``relu``, ``layer1``, ``layer2``, ``layer3``, ``layer4``, ``avgpool``,
    ``flatten``, ``linear``; inside a stage, ``layer2.0.conv1`` and so on.

    Parameters
    ----------
    num_blocks : sequence of 4 int, default=(2, 2, 2, 2)
        Number of blocks per stage; ``(2, 2, 2, 2)`` is ResNet-18,
        ``(3, 4, 6, 3)`` ResNet-34.
    num_classes : int, default=10
        Number of classes (width of ``linear``).
    in_channels : int, default=3
        Number of input channels.
    mean : sequence of float, default=CIFAR10_MEAN
        Per-channel mean subtracted from the raw pixels (CIFAR-10's).
    std : sequence of float, default=CIFAR10_STD
        Per-channel standard deviation the pixels are divided by.

    Attributes
    ----------
    default_layers : list of str
        ``['layer1', 'layer2', 'layer3', 'layer4', 'linear']``.

    Examples
    --------
    >>> import torch
    >>> net = ResNet(num_blocks=(1, 1, 1, 1), num_classes=3)
    >>> net(torch.rand(2, 3, 8, 8)).shape
    torch.Size([2, 3])
    """

    def __init__(
        self,
        num_blocks=(2, 2, 2, 2),
        num_classes=10,
        in_channels=3,
        mean=CIFAR10_MEAN,
        std=CIFAR10_STD,
    ):
        super().__init__()
        num_blocks = tuple(int(n) for n in num_blocks)
        if len(num_blocks) != 4 or min(num_blocks) < 1:
            raise ValueError(
                f"num_blocks must be four positive ints, one per stage; got {num_blocks!r}."
            )
        self.normalize = Normalize(mean, std)
        self.conv1 = nn.Conv2d(int(in_channels), 64, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        in_planes = 64
        for i, (planes, stride, n_blocks) in enumerate(
            zip((64, 128, 256, 512), (1, 2, 2, 2), num_blocks), start=1
        ):
            blocks = []
            for block_stride in [stride] + [1] * (n_blocks - 1):
                blocks.append(BasicBlock(in_planes, planes, block_stride))
                in_planes = planes
            setattr(self, f"layer{i}", nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.linear = nn.Linear(512, int(num_classes))

    @property
    def default_layers(self):
        return ["layer1", "layer2", "layer3", "layer4", "linear"]

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(self.normalize(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.linear(self.flatten(self.avgpool(x)))


# The parameters ResNet18 and ResNet34 share (their docstrings fill it in).
_RESNET_PARAMS = """\
    Parameters
    ----------
    num_classes : int, default=10
        Number of classes.
    in_channels : int, default=3
        Number of input channels.
    mean : sequence of float, default=CIFAR10_MEAN
        Per-channel mean subtracted from the raw pixels.
    std : sequence of float, default=CIFAR10_STD
        Per-channel standard deviation the pixels are divided by.
"""


class ResNet18(ResNet):
    __doc__ = f"""CIFAR ResNet-18: :class:`ResNet` with two blocks per stage.

{_RESNET_PARAMS}
    Examples
    --------
    >>> import torch
    >>> net = ResNet18().eval()
    >>> net(torch.rand(2, 3, 32, 32)).shape
    torch.Size([2, 10])
    >>> net.default_layers
    ['layer1', 'layer2', 'layer3', 'layer4', 'linear']
    """

    def __init__(self, num_classes=10, in_channels=3, mean=CIFAR10_MEAN, std=CIFAR10_STD):
        super().__init__((2, 2, 2, 2), num_classes, in_channels, mean, std)


class ResNet34(ResNet):
    __doc__ = f"""CIFAR ResNet-34 (the FSSD paper's CIFAR-10 network): 3, 4, 6, 3 blocks.

{_RESNET_PARAMS}
    Examples
    --------
    >>> import torch
    >>> net = ResNet34(num_classes=100).eval()
    >>> net(torch.rand(2, 3, 32, 32)).shape
    torch.Size([2, 100])
    """

    def __init__(self, num_classes=10, in_channels=3, mean=CIFAR10_MEAN, std=CIFAR10_STD):
        super().__init__((3, 4, 6, 3), num_classes, in_channels, mean, std)


class SequencePool(nn.Module):
    """Pool a sequence of feature vectors over time: ``(N, L, D) -> (N, D)``.

    Parameters
    ----------
    mode : {"max", "mean"}, default="max"
        Maximum or mean over the time axis (axis 1).

    Examples
    --------
    >>> import torch
    >>> x = torch.tensor([[[1.0, 4.0], [3.0, 2.0]]])
    >>> SequencePool("max")(x).tolist()
    [[3.0, 4.0]]
    >>> SequencePool("mean")(x).tolist()
    [[2.0, 3.0]]
    """

    def __init__(self, mode="max"):
        super().__init__()
        if mode not in ("max", "mean"):
            raise ValueError(f"mode must be 'max' or 'mean'; got {mode!r}.")
        self.mode = mode

    def forward(self, x):
        if self.mode == "max":
            return x.amax(dim=1)
        return x.mean(dim=1)

    def extra_repr(self):
        return f"mode={self.mode!r}"


class GenomeLSTM(nn.Module):
    """Bidirectional LSTM classifier of DNA sequences (the paper's genome network).

    Token ids (``int64``, shape ``(N, L)``; A=0, C=1, G=2, T=3 and 4 for N or
    any other symbol, see :data:`DNA_TOKENS`) go through ``embedding``, two
    bidirectional LSTM layers ``lstm1`` and ``lstm2`` (separate modules, so
    each can be tapped; a hook on either sees the tuple
    ``(output, (h_n, c_n))`` that ``nn.LSTM`` returns), ``dropout``, ``pool``
    (max or mean over the sequence) and the linear head ``fc``.

    Parameters
    ----------
    vocab_size : int, default=5
        Number of token ids (the embedding's rows).
    embedding_dim : int, default=32
        Size of a token's embedding.
    hidden_size : int, default=128
        Hidden units per direction of each LSTM; their outputs have
        ``2 * hidden_size`` features.
    num_classes : int, default=10
        Number of classes (width of ``fc``); the genomics OoD benchmark has
        10 in-distribution bacteria classes.
    pooling : {"max", "mean"}, default="max"
        How ``pool`` reduces the sequence of ``lstm2`` outputs.
    dropout : float, default=0.0
        Dropout rate on the ``lstm2`` outputs.
    conv_channels : int, default=0
        With a positive value, a convolutional stem ``conv`` (``Conv1d`` over
        the embedded sequence, ReLU, max-pooling by ``conv_pool``) runs before
        the LSTMs, as in DanQ (Quang & Xie, 2016). It shortens the sequence the
        LSTMs walk by ``conv_pool``, which makes training on CPU several times
        faster. 0 (the default) feeds the embeddings straight to ``lstm1``.
    conv_kernel : int, default=9
        Width of the stem's convolution (odd widths keep the length).
    conv_pool : int, default=5
        Max-pooling window and stride of the stem.

    Attributes
    ----------
    default_layers : list of str
        ``['embedding', 'lstm1', 'lstm2', 'fc']``, with ``'conv'`` after
        ``'embedding'`` when the stem is on: every stage but ``pool`` (the max
        over the sequence of ``lstm2``'s outputs, which ``fc`` reads). With one
        distance per channel, what FSSD reads on token sequences by default,
        its default rules scored higher without ``pool`` on each genome case of
        ``benchmarks/results/fssd_defaults.md``; with one distance per layer
        they scored higher with it (tap it by name then).

    Examples
    --------
    >>> import torch
    >>> net = GenomeLSTM(embedding_dim=4, hidden_size=8, num_classes=3)
    >>> tokens = torch.tensor([[DNA_TOKENS.index(b) for b in "ACGTNACG"]])
    >>> net(tokens).shape
    torch.Size([1, 3])
    >>> net.default_layers
    ['embedding', 'lstm1', 'lstm2', 'fc']
    >>> stem = GenomeLSTM(embedding_dim=4, hidden_size=8, num_classes=3, conv_channels=6)
    >>> stem(tokens).shape, stem.default_layers
    (torch.Size([1, 3]), ['embedding', 'conv', 'lstm1', 'lstm2', 'fc'])
    """

    def __init__(
        self,
        vocab_size=5,
        embedding_dim=32,
        hidden_size=128,
        num_classes=10,
        pooling="max",
        dropout=0.0,
        conv_channels=0,
        conv_kernel=9,
        conv_pool=5,
    ):
        super().__init__()
        self.embedding = nn.Embedding(int(vocab_size), int(embedding_dim))
        lstm_input = int(embedding_dim)
        if conv_channels:
            self.conv = nn.Sequential(
                nn.Conv1d(int(embedding_dim), int(conv_channels), int(conv_kernel),
                          padding=int(conv_kernel) // 2),
                nn.ReLU(),
                nn.MaxPool1d(int(conv_pool), ceil_mode=True),
            )
            lstm_input = int(conv_channels)
        else:
            self.conv = None
        self.lstm1 = nn.LSTM(lstm_input, int(hidden_size), batch_first=True, bidirectional=True)
        self.lstm2 = nn.LSTM(
            2 * int(hidden_size), int(hidden_size), batch_first=True, bidirectional=True
        )
        self.dropout = nn.Dropout(dropout)
        self.pool = SequencePool(pooling)
        self.fc = nn.Linear(2 * int(hidden_size), int(num_classes))

    @property
    def default_layers(self):
        stem = ["conv"] if self.conv is not None else []
        return ["embedding", *stem, "lstm1", "lstm2", "fc"]

    def forward(self, x):
        if x.dim() != 2:
            raise ValueError(
                f"GenomeLSTM expects token ids of shape (n_samples, sequence_length); "
                f"got a tensor of shape {tuple(x.shape)}."
            )
        out = self.embedding(x)
        if self.conv is not None:  # (N, L, E) -> (N, C, L / conv_pool) -> (N, L / conv_pool, C)
            out = self.conv(out.transpose(1, 2)).transpose(1, 2)
        out, _ = self.lstm1(out)
        out, _ = self.lstm2(out)
        return self.fc(self.pool(self.dropout(out)))
