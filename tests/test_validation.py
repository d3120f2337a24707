"""The input checks every detector shares (sklearn_fssd/_validation.py, the converters and
device resolution of sklearn_fssd/_utils.py), on hand-made arrays and networks, no training."""

import re

import numpy as np
import pytest
import torch
from torch import nn

from sklearn_fssd._utils import as_input_array, resolve_device
from sklearn_fssd._validation import (
    LOWEST_SCORE,
    check_float32_range,
    check_network_input,
    lowest_where_unscorable,
    on_finite_rows,
    overflow_rows,
    sample_shape_message,
)

from conftest import SmallCNN


# ------------------------------------------------------- values beyond float32


def test_rows_beyond_float32_are_found_and_float32_rows_never_are():
    X = np.zeros((4, 2, 2))
    X[1, 0, 1] = 1e39
    X[3, 1, 0] = -1e300
    assert overflow_rows(X).tolist() == [False, True, False, True]
    assert not overflow_rows(np.full((3, 2), 3e38, dtype=np.float32)).any()
    assert not overflow_rows(np.full((3, 2), 10**18, dtype=np.int64)).any()


def test_fit_data_beyond_float32_is_an_error_naming_the_rows_and_the_fix():
    X = np.ones((5, 3))
    X[2, 1] = 1e39
    with pytest.raises(ValueError, match=r"beyond the float32 range.*1e\+39.*first row 2.*"
                                         r"StandardScaler"):
        check_float32_range(X)


def test_only_finite_rows_reach_the_combiner():
    seen = []

    def combine(values):
        seen.append(values.copy())
        return values.sum(axis=1)

    values = np.array([[1.0, 2.0], [np.inf, 1.0], [3.0, np.nan], [4.0, 5.0]])
    out = on_finite_rows(values, combine)
    np.testing.assert_array_equal(seen[0], [[1.0, 2.0], [4.0, 5.0]])
    assert out[0] == 3.0 and out[3] == 9.0 and np.isnan(out[1:3]).all()


def test_unscorable_rows_get_the_lowest_finite_score_with_a_warning():
    scores = np.array([[0.5, 1.0], [np.nan, 1.0], [2.0, -np.inf]])
    with pytest.warns(UserWarning, match="2 of the 3 samples given to Det could not be scored"):
        out = lowest_where_unscorable(scores, "Det")
    assert LOWEST_SCORE == -np.finfo(np.float64).max
    np.testing.assert_array_equal(out, [[0.5, 1.0], [LOWEST_SCORE] * 2, [LOWEST_SCORE] * 2])


# ------------------------------------------------------------------- devices


@pytest.mark.parametrize("device", ["cpu", "cpu:0", "auto", torch.device("cpu")])
def test_cpu_and_auto_devices_resolve(device):
    assert resolve_device(device).type in ("cpu", "cuda")


@pytest.mark.parametrize(
    "device, error, message",
    [
        ("meta", ValueError, r"'meta' device.*cannot compute on; valid choices: 'cpu', 'cuda'"),
        (torch.device("meta"), ValueError, r"valid choices: 'cpu', 'cuda', 'cuda:N', 'auto'"),
        ("gpu", ValueError, r"device='gpu' is not a valid torch device; valid choices: 'cpu'"),
        ("", ValueError, r"valid choices: 'cpu'"),
    ],
)
def test_devices_the_detectors_cannot_use_are_refused_listing_the_choices(device, error, message):
    with pytest.raises(error, match=message):
        resolve_device(device)


@pytest.mark.skipif(torch.backends.mps.is_available(), reason="checks the error without MPS")
def test_mps_without_mps_is_refused_listing_the_choices():
    with pytest.raises(RuntimeError, match=r"MPS is not available.*valid choices: 'cpu'"):
        resolve_device("mps")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised without CUDA")
@pytest.mark.parametrize("device", ["cuda", "cuda:1", torch.device("cuda", 0)])
def test_cuda_without_cuda_says_use_cpu_or_auto(device):
    with pytest.raises(RuntimeError, match="CUDA is not available.*device='cpu'.*device='auto'"):
        resolve_device(device)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_index_the_machine_lacks_is_refused():
    n = torch.cuda.device_count()
    with pytest.raises(RuntimeError, match=rf"CUDA device {n}, but this machine has {n}"):
        resolve_device(f"cuda:{n}")


# -------------------------------------------------------------------- inputs


@pytest.mark.parametrize("requires_grad", [False, True])
def test_tensors_are_taken_as_arrays(requires_grad):
    tensor = torch.arange(6, dtype=torch.float32).reshape(2, 3).requires_grad_(requires_grad)
    np.testing.assert_array_equal(as_input_array(tensor), np.arange(6).reshape(2, 3))
    assert as_input_array(tensor.to(torch.bfloat16)).dtype == np.float32


def test_a_dataloader_is_refused_with_the_way_to_collect_it():
    data = torch.utils.data.TensorDataset(torch.zeros(4, 3), torch.zeros(4))
    with pytest.raises(TypeError, match=r"X is a torch DataLoader.*torch.cat\(\[batch\[0\]"):
        as_input_array(torch.utils.data.DataLoader(data, batch_size=2))
    with pytest.raises(TypeError, match="X is a torch TensorDataset"):
        as_input_array(data)


@pytest.mark.parametrize(
    "got, message",
    [
        ((8, 8, 1), r"looks channels-last \(N, H, W, C\).*X.transpose\(0, 3, 1, 2\)"),
        ((64,), r"as many values per sample: X.reshape\(-1, 1, 8, 8\)"),
        ((1, 9, 9), r"shape \(1, 9, 9\), but Det was fitted on samples of shape \(1, 8, 8\)"),
    ],
)
def test_shape_message_names_the_expected_shape_and_the_fix(got, message):
    text = sample_shape_message("X", got, (1, 8, 8), "Det")
    assert "pass an array of shape (n_samples, 1, 8, 8)" in text
    assert re.search(message, text)


# ------------------------------------------------- inputs against the network


class TokenNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(5, 3)
        self.fc = nn.Linear(3, 2)

    def forward(self, x):
        return self.fc(self.emb(x).mean(dim=1))


def probe(network, X):
    tensor = torch.as_tensor(X[:2], dtype=None if X.dtype.kind in "iu" else torch.float32)
    check_network_input(network.eval(), tensor, X.shape, X.dtype)


@pytest.mark.parametrize(
    "network, X, message",
    [
        (SmallCNN(), np.zeros((3, 64)),
         r"X has shape \(3, 64\).*'conv1'.*takes inputs of shape \(N, 1, H, W\).*"
         r"Fix: reshape the rows to images: X.reshape\(-1, 1, 8, 8\)"),
        (SmallCNN(), np.zeros((3, 8, 8, 1)),
         r"X has shape \(3, 8, 8, 1\).*Fix: .*channels-last.*X.transpose\(0, 3, 1, 2\)"),
        (SmallCNN(), np.zeros((3, 1, 10, 10)),
         r"fails on it in its layer 'fc1' \(Linear\(in_features=256.*mat1 and mat2.*"
         r"Fix: pass inputs of the size the network was trained on"),
        (nn.Sequential(nn.Linear(12, 4)), np.zeros((3, 3, 4)),
         r"'0' takes rows of 12 features.*Fix: flatten the samples: X.reshape\(len\(X\), -1\)"),
        (nn.Sequential(nn.Linear(5, 4)), np.zeros((3, 4)),
         r"Fix: pass the 5 columns the network was trained on"),
        (TokenNet(), np.zeros((3, 6), dtype=bool),
         r"layer 'emb' \(Embedding\(5, 3\)\).*integer token ids in \[0, 5\).*"
         r"X has dtype bool\): X.astype\(np.int64\)"),
    ],
    ids=["flat-rows-into-cnn", "channels-last", "10x10-into-8x8", "3d-into-mlp",
         "too-few-columns", "bool-into-embedding"],
)
def test_a_forward_pass_that_fails_becomes_an_error_naming_shape_and_fix(network, X, message):
    with pytest.raises(ValueError, match=message):
        probe(network, X)
    # the probe leaves no hook behind
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in network.modules())


def test_inputs_the_network_takes_pass_the_probe():
    probe(SmallCNN(), np.zeros((3, 1, 8, 8), dtype=np.float32))
    probe(TokenNet(), np.zeros((3, 6), dtype=np.int64))
