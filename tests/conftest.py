"""Shared fixtures: small trained networks and data, built once per session."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from torch import nn

from sklearn_fssd.singularity import shuffle_within_rows


class SmallCNN(nn.Module):
    """A CNN for 8x8 digits with BatchNorm and Dropout (state a detector must not touch)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.drop = nn.Dropout(0.3)
        self.fc1 = nn.Linear(16 * 4 * 4, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = self.pool(torch.relu(self.conv2(x)))
        x = self.drop(x.flatten(1))
        x = torch.relu(self.fc1(x))
        return self.fc2(x)


@pytest.fixture(scope="session")
def digits():
    """Digits as (N, 1, 8, 8) float32 in [0, 1], with labels, split in two halves."""
    data = load_digits()
    X = (data.images / 16.0).astype(np.float32)[:, None]
    y = data.target.astype(np.int64)
    rng = np.random.RandomState(0)
    order = rng.permutation(len(X))
    X, y = X[order], y[order]
    half = len(X) // 2
    return X[:half], y[:half], X[half:], y[half:]


@pytest.fixture(scope="session")
def trained_cnn(digits):
    """SmallCNN trained a few epochs on half of the digits, through skorch."""
    from skorch import NeuralNetClassifier

    X_train, y_train, _, _ = digits
    torch.manual_seed(0)
    net = NeuralNetClassifier(
        SmallCNN,
        criterion=nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=3e-3,
        max_epochs=8,
        batch_size=64,
        train_split=None,
        verbose=0,
    )
    return net.fit(X_train, y_train)


def permuted_pixels(X, seed=0):
    """Each image with its pixels shuffled: same pixel statistics, no digit."""
    return shuffle_within_rows(X, np.random.RandomState(seed))


@pytest.fixture(scope="session")
def digits_ood(digits):
    """OoD inputs for the digits: uniform noise and pixel-shuffled digits."""
    _, _, X_test, _ = digits
    rng = np.random.RandomState(1)
    noise = rng.uniform(0, 1, size=(300, 1, 8, 8)).astype(np.float32)
    return np.concatenate([noise, permuted_pixels(X_test[:300])])


@pytest.fixture(scope="session")
def dask_client():
    """A real distributed cluster: 2 worker processes, 1 thread each, on 127.0.0.1.

    Shared by the Dask tests and the Dask benchmark's quick run; started on first use.
    """
    distributed = pytest.importorskip(
        "distributed", reason="Dask is the optional extra sklearn-fssd[dask]"
    )
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None,
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
