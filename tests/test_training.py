"""Tests of one-call training and of saving/loading weights (tiny data, 1-2 epochs)."""

import os
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch
from skorch import NeuralNetClassifier
from skorch.dataset import ValidSplit

from sklearn_fssd.datasets import CorruptDataError
from sklearn_fssd.models import MLP, GenomeLSTM, LeNet, ResNet18
from sklearn_fssd.training import (
    load_weights,
    save_weights,
    train_classifier,
    train_genome_lstm,
    train_lenet,
    train_resnet,
)

requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def _images(n, channels=1, size=12, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, channels, size, size), dtype=np.float32)
    y = np.arange(n) % 3
    X[y == 1, :, : size // 2] *= 0.2  # a little signal, so training has something to fit
    return X, y


def _state_equal(a, b):
    a, b = a.state_dict(), b.state_dict()
    return a.keys() == b.keys() and all(torch.equal(a[k].cpu(), b[k].cpu()) for k in a)


@pytest.fixture(scope="module")
def lenet_net():
    X, y = _images(24)
    return train_lenet(X, y, max_epochs=2, batch_size=8), X, y


# --------------------------------------------------------------------------
# training
# --------------------------------------------------------------------------


def test_train_lenet_returns_fitted_classifier(lenet_net):
    net, X, y = lenet_net
    assert isinstance(net, NeuralNetClassifier)
    assert isinstance(net.module_, LeNet)
    # architecture read from the data: 1 channel, 12x12 images, 3 classes
    assert net.module_.conv1.in_channels == 1
    assert net.module_.fc1.in_features == 64 * 4 * 4
    assert net.module_.fc2.out_features == 3
    assert len(net.history) == 2
    pred = net.predict(X)
    assert pred.shape == (len(X),) and set(pred) <= {0, 1, 2}
    proba = net.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert isinstance(net.criterion_, torch.nn.CrossEntropyLoss)


def test_train_lenet_uses_the_paper_recipe(lenet_net):
    net, _, _ = lenet_net
    assert isinstance(net.optimizer_, torch.optim.Adadelta)
    assert net.batch_size == 8 and net.train_split is None
    # StepLR with gamma 0.7, stepped once per epoch: 1.0 -> 0.7 -> 0.49
    assert net.optimizer_.param_groups[0]["lr"] == pytest.approx(0.7**2)
    assert net.iterator_train__shuffle is True


def test_same_random_state_gives_identical_weights():
    X, y = _images(16)
    torch.manual_seed(123)
    first = train_lenet(X, y, max_epochs=2, batch_size=4, random_state=3)
    torch.manual_seed(999)  # the global state must not matter
    second = train_lenet(X, y, max_epochs=2, batch_size=4, random_state=3)
    other = train_lenet(X, y, max_epochs=1, batch_size=4, random_state=4)
    assert _state_equal(first.module_, second.module_)
    assert not _state_equal(first.module_, other.module_)


def test_training_leaves_the_global_random_state_alone():
    X, y = _images(8)
    before = torch.random.get_rng_state()
    train_lenet(X, y, max_epochs=1, batch_size=4, random_state=0)
    assert torch.equal(torch.random.get_rng_state(), before)


def test_verbose_prints_only_on_request(capsys):
    X, y = _images(8)
    train_lenet(X, y, max_epochs=1, batch_size=4)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    train_lenet(X, y, max_epochs=2, batch_size=4, verbose=True)
    captured = capsys.readouterr()
    # one epoch bar with the loss, no skorch table (its colour codes litter logs)
    assert captured.out == "" and "\x1b[" not in captured.err
    assert "2/2" in captured.err and "train_loss=" in captured.err
    train_lenet(X, y, max_epochs=1, batch_size=4, verbose=2)
    assert "train_loss" in capsys.readouterr().out  # skorch's own table on request


def test_train_split_holds_out_a_validation_fraction():
    X, y = _images(12)
    net = train_lenet(X, y, max_epochs=1, batch_size=4, train_split=0.25)
    assert isinstance(net.train_split, ValidSplit)
    assert "valid_loss" in net.history[-1] and "valid_acc" in net.history[-1]
    with pytest.raises(ValueError, match="train_split"):
        train_lenet(X, y, max_epochs=1, train_split=1.5)


def test_train_classifier_is_generic():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 4))  # float64 becomes float32
    y = (X[:, 0] > 0).astype(np.int32)  # int32 becomes int64
    net = train_classifier(
        MLP, X, y, module__in_features=4, lr=0.05, max_epochs=2, batch_size=10
    )
    assert isinstance(net.module_, MLP) and isinstance(net.optimizer_, torch.optim.Adam)
    assert net.predict(X.astype(np.float32)).shape == (30,)


def test_train_resnet_on_a_batch_of_two():
    X, y = _images(2, channels=3, size=8)
    net = train_resnet(X, [0, 1], depth=18, max_epochs=1, batch_size=2, schedule="step")
    assert isinstance(net.module_, ResNet18)
    assert net.module_.linear.out_features == 2
    assert isinstance(net.optimizer_, torch.optim.SGD)
    group = net.optimizer_.param_groups[0]
    assert (group["momentum"], group["weight_decay"]) == (0.9, 5e-4)
    assert net.predict(X).shape == (2,)


def test_train_resnet_rejects_bad_options():
    X, y = _images(2, channels=3, size=8)
    with pytest.raises(ValueError, match="depth"):
        train_resnet(X, y, depth=50)
    with pytest.raises(ValueError, match="schedule"):
        train_resnet(X, y, schedule="linear")


def test_train_genome_lstm():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 5, size=(8, 12))
    y = np.arange(8) % 2
    net = train_genome_lstm(
        X, y, max_epochs=1, batch_size=4, module__embedding_dim=3, module__hidden_size=4
    )
    assert isinstance(net.module_, GenomeLSTM) and isinstance(net.optimizer_, torch.optim.Adam)
    assert net.module_.fc.out_features == 2
    assert net.predict(X).shape == (8,)
    with pytest.raises(ValueError, match="token ids"):
        train_genome_lstm(X.astype(np.float32), y)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"y": ["a", "b", "a", "b"]}, "LabelEncoder"),
        ({"y": [0, 1, 0]}, "different numbers of samples"),
        ({"y": [0, -1, 0, 1]}, "class indices"),
        ({"y": [[0], [1], [0], [1]]}, "1-D"),
        ({"X": np.zeros((4, 12, 12), dtype=np.float32)}, r"X\[:, None\]"),
        ({"random_state": "seed"}, "random_state"),
        ({"random_state": -1}, "random_state"),
    ],
)
def test_training_input_errors(kwargs, match):
    X, y = _images(4)
    args = {"X": X, "y": y, **kwargs}
    with pytest.raises(ValueError, match=match):
        train_lenet(args.pop("X"), args.pop("y"), max_epochs=1, **args)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error where CUDA is missing")
def test_cuda_requested_without_cuda_is_a_clear_error():
    X, y = _images(4)
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        train_lenet(X, y, max_epochs=1, device="cuda")


@pytest.mark.cuda
@requires_cuda
def test_train_on_cuda_and_load_on_cpu(tmp_path):
    X, y = _images(8)
    net = train_lenet(X, y, max_epochs=1, batch_size=4, device="cuda")
    assert next(net.module_.parameters()).is_cuda
    again = train_lenet(X, y, max_epochs=1, batch_size=4, device="cuda")
    for a, b in zip(net.module_.parameters(), again.module_.parameters()):
        torch.testing.assert_close(a, b)  # cuDNN may differ in the last bits only
    path = save_weights(net, tmp_path / "cuda.pt")
    module = load_weights(LeNet(input_size=12, num_classes=3), path, device="cpu").eval()
    assert next(module.parameters()).device.type == "cpu"
    x = torch.from_numpy(X)
    with torch.no_grad():
        torch.testing.assert_close(module(x), net.module_.eval()(x.cuda()).cpu())


# --------------------------------------------------------------------------
# saving and loading
# --------------------------------------------------------------------------


def test_save_load_round_trip_gives_identical_outputs(lenet_net, tmp_path):
    net, X, _ = lenet_net
    path = save_weights(net, tmp_path / "cache" / "lenet.pt")  # parent folder is created
    assert os.path.isfile(path)
    module = LeNet(input_size=12, num_classes=3)
    assert load_weights(module, path) is module
    trained = net.module_.eval()
    module.eval()
    x = torch.from_numpy(X)
    with torch.no_grad():
        assert torch.equal(module(x), trained(x))
    assert _state_equal(module, trained)


def test_load_into_a_skorch_net(lenet_net, tmp_path):
    net, X, _ = lenet_net
    path = save_weights(net.module_, tmp_path / "lenet.pt")
    fresh = NeuralNetClassifier(
        LeNet,
        module__input_size=12,
        module__num_classes=3,
        criterion=torch.nn.CrossEntropyLoss,
    )
    load_weights(fresh, path)  # initialized on the way
    np.testing.assert_array_equal(fresh.predict(X), net.predict(X))


def test_saved_file_is_a_plain_state_dict_written_atomically(tmp_path):
    module = MLP(3, hidden_sizes=(2,), out_features=2)
    path = tmp_path / "mlp.pt"
    path.write_bytes(b"stale content")  # overwritten in one step
    save_weights(module, path)
    state = torch.load(path, weights_only=True)
    assert list(state) == list(module.state_dict())
    assert os.listdir(tmp_path) == ["mlp.pt"]  # no temporary file left behind


def test_loading_the_wrong_architecture_is_a_clear_error(tmp_path):
    path = save_weights(LeNet(input_size=12, num_classes=10), tmp_path / "lenet.pt")
    target = LeNet(input_size=12, num_classes=5)
    before = {k: v.clone() for k, v in target.state_dict().items()}
    with pytest.raises(ValueError, match=r"shape mismatches: 'fc2\.weight': file \(10, 128\)"):
        load_weights(target, path)
    assert all(torch.equal(before[k], v) for k, v in target.state_dict().items())  # untouched

    with pytest.raises(ValueError, match="do not fit this GenomeLSTM") as info:
        load_weights(GenomeLSTM(embedding_dim=2, hidden_size=2), path)
    message = str(info.value)
    assert "missing keys" in message and "'embedding.weight'" in message
    assert "unexpected keys" in message and "'conv1.weight'" in message
    assert "constructor arguments" in message


def test_loading_something_else_is_a_clear_error(tmp_path):
    not_a_state_dict = tmp_path / "list.pt"
    torch.save([torch.zeros(1)], not_a_state_dict)
    with pytest.raises(ValueError, match="does not hold a state dict"):
        load_weights(MLP(3), not_a_state_dict)
    unsafe = tmp_path / "object.pt"
    torch.save({"x": Fraction(1, 2)}, unsafe)  # refused by weights_only=True
    with pytest.raises(ValueError, match="weights_only=True refused it"):
        load_weights(MLP(3), unsafe)


def test_save_needs_a_module_or_an_initialized_net(tmp_path):
    with pytest.raises(ValueError, match="not initialized"):
        save_weights(NeuralNetClassifier(LeNet), tmp_path / "x.pt")
    with pytest.raises(TypeError, match="torch.nn.Module or a skorch net"):
        save_weights({"weights": 1}, tmp_path / "x.pt")
    assert not any(tmp_path.iterdir())


def _small_weights(tmp_path):
    torch.manual_seed(0)
    module = MLP(3, hidden_sizes=(4,), out_features=2)
    return module, save_weights(module, tmp_path / "mlp.pt")


def _tensor_record_offset(path):
    """Offset of the first byte of a tensor's data inside a torch.save zip file."""
    import struct
    import zipfile

    with zipfile.ZipFile(path) as archive:
        info = next(i for i in archive.infolist() if "/data/" in i.filename)
    header = Path(path).read_bytes()[info.header_offset: info.header_offset + 30]
    name_len, extra_len = struct.unpack("<HH", header[26:30])  # the zip local file header
    return info.header_offset + 30 + name_len + extra_len


def test_a_flipped_byte_in_the_weights_is_a_clear_error(tmp_path):
    _, path = _small_weights(tmp_path)
    raw = bytearray(Path(path).read_bytes())
    raw[_tensor_record_offset(path) + 1] ^= 0x10  # one weight changes; torch.load accepts it
    Path(path).write_bytes(bytes(raw))
    target = MLP(3, hidden_sizes=(4,), out_features=2)
    before = {k: v.clone() for k, v in target.state_dict().items()}
    with pytest.raises(CorruptDataError, match="is corrupt or was altered") as info:
        load_weights(target, path)
    message = str(info.value)
    assert repr(path) in message and "save the weights again with save_weights" in message
    assert info.value.expected != info.value.actual and info.value.path == path
    assert all(torch.equal(before[k], v) for k, v in target.state_dict().items())  # untouched


def test_no_single_flipped_byte_loads_other_weights_silently(tmp_path):
    """Wherever the damage is (zip directory, pickle, tensor data), the file is refused with
    an error naming it, or loads exactly the weights that were saved."""
    module, path = _small_weights(tmp_path)
    good = Path(path).read_bytes()
    rng = np.random.default_rng(0)
    data_start = _tensor_record_offset(path)
    positions = set(range(data_start, data_start + 64)) | set(rng.choice(len(good), 250).tolist())
    refused = 0
    for position in sorted(positions):
        raw = bytearray(good)
        raw[position] ^= 0x10
        Path(path).write_bytes(bytes(raw))
        target = MLP(3, hidden_sizes=(4,), out_features=2)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch warns about odd pickle protocols
                load_weights(target, path)
        except (CorruptDataError, ValueError) as exc:
            assert repr(path) in str(exc), (position, exc)
            refused += 1
            continue
        assert _state_equal(target, module), f"byte {position} changed the weights silently"
    assert refused >= 64  # every byte of the tensor data at least


def test_empty_or_truncated_weights_file_is_a_clear_error(tmp_path):
    _, path = _small_weights(tmp_path)
    good = Path(path).read_bytes()
    Path(path).write_bytes(b"")
    with pytest.raises(CorruptDataError, match=r"is empty \(0 bytes\)") as info:
        load_weights(MLP(3, hidden_sizes=(4,), out_features=2), path)
    assert repr(path) in str(info.value) and "save_weights" in str(info.value)
    Path(path).write_bytes(good[: len(good) // 2])
    with pytest.raises(CorruptDataError, match="truncated or corrupt") as info:
        load_weights(MLP(3, hidden_sizes=(4,), out_features=2), path)
    assert repr(path) in str(info.value) and "save_weights" in str(info.value)


def test_weights_without_a_digest_load_with_a_warning(tmp_path):
    """Files written by torch.save (or an older sklearn-fssd) cannot be checked: said so."""
    torch.manual_seed(0)
    module = MLP(3, hidden_sizes=(4,), out_features=2)
    path = tmp_path / "plain.pt"
    torch.save(module.state_dict(), path)
    target = MLP(3, hidden_sizes=(4,), out_features=2)
    with pytest.warns(UserWarning, match="no integrity digest.*save_weights") as record:
        load_weights(target, path)
    assert str(path) in str(record[0].message)
    assert _state_equal(target, module)


def test_interrupted_save_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    module, path = _small_weights(tmp_path)
    old = Path(path).read_bytes()

    def killed(obj, fh):
        fh.write(b"the first bytes of a new file")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", killed)
    with pytest.raises(KeyboardInterrupt):
        save_weights(MLP(3, hidden_sizes=(4,), out_features=2), path)
    assert Path(path).read_bytes() == old and os.listdir(tmp_path) == ["mlp.pt"]


def test_table_discriminator_tells_the_rows_from_noise_and_is_seeded():
    from sklearn_fssd.training import train_table_discriminator

    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 4)) * [1.0, 10.0, 0.1, 1.0] + [0.0, 50.0, -3.0, 0.0]
    net = train_table_discriminator(X, max_epochs=100, random_state=0)
    noise = rng.uniform(X.min(0), X.max(0), size=(300, 4))
    with torch.inference_mode():
        p_rows = net(torch.as_tensor(X, dtype=torch.float32)).softmax(1)[:, 1]
        p_noise = net(torch.as_tensor(noise, dtype=torch.float32)).softmax(1)[:, 1]
    # class 1 is X: the rows score higher than uniform noise over their range
    assert p_rows.mean() > p_noise.mean() + 0.2
    # inputs are standardised inside the network, with X's own moments
    assert torch.allclose(net.standardize.mean, torch.as_tensor(X.mean(0), dtype=torch.float32))
    again = train_table_discriminator(X, max_epochs=100, random_state=0)
    for a, b in zip(net.state_dict().values(), again.state_dict().values()):
        assert torch.equal(a, b)
