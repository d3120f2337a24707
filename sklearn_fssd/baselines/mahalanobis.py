"""The Mahalanobis detector: distances to class-conditional Gaussians, per layer (Lee et al.)."""

from numbers import Real

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from .._docstrings import SCORING_X, fill_doc
from .._stats import RunningMoments
from .._utils import Interval, StrOptions, _fit_context, draw_seed, iter_batches
from .._validation import check_finite_fit, on_finite_rows
from ..base import _store_params
from ..ensemble import STACK_RULES, LayerCombiner
from ..features import FeatureTap, resolve_layers
from ._logits import (
    _COMMON_ATTRIBUTES,
    _EXAMPLE_SETUP,
    _LogitDetector,
    _common,
    _fitted_params,
)

# covariance matrices above this size (float64) are refused, with advice
_MAX_COVARIANCE_BYTES = 2**31

_FLOAT32_EPS = float(torch.finfo(torch.float32).eps)


def class_mahalanobis(features, means, precision):
    """Squared Mahalanobis distance of each row to each class mean.

    ``(f - mu_c)^T P (f - mu_c)`` for a shared precision matrix ``P`` (the
    inverse of the tied covariance), computed in the dtype of ``features``.

    Parameters
    ----------
    features : Tensor of shape (n_samples, n_features)
    means : Tensor of shape (n_classes, n_features)
    precision : Tensor of shape (n_features, n_features)

    Returns
    -------
    Tensor of shape (n_samples, n_classes)

    Examples
    --------
    >>> import torch
    >>> f = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    >>> mu = torch.zeros(2, 2, dtype=torch.float64)
    >>> class_mahalanobis(f, mu, 4 * torch.eye(2, dtype=torch.float64)).tolist()
    [[4.0, 4.0]]
    """
    projected = features @ precision
    squared = (
        (projected * features).sum(dim=1, keepdim=True)
        - 2 * projected @ means.T
        + ((means @ precision) * means).sum(dim=1)
    )
    return squared.clamp_min(0)


class MahalanobisDetector(_LogitDetector):
    _scoring_params = ("logits_layer", "epsilon", "pooling")
    _y_hint = " The classes of the samples go to fit(X, class_labels=...)."
    __doc__ = f"""Mahalanobis distance to class-conditional Gaussians (Lee et al., 2018).

    For each tapped layer ``k``, the features of in-distribution training
    data give one Gaussian per class, with class means ``mu_c`` and one
    covariance ``Sigma`` shared by the classes. A layer scores an input by
    Lee et al.'s confidence ``M_k(x) = -min_c (f_k(x) - mu_c)^T Sigma^-1
    (f_k(x) - mu_c)`` after the input pre-processing
    ``x~ = x + epsilon * sign(grad_x M_k(x))`` (per layer, the same step as
    FSSD's and ODIN's). The layers are combined, as for FSSD, by a logistic
    regression fitted on labelled validation data.

    **How labels enter.** ``fit(X, y=None, class_labels=None)``:

    - ``X`` without ``y``: in-distribution training data. The Gaussians come
      from ``X``; with no OoD data to weigh the layers with, the score is
      minus the mean over the layers of their standardised log Mahalanobis
      distances (``combine="mean"``).
    - ``X`` with ``y`` (+1 in-distribution, -1 OoD, as for every detector of
      the package): the Gaussians come from the rows with ``y == +1``, and a
      logistic regression over the layers' Mahalanobis distances is fitted
      on all rows (Lee et al.'s feature ensemble). Concatenate training and
      OoD validation data to use both.
    - ``class_labels``: the classes of the rows of ``X`` (any values; ignored
      on OoD rows), a sample-aligned fit parameter, so ``GridSearchCV`` and
      ``cross_validate`` split it with ``X`` (``search.fit(X, y,
      class_labels=c)``). Without it, the classes are the network's own
      predictions (the argmax of its logits), which needs no labels; with
      true labels the Gaussians are exactly the paper's.

    Parameters
    ----------
    model : torch.nn.Module or fitted skorch net
        The trained network, never changed: a classifier returning logits,
        or, when ``class_labels`` are given, any network whose layers carry
        features.
    layers : "auto", str or list of str, default="auto"
        Names from ``model.named_modules()`` whose outputs are the features,
        as for :class:`~sklearn_fssd.FSSDDetector`.
    epsilon : float >= 0, default=0.0
        Step of the per-layer input pre-processing; tune it on validation
        data (Lee et al. search 0 to 0.005 for pixels in [0, 1]).
    pooling : {{"avg", "flatten"}}, default="avg"
        ``"avg"`` averages feature maps over positions (Lee et al.'s
        choice: one feature per channel); ``"flatten"`` keeps the whole map
        (a covariance of its size squared).
    combine : {{"auto", "stack", "guarded_stack", "typical_stack", "mean", "last"}}, \
default="auto"
        ``"stack"``: logistic regression over the layers' standardised log
        distances and their squares, as FSSD's stack (``LayerCombiner``,
        needs OoD rows in ``y``); ``"guarded_stack"``: the stack guarded by
        ``"mean"``, as FSSD's (an input is flagged when either finds it
        unusual); ``"typical_stack"``: a logistic regression over the
        standardised log distances with non-negative weights (a layer's
        larger distance can only count against in-distribution), guarded
        the same way, as FSSD's default with OoD data; ``"mean"``:
        minus the mean standardised log distance of the layers, which needs
        no OoD data; ``"last"``: ``M_k`` of the last tapped layer alone, the
        single-layer Mahalanobis score. ``"auto"``: ``"stack"`` when ``y``
        holds OoD samples, else ``"mean"`` (on digits against uniform noise
        and pixel-shuffled digits, ROC-AUC 1.00 and 1.00 for ``"mean"``
        against 0.96 and 0.93 for ``"last"``, with a small CNN's four
        layers).
{_common(", and the cross-validation of the layer stack")}

    Attributes
    ----------
    model_ : torch.nn.Module
        The detector's private copy of the network (eval mode, on ``device_``).
    layers_ : list of str
        The tapped layers.
    class_labels_ : ndarray of shape (n_classes,)
        The classes with a Gaussian: the values of ``class_labels`` on the
        in-distribution rows, or the predicted class indices.
    means_ : list of Tensor of shape (n_classes, n_features_k)
        Class means per layer (float64).
    covariances_ : list of Tensor of shape (n_features_k, n_features_k)
        Shared (tied) covariance per layer, the maximum-likelihood estimate.
    precisions_ : list of Tensor of shape (n_features_k, n_features_k)
        Their pseudo-inverses, with the cutoff of float32 matrices (directions
        whose variance is below ``n_features_k * 1.2e-7`` times the largest
        are float32 rounding noise of the features, and are ignored).
    combine_ : str
        The combination rule used.
    combiner_ : LayerCombiner
        ``"stack"``, ``"guarded_stack"``, ``"typical_stack"`` and ``"mean"`` only.
    n_classes_ : int
        Number of classes with a Gaussian.
{_COMMON_ATTRIBUTES.split(chr(10), 4)[4]}
{_fitted_params(_scoring_params)}

    Examples
    --------
{_EXAMPLE_SETUP}
    >>> from sklearn_fssd import MahalanobisDetector
    >>> det = MahalanobisDetector(net, random_state=0).fit(X, class_labels=y)
    >>> det.layers_, det.combine_
    (['fc1', 'fc2', 'out'], 'mean')
    >>> det.layer_scores(X[:2]).shape
    (2, 3)
    >>> ood = rng.uniform(-20, 20, size=(50, 4)).astype("float32")
    >>> Xv, yv = np.vstack([X, ood]), np.r_[np.ones(300), -np.ones(50)]
    >>> det.fit(Xv, yv, class_labels=np.r_[y, np.zeros(50)]).combine_
    'stack'
    """

    _parameter_constraints = {
        **_LogitDetector._parameter_constraints,
        "layers": [StrOptions({"auto"}), str, list, tuple],
        "epsilon": [Interval(Real, 0, None, closed="left")],
        "pooling": [StrOptions({"flatten", "avg"})],
        "combine": [StrOptions({"auto", "stack", "guarded_stack", "typical_stack", "mean",
                                "last"})],
    }

    def __init__(self, model, *, layers="auto", epsilon=0.0, pooling="avg", combine="auto",
                 logits_layer=None, contamination="auto", batch_size=256, device="cpu",
                 random_state=None, verbose=False, both_strands=False):
        _store_params(self, locals())

    # ------------------------------------------------------------------ fit

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, class_labels=None):
        """Fit the class Gaussians and, with OoD labels, the layer stack.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
            Without ``y``: in-distribution training data. With ``y``:
            in-distribution (training) rows and OoD validation rows.
        y : array-like of shape (n_samples,) with values in {+1, -1}, optional
            +1 = in-distribution, -1 = out-of-distribution. The Gaussians
            come from the +1 rows; with -1 rows the layers are stacked by a
            logistic regression fitted on all rows. 0/1 or boolean labels are
            an error, other labels (classes) are ignored with a warning: the
            classes go to ``class_labels``.
        class_labels : array-like of shape (n_samples,), optional
            The class of each row (any values; ignored on OoD rows). Without
            it, the network's predicted classes are used. The shared
            covariance needs more in-distribution rows than classes: with one
            row per class, ``fit`` raises a ``ValueError``.

        Returns
        -------
        self : MahalanobisDetector
            The fitted detector.
        """
        X, y_id = self._validate_fit_data(X, y)
        if class_labels is not None:
            class_labels = np.asarray(class_labels)
            if class_labels.ndim != 1 or len(class_labels) != len(X):
                raise ValueError(
                    f"class_labels must be a 1-D array with one class per sample of X "
                    f"({len(X)}); got shape {class_labels.shape}."
                )
        self.seed_ = draw_seed(self.random_state)
        self._prepare_network(X, self.seed_)
        n_logits = self._check_logits(X) if class_labels is None else None
        self.layers_ = resolve_layers(self.model_, self.layers)
        self._fit_gaussians(
            X[y_id == 1], None if class_labels is None else class_labels[y_id == 1], n_logits
        )
        self.n_classes_ = len(self.class_labels_)

        has_ood = bool((y_id == -1).any())
        self.combine_ = ("stack" if has_ood else "mean") if self.combine == "auto" else self.combine
        if self.combine_ in STACK_RULES and not has_ood:
            raise ValueError(
                f"combine='{self.combine_}' fits a logistic regression on OoD validation "
                "samples, and y marks none: pass y with -1 for OoD rows, or combine='mean' or "
                "'last'."
            )
        squared = self._squared_distances(X)
        check_finite_fit(squared, type(self).__name__, what="Mahalanobis distances")
        if self.combine_ != "last":
            # the stack takes squared terms too, and can be guarded by the rule without OoD
            # data ("mean": smaller distances are more in-distribution), as FSSD's stack
            self.combiner_ = LayerCombiner(
                combine=self.combine_, quadratic=True, guard="-mean", random_state=self.seed_
            ).fit(np.sqrt(squared), y_id)
        self._set_offset(self._combine(squared), y_id)
        return self

    def _fit_gaussians(self, X_id, class_labels, n_logits):
        predicted = class_labels is None
        names = list(self.layers_)
        if predicted:  # the classes are the network's predictions
            names.append("" if self.logits_layer_ is None else self.logits_layer_)
        else:
            self.class_labels_, codes = np.unique(class_labels, return_inverse=True)
        tap = FeatureTap(self.model_, names, pooling=self.pooling_)
        accumulators = None
        seen = np.zeros(n_logits if predicted else len(self.class_labels_), dtype=bool)
        for sl in iter_batches(len(X_id), self.batch_size):
            with torch.inference_mode():
                feats = tap(self._to_batch(X_id[sl]))
            if predicted:
                labels = feats.pop().argmax(dim=1)
            else:
                labels = torch.as_tensor(codes[sl], device=self.device_)
            for f in feats:
                check_finite_fit(f, type(self).__name__, first_row=sl.start)
            if accumulators is None:
                for name, f in zip(self.layers_, feats):
                    self._check_width(name, f.shape[1])
                accumulators = [RunningMoments(scatter="full", n_groups=len(seen)) for _ in feats]
            seen[labels.unique().cpu().numpy()] = True
            for acc, f in zip(accumulators, feats):
                acc.update(f, groups=labels)
        present = np.flatnonzero(seen)
        if predicted:
            self.class_labels_ = present
        self._check_class_counts(accumulators[0].counts[present].cpu().numpy(), predicted)
        self.means_ = [acc.means[present] for acc in accumulators]
        self.covariances_ = [acc.variance() for acc in accumulators]
        # the pseudo-inverse with the cutoff of float32 matrices, the precision the
        # features come in (as Lee et al.'s code, which inverts float32 covariances
        # with scipy's pinvh): directions of smaller variance are rounding noise
        self.precisions_ = [
            torch.linalg.pinv(cov, hermitian=True, rtol=cov.shape[0] * _FLOAT32_EPS)
            for cov in self.covariances_
        ]

    def _check_class_counts(self, counts, predicted):
        """Refuse classes that leave nothing to estimate the shared covariance from.

        The tied covariance is the spread of the samples around their class
        means: with one sample per class it is 0 and every score would be 0
        (as scikit-learn's LinearDiscriminantAnalysis, more samples than
        classes are needed).
        """
        if counts.max() >= 2:
            return
        table = {
            label.item() if hasattr(label, "item") else label: int(count)
            for label, count in zip(self.class_labels_[:10], counts[:10])
        }
        where = (
            "the classes are the network's predicted classes; pass class_labels=... to give "
            "the true ones, or "
            if predicted else ""
        )
        raise ValueError(
            "MahalanobisDetector estimates one covariance shared by the classes from how the "
            "in-distribution samples spread around their class means, and every class has a "
            f"single sample (samples per class: {table}{', ...' if len(counts) > 10 else ''}), "
            "so every score would be 0. It needs more samples than classes: "
            f"{where}fit on more in-distribution samples, several per class (about as many as "
            "a layer has features, for a covariance of full rank)."
        )

    def _check_width(self, name, width):
        if width * width * 8 > _MAX_COVARIANCE_BYTES:
            raise ValueError(
                f"Layer {name!r} has {width} features, so its covariance would take "
                f"{width * width * 8 / 2**30:.1f} GiB; use pooling='avg' or tap other layers."
            )
        return width

    # -------------------------------------------------------------- scoring

    def _batch_squared(self, tap, x, only):
        """Min squared class distance of each layer in ``only``: (batch, len(only))."""

        def reduce(k, feats):
            features = feats.to(torch.float64)
            squared = class_mahalanobis(features, self.means_[k], self.precisions_[k])
            return squared.min(dim=1).values

        closeness = lambda k, feats: -reduce(k, feats)  # noqa: E731
        return torch.stack(self._layer_scores(tap, x, reduce, closeness, only=only), dim=1)

    def _squared_distances(self, X, only=None):
        only = list(range(len(self.layers_))) if only is None else list(only)
        tap = FeatureTap(self.model_, self.layers_, pooling=self.pooling_,
                         perturb_at=self._perturb_at)
        squared = self._map_batches(
            X, lambda x: self._batch_squared(tap, x, only), desc="Mahalanobis"
        )
        return squared.reshape(len(X), len(only))

    def _combine(self, squared):
        """The score from the squared distances of the layers (of the last layer for "last")."""
        if self.combine_ == "last":
            return -squared[:, -1]
        combined = on_finite_rows(np.sqrt(squared), self.combiner_.decision_function)
        return -combined if self.combine_ == "mean" else combined

    @fill_doc(scoring_x=SCORING_X)
    def layer_scores(self, X):
        """Lee et al.'s confidence score of each layer, higher = more in-distribution.

        {scoring_x}
        ndarray of shape (n_samples, n_layers)
            Column ``k`` is ``M_k = -min_c`` (squared Mahalanobis distance of
            layer ``layers_[k]`` to class ``c``), after the input
            pre-processing when ``epsilon > 0``. Samples that cannot be
            scored (see :meth:`score_samples`) get the lowest score,
            ``-numpy.finfo(numpy.float64).max``, in every column.
        """
        check_is_fitted(self)
        squared = self._squared_distances(self._validate_X(X, reset=False))
        return self._lowest_where_unscorable(-squared)

    def _score_samples(self, X):
        only = [len(self.layers_) - 1] if self.combine_ == "last" else None
        return self._combine(self._squared_distances(X, only=only))
