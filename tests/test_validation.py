"""The input checks every detector shares (sklearn_fssd/_validation.py, the converters and
device resolution of sklearn_fssd/_utils.py), on hand-made arrays and networks, no training."""

import numpy as np
import pytest
import torch

from sklearn_fssd._utils import as_input_array, resolve_device


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
