"""The one running-statistics accumulator: equal to the two-pass estimates, whatever the batches."""

import pytest
import torch

from sklearn_fssd._stats import RunningMoments

SPLITS = [[10], [1] * 10, [3, 7], [4, 1, 5]]


@pytest.mark.parametrize("splits", [[10], [1] * 10, [3, 7], [4, 1, 5]])
def test_running_mean_equals_the_mean_whatever_the_batch_split(splits):
    rows = torch.randn(10, 3, generator=torch.Generator().manual_seed(0))
    m = RunningMoments()
    for chunk in torch.split(rows, splits):
        m.update(chunk)
    assert float(m.counts.sum()) == 10
    torch.testing.assert_close(m.mean(), rows.double().mean(dim=0))
    assert m.mean().dtype == torch.float64


def test_running_mean_before_update_is_an_error():
    with pytest.raises(ValueError, match="no rows yet"):
        RunningMoments().mean()


def test_running_mean_does_not_keep_gradients():
    rows = torch.ones(2, 2, requires_grad=True)
    m = RunningMoments()
    m.update(rows * 3)
    assert not m.mean().requires_grad


@pytest.mark.parametrize("splits", SPLITS)
def test_diagonal_scatter_gives_the_variance(splits):
    rows = torch.randn(10, 2, 3, generator=torch.Generator().manual_seed(1))
    m = RunningMoments(scatter="diagonal")
    for chunk in torch.split(rows, splits):
        m.update(chunk)
    torch.testing.assert_close(m.variance(), rows.double().var(dim=0, unbiased=False))


@pytest.mark.parametrize("splits", SPLITS)
def test_groups_give_class_means_and_the_tied_covariance(splits):
    gen = torch.Generator().manual_seed(2)
    rows = torch.randn(10, 3, generator=gen, dtype=torch.float64)
    groups = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 0, 0])
    m = RunningMoments(scatter="full", n_groups=3)
    for r, g in zip(torch.split(rows, splits), torch.split(groups, splits)):
        m.update(r, groups=g)
    means = torch.stack([rows[groups == c].mean(dim=0) for c in range(3)])
    centred = rows - means[groups]
    torch.testing.assert_close(m.mean(), means)
    torch.testing.assert_close(m.variance(), centred.T @ centred / 10)
    assert m.counts.tolist() == [5.0, 3.0, 2.0]


def test_an_unknown_scatter_is_an_error():
    with pytest.raises(ValueError, match="scatter must be one of"):
        RunningMoments(scatter="cov")
