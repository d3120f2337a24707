"""Running statistics: one streaming mean / scatter accumulator for every estimator.

The singularities (mean features of noise), the class Gaussians of the
Mahalanobis detector (class means and a tied covariance) and the moments of
the softmax over the networks of a Deep Ensemble or the passes of MC Dropout
are all statistics of rows that arrive batch by batch. :class:`RunningMoments`
computes them with Chan et al.'s pairwise merge, in float64, so that the
result equals the two-pass estimate whatever the batches, and memory does not
grow with the number of rows.
"""

import torch

__all__ = ["RunningMoments"]

_SCATTERS = (None, "diagonal", "full")


class RunningMoments:
    """Count, mean and (optionally) scatter of rows streamed in batches, in float64.

    Parameters
    ----------
    scatter : {None, "diagonal", "full"}, default=None
        ``None``: means only. ``"diagonal"``: the sum of squared deviations
        of each element (for variances). ``"full"``: the scatter matrix over
        the last axis of 2-D rows (for a covariance).
    n_groups : int, default=1
        Rows may belong to groups (classes): one mean per group, one scatter
        pooled over the groups (the within-group, "tied" scatter).

    Examples
    --------
    >>> import torch
    >>> m = RunningMoments(scatter="diagonal")
    >>> m.update(torch.tensor([[0.0, 2.0]])); m.update(torch.tensor([[2.0, 4.0], [4.0, 6.0]]))
    >>> m.mean(), m.variance()
    (tensor([2., 4.], dtype=torch.float64), tensor([2.6667, 2.6667], dtype=torch.float64))
    """

    def __init__(self, scatter=None, n_groups=1):
        if scatter not in _SCATTERS:
            raise ValueError(f"scatter must be one of {_SCATTERS}; got {scatter!r}.")
        self.scatter_kind = scatter
        self.n_groups = n_groups
        self.counts = None
        self.means = None
        self.scatter = None

    def update(self, rows, groups=None):
        """Merge a batch: ``rows`` of shape (n, ...), ``groups`` (n,) integer tensor or None."""
        rows = rows.detach().to(torch.float64)
        if self.counts is None:
            self._allocate(rows)
        if groups is None:
            self._merge(0, rows)
            return
        for group in groups.unique().tolist():
            self._merge(group, rows[groups == group])

    def _allocate(self, rows):
        options = {"dtype": torch.float64, "device": rows.device}
        shape = tuple(rows.shape[1:])
        self.counts = torch.zeros(self.n_groups, **options)
        self.means = torch.zeros((self.n_groups, *shape), **options)
        if self.scatter_kind == "diagonal":
            self.scatter = torch.zeros(shape, **options)
        elif self.scatter_kind == "full":
            self.scatter = torch.zeros((shape[-1], shape[-1]), **options)

    def _merge(self, group, rows):
        n_b = rows.shape[0]
        mean_b = rows.mean(dim=0)
        n_a = self.counts[group]
        delta = mean_b - self.means[group]
        total = n_a + n_b
        self.means[group] += delta * (n_b / total)
        if self.scatter_kind is not None:
            centred = rows - mean_b
            weight = n_a * n_b / total
            if self.scatter_kind == "full":
                self.scatter += centred.T @ centred + torch.outer(delta, delta) * weight
            else:
                self.scatter += (centred * centred).sum(dim=0) + delta * delta * weight
        self.counts[group] = total

    def _check_updated(self):
        if self.counts is None or not bool((self.counts > 0).any()):
            raise ValueError("RunningMoments: no rows yet; call update() first.")

    def mean(self):
        """The mean (of group 0 when there is one group; else one row per group)."""
        self._check_updated()
        return self.means[0] if self.n_groups == 1 else self.means

    def variance(self):
        """The (maximum-likelihood) variance or covariance: the scatter over the count."""
        self._check_updated()
        return self.scatter / self.counts.sum()
